"""The rt-sfamnet desktop app (PySide6 + pyqtgraph) on top of :mod:`rt_sfamnet.pipeline`.

This package is the only place that imports Qt. Start it with ``rt-sfamnet gui`` (or
``python -m ui``); see ``docs/gui.md``. Modules:

- :mod:`ui.app` — :func:`~ui.app.run_app` (start the app);
- :mod:`ui.window` — :class:`~ui.window.MainWindow`, the window's behaviour (slots, timer,
  engine control); :mod:`ui.drawing` draws engine updates, :mod:`ui.view` the View menu;
- :mod:`ui.layout`, :mod:`ui.menus` — the window's panels and its actions, toolbar and menus
  (built once, returned as handles); :mod:`ui.dialogs` — its file and recording dialogs;
- :mod:`ui.session` — the engine's life cycle on a worker thread;
- :mod:`ui.history` — score curves and spotted events (NumPy, no Qt);
- :mod:`ui.export` — CSV/JSON export; :mod:`ui.settings` — QSettings, recent files;
- :mod:`ui.theme` — the dark theme and one colour per emotion;
- :mod:`ui.widgets` — video/depth views, input maps, score plot, probability bars, event
  list, playback bar, message banner.
"""

try:  # a binding bug that aborts the interpreter (see ui.qtcompat); needs PySide6 only
    from ui.qtcompat import apply_workarounds as _apply_workarounds
except ImportError:  # pragma: no cover - PySide6 missing: ui.app raises a clear error
    pass
else:
    _apply_workarounds()
