"""Offline release post-processing: smoothing, peaks, one interval per peak, :func:`spot`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy.signal import find_peaks

from rt_sfamnet.spotting.config import SpottedInterval, SpottingConfig, TypeParams, _sort_key

# --------------------------------------------------------------------------------- helpers


def _check_scores(scores) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"scores must be one-dimensional (n,), found shape {s.shape}")
    if s.size and not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite (found NaN or infinity)")
    return s


def smooth(scores, k: int) -> np.ndarray:
    """Centred box filter of length ``2k``: ``out[i] = mean(s[i-k .. i+k-1])``, zeros outside.

    The release calls ``np.convolve(scores, np.ones(2k) / (2k), "same")``, whose summation
    order depends on the BLAS kernel (and so on the CPU): its values can differ by an ulp
    between machines. This function fixes the order instead, so that its result is the same
    on every CPU, SIMD level and thread count: each value is
    ``((0 + s[i-k] * w) + s[i-k+1] * w) + ... + s[i+k-1] * w`` with ``w = 1 / (2k)``, summed
    left to right, samples outside the video contributing nothing. Offline this runs as ``2k``
    element-wise NumPy passes (element-wise IEEE operations round the same everywhere);
    :class:`StreamingSpotter` computes each value with :func:`smooth_at`, the same sum in the
    same order, so streaming equals offline bit for bit. It agrees with ``np.convolve`` to
    about one ulp.

    Args:
        scores: (n,) spotting scores. k: half-length in samples (>= 1).
    Returns:
        (n,) float64.
    """
    s = _check_scores(scores)
    if k < 1:
        raise ValueError(f"k must be >= 1, found {k}")
    n = s.size
    w = 1.0 / (2 * k)
    acc = np.zeros(n, dtype=np.float64)
    for j in range(-k, k):  # term j of out[i] is s[i + j] * w
        lo, hi = max(0, -j), min(n, n - j)
        if lo < hi:
            acc[lo:hi] += s[lo + j : hi + j] * w
    return acc


def smooth_at(scores: Sequence[float], i: int, k: int, n: int) -> float:
    """Value ``i`` of :func:`smooth` from the first ``n`` samples, in the same summation order."""
    w = 1.0 / (2 * k)
    acc = 0.0
    for j in range(max(0, i - k), min(n, i + k)):
        acc += float(scores[j]) * w
    return acc


def select_by_distance(positions: np.ndarray, heights: np.ndarray, distance: int) -> np.ndarray:
    """SciPy's ``find_peaks`` distance rule with a stable order (bool mask of kept peaks).

    Peaks are visited from the highest (equal heights: the later position first); each kept
    peak removes the not-yet-visited peaks closer than ``distance`` samples.
    """
    n = len(positions)
    keep = np.ones(n, dtype=bool)
    order = np.argsort(heights, kind="stable")
    for i in range(n - 1, -1, -1):
        j = order[i]
        if not keep[j]:
            continue
        m = j - 1
        while m >= 0 and positions[j] - positions[m] < distance:
            keep[m] = False
            m -= 1
        m = j + 1
        while m < n and positions[m] - positions[j] < distance:
            keep[m] = False
            m += 1
    return keep


def release_peaks(curve: np.ndarray, p: TypeParams) -> np.ndarray:
    """Peak samples of a smoothed curve as the release finds them (offset applied)."""
    k = p.k
    y = np.asarray(curve, dtype=np.float64)[k : len(curve) - k]
    if y.size < 3:
        return np.zeros(0, dtype=np.int64)
    pos, _ = find_peaks(y)
    pos = pos[y[pos] >= p.threshold]
    if pos.size > 1:
        pos = pos[select_by_distance(pos, y[pos], p.distance)]
    return pos.astype(np.int64) + k + p.peak_offset


def _mode(labels: Sequence[str]) -> str:
    counts = Counter(labels)
    if not counts:
        return ""
    return max(counts.items(), key=lambda kv: kv[1])[0]


def weighted_emotion(labels: Sequence[str], weights: Sequence[float]) -> str:
    """The label with the largest sum of weights (``emotion_rule="weighted"``).

    Args:
        labels: (n,) predicted class names of an interval's samples ("" = no prediction).
        weights: (n,) their raw spotting scores in [0, 1].

    Returns:
        The label whose samples' weights sum highest, summed in sample order (the same on
        every CPU); on a tie the label seen first. With every weight 0 (or no labelled
        sample) it falls back to the release's most common label.
    """
    if len(labels) != len(weights):
        raise ValueError(f"labels and weights must have one entry per sample, found "
                         f"{len(labels)} and {len(weights)}")
    sums: dict[str, float] = {}
    for name, w in zip(labels, weights, strict=True):
        if name:
            sums[name] = sums.get(name, 0.0) + float(w)
    if not sums or max(sums.values()) <= 0.0:
        return _mode([x for x in labels if x])
    best = max(sums.values())
    return next(name for name, v in sums.items() if v == best)


def _emotion(p: TypeParams, labels, scores, start: int, peak: int, end: int) -> str:
    if labels is None:
        return ""
    if p.emotion_rule == "weighted":
        if scores is None:
            raise ValueError("emotion_rule='weighted' needs the raw scores")
        return weighted_emotion(labels[start : end + 1], scores[start : end + 1])
    return _mode(labels[start : peak + 1])


_WAIT = object()


def _pick_end(curve, lo: int, hi: int, peak: int, threshold: float) -> int:
    seg = np.asarray(curve[lo : hi + 1], dtype=np.float64)
    above = seg > threshold
    if not above.any():
        return peak
    diffs = np.where(above, np.abs(seg - float(curve[peak])), -np.inf)
    return lo + int(np.argmax(diffs))


def evaluate_peak(
    curve,
    peak: int,
    p: TypeParams,
    *,
    length: int | None,
    labels: Sequence[str] | None,
    macro_curve=None,
    scores=None,
):
    """Steps 3-4 and 6 for one peak: a :class:`SpottedInterval` (``fs`` = 1), None, or _WAIT.

    ``curve``: the smoothed values known so far (array or list). ``length``: the video's
    length in samples when known (offline), else ``None`` (streaming): then an index past the
    known values means "not decided yet" and :data:`_WAIT` is returned. ``scores``: the raw
    scores known so far (needed by ``emotion_rule="weighted"``).
    """
    avail = len(curve)

    def bound(j: int):
        if length is not None:
            return min(j, length - 1)
        return j if j < avail else None

    hi = bound(peak + p.right)
    if hi is None:
        return _WAIT
    if p.gap is not None:
        if macro_curve is None or peak >= len(macro_curve):
            return _WAIT
        if abs(float(curve[peak]) - float(macro_curve[peak])) < p.gap:
            return None
    lo = max(0, peak - p.left)
    start = _pick_end(curve, lo, peak, peak, p.threshold)
    end = _pick_end(curve, peak, hi, peak, p.threshold)
    if p.widen and end - start < p.min_length:
        new_end = bound(end + p.widen)
        if new_end is None:
            return _WAIT
        start, end = max(0, start - p.widen), new_end
    if not (p.min_length <= end - start <= p.max_length):
        return None
    peak_value = float(curve[peak])
    if p.max_mean is not None:
        if float(np.mean(np.asarray(curve[start : end + 1], dtype=np.float64))) >= p.max_mean:
            return None
    if not (peak_value - float(curve[start]) > p.phase_dif and peak_value - float(curve[end]) > p.phase_dif):
        return None
    emotion = _emotion(p, labels, scores, start, peak, end)
    return SpottedInterval(p.kind, start, peak, end, emotion, peak_value, peak)


def _scale(iv: SpottedInterval, fs: int, cfg: SpottingConfig | None = None) -> SpottedInterval:
    extend = cfg.offset_extend if cfg is not None else 0
    return SpottedInterval(iv.type, iv.onset * fs, iv.apex * fs, iv.offset * fs + extend,
                           iv.emotion, iv.score, iv.peak_sample)


def _check_labels(labels, n: int) -> list[str] | None:
    if labels is None:
        return None
    out = [str(x) for x in labels]
    if len(out) != n:
        raise ValueError(f"labels must have one entry per score ({n}), found {len(out)}")
    return out


def smooth_curves(scores, config: SpottingConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(micro_curve, macro_curve), each (n,) float64: the smoothed score curves."""
    cfg = config or SpottingConfig()
    s = _check_scores(scores)
    return smooth(s, cfg.params("micro").k), smooth(s, cfg.params("macro").k)


