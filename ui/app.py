"""The main window of the rt-sfamnet desktop app and :func:`run_app`.

Layout (all panels resizable with splitters)::

    ┌ toolbar: camera · recording · simulator │ play · speed │ record │ weights · flow │ export ┐
    ├ message banner (errors, notices; non-modal) ───────────────────────────────────────────────┤
    │ colour view (face box, landmarks)  │ depth view (colourised) │ probabilities (bars)      │
    │                                    │ input maps u · v · w    ├───────────────────────────│
    ├ playback: ▶ ───●────── time · speed ─────────────────────────┤ event list (click = seek) │
    │ score plot: raw · ME-smoothed · MaE-smoothed · thresholds ·   │                           │
    │ spotted regions (colour = emotion) · ground-truth band        │                           │
    └ status: source · backend · input fps · analysed/s · latency · drops · weights ────────────┘

The GUI thread only draws: a :class:`QTimer` (~30 Hz) pulls :meth:`Engine.poll` and hands
the :class:`~rt_sfamnet.pipeline.EngineUpdate` to :meth:`MainWindow.apply_update`. Opening,
stopping and recording run on :class:`~ui.session.EngineSession`'s worker thread.
"""

from __future__ import annotations

import gc
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPushButton,
    QSplitter,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.history import EventLog, ScoreHistory
from ui.session import EngineSession, OpenedSource, OpenRequest, describe_error
from ui.settings import FLOW_MODES, AppSettings
from ui.widgets.banner import MessageBanner
from ui.widgets.controls import PlaybackBar, StatusPanel
from ui.widgets.events import EventList
from ui.widgets.maps import DEFAULT_UV_RANGE, DEFAULT_W_RANGE, InputMapsView
from ui.widgets.probs import ProbabilityBars
from ui.widgets.scoreplot import ScorePlot, interval_text
from ui.widgets.video import DepthView, VideoView

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, background=theme.BACKGROUND,
                    foreground=theme.MUTED_TEXT)

#: Redraw rate of the GUI timer (Hz).
POLL_HZ = 30.0
#: Most redraws per second of the depth view and of the status-bar readouts.
DEPTH_HZ = 15.0
STATUS_HZ = 5.0
#: Clicking an event replays from this many seconds before its onset, so the spotter (whose
#: smoothing needs about a second of context) sees the whole expression again.
SEEK_LEAD_S = 1.0
RECORDING_FILTER = "RealSense recordings (*.db3 *.bag);;All files (*)"
#: Choices of the score plot's time window (s).
PLOT_WINDOWS_S = (10.0, 20.0, 30.0, 60.0, 120.0)
WEIGHTS_FILTER = "Weights (*.safetensors *.pkl);;All files (*)"


def spotting_thresholds(cfg: Any) -> tuple[float | None, float | None]:
    """(ME threshold, MaE threshold) of a ``SpottingConfig`` (None where unknown)."""
    out: list[float | None] = []
    for kind in ("micro", "macro"):
        value = None
        params = getattr(cfg, "params", None)
        if callable(params):
            try:
                value = float(params(kind).threshold)
            except Exception:
                value = None
        if value is None:
            raw = getattr(cfg, f"{kind}_threshold", None)
            value = None if raw is None else float(raw)
        out.append(value)
    return out[0], out[1]


def _describe_spec(spec: str) -> str:
    """Words for a source spec in messages ("the camera", a path ...)."""
    return {"camera": "the camera", "sim": "the simulator", "auto": "the default source",
            "demo": "the demo recording"}.get(str(spec), str(spec))


