"""Writing RealSense recordings: :func:`write_recording` (frames -> ``.db3``).

What pyrealsense2 2.59 writes (checked on this version, see the tests): the recorder
(``rs.recorder``, ``config.enable_record_to_file``) writes **only** rosbag2 SQLite files
with the suffix ``.db3``; asking for ``.bag`` raises "Output file must have .db3
extension". Its ``compress`` flag stores colour and depth as lossless PNG inside the file
(smaller, bit-exact on playback, but decoding costs CPU time on playback). The recorder
writes in a thread of its own and drops the frames still queued when it is destroyed;
:func:`write_recording` therefore keeps its queue short and waits for it
(:class:`_WriteProgress`, also used by :func:`~rt_sfamnet.sources.realsense.record_camera`).
"""

from __future__ import annotations

import errno
import gc
import math
import os
import re
import sqlite3
import tempfile
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.errors import RecordingError
from rt_sfamnet.frames import Intrinsics, RGBDFrame
from rt_sfamnet.sources.realsense.index import _META_RE, RecordingIndex, _cdr_string
from rt_sfamnet.sources.realsense.sdk import _DEPTH_UNITS_M, _rs, intrinsics_to_rs


def _check_db3_target(path: Path) -> None:
    if path.suffix.lower() != ".db3":
        raise RecordingError(
            f"cannot write {path}: pyrealsense2 >= 2.58 records only rosbag2 '.db3' files, "
            f"found suffix {path.suffix!r}"
        )
    if not path.parent.is_dir():
        raise RecordingError(f"cannot write {path}: folder {path.parent} does not exist")


_WRITE_BACKLOG = 12  # frames the recorder may have queued but not yet written
_WRITE_STALL_S = 60.0
_DISK_CHECK_S = 1.0  # a recorder without progress this long: is the disk refusing writes?
_MIN_FREE_BYTES = 1 << 20  # below this the recorder's next page and journal may not fit


def disk_refuses(folder: Path) -> OSError | None:
    """Why ``folder``'s filesystem takes no more writes (an OSError: ENOSPC for less than
    1 MiB free, else what a small probe write raised: EROFS, EDQUOT...), or None.

    librealsense's recorder writes in its own thread and only logs a failed write, so
    :class:`_WriteProgress` asks this when the file stops growing instead of waiting
    ``_WRITE_STALL_S``.
    """
    try:
        st = os.statvfs(folder)
        if st.f_bavail * st.f_frsize < _MIN_FREE_BYTES:
            return OSError(errno.ENOSPC, f"No space left on device "
                           f"({st.f_bavail * st.f_frsize} bytes free)")
        fd, probe = tempfile.mkstemp(prefix=".rt-sfamnet-probe-", dir=folder)
        try:
            os.write(fd, bytes(4096))
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        return exc
    return None


