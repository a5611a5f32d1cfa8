"""Playback of RealSense recordings: :class:`PlaybackSource`, the one recording source.

It plays a ``.db3`` (rosbag2) or ROS1 ``.bag`` recording through a
:class:`~rt_sfamnet.sources.realsense.reader.RecordingReader`: the SDK's playback device
(pyrealsense2) or ``rosbags`` without the SDK, picked by :func:`playback_source` (the SDK
where pyrealsense2 imports, else rosbags). Both backends share the file's one
:class:`~rt_sfamnet.sources.realsense.index.RecordingIndex`, so numbering, pairing and
seeking are the same code; only the decoding differs. Frames are
:class:`~rt_sfamnet.frames.LazyRGBDFrame` objects: with rosbags their pixels are decoded from
the file's bytes when a stage first touches them, so the frames no scheduled window uses are
never decoded; the SDK backend copies every frame out of the SDK at once.

Frame numbering: frame ``index`` comes from the colour frame's timestamp,
``round((t - t0) * fps / 1000)`` (:func:`.index.nominal_indices`), so frames lost from a
recording leave their numbers unused: the engine records them as ``missing_color`` gaps and
every later frame keeps the number of its time. A seek to a lost frame's number continues at
the next frame.

Missing depth: a colour frame is paired with the nearest depth frame only when that one is
less than :data:`.index.DEPTH_MATCH_PERIODS` frame periods away; otherwise its depth is all
zero and ``meta["gap"]`` is ``"missing_depth"`` (old depth is never reused).

Pacing is not done here: the engine paces file sources when asked to (``realtime``);
iterating a PlaybackSource runs as fast as the consumer reads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rt_sfamnet.errors import SourceError
from rt_sfamnet.frames import Intrinsics, LazyRGBDFrame, RGBDFrame
from rt_sfamnet.intervals import Interval, read_intervals
from rt_sfamnet.sources.base import Source
from rt_sfamnet.sources.realsense.damage import guard_frames
from rt_sfamnet.sources.realsense.index import RecordingIndex, ground_truth_path
from rt_sfamnet.sources.realsense.reader import RecordedPixels, RecordingReader

BACKENDS = ("auto", "sdk", "rosbags")


def sdk_available() -> bool:
    """True when pyrealsense2 imports (the SDK plays recordings and aligns depth)."""
    try:
        import pyrealsense2  # noqa: F401
    except ImportError:
        return False
    return True


def make_reader(path: str | Path, backend: str = "auto", **options: Any) -> RecordingReader:
    """The :class:`RecordingReader` of ``backend`` (see :data:`BACKENDS`); ``"auto"`` takes
    the SDK where pyrealsense2 imports, else rosbags. ``options`` go to the SDK reader
    (``stall_timeout_s``, ``queue_size``). Raises SourceError for an unknown backend."""
    if backend not in BACKENDS:
        raise SourceError(f"recording backend must be one of {list(BACKENDS)}, found "
                          f"{backend!r}")
    if backend == "sdk" or (backend == "auto" and sdk_available()):
        from rt_sfamnet.sources.realsense.sdk import SdkReader

        return SdkReader(path, **options)
    from rt_sfamnet.sources.realsense.rosbag import RosbagReader

    return RosbagReader(path)


class PlaybackSource(Source):
    """Plays a RealSense recording (``.db3`` or ROS1 ``.bag``); see the module doc.

    Frames: ``color`` H×W×3 uint8 RGB, ``depth`` H×W uint16 mm aligned to colour,
    ``timestamp`` the colour frame's timestamp in seconds, ``index`` its frame number (see
    the module doc), ``meta`` ``{"frame_number", "depth_timestamp"}`` (+ ``"gap"``).

    Args:
        path: a ``.db3`` or ``.bag`` file.
        backend: ``"auto"`` (the SDK where pyrealsense2 imports, else rosbags), ``"sdk"`` or
            ``"rosbags"`` (:mod:`.reader`).
        stall_timeout_s, queue_size: for the SDK backend: raise RecordingError if no frame
            comes for this long; SDK frames buffered between the SDK thread and the reader.
    """

    seekable = True
    live = False

    def __init__(self, path: str | Path, backend: str = "auto", stall_timeout_s: float = 5.0,
                 queue_size: int = 8) -> None:
        self.path = Path(path)
        self.name = f"recording {self.path.name}"
        self.fps = 30.0
        options: dict[str, Any] = {}
        if backend != "rosbags":
            options = {"stall_timeout_s": stall_timeout_s, "queue_size": queue_size}
        self.reader = make_reader(self.path, backend, **options)
        self.backend = self.reader.backend
        self._index: RecordingIndex | None = None  # kept after close() for its numbers
        self._opened = False
        self._intrinsics: Intrinsics | None = None
        self._registered: bool | None = None
        self._gt: list[Interval] | None = None
        self._lock = threading.Lock()
        self._pending_seek: int | None = None
        self._seek_is_rank = True
        self._next = 0  # the colour rank iteration continues at

    # -- Source interface ---------------------------------------------------------------------

    def open(self) -> PlaybackSource:
        if self._opened:
            return self
        self._index = self.reader.open()
        self._intrinsics, self._registered = self.reader.intrinsics, self.reader.registered
        self._opened = True
        self.fps = self._index.fps
        gt = ground_truth_path(self.path)
        self._gt = read_intervals(gt) if gt.exists() else None
        self._next = 0
        return self

    def close(self) -> None:
        self._opened = False
        self.reader.close()

    @property
    def intrinsics(self) -> Intrinsics | None:
        return self._intrinsics

    @property
    def frame_count(self) -> int | None:
        return None if self._index is None else self._index.frame_count

    @property
    def registered(self) -> bool | None:
        """True if depth is stored already aligned to colour (no alignment is run)."""
        return self._registered

    @property
    def ground_truth(self) -> list[Interval] | None:
        """The true intervals from ``<stem>.gt.csv`` beside the recording, if there is one."""
        if self._gt is None and not self._opened:
            gt = ground_truth_path(self.path)
            if gt.exists():
                self._gt = read_intervals(gt)
        return self._gt

    def seek(self, index: int) -> None:
        """Continue iteration at frame ``index`` (the next frame if that one was lost).

        Safe to call from another thread while a loop iterates: the iterating thread
        re-positions the reader before its next frame.
        """
        index = int(index)
        if index < 0:
            raise SourceError(f"seek index must be >= 0, found {index}")
        with self._lock:  # a frame number until open() has read the index, then a rank
            self._pending_seek = index if self._index is None else self._index.rank_of(index)
            self._seek_is_rank = self._index is not None

    def __iter__(self) -> Iterator[RGBDFrame]:
        ix = self._index
        if ix is None or not self._opened:
            raise SourceError(f"{self.name}: open() the source before iterating")
        # a failure of the reading library names the recording and the last frame read
        return guard_frames(self._play(ix), self.path, self.frame_count,
                            ix.nominal[self._next] if self._next < len(ix) else 0)

    def _play(self, ix: RecordingIndex) -> Iterator[RGBDFrame]:
        while self._next < len(ix) or self._pending_seek is not None:
            with self._lock:
                pending, self._pending_seek = self._pending_seek, None
            if pending is not None:
                self._next = pending if self._seek_is_rank else ix.rank_of(pending)
            stream = self.reader.pixels(self._next)
            try:
                for px in stream:
                    self._next = px.rank + 1
                    yield self._frame(ix, px)
                    if self._pending_seek is not None:
                        break
                else:
                    self._next = len(ix)
            finally:
                stream.close()

    def _frame(self, ix: RecordingIndex, px: RecordedPixels) -> LazyRGBDFrame:
        i = px.rank
        meta: dict[str, Any] = {"frame_number": ix.color.numbers[i]}
        if px.has_depth:
            meta["depth_timestamp"] = ix.depth.stamps_ms[ix.pair[i]] / 1000.0
        else:
            meta.update(depth_timestamp=float("nan"), gap="missing_depth")
        intr = self._intrinsics
        assert intr is not None
        return LazyRGBDFrame(px.load, (intr.height, intr.width), ix.color.stamps_ms[i] / 1000.0,
                             ix.nominal[i], intr, meta)


def playback_source(path: str | Path, **options: Any) -> PlaybackSource:
    """The playback source of a recording (what ``make_source`` builds for ``.db3``/``.bag``)."""
    return PlaybackSource(path, **options)
