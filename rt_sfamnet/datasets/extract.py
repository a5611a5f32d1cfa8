"""Feature extraction: a dataset's videos -> flow maps in a :class:`FeatureCache`.

The sample schedule and the pair maps come from the live engine's own step
(:class:`rt_sfamnet.pipeline.step.Pipeline`, up to the maps), so a model trained on extracted
features sees the inputs it will get live.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rt_sfamnet.datasets.cache import MAP_SHAPE, FeatureCache, VideoFeatures
from rt_sfamnet.datasets.labels import gt_samples, sample_frames


@dataclass
class ExtractConfig:
    """Settings of :func:`extract_dataset`.

    Attributes:
        flow: ``"hybrid"``, ``"scene"`` or ``"optical"`` (FeatureConfig.mode).
        frame_skip: frames between spotting samples (2 in the release).
        k_sw: flow window in frames; None: ``round(0.2 * fps)`` (6 at 30 FPS).
        float16: store maps as float16 (half the disk, ~3 significant digits).
        batch: pairs per ``pair_maps_batch`` call (larger is faster on a GPU).
        features: extra FeatureConfig fields (e.g. ``{"tvl1_preset": "quality"}``).
    """

    flow: str = "hybrid"
    frame_skip: int = 2
    k_sw: int | None = None
    float16: bool = False
    batch: int = 32
    features: dict[str, Any] = field(default_factory=dict)


def feature_config(cfg: ExtractConfig):
    """The :class:`rt_sfamnet.features.FeatureConfig` used for ``cfg``."""
    from rt_sfamnet.config import config_from_mapping
    from rt_sfamnet.features import FeatureConfig

    return config_from_mapping(FeatureConfig, {"mode": cfg.flow, **cfg.features}, "features")


class _GTPairs:
    """Ground-truth onset -> apex pairs, cropped by the same :class:`PairBuilder`.

    A GT pair borrows the face observation of the latest scheduled frame at or before its
    onset (the tracker only ever sees the live schedule's frames, so the spotting samples stay
    identical to the live engine's); its ``depth_ok`` uses that box on both frames.
    """

    def __init__(self, gts: list, builder: Any, min_depth_fraction: float) -> None:
        self.gts, self.builder, self.min_depth = gts, builder, float(min_depth_fraction)
        self.by_onset: dict[int, list[int]] = {}
        for j, g in enumerate(gts):
            self.by_onset.setdefault(g.onset, []).append(j)
        self.waiting: dict[int, list[tuple[int, Any, Any, bool]]] = {}  # apex -> (j, obs, c0, ok)

    def frames(self) -> set[int]:
        return {g.onset for g in self.gts} | {g.apex for g in self.gts}

    def add(self, frame: Any, obs: Any) -> list:
        """Start the pairs whose onset is ``frame`` and finish those whose apex it is."""
        from rt_sfamnet.pipeline.stages import Sample, box_depth_fraction

        f = frame.index
        if obs is not None:
            ok = box_depth_fraction(frame.depth, obs.box) >= self.min_depth
            for j in self.by_onset.get(f, []):
                c0 = self.builder.crop(frame, obs)
                self.waiting.setdefault(self.gts[j].apex, []).append((j, obs, c0, ok))
        done = []
        for j, o, c0, ok0 in self.waiting.pop(f, []):
            ok1 = box_depth_fraction(frame.depth, o.box) >= self.min_depth
            done.append(Sample(j, f, frame.timestamp, 0.0, "", ok0 and ok1,
                               crops=(c0, self.builder.crop(frame, o))))
        return done


def extract_video(video, fcfg, frame_skip: int, k_sw: int, batch: int = 32,
                  tracker=None, intrinsics=None,
                  progress: Callable[[int], None] | None = None,
                  min_depth_fraction: float | None = None) -> VideoFeatures:
    """Flow maps of every spotting sample and every ground-truth sample of one video.

    The spotting samples go through the live engine's own step
    (:class:`rt_sfamnet.pipeline.step.Pipeline`, up to the maps): the same frames reach the
    face tracker in the same order, the same schedule and gap rules, the same crops (the
    start frame's box for both frames of a pair, every
    :class:`~rt_sfamnet.features.FeatureConfig` option), the same empty-depth rule. So a model
    trained on these maps sees what it gets live (tested bit for bit). The maps are unscaled
    unless ``fcfg.input_scale`` says otherwise and never clamped (the trainer and the
    predictor scale). A gap sample (no face on either frame, a frame the video does not
    have, a frame without depth in a depth-using mode) holds zeros with ``valid = False``.

    Args:
        video: a :class:`rt_sfamnet.datasets.casme3.Video` (``read_frame``, ``n_frames``,
            ``intervals``, ``subject``, ``video``). ``read_frame`` may return None for a
            frame the video does not have (a hole in a recording): the windows touching it
            are gaps, as live (``missing_color``).
        fcfg: a :class:`rt_sfamnet.features.FeatureConfig`.
        frame_skip, k_sw: sampling (frames).
        batch: pairs per :func:`rt_sfamnet.features.pair_maps_batch` call (results do not
            depend on it).
        tracker: a :class:`rt_sfamnet.face.FaceTracker` (made and closed here if None; a
            given one is ``reset()`` first).
        intrinsics: colour intrinsics of the frames (None: from a 69 degree field of view).
        progress: called with the number of frames read since the last call.
        min_depth_fraction: the empty-depth rule's threshold (None: the engine's default).
    """
    from rt_sfamnet.face import FaceConfig, FaceTracker
    from rt_sfamnet.pipeline.stages import MIN_DEPTH_FRACTION
    from rt_sfamnet.pipeline.step import Pipeline

    min_depth = MIN_DEPTH_FRACTION if min_depth_fraction is None else float(min_depth_fraction)
    own = tracker is None
    tracker = FaceTracker(FaceConfig()) if own else tracker
    pipe = Pipeline(tracker, fcfg, frame_skip, k_sw, input_clip=None, device="cpu",
                    min_depth_fraction=min_depth)  # the first frame resets the tracker
    try:
        out = _VideoMaps(video, pipe, gt_samples(video.intervals, video.n_frames), min_depth,
                         sample_frames(video.n_frames, frame_skip, k_sw))
        out.run(intrinsics, batch, progress)
    finally:
        if own:
            tracker.close()
    keep = [j for j in range(len(out.gt.gts)) if out.gt_valid[j]]
    return VideoFeatures(
        video.subject, video.video, out.maps, out.starts, out.valid, out.gt_maps[keep],
        [out.gt.gts[j] for j in keep], list(video.intervals), video.n_frames,
    )


class _VideoMaps:
    """The maps of one video being extracted: the schedule's samples and the GT pairs."""

    def __init__(self, video: Any, pipe: Any, gts: list, min_depth: float,
                 starts: np.ndarray) -> None:
        self.video, self.pipe = video, pipe
        self.starts = starts
        self.rows = {int(f): j for j, f in enumerate(starts)}
        self.gt = _GTPairs(gts, pipe.builder, min_depth)
        self.maps = np.zeros((len(starts),) + MAP_SHAPE, np.float32)
        self.valid = np.zeros(len(starts), bool)
        self.gt_maps = np.zeros((len(gts),) + MAP_SHAPE, np.float32)
        self.gt_valid = np.zeros(len(gts), bool)
        self.pending: list = []
        self.gt_pending: list = []

    def flush(self) -> None:
        for smp in self.pipe.build(self.pending):
            row = self.rows[smp.frame]
            self.maps[row], self.valid[row] = smp.maps, True
        for smp in self.pipe.builder.build(self.gt_pending):
            self.gt_maps[smp.sample], self.gt_valid[smp.sample] = smp.maps, True
        self.pending.clear()
        self.gt_pending.clear()

    def run(self, intrinsics: Any, batch: int, progress: Callable[[int], None] | None) -> None:
        """Read the needed frames in order (only those that start or end a window or a GT
        pair are decoded) and feed them to the step, as the live engine does."""
        n, pipe = self.video.n_frames, self.pipe
        gt_frames = self.gt.frames()
        last_obs = None
        read, prev = 0, -1
        for f in range(n):
            scheduled = pipe.wants(f)
            if not scheduled and f not in gt_frames:
                continue
            frame = self.video.read_frame(f, intrinsics)
            read, prev = read + f - prev, f
            if frame is None:
                continue  # a hole: the next frame admitted files it (missing_color)
            if scheduled:
                step = pipe.prepare(frame)
                if step.observed is not None and step.observed.obs is not None:
                    last_obs = step.observed.obs
                self.pending.extend(s for s in step.samples if s.frame in self.rows)
            self.gt_pending.extend(self.gt.add(frame, last_obs))
            if len(self.pending) + len(self.gt_pending) >= batch:
                self.flush()
            if progress is not None and read >= 25:
                progress(read)
                read = 0
        self.flush()
        read += (n - 1) - prev  # frames after the last needed one count as done
        if progress is not None and read:
            progress(read)


