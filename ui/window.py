"""The main window of the rt-sfamnet desktop app: its behaviour.

The window's widgets, actions, toolbar and menus are built by :func:`ui.layout.build_panels`
and :func:`ui.menus.build_actions`, which return handles (:class:`~ui.layout.Panels`,
:class:`~ui.menus.Actions`); their fields become attributes of the window (``window.plot``,
``window.act_play`` ...). This module holds what the window does: its slots, the timer, and
the control of the engine. Drawing an update is :class:`ui.drawing.UpdateDrawer`'s job, the
View menu and the remembered view settings :class:`ui.view.ViewControl`'s.

The GUI thread only draws: a :class:`QTimer` (~30 Hz) pulls :meth:`Engine.poll` and hands
the :class:`~rt_sfamnet.pipeline.EngineUpdate` to :meth:`MainWindow.apply_update`. Opening,
stopping and recording run on :class:`~ui.session.EngineSession`'s worker thread.
"""

from __future__ import annotations

import dataclasses
import gc
import time
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QMainWindow

from ui import dialogs, theme
from ui.attention import AttentionController
from ui.drawing import UpdateDrawer
from ui.history import EventLog, ScoreHistory
from ui.layout import build_panels
from ui.menus import build_actions, fill_recent_menu
from ui.recording import RecordToggle
from ui.review import ReviewController
from ui.session import EngineSession, OpenedSource, OpenRequest, describe_error
from ui.settings import AppSettings
from ui.view import ViewControl

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, background=theme.BACKGROUND,
                    foreground=theme.MUTED_TEXT)

#: Redraw rate of the GUI timer (Hz).
POLL_HZ = 30.0
#: Clicking an event replays from this many seconds before its onset, so the spotter (whose
#: smoothing needs about a second of context) sees the whole expression again.
SEEK_LEAD_S = 1.0


