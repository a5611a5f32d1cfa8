"""The engine's life cycle, off the GUI thread.

Opening a source (generating the demo recording on first run, loading weights, starting the
face tracker) and stopping an engine (joining its threads) can take from tens of milliseconds
to seconds, so :class:`EngineSession` runs them as jobs on one worker thread, in the order
they were asked for. The GUI thread only ever calls the engine's cheap methods (``poll``,
``pause``, ``resume``, ``seek``, ``set_speed``).

Every job's outcome comes back as a Qt signal (queued to the GUI thread). An open that was
overtaken by a newer one is stopped and never reported.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Signal

from rt_sfamnet.errors import RtSfamnetError
from rt_sfamnet.sources import resolve_spec


def describe_error(exc: BaseException) -> str:
    """One readable line for an error: the message of our own errors, type + message else."""
    if isinstance(exc, RtSfamnetError):
        return str(exc)
    text = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


@dataclass
class OpenRequest:
    """What to open.

    Attributes:
        spec: ``"camera"``, ``"sim"`` / ``"sim:..."``, a recording or frame folder, or
            ``"auto"`` (the camera if one is connected, else the demo recording, else the
            simulator).
        weights: weights file (None: the default weights for the source,
            :func:`rt_sfamnet.pipeline.inputs.choose_weights`).
        emotions: 4 or 7 for an official ``.pkl`` checkpoint (ours carry it).
        flow_mode: ``"hybrid"``, ``"scene"``, ``"optical"`` or None (the weights' own mode).
        start_frame: seek there right after starting (recordings).
        paused: start paused.
        speed: playback speed (recordings).
        realtime: pace recordings at their frame rate (the GUI's default) or read them as
            fast as the engine can analyse them.
        spotting: ``SpottingConfig`` values to use (e.g. ``{"k_micro": 2}``), applied last.
        weights_spotting: first apply the spotting values the weights were trained and
            evaluated with (``provenance["train"]["spotting"]`` of our weights), if any.
    """

    spec: str
    weights: str | None = None
    emotions: int | None = None
    flow_mode: str | None = None
    start_frame: int | None = None
    paused: bool = False
    speed: float = 1.0
    realtime: bool = True
    spotting: dict | None = None
    weights_spotting: bool = True

    def options(self) -> Any:
        """The request as :class:`~rt_sfamnet.pipeline.analysis.AnalysisOptions` (the one
        builder of an engine's configuration)."""
        from rt_sfamnet.pipeline.analysis import AnalysisOptions

        return AnalysisOptions(weights=self.weights, emotions=self.emotions,
                               flow_mode=self.flow_mode, spot=dict(self.spotting or {}),
                               release_spotting=not self.weights_spotting,
                               realtime=self.realtime, speed=float(self.speed))


@dataclass
class OpenedSource:
    """A started engine and what the window needs to know about it."""

    engine: Any
    spec: str
    label: str
    request: OpenRequest
    spotting: dict  # the SpottingConfig values changed from the release's (Settings.spotting_changed)


class EngineSession(QObject):
    """Owns at most one running engine; opens and stops it on a worker thread.

    Signals:
        opened(object): an :class:`OpenedSource` (GUI thread).
        failed(str, str): the spec that failed and a one-line message.
        progress(str): a notice while a job runs (e.g. "preparing the demo").
        cameraChecked(bool): result of :meth:`check_camera`.
    """

    opened = Signal(object)
    failed = Signal(str, str)
    progress = Signal(str)
    cameraChecked = Signal(bool)

    def __init__(self, parent: QObject | None = None,
                 engine_config: Any | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rt-sfamnet-gui-jobs")
        self._generation = 0
        self._gen_lock = threading.Lock()
        self._current: Any | None = None  # the engine the worker last started (worker-owned)
        self._predictors: dict[tuple[str | None, int | None], Any] = {}
        self.engine_config = engine_config
        self.closed = False

    # ------------------------------------------------------------------ jobs
    def _next_generation(self) -> int:
        with self._gen_lock:
            self._generation += 1
            return self._generation

    def _is_current(self, gen: int) -> bool:
        with self._gen_lock:
            return gen == self._generation

    def submit(self, fn: Callable[[], Any]) -> Future:
        return self._pool.submit(fn)

    def open(self, request: OpenRequest) -> None:
        """Stop the current engine and open ``request`` (asynchronously)."""
        gen = self._next_generation()
        self._pool.submit(self._open_job, gen, request)

    def close_engine(self) -> Future:
        """Stop the current engine (asynchronously); returns the job's future."""
        self._next_generation()
        if self.closed:  # shut down: nothing runs any more
            done: Future = Future()
            done.set_result(None)
            return done
        return self._pool.submit(self._stop_current)

    def check_camera(self) -> None:
        """Look for a connected RealSense camera (asynchronously; emits cameraChecked)."""
        def job() -> None:
            from rt_sfamnet.sources import camera_available

            self.cameraChecked.emit(bool(camera_available()))

        self._pool.submit(job)

    def shutdown(self, timeout: float = 15.0) -> None:
        """Stop the engine and the worker thread (blocks; call when the window closes)."""
        if self.closed:
            return
        self.closed = True
        self._next_generation()
        fut = self._pool.submit(self._stop_current)
        try:
            fut.result(timeout=timeout)
        except Exception:
            pass
        self._pool.shutdown(wait=False, cancel_futures=True)
        # deliver what the worker queued before it stopped, while the window still exists
        QCoreApplication.sendPostedEvents(None, QEvent.Type.MetaCall)

    # ------------------------------------------------------------------ worker side
    def _stop_current(self) -> None:
        engine, self._current = self._current, None
        if engine is not None:
            try:
                engine.stop()
            except Exception:  # the engine reports its errors through poll()
                pass

    def _open_job(self, gen: int, request: OpenRequest) -> None:
        self._stop_current()
        if not self._is_current(gen):
            return
        from rt_sfamnet.pipeline import Engine, EngineConfig
        from rt_sfamnet.pipeline.inputs import choose_weights
        from rt_sfamnet.sources import make_source

        spec = request.spec
        engine = None
        try:
            spec = resolve_spec(spec, self.progress.emit)
            if not self._is_current(gen):
                return
            config = request.options().engine_config(self.engine_config or EngineConfig())
            from rt_sfamnet.sources.realsense.tee import RecordingTee

            source = RecordingTee(make_source(spec))  # the Record toggle (ui.recording)
            # no weights named: the file depends on the source (optical-flow without depth)
            key = (str(choose_weights(config, source)), config.emotions)
            cached = self._predictors.get(key)
            engine = Engine(source, config, predictor=cached)  # settings resolved once, here
            self._predictors = {key: engine.predictor}
            changed = engine.settings.spotting_changed  # resolved once, by the engine
            engine.start()
            self._current = engine
            if request.start_frame and getattr(source, "seekable", False):
                count = source.frame_count
                frame = int(request.start_frame)
                if count is None or frame < count:
                    engine.seek(frame)
            if request.paused:
                engine.pause()
        except BaseException as exc:  # noqa: BLE001 - every failure is shown in the window
            if engine is not None:
                try:
                    engine.stop()
                except Exception:
                    pass
            self._current = None
            if self._is_current(gen):
                self.failed.emit(str(request.spec), describe_error(exc))
            return
        if not self._is_current(gen):
            self._stop_current()
            return
        label = _source_label(spec, engine)
        self.opened.emit(OpenedSource(engine, spec, label, request, changed))


def _source_label(spec: str, engine: Any) -> str:
    src = engine.source
    name = str(getattr(src, "name", "") or "")
    if spec == "camera":
        return f"camera {name}".strip()
    if spec == "sim" or spec.startswith("sim:"):
        return f"simulator ({spec})"
    p = Path(spec)
    if p.exists():
        return p.name
    return name or spec
