"""Start the rt-sfamnet desktop app: :func:`run_app` (``rt-sfamnet gui``).

The window itself is :class:`ui.window.MainWindow` (its behaviour), laid out by
:mod:`ui.layout` and :mod:`ui.menus`; see ``docs/gui.md``.
"""

from __future__ import annotations

import gc
import math
import sys
from collections.abc import Sequence

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from ui import theme
from ui.drawing import spotting_thresholds
from ui.settings import AppSettings
from ui.window import POLL_HZ, SEEK_LEAD_S, MainWindow


def _ensure_app(argv: Sequence[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(list(argv) if argv is not None else [sys.argv[0]])
        app.setApplicationName("rt-sfamnet")
        app.setOrganizationName("rt-sfamnet")
    theme.apply_dark_theme(app)
    return app  # type: ignore[return-value]


def run_app(
    source: str | None = None,
    weights: str | None = None,
    emotions: int | None = None,
    flow_mode: str | None = None,
    device: str = "auto",
    spotting: dict | None = None,
    weights_spotting: bool = True,
    screenshot: str | None = None,
    quit_after: float | None = None,
    settings_path: str | None = None,
    size: tuple[int, int] | None = None,
    zero_depth_experiment: bool = False,
) -> int:
    """Start the app on ``source`` (None: camera, else the demo recording, else the
    simulator) and run Qt's event loop; returns the exit status. ``spotting``: values of
    :class:`~rt_sfamnet.spotting.SpottingConfig` (e.g. ``{"k_micro": 2}``) applied over the
    ones the weights were evaluated with (unless ``weights_spotting`` is False).

    With ``screenshot`` the window is saved there after ``quit_after`` seconds (default 10)
    and the app quits. ``zero_depth_experiment``: allow depth-trained weights on a source
    without depth (w = 0; labelled in the status bar and the banner).
    """
    from rt_sfamnet.pipeline import EngineConfig

    app = _ensure_app()
    config = EngineConfig(emotions=emotions, device=device,
                          zero_depth_experiment=zero_depth_experiment)
    window = MainWindow(AppSettings(settings_path), engine_config=config, weights=weights,
                        flow_mode=flow_mode, spotting=spotting,
                        weights_spotting=weights_spotting)
    if size is not None:
        window.resize(*size)
    elif screenshot is not None:
        window.resize(1440, 900)
    window.show()
    gc.freeze()
    window.open_source(source or "auto")
    status = {"code": 0}
    if screenshot is not None and quit_after is None:
        quit_after = 10.0
    if quit_after is not None:
        def finish() -> None:
            if screenshot is not None:
                try:
                    path = window.save_screenshot(screenshot)
                    print(f"rt-sfamnet gui: screenshot saved to {path}")
                except OSError as exc:
                    print(f"rt-sfamnet gui: error: {exc}", file=sys.stderr)
                    status["code"] = 2
            window.close()
            app.quit()

        # "after running that long": the clock starts once the source is open (or failed to
        # open), so start-up time (imports, the first demo generation) does not count. A
        # bound of 10 minutes guards against a source that never answers.
        started = {"done": False}

        def start_clock(*_: object) -> None:
            if not started["done"]:
                started["done"] = True
                QTimer.singleShot(int(math.ceil(quit_after * 1000)), finish)

        window.session.opened.connect(start_clock)
        window.session.failed.connect(start_clock)
        QTimer.singleShot(int(math.ceil((quit_after + 600) * 1000)), finish)
    app.exec()
    return status["code"]


__all__ = ["MainWindow", "POLL_HZ", "SEEK_LEAD_S", "run_app", "spotting_thresholds"]