def _describe_spec(spec: str) -> str:
    """Words for a source spec in messages ("the camera", a path ...)."""
    return {"camera": "the camera", "sim": "the simulator", "auto": "the default source",
            "demo": "the demo recording"}.get(str(spec), str(spec))


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
        source_fps: float | None = None,
    ) -> None:
        super().__init__()
        self.source_fps = source_fps  # the frame rate of frame folders (gui --fps)
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
        self.class_names: tuple[str, ...] = ()
        self.camera_present = False
        self.finished = False
        self.opening = False
        self.position = 0
        self._seek_target = 0
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

        # layout: the handles become attributes (self.plot, self.act_play, ...)
        self.panels = build_panels(self, self.settings.plot_window_s)
        self.acts = build_actions(self, self.settings.plot_window_s)
        for handles in (self.panels, self.acts):
            for f in dataclasses.fields(handles):
                setattr(self, f.name, getattr(handles, f.name))
        self.drawer = UpdateDrawer(self.panels)
        self.recorder = RecordToggle(self)
        self.view = ViewControl(self, self.panels, self.acts, self.settings)
        self._connect_panels()
        self._connect_actions()
        self._connect_session()
        self._update_record_enabled()
        self._update_recent_menu()
        self.view.restore()
        self.view.show_flow_mode(self.flow_mode)
        self.status.set_weights(self._weights_text())

        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(max(1, int(round(1000.0 / poll_hz))))
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        # review mode: its own actions, Review menu, dock and plot overlay (ui/review)
        self.review = ReviewController(self)
        # the attention overlay: View ▸ Attention overlay / Attention map (ui/attention)
        self.attention = AttentionController(self)
        self.session.check_camera()

    @property
    def fps(self) -> float:
        """Frames per second of the open source (30 before one opens)."""
        return self.drawer.fps

    @fps.setter
    def fps(self, value: float) -> None:
        self.drawer.fps = float(value)

    @property
    def history(self) -> ScoreHistory:
        """The per-frame scores and smoothed curves drawn so far."""
        return self.drawer.history

    @property
    def events(self) -> EventLog:
        """The spotted intervals drawn so far."""
        return self.drawer.events

    # ================================================================== wiring
    def _connect_panels(self) -> None:
        self.playback.playToggled.connect(self.set_playing)
        self.playback.seekRequested.connect(self.seek)
        self.playback.speedChanged.connect(self.set_speed)
        self.event_list.eventActivated.connect(self.seek_to_event)

    def _connect_actions(self) -> None:
        slots = {
            "act_camera": lambda: self.open_source("camera"),
            "act_open": self.open_recording_dialog,
            "act_folder": self.open_folder_dialog,
            "act_sim": lambda: self.open_source("sim"),
            "act_demo": lambda: self.open_source("demo"),
            "act_play": self.toggle_play,
            "act_back": lambda: self.step(-1.0),
            "act_fwd": lambda: self.step(1.0),
            "act_home": lambda: self.seek(0),
            "act_slower": lambda: self.playback.step_speed(-1),
            "act_faster": lambda: self.playback.step_speed(1),
            "act_record": self.recorder.toggle,
            "act_camera_settings": self.camera_settings_dialog,
            "act_weights": self.choose_weights_dialog,
            "act_default_weights": lambda: self.set_weights(None),
            "act_export": self.export_dialog,
            "act_fullscreen": self.view.toggle_fullscreen,
            "act_depth": self.view.set_depth_visible,
            "act_maps": self.view.set_maps_visible,
            "act_landmarks": self.view.set_landmarks_visible,
            "act_quit": self.close,
            "act_escape": self.view.leave_fullscreen,
        }
        for name, slot in slots.items():
            getattr(self.acts, name).triggered.connect(slot)
        self.flow_combo.currentIndexChanged.connect(
            lambda i: self.set_flow_mode(self.flow_combo.itemData(i))
        )
        self.flow_actions.triggered.connect(lambda a: self.set_flow_mode(a.data()))
        self.window_actions.triggered.connect(lambda a: self.view.set_plot_window(a.data()))

    def _connect_session(self) -> None:
        # bound methods of this window (not lambdas): the worker's signals are queued to
        # the GUI thread
        self.session.opened.connect(self._on_opened)
        self.session.failed.connect(self._on_failed)
        self.session.progress.connect(self._on_progress)
        self.session.cameraChecked.connect(self._on_camera_checked)


    def _weights_text(self, engine: Any | None = None) -> str:
        """The chosen weights file, or the default weights (the file chosen for ``engine``'s
        source when known: the optical-flow network for a source without depth)."""
        if self.weights:
            return f"weights {Path(self.weights).name}"
        path = getattr(getattr(engine, "predictor", None), "path", None)
        return f"default weights ({Path(path).stem})" if path else "default weights"

    # ================================================================== sources

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
                fps=self.source_fps,
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
        path = dialogs.ask_recording(self, self.settings.last_dir)
        if path:
            self.open_source(path)

    def open_folder_dialog(self) -> None:
        path = dialogs.ask_folder(self, self.settings.last_dir)
        if path:
            self.open_source(path)

    def _on_opened(self, opened: OpenedSource) -> None:
        eng = opened.engine
        start = int(opened.request.start_frame or 0)
        keep = (self._keep_results and self.opened is not None
                and self.opened.spec == opened.spec and float(eng.fps or 30.0) == self.fps)
        self.opening = False
        self.opened = opened
        self.engine = eng
        self.spec = opened.spec
        self.finished = False
        self.drawer.start(eng, float(eng.fps or 30.0), start if keep else None)
        self.class_names = tuple(eng.class_names)
        self.view.apply_map_ranges()
        self.position = self._seek_target = start
        self.playback.set_position(self.position)
        self._announce_opened(opened)
        self._remember_source(opened.spec)
        gc.freeze()
        self._frozen_after_results = False

    def _announce_opened(self, opened: OpenedSource) -> None:
        """Status bar, title and the banners (a notice for a flow mode the weights were not
        trained with; a warning for weights trained on synthetic faces only on a source that
        is not simulated, :func:`rt_sfamnet.pipeline.inputs.run_labels`) for a newly opened
        source."""
        from rt_sfamnet.pipeline.inputs import run_labels, training_text

        eng = opened.engine
        self.status.set_source(opened.label)
        self.status.set_weights(self._weights_text(eng))
        labels = run_labels(eng)
        self.status.set_model(f"{labels['input']} · {training_text(eng.settings)}")
        if labels["warnings"]:
            self.weights_banner.show_warning(
                "; ".join(w[0].upper() + w[1:] for w in labels["warnings"]) + ".")
        else:
            self.weights_banner.dismiss()
        self.status.fields["weights"].setToolTip(
            self._weights_text(eng) + "\nspotting: " + (", ".join(
                f"{k}={v}" for k, v in sorted(opened.spotting.items())) or "defaults"))
        self.banner.dismiss()
        want = opened.request.flow_mode
        trained = getattr(getattr(eng, "predictor", None), "flow_mode", None)
        if want and trained and want != trained:
            self.banner.show_info(
                f"Flow mode '{want}' differs from the mode the weights were trained with "
                f"('{trained}'): the scores are not calibrated for these inputs.", sticky=True)
        self.setWindowTitle(f"rt-sfamnet — {opened.label}")

    def _remember_source(self, spec: str) -> None:
        """Recent recordings, last folder and last source; a camera that opened exists."""
        if spec not in ("camera", "sim") and not spec.startswith("sim:"):
            p = Path(spec)
            if p.exists():
                self.settings.add_recent_file(p)
                self.settings.last_dir = str(p.parent)
                self._update_recent_menu()
        self.settings.last_source = spec
        if spec == "camera":
            self.camera_present = True
            self._update_record_enabled()

    def _on_progress(self, text: str) -> None:
        self.banner.show_info(text, sticky=True)

    def _on_failed(self, spec: str, message: str) -> None:
        self.opening = False
        self.opened = None
        self.engine = None
        self.show_error(f"Cannot open {_describe_spec(spec)}: {message}")
        self.weights_banner.dismiss()
        self.status.set_model("")
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
        draw = self.drawer
        if getattr(update, "reset", False):
            draw.history.drop_from(self._seek_target)
        if update.results:
            if not self._frozen_after_results:
                # the engine's lazy set-up (JIT compilation, model graphs) is done now
                gc.freeze()
                self._frozen_after_results = True
            draw.results(update.results)
            self.attention.offer(update.results)  # nothing unless the overlay is on
        draw.curves(getattr(update, "curves", None) or {})
        draw.intervals(update.intervals)
        now = time.monotonic()
        frame = draw.frame(update, now)
        if frame is not None:
            self.position = frame
        draw.stats(update.stats, now)
        draw.position(self.position)
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
        answer = dialogs.ask_weights(self, start)
        if answer is not None:
            self.set_weights(*answer)

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
        self.view.show_flow_mode(mode)
        self.reopen()

    # ================================================================== camera recording
    def _on_camera_checked(self, present: bool) -> None:
        self.camera_present = bool(present)
        self._update_record_enabled()

    def _update_record_enabled(self) -> None:
        self.act_record.setEnabled(True)  # records any source (ui.recording)
        self.act_camera.setToolTip(
            "Open the connected RealSense camera (C)" if self.camera_present
            else "Open the RealSense camera (C) — none was found when the app started"
        )

    def camera_settings_dialog(self) -> None:
        """Exposure, laser power and visual preset of the live camera (ui.camera_controls)."""
        from ui.camera_controls import CameraControlsDialog, camera_source

        cam = camera_source(self.engine)
        if cam is None:
            self.show_error("Camera settings apply to a live RealSense camera: open the camera "
                            "first (C).")
            return
        CameraControlsDialog(self, cam).exec()

    # ================================================================== recent files
    def _update_recent_menu(self) -> None:
        files = self.settings.recent_files()
        for menu in (self.recent_menu, self.recent_file_menu):
            fill_recent_menu(menu, files, self.open_source, self._clear_recent)

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
        answer = dialogs.ask_export_path(self, start)
        if answer is not None:
            self.export(*answer)

    def export(self, path: str | Path, fmt: str = "csv") -> list[Path]:
        """Write the events and per-frame scores next to ``path``; returns the files."""
        from rt_sfamnet.pipeline.writers import source_label
        from ui.export import export_session

        engine = self.opened.engine if self.opened else None
        try:
            files = export_session(
                path, fmt, self.history, self.events.sorted(), self.class_names, self.fps,
                self.spec or "session", engine.ground_truth if engine else None,
                source_label(engine.source) if engine else "",
            )
        except Exception as exc:  # noqa: BLE001
            self.show_error(f"Export failed: {describe_error(exc)}")
            return []
        self.banner.show_info("Exported " + ", ".join(str(f) for f in files))
        if engine is not None or self.engine is not None:  # the report needs the run's settings
            self.attention.export_report(files[0])  # <stem>_report.html, on the worker thread
        return files

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
        self.view.save()
        self.settings.sync()
        self.session.shutdown()
        self.attention.close()
        self.engine = None
        super().closeEvent(event)


__all__ = ["MainWindow", "POLL_HZ", "SEEK_LEAD_S"]
