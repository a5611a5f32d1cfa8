"""Helpers of the screenshot scripts that drive the real app offscreen
(``review_screenshot.py``, ``attention_screenshot.py``)."""

from __future__ import annotations

import time
from pathlib import Path


def wait(app, until, seconds: float) -> bool:
    """Process Qt events until ``until()`` holds or ``seconds`` pass; returns ``until()``."""
    end = time.monotonic() + seconds
    while not until() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    return bool(until())


def save_window_png(window, out: Path, tmp: str | Path) -> None:
    """Grab ``window``, close it, and save the picture to ``out`` as a 256-colour PNG
    (small enough for the docs)."""
    from PIL import Image

    raw = Path(tmp) / "window.png"
    window.grab().save(str(raw))
    window.close()
    img = Image.open(raw).convert("RGB").quantize(256)
    out.parent.mkdir(parents=True, exist_ok=True)
    img.save(out, optimize=True)
