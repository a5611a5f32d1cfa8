"""Live spotting: :class:`StreamingSpotter` gives :func:`~rt_sfamnet.spotting.spot`'s intervals
one score at a time, each as soon as it can no longer change (``docs/spotting.md``)."""

from __future__ import annotations

import math

import numpy as np

from rt_sfamnet.spotting.config import TYPES, SpottedInterval, SpottingConfig, TypeParams
from rt_sfamnet.spotting.offline import (
    _WAIT,
    _scale,
    evaluate_peak,
    smooth_at,
    smooth_curves,
    spot_curves,
)


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
                curve, peak, p, length=None, labels=self._labels, macro_curve=self.macro_curve,
                scores=self._scores,
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
        final = spot_curves(micro, macro, labels, cfg, scores=s)
        rest = [iv for iv in final if (iv.type, iv.peak_sample) not in self._emitted]
        self._emitted.update((iv.type, iv.peak_sample) for iv in rest)
        return rest
