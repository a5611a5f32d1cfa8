"""One synchronous pipeline step: face → schedule → flow → score → spot, no threads.

:class:`Pipeline` holds the stages of one analysis (:mod:`rt_sfamnet.pipeline.stages`) and
runs them on one frame at a time with :meth:`Pipeline.step`. It is the one code path from a
frame to a :class:`~rt_sfamnet.pipeline.FrameResult` and its intervals:

- the live :class:`~rt_sfamnet.pipeline.Engine` calls its phases from its threads (capture:
  :meth:`~Pipeline.admit`; face: :meth:`~Pipeline.observe`; flow: :meth:`~Pipeline.schedule`
  and :meth:`~Pipeline.build`; inference: :meth:`~Pipeline.score`), and sends each restart of
  the schedule down its queues, so every thread applies it in order with the frames;
- offline extraction (:func:`rt_sfamnet.datasets.extract.extract_video`) runs the step up to
  the maps (:meth:`~Pipeline.prepare` and :meth:`~Pipeline.build`);
- LOSO evaluation shares the score → label end (:func:`label_samples`, the gap rule) with
  :meth:`~Pipeline.score`.

Admission (:meth:`Pipeline.admit`) reads only a frame's metadata (``index``, ``timestamp``,
``meta``), never its pixels, so a frame the schedule does not need is never decoded by a
source that decodes lazily. It starts a schedule at the first frame (and again after
:meth:`Pipeline.restart`: a seek, a live resume), drops frames a source had prepared before a
seek, and records the frames the source never had (holes: ``missing_color`` gaps) apart from
those the source itself dropped (``frame.meta["dropped_before"]``: ``dropped`` gaps).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rt_sfamnet.features import FeatureConfig
from rt_sfamnet.frames import RGBDFrame
from rt_sfamnet.pipeline.stages import (
    MIN_DEPTH_FRACTION,
    FaceStage,
    FlowStage,
    Observed,
    PairBuilder,
    Sample,
    SampleScheduler,
    SourceHoles,
    SpotterStage,
    label_samples,
    needed_frame,
    score_samples,
)
from rt_sfamnet.pipeline.types import FrameResult
from rt_sfamnet.spotting import SpottedInterval, SpottingConfig

__all__ = ["Admission", "Gate", "Pipeline", "Scored", "StepOutput", "DROPPED_BEFORE"]

#: ``frame.meta`` key: how many frames just before this one the source itself dropped (its
#: own queue was full, e.g. the camera's); those are ``dropped`` gaps, not holes.
DROPPED_BEFORE = "dropped_before"


@dataclass
class Admission:
    """What :meth:`Gate.admit` decided about one frame.

    Attributes:
        stale: the frame belongs to the position before a seek: ignore it entirely.
        restart: the base frame of a new schedule that starts with this frame, else None.
        needed: some window of the schedule starts or ends at this frame.
    """

    stale: bool = False
    restart: int | None = None
    needed: bool = False


class Gate:
    """Which frames the schedule needs, from metadata alone (see the module docstring).

    Args:
        frame_skip, k_sw: the schedule. holes: where the frames the source never had are
            recorded (read by the :class:`SampleScheduler`). seek_window: after a seek to
            frame ``t``, frames outside ``[t, t + seek_window)`` are stale.
    """

    def __init__(self, frame_skip: int, k_sw: int, holes: SourceHoles,
                 seek_window: int = 30) -> None:
        self.frame_skip, self.k_sw = int(frame_skip), int(k_sw)
        self.holes = holes
        self.seek_window = max(2, int(seek_window))
        self.base = 0
        self._started = False
        self._last = -1
        self._seek: int | None = None

    def restart(self, seek_target: int | None = None) -> None:
        """The next frame starts a new schedule; with ``seek_target``, frames outside
        ``[seek_target, seek_target + seek_window)`` are stale until one inside comes."""
        self._started = False
        self._seek = None if seek_target is None else int(seek_target)

    def wants(self, index: int) -> bool:
        """True if frame ``index`` starts or ends a window of the current schedule."""
        return needed_frame(index, self.base, self.frame_skip, self.k_sw)

    def admit(self, frame: RGBDFrame) -> Admission:
        """Admit the next frame the source delivered (reads ``index`` and ``meta`` only).

        A caller may leave out frames the schedule does not want (offline extraction reads
        only the needed ones); only a needed frame that never came is a hole.
        """
        index = int(frame.index)
        if self._seek is not None:
            if not self._seek <= index < self._seek + self.seek_window:
                return Admission(stale=True)
            self._seek = None
        restart = None
        if not self._started:
            self._started = True
            self.base = restart = SampleScheduler.base_for(index, self.frame_skip)
        elif index > self._last + 1:
            dropped = int((frame.meta or {}).get(DROPPED_BEFORE, 0) or 0)
            first, last = self._last + 1, index - 1 - max(0, dropped)
            if last >= first and self._any_needed(first, last):
                self.holes.add(first, last)
        self._last = index
        return Admission(False, restart, self.wants(index))

    def _any_needed(self, first: int, last: int) -> bool:
        # every frame_skip-th frame from the base starts a window: one period suffices
        lo = max(first, self.base)
        return any(self.wants(i) for i in range(lo, min(last, lo + self.frame_skip - 1) + 1))


@dataclass
class Scored:
    """What :meth:`Pipeline.score` gives for a list of samples.

    Attributes:
        results: one :class:`FrameResult` per sample, in order (``latency_ms`` 0: the
            engine sets it at publication). intervals: intervals that became final.
        batch: samples that went through the network. network_ms: its time, ms.
    """

    results: list[FrameResult]
    intervals: list[SpottedInterval]
    batch: int = 0
    network_ms: float = 0.0


@dataclass
class StepOutput:
    """What one :meth:`Pipeline.step` gives.

    Attributes:
        admission: the gate's decision. observed: the face stage's output (None when the
            frame was not needed). samples: the samples due with this frame (maps built).
        results, intervals: as :class:`Scored` (empty without a predictor).
    """

    admission: Admission
    observed: Observed | None = None
    samples: list[Sample] = field(default_factory=list)
    results: list[FrameResult] = field(default_factory=list)
    intervals: list[SpottedInterval] = field(default_factory=list)


class Pipeline:
    """The stages of one analysis, run synchronously (see the module docstring).

    Args:
        tracker: a :class:`~rt_sfamnet.face.FaceTracker` (owned by the caller).
        features: the feature configuration. frame_skip, k_sw: the schedule.
        predictor: a :class:`~rt_sfamnet.predictor.Predictor` (None: maps only, no scoring).
        spotting: the spotter's configuration (None: release values with ``frame_skip``).
        input_clip: clamp of the maps (None: none). device: ``"cpu"`` or ``"cuda"``.
        min_depth_fraction: the empty-depth rule's threshold.
        keep_maps: attach the maps to each :class:`FrameResult`.
        fps: the source's frame rate (the stale window after a seek is one second).
    """

    def __init__(self, tracker: Any, features: FeatureConfig, frame_skip: int, k_sw: int, *,
                 predictor: Any = None, spotting: SpottingConfig | None = None,
                 input_clip: float | None = None, device: str = "cpu",
                 min_depth_fraction: float = MIN_DEPTH_FRACTION, keep_maps: bool = True,
                 fps: float = 30.0) -> None:
        self.face = FaceStage(tracker, min_depth_fraction)
        self.builder = PairBuilder(features, input_clip, device)
        self.holes = SourceHoles()
        self.flow = FlowStage(SampleScheduler(frame_skip, k_sw, self.holes), self.builder)
        self.gate = Gate(frame_skip, k_sw, self.holes, int(fps))
        self.predictor = predictor
        self.keep_maps = bool(keep_maps)
        self.class_names: tuple[str, ...] = ()
        self.spotter: SpotterStage | None = None
        if predictor is not None:
            self.class_names = tuple(predictor.class_names)
            cfg = spotting if spotting is not None else SpottingConfig(frame_skip=frame_skip)
            self.spotter = SpotterStage(cfg, self.class_names[-1])

    @classmethod
    def from_settings(cls, settings: Any, tracker: Any, predictor: Any = None,
                      **kwargs: Any) -> Pipeline:
        """A pipeline for resolved :class:`~rt_sfamnet.pipeline.Settings`."""
        return cls(tracker, settings.features, settings.frame_skip, settings.k_sw,
                   predictor=predictor, spotting=settings.spotting,
                   input_clip=settings.input_clip, device=settings.backend,
                   fps=settings.fps, **kwargs)

    # ------------------------------------------------------------------ phases

    def restart(self, seek_target: int | None = None) -> None:
        """The next admitted frame starts a new schedule (see :meth:`Gate.restart`)."""
        self.gate.restart(seek_target)

    def wants(self, index: int) -> bool:
        return self.gate.wants(index)

    def admit(self, frame: RGBDFrame) -> Admission:
        """Capture phase: metadata only (see :meth:`Gate.admit`)."""
        return self.gate.admit(frame)

    def reset_face(self) -> None:
        self.face.reset()

    def observe(self, frame: RGBDFrame, arrival: float = 0.0) -> Observed:
        """Face phase: track the face of a needed frame (the first pixel access)."""
        return self.face.observe(frame, arrival)

    def reset_schedule(self, base: int) -> None:
        self.flow.reset(base)

    def schedule(self, item: Observed) -> list[Sample]:
        """Flow phase: the samples due with this observed frame (crops attached)."""
        return self.flow.add(item)

    def build(self, samples: Sequence[Sample]) -> list[Sample]:
        """Flow phase: the maps of the samples with crops, in one batched flow call."""
        return self.flow.build(samples)

    def reset_spotter(self, base: int) -> None:
        self._spotter().reset(base)

    def score(self, samples: Sequence[Sample]) -> Scored:
        """Inference phase: network, gap rule and argmax, spotter, one result per sample."""
        spotter = self._spotter()
        n, names = len(samples), self.class_names
        valid = np.array([s.maps is not None for s in samples], bool)
        scores = np.zeros(n, np.float32)
        probs = np.zeros((n, len(names)), np.float32)
        batch, ms = int(valid.sum()), 0.0
        if batch:
            t0 = time.perf_counter()
            scores[valid], probs[valid] = score_samples(
                self.predictor, [s for s in samples if s.maps is not None], len(names))
            ms = (time.perf_counter() - t0) * 1e3
        pushed, labels = label_samples(scores, probs, valid, names)
        out = Scored([], [], batch, ms)
        for k, smp in enumerate(samples):
            out.intervals.extend(spotter.push(float(pushed[k]), labels[k]))
            ok = bool(valid[k])
            out.results.append(FrameResult(
                frame=smp.frame, timestamp=smp.timestamp, face_found=smp.face_found,
                score=float(scores[k]) if ok else None, micro_smoothed=None,
                macro_smoothed=None, probs=probs[k] if ok else None,
                label=labels[k] if ok else None, latency_ms=0.0,
                maps=smp.maps if self.keep_maps else None, sample=smp.sample,
                depth_ok=smp.depth_ok, reason=smp.reason, box=smp.box,
            ))
        return out

    def finish(self) -> list[SpottedInterval]:
        """End of the stream (or an early stop): the intervals still waiting."""
        return self._spotter().finish()

    def new_curve_values(self) -> dict[str, list[tuple[int, float]]]:
        """Smoothed values that became final since the previous call: ``(frame, value)``."""
        return self._spotter().new_curve_values()

    # ------------------------------------------------------------------ all at once

    def reset(self, base: int) -> None:
        """A new schedule from frame ``base`` in every phase."""
        self.reset_face()
        self.reset_schedule(base)
        if self.spotter is not None:
            self.reset_spotter(base)

    def prepare(self, frame: RGBDFrame, arrival: float = 0.0) -> StepOutput:
        """The step up to the pairs: admit, observe and schedule one frame; the due samples
        have crops but no maps yet (:meth:`build` them, alone or in a batch)."""
        adm = self.admit(frame)
        out = StepOutput(adm)
        if adm.stale:
            return out
        if adm.restart is not None:
            self.reset(adm.restart)
        if adm.needed:
            out.observed = self.observe(frame, arrival)
            out.samples = self.schedule(out.observed)
        return out

    def step(self, frame: RGBDFrame, arrival: float = 0.0) -> StepOutput:
        """One frame through face → schedule → flow → score → spot."""
        out = self.prepare(frame, arrival)
        self.build(out.samples)
        if self.predictor is not None and out.samples:
            scored = self.score(out.samples)
            out.results, out.intervals = scored.results, scored.intervals
        return out

    def _spotter(self) -> SpotterStage:
        if self.spotter is None:
            raise RuntimeError("this Pipeline has no predictor: it builds maps only")
        return self.spotter
