"""Spotting post-processing: a video's score curve -> micro- and macro-expression intervals.

Offline (:func:`spot`) this is the authors' release post-processing (OFFICIAL-SFAMNET §4),
quirks included; :class:`StreamingSpotter` computes the same intervals one score at a time.

Units: the network gives one score every ``frame_skip`` frames; score *sample* ``i`` belongs to
frame ``i * frame_skip`` (the first frame of its flow window). Every length below is in
samples; intervals are reported in frames (``sample * frame_skip``).

Release procedure, per expression type (micro: ``k = 15 // fs``, macro: ``k = 20 // fs``):

1. Smooth the scores with a centred box filter of length ``2k`` (the mean of samples
   ``i - k .. i + k - 1``, zero outside the video; the release's
   ``np.convolve(s, ones(2k) / 2k, "same")`` computed in a fixed summation order, see
   :func:`smooth`).
2. Peaks: ``find_peaks(curve[k:-k], height=threshold, distance=(left + right) // 2)``; the
   release adds ``k - 1`` to micro peak indices and ``k`` to macro ones (so a micro "peak" is
   one sample left of the local maximum: ``micro_peak_offset = -1``).
3. Onset: the index in ``[peak - left, peak]`` whose smoothed score is above the threshold and
   differs most from the peak's (leftmost on ties); offset likewise in ``[peak, peak + right]``;
   both default to the peak.
4. Micro kept if ``min <= end - start <= max``, the mean smoothed score over ``[start, end]``
   is below ``micro_max_mean`` (0.725), and the peak exceeds both ends by more than
   ``micro_phase_dif``. Macro: if ``end - start < min`` widen both sides by ``macro_widen``
   (clipped to the video); kept if within ``[min, max]`` and the peak exceeds both ends by
   more than ``macro_phase_dif``.
5. If the mean of the micro-smoothed curve over the whole video is ``>= video_threshold``, the
   video yields no interval.
6. Interval frames ``[start * fs, end * fs + offset_extend]`` (``offset_extend`` 0 in the
   release), apex ``peak * fs``; emotion (micro only) = the
   most common predicted class over samples ``[start, peak]`` (ties: first seen).

Determinism: peaks of equal height within ``distance`` are ranked by position (the later one
wins), a stable order; SciPy's own ``find_peaks`` uses an unstable sort there, so its choice
between exactly equal heights may differ between machines. Without exact ties the result is
the same as SciPy's (tested).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
from scipy.signal import find_peaks

from rt_sfamnet.errors import ConfigError

TYPES = ("micro", "macro")


@dataclass
class SpottingConfig:
    """Every value of the post-processing; ``None`` means "the variant's default".

    Lengths are in score samples. Defaults derive from the release's values in frames at
    30 FPS, scaled by ``fps / 30`` and divided (``//``) by ``frame_skip``: ``k_micro`` 15,
    ``k_macro`` 20, micro length ``[15, 32]``, macro ``[25, 90]``, search distances micro
    left 15 / right 32, macro 50 / 50, ``macro_widen`` ``(50 // fs) // 3``.

    ``variant="release"`` (default): thresholds 0.576, ``micro_phase_dif`` 0.017, no
    micro/macro gap rule. ``variant="paper"`` (the paper's / MTSN's list): thresholds 0.58,
    ``micro_phase_dif`` 0.02, and an ME peak is dropped when the macro curve at the same sample
    differs from the micro curve by less than ``micro_macro_gap`` = 0.02.

    ``video_threshold``: the whole-video rule (``None`` disables it). ``live_video_rule``: how
    :class:`StreamingSpotter` handles it, since the whole-video mean is unknown until the end:
    ``"running"`` (an interval is emitted only while the running mean of the final
    micro-smoothed values is below the threshold; at ``finish()`` the true rule decides the
    rest), ``"ignore"`` (never applied live; ``finish()`` applies nothing either) or
    ``"defer"`` (hold every interval until ``finish()``: exact, but no live output).

    ``offset_extend`` (frames, default 0 = the release): the release reports an interval's
    offset at the *first* frame of its last sample's flow window, although that sample sees
    the motion of frames ``f .. f + k_SW``. For expressions about as short as the window,
    ``offset_extend = k_SW`` (the last frame the last sample sees) places the offset where the
    motion ends. It is added to every interval's offset (micro and macro), does not change
    which intervals are found, and is not clipped to the video's last frame.

    TOML has no null: to switch a rule off from a config file use a value that never fires,
    ``video_threshold = 1.5`` and ``micro_max_mean = 1.5`` (smoothed scores are <= 1), and
    ``micro_macro_gap = 0.0``.
    """

    frame_skip: int = 2
    fps: float = 30.0
    variant: Literal["release", "paper"] = "release"
    k_micro: int | None = None
    k_macro: int | None = None
    micro_min_length: int | None = None
    micro_max_length: int | None = None
    macro_min_length: int | None = None
    macro_max_length: int | None = None
    micro_left: int | None = None
    micro_right: int | None = None
    macro_left: int | None = None
    macro_right: int | None = None
    micro_distance: int | None = None
    macro_distance: int | None = None
    micro_threshold: float | None = None
    macro_threshold: float | None = None
    micro_phase_dif: float | None = None
    macro_phase_dif: float | None = None
    micro_max_mean: float | None = 0.725
    macro_widen: int | None = None
    micro_peak_offset: int = -1
    macro_peak_offset: int = 0
    micro_macro_gap: float | None = None
    video_threshold: float | None = 0.41
    live_video_rule: Literal["running", "ignore", "defer"] = "running"
    offset_extend: int = 0

    def __post_init__(self) -> None:
        oe = self.offset_extend
        if not isinstance(oe, int) or isinstance(oe, bool) or oe < 0:
            raise ConfigError(f"spotting.offset_extend must be an integer >= 0 (frames), found {oe!r}")
        if self.variant not in ("release", "paper"):
            raise ConfigError(f"spotting.variant must be 'release' or 'paper', found {self.variant!r}")
        if self.live_video_rule not in ("running", "ignore", "defer"):
            raise ConfigError(
                "spotting.live_video_rule must be 'running', 'ignore' or 'defer', found "
                f"{self.live_video_rule!r}"
            )
        if not isinstance(self.frame_skip, int) or self.frame_skip < 1:
            raise ConfigError(f"spotting.frame_skip must be an integer >= 1, found {self.frame_skip!r}")
        if not self.fps > 0:
            raise ConfigError(f"spotting.fps must be > 0, found {self.fps!r}")
        for kind in TYPES:
            self.params(kind)  # validates

    def _frames(self, value_at_30fps: int) -> int:
        return int(round(value_at_30fps * self.fps / 30.0)) // self.frame_skip

    def params(self, kind: str) -> TypeParams:
        """The resolved values for ``"micro"`` or ``"macro"`` (validated)."""
        fs = self._frames
        paper = self.variant == "paper"
        if kind == "micro":
            k = self.k_micro if self.k_micro is not None else fs(15)
            left = self.micro_left if self.micro_left is not None else fs(15)
            right = self.micro_right if self.micro_right is not None else fs(32)
            p = TypeParams(
                kind="micro",
                k=k,
                left=left,
                right=right,
                min_length=self.micro_min_length if self.micro_min_length is not None else fs(15),
                max_length=self.micro_max_length if self.micro_max_length is not None else fs(32),
                distance=self.micro_distance if self.micro_distance is not None else (left + right) // 2,
                threshold=_pick(self.micro_threshold, 0.58 if paper else 0.576),
                phase_dif=_pick(self.micro_phase_dif, 0.02 if paper else 0.017),
                max_mean=self.micro_max_mean,
                widen=0,
                peak_offset=self.micro_peak_offset,
                gap=_pick(self.micro_macro_gap, 0.02 if paper else None),
            )
        elif kind == "macro":
            k = self.k_macro if self.k_macro is not None else fs(20)
            left = self.macro_left if self.macro_left is not None else fs(50)
            right = self.macro_right if self.macro_right is not None else fs(50)
            p = TypeParams(
                kind="macro",
                k=k,
                left=left,
                right=right,
                min_length=self.macro_min_length if self.macro_min_length is not None else fs(25),
                max_length=self.macro_max_length if self.macro_max_length is not None else fs(90),
                distance=self.macro_distance if self.macro_distance is not None else (left + right) // 2,
                threshold=_pick(self.macro_threshold, 0.58 if paper else 0.576),
                phase_dif=_pick(self.macro_phase_dif, 0.0),
                max_mean=None,
                widen=self.macro_widen if self.macro_widen is not None else fs(50) // 3,
                peak_offset=self.macro_peak_offset,
                gap=None,
            )
        else:
            raise ValueError(f"kind must be 'micro' or 'macro', found {kind!r}")
        p.validate()
        return p


def _pick(value, default):
    return default if value is None else value


class TypeParams(NamedTuple):
    """Resolved post-processing values of one expression type (lengths in samples)."""

    kind: str
    k: int
    left: int
    right: int
    min_length: int
    max_length: int
    distance: int
    threshold: float
    phase_dif: float
    max_mean: float | None
    widen: int
    peak_offset: int
    gap: float | None

    def validate(self) -> None:
        where = f"spotting ({self.kind})"
        if self.k < 1:
            raise ConfigError(f"{where}: smoothing half-length k must be >= 1 sample, found {self.k} "
                              "(frame_skip too large for the release lengths?)")
        if self.distance < 1:
            raise ConfigError(f"{where}: peak distance must be >= 1 sample, found {self.distance}")
        if self.left < 0 or self.right < 0 or self.widen < 0:
            raise ConfigError(f"{where}: search distances and widening must be >= 0")
        if self.min_length > self.max_length:
            raise ConfigError(
                f"{where}: min length {self.min_length} is above max length {self.max_length}"
            )
        if not -self.k <= self.peak_offset <= 1:
            raise ConfigError(
                f"{where}: peak offset must be within [-k, 1] = [-{self.k}, 1], found {self.peak_offset}"
            )


@dataclass
class SpottedInterval:
    """One spotted expression in frames of the video (0-based, inclusive).

    ``score`` is the smoothed score at the apex; ``peak_sample`` the apex in score samples.
    ``emotion`` is a class name for micro-expressions ("" for macro, or without labels).
    """

    type: str
    onset: int
    apex: int
    offset: int
    emotion: str
    score: float
    peak_sample: int = -1

    def to_dict(self) -> dict:
        return {
            "type": self.type,
            "onset": self.onset,
            "apex": self.apex,
            "offset": self.offset,
            "emotion": self.emotion,
            "score": self.score,
        }

    def to_interval(self, subject: str, video: str):
        """As an :class:`rt_sfamnet.intervals.Interval` (score kept in ``extra``)."""
        from rt_sfamnet.intervals import Interval

        return Interval(
            subject=subject, video=video, onset=self.onset, apex=self.apex, offset=self.offset,
            type=self.type, emotion=self.emotion, extra={"score": f"{self.score:.6f}"},
        )


def _sort_key(iv: SpottedInterval):
    return (iv.onset, iv.apex, iv.offset, TYPES.index(iv.type))


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
):
    """Steps 3-4 and 6 for one peak: a :class:`SpottedInterval` (``fs`` = 1), None, or _WAIT.

    ``curve``: the smoothed values known so far (array or list). ``length``: the video's
    length in samples when known (offline), else ``None`` (streaming): then an index past the
    known values means "not decided yet" and :data:`_WAIT` is returned.
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
    emotion = _mode(labels[start : peak + 1]) if (labels is not None and p.kind == "micro") else ""
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
    return _spot_curves(micro, macro, lab, cfg)


def _spot_curves(micro, macro, labels, cfg: SpottingConfig) -> list[SpottedInterval]:
    n = len(micro)
    out: list[SpottedInterval] = []
    for kind, curve in (("micro", micro), ("macro", macro)):
        p = cfg.params(kind)
        for peak in release_peaks(curve, p):
            iv = evaluate_peak(curve, int(peak), p, length=n, labels=labels, macro_curve=macro)
            if isinstance(iv, SpottedInterval):
                out.append(_scale(iv, cfg.frame_skip, cfg))
    out.sort(key=_sort_key)
    return out


# ------------------------------------------------------------------------------- streaming


class _Candidate:
    __slots__ = ("pos", "height", "kept")

    def __init__(self, pos: int, height: float) -> None:
        self.pos = pos
        self.height = height
        self.kept: bool | None = None

    def priority(self) -> tuple[float, int]:
        return (self.height, self.pos)


class _PeakTracker:
    """Incremental release peak finder on one smoothed curve (positions in slice units)."""

    def __init__(self, p: TypeParams) -> None:
        self.p = p
        self.t = -1  # last slice index seen
        self.run_start = 0
        self.run_value = 0.0
        self.run_rose = False
        self.cands: list[_Candidate] = []

    @property
    def frontier(self) -> int:
        """Every slice position <= frontier has a known candidate status."""
        return self.run_start - 1 if self.run_rose else self.t

    def feed(self, x: float) -> None:
        """Next value of ``curve[k:-k]`` (only values certain to lie inside that slice)."""
        self.t += 1
        t = self.t
        if t == 0:
            self.run_start, self.run_value, self.run_rose = 0, x, False
            return
        if x == self.run_value:
            return
        if self.run_rose and x < self.run_value:
            mid = (self.run_start + t - 1) // 2
            if self.run_value >= self.p.threshold:
                self.cands.append(_Candidate(mid, self.run_value))
        self.run_rose = x > self.run_value
        self.run_start, self.run_value = t, x

    def resolve(self) -> list[int]:
        """Decide what can be decided; returns newly kept peaks in curve samples."""
        d = self.p.distance
        frontier = self.frontier
        pending = [c for c in self.cands if c.kept is None]
        if not pending:
            self._prune(frontier)
            return []
        order = sorted(self.cands, key=_Candidate.priority, reverse=True)
        newly: list[int] = []
        for c in order:
            if c.kept is not None:
                continue
            higher = [
                h for h in self.cands
                if h is not c and abs(h.pos - c.pos) < d and h.priority() > c.priority()
            ]
            if any(h.kept is True for h in higher):
                c.kept = False
            elif all(h.kept is False for h in higher) and frontier >= c.pos + d - 1:
                c.kept = True
                newly.append(c.pos + self.p.k + self.p.peak_offset)
        self._prune(frontier)
        return sorted(newly)

    def _prune(self, frontier: int) -> None:
        d = self.p.distance
        pending = [c.pos for c in self.cands if c.kept is None]
        limit = (min(pending) if pending else frontier) - d
        self.cands = [c for c in self.cands if c.pos > limit]


class StreamingSpotter:
    """The release post-processing fed one score at a time.

    ``push(score, label)`` returns the intervals that became final with this sample;
    ``finish()`` (end of the video) returns the rest. Over a whole stream the intervals
    emitted equal :func:`spot` on the same scores and labels when ``video_threshold`` is None
    or ``live_video_rule="defer"``; with ``"ignore"`` they equal :func:`spot` with the video
    rule switched off; with ``"running"`` they equal :func:`spot` whenever the running mean
    never reached the threshold before the end (see ``docs/spotting.md``).

    Latency: an isolated peak (no other candidate peak within ``distance``) is emitted with
    the push of sample ``apex_sample + latency_samples[type]``, where for each type
    ``latency = max(k + 1 - offset, distance + k - 1 - offset, right + k - 1)`` (+ ``widen`` when
    a macro interval must be widened and its end is near the search limit); with the release
    values at ``frame_skip = 2`` that is 22 samples (44 frames) for micro and 34 samples
    (68 frames) for macro. Chains of candidate peaks closer than ``distance`` wait until the
    chain is decided. :attr:`latency_samples` is the micro-expression latency.

    Attributes:
        micro_curve, macro_curve: the final smoothed values so far (index = sample); after
            ``finish()`` the whole curves.
    """

    def __init__(self, config: SpottingConfig | None = None) -> None:
        self.config = config or SpottingConfig()
        self._p = {kind: self.config.params(kind) for kind in TYPES}
        self._scores: list[float] = []
        self._labels: list[str] = []
        self.micro_curve: list[float] = []
        self.macro_curve: list[float] = []
        self._trackers = {kind: _PeakTracker(self._p[kind]) for kind in TYPES}
        self._waiting: dict[str, list[int]] = {kind: [] for kind in TYPES}
        self._emitted: set[tuple[str, int]] = set()
        self._micro_sum = 0.0
        self._finished = False

    # -- latency
    def latency_by_type(self) -> dict[str, int]:
        """Samples from the apex sample to the push that emits an isolated peak, per type."""
        out = {}
        for kind, p in self._p.items():
            off = p.peak_offset
            out[kind] = max(p.k + 1 - off, p.distance + p.k - 1 - off, p.right + p.k - 1)
        return out

    @property
    def latency_samples(self) -> int:
        """Micro-expression latency in samples (multiply by ``frame_skip`` for frames)."""
        return self.latency_by_type()["micro"]

    @property
    def latency_frames(self) -> int:
        return self.latency_samples * self.config.frame_skip

    @property
    def samples(self) -> int:
        return len(self._scores)

    def _curve(self, kind: str) -> list[float]:
        return self.micro_curve if kind == "micro" else self.macro_curve

    def running_mean(self) -> float:
        """Mean of the final micro-smoothed values so far (0 before the first)."""
        return self._micro_sum / len(self.micro_curve) if self.micro_curve else 0.0

    def push(self, score: float, label: str | None = None) -> list[SpottedInterval]:
        """Add the next sample's score (and predicted class); returns newly final intervals."""
        if self._finished:
            raise RuntimeError("StreamingSpotter.push() after finish(); create a new spotter")
        x = float(score)
        if not math.isfinite(x):
            raise ValueError(f"score must be finite, found {score!r}")
        self._scores.append(x)
        self._labels.append("" if label is None else str(label))
        n = len(self._scores)
        for kind in TYPES:
            p = self._p[kind]
            curve = self._curve(kind)
            i = n - p.k  # the smoothed value that just became final
            if i >= 0:
                v = smooth_at(self._scores, i, p.k, n)
                curve.append(v)
                if kind == "micro":
                    self._micro_sum += v
            c = n - p.k - 1  # curve index now certain to lie inside curve[k:-k]
            if c >= p.k:
                tr = self._trackers[kind]
                tr.feed(curve[c])
                self._waiting[kind].extend(tr.resolve())
        out: list[SpottedInterval] = []
        for kind in TYPES:
            out.extend(self._try_intervals(kind))
        if self.config.live_video_rule == "defer" and self.config.video_threshold is not None:
            return []
        if (
            self.config.live_video_rule == "running"
            and self.config.video_threshold is not None
            and self.running_mean() >= self.config.video_threshold
        ):
            return []  # gated; finish() may still report them if the final mean is low
        for iv in out:
            self._emitted.add((iv.type, iv.peak_sample))
        return out

    def _try_intervals(self, kind: str) -> list[SpottedInterval]:
        p = self._p[kind]
        curve = self._curve(kind)
        still: list[int] = []
        out: list[SpottedInterval] = []
        for peak in self._waiting[kind]:
            iv = evaluate_peak(
                curve, peak, p, length=None, labels=self._labels, macro_curve=self.macro_curve
            )
            if iv is _WAIT:
                still.append(peak)
            elif isinstance(iv, SpottedInterval):
                out.append(_scale(iv, self.config.frame_skip, self.config))
        self._waiting[kind] = still
        return out

    def finish(self) -> list[SpottedInterval]:
        """End of the video: the remaining intervals (video rule per ``live_video_rule``)."""
        if self._finished:
            return []
        self._finished = True
        cfg = self.config
        s = np.asarray(self._scores, dtype=np.float64)
        micro, macro = smooth_curves(s, cfg)
        self.micro_curve = micro.tolist()
        self.macro_curve = macro.tolist()
        rule = cfg.video_threshold is not None and cfg.live_video_rule != "ignore"
        if rule and s.size and float(np.mean(micro)) >= cfg.video_threshold:
            return []
        labels = self._labels if self._labels else None
        final = _spot_curves(micro, macro, labels, cfg)
        rest = [iv for iv in final if (iv.type, iv.peak_sample) not in self._emitted]
        self._emitted.update((iv.type, iv.peak_sample) for iv in rest)
        return rest
