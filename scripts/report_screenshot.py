"""Make docs/report.png: a screenshot of a session report, rendered by headless Chromium.

    .venv/bin/python scripts/report_screenshot.py ANALYSIS_DIR [OUT.png] [--height PX]

Builds ``ANALYSIS_DIR/report.html`` when it is missing (``rt-sfamnet report``), then runs
Debian's ``chromium`` (or ``chromium-browser`` / ``google-chrome``) headless on it. Without
Chromium it prints why and exits 0 (skipped), so a docs build never fails on it:
``sudo apt-get install chromium`` to enable it. The PNG is reduced to 256 colours.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str | None:
    """The first headless-capable Chromium on PATH, or None."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(browser: str, html: Path, out: Path, width: int, height: int) -> None:
    with tempfile.TemporaryDirectory() as profile:
        cmd = [browser, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
               f"--user-data-dir={profile}", f"--window-size={width},{height}",
               f"--screenshot={out}", html.resolve().as_uri()]
        subprocess.run(cmd, check=True, timeout=120, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", help="an analysis folder (rt-sfamnet analyze --out)")
    ap.add_argument("out", nargs="?", default=str(REPO / "docs" / "report.png"))
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=1800)
    args = ap.parse_args(argv)
    browser = find_browser()
    if browser is None:
        print(f"skipped: no Chromium found (looked for {', '.join(BROWSERS)}); "
              "install Debian's package `chromium` to render the report screenshot")
        return 0
    folder = Path(args.folder)
    html = folder / "report.html"
    if not html.is_file():
        from rt_sfamnet.report.html import build_report

        build_report(folder)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    screenshot(browser, html, out, args.width, args.height)
    try:
        from PIL import Image

        Image.open(out).convert("RGB").quantize(256).save(out, optimize=True)
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        pass
    print(f"wrote {out} ({out.stat().st_size // 1024} KB) with {browser}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
