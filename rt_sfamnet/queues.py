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
                    self._cond.wait(poll_s)
            self._append(item)
        return True

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
