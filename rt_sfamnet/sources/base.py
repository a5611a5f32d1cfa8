"""The one interface every frame source implements.

A Source is opened, iterated for :class:`~rt_sfamnet.frames.RGBDFrame` objects, and closed;
it is also a context manager::

    with open_source("sim", seed=3) as src:
        for frame in src:
            ...

Sources that replay a file set ``seekable = True`` and implement :meth:`Source.seek`.
Sources that know the true expressions (the simulator, simulated recordings with their
``.gt.csv`` sidecar) return them from :attr:`Source.ground_truth`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

from rt_sfamnet.frames import Intrinsics, RGBDFrame
from rt_sfamnet.intervals import Interval


class Source(ABC):
    """Base class of frame sources (camera, recording, simulator, frame folder).

    Attributes:
        name: a short human-readable description (shown in the GUI status bar).
        fps: nominal frame rate in frames per second.
        seekable: True if :meth:`seek` works.
        live: True for a live camera (frames are dropped, not waited for, when slow).
    """

    name: str = "source"
    fps: float = 30.0
    seekable: bool = False
    live: bool = False

    @abstractmethod
    def open(self) -> Source:
        """Acquire the device or file. Returns ``self``. Raises a SourceError subclass."""

    @abstractmethod
    def __iter__(self) -> Iterator[RGBDFrame]:
        """Yield frames in order until the end of the stream (or forever for live sources)."""

    @abstractmethod
    def close(self) -> None:
        """Release the device or file. Safe to call more than once."""

    @property
    def intrinsics(self) -> Intrinsics | None:
        """Colour intrinsics once opened (None if unknown before the first frame)."""
        return None

    @property
    def frame_count(self) -> int | None:
        """Number of frames for finite sources (None if unknown or live)."""
        return None

    @property
    def ground_truth(self) -> list[Interval] | None:
        """True expression intervals in this stream's frame numbers, if known."""
        return None

    @property
    def has_depth(self) -> bool:
        """False for a colour-only source (video, webcam, folder without depth); known before
        :meth:`open`, since it chooses the weights (:func:`rt_sfamnet.weights.default_weights`)."""
        return True

    def seek(self, index: int) -> None:
        """Continue iteration at frame ``index`` (only where ``seekable``)."""
        from rt_sfamnet.errors import SourceError

        raise SourceError(f"{self.name} cannot seek: expected a recording or frame folder, "
                          f"found a {type(self).__name__}")

    def __enter__(self) -> Source:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
