"""Live statistics of the real-time engine: rates, latency windows and :class:`EngineStats`.

Everything here is bounded: rates and latency percentiles are computed over a sliding window
(the last few seconds or the last few hundred values), so an engine that runs for hours keeps
constant memory.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np


class RateMeter:
    """Events per second over a sliding time window.

    Args:
        window_s: length of the window in seconds.
        maxlen: at most this many event times are kept (bounds memory at high rates).
    """

    def __init__(self, window_s: float = 2.0, maxlen: int = 4096) -> None:
        if window_s <= 0:
            raise ValueError(f"window_s must be > 0, found {window_s}")
        self.window_s = float(window_s)
        self._times: deque[float] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self._start: float | None = None

    def tick(self, n: int = 1, now: float | None = None) -> None:
        """Record ``n`` events at time ``now`` (``time.perf_counter()`` by default), seconds."""
        t = time.perf_counter() if now is None else now
        with self._lock:
            if self._start is None:
                self._start = t
            for _ in range(n):
                self._times.append(t)

    def rate(self, now: float | None = None) -> float:
        """Events per second over the last ``window_s`` seconds (or since the first event)."""
        t = time.perf_counter() if now is None else now
        with self._lock:
            while self._times and self._times[0] < t - self.window_s:
                self._times.popleft()
            if self._start is None or not self._times:
                return 0.0
            span = min(self.window_s, t - self._start)
            if span <= 0:
                return 0.0
            return float(len(self._times) / span)

    def reset(self) -> None:
        with self._lock:
            self._times.clear()
            self._start = None


class LatencyWindow:
    """The last ``maxlen`` durations in milliseconds with their p50/p95.

    Args:
        maxlen: number of values kept.
    """

    def __init__(self, maxlen: int = 512) -> None:
        self._values: deque[float] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def add(self, ms: float) -> None:
        """Record one duration in milliseconds."""
        with self._lock:
            self._values.append(float(ms))

    def percentiles(self) -> tuple[float, float]:
        """(p50, p95) in milliseconds; (nan, nan) when nothing was recorded yet."""
        with self._lock:
            if not self._values:
                return float("nan"), float("nan")
            arr = np.fromiter(self._values, dtype=np.float64, count=len(self._values))
        p50, p95 = np.percentile(arr, [50.0, 95.0])
        return float(p50), float(p95)

    def __len__(self) -> int:
        return len(self._values)


def percentiles_ms(values: list[float] | np.ndarray) -> tuple[float | None, float | None]:
    """(p50, p95) of ``values`` (milliseconds) or (None, None) when empty."""
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return None, None
    p50, p95 = np.percentile(arr, [50.0, 95.0])
    return float(p50), float(p95)


@dataclass
class EngineStats:
    """A snapshot of the engine's live statistics.

    Attributes:
        input_fps: frames per second read from the source (last ~2 s).
        analyzed_per_s: scored samples per second (last ~2 s).
        latency_ms_p50, latency_ms_p95: frame arrival -> published score, over the last 512
            scored samples, milliseconds (nan before the first score).
        stage_ms: per stage (``capture``, ``face``, ``flow``, ``inference``) the (p50, p95)
            of its work time per item in milliseconds (``inference`` per batch).
        queue_depths: items waiting in each queue (``frames``, ``observed``, ``samples``,
            ``results``).
        dropped: drop counters: ``frames`` (capture queue full, oldest dropped),
            ``source`` (dropped inside the source, e.g. the camera's own queue),
            ``samples`` (scheduled samples that could not be computed because one of their
            two frames was dropped), ``results`` (published results nobody polled in time).
        frames_in: frames read from the source since start.
        frames_analyzed: samples scored by the network since start.
        backend: ``"cpu"`` or ``"cuda"``.
        source: the source's name.
        frames_skipped: frames not needed by any window (frame_skip > 1); not a drop.
        frames_observed: frames the face tracker processed. Once a finite stream has been
            flushed: ``frames_in == frames_skipped + dropped["frames"] + frames_observed``.
        samples_scheduled: samples due so far (scored + no face + dropped).
        samples_no_face: samples without a face in one of their two frames.
        frames_empty_depth: analysed frames whose face crop had (almost) no depth.
        gaps: the last no-face gaps as (first frame, last frame) pairs; an open gap has
            last frame -1.
            Once flushed: ``samples_scheduled == frames_analyzed + samples_no_face +
            dropped["samples"]``.
        frame_skip, k_sw: the scheduling of this run.
        batch_size_mean: mean number of samples per network call (last 512 calls).
        running, paused: engine state.
        position: index of the last frame read from the source.
        first_timestamp, last_timestamp: the source's timestamps (seconds) of the first and
            the last frame read (nan before the first frame).
    """

    input_fps: float = 0.0
    analyzed_per_s: float = 0.0
    latency_ms_p50: float = float("nan")
    latency_ms_p95: float = float("nan")
    stage_ms: dict[str, tuple[float, float]] = field(default_factory=dict)
    queue_depths: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    frames_in: int = 0
    frames_analyzed: int = 0
    backend: str = "cpu"
    source: str = ""
    frames_skipped: int = 0
    frames_observed: int = 0
    samples_scheduled: int = 0
    samples_no_face: int = 0
    frames_empty_depth: int = 0
    gaps: list[tuple[int, int]] = field(default_factory=list)
    frame_skip: int = 0
    k_sw: int = 0
    batch_size_mean: float = 0.0
    running: bool = False
    paused: bool = False
    position: int = -1
    first_timestamp: float = float("nan")
    last_timestamp: float = float("nan")

    @property
    def duration_s(self) -> float:
        """``last_timestamp - first_timestamp``: the span of the frames read, seconds (nan
        before the first frame)."""
        return self.last_timestamp - self.first_timestamp

    @property
    def dropped_total(self) -> int:
        """Sum of every drop counter."""
        return int(sum(self.dropped.values()))


@dataclass
class EngineCounters:
    """The engine's running counters (the engine guards them with one lock); see
    :class:`EngineStats` for their meaning."""

    frames_in: int = 0
    frames_skipped: int = 0
    frames_observed: int = 0
    frames_analyzed: int = 0
    samples_scheduled: int = 0
    samples_no_face: int = 0
    samples_dropped: int = 0
    results_dropped: int = 0
    empty_depth: int = 0
    position: int = -1
    first_timestamp: float = float("nan")
    last_timestamp: float = float("nan")
    gaps: deque = field(default_factory=lambda: deque(maxlen=64))
    batches: deque = field(default_factory=lambda: deque(maxlen=512))

    def note_frame(self, index: int, timestamp: float) -> None:
        """One frame read from the source (its index and timestamp, seconds)."""
        self.frames_in += 1
        self.position = index
        if self.first_timestamp != self.first_timestamp:  # nan: the first frame
            self.first_timestamp = float(timestamp)
        self.last_timestamp = float(timestamp)

    def track_gap(self, index: int, found: bool, state: dict) -> None:
        """Open a no-face gap at frame ``index`` or close the open one when the face returns
        (``state`` keeps the open gap between calls)."""
        if not found and state.get("open") is None:
            state["open"] = index
            self.gaps.append((index, -1))
        elif found and state.get("open") is not None:
            start = state.pop("open")
            last = state.get("last", index)
            for i in range(len(self.gaps) - 1, -1, -1):
                if self.gaps[i] == (start, -1):
                    self.gaps[i] = (start, last)
                    break
        state["last"] = index
