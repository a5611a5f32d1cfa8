"""The real-time engine: threads and queues around the analysis stages.

Threads and queues::

    capture ──frames (bounded)──► face ──observed (bounded)──► flow ──samples (bounded)──►
    inference ──results (bounded, for poll())──► caller (GUI timer, analyze, benchmarks)

The work of each thread is a phase of one synchronous :class:`~rt_sfamnet.pipeline.step.Pipeline`
(tested without threads, and shared with offline extraction and LOSO evaluation):
**capture** reads the source, paces file playback and admits frames from their metadata
(:meth:`Pipeline.admit`: holes, frames left from before a seek, the start of a schedule,
which frames some window needs); **face** runs :meth:`Pipeline.observe`; **flow** runs
:meth:`Pipeline.schedule` and a batched :meth:`Pipeline.build` (a window with a dropped or
faceless frame is still emitted, as a gap); **inference** runs :meth:`Pipeline.score` on a
batch (network, gap rule, argmax, spotter, :class:`FrameResult`), then publishes results,
newly final curve values and intervals. A new schedule (start, seek, live resume) travels
down the queues as a control item, so each thread resets its phase in order with the
frames. This module keeps only the threads, the queues, control (pause, seek, speed, stop)
and statistics; settings are resolved by
:func:`rt_sfamnet.pipeline.settings.resolve_settings`.

Drops: the capture queue drops, oldest first and counted in ``dropped["frames"]``, only for
live sources and real-time paced files; files read as fast as possible wait. A source may
drop too (the camera's own queue: ``dropped["source"]``), and the results box drops what
nobody polls (``dropped["results"]``).
Faults: a source that fails mid-stream ends the stream after everything read is analysed
and published, then :attr:`EngineUpdate.error` carries its error; an exception in any worker
stops the engine the same way. :meth:`Engine.stop` always joins the threads and closes the
face tracker and the source. ``docs/realtime.md`` has the policies and the numbers.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from rt_sfamnet.errors import ConfigError, RtSfamnetError, SourceError
from rt_sfamnet.face import FaceObservation, FaceTracker
from rt_sfamnet.features import FeatureConfig
from rt_sfamnet.frames import RGBDFrame
from rt_sfamnet.pacing import Pacer
from rt_sfamnet.pipeline.outbox import Outbox
from rt_sfamnet.pipeline.settings import Settings, resolve_device, resolve_settings
from rt_sfamnet.pipeline.stages import Observed, Sample
from rt_sfamnet.pipeline.stats import EngineCounters, EngineStats, LatencyWindow, RateMeter
from rt_sfamnet.pipeline.step import Pipeline
from rt_sfamnet.pipeline.types import EngineConfig, EngineUpdate, FrameResult
from rt_sfamnet.queues import BoundedQueue, Control
from rt_sfamnet.sources.base import Source
from rt_sfamnet.spotting import SpottedInterval, SpottingConfig

__all__ = ["Engine", "EngineConfig", "EngineUpdate", "FrameResult", "EngineStats"]


# ---------------------------------------------------------------------------------------
# items travelling between the threads


@dataclass
class _Reset(Control):
    base: int  # first scheduled frame of a new schedule (a multiple of frame_skip)


@dataclass
class _End(Control):
    error: BaseException | None = None


@dataclass
class _Captured:
    frame: RGBDFrame
    arrival: float


class Engine:
    """The real-time engine (see the module docstring for threads, queues and policies).

    Args:
        source: any :class:`~rt_sfamnet.sources.Source`, not yet opened (e.g. from
            :func:`~rt_sfamnet.sources.make_source`): :meth:`start` opens it and :meth:`stop`
            closes it.
        config: an :class:`EngineConfig` (None: defaults). Its settings are resolved against
            the weights once (:func:`~rt_sfamnet.pipeline.settings.resolve_settings`): an
            Engine built with default arguments behaves exactly like ``rt-sfamnet analyze``.
        predictor: a :class:`rt_sfamnet.predictor.Predictor`; None loads ``config.weights``
            or the default weights.

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

    def __init__(self, source: Source, config: EngineConfig | None = None,
                 predictor: Any | None = None) -> None:
        self.source = source
        self.config = config or EngineConfig()
        self.backend = resolve_device(self.config.device)
        self.predictor = predictor if predictor is not None else self._load_predictor()
        self.class_names: tuple[str, ...] = tuple(self.predictor.class_names)
        # resolved now from the source's nominal rate, and once more (same function, same
        # inputs but the true rate) when start() has opened the source
        self.settings: Settings = self._resolve()
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._running = threading.Event()  # set = not paused
        self._running.set()
        self._ctl = threading.Lock()  # guards _seek_to, _restart
        self._seek_to: int | None = None
        self._restart = False
        self._pacer = Pacer(self.fps, self.config.speed, stop=self._stop)
        self._started = self._stopped = False
        self._tracker: FaceTracker | None = None
        self._pipe: Pipeline | None = None
        q = self.config.queue_size
        self._q_frames = BoundedQueue(q, "frames")
        self._q_observed = BoundedQueue(q, "observed")
        self._q_samples = BoundedQueue(max(q, self.config.max_batch), "samples")
        self._o = Outbox(self.config.results_buffer)
        self._latest_frame: RGBDFrame | None = None
        self._st = threading.Lock()
        self._c = EngineCounters()
        self._input_rate = RateMeter()
        self._analysed_rate = RateMeter()
        self._latency = LatencyWindow()
        self._stage = {name: LatencyWindow() for name in ("capture", "face", "flow", "inference")}

    # ------------------------------------------------------------------ setup

    def _load_predictor(self) -> Any:
        from rt_sfamnet.pipeline.inputs import choose_weights
        from rt_sfamnet.predictor import Predictor

        return Predictor.from_file(
            choose_weights(self.config, self.source),  # None given: by the source's depth
            emotions=self.config.emotions,
            device="cuda" if self.backend == "cuda" else "cpu",
            # one torch thread: the network is small and the other core runs the flow
            threads=1 if self.backend == "cpu" else None,
        )

    def _resolve(self) -> Settings:
        meta = getattr(self.predictor, "meta", None)
        return resolve_settings(self.config, meta, self.backend, self.source.fps,
                                has_depth=getattr(self.source, "has_depth", True))

    # the resolved settings, read-only
    @property
    def frame_skip(self) -> int:
        return self.settings.frame_skip

    @property
    def k_sw(self) -> int:
        return self.settings.k_sw

    @property
    def feature_config(self) -> FeatureConfig:
        return self.settings.features

    @property
    def spotting_config(self) -> SpottingConfig:
        return self.settings.spotting

    @property
    def input_clip(self) -> float | None:
        return self.settings.input_clip

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
        return bool(self.source.live)

    @property
    def drop_frames(self) -> bool:
        """True when the capture queue drops the oldest frame instead of waiting."""
        return self.live or self.config.realtime

    # ------------------------------------------------------------------ control

    def start(self) -> Engine:
        """Open the source, resolve the settings, build the stages and start the threads."""
        if self._started:
            raise RtSfamnetError("this Engine was already started; build a new one")
        self._started = True
        self.source.open()
        try:
            self.settings = self._resolve()  # the true frame rate is known now
            self._pacer = Pacer(self.fps, self._pacer.speed, stop=self._stop)
            self._tracker = FaceTracker(self.config.face)
            self._pipe = Pipeline.from_settings(
                self.settings, self._tracker, self.predictor,
                min_depth_fraction=self.config.min_depth_fraction,
                keep_maps=self.config.keep_maps)
            self._pipe.builder.warm_up(self.predictor)  # one-off costs before the first frame
        except BaseException:
            try:
                if self._tracker is not None:
                    self._tracker.close()
                    self._tracker = None
            finally:
                self.source.close()
            raise
        for name, fn in (("capture", self._capture_loop), ("face", self._face_loop),
                         ("flow", self._flow_loop), ("inference", self._inference_loop)):
            self._threads.append(threading.Thread(target=self._guard, args=(name, fn),
                                                  name=f"rt-sfamnet-{name}", daemon=True))
        for t in self._threads:
            t.start()
        return self

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
        if raise_error and self._o.error is not None:
            raise self._o.error

    def _close_source(self) -> None:
        try:
            self.source.close()
        except Exception as exc:  # closing must not hide the original error
            self._o.set_error(exc)

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
            if self.live and not self._running.is_set():
                self._restart = True
        self._pacer.reset()
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def seek(self, frame: int) -> None:
        """Continue at frame ``frame`` of a seekable source; resets the ring and the spotter."""
        if not self.source.seekable:
            raise SourceError(f"{self.source.name} cannot seek (it is not a seekable recording)")
        if frame < 0:
            raise SourceError(f"seek: expected a frame index >= 0, found {frame}")
        count = self.source.frame_count
        if count is not None and frame >= count:
            raise SourceError(f"seek: frame {frame} is past the end ({count} frames)")
        with self._ctl:
            self._seek_to = int(frame)
        self._pacer.reset()

    def set_speed(self, speed: float) -> None:
        """Playback speed factor for real-time paced file sources (> 0)."""
        if not speed > 0:
            raise ConfigError(f"speed must be > 0, found {speed}")
        self._pacer.set_speed(float(speed))

    @property
    def speed(self) -> float:
        return self._pacer.speed

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    # ------------------------------------------------------------------ output

    def poll(self) -> EngineUpdate:
        """Everything new since the previous call (thread-safe, never blocks for long)."""
        new = self._o.take()
        if new["error"] is not None and not self.running:
            new["finished"] = True
        return EngineUpdate(frame=self._latest_frame, stats=self.stats(), **new)

    def latest(self) -> tuple[RGBDFrame | None, FaceObservation | None]:
        """The newest captured frame and the newest face observation."""
        return self._latest_frame, self._o.obs

    def results(self) -> list[FrameResult]:
        """New results since the previous call (a shortcut for ``poll().results``)."""
        return self._o.take_results()

    @property
    def error(self) -> BaseException | None:
        return self._o.error

    def stats(self) -> EngineStats:
        """A snapshot of the live statistics."""
        p50, p95 = self._latency.percentiles()
        source_dropped = int(self.source.dropped)
        with self._st:
            c = self._c
            return EngineStats(
                input_fps=self._input_rate.rate(),
                analyzed_per_s=self._analysed_rate.rate(),
                latency_ms_p50=p50,
                latency_ms_p95=p95,
                stage_ms={k: v.percentiles() for k, v in self._stage.items()},
                queue_depths={"frames": len(self._q_frames), "observed": len(self._q_observed),
                              "samples": len(self._q_samples), "results": len(self._o)},
                dropped={"frames": self._q_frames.dropped, "source": source_dropped,
                         "samples": c.samples_dropped, "results": c.results_dropped},
                frames_in=c.frames_in,
                frames_analyzed=c.frames_analyzed,
                backend=self.backend,
                source=str(getattr(self.source, "name", type(self.source).__name__)),
                frames_skipped=c.frames_skipped,
                frames_observed=c.frames_observed,
                samples_scheduled=c.samples_scheduled,
                samples_no_face=c.samples_no_face,
                frames_empty_depth=c.empty_depth,
                gaps=list(c.gaps),
                frame_skip=self.frame_skip,
                k_sw=self.k_sw,
                batch_size_mean=float(np.mean(c.batches)) if c.batches else 0.0,
                running=self.running,
                paused=self.paused,
                position=c.position,
                first_timestamp=c.first_timestamp,
                last_timestamp=c.last_timestamp,
            )

    # ------------------------------------------------------------------ workers

    def _guard(self, name: str, fn: Any) -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the caller
            if self._o.set_error(exc):
                exc.add_note(f"(in the engine's {name} thread)")
            self._stop.set()
            self._running.set()

    def _skip(self, n: int) -> None:
        with self._st:
            self._c.frames_skipped += n

    def _next_control(self) -> tuple[int | None, bool]:
        """A pending seek target and restart flag (each consumed once)."""
        with self._ctl:
            target, self._seek_to = self._seek_to, None
            restart, self._restart = self._restart, False
        return target, restart

    def _capture_loop(self) -> None:
        pipe = self._pipe
        it = iter(self.source)
        # files paced on request; a source standing for a camera always (the simulator)
        pace = (self.config.realtime and not self.live) or self.source.realtime
        while not self._stop.is_set():
            if not self._running.is_set():
                with self._ctl:
                    seeking = self._seek_to is not None
                if not seeking:  # a seek while paused reads one frame (for display)
                    self._running.wait(0.05)
                    continue
            target, restart = self._next_control()
            if target is not None or restart:
                if target is not None:
                    self.source.seek(target)
                self._skip(self._q_frames.clear())  # frames of the old position
                pipe.restart(target)
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
            adm = pipe.admit(frame)  # metadata only: skipped frames are never decoded
            if adm.stale:
                continue  # prepared by the source before the seek
            if pace:  # by the frame's own time: a variable-rate video plays at its true pace
                self._pacer.wait_time(frame.timestamp)
            arrival = time.perf_counter()
            self._stage["capture"].add(capture_ms)
            self._latest_frame = frame
            self._input_rate.tick(now=arrival)
            with self._st:
                self._c.note_frame(frame.index, frame.timestamp)
            if adm.restart is not None:
                self._q_frames.put_wait(_Reset(adm.restart), self._stop)
            if not adm.needed:
                self._skip(1)
                continue
            item = _Captured(frame, arrival)
            if self.drop_frames:
                self._q_frames.put_drop_oldest(item)
            elif not self._q_frames.put_wait(item, self._stop):
                return

    def _face_loop(self) -> None:
        while True:
            batch = self._q_frames.get_many(1, 0.05)
            if not batch:
                if self._stop.is_set():
                    return
                continue
            item = batch[0]
            if isinstance(item, Control):
                if isinstance(item, _Reset):
                    self._pipe.reset_face()
                if not self._q_observed.put_wait(item, self._stop) or isinstance(item, _End):
                    return
                continue
            t0 = time.perf_counter()
            observed = self._pipe.observe(item.frame, item.arrival)
            self._stage["face"].add((time.perf_counter() - t0) * 1e3)
            with self._st:
                self._c.frames_observed += 1
                if observed.obs is not None and not observed.depth_ok:
                    self._c.empty_depth += 1
            self._o.set_observation(observed.obs, item.frame.index)
            if not self._q_observed.put_wait(observed, self._stop):
                return

    def _flow_loop(self) -> None:
        pipe, gap_state = self._pipe, {}
        while True:
            batch = self._q_observed.get_many(self.config.max_batch, 0.05)
            if not batch:
                if self._stop.is_set():
                    return
                continue
            pending: list[Sample] = []
            control: Control | None = None
            for item in batch:
                if isinstance(item, Control):
                    control = item
                    break
                assert isinstance(item, Observed)
                with self._st:
                    self._c.track_gap(item.frame.index, item.obs is not None, gap_state)
                pending.extend(pipe.schedule(item))
            t0 = time.perf_counter()
            built = pipe.build(pending)
            if built:
                per_pair = (time.perf_counter() - t0) * 1e3 / len(built)
                for _ in built:
                    self._stage["flow"].add(per_pair)
            for smp in pending:
                if not self._q_samples.put_wait(smp, self._stop):
                    return
            if control is not None:
                if isinstance(control, _Reset):
                    pipe.reset_schedule(control.base)
                    gap_state.clear()
                if not self._q_samples.put_wait(control, self._stop) or isinstance(control, _End):
                    return

    def _inference_loop(self) -> None:
        pipe = self._pipe
        resets = 0
        while True:
            batch = self._q_samples.get_many(self.config.max_batch, 0.05)
            if not batch:
                if self._stop.is_set():
                    # stopped early (Ctrl-C, --seconds, the GUI): end the stream here, so
                    # intervals still waiting for later samples are published, exactly as the
                    # offline post-processing gives them for the scores seen so far.
                    tail = pipe.finish()
                    curves = pipe.new_curve_values()
                    if tail or curves["micro"] or curves["macro"]:
                        self._publish([], tail, curves, time.perf_counter())
                    return
                continue
            control = batch[-1] if isinstance(batch[-1], Control) else None
            samples = [b for b in batch if isinstance(b, Sample)]
            scored = pipe.score(samples)
            if scored.batch:
                self._stage["inference"].add(scored.network_ms)
                with self._st:
                    self._c.batches.append(scored.batch)
            results, intervals = scored.results, scored.intervals
            if isinstance(control, _End):
                intervals.extend(pipe.finish())
            now = time.perf_counter()
            for res, smp in zip(results, samples, strict=True):
                res.latency_ms = (now - smp.arrival) * 1e3
            self._publish(results, intervals, pipe.new_curve_values(), now)
            if isinstance(control, _Reset):
                pipe.reset_spotter(control.base)
                resets += 1
                self._o.restart(resets > 1)  # the first reset is the start itself
            elif isinstance(control, _End):
                self._o.finish(control.error)
                return

    def _publish(self, results: list[FrameResult], intervals: list[SpottedInterval],
                 curves: dict[str, list[tuple[int, float]]], now: float) -> None:
        scored = [r for r in results if r.score is not None]
        for r in scored:
            self._latency.add(r.latency_ms)
        if scored:
            self._analysed_rate.tick(len(scored), now=now)
        with self._st:
            self._c.frames_analyzed += len(scored)
            self._c.samples_scheduled += len(results)
            self._c.samples_no_face += sum(1 for r in results if r.reason == "no_face")
            self._c.samples_dropped += sum(1 for r in results if r.reason == "dropped")
        overflow = self._o.publish(results, intervals, curves)
        if overflow:
            with self._st:
                self._c.results_dropped += overflow
