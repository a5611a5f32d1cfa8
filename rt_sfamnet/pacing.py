"""Real-time pacing of a frame stream: the one implementation used by the engine and sources.

A :class:`Pacer` releases frames at the stream's rate on the wall clock. The first frame
after construction, :meth:`Pacer.reset` or :meth:`Pacer.set_speed` *anchors* the schedule
(it is released at once); frame ``index`` is then due

    anchor_wall + (index - anchor_index) / (fps * speed)    seconds (``clock()`` time).

A consumer that falls more than :data:`MAX_BEHIND_S` behind the schedule re-anchors at the
late frame instead of bursting through the backlog. Waits sleep in slices of at most
:data:`SLICE_S` and end early once the ``stop`` event is set.

:meth:`Pacer.wait_time` does the same with a frame's own timestamp (seconds) in place of
``index / fps``, for recordings whose frames are not evenly spaced.

Leaf module: the standard library only.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

__all__ = ["MAX_BEHIND_S", "SLICE_S", "Pacer"]

#: Seconds behind schedule past which the pacer re-anchors instead of bursting.
MAX_BEHIND_S = 0.5
#: Longest single sleep, seconds (so that ``stop`` is noticed quickly).
SLICE_S = 0.02


class Pacer:
    """Sleeps until each frame of a stream is due at ``fps * speed`` frames per second.

    Args:
        fps: the stream's nominal frame rate, frames/s (> 0).
        speed: playback speed factor (> 0; 2.0 = twice real time).
        stop: when set, a wait returns at once.
        clock: the wall clock, seconds (``time.perf_counter``); injectable for tests.
        sleep: the sleep function, seconds (``time.sleep``); injectable for tests.

    Thread safety: :meth:`reset` and :meth:`set_speed` may be called from any thread; the
    waits belong to the one thread that delivers the frames.
    """

    def __init__(
        self,
        fps: float,
        speed: float = 1.0,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if not (fps > 0 and math.isfinite(fps)):
            raise ValueError(f"fps must be positive and finite, found {fps}")
        _check_speed(speed)
        self.fps = float(fps)
        self.stop = stop
        self._speed = float(speed)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._reset = True
        # (wall time, stream position, positions per second) of the anchor frame
        self._anchor: tuple[float, float, float] | None = None

    @property
    def speed(self) -> float:
        return self._speed

    def reset(self) -> None:
        """Re-anchor at the next wait (after a seek, a pause or a restart)."""
        with self._lock:
            self._reset = True

    def set_speed(self, speed: float) -> None:
        """Change the speed factor (> 0); the schedule re-anchors at the next wait."""
        _check_speed(speed)
        with self._lock:
            self._speed = float(speed)
            self._reset = True

    def wait(self, index: int) -> None:
        """Sleep until frame ``index`` (0-based, at ``fps``) is due; see the module doc."""
        self._wait(float(index), self.fps)

    def wait_time(self, t_s: float) -> None:
        """Sleep until the frame with stream timestamp ``t_s`` (seconds) is due."""
        self._wait(float(t_s), 1.0)

    def _wait(self, pos: float, per_s: float) -> None:
        with self._lock:
            reset, speed = self._reset, self._speed
            self._reset = False
        now = self._clock()
        anchor = self._anchor
        if reset or anchor is None or anchor[2] != per_s:
            self._anchor = (now, pos, per_s)
            return
        due = anchor[0] + (pos - anchor[1]) / (per_s * speed)
        if due - now < -MAX_BEHIND_S:  # far behind (slow consumer): re-anchor, do not burst
            self._anchor = (now, pos, per_s)
            return
        while self.stop is None or not self.stop.is_set():
            remaining = due - self._clock()
            if remaining <= 0:
                break
            self._sleep(min(remaining, SLICE_S))


def _check_speed(speed: float) -> None:
    if not (speed > 0 and math.isfinite(speed)):
        raise ValueError(f"speed must be positive and finite, found {speed}")
