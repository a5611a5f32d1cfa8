"""Errors of damaged recordings that name the file and the frame where reading stopped.

Both playback backends read a recording frame by frame; a damaged file fails mid-stream in
the reading library (rosbags' SQLite: ``apsw.CorruptError: database disk image is
malformed``; a PNG that does not decode). :func:`guard_frames` turns every such failure into
one :class:`~rt_sfamnet.errors.RecordingError` naming the recording and the last frame read,
and :func:`stopped_at` words where playback ended, including before the first frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from rt_sfamnet.errors import RecordingError, RtSfamnetError
from rt_sfamnet.frames import RGBDFrame


def stopped_at(last: int, total: int | None) -> str:
    """Where reading stopped when ``last`` was the last frame read (``frame.index``, from 0;
    negative: none) of ``total``: ``"after frame 52 of 60"`` or ``"before its first frame
    (none of 60 read)"``."""
    of = f" of {total}" if total is not None else ""
    if last < 0:
        return f"before its first frame (none{of} read)"
    return f"after frame {last}{of} (frames are numbered from 0)"


def guard_frames(frames: Iterator[RGBDFrame], path: str | Path, total: int | None,
                 start: int = 0) -> Iterator[RGBDFrame]:
    """``frames`` (read from the recording ``path`` from frame index ``start`` on), with any
    failure of the reading library raised as a RecordingError naming ``path`` and the last
    frame read; an RtSfamnetError that does not name ``path`` gets it in front."""
    last = start - 1
    try:
        for frame in frames:
            last = int(frame.index)
            yield frame
    except RtSfamnetError as exc:
        if str(path) in str(exc):
            raise
        raise type(exc)(f"{path}: reading stopped {stopped_at(last, total)}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - the reading libraries raise their own kinds
        raise RecordingError(
            f"{path}: damaged recording: reading stopped {stopped_at(last, total)} "
            f"({type(exc).__name__}: {exc})") from None
