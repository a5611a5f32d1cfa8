"""The backend-neutral recording reader: one index, decoding by a backend.

A :class:`RecordingReader` opens a RealSense recording (``.db3`` or ROS1 ``.bag``), gives its
:class:`~rt_sfamnet.sources.realsense.index.RecordingIndex` (frame numbers, colour/depth
pairs, seek positions, intrinsics) and streams the pixels of colour ranks ``start``,
``start + 1``, ... as :class:`RecordedPixels`. Two backends:

========================  ==================================================================
``"sdk"``                 :class:`~rt_sfamnet.sources.realsense.sdk.SdkReader`: pyrealsense2's
                          playback device (non-real-time), ``rs.align`` for unregistered
                          depth; pixels are copied out of the SDK at once
``"rosbags"``             :class:`~rt_sfamnet.sources.realsense.rosbag.RosbagReader`: the file's
                          bytes through ``rosbags``, decoded with OpenCV only when asked for
                          (no SDK; NumPy alignment, :mod:`.align`)
========================  ==================================================================

:func:`~rt_sfamnet.sources.realsense.playback.make_reader` picks one (``"auto"``: the SDK
where pyrealsense2 imports, else rosbags);
:class:`~rt_sfamnet.sources.realsense.playback.PlaybackSource` is the one source over both.
This module is the interface only: the backends import it, never the other way round.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rt_sfamnet.frames import Intrinsics
from rt_sfamnet.sources.realsense.index import RecordingIndex


@dataclass(frozen=True)
class RecordedPixels:
    """The pixels of one colour rank of a recording.

    Attributes:
        rank: position of the colour frame in the file (0-based).
        has_depth: False when the file holds no depth frame of the same moment (the depth
            is then all zero and the frame's ``meta["gap"]`` is ``"missing_depth"``).
        load: ``() -> (color H×W×3 uint8 RGB, depth H×W uint16 mm aligned to colour)``;
            called at most once, when a stage first touches the frame's pixels.
    """

    rank: int
    has_depth: bool
    load: Callable[[], tuple[np.ndarray, np.ndarray]]


class RecordingReader(ABC):
    """Index + decode of one recording file (see the module doc).

    Attributes:
        path: the recording. backend: ``"sdk"`` or ``"rosbags"``.
        index: the :class:`RecordingIndex` once :meth:`open` has run.
    """

    backend = ""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.index: RecordingIndex | None = None

    @abstractmethod
    def open(self) -> RecordingIndex:
        """Check and index the file. Raises RecordingError (SourceError) naming the fault."""

    @abstractmethod
    def close(self) -> None:
        """Release the file (and any SDK object). Safe to call more than once."""

    @property
    @abstractmethod
    def intrinsics(self) -> Intrinsics:
        """The colour intrinsics (valid for the aligned depth)."""

    @property
    @abstractmethod
    def registered(self) -> bool:
        """True when depth is stored aligned to colour (no alignment step is run)."""

    @abstractmethod
    def pixels(self, start: int) -> Iterator[RecordedPixels]:
        """The pixels of colour ranks ``start``, ``start + 1``, ... to the end of the file,
        in order (a rank the file does not deliver is left out). Closing the iterator stops
        the reading. Raises RecordingError for a damaged or truncated file."""
