"""A virtual clock for pacing tests: time moves only when something sleeps on it."""

from __future__ import annotations

from collections.abc import Callable


class VirtualClock:
    """``clock()`` returns :attr:`now`; ``clock.sleep(s)`` advances it by ``s`` and logs it.

    ``on_sleep`` (optional) is called after each sleep, e.g. to set a stop event.
    """

    def __init__(self, start: float = 100.0) -> None:
        self.now = float(start)
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[], object] | None = None

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep()
