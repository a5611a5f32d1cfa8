"""Frame numbers to true times: the events' ``start_s`` / ``end_s``.

Reported times are the source's own timestamps, never ``frame / fps``: a variable-frame-rate
video's frame 100 is not at ``100 / fps`` seconds. :class:`FrameTimes` learns the timestamp
of every frame a run reports (the rows of ``frames.csv``) and answers the time of any frame:
exact for a frame it has seen, interpolated between two it has seen, and extrapolated by the
median frame interval (``1 / fps``) beyond them. Times are seconds from the stream's first
frame (its ``origin``), on the source's clock.
"""

from __future__ import annotations

import bisect
import math

__all__ = ["FrameTimes"]


class FrameTimes:
    """Frame -> seconds from the first frame, from the frames seen so far.

    Args:
        fps: the source's rate (``1 / median frame interval``), frames/s, for extrapolation
            and before any frame is known.

    Attributes:
        origin: the timestamp of the stream's first frame (seconds, the source's clock); None
            until :meth:`set_origin` or the first :meth:`add`.
    """

    def __init__(self, fps: float) -> None:
        if not (fps > 0 and math.isfinite(fps)):
            raise ValueError(f"fps must be positive and finite, found {fps}")
        self.fps = float(fps)
        self.origin: float | None = None
        self._frames: list[int] = []
        self._times: list[float] = []

    def set_origin(self, timestamp: float) -> None:
        """The first frame's timestamp (ignored when not finite or already set)."""
        if self.origin is None and math.isfinite(timestamp):
            self.origin = float(timestamp)

    def add(self, frame: int, timestamp: float) -> None:
        """Frame ``frame`` is at ``timestamp`` seconds (frames in increasing order; others and
        non-finite times are ignored)."""
        t = float(timestamp)
        if not math.isfinite(t) or (self._frames and int(frame) <= self._frames[-1]):
            return
        self.set_origin(t)
        self._frames.append(int(frame))
        self._times.append(t)

    def timestamp(self, frame: int) -> float:
        """The source-clock time of ``frame``, seconds (``frame / fps`` with no frame known)."""
        fs, ts, dt = self._frames, self._times, 1.0 / self.fps
        if not fs:
            return frame * dt
        i = bisect.bisect_left(fs, frame)
        if i < len(fs) and fs[i] == frame:
            return ts[i]
        if i == 0:
            return ts[0] - (fs[0] - frame) * dt
        if i == len(fs):
            return ts[-1] + (frame - fs[-1]) * dt
        f0, f1, t0, t1 = fs[i - 1], fs[i], ts[i - 1], ts[i]
        return t0 + (t1 - t0) * (frame - f0) / (f1 - f0)

    def seconds(self, frame: int) -> float:
        """Seconds from the stream's first frame to ``frame`` (``frame / fps`` with no frame
        known)."""
        origin = self.origin if self.origin is not None else 0.0
        return self.timestamp(frame) - origin
