"""Video files (mp4, mov, avi, mkv, webm, ...) as a :class:`~rt_sfamnet.sources.Source`.

Decoded with PyAV (FFmpeg's libraries), because PyAV gives every frame its true
presentation time (``pts × time_base``): phone clips and screen recordings have variable
frame rates, and OpenCV's ``VideoCapture`` reports one container rate for them (26.5 fps for
``noface_face.mov``, whose frame gaps run 15-42 ms) and no exact per-frame times.

Timing: each frame's ``timestamp`` is its presentation time in seconds (not ``index /
fps``). :attr:`VideoSource.fps` is ``1 / median frame interval`` of the first
:data:`RATE_PACKETS` packets' timestamps, read from the container without decoding pixels
(:func:`median_rate`); the windows counted in frames (k_SW, spotting lengths) use it.

Frames are RGB uint8 with all-zero depth (``has_depth = False``); ``index`` is the 0-based
position in presentation order. A file that cannot be opened, a packet that cannot be
decoded and a stream that ends before the length its container declares (a truncated file)
raise :class:`~rt_sfamnet.errors.SourceError` naming the file and the frame.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.errors import SourceError
from rt_sfamnet.frames import Intrinsics, RGBDFrame
from rt_sfamnet.sources.base import Source

__all__ = ["RATE_PACKETS", "VIDEO_SUFFIXES", "VideoSource", "median_rate"]

#: File suffixes opened as videos by :func:`rt_sfamnet.sources.make_source`.
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm")
#: Packets whose timestamps give the median frame interval.
RATE_PACKETS = 300
#: Horizontal field of view assumed for a video's pinhole intrinsics (degrees).
VIDEO_HFOV_DEG = 69.0


def median_rate(times: Any) -> float | None:
    """``1 / median interval`` of frame times in seconds (any order), or None.

    Args:
        times: presentation times in seconds, shape (N,); sorted here (packets come in
            decode order, which differs from presentation order with B-frames).

    Returns:
        Frames per second, or None with fewer than two distinct times.
    """
    t = np.unique(np.asarray(times, dtype=np.float64))
    t = t[np.isfinite(t)]
    if t.size < 2:
        return None
    return float(1.0 / np.median(np.diff(t)))


def _open_container(path: Path) -> Any:
    import av

    try:
        container = av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot be opened as a video: damaged, truncated or not a "
                          f"video ({_reason(exc)})") from None
    if not container.streams.video:
        container.close()
        raise SourceError(f"{path}: expected a video stream, found none (streams: "
                          f"{[s.type for s in container.streams] or 'none'})")
    return container


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "strerror", "") or exc)
    return text.split(": '")[0] if text else type(exc).__name__


def _declared_end(container: Any, stream: Any) -> float | None:
    """Where the container says the video stream ends, seconds (None: it does not say)."""
    tb = float(stream.time_base) if stream.time_base else None
    start = float(stream.start_time * tb) if stream.start_time is not None and tb else 0.0
    if stream.duration and tb:
        return start + float(stream.duration * tb)
    tag = (stream.metadata or {}).get("DURATION")  # Matroska/WebM per-track duration
    if tag:
        try:
            h, m, s = tag.split(":")
            return start + int(h) * 3600 + int(m) * 60 + float(s)
        except ValueError:
            pass
    if container.duration and len(container.streams) == 1:  # no audio track to blur it
        return float(container.duration) / 1e6
    return None


class VideoSource(Source):
    """One video file, decoded frame by frame with PyAV (see the module doc).

    Frames: ``color`` H×W×3 uint8 RGB, ``depth`` H×W uint16 zeros, ``index`` 0-based,
    ``timestamp`` the presentation time in seconds, ``meta`` ``{"pts": pts}``.

    Args:
        path: the video file.
        intrinsics: colour intrinsics; default an ideal pinhole camera with a 69° horizontal
            field of view at the video's size (used by scene flow only; videos have no depth).

    Raises:
        SourceError: the file is missing, not a video, has no video stream, is damaged or
            truncated (while iterating: naming the frame where it broke).
    """

    seekable = True
    live = False
    has_depth = False

    def __init__(self, path: str | Path, intrinsics: Intrinsics | None = None) -> None:
        self.path = Path(path)
        self.name = f"video {self.path.name}"
        self.fps = 30.0
        self._given_intrinsics = intrinsics
        self._intrinsics: Intrinsics | None = intrinsics
        self._container: Any = None
        self._frames: int | None = None
        self._end_s: float | None = None
        self._skip = 0  # frames to decode and drop before the next one yielded (seek)
        self._opened = False

    # -- Source interface ---------------------------------------------------------------------

    def open(self) -> VideoSource:
        if self._opened:
            return self
        if not self.path.is_file():
            raise SourceError(f"video {self.path} not found: expected an existing video file")
        container = _open_container(self.path)
        try:
            stream = container.streams.video[0]
            tb = float(stream.time_base or 0) or None
            pts = []
            for packet in container.demux(stream):
                if packet.pts is not None and tb:
                    pts.append(packet.pts * tb)
                if len(pts) >= RATE_PACKETS:
                    break
            rate = median_rate(pts)
            if rate is None:  # no usable timestamps: the container's nominal rate
                rate = float(stream.guessed_rate or stream.average_rate or 30.0)
            self.fps = rate
            self._frames = int(stream.frames) if stream.frames else None
            self._end_s = _declared_end(container, stream)
            w, h = stream.codec_context.width, stream.codec_context.height
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - any demuxer failure names the file
            raise SourceError(f"{self.path}: cannot read the video's packets "
                              f"({_reason(exc)})") from None
        finally:
            container.close()
        if self._given_intrinsics is None and w and h:
            self._intrinsics = Intrinsics.from_fov(w, h, VIDEO_HFOV_DEG)
        self._skip = 0
        self._opened = True
        return self

    def close(self) -> None:
        if self._container is not None:
            try:
                self._container.close()
            finally:
                self._container = None
        self._opened = False

    @property
    def intrinsics(self) -> Intrinsics | None:
        return self._intrinsics

    @property
    def frame_count(self) -> int | None:
        return self._frames

    def seek(self, index: int) -> None:
        """Continue at frame ``index`` (decodes from the start and drops ``index`` frames)."""
        if not self._opened:
            raise SourceError(f"{self.name}: open() the source before seeking")
        index = int(index)
        if index < 0 or (self._frames is not None and index >= self._frames):
            raise SourceError(f"{self.name}: seek index {index} outside 0.."
                              f"{(self._frames or 0) - 1}")
        if self._container is not None:
            self._container.close()
            self._container = None
        self._skip = index

    def __iter__(self) -> Iterator[RGBDFrame]:
        if not self._opened:
            raise SourceError(f"{self.name}: open() the source before iterating")
        while self._opened:
            if self._container is None:
                self._container = _open_container(self.path)
            skip, self._skip = self._skip, 0
            yield from self._decode(self._container, skip)
            if self._container is not None:  # not re-seeked while iterating: the end
                return

    # -- internals ----------------------------------------------------------------------------

    def _decode(self, container: Any, skip: int) -> Iterator[RGBDFrame]:
        import av

        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tb = float(stream.time_base or 0)
        index, last_t = 0, None
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
                decoded = packet.decode()
            except StopIteration:
                break
            except (av.error.FFmpegError, OSError) as exc:
                raise SourceError(self._broken(index, last_t, _reason(exc))) from None
            for vf in decoded:
                t = self._time(vf, tb, last_t)
                last_t = t
                if index < skip:
                    index += 1
                    continue
                color = vf.to_ndarray(format="rgb24")
                h, w = color.shape[:2]
                intr = self._intrinsics
                if intr is None or (intr.width, intr.height) != (w, h):
                    intr = Intrinsics.from_fov(w, h, VIDEO_HFOV_DEG)
                frame = RGBDFrame(color, np.zeros((h, w), np.uint16), t, index, intr,
                                  {"pts": vf.pts})
                index += 1
                yield frame
                if self._container is not container:  # seek() or close() while suspended
                    return
        self._check_complete(index, last_t)

    def _time(self, vf: Any, tb: float, last_t: float | None) -> float:
        pts = vf.pts if vf.pts is not None else getattr(vf, "dts", None)
        if pts is not None and tb:
            t = float(pts * tb)
            if last_t is None or t > last_t:
                return t
        # no timestamp (or one out of order): one median interval after the previous frame
        return 0.0 if last_t is None else last_t + 1.0 / self.fps

    def _broken(self, index: int, last_t: float | None, why: str) -> str:
        at = "" if last_t is None else f", after {last_t:.3f} s"
        return (f"{self.path}: the video is damaged or truncated: decoding failed at frame "
                f"{index}{at} ({why})")

    def _check_complete(self, frames: int, last_t: float | None) -> None:
        """A stream that ends well before the length its container declares is a truncated
        file. Frame counts alone are not trusted: an edit list (a trimmed phone clip) keeps
        samples that are never shown."""
        end = self._end_s
        if end is None or not math.isfinite(end):
            return
        interval = 1.0 / self.fps
        reached = (last_t if last_t is not None else 0.0) + interval
        if reached >= end - max(3 * interval, 0.25):
            return
        if self._frames is not None and frames >= self._frames:
            return
        declared = "" if self._frames is None else f"{self._frames} frames, "
        raise SourceError(self._broken(frames, last_t, f"the container declares {declared}"
                                       f"{end:.3f} s; the frames end at {reached:.3f} s"))