class _WriteProgress:
    """How far ``rs.recorder`` has written: the last frame number stored per stream.

    Reads the growing ``.db3`` read-only (the newest metadata message of each image stream);
    a read that races with the writer is simply retried.
    """

    def __init__(self, path: Path, target: Path | None = None) -> None:
        self.path = path
        self.target = target or path  # the file named in errors
        self._con: sqlite3.Connection | None = None
        self._topics: dict[str, int] = {}
        self._checked = 0.0

    def check_disk(self, stalled_since: float) -> None:
        """Raise RecordingError at once when the recorder has made no progress for
        ``_DISK_CHECK_S`` and the disk refuses writes (checked once a second)."""
        now = time.monotonic()
        if now - stalled_since < _DISK_CHECK_S or now - self._checked < _DISK_CHECK_S:
            return
        self._checked = now
        exc = disk_refuses(self.path.parent)
        if exc is not None:
            raise RecordingError(f"cannot write the recording {self.target}: "
                                 f"{exc.strerror or exc}")

    def last_written(self) -> int | None:
        """The lowest over colour and depth of the last frame number written, or None."""
        per = self.last_written_per_stream()
        return None if per is None else min(per.values())

    def last_written_per_stream(self) -> dict[str, int] | None:
        """``{"Color": n, "Depth": n}``: the last frame number written per stream, or None."""
        try:
            if self._con is None:
                if not self.path.exists():
                    return None
                self._con = sqlite3.connect(
                    f"file:{self.path.as_posix()}?mode=ro", uri=True, timeout=0.2
                )
            if len(self._topics) < 2:
                for tid, name in self._con.execute("SELECT id, name FROM topics"):
                    m = re.fullmatch(r"/device_\d+/sensor_\d+/(Color|Depth)_\d+/image/metadata",
                                     name)
                    if m:
                        self._topics[m.group(1)] = tid
                if len(self._topics) < 2:
                    return None
            numbers = {}
            for kind, tid in self._topics.items():
                row = self._con.execute(
                    "SELECT data FROM messages WHERE topic_id = ? ORDER BY id DESC LIMIT 1", (tid,)
                ).fetchone()
                if row is None:
                    return None
                m = _META_RE.search(_cdr_string(bytes(row[0])))
                if not m:
                    return None
                numbers[kind] = int(m.group(1))
            return numbers
        except sqlite3.Error:
            self.close()
            return None

    def wait_backlog(self, pushed: list[int], limit: int) -> None:
        """Block until at most ``limit`` of the ``pushed`` frame numbers are unwritten."""
        if len(pushed) <= limit:
            if limit > 0 or not pushed:
                return
        last_progress, seen = time.monotonic(), -1
        while True:
            last = self.last_written()
            written = 0 if last is None else bisect_left(pushed, last + 1)
            if len(pushed) - written <= limit:
                return
            if written != seen:
                seen, last_progress = written, time.monotonic()
            self.check_disk(last_progress)
            if time.monotonic() - last_progress > _WRITE_STALL_S:
                raise RecordingError(
                    f"{self.path}: the recorder stopped writing after {written} of "
                    f"{len(pushed)} frames"
                )
            time.sleep(0.01)

    def wait_written(self, seen: dict[str, int]) -> None:
        """Block until every stream has written the frame number ``seen[stream]``.

        Raises RecordingError when the recorder makes no progress for ``_WRITE_STALL_S``.
        """
        deadline = time.monotonic() + _WRITE_STALL_S
        last = None
        while True:
            per = self.last_written_per_stream()
            if per is not None and all(per.get(k, -1) >= v for k, v in seen.items()):
                return
            if per != last:  # still writing: extend the deadline
                last, deadline = per, time.monotonic() + _WRITE_STALL_S
            self.check_disk(deadline - _WRITE_STALL_S)
            if time.monotonic() > deadline:
                raise RecordingError(
                    f"{self.path}: the recorder stopped writing at frames {per} of {seen}; "
                    "the file misses its last frames"
                )
            time.sleep(0.05)

    def close(self) -> None:
        if self._con is not None:
            try:
                self._con.close()
            finally:
                self._con = None


def write_recording(
    frames: Iterable[RGBDFrame],
    path: str | Path,
    fps: float = 30,
    compress: bool = True,
    depth_intrinsics: Intrinsics | None = None,
) -> int:
    """Write frames as a real RealSense recording (``.db3``) and return the frame count.

    A ``rs.software_device`` with a depth sensor (z16, depth units 0.001 m) and a colour
    sensor (rgb8), both with the frames' intrinsics and identity extrinsics depth -> colour,
    is recorded by ``rs.recorder``; the file plays back through
    :class:`~rt_sfamnet.sources.realsense.PlaybackSource` (and the RealSense Viewer) like a
    camera recording. Frame numbers are ``frame.index``, frame timestamps
    ``frame.timestamp`` (converted to ms).

    Args:
        frames: RGBDFrames of one size and one set of intrinsics, in order, with strictly
            increasing timestamps (seconds) — a generator is fine (frames are not kept).
        path: output file, must end in ``.db3``; written to ``<path>.part.db3`` and renamed
            when complete, so a failed write never leaves a half file at ``path``.
        fps: nominal frame rate stored in the stream profiles.
        compress: store frames losslessly PNG-compressed (about half the size; same pixels).
        depth_intrinsics: if given, ``frame.depth`` is in the geometry of a depth camera with
            these intrinsics (same image size, identity extrinsics to colour), as a real
            camera records it; playback then aligns it to colour with ``rs.align``. Default:
            depth already registered to colour (``RGBDFrame``'s convention).
    """
    rs = _rs()
    out = Path(path)
    _check_db3_target(out)
    if not (0 < fps <= 1000):
        raise RecordingError(f"fps must be in (0, 1000], found {fps}")
    tmp = out.with_name(out.stem + ".part.db3")
    if tmp.exists():
        tmp.unlink()
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise RecordingError(f"cannot write {out}: no frames given")
    device = _SoftwareCamera(rs, first, fps, depth_intrinsics)
    recorder = rs.recorder(str(tmp), device.device, bool(compress))
    progress = _WriteProgress(tmp, out)
    pushed: list[int] = []  # frame numbers in push order
    done = False
    try:
        device.start()
        check = _FrameChecker(first)
        frame: RGBDFrame | None = first
        while frame is not None:
            check(frame, pushed)
            # Keep the recorder's write queue short: it writes (and compresses) in its own
            # thread, and frames still queued when it is destroyed would be lost.
            progress.wait_backlog(pushed, _WRITE_BACKLOG)
            device.push(frame, len(pushed), lambda: progress.wait_backlog(pushed, 0))
            pushed.append(int(frame.index))
            frame = next(it, None)
        progress.wait_backlog(pushed, 0)
        done = True
    finally:
        progress.close()
        try:
            device.stop()
        finally:
            # The file is flushed and closed when the recorder is destroyed.
            del recorder
            device.release()
            gc.collect()
            if not done and tmp.exists():
                tmp.unlink()
    _commit(tmp, out, len(pushed))
    return len(pushed)