def _cache_meta(dataset, cfg: ExtractConfig, k_sw: int, fps: float, fcfg) -> dict[str, Any]:
    from rt_sfamnet.config import config_to_dict

    fdict = config_to_dict(fcfg)
    fdict.pop("backend", None)
    return {"dataset": dataset.name, "root": str(dataset.root), "flow": cfg.flow,
            "frame_skip": cfg.frame_skip, "k_sw": k_sw, "fps": fps, "float16": cfg.float16,
            "input_scale": float(getattr(fcfg, "input_scale", 1.0)), "features": fdict}


def _todo(videos, cache: FeatureCache, verify: bool) -> tuple[list, int, list[str], list[str]]:
    """Videos to extract, the number of finished ones kept, the damaged ones and the
    outdated ones (both removed, to be redone): each finished video is checked against the
    sizes and SHA-256 in its index and against what it was made from
    (:meth:`FeatureCache.outdated`: labels, subject, frame count, the recording file)."""
    todo, damaged, changed = [], [], []
    for v in videos:
        if cache.has(v.subject, v.video):
            problem = cache.verify(v.subject, v.video, checksum=verify)
            if problem is None:
                why = cache.outdated(v)
                if why is None:
                    continue
                changed.append(f"{v.subject}/{v.video}: {why}")
            else:
                damaged.append(f"{v.subject}/{v.video}: {problem}")
            cache.remove(v.subject, v.video)
        todo.append(v)
    return todo, len(videos) - len(todo), damaged, changed


