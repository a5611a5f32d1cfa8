"""The one interface every frame source implements.

A Source is opened, iterated for :class:`~rt_sfamnet.frames.RGBDFrame` objects, and closed;
it is also a context manager::

    with open_source("sim", seed=3) as src:
        for frame in src:
            ...

Sources that replay a file set ``seekable = True`` and implement :meth:`Source.seek`.
Sources never pace themselves: the engine releases frames on the wall clock where that is
asked for (``EngineConfig.realtime``) or where the source stands for a camera it computes on
demand (``realtime = True``, the simulator). Sources that know the true expressions (the simulator, simulated recordings with their
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
        fps: the frame rate in frames per second once opened: ``1 / median frame interval``
            of the source's own timestamps where they can vary (video files, webcams), else
            the nominal rate. Windows measured in frames (k_SW, spotting lengths) use it;
            reported times use the frames' own ``timestamp``, never ``index / fps``.
        seekable: True if :meth:`seek` works.
        live: True for a live camera (frames are dropped, not waited for, when slow).
        has_depth: False for RGB-only sources (video files, webcams, frame folders without
            depth): their frames carry all-zero depth. Known before :meth:`open`, since it
            chooses the weights (:func:`rt_sfamnet.weights.default_weights`).
        realtime: True when the consumer must release the frames at ``fps`` on the wall
            clock (a live stand-in that computes frames on demand: the simulator with
            ``realtime``); a camera delivers at its own rate and leaves it False.
    """

    name: str = "source"
    fps: float = 30.0
    seekable: bool = False
    live: bool = False
    has_depth: bool = True
    realtime: bool = False

    @property
    def dropped(self) -> int:
        """Frames the source itself lost because its consumer was behind (a camera's
        drop-oldest queue); 0 for sources that wait."""
        return 0

    @property
    def registered(self) -> bool | None:
        """Whether depth comes registered to colour as stored (True: no alignment step),
        is aligned by the source (False: ``rs.align`` or its NumPy twin), or is unknown
        (None, also before :meth:`open`). Frames are aligned to colour either way."""
        return None

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

    def seek(self, index: int) -> None:
        """Continue iteration at frame ``index`` (only where ``seekable``)."""
        from rt_sfamnet.errors import SourceError

        raise SourceError(f"{self.name} cannot seek: expected a recording or frame folder, "
                          f"found a {type(self).__name__}")

    def __enter__(self) -> Source:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()


class SourceWrapper(Source):
    """A source that passes another's frames on (``inner``): what describes the stream —
    ``fps``, ``has_depth``, ``intrinsics``, ``dropped``, ``registered``, ``frame_count``,
    ``ground_truth`` — is the inner source's (a wrapper overrides what it changes)."""

    def __init__(self, inner: Source) -> None:
        self.inner = inner

    @property
    def fps(self) -> float:  # type: ignore[override]
        """The inner source's rate (known once it is open: a video's median interval)."""
        return self.inner.fps

    @property
    def has_depth(self) -> bool:  # type: ignore[override]
        """False for an RGB-only inner source."""
        return bool(getattr(self.inner, "has_depth", True))

    @property
    def intrinsics(self) -> Intrinsics | None:
        return self.inner.intrinsics

    @property
    def dropped(self) -> int:
        return self.inner.dropped

    @property
    def registered(self) -> bool | None:
        return self.inner.registered

    @property
    def frame_count(self) -> int | None:
        return self.inner.frame_count

    @property
    def ground_truth(self) -> list[Interval] | None:
        return self.inner.ground_truth
