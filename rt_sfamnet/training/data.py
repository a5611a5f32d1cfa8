"""A fold's data: subjects read from the cache, the release's sampling, class weights,
the input-scale statistic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rt_sfamnet.datasets.cache import FeatureCache
from rt_sfamnet.datasets.labels import class_indices
from rt_sfamnet.errors import DatasetError
from rt_sfamnet.intervals import Interval


@dataclass
class SubjectData:
    """One subject's samples, maps as float32 numpy (unscaled).

    Attributes:
        maps: ``(N, 3, 42, 42)`` spotting maps; ``spot`` ``(N,)`` float32 targets;
            ``cls`` ``(N,)`` int64 class indices; ``valid`` ``(N,)`` bool.
        video_slices: video name -> slice into the spotting arrays.
        gt_maps, gt_cls: ``(M, 3, 42, 42)`` and ``(M,)`` ground-truth recognition samples.
        gt_videos: ``(M,)`` video of each GT sample.
        intervals: every annotated interval of the subject's videos (0-based frames).
    """

    subject: str
    maps: np.ndarray
    spot: np.ndarray
    cls: np.ndarray
    valid: np.ndarray
    video_slices: dict[str, slice]
    gt_maps: np.ndarray
    gt_cls: np.ndarray
    gt_videos: list[str]
    intervals: list[Interval]
    n_frames: dict[str, int]


def load_subject(cache: FeatureCache, subject: str, emotions: int) -> SubjectData:
    """Read one subject's videos from the cache and label them for ``emotions`` classes."""
    fs = int(cache.meta["frame_skip"])
    keys = [k for k in cache.keys() if k[0] == subject]
    if not keys:
        raise DatasetError(f"subject {subject} has no videos in the cache {cache.path}")
    maps, spot, names, valid, gmaps, gnames, gvid, ivs = [], [], [], [], [], [], [], []
    slices: dict[str, slice] = {}
    n_frames: dict[str, int] = {}
    pos = 0
    for _, video in keys:
        vf = cache.load(subject, video)
        s, nm = vf.labels(fs)
        maps.append(vf.maps.astype(np.float32))
        spot.append(s)
        names.extend(nm)
        valid.append(vf.valid)
        slices[video] = slice(pos, pos + len(s))
        pos += len(s)
        gmaps.append(vf.gt_maps.astype(np.float32))
        gnames.extend(g.emotion for g in vf.gt)
        gvid.extend([video] * len(vf.gt))
        ivs.extend(vf.intervals)
        n_frames[video] = vf.n_frames
    empty = np.zeros((0, 3, 42, 42), np.float32)
    return SubjectData(
        subject,
        np.concatenate(maps) if maps else empty,
        np.concatenate(spot).astype(np.float32),
        class_indices(names, emotions),
        np.concatenate(valid).astype(bool),
        slices,
        np.concatenate(gmaps) if gmaps else empty,
        class_indices(gnames, emotions),
        gvid,
        ivs,
        n_frames,
    )


def balanced_class_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """sklearn-"balanced" CE weights over the non-neutral classes present; neutral 0.

    ``w_c = n / (k * count_c)`` with ``n`` the number of non-neutral labels and ``k`` the
    number of non-neutral classes present; absent classes and neutral (the last class) get 0.

    Args:
        labels: ``(N,)`` int class indices in ``[0, n_classes)``.
        n_classes: C, including neutral.

    Returns:
        ``(n_classes,)`` float32.
    """
    labels = np.asarray(labels, np.int64)
    w = np.zeros(n_classes, np.float32)
    nn = labels[labels != n_classes - 1]
    if nn.size == 0:
        return w
    counts = np.bincount(nn, minlength=n_classes)[: n_classes - 1]
    present = counts > 0
    k = int(present.sum())
    w[: n_classes - 1][present] = nn.size / (k * counts[present])
    return w


def sample_fold(subjects: Sequence[SubjectData], rng: np.random.Generator, neg_ratio: float = 1.0
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The release's per-fold sampling of the given subjects.

    Keeps every valid positive spotting sample, ``round(neg_ratio * (#positive + #GT))``
    random valid negatives (all if fewer), and every GT recognition sample.

    Returns:
        ``maps (N, 3, 42, 42) float32, spot (N,) float32, cls (N,) int64``.
    """
    maps, spot, cls = [], [], []
    pos_parts, neg_idx, n_gt = [], [], 0
    offset = 0
    for sd in subjects:
        ok = sd.valid
        pos_parts.append(offset + np.flatnonzero(ok & (sd.spot > 0.5)))
        neg_idx.append(offset + np.flatnonzero(ok & (sd.spot <= 0.5)))
        n_gt += len(sd.gt_cls)
        offset += len(sd.spot)
    all_maps = [sd.maps for sd in subjects]
    all_spot = np.concatenate([sd.spot for sd in subjects]) if subjects else np.zeros(0, np.float32)
    all_cls = np.concatenate([sd.cls for sd in subjects]) if subjects else np.zeros(0, np.int64)
    pos = np.concatenate(pos_parts) if pos_parts else np.zeros(0, np.int64)
    neg = np.concatenate(neg_idx) if neg_idx else np.zeros(0, np.int64)
    n_neg = min(len(neg), int(round(neg_ratio * (len(pos) + n_gt))))
    chosen = np.sort(rng.choice(neg, size=n_neg, replace=False)) if n_neg else neg[:0]
    idx = np.concatenate([pos, chosen]).astype(np.int64)
    stacked = np.concatenate(all_maps) if all_maps else np.zeros((0, 3, 42, 42), np.float32)
    maps.append(stacked[idx])
    spot.append(all_spot[idx])
    cls.append(all_cls[idx])
    for sd in subjects:
        maps.append(sd.gt_maps)
        spot.append(np.ones(len(sd.gt_cls), np.float32))
        cls.append(sd.gt_cls)
    return (np.concatenate(maps).astype(np.float32), np.concatenate(spot).astype(np.float32),
            np.concatenate(cls).astype(np.int64))


def auto_input_scale(subjects: Sequence[SubjectData], max_rows: int = 20000, seed: int = 0) -> float:
    """A robust ``1 / std`` of the valid spotting maps (at most ``max_rows`` random rows).

    Values are clamped at the 99.5th percentile of ``|x|`` before the std, so that the rare
    huge scene-flow ``w`` values at depth edges do not set the scale.
    """
    rows = [sd.maps[sd.valid] for sd in subjects]
    x = np.concatenate(rows) if rows else np.zeros((0, 3, 42, 42), np.float32)
    if len(x) > max_rows:
        x = x[np.random.default_rng(seed).choice(len(x), max_rows, replace=False)]
    if x.size:
        lim = float(np.percentile(np.abs(x), 99.5))
        sd = float(np.std(np.clip(x, -lim, lim)))
    else:
        sd = 0.0
    if not np.isfinite(sd) or sd <= 0:
        return 1.0
    return float(1.0 / sd)