def _extract_one(video, cache_path: str, cfg: ExtractConfig, k_sw: int, intrinsics,
                 progress=None) -> tuple[int, int, int]:
    """Extract one video into the cache; ``(samples, GT samples, frames)``."""
    # a fresh tracker per video: MediaPipe's tracking state would otherwise make a video's
    # features depend on the video extracted before it (resume = same result)
    identity = getattr(video, "source_identity", None)
    source = identity() if identity is not None else None  # before reading: what it was made from
    feats = extract_video(video, feature_config(cfg), cfg.frame_skip, k_sw, cfg.batch, None,
                          intrinsics, progress=progress)
    feats.source = source
    FeatureCache(cache_path).write(feats, cfg.float16)
    return len(feats.frames), len(feats.gt), int(video.n_frames)


def extract_dataset(dataset, cache: FeatureCache, cfg: ExtractConfig,
                    show_progress: bool = True, resume: bool = True, shard=None,
                    workers: int = 0, ray_address: str | None = None,
                    verify: bool = True) -> dict[str, Any]:
    """Extract every video of ``dataset`` (or of one shard of it) into ``cache``.

    The dataset is checked first (:meth:`Dataset.check`): missing videos or frames stop the
    run before any flow is computed. Finished videos are kept when they match their index
    (``verify``: re-hash them too), damaged ones are redone. ``shard = (K, N)`` takes videos
    ``K-1, K-1+N, ...``; ``workers`` > 1 or ``ray_address`` extracts videos as Ray tasks
    (every node must see the dataset and the cache at the same paths). Concurrent runs on
    one cache never destroy each other's work (:class:`FeatureCache`).

    Entries made from something else than the video is now (other labels or subject, a
    changed recording file) are redone, and a recording's entry under its former subject is
    removed (:meth:`FeatureCache.outdated`, :meth:`FeatureCache.remove_moved`).

    Returns:
        ``{"videos": done now, "skipped": already cached, "redone": damaged or outdated and
        redone, "damaged": their problems, "changed": what changed for the outdated ones,
        "moved": entries removed from a former subject, "samples": n, "gt_samples": m,
        "seconds": wall time}``.
    """
    import os
    import time

    from tqdm import tqdm

    from rt_sfamnet.cluster import shard_items
    from rt_sfamnet.datasets.labels import k_sw_for

    dataset.check()
    fps = dataset.videos[0].fps if dataset.videos else 30.0
    k_sw = cfg.k_sw if cfg.k_sw is not None else k_sw_for(fps)
    cache.init(_cache_meta(dataset, cfg, k_sw, fps, feature_config(cfg)), resume=resume)
    moved = cache.remove_moved(dataset.videos)
    todo, skipped, damaged, changed = _todo(shard_items(dataset.videos, shard), cache, verify)
    bar = tqdm(total=sum(v.n_frames for v in todo), unit="frame", desc="extract",
               dynamic_ncols=True, disable=None if show_progress else True)
    t0 = time.perf_counter()
    n_s = n_g = 0
    path = os.path.abspath(cache.path)
    try:
        if workers > 1 or ray_address:
            from rt_sfamnet.cluster import ray_map

            args = [(v, path, cfg, k_sw, dataset.intrinsics) for v in todo]
            for s_, g_, f_ in ray_map(_extract_one, args, workers, ray_address):
                n_s, n_g = n_s + s_, n_g + g_
                bar.update(f_)
        else:
            for v in todo:
                bar.set_postfix_str(f"{v.subject}/{v.video}")
                s_, g_, _f = _extract_one(v, path, cfg, k_sw, dataset.intrinsics, bar.update)
                n_s, n_g = n_s + s_, n_g + g_
    finally:
        bar.close()
    return {"videos": len(todo), "skipped": skipped, "redone": len(damaged) + len(changed),
            "damaged": damaged, "changed": changed, "moved": moved,
            "samples": n_s, "gt_samples": n_g, "seconds": time.perf_counter() - t0}
