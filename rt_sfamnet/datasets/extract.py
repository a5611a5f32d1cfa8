"""Feature extraction: a dataset's videos -> flow maps in a :class:`FeatureCache`.

The sample schedule and the pair maps come from the same stages as the live engine
(:mod:`rt_sfamnet.pipeline.stages`), so a model trained on extracted features sees the inputs
it will get live.
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


def extract_video(video, fcfg, frame_skip: int, k_sw: int, batch: int = 32,
                  tracker=None, intrinsics=None,
                  progress: Callable[[int], None] | None = None) -> VideoFeatures:
    """Flow maps of every spotting sample and every ground-truth sample of one video.

    Frames are read once, in order, and only those that start or end a pair. The face tracker runs on every sample's first frame;
    both frames of a pair are cropped with that frame's observation (the box stays fixed
    while the head is still). GT pairs use the latest observation at their onset. Samples
    before the first face are zeros with ``valid = False``.

    Args:
        video: a :class:`rt_sfamnet.datasets.casme3.Video`.
        fcfg: a :class:`rt_sfamnet.features.FeatureConfig`.
        frame_skip, k_sw: sampling (frames).
        batch: pairs per :func:`rt_sfamnet.features.pair_maps_batch` call.
        tracker: a :class:`rt_sfamnet.face.FaceTracker` (made and closed here if None; a
            given one is ``reset()`` first, but MediaPipe may keep tracking state).
        intrinsics: colour intrinsics of the frames (None: from a 69° field of view).
        progress: called with the number of frames read since the last call.
    """
    from rt_sfamnet.face import FaceConfig, FaceTracker
    from rt_sfamnet.features import crop_frame, pair_maps_batch

    own = tracker is None
    if own:
        tracker = FaceTracker(FaceConfig())
    else:
        tracker.reset()
    n = video.n_frames
    starts = sample_frames(n, frame_skip, k_sw)
    n_s = len(starts)
    gts = gt_samples(video.intervals, n)
    maps = np.zeros((n_s,) + MAP_SHAPE, np.float32)
    gt_maps = np.zeros((len(gts),) + MAP_SHAPE, np.float32)
    valid = np.zeros(n_s, bool)
    gt_valid = np.zeros(len(gts), bool)
    crop_size = getattr(fcfg, "crop_size", 128)

    # end frame -> pairs waiting for it: (kind 's'|'g', index, observation, crop of frame 0)
    waiting: dict[int, list[tuple[str, int, Any, Any]]] = {}
    gt_by_onset: dict[int, list[int]] = {}
    for j, g in enumerate(gts):
        gt_by_onset.setdefault(g.onset, []).append(j)
    queue: list[tuple[str, int, Any, Any]] = []  # ready pairs: (kind, idx, crop0, crop1)
    last_obs = None

    def flush() -> None:
        if not queue:
            return
        out = pair_maps_batch([q[2] for q in queue], [q[3] for q in queue], fcfg)
        for (kind, idx, _c0, _c1), m in zip(queue, out, strict=True):
            if kind == "s":
                maps[idx] = m
                valid[idx] = True
            else:
                gt_maps[idx] = m
                gt_valid[idx] = True
        queue.clear()

    # only frames that start or end a pair are decoded (every other frame at frame_skip 2)
    needed = sorted({int(f) for f in starts} | {int(f) + k_sw for f in starts}
                    | {g.onset for g in gts} | {g.apex for g in gts})
    needed = [f for f in needed if f < n]
    try:
        read = 0
        prev = -1
        for f in needed:
            frame = video.read_frame(f, intrinsics)
            read += f - prev
            prev = f
            if f % frame_skip == 0 and f + k_sw < n:
                obs = tracker.update(frame.color)
                if obs is not None:
                    last_obs = obs
                if last_obs is not None:
                    c0 = crop_frame(frame, last_obs, crop_size)
                    waiting.setdefault(f + k_sw, []).append(("s", f // frame_skip, last_obs, c0))
            for j in gt_by_onset.get(f, []):
                obs = last_obs
                if obs is None:
                    obs = tracker.update(frame.color)
                if obs is not None:
                    waiting.setdefault(gts[j].apex, []).append(("g", j, obs, crop_frame(frame, obs, crop_size)))
            for kind, idx, obs, c0 in waiting.pop(f, []):
                queue.append((kind, idx, c0, crop_frame(frame, obs, crop_size)))
            if len(queue) >= batch:
                flush()
            if progress is not None and read >= 25:
                progress(read)
                read = 0
        flush()
        read += (n - 1) - prev  # frames after the last needed one count as done
        if progress is not None and read:
            progress(read)
    finally:
        if own:
            tracker.close()
    keep_gt = [j for j in range(len(gts)) if gt_valid[j]]
    return VideoFeatures(
        video.subject, video.video, maps, starts, valid, gt_maps[keep_gt],
        [gts[j] for j in keep_gt], list(video.intervals), n,
    )


def extract_dataset(dataset, cache: FeatureCache, cfg: ExtractConfig,
                    show_progress: bool = True, resume: bool = True) -> dict[str, Any]:
    """Extract every video of ``dataset`` into ``cache`` (skipping finished videos).

    The dataset is checked first (:meth:`Dataset.check`): missing videos or frames stop the
    run before any flow is computed.

    Returns:
        ``{"videos": done now, "skipped": already cached, "samples": n, "gt_samples": m,
        "seconds": wall time}``.
    """
    import time

    from rt_sfamnet.config import config_to_dict
    from rt_sfamnet.datasets.labels import k_sw_for

    dataset.check()
    fps = dataset.videos[0].fps if dataset.videos else 30.0
    k_sw = cfg.k_sw if cfg.k_sw is not None else k_sw_for(fps)
    fcfg = feature_config(cfg)
    fdict = config_to_dict(fcfg)
    fdict.pop("backend", None)
    cache.init({
        "dataset": dataset.name,
        "root": str(dataset.root),
        "flow": cfg.flow,
        "frame_skip": cfg.frame_skip,
        "k_sw": k_sw,
        "fps": fps,
        "float16": cfg.float16,
        "input_scale": float(getattr(fcfg, "input_scale", 1.0)),
        "features": fdict,
    }, resume=resume)
    todo = [v for v in dataset.videos if not cache.has(v.subject, v.video)]
    skipped = len(dataset.videos) - len(todo)
    total = sum(v.n_frames for v in todo)
    bar = None
    if show_progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="frame", desc="extract", dynamic_ncols=True)
    t0 = time.perf_counter()
    n_s = n_g = 0
    try:
        for v in todo:
            if bar is not None:
                bar.set_postfix_str(f"{v.subject}/{v.video}")
            # a fresh tracker per video: MediaPipe's tracking state would otherwise make a
            # video's features depend on the video extracted before it (resume = same result)
            feats = extract_video(v, fcfg, cfg.frame_skip, k_sw, cfg.batch, None,
                                  dataset.intrinsics,
                                  progress=(bar.update if bar is not None else None))
            cache.write(feats, cfg.float16)
            n_s += len(feats.frames)
            n_g += len(feats.gt)
    finally:
        if bar is not None:
            bar.close()
    return {"videos": len(todo), "skipped": skipped, "samples": n_s, "gt_samples": n_g,
            "seconds": time.perf_counter() - t0}
