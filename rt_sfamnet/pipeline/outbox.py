"""What the engine's threads publish and :meth:`Engine.poll` hands out, behind one lock.

The inference thread publishes results, intervals and curve values (:meth:`Outbox.publish`);
the face thread sets the newest observation; any thread may record the first error. ``take()`` hands
everything new to the caller (the GUI timer, the headless runner) and empties the box. Memory
stays bounded: at most ``limit`` results and ``8 * limit`` curve values wait; older results
are dropped and counted.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

__all__ = ["Outbox"]


class Outbox:
    """Thread-safe outputs of the engine.

    Args:
        limit: results kept for the caller (older ones are dropped and counted).
    """

    def __init__(self, limit: int) -> None:
        self.limit = int(limit)
        self._lock = threading.Lock()
        self._results: deque = deque()
        self._intervals: list = []
        self._curves: dict[str, list[tuple[int, float]]] = {"micro": [], "macro": []}
        self._reset = False
        self.error: BaseException | None = None
        self.finished = False
        self.obs: Any = None
        self.obs_frame = -1

    def __len__(self) -> int:
        return len(self._results)

    def publish(self, results: list, intervals: list,
                curves: dict[str, list[tuple[int, float]]]) -> int:
        """Add new outputs; returns how many old results were dropped to stay in ``limit``."""
        with self._lock:
            self._results.extend(results)
            overflow = max(0, len(self._results) - self.limit)
            for _ in range(overflow):
                self._results.popleft()
            self._intervals.extend(intervals)
            for name in ("micro", "macro"):
                self._curves[name].extend(curves[name])
                extra = len(self._curves[name]) - 8 * self.limit
                if extra > 0:
                    del self._curves[name][:extra]
        return overflow

    def take(self) -> dict[str, Any]:
        """Everything new since the previous call (results, intervals, curves, reset) plus
        the current error, finished flag and newest observation."""
        with self._lock:
            out = {"results": list(self._results), "intervals": self._intervals,
                   "curves": self._curves, "reset": self._reset, "error": self.error,
                   "finished": self.finished, "observation": self.obs,
                   "observation_frame": self.obs_frame}
            self._results.clear()
            self._intervals = []
            self._curves = {"micro": [], "macro": []}
            self._reset = False
        return out

    def take_results(self) -> list:
        with self._lock:
            out = list(self._results)
            self._results.clear()
        return out

    def set_observation(self, obs: Any, frame: int) -> None:
        with self._lock:
            self.obs, self.obs_frame = obs, frame

    def set_error(self, exc: BaseException) -> bool:
        """Record ``exc`` unless an earlier error is recorded; True when it was recorded."""
        with self._lock:
            if self.error is None:
                self.error = exc
                return True
        return False

    def restart(self, flag: bool) -> None:
        """A new schedule (seek, live restart): what was waiting belongs to the old one."""
        with self._lock:
            self._results.clear()
            self._intervals = []
            self._curves = {"micro": [], "macro": []}
            self._reset = flag

    def finish(self, error: BaseException | None) -> None:
        with self._lock:
            if error is not None and self.error is None:
                self.error = error
            self.finished = True
