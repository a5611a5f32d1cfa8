"""A small bounded FIFO with two put policies, the one queue of the engine and the sources.

- :meth:`BoundedQueue.put_drop_oldest` never blocks: when the queue is full the oldest data
  item is removed (and counted in :attr:`BoundedQueue.dropped`) to make room. Used where
  frames come from a clock that does not wait (a live camera and its SDK callback, a
  recording paced in real time).
- :meth:`BoundedQueue.put_wait` blocks while the queue is full (backpressure), waking up
  regularly to check a stop event. Used where nothing is lost by waiting (a file read as
  fast as possible, the SDK's non-real-time playback) and between the engine's own worker
  threads.

Control items (subclasses of :class:`Control`: stream resets and end-of-stream markers) are
never dropped.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any


class Control:
    """Base class of in-band control items (never dropped by :meth:`put_drop_oldest`)."""


class BoundedQueue:
    """A thread-safe bounded FIFO.

    Args:
        maxsize: the most data items held (control items may exceed it by a few).
        name: shown in statistics.
    """

    def __init__(self, maxsize: int, name: str = "queue") -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be >= 1, found {maxsize}")
        self.maxsize = int(maxsize)
        self.name = name
        self._items: deque[Any] = deque()
        self._data = 0  # number of non-control items
        self._cond = threading.Condition()
        self.dropped = 0
        self.waiting = 0  # producers blocked in put_wait on a full queue now

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def _append(self, item: Any) -> None:
        self._items.append(item)
        if not isinstance(item, Control):
            self._data += 1
        self._cond.notify_all()

    def put_drop_oldest(self, item: Any) -> int:
        """Append ``item`` without blocking; returns how many old data items were dropped."""
        dropped = 0
        with self._cond:
            if not isinstance(item, Control):
                while self._data >= self.maxsize:
                    for i, old in enumerate(self._items):
                        if not isinstance(old, Control):
                            del self._items[i]
                            self._data -= 1
                            dropped += 1
                            break
            self.dropped += dropped
            self._append(item)
        return dropped

    def put_wait(self, item: Any, stop: threading.Event, poll_s: float = 0.05) -> bool:
        """Append ``item``, waiting while the queue is full; False if ``stop`` was set first."""
        with self._cond:
            if not isinstance(item, Control):
                while self._data >= self.maxsize:
                    if stop.is_set():
                        return False
                    self.waiting += 1
                    self._cond.notify_all()  # for wait_until(lambda: q.waiting ...)
                    try:
                        self._cond.wait(poll_s)
                    finally:
                        self.waiting -= 1
            self._append(item)
        return True

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block until ``predicate()`` holds (checked at every change of the queue: a put, a
        get, a clear, a producer starting to wait) or ``timeout`` s passed; returns it.

        For observers that must act on the queue's state, e.g. a test holding its consumer
        until a camera has dropped frames, without sleeping.
        """
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def get_many(self, max_items: int, timeout: float) -> list[Any]:
        """Up to ``max_items`` items in order; waits up to ``timeout`` s for the first one.

        A control item ends the batch (it is returned as the batch's last item), so that the
        consumer handles everything before a reset or end marker first.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._items:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._cond.wait(remaining)
            out: list[Any] = []
            while self._items and len(out) < max_items:
                item = self._items.popleft()
                out.append(item)
                if isinstance(item, Control):
                    break
                self._data -= 1
            self._cond.notify_all()
            return out

    def clear(self) -> int:
        """Remove every data item (control items stay); returns how many were removed."""
        with self._cond:
            kept = deque(i for i in self._items if isinstance(i, Control))
            removed = len(self._items) - len(kept)
            self._items = kept
            self._data = 0
            self._cond.notify_all()
            return removed