def spot(scores, labels=None, config: SpottingConfig | None = None) -> list[SpottedInterval]:
    """Offline post-processing of one video (release procedure, see the module docstring).

    Args:
        scores: (n,) spotting scores in [0, 1], one per sample (every ``frame_skip`` frames).
        labels: (n,) predicted class names per sample (for the ME emotion), or None.
        config: :class:`SpottingConfig` (release values by default).

    Returns:
        The intervals in frames, sorted by onset.
    """
    cfg = config or SpottingConfig()
    s = _check_scores(scores)
    lab = _check_labels(labels, s.size)
    micro, macro = smooth_curves(s, cfg)
    if cfg.video_threshold is not None and s.size and float(np.mean(micro)) >= cfg.video_threshold:
        return []
    return spot_curves(micro, macro, lab, cfg, scores=s)


def spot_curves(micro, macro, labels, cfg: SpottingConfig,
                kinds: Sequence[str] = ("micro", "macro"), scores=None) -> list[SpottedInterval]:
    """Steps 2-4 and 6 on already smoothed curves (no video rule), for the types in ``kinds``.

    Args:
        micro, macro: (n,) smoothed curves (:func:`smooth_curves`). labels: (n,) class names
        or None. cfg: the values. kinds: the types to spot (both by default). scores: the
        (n,) raw scores, needed with labels when ``cfg.emotion_rule == "weighted"``.
    """
    n = len(micro)
    out: list[SpottedInterval] = []
    for kind, curve in (("micro", micro), ("macro", macro)):
        if kind not in kinds:
            continue
        p = cfg.params(kind)
        for peak in release_peaks(curve, p):
            iv = evaluate_peak(curve, int(peak), p, length=n, labels=labels, macro_curve=macro,
                               scores=scores)
            if isinstance(iv, SpottedInterval):
                out.append(_scale(iv, cfg.frame_skip, cfg))
    out.sort(key=_sort_key)
    return out