class RecordDialog(QDialog):
    """Ask for a .db3 file and a duration for a camera recording."""

    def __init__(self, parent: QWidget, start_dir: str) -> None:
        super().__init__(parent)
        self.setWindowTitle("Record the camera")
        form = QFormLayout(self)
        self.path = QLineEdit(str(Path(start_dir or ".") / "recording.db3"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form.addRow("File (.db3)", row)
        self.seconds = QDoubleSpinBox()
        self.seconds.setRange(1.0, 3600.0)
        self.seconds.setValue(30.0)
        self.seconds.setSuffix(" s")
        form.addRow("Length", self.seconds)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Record to", self.path.text(),
                                              "rosbag2 recording (*.db3)")
        if path:
            if not path.lower().endswith(".db3"):
                path += ".db3"
            self.path.setText(path)


class MainWindow(QMainWindow):
    """The desktop app's window.

    Args:
        settings: where settings and recent files live (default: the per-user QSettings).
        engine_config: base :class:`~rt_sfamnet.pipeline.EngineConfig` for every source
            (weights, device, ...); None: defaults.
        weights: weights file (overrides the remembered choice; None: remembered or default).
        flow_mode: flow mode override (None: remembered, or the weights' own).
        poll_hz: redraw rate of the GUI timer.
        spotting: ``SpottingConfig`` values for every source (e.g. ``{"k_micro": 2}``).
        weights_spotting: use the spotting values the weights were evaluated with (our
            weights record them), under ``spotting``.
    """

    def __init__(
        self,
        settings: AppSettings | None = None,
        engine_config: Any | None = None,
        weights: str | None = None,
        flow_mode: str | None = None,
        poll_hz: float = POLL_HZ,
        spotting: dict | None = None,
        weights_spotting: bool = True,
    ) -> None:
        super().__init__()
        self.settings = settings or AppSettings()
        self.setWindowTitle("rt-sfamnet — micro-expression spotting")
        self.weights = weights if weights is not None else self.settings.weights
        self.emotions: int | None = None  # classes of an official .pkl checkpoint
        self.spotting = dict(spotting or {})
        self.weights_spotting = bool(weights_spotting)
        self.flow_mode = flow_mode if flow_mode is not None else self.settings.flow_mode
        self.session = EngineSession(self, engine_config=engine_config)
        self.engine: Any | None = None
        self.opened: OpenedSource | None = None
        self.spec: str | None = None
        self.fps = 30.0
        self.history = ScoreHistory(self.fps)
        self.events = EventLog()
        self.class_names: tuple[str, ...] = ()
        self.camera_present = False
        self.finished = False
        self.opening = False
        self.position = 0
        self._seek_target = 0
        self._last_frame_index = -1
        self._last_obs_frame = -2
        self._last_depth_draw = -1e9
        self._last_status_draw = -1e9
        self.last_update: Any | None = None
        self._keep_results = False
        # Long-lived objects (PyTorch, MediaPipe, Qt, the engine's compiled kernels) are moved
        # out of the garbage collector's generations (gc.freeze) once after start-up and once
        # after the first results: full collections over them take 200-300 ms and would
        # stall the drawing (and every engine thread).
        self._frozen_after_results = False
        self.updates_applied = 0
        # (start, end) perf_counter seconds of each timer tick, when record_ticks (benchmarks)
        self.tick_times: list[tuple[float, float]] = []
        self.record_ticks = False

        self._build_widgets()
        self._build_actions()
        self._restore_settings()

        self.session.opened.connect(self._on_opened)
        self.session.failed.connect(self._on_failed)
        # bound methods of this window (not lambdas): the worker's signals are queued to
        # the GUI thread
        self.session.progress.connect(self._on_progress)
        self.session.cameraChecked.connect(self._on_camera_checked)
        self.session.recorded.connect(self._on_recorded)
        self.session.recordProgress.connect(self._on_record_progress)

        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(max(1, int(round(1000.0 / poll_hz))))
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        self.session.check_camera()

    # ================================================================== construction
    def _build_widgets(self) -> None:
        self.video = VideoView()
        self.depth = DepthView()
        self.maps = InputMapsView()
        self.plot = ScorePlot(window_s=self.settings.plot_window_s)
        self.probs = ProbabilityBars()
        self.event_list = EventList()
        self.playback = PlaybackBar()
        self.banner = MessageBanner()

        def titled(title: str, widget: QWidget) -> QWidget:
            box = QWidget()
            lay = QVBoxLayout(box)
            lay.setContentsMargins(2, 2, 2, 2)
            lay.setSpacing(1)
            label = QLabel(title)
            label.setObjectName("panelTitle")
            lay.addWidget(label)
            lay.addWidget(widget, 1)
            return box

        self.side = QSplitter(Qt.Orientation.Vertical)
        self.depth_panel = titled("Depth (aligned, red = near)", self.depth)
        self.side.addWidget(self.depth_panel)
        self.side.addWidget(self.maps)
        self.side.setSizes([300, 200])

        self.media = QSplitter(Qt.Orientation.Horizontal)
        self.media.addWidget(titled("Colour · face box · landmarks", self.video))
        self.media.addWidget(self.side)
        self.media.setSizes([620, 380])

        left = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        top_lay = QVBoxLayout(top)
        top_lay.setContentsMargins(0, 0, 0, 0)
        top_lay.setSpacing(0)
        top_lay.addWidget(self.media, 1)
        top_lay.addWidget(self.playback)
        left.addWidget(top)
        left.addWidget(titled("Spotting score", self.plot))
        left.setSizes([520, 300])

        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(titled("Emotion probabilities (latest analysed frame)", self.probs))
        right.addWidget(titled("Spotted expressions (click to replay)", self.event_list))
        right.setSizes([230, 560])

        self.main_split = QSplitter(Qt.Orientation.Horizontal)
        self.main_split.addWidget(left)
        self.main_split.addWidget(right)
        self.main_split.setSizes([1040, 400])
        self.main_split.setStretchFactor(0, 1)

        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(4, 4, 4, 0)
        lay.setSpacing(4)
        lay.addWidget(self.banner)
        lay.addWidget(self.main_split, 1)
        self.setCentralWidget(central)
        self.status = StatusPanel(self.statusBar())

        self.playback.playToggled.connect(self.set_playing)
        self.playback.seekRequested.connect(self.seek)
        self.playback.speedChanged.connect(self.set_speed)
        self.event_list.eventActivated.connect(self.seek_to_event)
        self.maps.levelsChanged.connect(
            lambda uv, w: self.settings.set_map_ranges(self.maps.mode, uv, w)
        )

    def _action(self, text: str, slot, shortcut: str | QKeySequence | None = None,
                tip: str = "", checkable: bool = False) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            act.setToolTip(f"{tip} ({QKeySequence(shortcut).toString()})" if shortcut else tip)
            act.setStatusTip(tip)
        act.setCheckable(checkable)
        act.triggered.connect(slot)
        self.addAction(act)
        return act

    def _build_actions(self) -> None:
        A = self._action
        self.act_camera = A("Camera", lambda: self.open_source("camera"), "C",
                            "Open the connected RealSense camera")
        self.act_open = A("Open recording…", self.open_recording_dialog, "O",
                          "Open a .db3/.bag recording")
        self.act_folder = A("Open frame folder…", self.open_folder_dialog, "Shift+O",
                            "Open a CAS(ME)^3-style frame folder (color/, depth/)")
        self.act_sim = A("Simulator", lambda: self.open_source("sim"), "S",
                         "Open the built-in RGB-D face simulator")
        self.act_demo = A("Demo", lambda: self.open_source("demo"), None,
                          "Open the bundled demo recording")
        self.act_play = A("Play/Pause", self.toggle_play, "Space", "Play or pause")
        self.act_back = A("Back 1 s", lambda: self.step(-1.0), "Left", "Step back one second")
        self.act_fwd = A("Forward 1 s", lambda: self.step(1.0), "Right",
                         "Step forward one second")
        self.act_home = A("Start", lambda: self.seek(0), "Home", "Go to the start")
        self.act_slower = A("Slower", lambda: self.playback.step_speed(-1), "[",
                            "Slower playback")
        self.act_faster = A("Faster", lambda: self.playback.step_speed(1), "]",
                            "Faster playback")
        self.act_record = A("Record…", self.record_dialog, "R",
                            "Record the camera to a .db3 file")
        self.act_weights = A("Weights…", self.choose_weights_dialog, "W",
                             "Choose a weights file (.safetensors or official .pkl)")
        self.act_default_weights = A("Default weights", lambda: self.set_weights(None), None,
                                     "Use the bundled default weights")
        self.act_export = A("Export…", self.export_dialog, "Ctrl+E",
                            "Export events and per-frame scores (CSV or JSON)")
        self.act_fullscreen = A("Full screen", self.toggle_fullscreen, "F",
                                "Toggle full screen", checkable=True)
        self.act_depth = A("Depth view", self.set_depth_visible, "D",
                           "Show the depth view", checkable=True)
        self.act_maps = A("Input maps", self.set_maps_visible, "M",
                          "Show the network's input maps", checkable=True)
        self.act_landmarks = A("Landmarks", self.set_landmarks_visible, "L",
                               "Draw the 468 face landmarks", checkable=True)
        self.act_quit = A("Quit", self.close, QKeySequence.StandardKey.Quit, "Quit")
        esc = QShortcut(QKeySequence("Escape"), self)
        esc.activated.connect(lambda: self.isFullScreen() and self.toggle_fullscreen())

        self.flow_combo = QComboBox()
        self.flow_combo.addItem("flow: from weights", None)
        for m in FLOW_MODES:
            self.flow_combo.addItem(f"flow: {m}", m)
        self.flow_combo.setToolTip(
            "Input maps: hybrid = (O_u, O_v, S_w), scene = (S_u, S_v, S_w), optical = (O_u, "
            "O_v, O_strain). 'From weights' uses the mode the weights were trained with."
        )
        self.flow_combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.flow_combo.currentIndexChanged.connect(
            lambda i: self.set_flow_mode(self.flow_combo.itemData(i))
        )

        tb = QToolBar("Main")
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        tb.addAction(self.act_camera)
        open_button = QToolButton()
        open_button.setDefaultAction(self.act_open)
        open_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.recent_menu = QMenu(self)
        open_button.setMenu(self.recent_menu)
        tb.addWidget(open_button)
        tb.addAction(self.act_sim)
        tb.addAction(self.act_demo)
        tb.addSeparator()
        tb.addAction(self.act_record)
        tb.addSeparator()
        tb.addAction(self.act_weights)
        tb.addWidget(self.flow_combo)
        tb.addSeparator()
        tb.addAction(self.act_export)
        tb.addSeparator()
        tb.addAction(self.act_depth)
        tb.addAction(self.act_maps)
        tb.addAction(self.act_landmarks)
        spacer = QWidget()
        spacer.setSizePolicy(spacer.sizePolicy().horizontalPolicy().Expanding,
                             spacer.sizePolicy().verticalPolicy().Preferred)
        tb.addWidget(spacer)
        tb.addAction(self.act_fullscreen)
        for w in tb.findChildren(QToolButton):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.addToolBar(tb)
        self.toolbar = tb
        for w in (self.playback.play_button, self.playback.speed, self.playback.slider):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.event_list.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

        menu = self.menuBar()
        m_file = menu.addMenu("&File")
        for a in (self.act_camera, self.act_open, self.act_folder, self.act_sim, self.act_demo):
            m_file.addAction(a)
        self.recent_file_menu = m_file.addMenu("Recent recordings")
        m_file.addSeparator()
        m_file.addAction(self.act_record)
        m_file.addAction(self.act_export)
        m_file.addSeparator()
        m_file.addAction(self.act_quit)
        m_play = menu.addMenu("&Playback")
        for a in (self.act_play, self.act_back, self.act_fwd, self.act_home, self.act_slower,
                  self.act_faster):
            m_play.addAction(a)
        m_engine = menu.addMenu("&Engine")
        m_engine.addAction(self.act_weights)
        m_engine.addAction(self.act_default_weights)
        flow_menu = m_engine.addMenu("Flow mode")
        self.flow_actions = QActionGroup(self)
        for m in (None, *FLOW_MODES):
            a = QAction("from weights" if m is None else m, self, checkable=True)
            a.setData(m)
            a.triggered.connect(lambda _=False, mode=m: self.set_flow_mode(mode))
            self.flow_actions.addAction(a)
            flow_menu.addAction(a)
        m_view = menu.addMenu("&View")
        for a in (self.act_depth, self.act_maps, self.act_landmarks, self.act_fullscreen):
            m_view.addAction(a)
        window_menu = m_view.addMenu("Score window")
        self.window_actions = QActionGroup(self)
        for seconds in PLOT_WINDOWS_S:
            a = QAction(f"{seconds:g} s", self, checkable=True)
            a.setData(float(seconds))
            a.setChecked(abs(seconds - self.plot.window_s) < 1e-9)
            a.triggered.connect(lambda _=False, v=seconds: self.set_plot_window(v))
            self.window_actions.addAction(a)
            window_menu.addAction(a)
        self._update_record_enabled()
        self._update_recent_menu()

    def _restore_settings(self) -> None:
        geom = self.settings.geometry()
        if geom is not None:
            self.restoreGeometry(geom)
        else:
            self.resize(1440, 900)
        for act, on in ((self.act_depth, self.settings.show_depth),
                        (self.act_maps, self.settings.show_maps),
                        (self.act_landmarks, self.settings.show_landmarks)):
            act.setChecked(on)
        self.set_depth_visible(self.settings.show_depth)
        self.set_maps_visible(self.settings.show_maps)
        self.set_landmarks_visible(self.settings.show_landmarks)
        self.playback.blockSignals(True)
        self.playback.set_speed(self.settings.speed)
        self.playback.blockSignals(False)
        self._sync_flow_controls()
        self._apply_map_ranges()
        self.status.set_weights(self._weights_text())

    def _sync_flow_controls(self) -> None:
        i = self.flow_combo.findData(self.flow_mode)
        self.flow_combo.blockSignals(True)
        self.flow_combo.setCurrentIndex(max(i, 0))
        self.flow_combo.blockSignals(False)
        for a in self.flow_actions.actions():
            a.setChecked(a.data() == self.flow_mode)

    def _apply_map_ranges(self) -> None:
        mode = self.maps.mode
        uv, w = self.settings.map_ranges(mode, DEFAULT_UV_RANGE, DEFAULT_W_RANGE[mode])
        self.maps.blockSignals(True)
        self.maps.set_levels(uv, w)
        self.maps.blockSignals(False)

    def _weights_text(self) -> str:
        return f"weights {Path(self.weights).name}" if self.weights else "default weights"

    # ================================================================== sources
    def open_source(self, spec: str, start_frame: int | None = None,
                    paused: bool = False, keep_results: bool = False) -> None:
        """Open ``spec`` (``"camera"``, ``"sim"``, ``"demo"``, ``"auto"`` or a path) in the
        background; the previous engine is stopped first.

        ``keep_results``: a replay of the same source (after its end, or a seek past it)
        keeps the events and the curves before ``start_frame``.
        """
        self._keep_results = keep_results
        self.opening = True
        self.engine = None
        self.spec = str(spec)
        text = _describe_spec(spec)
        self.banner.show_info(f"Opening {text}…", sticky=True)
        self.status.set_source(f"opening {text}…")
        self.session.open(
            OpenRequest(
                spec=str(spec),
                weights=self.weights,
                emotions=self.emotions,
                flow_mode=self.flow_mode,
                start_frame=start_frame,
                paused=paused,
                speed=self.playback.speed.currentData() or 1.0,
                spotting=self.spotting,
                weights_spotting=self.weights_spotting,
            )
        )

    def reopen(self, start_frame: int | None = None, paused: bool | None = None) -> None:
        """Reopen the current source (after a change of weights or flow mode)."""
        if self.spec is None:
            return
        if start_frame is None and self.opened is not None and self.opened.engine.source.seekable:
            start_frame = self.position
        self.open_source(self.spec, start_frame=start_frame,
                         paused=(not self.playback.playing) if paused is None else paused)

    def open_recording_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open recording", self.settings.last_dir,
                                              RECORDING_FILTER)
        if path:
            self.open_source(path)

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open frame folder", self.settings.last_dir)
        if path:
            self.open_source(path)

    def _on_opened(self, opened: OpenedSource) -> None:
        eng = opened.engine
        keep = (self._keep_results and self.opened is not None
                and self.opened.spec == opened.spec and float(eng.fps or 30.0) == self.fps)
        self.opening = False
        self.opened = opened
        self.engine = eng
        self.spec = opened.spec
        self.finished = False
        self.fps = float(eng.fps or 30.0)
        if keep:
            self.history.drop_from(int(opened.request.start_frame or 0))
        else:
            self.history = ScoreHistory(self.fps)
            self.events.clear()
            self.event_list.clear_events()
            self.plot.clear()
        self.probs.set_classes(eng.class_names)
        self.class_names = tuple(eng.class_names)
        self.probs.set_probs(None)
        self.maps.clear()
        self.maps.set_mode(eng.feature_config.mode)
        self._apply_map_ranges()
        self.plot.set_thresholds(*spotting_thresholds(eng.spotting_config))
        truth = eng.ground_truth
        self.plot.set_ground_truth(truth, self.fps)
        self.event_list.set_ground_truth(truth)
        src = eng.source
        self.playback.set_seekable(bool(src.seekable), src.frame_count, self.fps)
        self.playback.set_playing(not eng.paused)
        self.position = int(opened.request.start_frame or 0)
        self._seek_target = self.position
        self._last_frame_index = -1
        self._last_obs_frame = -2
        self.playback.set_position(self.position)
        self.status.set_source(opened.label)
        self.status.set_weights(self._weights_text())
        self.status.fields["weights"].setToolTip(
            self._weights_text() + "\nspotting: " + (", ".join(
                f"{k}={v}" for k, v in sorted(opened.spotting.items())) or "defaults"))
        self.banner.dismiss()
        want = opened.request.flow_mode
        trained = getattr(getattr(eng, "predictor", None), "flow_mode", None)
        if want and trained and want != trained:
            self.banner.show_info(
                f"Flow mode '{want}' differs from the mode the weights were trained with "
                f"('{trained}'): the scores are not calibrated for these inputs.", sticky=True)
        self.setWindowTitle(f"rt-sfamnet — {opened.label}")
        if opened.spec not in ("camera", "sim") and not opened.spec.startswith("sim:"):
            p = Path(opened.spec)
            if p.exists():
                self.settings.add_recent_file(p)
                self.settings.last_dir = str(p.parent)
                self._update_recent_menu()
        self.settings.last_source = opened.spec
        if opened.spec == "camera":
            self.camera_present = True
            self._update_record_enabled()
        gc.freeze()
        self._frozen_after_results = False

    def _on_progress(self, text: str) -> None:
        self.banner.show_info(text, sticky=True)

    def _on_failed(self, spec: str, message: str) -> None:
        self.opening = False
        self.opened = None
        self.engine = None
        self.show_error(f"Cannot open {_describe_spec(spec)}: {message}")
        self.status.set_source(f"{_describe_spec(spec)}: failed")
        self.video.clear_image("no source")
        self.depth.clear_image("")
        self.playback.set_seekable(False, None, self.fps)
        if spec == "camera":
            self.camera_present = False
            self._update_record_enabled()

    def show_error(self, message: str) -> None:
        """A non-modal error message at the top of the window (the app keeps running)."""
        self.banner.show_error(message)

    # ================================================================== drawing
    def tick(self) -> None:
        """One timer tick: pull the engine's news and draw it (GUI thread)."""
        t0 = time.perf_counter()
        eng = self.engine
        if eng is not None:
            try:
                update = eng.poll()
            except Exception as exc:  # noqa: BLE001 - shown, never fatal
                self.show_error(f"Engine failure: {describe_error(exc)}")
                self._engine_ended()
            else:
                self.apply_update(update)
        if self.record_ticks:
            self.tick_times.append((t0, time.perf_counter()))

    def apply_update(self, update: Any) -> None:
        """Draw an ``EngineUpdate`` (public so tests and benchmarks can feed updates)."""
        self.last_update = update
        self.updates_applied += 1
        if getattr(update, "reset", False):
            self.history.drop_from(self._seek_target)
        if update.results:
            if not self._frozen_after_results:
                # the engine's lazy set-up (JIT compilation, model graphs) is done now
                gc.freeze()
                self._frozen_after_results = True
            self.history.extend(update.results)
            for r in reversed(update.results):
                if r.probs is not None:
                    self.probs.set_probs(r.probs)
                    break
            if self.maps.isVisible():
                for r in reversed(update.results):
                    if getattr(r, "maps", None) is not None:
                        self.maps.set_maps(r.maps)
                        break
        curves = getattr(update, "curves", None) or {}
        for name in ("micro", "macro"):
            for frame, value in curves.get(name, ()):
                self.history.set_smoothed(name, int(frame), float(value))
        for iv in update.intervals:
            if self.events.add(iv):
                self.plot.add_spotted(iv, self.fps)
                self.event_list.add_event(iv, self.fps)
                self.video.flash_event(interval_text(iv), theme.emotion_hex(iv.emotion))
        frame = update.frame
        now = time.monotonic()
        if frame is not None and frame.index != self._last_frame_index:
            self._last_frame_index = frame.index
            # the face tracker runs on every frame_skip-th frame: redraw the box and the 468
            # landmarks only when the observation is new
            obs_frame = getattr(update, "observation_frame", -2)
            new_obs = obs_frame != self._last_obs_frame or obs_frame == -2
            self._last_obs_frame = obs_frame
            self.video.set_frame(frame.color, update.observation, update_face=new_obs)
            if self.depth.isVisible() and now - self._last_depth_draw >= 1.0 / DEPTH_HZ:
                self._last_depth_draw = now
                self.depth.set_depth(frame.depth, update.observation)
            self.position = int(frame.index)
        stats = update.stats
        if stats is not None and now - self._last_status_draw >= 1.0 / STATUS_HZ:
            self._last_status_draw = now
            self.status.set_stats(stats)
        self.playback.set_position(self.position)
        self.plot.set_history(self.history)
        self.plot.set_now(self.position / self.fps)
        if update.error is not None:
            self.show_error(f"The engine stopped: {describe_error(update.error)}")
            self._engine_ended()
        elif update.finished and not self.finished:
            self.finished = True
            self.playback.set_playing(False)
            n = len(self.events)
            self.banner.show_info(
                f"End of the recording: {n} expression{'s' if n != 1 else ''} spotted. "
                "Press Play to replay, or export the results (Ctrl+E)."
            )

    def _engine_ended(self) -> None:
        self.finished = True
        self.playback.set_playing(False)
        self.session.close_engine()

    # ================================================================== playback
    def _seekable(self) -> bool:
        return self.opened is not None and bool(self.opened.engine.source.seekable)

    def set_playing(self, playing: bool) -> None:
        """Play (resume) or pause; at the end of a recording Play starts it again."""
        eng = self.engine
        self.playback.set_playing(playing)
        if eng is None:
            return
        if playing and self.finished:
            if self._seekable():
                self.open_source(self.spec or "", start_frame=0, keep_results=True)
            elif self.spec:
                self.open_source(self.spec)
            return
        if playing:
            if getattr(eng, "live", False):
                # a live source restarts its schedule (EngineUpdate.reset) after the frames
                # already shown: they stay in the history
                self._seek_target = self.position + 1
            eng.resume()
        else:
            eng.pause()

    def toggle_play(self) -> None:
        self.set_playing(not self.playback.playing)

    def seek(self, frame: int) -> None:
        """Continue the recording at ``frame`` (the spotter restarts there)."""
        if not self._seekable():
            return
        count = self.opened.engine.source.frame_count if self.opened else None
        frame = max(0, int(frame))
        if count:
            frame = min(frame, count - 1)
        self._seek_target = frame
        if self.finished or self.engine is None:
            self.open_source(self.spec or "", start_frame=frame,
                             paused=not self.playback.playing, keep_results=True)
            return
        try:
            self.engine.seek(frame)
        except Exception as exc:  # noqa: BLE001
            self.show_error(f"Cannot seek: {describe_error(exc)}")
            return
        self.position = frame
        self.playback.set_position(frame)
        self.plot.set_now(frame / self.fps)

    def step(self, seconds: float) -> None:
        self.seek(int(round(self.position + seconds * self.fps)))

    def seek_to_event(self, onset: int) -> None:
        """Replay from :data:`SEEK_LEAD_S` before an event's onset frame."""
        if not self._seekable():
            self.banner.show_info("Events can be replayed in recordings only.")
            return
        self.seek(max(0, int(onset) - int(round(SEEK_LEAD_S * self.fps))))
        if not self.playback.playing:
            self.set_playing(True)

    def set_speed(self, speed: float) -> None:
        self.settings.speed = float(speed)
        if self.engine is not None:
            try:
                self.engine.set_speed(float(speed))
            except Exception as exc:  # noqa: BLE001
                self.show_error(f"Cannot change speed: {describe_error(exc)}")

    # ================================================================== engine options
    def choose_weights_dialog(self) -> None:
        start = str(Path(self.weights).parent) if self.weights else self.settings.last_dir
        path, _ = QFileDialog.getOpenFileName(self, "Choose weights", start, WEIGHTS_FILTER)
        if not path:
            return
        emotions = None
        if path.lower().endswith(".pkl"):  # official checkpoints do not say their classes
            guess = 1 if "7emo" in path.lower() else 0
            item, ok = QInputDialog.getItem(
                self, "Official checkpoint", "Emotion classes of this checkpoint:",
                ["4 (negative, positive, surprise, others)",
                 "7 (disgust, surprise, others, fear, anger, sad, happy)"], guess, False)
            if not ok:
                return
            emotions = int(item.split()[0])
        self.set_weights(path, emotions)

    def set_weights(self, path: str | None, emotions: int | None = None) -> None:
        """Use weights ``path`` (None: the default weights; ``emotions`` 4 or 7 for an
        official .pkl) and reopen the source."""
        self.weights = path
        self.emotions = emotions
        self.settings.weights = path
        self.status.set_weights(self._weights_text())
        self.reopen()

    def set_flow_mode(self, mode: str | None) -> None:
        """Use flow mode ``mode`` (None: the weights' own) and reopen the source."""
        if mode == self.flow_mode:
            return
        self.flow_mode = mode
        self.settings.flow_mode = mode
        self._sync_flow_controls()
        self.reopen()

    # ================================================================== camera recording
    def _on_camera_checked(self, present: bool) -> None:
        self.camera_present = bool(present)
        self._update_record_enabled()

    def _update_record_enabled(self) -> None:
        self.act_record.setEnabled(self.camera_present)
        self.act_record.setToolTip(
            "Record the camera to a .db3 file (R)" if self.camera_present
            else "Recording needs a connected RealSense camera (none found)"
        )
        self.act_camera.setToolTip(
            "Open the connected RealSense camera (C)" if self.camera_present
            else "Open the RealSense camera (C) — none was found when the app started"
        )

    def record_dialog(self) -> None:
        if not self.camera_present:
            self.show_error("No RealSense camera is connected: recording needs a D415.")
            return
        dlg = RecordDialog(self, self.settings.last_dir)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        self.start_recording(dlg.path.text(), dlg.seconds.value())

    def start_recording(self, path: str, seconds: float) -> None:
        """Record the camera to ``path`` for ``seconds`` (the live view pauses meanwhile)."""
        reopen = (OpenRequest("camera", weights=self.weights, emotions=self.emotions,
                              flow_mode=self.flow_mode) if self.spec == "camera" else None)
        self.engine = None
        self.banner.show_info(f"Recording the camera to {path} for {seconds:g} s…", sticky=True)
        self.session.record(path, seconds, reopen)

    def _on_record_progress(self, n: int) -> None:
        if n % 15 == 0:
            self.status.set_source(f"recording… {n} frames")

    def _on_recorded(self, path: str, n: int) -> None:
        self.settings.add_recent_file(path)
        self._update_recent_menu()
        self.banner.show_info(f"Recorded {n} frames to {path} (File ▸ Recent recordings).")

    # ================================================================== recent files
    def _update_recent_menu(self) -> None:
        files = self.settings.recent_files()
        for menu in (self.recent_menu, self.recent_file_menu):
            menu.clear()
            for f in files:
                act = menu.addAction(Path(f).name)
                act.setToolTip(f)
                act.setStatusTip(f)
                act.triggered.connect(lambda _=False, p=f: self.open_source(p))
            if files:
                menu.addSeparator()
                clear = menu.addAction("Clear list")
                clear.triggered.connect(self._clear_recent)
            else:
                menu.addAction("(no recent recordings)").setEnabled(False)

    def _clear_recent(self) -> None:
        self.settings.clear_recent_files()
        self._update_recent_menu()

    # ================================================================== export
    def export_dialog(self) -> None:
        if not len(self.history) and not len(self.events):
            self.banner.show_info("Nothing to export yet.")
            return
        stem = Path(self.spec or "session").stem or "session"
        start = str(Path(self.settings.last_dir or ".") / f"{stem}.csv")
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export events and per-frame scores", start,
            "CSV (*.csv);;JSON (*.json)",
        )
        if not path:
            return
        fmt = "json" if path.lower().endswith(".json") or "json" in chosen.lower() else "csv"
        self.export(path, fmt)

    def export(self, path: str | Path, fmt: str = "csv") -> list[Path]:
        """Write the events and per-frame scores next to ``path``; returns the files."""
        from ui.export import export_session

        try:
            files = export_session(
                path, fmt, self.history, self.events.sorted(), self.class_names, self.fps,
                self.spec or "session", self.opened.engine.ground_truth if self.opened else None,
            )
        except Exception as exc:  # noqa: BLE001
            self.show_error(f"Export failed: {describe_error(exc)}")
            return []
        self.banner.show_info("Exported " + ", ".join(str(f) for f in files))
        return files

    # ================================================================== view
    def set_depth_visible(self, on: bool) -> None:
        self.depth_panel.setVisible(bool(on))
        self.settings.show_depth = bool(on)
        self._update_side()

    def set_maps_visible(self, on: bool) -> None:
        self.maps.setVisible(bool(on))
        self.settings.show_maps = bool(on)
        self._update_side()

    def _update_side(self) -> None:
        self.side.setVisible(self.act_depth.isChecked() or self.act_maps.isChecked())

    def set_landmarks_visible(self, on: bool) -> None:
        self.video.show_landmarks = bool(on)
        self.settings.show_landmarks = bool(on)
        if not on:
            self.video.landmarks.setVisible(False)

    def set_plot_window(self, seconds: float) -> None:
        """Width of the score plot's time window (s), remembered."""
        self.plot.set_window(float(seconds))
        self.settings.plot_window_s = float(seconds)
        for a in self.window_actions.actions():
            a.setChecked(abs(a.data() - seconds) < 1e-9)

    def toggle_fullscreen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()
        self.act_fullscreen.setChecked(self.isFullScreen())

    # ================================================================== shutdown
    def save_screenshot(self, path: str | Path) -> Path:
        """Render the window into a PNG/JPEG file (works offscreen)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        if not self.grab().save(str(p)):
            raise OSError(f"could not write the screenshot {p}")
        return p

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        self.timer.stop()
        if not self.isFullScreen():
            self.settings.save_window(self.saveGeometry(), QByteArray())
        self.settings.plot_window_s = self.plot.window_s
        self.settings.sync()
        self.session.shutdown()
        self.engine = None
        super().closeEvent(event)


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
) -> int:
    """Start the app on ``source`` (None: camera, else the demo recording, else the
    simulator) and run Qt's event loop; returns the exit status. ``spotting``: values of
    :class:`~rt_sfamnet.spotting.SpottingConfig` (e.g. ``{"k_micro": 2}``) applied over the
    ones the weights were evaluated with (unless ``weights_spotting`` is False).

    With ``screenshot`` the window is saved there after ``quit_after`` seconds (default 10)
    and the app quits.
    """
    from rt_sfamnet.pipeline import EngineConfig

    app = _ensure_app()
    config = EngineConfig(emotions=emotions, device=device)
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


__all__ = ["MainWindow", "run_app", "spotting_thresholds", "SEEK_LEAD_S", "POLL_HZ"]
