"""A fold's data: subjects read lazily from the cache, the release's sampling, class weights,
the input-scale statistic.

Memory is bounded by what a fold samples, not by the dataset: a :class:`SubjectData` holds
only per-sample labels (13 bytes a sample); maps are gathered row by row from the cache's
memory-mapped ``.npy`` files when a fold samples them (:meth:`SubjectData.rows`), and the
maps are unmapped again. A float16 cache's rows stay float16 in memory (half the size); the
trainer casts each batch to float32 (float16 is a storage format only: compute is float32).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rt_sfamnet.datasets.cache import MAP_SHAPE, FeatureCache
from rt_sfamnet.datasets.labels import class_indices, sample_labels
from rt_sfamnet.errors import DatasetError
from rt_sfamnet.intervals import Interval

#: rows of the training subjects used for the input-scale statistic (at most).
SCALE_ROWS = 5000


@dataclass
class SubjectData:
    """One subject's samples: labels in memory, maps on disk.

    Attributes:
        cache: the feature cache the maps are read from.
        videos: the subject's videos, in cache order.
        spot: ``(N,)`` float32 targets; ``cls`` ``(N,)`` int64 class indices; ``valid``
            ``(N,)`` bool, over the concatenated spotting samples of the videos.
        video_slices: video name -> slice into those arrays.
        gt_cls: ``(M,)`` class indices of the ground-truth recognition samples.
        gt_videos: ``(M,)`` video of each GT sample; ``gt_rows`` its row in that video.
        intervals: every annotated interval of the subject's videos (0-based frames).
        n_frames: video name -> frames.
    """

    subject: str
    cache: FeatureCache
    videos: list[str]
    spot: np.ndarray
    cls: np.ndarray
    valid: np.ndarray
    video_slices: dict[str, slice]
    gt_cls: np.ndarray
    gt_videos: list[str]
    gt_rows: np.ndarray
    intervals: list[Interval]
    n_frames: dict[str, int]

    def __len__(self) -> int:
        return len(self.spot)

    def rows(self, idx: np.ndarray, dtype=np.float32) -> np.ndarray:
        """Spotting maps of the samples ``idx`` (indices into :attr:`spot`), as ``dtype``
        (float32, or float16 to keep a float16 cache's storage) ``(len(idx), 3, 42, 42)``,
        unscaled; only those rows are read."""
        idx = np.asarray(idx, np.int64)
        out = np.empty((len(idx),) + MAP_SHAPE, dtype)
        for video in self.videos:
            sl = self.video_slices[video]
            sel = np.flatnonzero((idx >= sl.start) & (idx < sl.stop))
            if len(sel):
                out[sel] = self._read(video, "maps", idx[sel] - sl.start, dtype)
        return out

    def video_maps(self, video: str) -> np.ndarray:
        """Every spotting map of one video, float32 ``(n, 3, 42, 42)``."""
        sl = self.video_slices[video]
        return self._read(video, "maps", np.arange(sl.stop - sl.start))

    def gt_maps(self, dtype=np.float32) -> np.ndarray:
        """The ground-truth recognition maps, ``dtype`` ``(M, 3, 42, 42)``."""
        out = np.empty((len(self.gt_cls),) + MAP_SHAPE, dtype)
        names = np.asarray(self.gt_videos, dtype=object)
        for video in self.videos:
            sel = np.flatnonzero(names == video)
            if len(sel):
                out[sel] = self._read(video, "gt_maps", self.gt_rows[sel], dtype)
        return out

    def _read(self, video: str, which: str, rows: np.ndarray, dtype=np.float32) -> np.ndarray:
        vf = self.cache.load(self.subject, video)
        arr = vf.maps if which == "maps" else vf.gt_maps
        order = np.argsort(rows, kind="stable")  # read the file front to back
        out = np.empty((len(rows),) + MAP_SHAPE, dtype)
        out[order] = arr[rows[order]]
        del vf, arr  # unmap: touched pages leave this process
        return out


def load_subject(cache: FeatureCache, subject: str, emotions: int, mae: str = "none") -> SubjectData:
    """One subject's labels for ``emotions`` classes (maps stay on disk); ``mae``: the MaE
    pseudo-label mode (:func:`rt_sfamnet.datasets.labels.pseudo_labels`)."""
    fs = int(cache.meta["frame_skip"])
    keys = cache.keys(subject)
    if not keys:
        raise DatasetError(f"subject {subject} has no videos in the cache {cache.path}")
    spot, cls, valid, gnames, gvid, grows, ivs = [], [], [], [], [], [], []
    slices: dict[str, slice] = {}
    n_frames: dict[str, int] = {}
    pos = 0
    for _, video in keys:
        vf = cache.load(subject, video)
        s, c = sample_labels(len(vf.frames), vf.intervals, fs, emotions, mae)
        spot.append(s)
        cls.append(c)
        valid.append(np.asarray(vf.valid, bool))
        slices[video] = slice(pos, pos + len(s))
        pos += len(s)
        gnames.extend(g.emotion for g in vf.gt)
        gvid.extend([video] * len(vf.gt))
        grows.extend(range(len(vf.gt)))
        ivs.extend(vf.intervals)
        n_frames[video] = vf.n_frames
    return SubjectData(subject, cache, [v for _, v in keys], np.concatenate(spot),
                       np.concatenate(cls), np.concatenate(valid), slices,
                       class_indices(gnames, emotions), gvid, np.asarray(grows, np.int64), ivs,
                       n_frames)


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


def sample_fold(subjects: Sequence[SubjectData], rng: np.random.Generator, neg_ratio: float = 1.0,
                with_gt: bool = True, dtype=np.float32
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The release's per-fold sampling of the given subjects; reads only the kept rows.

    Keeps every valid positive spotting sample, ``round(neg_ratio * (#positive + #GT))``
    random valid negatives (all if fewer), and every GT recognition sample. ``with_gt``
    False is the release's validation set: no GT samples, ``round(neg_ratio * #positive)``
    negatives. ``dtype`` float16 keeps a float16 cache's maps in float16 (half the memory;
    :func:`~rt_sfamnet.training.fit.train_model` computes in float32).

    Returns:
        ``maps (N, 3, 42, 42) dtype, spot (N,) float32, cls (N,) int64``.
    """
    pos_parts, neg_parts, n_gt = [], [], 0
    offset = 0
    for sd in subjects:
        pos_parts.append(offset + np.flatnonzero(sd.valid & (sd.spot > 0.5)))
        neg_parts.append(offset + np.flatnonzero(sd.valid & (sd.spot <= 0.5)))
        n_gt += len(sd.gt_cls) if with_gt else 0
        offset += len(sd)
    pos = np.concatenate(pos_parts) if pos_parts else np.zeros(0, np.int64)
    neg = np.concatenate(neg_parts) if neg_parts else np.zeros(0, np.int64)
    n_neg = min(len(neg), int(round(neg_ratio * (len(pos) + n_gt))))
    chosen = np.sort(rng.choice(neg, size=n_neg, replace=False)) if n_neg else neg[:0]
    idx = np.concatenate([pos, chosen]).astype(np.int64)
    maps_s = np.empty((len(idx),) + MAP_SHAPE, dtype)
    spot_s = np.empty(len(idx), np.float32)
    cls_s = np.empty(len(idx), np.int64)
    offset = 0
    for sd in subjects:  # rows in the order of idx (all positives, then the negatives)
        sel = np.flatnonzero((idx >= offset) & (idx < offset + len(sd)))
        mine = idx[sel] - offset
        offset += len(sd)
        maps_s[sel] = sd.rows(mine, dtype)
        spot_s[sel] = sd.spot[mine]
        cls_s[sel] = sd.cls[mine]
    parts_m, parts_s, parts_c = [maps_s], [spot_s], [cls_s]
    if with_gt:
        for sd in subjects:
            parts_m.append(sd.gt_maps(dtype))
            parts_s.append(np.ones(len(sd.gt_cls), np.float32))
            parts_c.append(sd.gt_cls)
    maps = np.concatenate(parts_m) if len(parts_m) > 1 else parts_m[0]
    return maps, _cat1(parts_s, np.float32), _cat1(parts_c, np.int64)


def _cat1(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)


def auto_input_scale(subjects: Sequence[SubjectData], max_rows: int = SCALE_ROWS,
                     seed: int = 0) -> float:
    """A robust ``1 / std`` of the valid spotting maps of ``subjects`` (pass the training
    subjects only), from at most ``max_rows`` random rows (only those are read).

    Values are clamped at the 99.5th percentile of ``|x|`` before the std, so that the rare
    huge scene-flow ``w`` values at depth edges do not set the scale.
    """
    valid = [np.flatnonzero(sd.valid) for sd in subjects]
    counts = np.array([len(v) for v in valid], np.int64)
    total = int(counts.sum())
    if total == 0:
        return 1.0
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(total, size=min(max_rows, total), replace=False))
    starts = np.concatenate([[0], np.cumsum(counts)])
    x = np.concatenate([sd.rows(v[pick[(pick >= a) & (pick < b)] - a])
                        for sd, v, a, b in zip(subjects, valid, starts[:-1], starts[1:],
                                               strict=True)])
    lim = float(np.percentile(np.abs(x), 99.5))
    np.clip(x, -lim, lim, out=x)
    flat = x.reshape(len(x), -1)
    s1 = s2 = 0.0
    for i in range(0, len(flat), 256):  # float64 sums without a float64 copy of x
        c = flat[i : i + 256].astype(np.float64)
        s1 += float(c.sum())
        s2 += float(np.square(c).sum())
    mean = s1 / flat.size
    sd = float(np.sqrt(max(s2 / flat.size - mean * mean, 0.0)))
    if not np.isfinite(sd) or sd <= 0:
        return 1.0
    return float(1.0 / sd)
