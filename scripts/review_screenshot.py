"""Make docs/review.png: review mode on the demo recording, rendered offscreen.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/review_screenshot.py [OUT.png]

Plays the demo recording with the default weights until the spotter has found three
expressions, starts review mode with those spotted intervals (under a temporary name, so
no annotation file is left beside the demo), makes the second a MaE "happy", accepts the
third, corrects the first one's emotion to "happy" and loops it at 0.1x, and grabs the
window once the score curve has reached its offset
(``QWidget.grab``). The PNG is reduced to 256 colours to stay under 300 KB.
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


def main(out: Path) -> int:
    from PySide6.QtWidgets import QApplication

    from rt_sfamnet.sources import resolve_spec
    from ui.settings import AppSettings
    from ui.theme import apply_dark_theme
    from ui.window import MainWindow

    app = QApplication.instance() or QApplication([])
    apply_dark_theme(app)
    demo = Path(resolve_spec("demo"))
    with tempfile.TemporaryDirectory() as tmp:
        rec = Path(tmp) / "session01.db3"
        rec.symlink_to(demo)  # the review's file goes beside this name, in tmp
        rec.with_name("session01.gt.csv").symlink_to(demo.with_name("demo.gt.csv"))
        w = MainWindow(AppSettings(Path(tmp) / "settings.ini"))
        w.resize(1600, 900)
        w.show()
        w.open_source(str(rec))
        wait(app, lambda: w.engine is not None and not w.opening, 120)
        wait(app, lambda: len(w.events) >= 3, 240)
        r = w.review
        r.set_active(True)
        r.select(1)  # the spotter's ME inside a true MaE: make it a MaE "happy"
        r.acts["act_type"].trigger()
        r.panel.emotionChosen.emit("happy")
        r.select(2)
        r.acts["act_accept"].trigger()
        r.select(0)  # spotted "negative", truly happy: corrected, then looped
        r.panel.emotionChosen.emit("happy")
        r.set_loop_speed(0.1)  # slow enough for a loaded 2-vCPU machine to score every sample
        offset = r.session.rows[r.current].offset
        # the loop went back to the onset - 0.5 s (the curve after it is recomputed) ...
        wait(app, lambda: (w.history.last_frame or 0) < offset, 20.0)
        # ... and has scored the interval again
        wait(app, lambda: (w.history.last_frame or 0) >= offset + 2, 60.0)
        save_window_png(w, out, tmp)
    print(f"wrote {out} ({out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "review.png"))
