"""Make docs/attention.png: the app with the attention overlay on, rendered offscreen.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/attention_screenshot.py [SOURCE] [OUT.png]

Plays SOURCE (default: the demo recording) with the default weights and the attention
overlay on (View ▸ Attention overlay, Grad-CAM of the score) until the spotter has found an
expression and the overlay has been drawn for a sample at or after it, then grabs the window
(``QWidget.grab``). The PNG is reduced to 256 colours.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _window_shot import save_window_png, wait  # noqa: E402


def main(source: str, out: Path) -> int:
    from PySide6.QtWidgets import QApplication

    from rt_sfamnet.sources import resolve_spec
    from ui.settings import AppSettings
    from ui.theme import apply_dark_theme
    from ui.window import MainWindow

    app = QApplication.instance() or QApplication([])
    apply_dark_theme(app)
    spec = resolve_spec(source)
    with tempfile.TemporaryDirectory() as tmp:
        w = MainWindow(AppSettings(Path(tmp) / "settings.ini"))
        w.resize(1600, 900)
        w.show()
        w.acts.act_attention.trigger()
        w.playback.set_speed(0.5)  # a loaded machine still scores every sample
        w.open_source(str(spec))
        wait(app, lambda: w.engine is not None and not w.opening, 120)
        wait(app, lambda: len(w.events) >= 1, 240)
        onset = min(iv.onset for iv in w.events.sorted())
        drawn = w.attention.drawn
        wait(app, lambda: w.attention.drawn > drawn and w.attention.last is not None
              and w.attention.last[0].frame >= onset, 60)
        save_window_png(w, out, tmp)
    print(f"wrote {out} ({out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "demo",
                  Path(sys.argv[2]) if len(sys.argv) > 2 else REPO / "docs" / "attention.png"))
