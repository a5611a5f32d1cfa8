"""The first seconds of a stream: ``analyze --seconds S`` as a source that ends.

Stopping the engine after S seconds would discard the frames already read but not yet
analysed (how many depends on the machine's load), so the analysed span would vary from
run to run. :class:`LimitedSource` instead ends the stream itself after the frames whose
timestamps lie within S seconds of the first one; the engine then analyses every frame it
read, like at the end of a file, and a recording gives the same rows on every machine.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from rt_sfamnet.errors import ConfigError
from rt_sfamnet.frames import RGBDFrame
from rt_sfamnet.sources.base import Source, SourceWrapper


class LimitedSource(SourceWrapper):
    """``inner``'s frames with ``timestamp - first timestamp < seconds``, then the end.

    Attributes:
        cut: True once the limit ended the stream (frames were left unread).
        frames_read: frames delivered so far.
    """

    def __init__(self, inner: Source, seconds: float) -> None:
        if not 0 < seconds < math.inf:
            raise ConfigError(f"seconds must be a finite number > 0, found {seconds}")
        super().__init__(inner)
        self.seconds = float(seconds)
        self.cut = False
        self.frames_read = 0
        self.live = inner.live
        self.seekable = False
        self.realtime = inner.realtime

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.inner.name

    @property
    def path(self) -> object:
        """The inner source's file or folder (None for a camera or the simulator)."""
        return getattr(self.inner, "path", None)

    def open(self) -> LimitedSource:
        self.inner.open()
        return self

    def close(self) -> None:
        self.inner.close()

    def __iter__(self) -> Iterator[RGBDFrame]:
        t0: float | None = None
        for frame in self.inner:
            if t0 is None:
                t0 = frame.timestamp
            if frame.timestamp - t0 >= self.seconds - 1e-9:
                self.cut = True
                return
            self.frames_read += 1
            yield frame

    @property
    def frame_count(self) -> int | None:
        n = self.inner.frame_count
        if n is None:
            return None
        return min(n, math.ceil(self.seconds * float(self.fps or 30.0) - 1e-6))


