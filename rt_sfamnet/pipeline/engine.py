"""The real-time engine: capture -> face -> flow (ring buffer) -> SFAMNet -> streaming spotter.

Threads and queues::

    capture ──frames (bounded)──► face ──observed (bounded)──► flow ──samples (bounded)──►
    inference ──results (bounded, for poll())──► caller (GUI timer, analyze, benchmarks)

- **capture** reads the :class:`~rt_sfamnet.sources.Source`, stamps each frame's arrival time
  (``time.perf_counter``), keeps the newest frame for display and forwards the frames that
  some window needs. With ``frame_skip = 2`` and ``k_SW = 6`` only every second frame is
  needed (window starts and ends are both even), so odd frames are skipped before the queue
  (counted as ``frames_skipped``, not as drops). Drop policy of the ``frames`` queue:

  * live sources (a camera) and file sources paced in real time (``realtime=True``): the
    queue never blocks the capture thread; when it is full the *oldest* frame is dropped and
    counted in ``dropped["frames"]``;
  * file sources read as fast as possible (``realtime=False``): the capture thread waits for
    room (backpressure). Nothing is lost because the file waits for us.

- **face** runs the MediaPipe face tracker on every forwarded frame (so at
  ``fps / frame_skip`` when ``k_SW`` is a multiple of ``frame_skip``: the face mesh runs at a
  reduced rate by construction) and measures how much depth the face box holds.
- **flow** keeps a ring of the last ``k_SW + 1`` frames' face observations and crops. For
  the sample that starts at frame ``s`` (``s = base + j * frame_skip``) it waits for frame
  ``t = s + k_SW``, crops both frames with the crop box of frame ``s`` and computes the
  3x42x42 input maps (:func:`rt_sfamnet.features.pair_maps_batch` over all pairs that are
  ready). The score belongs to frame ``s``. A sample whose frames were dropped or have no
  face is still emitted, as a gap (score None), so the sample sequence stays regular.
- **inference** takes every sample waiting (one batch), runs the network, feeds the
  :class:`~rt_sfamnet.spotting.StreamingSpotter` in sample order (a gap pushes score 0 and
  ``neutral``), and publishes :class:`FrameResult` objects, newly final smoothed curve values
  and newly final intervals (converted from samples to frames of the stream).

The queues between the engine's own threads use backpressure, so the only place where
frames are dropped is the capture queue, and every drop is counted.

Faults: a frame without a face opens a gap (recorded in :attr:`EngineStats.gaps`) that
closes when the face returns; a face box without depth is counted in
``frames_empty_depth`` and still scored, with the w map (depth motion) of its windows set to
zero in the ``scene`` and ``hybrid`` modes (a flow against missing depth is noise); a source
that fails mid-stream (camera unplugged, truncated recording) ends the stream: everything
already read is analysed and published, then :attr:`EngineUpdate.error` carries the
source's error. An exception in any worker stops the engine and is reported the same way;
:meth:`Engine.stop` always joins the threads, closes the face tracker and the source, and can
re-raise the error (``stop(raise_error=True)``).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rt_sfamnet.errors import ConfigError, RtSfamnetError, SourceError
from rt_sfamnet.face import FaceConfig, FaceObservation, FaceTracker
from rt_sfamnet.features import FeatureConfig, crop_frame, pair_maps_batch
from rt_sfamnet.frames import RGBDFrame
from rt_sfamnet.pipeline.stats import EngineStats, LatencyWindow, RateMeter
from rt_sfamnet.queues import BoundedQueue, Control
from rt_sfamnet.sources.base import Source
from rt_sfamnet.spotting import SpottedInterval, SpottingConfig, StreamingSpotter

__all__ = ["Engine", "EngineConfig", "EngineUpdate", "FrameResult", "EngineStats",
           "weights_spotting"]

NEUTRAL = "neutral"


@dataclass
class EngineConfig:
    """Configuration of :class:`Engine`.

    Attributes:
        frame_skip: a sample every ``frame_skip`` frames; None: 2 on the CPU, 1 on CUDA.
        k_sw: frames between the two frames of a pair; None: ``round(0.2 * fps)``.
        realtime: pace file sources at their fps x ``speed`` (and drop, not wait, when the
            engine falls behind). Live sources are always real time.
        speed: playback speed factor for ``realtime`` file sources (> 0).
        queue_size: capacity of each queue between threads (frames / samples).
        max_batch: the most samples per network call.
        results_buffer: published results kept for :meth:`Engine.poll` (older ones are
            dropped and counted in ``dropped["results"]`` when nobody polls).
        keep_maps: attach the 3x42x42 input maps to each :class:`FrameResult`.
        min_depth_fraction: a face box with less valid (non-zero) depth than this fraction
            counts as an empty-depth frame.
        features: flow/feature settings; None: from the weights (``flow_mode``,
            ``input_scale``), on the engine's backend.
        spotting: streaming spotter settings (its ``frame_skip`` is set to the engine's).
        face: face tracker settings.
        weights: a weights file; None: the default weights (ignored when a predictor is
            passed to :class:`Engine`).
        emotions: 4 or 7; needed for official ``.pkl`` weights (ours carry it).
        input_clip: clamp the maps to ``[-input_clip, input_clip]`` before the network;
            None: the weights' own ``provenance["input_clip"]`` (weights trained on clamped
            maps record it), else no clamp; 0 switches the clamp off.
        device: ``"auto"`` (CUDA when PyTorch and CuPy see a GPU), ``"cpu"`` or ``"cuda"``.
    """

    frame_skip: int | None = None
    k_sw: int | None = None
    realtime: bool = False
    speed: float = 1.0
    queue_size: int = 8
    max_batch: int = 32
    results_buffer: int = 2048
    keep_maps: bool = True
    min_depth_fraction: float = 0.2
    features: FeatureConfig | None = None
    spotting: SpottingConfig = field(default_factory=SpottingConfig)
    face: FaceConfig = field(default_factory=FaceConfig)
    weights: str | None = None
    emotions: int | None = None
    device: str = "auto"
    input_clip: float | None = None

    def __post_init__(self) -> None:
        if self.frame_skip is not None and self.frame_skip < 1:
            raise ConfigError(f"frame_skip must be >= 1, found {self.frame_skip}")
        if self.k_sw is not None and self.k_sw < 1:
            raise ConfigError(f"k_sw must be >= 1, found {self.k_sw}")
        if not self.speed > 0:
            raise ConfigError(f"speed must be > 0, found {self.speed}")
        if self.queue_size < 1 or self.max_batch < 1 or self.results_buffer < 1:
            raise ConfigError("queue_size, max_batch and results_buffer must be >= 1")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"device must be 'auto', 'cpu' or 'cuda', found {self.device!r}")


@dataclass
class FrameResult:
    """The engine's output for one scheduled sample (one analysed frame).

    Attributes:
        frame: index of the first frame of the window (the frame the score belongs to).
        timestamp: that frame's timestamp in seconds (source clock).
        face_found: a face was found in both frames of the window.
        score: spotting score in [0, 1], or None for a gap (no face, dropped frame).
        micro_smoothed, macro_smoothed: the smoothed curves at this frame; None here because
            they become final a few samples later (see :attr:`EngineUpdate.curves`).
        probs: class probabilities, shape (C,) float32 in the order of
            :attr:`Engine.class_names`, or None for a gap.
        label: predicted class name (argmax of ``probs``) or None.
        latency_ms: from the arrival of the window's last frame to publication, ms.
        maps: the network input, 3x42x42 float32 (None for a gap or ``keep_maps=False``).
        sample: sample number since the last start/seek.
        depth_ok: both face boxes held depth (see ``min_depth_fraction``).
        reason: why the score is missing: ``""``, ``"no_face"`` or ``"dropped"``.
    """

    frame: int
    timestamp: float
    face_found: bool
    score: float | None
    micro_smoothed: float | None
    macro_smoothed: float | None
    probs: np.ndarray | None
    label: str | None
    latency_ms: float
    maps: np.ndarray | None = None
    sample: int = 0
    depth_ok: bool = True
    reason: str = ""


@dataclass
class EngineUpdate:
    """Everything new since the previous :meth:`Engine.poll`.

    Attributes:
        frame: the latest captured frame (for display) or None.
        observation: the latest face observation (of frame ``observation_frame``) or None.
        results: new :class:`FrameResult` objects in frame order.
        intervals: intervals that became final, in frames of the stream.
        stats: a statistics snapshot.
        error: a worker's (or the source's) failure; the engine has stopped.
        finished: the end of a finite source was reached and everything was flushed (also
            True after an error, once the engine has stopped).
        curves: newly final smoothed values: ``{"micro": [(frame, value)], "macro": [...]}``.
        observation_frame: index of the frame ``observation`` belongs to (-1 if none).
        reset: a seek (or the restart of a live source at :meth:`Engine.resume`) was
            processed since the previous poll (results before it are gone).
    """

    frame: RGBDFrame | None
    observation: FaceObservation | None
    results: list[FrameResult]
    intervals: list[SpottedInterval]
    stats: EngineStats
    error: BaseException | None = None
    finished: bool = False
    curves: dict[str, list[tuple[int, float]]] = field(
        default_factory=lambda: {"micro": [], "macro": []}
    )
    observation_frame: int = -1
    reset: bool = False


# ---------------------------------------------------------------------------------------
# items travelling between the threads


@dataclass
class _Reset(Control):
    base: int  # first scheduled frame (a multiple of frame_skip)


@dataclass
class _End(Control):
    error: BaseException | None = None


@dataclass
class _Captured:
    frame: RGBDFrame
    arrival: float


@dataclass
class _Observed:
    frame: RGBDFrame
    obs: FaceObservation | None
    arrival: float
    depth_ok: bool


@dataclass
class _Sample:
    sample: int
    frame: int
    timestamp: float
    arrival: float
    maps: np.ndarray | None
    face_found: bool
    depth_ok: bool
    reason: str


@dataclass
class _RingEntry:
    index: int
    timestamp: float
    obs: FaceObservation | None
    crop: Any  # features.Crop cropped with its own box (window starts only) or None
    depth_ok: bool


def _resolve_backend(device: str) -> str:
    """``"cpu"`` or ``"cuda"`` for a device request; ``"cuda"`` needs PyTorch CUDA and CuPy."""
    if device == "cpu":
        return "cpu"
    cuda = False
    try:
        import torch

        cuda = bool(torch.cuda.is_available())
    except Exception:  # pragma: no cover - torch is a dependency
        cuda = False
    if cuda:
        try:
            import cupy  # noqa: F401

            cuda = cupy.cuda.runtime.getDeviceCount() > 0
        except Exception:
            cuda = False
    if device == "cuda" and not cuda:
        raise ConfigError(
            "device 'cuda' requested but no CUDA GPU is usable (needs PyTorch with CUDA and "
            "CuPy); use device 'auto' or 'cpu'"
        )
    return "cuda" if cuda else "cpu"


def weights_spotting(predictor: Any) -> dict[str, Any]:
    """The spotting values a network was evaluated with (``provenance["train"]["spotting"]``
    of weights written by ``rt-sfamnet train``), or ``{}`` when its weights do not say."""
    prov = getattr(getattr(predictor, "meta", None), "provenance", None) or {}
    train = prov.get("train") if isinstance(prov, dict) else None
    values = train.get("spotting") if isinstance(train, dict) else None
    return dict(values) if isinstance(values, dict) else {}


def needed_frame(index: int, base: int, frame_skip: int, k_sw: int) -> bool:
    """True if frame ``index`` starts or ends a window of the schedule ``base + j*frame_skip``."""
    rel = index - base
    if rel < 0:
        return False
    if rel % frame_skip == 0:
        return True
    return rel >= k_sw and (rel - k_sw) % frame_skip == 0


def box_depth_fraction(depth: np.ndarray, box: Any) -> float:
    """Fraction of non-zero depth pixels of the part of ``box`` inside the frame.

    Args:
        depth: HxW uint16 depth in mm.
        box: a :class:`~rt_sfamnet.face.CropBox` (x0, y0, size) in frame pixels.
    """
    h, w = depth.shape
    x0, y0 = int(round(box.x0)), int(round(box.y0))
    x1, y1 = x0 + int(round(box.size)), y0 + int(round(box.size))
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return 0.0
    patch = depth[y0:y1, x0:x1]
    return float(np.count_nonzero(patch)) / float(patch.size)


class Engine:
    """The real-time engine (see the module docstring for threads, queues and policies).

    Args:
        source: any :class:`~rt_sfamnet.sources.Source`, not yet opened (e.g. from
            :func:`~rt_sfamnet.sources.make_source`): :meth:`start` opens it and :meth:`stop`
            closes it.
        config: an :class:`EngineConfig` (None: defaults).
        predictor: a :class:`rt_sfamnet.predictor.Predictor`; None loads ``config.weights`` or
            the default weights.

    Example::

        engine = Engine(open_source("sim:duration=10"), EngineConfig())
        engine.start()
        while True:
            update = engine.poll()
            ...
            if update.finished or update.error:
                break
            time.sleep(0.05)
        engine.stop()
    """

    def __init__(
        self,
        source: Source,
        config: EngineConfig | None = None,
        predictor: Any | None = None,
    ) -> None:
        self.source = source
        self.config = config or EngineConfig()
        self.backend = _resolve_backend(self.config.device)
        if predictor is None:
            predictor = self._load_predictor()
        self.predictor = predictor
        self.class_names: tuple[str, ...] = tuple(predictor.class_names)
        meta = getattr(predictor, "meta", None)
        self.frame_skip = int(self.config.frame_skip or (1 if self.backend == "cuda" else 2))
        self.spotting_config = dataclasses.replace(
            self.config.spotting, frame_skip=self.frame_skip, fps=self.fps
        )
        if self.config.features is not None:
            self.feature_config = self.config.features
        else:
            kw: dict[str, Any] = {}
            if meta is not None:
                kw["mode"] = getattr(meta, "flow_mode", "hybrid")
                kw["input_scale"] = float(getattr(meta, "input_scale", 1.0))
            kw["backend"] = "cupy" if self.backend == "cuda" else "numpy"
            self.feature_config = FeatureConfig(**kw)
        # weights trained on clamped maps record the clamp; inference applies the same one
        clip = ((getattr(meta, "provenance", None) or {}).get("input_clip")
                if self.config.input_clip is None else self.config.input_clip)
        self.input_clip: float | None = float(clip) if clip else None
        self.k_sw: int | None = self.config.k_sw
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._running = threading.Event()  # set = not paused
        self._running.set()
        self._ctl = threading.Lock()
        self._seek_to: int | None = None
        self._restart = False
        self._speed = float(self.config.speed)
        self._pace_reset = True
        self._started = False
        self._stopped = False
        self._tracker: FaceTracker | None = None
        # queues
        q = self.config.queue_size
        self._q_frames = BoundedQueue(q, "frames")
        self._q_observed = BoundedQueue(q, "observed")
        self._q_samples = BoundedQueue(max(q, self.config.max_batch), "samples")
        # outputs (guarded by _out)
        self._out = threading.Lock()
        self._results: deque[FrameResult] = deque()
        self._intervals: list[SpottedInterval] = []
        self._curves: dict[str, list[tuple[int, float]]] = {"micro": [], "macro": []}
        self._reset_flag = False
        self._error: BaseException | None = None
        self._finished = False
        self._latest_frame: RGBDFrame | None = None
        self._latest_obs: FaceObservation | None = None
        self._latest_obs_frame = -1
        # statistics
        self._st = threading.Lock()
        self._frames_in = 0
        self._frames_skipped = 0
        self._frames_observed = 0
        self._frames_analyzed = 0
        self._samples_scheduled = 0
        self._samples_no_face = 0
        self._samples_dropped = 0
        self._results_dropped = 0
        self._empty_depth = 0
        self._position = -1
        self._gaps: deque[tuple[int, int]] = deque(maxlen=64)
        self._input_rate = RateMeter()
        self._analysed_rate = RateMeter()
        self._latency = LatencyWindow()
        self._stage = {name: LatencyWindow() for name in ("capture", "face", "flow", "inference")}
        self._batches: deque[int] = deque(maxlen=512)

    # ------------------------------------------------------------------ setup

    def _load_predictor(self) -> Any:
        from rt_sfamnet.predictor import Predictor

        return Predictor.from_file(
            self.config.weights,
            emotions=self.config.emotions,
            device="cuda" if self.backend == "cuda" else "cpu",
            # one torch thread: the network is small and the other core runs the flow
            threads=1 if self.backend == "cpu" else None,
        )

    @property
    def ground_truth(self) -> list | None:
        """The source's true intervals (simulator, simulated recordings), or None."""
        try:
            return self.source.ground_truth
        except Exception:
            return None

    @property
    def fps(self) -> float:
        return float(self.source.fps or 30.0)

    @property
    def live(self) -> bool:
        return bool(getattr(self.source, "live", False))

    @property
    def drop_frames(self) -> bool:
        """True when the capture queue drops the oldest frame instead of waiting."""
        return self.live or self.config.realtime

    # ------------------------------------------------------------------ control

    def start(self) -> Engine:
        """Open the source (if needed), build the face tracker and start the four threads."""
        if self._started:
            raise RtSfamnetError("this Engine was already started; build a new one")
        self._started = True
        self.source.open()
        try:
            fps = self.fps  # known once the source is open (recordings)
            self.spotting_config = dataclasses.replace(self.spotting_config, fps=fps)
            if self.k_sw is None:
                self.k_sw = max(1, int(round(0.2 * fps)))
            self._tracker = FaceTracker(self.config.face)
            # first calls pay one-off costs (JIT compilation or cache loading, kernel set-up,
            # allocator warm-up): pay them before the first frame is timed
            self._warm_up()
        except BaseException:
            try:
                if self._tracker is not None:
                    self._tracker.close()
                    self._tracker = None
            finally:
                self.source.close()
            raise
        targets = (
            ("capture", self._capture_loop),
            ("face", self._face_loop),
            ("flow", self._flow_loop),
            ("inference", self._inference_loop),
        )
        for name, fn in targets:
            t = threading.Thread(target=self._guard, args=(name, fn), name=f"rt-sfamnet-{name}",
                                 daemon=True)
            self._threads.append(t)
        for t in self._threads:
            t.start()
        return self

    def _warm_up(self) -> None:
        """Run the flow stage and the network once on a synthetic textured pair."""
        from rt_sfamnet.features import Crop

        size = self.feature_config.crop_size
        rng = np.random.default_rng(0)
        tex = rng.uniform(0, 255, (size // 4 + 1, size // 4 + 1, 3))
        tex = np.kron(tex, np.ones((4, 4, 1)))[:size, :size]
        color0 = tex.astype(np.uint8)
        color1 = np.roll(color0, 1, axis=1)
        depth = np.full((size, size), 600, np.uint16)
        f = size * 1.5
        c0 = Crop.from_arrays(color0, depth, f, f, (size - 1) / 2, (size - 1) / 2,
                              (size / 2, size / 2))
        c1 = Crop.from_arrays(color1, depth, f, f, (size - 1) / 2, (size - 1) / 2,
                              (size / 2, size / 2))
        maps = self._to_host(pair_maps_batch([self._device_put(c0)], [self._device_put(c1)],
                                             self.feature_config))
        self.predictor.predict(np.asarray(maps, np.float32))

    def stop(self, raise_error: bool = False, timeout: float = 10.0) -> None:
        """Stop every thread, join them, close the face tracker and the source.

        Safe to call more than once and after a failure. With ``raise_error`` the worker's
        error (if any) is re-raised after everything is closed.
        """
        self._stop.set()
        self._running.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in self._threads):
            # a source blocked inside next(): closing it unblocks the capture thread
            self._close_source()
            for t in self._threads:
                t.join(max(1.0, deadline - time.monotonic()))
        self._close_source()
        if self._tracker is not None:
            try:
                self._tracker.close()
            finally:
                self._tracker = None
        self._stopped = True
        if raise_error and self._error is not None:
            raise self._error

    def _close_source(self) -> None:
        try:
            self.source.close()
        except Exception as exc:  # closing must not hide the original error
            if self._error is None:
                self._error = exc

    def pause(self) -> None:
        """Stop reading frames (what is already queued is still analysed).

        A :meth:`seek` while paused reads the frame at the new position (so a display can
        show it) and stays paused.
        """
        self._running.clear()

    def resume(self) -> None:
        """Continue reading frames after :meth:`pause`.

        A live source kept running while paused, so the schedule restarts at the next frame
        (like a seek: the ring buffer and the spotter are reset) instead of reporting every
        sample of the pause as dropped.
        """
        with self._ctl:
            self._pace_reset = True
            if self.live and not self._running.is_set():
                self._restart = True
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def seek(self, frame: int) -> None:
        """Continue at frame ``frame`` of a seekable source; resets the ring and the spotter."""
        if not getattr(self.source, "seekable", False):
            raise SourceError(f"{self.source.name} cannot seek (it is not a seekable recording)")
        if frame < 0:
            raise SourceError(f"seek: expected a frame index >= 0, found {frame}")
        count = self.source.frame_count
        if count is not None and frame >= count:
            raise SourceError(f"seek: frame {frame} is past the end ({count} frames)")
        with self._ctl:
            self._seek_to = int(frame)
            self._pace_reset = True

    def set_speed(self, speed: float) -> None:
        """Playback speed factor for real-time paced file sources (> 0)."""
        if not speed > 0:
            raise ConfigError(f"speed must be > 0, found {speed}")
        with self._ctl:
            self._speed = float(speed)
            self._pace_reset = True

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    # ------------------------------------------------------------------ output

    def poll(self) -> EngineUpdate:
        """Everything new since the previous call (thread-safe, never blocks for long)."""
        with self._out:
            results = list(self._results)
            self._results.clear()
            intervals = self._intervals
            self._intervals = []
            curves = self._curves
            self._curves = {"micro": [], "macro": []}
            reset = self._reset_flag
            self._reset_flag = False
            error = self._error
            finished = self._finished
            obs, obs_frame = self._latest_obs, self._latest_obs_frame
        if error is not None and not self.running:
            finished = True
        return EngineUpdate(
            frame=self._latest_frame,
            observation=obs,
            results=results,
            intervals=intervals,
            stats=self.stats(),
            error=error,
            finished=finished,
            curves=curves,
            observation_frame=obs_frame,
            reset=reset,
        )

    def latest(self) -> tuple[RGBDFrame | None, FaceObservation | None]:
        """The newest captured frame and the newest face observation."""
        return self._latest_frame, self._latest_obs

    def results(self) -> list[FrameResult]:
        """New results since the previous call (a shortcut for ``poll().results``)."""
        with self._out:
            out = list(self._results)
            self._results.clear()
        return out

    @property
    def error(self) -> BaseException | None:
        return self._error

    def stats(self) -> EngineStats:
        """A snapshot of the live statistics."""
        p50, p95 = self._latency.percentiles()
        source_dropped = int(getattr(self.source, "dropped", 0) or 0)
        with self._st:
            gaps = list(self._gaps)
            return EngineStats(
                input_fps=self._input_rate.rate(),
                analyzed_per_s=self._analysed_rate.rate(),
                latency_ms_p50=p50,
                latency_ms_p95=p95,
                stage_ms={k: v.percentiles() for k, v in self._stage.items()},
                queue_depths={
                    "frames": len(self._q_frames),
                    "observed": len(self._q_observed),
                    "samples": len(self._q_samples),
                    "results": len(self._results),
                },
                dropped={
                    "frames": self._q_frames.dropped,
                    "source": source_dropped,
                    "samples": self._samples_dropped,
                    "results": self._results_dropped,
                },
                frames_in=self._frames_in,
                frames_analyzed=self._frames_analyzed,
                backend=self.backend,
                source=str(getattr(self.source, "name", type(self.source).__name__)),
                frames_skipped=self._frames_skipped,
                frames_observed=self._frames_observed,
                samples_scheduled=self._samples_scheduled,
                samples_no_face=self._samples_no_face,
                frames_empty_depth=self._empty_depth,
                gaps=gaps,
                frame_skip=self.frame_skip,
                k_sw=int(self.k_sw or 0),
                batch_size_mean=float(np.mean(self._batches)) if self._batches else 0.0,
                running=self.running,
                paused=self.paused,
                position=self._position,
            )

    # ------------------------------------------------------------------ workers

    def _guard(self, name: str, fn: Any) -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the caller
            with self._out:
                if self._error is None:
                    exc.add_note(f"(in the engine's {name} thread)")
                    self._error = exc
            self._stop.set()
            self._running.set()

    def _pace(self, index: int, anchor: list[float]) -> None:
        """Sleep until frame ``index`` is due (real-time pacing of file sources)."""
        with self._ctl:
            reset, speed = self._pace_reset, self._speed
            self._pace_reset = False
        now = time.perf_counter()
        if reset or not anchor:
            anchor[:] = [now, float(index)]
            return
        due = anchor[0] + (index - anchor[1]) / (self.fps * speed)
        if due - now < -0.5:  # far behind (slow source): re-anchor instead of bursting
            anchor[:] = [now, float(index)]
            return
        while not self._stop.is_set():
            wait = due - time.perf_counter()
            if wait <= 0:
                break
            time.sleep(min(wait, 0.02))

    def _capture_loop(self) -> None:
        fs, k_sw = self.frame_skip, int(self.k_sw or 1)
        it = iter(self.source)
        base: int | None = None
        seek_target: int | None = None
        anchor: list[float] = []
        pace = self.config.realtime and not self.live
        while not self._stop.is_set():
            if not self._running.is_set():
                with self._ctl:
                    seeking = self._seek_to is not None
                if not seeking:  # a seek while paused reads one frame (for display)
                    self._running.wait(0.05)
                    continue
            with self._ctl:
                target, self._seek_to = self._seek_to, None
                restart, self._restart = self._restart, False
            if restart and target is None:
                discarded = self._q_frames.clear()
                with self._st:
                    self._frames_skipped += discarded
                base = None
            if target is not None:
                self.source.seek(target)
                discarded = self._q_frames.clear()  # frames of the old position: not needed
                with self._st:
                    self._frames_skipped += discarded
                base, seek_target = None, target
            t0 = time.perf_counter()
            try:
                frame = next(it)
            except StopIteration:
                self._q_frames.put_wait(_End(), self._stop)
                return
            except Exception as exc:  # the source failed mid-stream: flush, then report
                self._q_frames.put_wait(_End(error=exc), self._stop)
                return
            capture_ms = (time.perf_counter() - t0) * 1e3
            if seek_target is not None:
                # frames the source had prepared before the seek belong to the old position
                if not (seek_target <= frame.index < seek_target + max(2, int(self.fps))):
                    continue
                seek_target = None
            if pace:
                self._pace(frame.index, anchor)
            arrival = time.perf_counter()
            self._stage["capture"].add(capture_ms)
            self._latest_frame = frame
            self._input_rate.tick(now=arrival)
            with self._st:
                self._frames_in += 1
                self._position = frame.index
            if base is None:
                base = -(-frame.index // fs) * fs
                self._q_frames.put_wait(_Reset(base), self._stop)
            if not needed_frame(frame.index, base, fs, k_sw):
                with self._st:
                    self._frames_skipped += 1
                continue
            item = _Captured(frame, arrival)
            if self.drop_frames:
                self._q_frames.put_drop_oldest(item)
            elif not self._q_frames.put_wait(item, self._stop):
                return

    def _face_loop(self) -> None:
        tracker = self._tracker
        assert tracker is not None
        min_depth = self.config.min_depth_fraction
        while True:
            batch = self._q_frames.get_many(1, 0.05)
            if not batch:
                if self._stop.is_set():
                    return
                continue
            item = batch[0]
            if isinstance(item, Control):
                if isinstance(item, _Reset):
                    tracker.reset()
                if not self._q_observed.put_wait(item, self._stop):
                    return
                if isinstance(item, _End):
                    return
                continue
            t0 = time.perf_counter()
            obs = tracker.update(item.frame.color)
            depth_ok = True
            if obs is not None:
                depth_ok = box_depth_fraction(item.frame.depth, obs.box) >= min_depth
                if not depth_ok:
                    with self._st:
                        self._empty_depth += 1
            self._stage["face"].add((time.perf_counter() - t0) * 1e3)
            with self._st:
                self._frames_observed += 1
            with self._out:
                self._latest_obs, self._latest_obs_frame = obs, item.frame.index
            out = _Observed(item.frame, obs, item.arrival, depth_ok)
            if not self._q_observed.put_wait(out, self._stop):
                return

    def _track_gap(self, index: int, found: bool, state: dict) -> None:
        with self._st:
            if not found and state.get("open") is None:
                state["open"] = index
                self._gaps.append((index, -1))
            elif found and state.get("open") is not None:
                start = state.pop("open")
                last = state.get("last", index)
                for i in range(len(self._gaps) - 1, -1, -1):
                    if self._gaps[i] == (start, -1):
                        self._gaps[i] = (start, last)
                        break
            state["last"] = index

    def _flow_loop(self) -> None:
        fs, k_sw = self.frame_skip, int(self.k_sw or 1)
        cfg = self.feature_config
        ring: OrderedDict[int, _RingEntry] = OrderedDict()
        base = 0
        j_next = 0
        gap_state: dict = {}
        to_device = self._device_put
        uses_depth = cfg.mode in ("scene", "hybrid")
        clip = self.input_clip
        while True:
            batch = self._q_observed.get_many(self.config.max_batch, 0.05)
            if not batch:
                if self._stop.is_set():
                    return
                continue
            pending: list[tuple[_Sample, Any, Any]] = []  # (sample, crop0, crop1)
            control: Control | None = None
            for item in batch:
                if isinstance(item, Control):
                    control = item
                    break
                frame, obs = item.frame, item.obs
                t = frame.index
                self._track_gap(t, obs is not None, gap_state)
                rel = t - base
                crop = None
                if obs is not None and rel >= 0 and rel % fs == 0:
                    crop = to_device(crop_frame(frame, obs, cfg.crop_size, cfg.depth_resize))
                ring[t] = _RingEntry(t, frame.timestamp, obs, crop, item.depth_ok)
                while ring and next(iter(ring)) < t - k_sw:
                    ring.popitem(last=False)
                # every sample whose window ends at or before t is due now
                while True:
                    s = base + j_next * fs
                    e = s + k_sw
                    if e > t:
                        break
                    start = ring.get(s)
                    ts = start.timestamp if start is not None else float("nan")
                    if e < t or start is None:
                        smp = _Sample(j_next, s, ts, item.arrival, None, False, True, "dropped")
                        pending.append((smp, None, None))
                    elif start.obs is None or obs is None:
                        smp = _Sample(j_next, s, ts, item.arrival, None, False, True, "no_face")
                        pending.append((smp, None, None))
                    else:
                        c0 = start.crop
                        c1 = to_device(crop_frame(frame, start.obs, cfg.crop_size, cfg.depth_resize))
                        ok = start.depth_ok and item.depth_ok
                        smp = _Sample(j_next, s, ts, item.arrival, None, True, ok, "")
                        pending.append((smp, c0, c1))
                    j_next += 1
            pairs = [(i, c0, c1) for i, (_, c0, c1) in enumerate(pending) if c0 is not None]
            if pairs:
                t0 = time.perf_counter()
                maps = pair_maps_batch([p[1] for p in pairs], [p[2] for p in pairs], cfg)
                maps = self._to_host(maps)
                if maps.shape != (len(pairs), 3, 42, 42):
                    raise RuntimeError(
                        f"pair_maps_batch returned shape {maps.shape}, expected "
                        f"({len(pairs)}, 3, 42, 42)"
                    )
                per_pair = (time.perf_counter() - t0) * 1e3 / len(pairs)
                for k, (i, _, _) in enumerate(pairs):
                    m = np.array(maps[k], dtype=np.float32)  # an owned copy per sample
                    if not pending[i][0].depth_ok and uses_depth:
                        m[2] = 0.0  # no depth in a face box: the w stream carries no motion
                    if clip is not None:
                        np.clip(m, -clip, clip, out=m)
                    pending[i][0].maps = m
                    self._stage["flow"].add(per_pair)
            for smp, _, _ in pending:
                if not self._q_samples.put_wait(smp, self._stop):
                    return
            if control is not None:
                if isinstance(control, _Reset):
                    ring.clear()
                    base, j_next = control.base, 0
                    gap_state.clear()
                if not self._q_samples.put_wait(control, self._stop):
                    return
                if isinstance(control, _End):
                    return

    def _device_put(self, crop: Any) -> Any:
        """On CUDA, move a crop's arrays to the GPU once (the ring keeps them there)."""
        if self.backend != "cuda" or crop is None:
            return crop
        import cupy

        changes = {}
        for f in dataclasses.fields(crop):
            v = getattr(crop, f.name)
            if isinstance(v, np.ndarray):
                changes[f.name] = cupy.asarray(v)
        return dataclasses.replace(crop, **changes)

    def _to_host(self, arr: Any) -> np.ndarray:
        if isinstance(arr, np.ndarray):
            return arr
        get = getattr(arr, "get", None)
        return np.asarray(get() if get is not None else arr)

    def _inference_loop(self) -> None:
        spotter = StreamingSpotter(self.spotting_config)
        base = 0
        done = {"micro": 0, "macro": 0}
        names = self.class_names
        fs = self.frame_skip
        neutral_index = len(names) - 1
        resets = 0
        while True:
            batch = self._q_samples.get_many(self.config.max_batch, 0.05)
            if not batch:
                if self._stop.is_set():
                    # stopped early (Ctrl-C, --seconds, the GUI): end the stream here, so
                    # intervals still waiting for later samples are published, exactly as the
                    # offline post-processing gives them for the scores seen so far.
                    tail = [self._to_frames(iv, base) for iv in spotter.finish()]
                    curves = self._new_curve_values(spotter, done, base, fs)
                    if tail or curves["micro"] or curves["macro"]:
                        self._publish([], tail, curves, [], time.perf_counter())
                    return
                continue
            control = batch[-1] if isinstance(batch[-1], Control) else None
            samples: list[_Sample] = [b for b in batch if isinstance(b, _Sample)]
            with_maps = [s for s in samples if s.maps is not None]
            scores = probs = None
            if with_maps:
                t0 = time.perf_counter()
                scores, probs = self.predictor.predict(np.stack([s.maps for s in with_maps]))
                scores = np.asarray(scores, dtype=np.float32).reshape(-1)
                probs = np.asarray(probs, dtype=np.float32)
                if scores.shape[0] != len(with_maps) or probs.shape != (len(with_maps), len(names)):
                    raise RuntimeError(
                        f"predictor returned scores {scores.shape} and probs {probs.shape} for "
                        f"{len(with_maps)} samples of {len(names)} classes"
                    )
                self._stage["inference"].add((time.perf_counter() - t0) * 1e3)
                self._batches.append(len(with_maps))
            results: list[FrameResult] = []
            new_intervals: list[SpottedInterval] = []
            k = 0
            for smp in samples:
                if smp.maps is not None:
                    assert scores is not None and probs is not None
                    score = float(scores[k])
                    p = probs[k]
                    label = names[int(np.argmax(p))]
                    k += 1
                    new = spotter.push(score, label)
                else:
                    score, p, label = None, None, None
                    new = spotter.push(0.0, names[neutral_index])
                new_intervals.extend(self._to_frames(iv, base) for iv in new)
                results.append(
                    FrameResult(
                        frame=smp.frame,
                        timestamp=smp.timestamp,
                        face_found=smp.face_found,
                        score=score,
                        micro_smoothed=None,
                        macro_smoothed=None,
                        probs=p,
                        label=label,
                        latency_ms=0.0,
                        maps=smp.maps if self.config.keep_maps else None,
                        sample=smp.sample,
                        depth_ok=smp.depth_ok,
                        reason=smp.reason,
                    )
                )
            if isinstance(control, _End):
                new_intervals.extend(self._to_frames(iv, base) for iv in spotter.finish())
            curves = self._new_curve_values(spotter, done, base, fs)
            now = time.perf_counter()
            for smp, res in zip(samples, results, strict=True):
                res.latency_ms = (now - smp.arrival) * 1e3
            self._publish(results, new_intervals, curves, samples, now)
            if isinstance(control, _Reset):
                spotter = StreamingSpotter(self.spotting_config)
                base = control.base
                done = {"micro": 0, "macro": 0}
                resets += 1
                with self._out:
                    self._results.clear()
                    self._intervals = []
                    self._curves = {"micro": [], "macro": []}
                    self._reset_flag = resets > 1  # the first reset is the start itself
            elif isinstance(control, _End):
                with self._out:
                    if control.error is not None and self._error is None:
                        self._error = control.error
                    self._finished = True
                return

    @staticmethod
    def _new_curve_values(
        spotter: StreamingSpotter, done: dict[str, int], base: int, fs: int
    ) -> dict[str, list[tuple[int, float]]]:
        out: dict[str, list[tuple[int, float]]] = {"micro": [], "macro": []}
        for name, curve in (("micro", spotter.micro_curve), ("macro", spotter.macro_curve)):
            n = len(curve)
            for i in range(done[name], n):
                out[name].append((base + i * fs, float(curve[i])))
            done[name] = n
        return out

    def _to_frames(self, iv: SpottedInterval, base: int) -> SpottedInterval:
        """Shift a spotted interval (frames counted from the first sample) to stream frames."""
        if base == 0:
            return iv
        return dataclasses.replace(
            iv,
            onset=iv.onset + base,
            apex=None if iv.apex is None else iv.apex + base,
            offset=iv.offset + base,
        )

    def _publish(
        self,
        results: list[FrameResult],
        intervals: list[SpottedInterval],
        curves: dict[str, list[tuple[int, float]]],
        samples: list[_Sample],
        now: float,
    ) -> None:
        scored = [r for r in results if r.score is not None]
        for r in scored:
            self._latency.add(r.latency_ms)
        if scored:
            self._analysed_rate.tick(len(scored), now=now)
        with self._st:
            self._frames_analyzed += len(scored)
            self._samples_scheduled += len(results)
            self._samples_no_face += sum(1 for s in samples if s.reason == "no_face")
            self._samples_dropped += sum(1 for s in samples if s.reason == "dropped")
        with self._out:
            self._results.extend(results)
            overflow = len(self._results) - self.config.results_buffer
            for _ in range(max(0, overflow)):
                self._results.popleft()
            if overflow > 0:
                with self._st:
                    self._results_dropped += overflow
            self._intervals.extend(intervals)
            for name in ("micro", "macro"):
                self._curves[name].extend(curves[name])
                extra = len(self._curves[name]) - 8 * self.config.results_buffer
                if extra > 0:
                    del self._curves[name][:extra]