class _FrameChecker:
    """Checks each frame to write against the first: size, intrinsics, increasing order."""

    def __init__(self, first: RGBDFrame) -> None:
        self.shape, self.intrinsics = first.shape, first.intrinsics
        self.last_ts = -math.inf

    def __call__(self, frame: RGBDFrame, pushed: list[int]) -> None:
        n = len(pushed)
        h, w = self.shape
        if frame.shape != (h, w) or frame.intrinsics != self.intrinsics:
            raise RecordingError(
                f"frame {n}: expected {w}x{h} with the first frame's intrinsics, found "
                f"{frame.shape[1]}x{frame.shape[0]} {frame.intrinsics}"
            )
        if not frame.timestamp > self.last_ts:
            raise RecordingError(
                f"frame {n}: timestamps must increase, found {frame.timestamp} after "
                f"{self.last_ts}"
            )
        if pushed and not frame.index > pushed[-1]:
            raise RecordingError(
                f"frame {n}: indices must increase, found {frame.index} after {pushed[-1]}"
            )
        self.last_ts = frame.timestamp


class _SoftwareCamera:
    """A ``rs.software_device`` shaped like a registered D415: depth z16 + colour rgb8.

    Args:
        rs: the pyrealsense2 module.
        first: the first frame (its size and intrinsics give the streams').
        fps: nominal frame rate of the stream profiles.
        depth_intrinsics: intrinsics of the depth stream (None: the colour ones).
    """

    def __init__(self, rs: Any, first: RGBDFrame, fps: float,
                 depth_intrinsics: Intrinsics | None) -> None:
        intr = first.intrinsics
        h, w = first.shape
        if (intr.width, intr.height) != (w, h):
            raise RecordingError(
                f"frame 0: intrinsics are for {intr.width}x{intr.height}, image is {w}x{h}"
            )
        ri = intrinsics_to_rs(intr)
        if depth_intrinsics is not None and (
            (depth_intrinsics.width, depth_intrinsics.height) != (w, h)
        ):
            raise RecordingError(
                f"depth intrinsics are for {depth_intrinsics.width}x{depth_intrinsics.height}, "
                f"frames are {w}x{h}"
            )
        dri = ri if depth_intrinsics is None else intrinsics_to_rs(depth_intrinsics)
        self.rs, self.width = rs, w
        self.opened = self.started = False
        self.delivered = {"depth": 0, "color": 0}
        dev = rs.software_device()
        dev.register_info(rs.camera_info.name, "rt-sfamnet software D415")
        dev.register_info(rs.camera_info.serial_number, "0")
        self.depth_sensor = dev.add_sensor("Stereo Module")
        self.color_sensor = dev.add_sensor("RGB Camera")
        self.depth_profile = self._add_stream(self.depth_sensor, rs.stream.depth, 0,
                                              rs.format.z16, 2, w, h, fps, dri)
        self.color_profile = self._add_stream(self.color_sensor, rs.stream.color, 1,
                                              rs.format.rgb8, 3, w, h, fps, ri)
        self.depth_sensor.add_read_only_option(rs.option.depth_units, _DEPTH_UNITS_M)
        ext = rs.extrinsics()
        ext.rotation = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
        ext.translation = [0.0, 0.0, 0.0]
        self.depth_profile.register_extrinsics_to(self.color_profile, ext)
        dev.create_matcher(rs.matchers.dlr_c)
        self.device = dev

    def _add_stream(self, sensor: Any, stream: Any, uid: int, fmt: Any, bpp: int, w: int,
                    h: int, fps: float, ri: Any) -> Any:
        vs = self.rs.video_stream()
        vs.type, vs.index, vs.uid = stream, 0, uid
        vs.width, vs.height, vs.fps, vs.bpp, vs.fmt = w, h, int(round(fps)), bpp, fmt
        vs.intrinsics = ri
        return sensor.add_video_stream(vs)

    def _on_depth(self, f: Any) -> None:
        self.delivered["depth"] += 1

    def _on_color(self, f: Any) -> None:
        self.delivered["color"] += 1

    def start(self) -> None:
        self.depth_sensor.open(self.depth_profile)
        self.color_sensor.open(self.color_profile)
        self.opened = True
        self.depth_sensor.start(self._on_depth)
        self.color_sensor.start(self._on_color)
        self.started = True
        self._dvp = self.depth_profile.as_video_stream_profile()
        self._cvp = self.color_profile.as_video_stream_profile()

    def push(self, frame: RGBDFrame, n: int, wait_written: Callable[[], None]) -> None:
        """Hand frame number ``n``'s depth and colour to the SDK.

        When the SDK has no free frame buffer (the frame is not delivered), calls
        ``wait_written()`` to let the writer catch up and tries again, three times at most.
        """
        for key, sensor, vp, arr, bpp in (
            ("depth", self.depth_sensor, self._dvp, frame.depth, 2),
            ("color", self.color_sensor, self._cvp, frame.color, 3),
        ):
            for _attempt in range(3):
                before = self.delivered[key]
                sensor.on_video_frame(self._software_frame(frame, vp, arr, bpp))
                if self.delivered[key] > before:
                    break
                wait_written()
            else:
                raise RecordingError(
                    f"frame {n}: pyrealsense2 dropped the {key} frame three times"
                )

    def _software_frame(self, frame: RGBDFrame, vp: Any, arr: np.ndarray, bpp: int) -> Any:
        rs = self.rs
        sf = rs.software_video_frame()
        sf.pixels = np.ascontiguousarray(arr)  # copied by pyrealsense2
        sf.stride, sf.bpp = self.width * bpp, bpp
        sf.timestamp = frame.timestamp * 1000.0
        sf.domain = rs.timestamp_domain.global_time
        sf.frame_number = int(frame.index)
        sf.profile = vp
        if bpp == 2:
            sf.depth_units = _DEPTH_UNITS_M
        return sf

    def stop(self) -> None:
        """Stop and close the sensors (whatever of that was done)."""
        if self.started:
            self.depth_sensor.stop()
            self.color_sensor.stop()
        if self.opened:
            self.depth_sensor.close()
            self.color_sensor.close()

    def release(self) -> None:
        """Drop every SDK object (the recorder flushes once nothing refers to the device)."""
        self.depth_sensor = self.color_sensor = None
        self.depth_profile = self.color_profile = None
        self._dvp = self._cvp = None
        self.device = None


def _commit(tmp: Path, out: Path, n: int) -> None:
    """Check that ``tmp`` holds ``n`` colour and depth frames, then rename it to ``out``."""
    if not tmp.exists():
        raise RecordingError(f"pyrealsense2 did not write {tmp}")
    index = RecordingIndex(tmp)
    index.close()
    color_idx, depth_idx = index.color, index.depth
    if len(color_idx) != n or len(depth_idx) != n:
        tmp.unlink()
        raise RecordingError(
            f"pyrealsense2 wrote {len(color_idx)} colour and {len(depth_idx)} depth frames of "
            f"{n} to {out}"
        )
    os.replace(tmp, out)
