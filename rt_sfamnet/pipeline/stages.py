"""The analysis stages as plain objects: no threads, each testable on its own.

The live :class:`~rt_sfamnet.pipeline.Engine` runs them in its threads; offline extraction
(:func:`rt_sfamnet.datasets.extract.extract_video`) runs the same objects in a loop, so a model
trained on extracted features receives exactly the inputs it gets live (tested bit for bit).

- :class:`FaceStage`: MediaPipe face tracking of one frame and whether the face box holds
  depth (``depth_ok``).
- :class:`SampleScheduler`: the sample schedule ``s = base + j * frame_skip`` with windows
  ``[s, s + k_sw]``, the ring buffer of the last ``k_sw + 1`` frames, which frames are needed at
  all, and the gaps (dropped frames, no face).
- :class:`PairBuilder`: crops (every :class:`~rt_sfamnet.features.FeatureConfig` option,
  ``depth_resize`` included), batched :func:`~rt_sfamnet.features.pair_maps_batch`, the
  empty-depth rule (``w`` set to zero) and the input clamp.
- :class:`SpotterStage`: the :class:`~rt_sfamnet.spotting.StreamingSpotter` with the
  schedule's base frame, gaps pushed as score 0 / ``neutral``, newly final curve values and
  intervals in frames of the stream.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rt_sfamnet.features import Crop, FeatureConfig, crop_frame, pair_maps_batch, register_crop
from rt_sfamnet.frames import RGBDFrame
from rt_sfamnet.spotting import SpottedInterval, SpottingConfig, StreamingSpotter

__all__ = [
    "MIN_DEPTH_FRACTION",
    "FaceStage",
    "Observed",
    "PairBuilder",
    "RingEntry",
    "Sample",
    "SampleScheduler",
    "SourceHoles",
    "SpotterStage",
    "box_depth_fraction",
    "needed_frame",
]

MAP_CHANNELS = 3
#: A face box with less valid depth than this fraction is an empty-depth frame (engine and
#: extraction share it).
MIN_DEPTH_FRACTION = 0.2
W_CHANNEL = 2  # the w stream (scene-flow depth motion) in the scene and hybrid modes


# ------------------------------------------------------------------------------ face


def box_depth_fraction(depth: np.ndarray, box: Any) -> float:
    """Fraction of non-zero depth pixels of the part of ``box`` inside the frame.

    Args:
        depth: HxW uint16 depth in mm.
        box: a :class:`~rt_sfamnet.face.CropBox` (x0, y0, size) in frame pixels.
    """
    if np.ndim(depth) != 2:
        raise ValueError(f"depth must be HxW, found shape {np.shape(depth)}")
    h, w = depth.shape
    x0, y0 = int(round(box.x0)), int(round(box.y0))
    x1, y1 = x0 + int(round(box.size)), y0 + int(round(box.size))
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return 0.0
    patch = depth[y0:y1, x0:x1]
    return float(np.count_nonzero(patch)) / float(patch.size)


@dataclass
class Observed:
    """One frame after the face stage.

    Attributes:
        frame: the frame. obs: its :class:`~rt_sfamnet.face.FaceObservation` or None.
        depth_ok: the face box holds at least ``min_depth_fraction`` valid depth (True without
            a face). arrival: ``time.perf_counter()`` when the frame arrived (live) or 0.
    """

    frame: RGBDFrame
    obs: Any
    depth_ok: bool
    arrival: float = 0.0


class FaceStage:
    """Face tracking plus the depth check of the face box.

    Args:
        tracker: a :class:`~rt_sfamnet.face.FaceTracker` (owned by the caller).
        min_depth_fraction: a face box with less valid depth than this is ``depth_ok=False``.
    """

    def __init__(self, tracker: Any, min_depth_fraction: float = MIN_DEPTH_FRACTION) -> None:
        self.tracker = tracker
        self.min_depth_fraction = float(min_depth_fraction)

    def reset(self) -> None:
        """Forget the tracking state (a new schedule: start, seek, restart)."""
        self.tracker.reset()

    def observe(self, frame: RGBDFrame, arrival: float = 0.0) -> Observed:
        obs = self.tracker.update(frame.color)
        depth_ok = True
        if obs is not None:
            depth_ok = box_depth_fraction(frame.depth, obs.box) >= self.min_depth_fraction
        return Observed(frame, obs, depth_ok, arrival)


# ------------------------------------------------------------------------------ schedule


def needed_frame(index: int, base: int, frame_skip: int, k_sw: int) -> bool:
    """True if frame ``index`` starts or ends a window of the schedule ``base + j*frame_skip``."""
    rel = index - base
    if rel < 0:
        return False
    if rel % frame_skip == 0:
        return True
    return rel >= k_sw and (rel - k_sw) % frame_skip == 0


@dataclass
class RingEntry:
    """A needed frame in the ring buffer: its observation and, for window starts, its crop.

    ``gap``: the source's note on a frame with missing data (``frame.meta["gap"]``, e.g.
    ``"missing_depth"`` from a recording without depth at that time), else ``""``.
    """

    index: int
    timestamp: float
    obs: Any
    depth_ok: bool
    crop: Crop | None = None
    gap: str = ""


class SourceHoles:
    """Frame indices a source skipped (holes in a recording), shared between the thread
    that reads the source (:meth:`add`) and the scheduler (:meth:`__contains__`).

    A frame the source never delivered is a ``missing_color`` gap; one it delivered but the
    engine dropped (a full capture queue) is ``dropped``. Only the newest ``keep`` holes are
    remembered (the scheduler only asks about the last ``k_sw`` frames).
    """

    def __init__(self, keep: int = 256) -> None:
        import threading

        self._lock = threading.Lock()
        self._holes: list[tuple[int, int]] = []
        self.keep = int(keep)

    def add(self, first: int, last: int) -> None:
        """Frames ``first..last`` (inclusive) never came from the source."""
        with self._lock:
            self._holes.append((int(first), int(last)))
            del self._holes[: -self.keep]

    def __contains__(self, index: int) -> bool:
        with self._lock:
            return any(a <= index <= b for a, b in self._holes)


@dataclass
class Sample:
    """One scheduled sample (the window ``[frame, frame + k_sw]``).

    Attributes:
        sample: sample number ``j`` since the schedule's base. frame: its first frame.
        timestamp: that frame's timestamp in seconds (NaN if the frame never arrived).
        arrival: arrival time of the window's last frame (live latency), or 0.
        reason: why it has no maps, the ``gap`` column of ``frames.csv``: ``""`` (scored),
            ``"no_face"``, ``"dropped"`` (the engine dropped a frame of the window),
            ``"missing_color"`` (the source never had it: a hole in a recording) or
            ``"missing_depth"`` (a frame without depth, in a depth-using flow mode).
        depth_ok: both face boxes held depth.
        maps: 3x42x42 float32 input maps once :meth:`PairBuilder.build` ran (None for a gap).
        box: ``(x0, y0, size)`` of the face crop box of the window's first frame (square,
            frame pixels; may extend past the frame), or None without a face there.
    """

    sample: int
    frame: int
    timestamp: float
    arrival: float
    reason: str
    depth_ok: bool = True
    maps: np.ndarray | None = None
    crops: tuple[Crop, Crop] | None = None
    box: tuple[int, int, int] | None = None

    @property
    def face_found(self) -> bool:
        return self.reason in ("", "missing_depth")


class SampleScheduler:
    """The sample schedule and its ring buffer of the last ``k_sw + 1`` frames.

    Feed every frame the source delivers to :meth:`wants`; pass the needed ones, once
    observed, to :meth:`push`, which returns every sample whose window ends at or before that
    frame, in order. A window whose end frame is the pushed one and whose two frames both have
    a face is ``reason=""`` (the caller builds its pair); a window whose start or end frame never
    arrived is ``"missing_color"`` when the source skipped it (``holes``), else ``"dropped"``;
    one without a face on either end is ``"no_face"``.

    Args:
        frame_skip: frames between samples. k_sw: frames between a pair's two frames.
        holes: the frames the source skipped (:class:`SourceHoles`), or None.
    """

    def __init__(self, frame_skip: int, k_sw: int, holes: SourceHoles | None = None) -> None:
        if frame_skip < 1 or k_sw < 1:
            raise ValueError(f"frame_skip and k_sw must be >= 1, found {frame_skip}, {k_sw}")
        self.frame_skip = int(frame_skip)
        self.k_sw = int(k_sw)
        self.base = 0
        self.next_sample = 0
        self.ring: OrderedDict[int, RingEntry] = OrderedDict()
        self.holes = holes

    def reset(self, base: int) -> None:
        """Start a new schedule whose first sample is frame ``base``."""
        self.base, self.next_sample = int(base), 0
        self.ring.clear()

    @staticmethod
    def base_for(first_index: int, frame_skip: int) -> int:
        """The schedule's base for a stream whose first frame is ``first_index``: the next
        multiple of ``frame_skip`` (sample frames stay aligned with the video's)."""
        return -(-int(first_index) // int(frame_skip)) * int(frame_skip)

    def wants(self, index: int) -> bool:
        """True if frame ``index`` starts or ends some window."""
        return needed_frame(index, self.base, self.frame_skip, self.k_sw)

    def is_start(self, index: int) -> bool:
        rel = index - self.base
        return rel >= 0 and rel % self.frame_skip == 0

    def push(self, entry: RingEntry, arrival: float = 0.0) -> list[Sample]:
        """Add a needed frame; returns the samples that are due now (see the class doc)."""
        t = entry.index
        self.ring[t] = entry
        while self.ring and next(iter(self.ring)) < t - self.k_sw:
            self.ring.popitem(last=False)
        due: list[Sample] = []
        while True:
            s = self.base + self.next_sample * self.frame_skip
            e = s + self.k_sw
            if e > t:
                break
            start = self.ring.get(s)
            ts = start.timestamp if start is not None else float("nan")
            if e < t or start is None:
                # (the start may also be gone from the ring because the end came far later)
                hole = self.holes is not None and ((start is None and s in self.holes)
                                                   or (e < t and e in self.holes))
                reason, ok = ("missing_color" if hole else "dropped"), True
            elif start.obs is None or entry.obs is None:
                reason, ok = "no_face", True
            else:
                reason, ok = "", start.depth_ok and entry.depth_ok
            b = getattr(start.obs, "box", None) if start is not None else None
            box = None if b is None else (int(b.x0), int(b.y0), int(b.size))
            due.append(Sample(self.next_sample, s, ts, arrival, reason, ok, box=box))
            self.next_sample += 1
        return due

    def start_entry(self, sample: Sample) -> RingEntry:
        """The ring entry of a due sample's first frame (present for ``reason == ""``)."""
        return self.ring[sample.frame]


# ------------------------------------------------------------------------------ pairs


class PairBuilder:
    """Crops and input maps of sample pairs, identical live and offline.

    Args:
        features: the feature configuration (mode, crop size, depth resize, solvers, scale).
        input_clip: clamp the maps to ``[-input_clip, input_clip]`` (None: no clamp).
        device: ``"cpu"`` or ``"cuda"`` (crops are moved to the GPU once, when cut).
    """

    def __init__(self, features: FeatureConfig, input_clip: float | None = None,
                 device: str = "cpu") -> None:
        self.features = features
        self.input_clip = input_clip
        self.device = device
        self.uses_depth = features.mode in ("scene", "hybrid")

    def crop(self, frame: RGBDFrame, obs: Any) -> Crop:
        """``frame`` cut with ``obs.box`` (use the start frame's observation for both)."""
        c = crop_frame(frame, obs, self.features.crop_size, self.features.depth_resize)
        return self._device_put(c)

    def attach(self, sample: Sample, start: RingEntry, end_frame: RGBDFrame,
               end_obs: Any = None) -> None:
        """Give a due, face-found sample its two crops (the end frame cut with the start's
        box; with ``registration="landmarks"`` also warped onto the start frame's face by
        ``end_obs``'s landmarks, :func:`rt_sfamnet.features.register_crop`)."""
        if start.crop is None:
            raise ValueError(f"sample {sample.sample}: the start frame {start.index} has no crop")
        if self.features.registration == "landmarks" and end_obs is not None:
            c = crop_frame(end_frame, start.obs, self.features.crop_size,
                           self.features.depth_resize)
            c = register_crop(c, start.obs.landmarks, end_obs.landmarks, start.obs.box)
            sample.crops = (start.crop, self._device_put(c))
            return
        sample.crops = (start.crop, self.crop(end_frame, start.obs))

    def build(self, samples: Sequence[Sample]) -> list[Sample]:
        """Fill ``maps`` of every sample that has crops (one batched flow call); returns them.

        Each map is an owned 3x42x42 float32 array; ``w`` is zero when a face box had no
        depth (scene and hybrid modes: a flow against missing depth is noise), then the clamp.
        """
        todo = [s for s in samples if s.crops is not None]
        if not todo:
            return []
        maps = pair_maps_batch([s.crops[0] for s in todo], [s.crops[1] for s in todo],
                               self.features)
        maps = _to_host(maps)
        size = self.features.map_size
        if maps.shape != (len(todo), MAP_CHANNELS, size, size):
            raise RuntimeError(f"pair_maps_batch returned shape {maps.shape}, expected "
                               f"({len(todo)}, {MAP_CHANNELS}, {size}, {size})")
        for k, smp in enumerate(todo):
            m = np.array(maps[k], dtype=np.float32)  # an owned copy per sample
            if not smp.depth_ok and self.uses_depth:
                m[W_CHANNEL] = 0.0
            if self.input_clip is not None:
                np.clip(m, -self.input_clip, self.input_clip, out=m)
            smp.maps = m
            smp.crops = None  # the crops are not needed any more
        return todo

    def warm_up(self, predictor: Any = None) -> None:
        """Run the flow (and the network, if given) once on a synthetic textured pair, so
        one-off costs (JIT compilation or cache loading, kernel set-up, allocator warm-up)
        are paid before the first frame is timed."""
        size = self.features.crop_size
        rng = np.random.default_rng(0)
        tex = rng.uniform(0, 255, (size // 4 + 1, size // 4 + 1, 3))
        color0 = np.kron(tex, np.ones((4, 4, 1)))[:size, :size].astype(np.uint8)
        color1 = np.roll(color0, 1, axis=1)
        depth = np.full((size, size), 600, np.uint16)
        f, c = size * 1.5, (size - 1) / 2
        crops = tuple(self._device_put(Crop.from_arrays(col, depth, f, f, c, c,
                                                        (size / 2, size / 2)))
                      for col in (color0, color1))
        smp = Sample(0, 0, 0.0, 0.0, "", True, crops=crops)
        self.build([smp])
        if predictor is not None:
            predictor.predict(smp.maps[None])

    def _device_put(self, crop: Crop) -> Crop:
        if self.device != "cuda":
            return crop
        import cupy

        changes = {f.name: cupy.asarray(getattr(crop, f.name)) for f in dataclasses.fields(crop)
                   if isinstance(getattr(crop, f.name), np.ndarray)}
        return dataclasses.replace(crop, **changes)


def _to_host(arr: Any) -> np.ndarray:
    if isinstance(arr, np.ndarray):
        return arr
    get = getattr(arr, "get", None)
    return np.asarray(get() if get is not None else arr)


class FlowStage:
    """Scheduler and pair builder together: observed frames in, samples with maps out.

    This is the one code path from face observations to network inputs, used by the live
    engine's flow thread and by offline extraction.
    """

    def __init__(self, scheduler: SampleScheduler, builder: PairBuilder) -> None:
        self.scheduler = scheduler
        self.builder = builder

    def reset(self, base: int) -> None:
        self.scheduler.reset(base)

    def add(self, item: Observed) -> list[Sample]:
        """One observed, needed frame -> the samples due now (pairs attached, maps not yet)."""
        frame, obs = item.frame, item.obs
        crop = None
        if obs is not None and self.scheduler.is_start(frame.index):
            crop = self.builder.crop(frame, obs)
        gap = str((frame.meta or {}).get("gap", ""))
        entry = RingEntry(frame.index, frame.timestamp, obs, item.depth_ok, crop, gap)
        due = self.scheduler.push(entry, item.arrival)
        for smp in due:
            if smp.reason != "":
                continue
            start = self.scheduler.start_entry(smp)
            if self.builder.uses_depth and "missing_depth" in (start.gap, gap):
                smp.reason = "missing_depth"  # never a flow against depth that is not there
                continue
            self.builder.attach(smp, start, frame, obs)
        return due

    def build(self, samples: Sequence[Sample]) -> list[Sample]:
        return self.builder.build(samples)


# ------------------------------------------------------------------------------ spotting


class SpotterStage:
    """The streaming spotter in frames of the stream.

    ``push`` takes one sample's score and predicted class (None for a gap, pushed as score 0
    and the last class, ``neutral``); intervals and curve values come back in frames of the
    stream (the schedule's base added).

    Args:
        config: the spotting configuration (its ``frame_skip`` is the schedule's).
        neutral: the class name pushed for gaps.
    """

    def __init__(self, config: SpottingConfig, neutral: str = "neutral") -> None:
        self.config = config
        self.neutral = neutral
        self.reset(0)

    def reset(self, base: int) -> None:
        self.spotter = StreamingSpotter(self.config)
        self.base = int(base)
        self._done = {"micro": 0, "macro": 0}

    def push(self, score: float | None, label: str | None) -> list[SpottedInterval]:
        if score is None:
            new = self.spotter.push(0.0, self.neutral)
        else:
            new = self.spotter.push(score, label)
        return [self._to_frames(iv) for iv in new]

    def finish(self) -> list[SpottedInterval]:
        """End of the stream (or an early stop): the intervals still waiting."""
        return [self._to_frames(iv) for iv in self.spotter.finish()]

    def new_curve_values(self) -> dict[str, list[tuple[int, float]]]:
        """Smoothed values that became final since the previous call: ``(frame, value)``."""
        out: dict[str, list[tuple[int, float]]] = {"micro": [], "macro": []}
        fs = self.config.frame_skip
        for name, curve in (("micro", self.spotter.micro_curve),
                            ("macro", self.spotter.macro_curve)):
            n = len(curve)
            out[name] = [(self.base + i * fs, float(curve[i])) for i in range(self._done[name], n)]
            self._done[name] = n
        return out

    def _to_frames(self, iv: SpottedInterval) -> SpottedInterval:
        if self.base == 0:
            return iv
        return dataclasses.replace(
            iv, onset=iv.onset + self.base,
            apex=None if iv.apex is None else iv.apex + self.base,
            offset=iv.offset + self.base,
        )


def score_samples(predictor: Any, samples: Sequence[Sample], n_classes: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The network's scores ``(N,)`` and class probabilities ``(N, C)`` float32 of samples
    with maps (checked against what the predictor returns)."""
    scores, probs = predictor.predict(np.stack([s.maps for s in samples]))
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    probs = np.asarray(probs, dtype=np.float32)
    if scores.shape[0] != len(samples) or probs.shape != (len(samples), n_classes):
        raise RuntimeError(f"predictor returned scores {scores.shape} and probs {probs.shape} "
                           f"for {len(samples)} samples of {n_classes} classes")
    return scores, probs
