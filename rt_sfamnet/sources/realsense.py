"""Intel RealSense sources: the live D415 camera, recording playback and recording writers.

Everything here goes through pyrealsense2 (imported lazily, inside functions), so importing
this module needs NumPy alone.

What pyrealsense2 2.59 reads and writes (checked on this version, see the tests):

* the recorder (``rs.recorder``, ``config.enable_record_to_file``) writes **only** rosbag2
  SQLite files with the suffix ``.db3``; asking for ``.bag`` raises "Output file must have
  .db3 extension". Its ``compress`` flag stores colour and depth as lossless PNG inside the
  file (smaller, bit-exact on playback, but decoding costs CPU time on playback).
* the recorder writes in a thread of its own and drops the frames still queued when it is
  destroyed; :func:`write_recording` therefore keeps its queue short and waits for it.
* playback opens both ``.db3`` and the ROS1 ``.bag`` files written by librealsense < 2.58
  (a ``.bag`` is recognised by its ``#ROSBAG V2.0`` header).

How playback works: the file is loaded as a playback device (``context.load_device``, the
device ``config.enable_device_from_file`` would give a pipeline) in non-real-time mode
(``playback.set_real_time(False)``); its colour and depth sensors deliver every frame to a
callback that waits while the consumer is behind. The pipeline's syncer is not used: after a
seek it pairs new colour frames with stale depth frames and can lose frames, and sensors that
start one after the other can miss the first frame, which this module avoids.

Frame numbering of a recording: frame ``index`` is the rank of the colour frame in the file
(0 for the first colour frame). For ``.db3`` files the order, the frame count and the seek
positions are read exactly from the file's SQLite tables (each colour frame has a metadata
message ``Frame number=...;timestamp=...``). For ROS1 ``.bag`` files the index is the colour
frame number minus that of the first colour frame, :attr:`PlaybackSource.frame_count` is
estimated from the file's duration until the end has been played, and seeks go by time.

Intrinsics come back from a recording as the SDK stores them (float32).
"""

from __future__ import annotations

import datetime
import gc
import math
import os
import queue
import re
import sqlite3
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.errors import (
    CameraDisconnectedError,
    CameraNotFoundError,
    RecordingError,
    SourceError,
)
from rt_sfamnet.frames import Intrinsics, RGBDFrame
from rt_sfamnet.intervals import Interval, read_intervals
from rt_sfamnet.sources.base import Source

__all__ = [
    "CameraSource",
    "PlaybackSource",
    "DropOldestQueue",
    "ground_truth_path",
    "write_recording",
    "record_camera",
    "CAMERA_MODES",
]

#: (width, height) pairs the D415 colour and depth streams both offer at 30 FPS.
CAMERA_MODES = ((640, 480), (1280, 720))

_DEPTH_UNITS_M = 0.001  # depth units written by write_recording: 1 mm


def _rs() -> Any:
    """Import pyrealsense2, or raise SourceError naming the missing extra."""
    try:
        import pyrealsense2 as rs  # noqa: PLC0415 (lazy on purpose)
    except ImportError as exc:  # pragma: no cover - pyrealsense2 is installed here
        raise SourceError(
            "pyrealsense2 is not installed: install rt-sfamnet with the 'realsense' extra "
            f"(pip install 'rt-sfamnet[realsense]'); import failed with: {exc}"
        ) from None
    return rs


def ground_truth_path(recording: str | Path) -> Path:
    """The interval file beside a recording: ``demo.db3`` -> ``demo.gt.csv``."""
    p = Path(recording)
    return p.with_name(p.stem + ".gt.csv")


# --------------------------------------------------------------------------------------------
# intrinsics conversion


def _model_name(rs: Any, model: Any) -> str:
    text = str(model)
    return text.split(".", 1)[1] if "." in text else text


def intrinsics_from_rs(ri: Any) -> Intrinsics:
    """Convert a ``pyrealsense2.intrinsics`` to :class:`~rt_sfamnet.frames.Intrinsics`."""
    rs = _rs()
    coeffs = tuple(float(c) for c in list(ri.coeffs)[:5])
    coeffs = coeffs + (0.0,) * (5 - len(coeffs))
    return Intrinsics(
        width=int(ri.width),
        height=int(ri.height),
        fx=float(ri.fx),
        fy=float(ri.fy),
        ppx=float(ri.ppx),
        ppy=float(ri.ppy),
        model=_model_name(rs, ri.model),
        coeffs=coeffs,  # type: ignore[arg-type]
    )


def intrinsics_to_rs(intr: Intrinsics) -> Any:
    """Convert :class:`~rt_sfamnet.frames.Intrinsics` to a ``pyrealsense2.intrinsics``."""
    rs = _rs()
    ri = rs.intrinsics()
    ri.width, ri.height = int(intr.width), int(intr.height)
    ri.fx, ri.fy = float(intr.fx), float(intr.fy)
    ri.ppx, ri.ppy = float(intr.ppx), float(intr.ppy)
    models = rs.distortion.__members__
    if intr.model not in models:
        raise SourceError(
            f"unknown distortion model {intr.model!r}: expected one of {sorted(models)}"
        )
    ri.model = models[intr.model]
    ri.coeffs = [float(c) for c in intr.coeffs]
    return ri


# --------------------------------------------------------------------------------------------
# bounded queue that never blocks the producer


class DropOldestQueue:
    """A bounded FIFO whose :meth:`put` never blocks: when full it drops the oldest item.

    Used between the RealSense SDK's callback thread (producer) and the consumer, so a slow
    consumer never stalls the SDK. :attr:`dropped` counts the items thrown away.
    """

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError(f"queue size must be >= 1, got {maxsize}")
        self.maxsize = int(maxsize)
        self._items: list[Any] = []
        self._cond = threading.Condition()
        self.dropped = 0

    def put(self, item: Any) -> None:
        """Append ``item``; if the queue is full, discard the oldest item first."""
        with self._cond:
            if len(self._items) >= self.maxsize:
                del self._items[0]
                self.dropped += 1
            self._items.append(item)
            self._cond.notify()

    def get(self, timeout: float) -> Any:
        """Remove and return the oldest item; raise ``queue.Empty`` after ``timeout`` s."""
        with self._cond:
            if not self._items and not self._cond.wait_for(lambda: bool(self._items), timeout):
                raise queue.Empty
            return self._items.pop(0)

    def clear(self) -> None:
        with self._cond:
            self._items.clear()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)


# --------------------------------------------------------------------------------------------
# frameset -> RGBDFrame


class _FramesetConverter:
    """Aligns depth to colour (``rs.align`` built once) and copies frames out of the SDK.

    ``align`` is skipped when the depth stream is already registered to colour: same size,
    same intrinsics, identity extrinsics (what :func:`write_recording` writes). Camera
    recordings and the live camera go through ``rs.align``.

    Args:
        color_sp, depth_sp: the colour and depth ``video_stream_profile``.
        depth_scale: metres per z16 unit (the depth sensor's ``get_depth_scale()``).
    """

    def __init__(self, color_sp: Any, depth_sp: Any, depth_scale: float) -> None:
        rs = _rs()
        if color_sp.format() not in (rs.format.rgb8, rs.format.bgr8):
            raise SourceError(f"expected colour format rgb8 or bgr8, found {color_sp.format()}")
        if depth_sp.format() != rs.format.z16:
            raise SourceError(f"expected depth format z16, found {depth_sp.format()}")
        self.color_bgr = color_sp.format() == rs.format.bgr8
        self.intrinsics = intrinsics_from_rs(color_sp.get_intrinsics())
        self.depth_intrinsics = intrinsics_from_rs(depth_sp.get_intrinsics())
        self.depth_scale = float(depth_scale)
        # One z16 unit is depth_scale metres; millimetres = units * depth_scale * 1000.
        self.mm_per_unit = self.depth_scale * 1000.0
        self.unit_is_mm = abs(self.mm_per_unit - 1.0) < 1e-6
        try:
            ext = depth_sp.get_extrinsics_to(color_sp)
            identity = np.allclose(np.asarray(ext.rotation), np.eye(3).ravel(), atol=1e-9) and (
                np.allclose(np.asarray(ext.translation), 0.0, atol=1e-9)
            )
        except RuntimeError:
            identity = False
        self.registered = bool(identity and self.depth_intrinsics == self.intrinsics)
        self.align = None if self.registered else rs.align(rs.stream.color)
        self._composer: Any = None
        self._composed: Any = None
        self._pending_depth: Any = None

    @classmethod
    def from_pipeline_profile(cls, profile: Any) -> _FramesetConverter:
        rs = _rs()
        color_sp = depth_sp = None
        for sp in profile.get_streams():
            st = sp.stream_type()
            if st == rs.stream.color and color_sp is None:
                color_sp = sp.as_video_stream_profile()
            elif st == rs.stream.depth and depth_sp is None:
                depth_sp = sp.as_video_stream_profile()
        if color_sp is None or depth_sp is None:
            found = sorted({str(sp.stream_type()) for sp in profile.get_streams()})
            raise SourceError(f"expected a colour and a depth stream, found {found}")
        scale = profile.get_device().first_depth_sensor().get_depth_scale()
        return cls(color_sp, depth_sp, scale)

    def _copy(self, c: Any, d: Any) -> tuple[np.ndarray, np.ndarray]:
        color = np.array(c.get_data(), dtype=np.uint8, copy=True)
        if self.color_bgr:
            color = np.ascontiguousarray(color[:, :, ::-1])
        raw = np.asanyarray(d.get_data())
        if self.unit_is_mm:
            depth = np.array(raw, dtype=np.uint16, copy=True)
        else:
            depth = np.clip(np.rint(raw * self.mm_per_unit), 0, 65535).astype(np.uint16)
        return color, depth

    def convert(self, fs: Any) -> tuple[Any, Any, np.ndarray, np.ndarray] | None:
        """Frameset -> (colour frame, depth frame, colour copy, depth copy in mm) or None.

        The returned SDK frames are for reading numbers/timestamps only; the arrays are
        Python-owned copies.
        """
        if self.align is not None:
            fs = self.align.process(fs)
        c = fs.get_color_frame()
        d = fs.get_depth_frame()
        if not c or not d:
            return None
        color, depth = self._copy(c, d)
        return c, d, color, depth

    def convert_pair(self, c: Any, d: Any) -> tuple[np.ndarray, np.ndarray]:
        """A separate colour and depth frame -> (colour copy, depth copy aligned, in mm)."""
        if self.align is None:
            return self._copy(c, d)
        rs = _rs()
        if self._composer is None:
            # rs.align works on framesets: build one from the two frames in a processing
            # block (invoke() runs synchronously in this thread).
            self._composed = rs.frame_queue(2, keep_frames=True)

            def compose(frame: Any, source: Any) -> None:
                source.frame_ready(source.allocate_composite_frame([self._pending_depth, frame]))

            self._composer = rs.processing_block(compose)
            self._composer.start(self._composed)
        self._pending_depth = d
        try:
            self._composer.invoke(c)
        finally:
            self._pending_depth = None  # hold no SDK frame past this call
        fs = self._composed.wait_for_frame(1000).as_frameset()
        out = self.convert(fs)
        if out is None:
            raise RecordingError("rs.align returned a frameset without colour or depth")
        return out[2], out[3]


# --------------------------------------------------------------------------------------------
# recording index (.db3)


_META_RE = re.compile(r"Frame number=(\d+);.*?(?:^|;)timestamp=([-0-9.eE+]+)", re.S)


@dataclass
class _StreamIndex:
    capture_ns: list[int] = field(default_factory=list)  # message time, relative to file start
    frame_numbers: list[int] = field(default_factory=list)
    timestamps_ms: list[float] = field(default_factory=list)
    by_number: dict[int, list[int]] = field(default_factory=dict)

    def add(self, capture_ns: int, number: int, ts_ms: float) -> None:
        self.by_number.setdefault(number, []).append(len(self.capture_ns))
        self.capture_ns.append(capture_ns)
        self.frame_numbers.append(number)
        self.timestamps_ms.append(ts_ms)

    def lookup(self, number: int, ts_ms: float) -> int | None:
        """Index of the frame with this frame number (nearest timestamp if repeated)."""
        cands = self.by_number.get(number)
        if not cands:
            return None
        if len(cands) == 1:
            i = cands[0]
            return i if abs(self.timestamps_ms[i] - ts_ms) < 1.0 else None
        return min(cands, key=lambda i: abs(self.timestamps_ms[i] - ts_ms))

    def __len__(self) -> int:
        return len(self.capture_ns)


def _cdr_string(blob: bytes) -> str:
    """Decode a std_msgs/String serialised as CDR (4-byte header, uint32 length, bytes)."""
    if len(blob) < 8:
        return ""
    little = blob[1] in (1, 3)
    n = int.from_bytes(blob[4:8], "little" if little else "big")
    return blob[8 : 8 + n].rstrip(b"\x00").decode("utf-8", "replace")


def _read_db3_index(path: Path) -> tuple[_StreamIndex, _StreamIndex]:
    """Read the colour and depth frame lists of a RealSense ``.db3`` recording.

    Raises RecordingError if the file is not SQLite, is damaged, or is not a RealSense
    recording with one colour and one depth stream.
    """
    try:
        con = sqlite3.connect(f"file:{path.as_posix()}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as exc:
        raise RecordingError(f"{path}: cannot open as a .db3 recording ({exc})") from None
    try:
        try:
            (pages,) = con.execute("PRAGMA page_count").fetchone()
            (page_size,) = con.execute("PRAGMA page_size").fetchone()
            size = path.stat().st_size
            if pages * page_size > size:
                raise RecordingError(
                    f"{path}: truncated .db3 recording: the file has {size} bytes, its header "
                    f"says {pages * page_size}"
                )
            topics = dict(con.execute("SELECT id, name FROM topics").fetchall())
            if not any(n == "/file_version" for n in topics.values()):
                raise RecordingError(
                    f"{path}: not a RealSense recording: expected a '/file_version' topic in "
                    f"the rosbag2 file, found topics {sorted(topics.values())[:8]}"
                )
            meta_ids: dict[int, str] = {}
            for tid, name in topics.items():
                m = re.fullmatch(r"/device_\d+/sensor_\d+/(Color|Depth)_\d+/image/metadata", name)
                if m and m.group(1) not in meta_ids.values():
                    meta_ids[tid] = m.group(1)
            if sorted(meta_ids.values()) != ["Color", "Depth"]:
                raise RecordingError(
                    f"{path}: expected a colour and a depth stream in the recording, found "
                    f"{sorted(meta_ids.values()) or 'no image streams'}"
                )
            (t0,) = con.execute("SELECT MIN(timestamp) FROM messages").fetchone()
            marks = ",".join("?" * len(meta_ids))
            rows = con.execute(
                f"SELECT topic_id, timestamp, data FROM messages WHERE topic_id IN ({marks}) "
                "ORDER BY timestamp, id",
                tuple(meta_ids),
            ).fetchall()
            # Touch the last page of the file: a truncated file fails here.
            con.execute("SELECT MAX(id), COUNT(*) FROM messages").fetchone()
        except sqlite3.DatabaseError as exc:
            raise RecordingError(
                f"{path}: damaged or truncated .db3 recording (SQLite says: {exc})"
            ) from None
    finally:
        con.close()
    color, depth = _StreamIndex(), _StreamIndex()
    for tid, ts, blob in rows:
        text = _cdr_string(bytes(blob))
        m = _META_RE.search(text)
        if not m:
            raise RecordingError(
                f"{path}: frame metadata message without 'Frame number'/'timestamp': {text[:80]!r}"
            )
        idx = color if meta_ids[tid] == "Color" else depth
        idx.add(int(ts) - int(t0 or 0), int(m.group(1)), float(m.group(2)))
    if len(color) == 0 or len(depth) == 0:
        raise RecordingError(
            f"{path}: recording holds {len(color)} colour and {len(depth)} depth frames; "
            "expected at least one of each"
        )
    return color, depth


def _recording_index(path: Path) -> tuple[_StreamIndex, _StreamIndex] | None:
    """The exact frame lists of a ``.db3`` recording; None for ROS1 ``.bag`` files."""
    return _read_db3_index(path) if path.suffix.lower() == ".db3" else None


def _check_recording_file(path: Path) -> None:
    if not path.exists():
        raise RecordingError(f"recording {path} does not exist")
    if not path.is_file():
        raise RecordingError(f"recording {path} is not a file")
    size = path.stat().st_size
    if size == 0:
        raise RecordingError(f"recording {path} is empty (0 bytes)")
    with path.open("rb") as fh:
        head = fh.read(16)
    suffix = path.suffix.lower()
    if suffix == ".db3" and not head.startswith(b"SQLite format 3\x00"):
        raise RecordingError(
            f"{path} is not a .db3 recording: expected an SQLite file, found {head[:12]!r}"
        )
    if suffix == ".bag" and not head.startswith(b"#ROSBAG V2.0"):
        raise RecordingError(
            f"{path} is not a .bag recording: expected a ROS1 bag ('#ROSBAG V2.0'), found "
            f"{head[:12]!r}"
        )
    if suffix not in (".db3", ".bag"):
        raise RecordingError(f"{path}: expected a .db3 or .bag recording, found {suffix!r}")


# --------------------------------------------------------------------------------------------
# playback


class _Player:
    """One run of the SDK's playback of a file, from a start position, into a queue.

    Loads the file as a playback device in a fresh ``rs.context`` with real-time mode off,
    opens its colour and depth sensors, seeks, and starts them with a callback that keeps
    each SDK frame (``frame.keep()``) and puts ``(player, frame)`` into ``out`` with a
    blocking put. In non-real-time mode the SDK waits for the callback, so a slow consumer
    slows the playback down instead of losing frames, and memory stays bounded by the queue.
    ``(player, _END)`` follows the last frame. :meth:`stop` releases everything; a
    callback blocked on the full queue gives up within 0.1 s once stopped.
    """

    def __init__(self, path: Path, out: queue.Queue[Any], seek_ns: int = 0) -> None:
        rs = _rs()
        self._q = out
        self.cancelled = threading.Event()
        self._sensors: list[Any] = []
        self._playing = False
        self.ctx = rs.context()
        try:
            self.device = self.ctx.load_device(str(path))
        except RuntimeError as exc:
            raise RecordingError(f"{path}: pyrealsense2 cannot play it: {exc}") from None
        try:
            self._setup(rs, path, seek_ns)
        except BaseException:
            self.stop()
            raise

    def _setup(self, rs: Any, path: Path, seek_ns: int) -> None:
        pb = self.device.as_playback()
        pb.set_real_time(False)
        self.playback = pb
        picked: dict[str, tuple[int, Any, Any]] = {}
        sensors = list(self.device.query_sensors())
        for si, sensor in enumerate(sensors):
            for sp in sensor.get_stream_profiles():
                st = sp.stream_type()
                key = "color" if st == rs.stream.color else "depth" if st == rs.stream.depth else ""
                if key and key not in picked:
                    picked[key] = (si, sensor, sp.as_video_stream_profile())
        if set(picked) != {"color", "depth"}:
            raise RecordingError(
                f"{path}: expected a colour and a depth stream in the recording, found "
                f"{sorted(picked) or 'neither'}"
            )
        self.color_sp = picked["color"][2]
        self.depth_sp = picked["depth"][2]
        try:
            self.depth_scale = float(picked["depth"][1].as_depth_sensor().get_depth_scale())
        except RuntimeError:
            self.depth_scale = _DEPTH_UNITS_M
        self.fps = float(self.color_sp.fps())
        self.duration_s = pb.get_duration().total_seconds()
        pb.set_status_changed_callback(self._on_status)
        by_sensor: dict[int, tuple[Any, list[Any]]] = {}
        for si, sensor, sp in picked.values():
            by_sensor.setdefault(si, (sensor, []))[1].append(sp)
        for sensor, profiles in by_sensor.values():
            sensor.open(profiles if len(profiles) > 1 else profiles[0])
            self._sensors.append(sensor)
        if seek_ns > 0:
            # (pause() before the sensors start would reset the position to the beginning.)
            # A sensor started a moment after the other may miss the first frames read: the
            # caller seeks a few frames early and checks where playback landed.
            pb.seek(datetime.timedelta(microseconds=seek_ns / 1000.0))
            for sensor in self._sensors:
                sensor.start(self._on_frame)
        else:
            # From the start: start every sensor while paused, so none misses frame 0.
            pb.pause()
            for sensor in self._sensors:
                sensor.start(self._on_frame)
            pb.resume()

    def _put(self, item: Any) -> None:
        while not self.cancelled.is_set():
            try:
                self._q.put((self, item), timeout=0.1)
                return
            except queue.Full:
                continue

    def _on_frame(self, frame: Any) -> None:
        if self.cancelled.is_set():
            return
        self._playing = True
        frame.keep()
        self._put(frame)

    def _on_status(self, status: Any) -> None:
        rs = _rs()
        if status == rs.playback_status.playing:
            self._playing = True
        elif status == rs.playback_status.stopped and self._playing:
            self._put(_END)

    def stop(self) -> None:
        self.cancelled.set()
        for sensor in self._sensors:
            try:
                sensor.stop()
            except RuntimeError:
                pass
        for sensor in self._sensors:
            try:
                sensor.close()
            except RuntimeError:
                pass
        self._sensors = []
        self.device = None
        self.playback = None
        self.ctx = None


_END = object()
_END_GRACE_S = 0.5


class PlaybackSource(Source):
    """Plays a RealSense recording (``.db3`` or ROS1 ``.bag``) through pyrealsense2.

    The SDK's playback device runs in non-real-time mode (``playback.set_real_time(False)``)
    and hands every colour and depth frame to a callback that waits while the bounded queue
    is full, so iteration runs as fast as the consumer reads and never loses a frame. Colour
    frames are paired with the depth frame nearest in time (exactly the same timestamp in
    files from :func:`write_recording`) and depth is aligned to colour with ``rs.align``
    (built once) unless it is stored registered already. With ``realtime=True`` frames are
    paced by their recorded timestamps (times ``1 / speed``); pacing by frame timestamps,
    rather than the SDK's capture clock, also gives the right speed for files written faster
    than real time.

    Frames: ``color`` H×W×3 uint8 RGB, ``depth`` H×W uint16 mm aligned to colour,
    ``timestamp`` the colour frame's timestamp in seconds, ``index`` the colour frame's rank
    in the file (see the module doc), ``meta`` ``{"frame_number", "depth_timestamp"}``.

    Args:
        path: a ``.db3`` or ``.bag`` file.
        realtime: pace frames at the recorded rate (else as fast as possible).
        speed: pacing factor for ``realtime`` (2.0 = twice real time).
        stall_timeout_s: raise RecordingError if no frame comes for this long while the
            SDK has not reported the end (a damaged file must never hang).
        queue_size: SDK frames buffered between the SDK thread and the consumer.
    """

    seekable = True
    live = False

    def __init__(
        self,
        path: str | Path,
        realtime: bool = False,
        speed: float = 1.0,
        stall_timeout_s: float = 5.0,
        queue_size: int = 8,
    ) -> None:
        self.path = Path(path)
        self.name = f"recording {self.path.name}"
        self.realtime = bool(realtime)
        if speed <= 0:
            raise SourceError(f"playback speed must be > 0, found {speed}")
        self.speed = float(speed)
        self.stall_timeout_s = float(stall_timeout_s)
        self.fps = 30.0
        self._lock = threading.Lock()
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(2, int(queue_size)))
        self._player: _Player | None = None
        self._conv: _FramesetConverter | None = None
        self._color_idx: _StreamIndex | None = None
        self._depth_idx: _StreamIndex | None = None
        self._first_color_number: int | None = None
        self._frame_count: int | None = None
        self._gt: list[Interval] | None = None
        self._next_index = 0
        self._pending_seek: int | None = None
        self._opened = False
        self._pace_wall0: float | None = None
        self._pace_ts0 = 0.0
        self._colors: list[tuple[int, Any]] = []
        self._depths: list[Any] = []
        self._ended = False
        self._end_time = 0.0
        self._settling = True
        self._target = 0
        self._seek_start = 0

    # -- Source interface ---------------------------------------------------------------------

    def open(self) -> PlaybackSource:
        if self._opened:
            return self
        _check_recording_file(self.path)
        index = _recording_index(self.path)
        if index is not None:
            self._color_idx, self._depth_idx = index
            self._frame_count = len(self._color_idx)
        gt = ground_truth_path(self.path)
        self._gt = read_intervals(gt) if gt.exists() else None
        try:
            self._restart(0)
            player = self._player
            assert player is not None
            self._conv = _FramesetConverter(player.color_sp, player.depth_sp, player.depth_scale)
            self.fps = player.fps
            if self._color_idx is None:
                # .bag: frame counts come from the duration; indices from the first colour
                # frame number, which is learned from the first frame.
                self._frame_count = int(round(player.duration_s * self.fps)) + 1
                self._learn_first_number()
                self._restart(0)
        except BaseException:
            self._stop_player()
            raise
        self._next_index = 0
        self._opened = True
        return self

    def close(self) -> None:
        self._stop_player()
        self._opened = False

    @property
    def intrinsics(self) -> Intrinsics | None:
        return self._conv.intrinsics if self._conv is not None else None

    @property
    def frame_count(self) -> int | None:
        return self._frame_count

    @property
    def ground_truth(self) -> list[Interval] | None:
        if self._gt is None and not self._opened:
            gt = ground_truth_path(self.path)
            if gt.exists():
                self._gt = read_intervals(gt)
        return self._gt

    @property
    def registered(self) -> bool:
        """True if depth is stored already aligned to colour (``rs.align`` is skipped)."""
        return bool(self._conv and self._conv.registered)

    def seek(self, index: int) -> None:
        """Continue iteration at colour frame ``index`` (0-based).

        Safe to call from another thread while a loop iterates: the iterating thread
        re-positions the SDK before its next frame.
        """
        index = int(index)
        if index < 0:
            raise SourceError(f"seek index must be >= 0, found {index}")
        if self._color_idx is not None and index >= len(self._color_idx):
            raise SourceError(
                f"seek index {index} is past the end: the recording has {self._frame_count} frames"
            )
        with self._lock:
            self._pending_seek = index

    def __iter__(self) -> Iterator[RGBDFrame]:
        if not self._opened:
            raise SourceError(f"{self.name}: open() the source before iterating")
        while True:
            frame = self._next_frame()
            if frame is None:
                return
            yield frame

    # -- internals ----------------------------------------------------------------------------

    def _stop_player(self) -> None:
        player, self._player = self._player, None
        if player is not None:
            player.stop()
        while True:  # drop what the old run left (and the SDK frames it holds)
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._colors.clear()
        self._depths.clear()

    def _seek_ns(self, start: int) -> int:
        if start <= 0:
            return 0
        if self._color_idx is not None and self._depth_idx is not None:
            ns = self._color_idx.capture_ns[start]
            j = bisect_left(self._depth_idx.capture_ns, ns)
            if j > 0:
                ns = min(ns, self._depth_idx.capture_ns[j - 1])
            return max(0, ns - 1000)
        return int(start / self.fps * 1e9)

    def _restart(self, target: int, margin: int = 4) -> None:
        """(Re)start the SDK playback a few frames before ``target``."""
        self._stop_player()
        start = max(0, target - margin)
        self._player = _Player(self.path, self._queue, self._seek_ns(start))
        self._target, self._seek_start = target, start
        self._settling = True
        self._ended = False

    def _learn_first_number(self) -> None:
        deadline = time.monotonic() + self.stall_timeout_s
        while time.monotonic() < deadline:
            try:
                player, f = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if f is _END:
                break
            if self._is_color(f):
                self._first_color_number = int(f.get_frame_number())
                return
        raise RecordingError(f"{self.path}: no colour frame found in the recording")

    @staticmethod
    def _is_color(f: Any) -> bool:
        rs = _rs()
        return f.get_profile().stream_type() == rs.stream.color

    def _index_of(self, c: Any) -> int | None:
        number, ts = int(c.get_frame_number()), float(c.get_timestamp())
        if self._color_idx is not None:
            return self._color_idx.lookup(number, ts)
        assert self._first_color_number is not None
        return number - self._first_color_number

    def _next_frame(self) -> RGBDFrame | None:
        last_item = time.monotonic()
        while True:
            with self._lock:
                pending, self._pending_seek = self._pending_seek, None
            if pending is not None:
                self._restart(pending)
                self._next_index = pending
                self._pace_wall0 = None
                last_item = time.monotonic()
            if self._player is None:
                return None  # finished; seek() to play again
            frame = self._emit(final=self._ended)
            if frame is not None:
                if self.realtime:
                    self._pace(frame.timestamp)
                return frame
            if self._ended:
                incomplete = (self._color_idx is not None
                              and self._next_index < len(self._color_idx))
                # Frames still on their way after the SDK's end notice get a moment to come.
                if not incomplete or time.monotonic() - self._end_time > _END_GRACE_S:
                    self._finish()
                    return None
            try:
                player, f = self._queue.get(timeout=0.05)
            except queue.Empty:
                if time.monotonic() - last_item > self.stall_timeout_s:
                    raise RecordingError(
                        f"{self.path}: no frame for {self.stall_timeout_s:.0f} s after frame "
                        f"{self._next_index - 1}: damaged recording?"
                    ) from None
                continue
            if player is not self._player:
                continue
            last_item = time.monotonic()
            if f is _END:
                self._ended = True
                self._end_time = time.monotonic()
                continue
            if not self._is_color(f):
                self._depths.append(f)
                if len(self._depths) > 16:
                    del self._depths[0]
                continue
            idx = self._index_of(f)
            if idx is None or idx < self._next_index:
                continue  # before the seek target
            if self._settling:
                if idx > self._target and self._seek_start > 0:
                    # The SDK's seek landed past the target: start further back.
                    self._restart(self._target, margin=4 * (self._target - self._seek_start + 1))
                    last_item = time.monotonic()
                    continue
                self._settling = False
            self._colors.append((idx, f))

    def _emit(self, final: bool) -> RGBDFrame | None:
        """The oldest pending colour frame with its nearest depth frame, once that is known."""
        if not self._colors:
            return None
        idx, c = self._colors[0]
        cts = float(c.get_timestamp())
        depths = self._depths
        # The nearest depth is known once a depth frame at or after the colour frame's time
        # has arrived (frames come in capture order), or at the end of the file.
        if not final and len(self._colors) <= 8 and not any(
            float(d.get_timestamp()) >= cts - 1e-3 for d in depths
        ):
            return None
        del self._colors[0]
        conv = self._conv
        assert conv is not None
        if depths:
            best = min(range(len(depths)), key=lambda k: abs(float(depths[k].get_timestamp()) - cts))
            d = depths[best]
            del depths[:best]  # older depth frames are of no use to later colour frames
            color, depth = conv.convert_pair(c, d)
            dts = float(d.get_timestamp()) / 1000.0
        else:  # no depth at all in this part of the file
            color = np.array(c.get_data(), dtype=np.uint8, copy=True)
            if conv.color_bgr:
                color = np.ascontiguousarray(color[:, :, ::-1])
            depth = np.zeros(color.shape[:2], np.uint16)
            dts = float("nan")
        self._next_index = idx + 1
        return RGBDFrame(
            color=color,
            depth=depth,
            timestamp=cts / 1000.0,
            index=idx,
            intrinsics=conv.intrinsics,
            meta={"frame_number": int(c.get_frame_number()), "depth_timestamp": dts},
        )

    def _finish(self) -> None:
        self._stop_player()
        if self._color_idx is None and self._next_index > 0:
            self._frame_count = self._next_index  # the estimate, now known exactly
        if self._color_idx is not None and self._next_index < len(self._color_idx):
            raise RecordingError(
                f"{self.path}: playback stopped after frame {self._next_index - 1} of "
                f"{len(self._color_idx)}: truncated or damaged recording"
            )

    def _pace(self, ts: float) -> None:
        """Wait until frame time ``ts`` (s) is due on the wall clock (scaled by speed)."""
        now = time.monotonic()
        if self._pace_wall0 is None:
            self._pace_wall0, self._pace_ts0 = now, ts
            return
        due = self._pace_wall0 + (ts - self._pace_ts0) / self.speed
        if now - due > 1.0:  # consumer far behind: re-anchor instead of bursting
            self._pace_wall0, self._pace_ts0 = now, ts
            return
        self._sleep_until(due)

    def _sleep_until(self, due: float) -> None:
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)


# --------------------------------------------------------------------------------------------
# live camera


class CameraSource(Source):
    """A live Intel RealSense D415 (colour rgb8 + depth z16, depth aligned to colour, mm).

    The SDK delivers framesets into a callback that aligns them (``rs.align`` built once),
    copies colour and depth into NumPy arrays at once, and puts the frame into a bounded
    queue that drops its oldest frame when full (:attr:`dropped` counts them), so the SDK is
    never blocked by a slow consumer.

    Frames: ``timestamp`` is the camera's frame timestamp in seconds (made strictly
    increasing), ``index`` counts framesets delivered by the SDK (gaps = dropped frames),
    ``meta`` ``{"frame_number", "arrival"}`` (``arrival`` = ``time.monotonic()`` when the
    SDK delivered the frame, for latency measurement).

    Errors: :class:`CameraNotFoundError` at :meth:`open` when no camera (or not the one with
    ``serial``) is connected; :class:`CameraDisconnectedError` during iteration when no
    frame comes for ``frame_timeout_s`` (``first_frame_timeout_s`` for the first) or the
    device is removed.

    ``recording``: play this recording in real time in place of the camera, through the
    same pipeline, callback, alignment and dropping queue (for tests and demos without a
    camera). Its end looks like an unplugged camera: frames stop coming.
    """

    live = True
    seekable = False

    def __init__(
        self,
        width: int = 640,
        height: int = 480,
        fps: int = 30,
        serial: str | None = None,
        queue_size: int = 8,
        frame_timeout_s: float = 2.0,
        first_frame_timeout_s: float = 5.0,
        recording: str | Path | None = None,
    ) -> None:
        if (width, height) not in CAMERA_MODES:
            raise SourceError(
                f"camera mode {width}x{height} not supported: expected one of "
                f"{', '.join(f'{w}x{h}' for w, h in CAMERA_MODES)}"
            )
        if fps not in (6, 15, 30):
            raise SourceError(f"camera fps must be 6, 15 or 30, found {fps}")
        self.width, self.height, self.fps = int(width), int(height), float(fps)
        self.serial = serial
        self.recording = None if recording is None else Path(recording)
        self.name = f"D415 {width}x{height}@{fps}"
        self._device: Any = None
        self.queue = DropOldestQueue(queue_size)
        self.frame_timeout_s = float(frame_timeout_s)
        self.first_frame_timeout_s = float(first_frame_timeout_s)
        self._pipe: Any = None
        self._ctx: Any = None
        self._conv: _FramesetConverter | None = None
        self._error: BaseException | None = None
        self._removed = threading.Event()
        self._count = 0
        self._last_ts = -math.inf
        self._intrinsics: Intrinsics | None = None

    @property
    def dropped(self) -> int:
        """Frames thrown away because the consumer was slower than the camera."""
        return self.queue.dropped

    @property
    def intrinsics(self) -> Intrinsics | None:
        return self._intrinsics

    def open(self) -> CameraSource:
        if self._pipe is not None:
            return self
        rs = _rs()
        self._ctx = rs.context()
        self._removed.clear()
        if self.recording is None:
            serial = _find_camera(rs, self.serial)
            device = next(
                (d for d in self._ctx.query_devices()
                 if d.get_info(rs.camera_info.serial_number) == serial),
                None,
            )
            if device is None:
                raise CameraNotFoundError(f"camera {serial} disappeared before it was opened")
        else:
            # A recording played in real time stands in for the camera (tests and demos).
            _check_recording_file(self.recording)
            try:
                device = self._ctx.load_device(str(self.recording))
            except RuntimeError as exc:
                raise RecordingError(
                    f"{self.recording}: pyrealsense2 cannot play it: {exc}"
                ) from None
            device.as_playback().set_real_time(True)
            serial = device.get_info(rs.camera_info.serial_number)
        self._device = device

        def on_devices_changed(info: Any) -> None:
            try:
                if self._device is not None and info.was_removed(self._device):
                    self._removed.set()
            except RuntimeError:
                pass

        self._ctx.set_devices_changed_callback(on_devices_changed)
        pipe = rs.pipeline(self._ctx)
        cfg = rs.config()
        cfg.enable_device(serial)
        cfg.enable_stream(rs.stream.color, self.width, self.height, rs.format.rgb8, int(self.fps))
        cfg.enable_stream(rs.stream.depth, self.width, self.height, rs.format.z16, int(self.fps))
        what = f"camera {serial}" if self.recording is None else f"recording {self.recording}"
        try:
            resolved = cfg.resolve(rs.pipeline_wrapper(pipe))
        except RuntimeError as exc:
            self._device = None
            raise CameraNotFoundError(
                f"{what} cannot stream colour rgb8 + depth z16 at "
                f"{self.width}x{self.height}@{int(self.fps)}"
                + (" (is it a D415 on USB 3?)" if self.recording is None else "")
                + f": {exc}"
            ) from None
        # Built before streaming starts, so the callback handles the very first frames.
        self._conv = _FramesetConverter.from_pipeline_profile(resolved)
        self._count = 0
        self._last_ts = -math.inf
        try:
            pipe.start(cfg, self._on_frameset)
        except RuntimeError as exc:
            self._device = None
            self._conv = None
            raise CameraNotFoundError(f"cannot start {what}: {exc}") from None
        self._pipe = pipe
        self._intrinsics = self._conv.intrinsics
        return self

    def _on_frameset(self, frame: Any) -> None:
        """SDK callback thread: align, copy out, enqueue (never blocks, never raises)."""
        try:
            conv = self._conv
            if conv is None or not frame.is_frameset():
                return
            out = conv.convert(frame.as_frameset())
            if out is None:
                return
            c, _, color, depth = out
            ts = float(c.get_timestamp()) / 1000.0
            if ts <= self._last_ts:
                ts = self._last_ts + 1e-6
            self._last_ts = ts
            idx = self._count
            self._count += 1
            self.queue.put(
                RGBDFrame(color, depth, ts, idx, conv.intrinsics,
                          {"frame_number": int(c.get_frame_number()),
                           "arrival": time.monotonic()})
            )
        except BaseException as exc:  # surfaced to the consumer by __iter__
            self._error = exc

    def __iter__(self) -> Iterator[RGBDFrame]:
        if self._pipe is None:
            raise SourceError(f"{self.name}: open() the source before iterating")
        last = time.monotonic()
        got_any = False
        while True:
            if self._error is not None:
                err, self._error = self._error, None
                raise SourceError(f"camera frame processing failed: {err}") from err
            if self._removed.is_set():
                raise CameraDisconnectedError(
                    "the camera was disconnected while streaming (device removed)"
                )
            try:
                frame = self.queue.get(timeout=0.1)
            except queue.Empty:
                limit = self.frame_timeout_s if got_any else self.first_frame_timeout_s
                if time.monotonic() - last > limit:
                    raise CameraDisconnectedError(
                        f"no frame from the camera for {limit:.1f} s (after "
                        f"{self._count} frames): unplugged or USB reset?"
                    ) from None
                continue
            got_any = True
            last = time.monotonic()
            yield frame

    def close(self) -> None:
        pipe, self._pipe = self._pipe, None
        try:
            if pipe is not None:
                pipe.stop()
        except RuntimeError:
            pass
        finally:
            self._conv = None
            self.queue.clear()
            self._device = None
            self._ctx = None


def _find_camera(rs: Any, serial: str | None) -> str:
    """Serial number of the camera to use; CameraNotFoundError (fast) if there is none."""
    try:
        devices = list(rs.context().query_devices())
    except RuntimeError as exc:
        raise CameraNotFoundError(f"cannot list RealSense devices: {exc}") from None
    found = []
    for dev in devices:
        try:
            found.append((dev.get_info(rs.camera_info.serial_number),
                          dev.get_info(rs.camera_info.name)))
        except RuntimeError:
            continue
    if not found:
        raise CameraNotFoundError(
            "no RealSense camera found: expected an Intel RealSense D415 connected over USB 3 "
            "(check the cable, and that no other program uses it)"
        )
    if serial is None:
        return found[0][0]
    for s, _ in found:
        if s == serial:
            return s
    raise CameraNotFoundError(
        f"no RealSense camera with serial {serial!r}: found "
        + ", ".join(f"{n} ({s})" for s, n in found)
    )


# --------------------------------------------------------------------------------------------
# writers


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


class _WriteProgress:
    """How far ``rs.recorder`` has written: the last frame number stored per stream.

    Reads the growing ``.db3`` read-only (the newest metadata message of each image stream);
    a read that races with the writer is simply retried.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._con: sqlite3.Connection | None = None
        self._topics: dict[str, int] = {}

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
            elif time.monotonic() - last_progress > _WRITE_STALL_S:
                raise RecordingError(
                    f"{self.path}: the recorder stopped writing after {written} of "
                    f"{len(pushed)} frames"
                )
            time.sleep(0.01)

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
    is recorded by ``rs.recorder``; the file plays back through :class:`PlaybackSource` (and
    the RealSense Viewer) like a camera recording. Frame numbers are ``frame.index``, frame
    timestamps ``frame.timestamp`` (converted to ms).

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
    intr = first.intrinsics
    h, w = first.shape
    if (intr.width, intr.height) != (w, h):
        raise RecordingError(
            f"frame 0: intrinsics are for {intr.width}x{intr.height}, image is {w}x{h}"
        )
    ri = intrinsics_to_rs(intr)
    if depth_intrinsics is not None and (depth_intrinsics.width, depth_intrinsics.height) != (w, h):
        raise RecordingError(
            f"depth intrinsics are for {depth_intrinsics.width}x{depth_intrinsics.height}, "
            f"frames are {w}x{h}"
        )
    dri = ri if depth_intrinsics is None else intrinsics_to_rs(depth_intrinsics)

    dev = rs.software_device()
    dev.register_info(rs.camera_info.name, "rt-sfamnet software D415")
    dev.register_info(rs.camera_info.serial_number, "0")
    depth_sensor = dev.add_sensor("Stereo Module")
    color_sensor = dev.add_sensor("RGB Camera")
    vs = rs.video_stream()
    vs.type, vs.index, vs.uid = rs.stream.depth, 0, 0
    vs.width, vs.height, vs.fps, vs.bpp, vs.fmt = w, h, int(round(fps)), 2, rs.format.z16
    vs.intrinsics = dri
    depth_profile = depth_sensor.add_video_stream(vs)
    vs = rs.video_stream()
    vs.type, vs.index, vs.uid = rs.stream.color, 0, 1
    vs.width, vs.height, vs.fps, vs.bpp, vs.fmt = w, h, int(round(fps)), 3, rs.format.rgb8
    vs.intrinsics = ri
    color_profile = color_sensor.add_video_stream(vs)
    depth_sensor.add_read_only_option(rs.option.depth_units, _DEPTH_UNITS_M)
    ext = rs.extrinsics()
    ext.rotation = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    ext.translation = [0.0, 0.0, 0.0]
    depth_profile.register_extrinsics_to(color_profile, ext)
    dev.create_matcher(rs.matchers.dlr_c)

    recorder = rs.recorder(str(tmp), dev, bool(compress))
    progress = _WriteProgress(tmp)
    delivered = {"depth": 0, "color": 0}

    def on_depth(f: Any) -> None:
        delivered["depth"] += 1

    def on_color(f: Any) -> None:
        delivered["color"] += 1

    pushed: list[int] = []  # frame numbers in push order
    opened = started = done = False
    try:
        depth_sensor.open(depth_profile)
        color_sensor.open(color_profile)
        opened = True
        depth_sensor.start(on_depth)
        color_sensor.start(on_color)
        started = True
        dvp = depth_profile.as_video_stream_profile()
        cvp = color_profile.as_video_stream_profile()
        last_ts = -math.inf
        frame: RGBDFrame | None = first
        while frame is not None:
            n = len(pushed)
            if frame.shape != (h, w) or frame.intrinsics != intr:
                raise RecordingError(
                    f"frame {n}: expected {w}x{h} with the first frame's intrinsics, found "
                    f"{frame.shape[1]}x{frame.shape[0]} {frame.intrinsics}"
                )
            if not frame.timestamp > last_ts:
                raise RecordingError(
                    f"frame {n}: timestamps must increase, found {frame.timestamp} after {last_ts}"
                )
            if pushed and not frame.index > pushed[-1]:
                raise RecordingError(
                    f"frame {n}: indices must increase, found {frame.index} after {pushed[-1]}"
                )
            last_ts = frame.timestamp
            # Keep the recorder's write queue short: it writes (and compresses) in its own
            # thread, and frames still queued when it is destroyed would be lost.
            progress.wait_backlog(pushed, _WRITE_BACKLOG)
            for key, sensor, vp, arr, bpp in (
                ("depth", depth_sensor, dvp, frame.depth, 2),
                ("color", color_sensor, cvp, frame.color, 3),
            ):
                for _attempt in range(3):
                    before = delivered[key]
                    sf = rs.software_video_frame()
                    sf.pixels = np.ascontiguousarray(arr)  # copied by pyrealsense2
                    sf.stride, sf.bpp = w * bpp, bpp
                    sf.timestamp = frame.timestamp * 1000.0
                    sf.domain = rs.timestamp_domain.global_time
                    sf.frame_number = int(frame.index)
                    sf.profile = vp
                    if bpp == 2:
                        sf.depth_units = _DEPTH_UNITS_M
                    sensor.on_video_frame(sf)
                    if delivered[key] > before:
                        break
                    # The SDK had no free frame buffer: let the writer catch up, try again.
                    progress.wait_backlog(pushed, 0)
                else:
                    raise RecordingError(
                        f"frame {n}: pyrealsense2 dropped the {key} frame three times"
                    )
            pushed.append(int(frame.index))
            frame = next(it, None)
        progress.wait_backlog(pushed, 0)
        done = True
    finally:
        progress.close()
        try:
            if started:
                depth_sensor.stop()
                color_sensor.stop()
            if opened:
                depth_sensor.close()
                color_sensor.close()
        finally:
            # The file is flushed and closed when the recorder is destroyed.
            del recorder, depth_sensor, color_sensor, depth_profile, color_profile, dev
            gc.collect()
            if not done and tmp.exists():
                tmp.unlink()
    n = len(pushed)
    if not tmp.exists():
        raise RecordingError(f"pyrealsense2 did not write {tmp}")
    color_idx, depth_idx = _read_db3_index(tmp)
    if len(color_idx) != n or len(depth_idx) != n:
        tmp.unlink()
        raise RecordingError(
            f"pyrealsense2 wrote {len(color_idx)} colour and {len(depth_idx)} depth frames of "
            f"{n} to {out}"
        )
    os.replace(tmp, out)
    return n


def record_camera(
    path: str | Path,
    seconds: float,
    width: int = 640,
    height: int = 480,
    fps: int = 30,
    on_frame: Callable[[int], None] | None = None,
) -> int:
    """Record the live camera (colour rgb8 + depth z16, as the camera sends them) to ``.db3``.

    Returns the number of framesets recorded. ``on_frame(n)`` is called after each one.
    Raises CameraNotFoundError without a camera (quickly, before anything is written) and
    CameraDisconnectedError if frames stop coming.
    """
    rs = _rs()
    out = Path(path)
    _check_db3_target(out)
    if seconds <= 0:
        raise SourceError(f"recording length must be > 0 s, found {seconds}")
    if (width, height) not in CAMERA_MODES:
        raise SourceError(
            f"camera mode {width}x{height} not supported: expected one of "
            f"{', '.join(f'{w}x{h}' for w, h in CAMERA_MODES)}"
        )
    serial = _find_camera(rs, None)
    pipe = rs.pipeline()
    cfg = rs.config()
    cfg.enable_device(serial)
    cfg.enable_stream(rs.stream.color, width, height, rs.format.rgb8, fps)
    cfg.enable_stream(rs.stream.depth, width, height, rs.format.z16, fps)
    cfg.enable_record_to_file(str(out))
    try:
        pipe.start(cfg)
    except RuntimeError as exc:
        raise CameraNotFoundError(f"cannot start camera {serial}: {exc}") from None
    n = 0
    seen: dict[str, int] = {}
    progress = _WriteProgress(out)
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ok, fs = pipe.try_wait_for_frames(5000 if n == 0 else 2000)
            if not ok:
                raise CameraDisconnectedError(
                    f"no frame from the camera for {5 if n == 0 else 2} s while recording "
                    f"(after {n} frames): unplugged or USB reset?"
                )
            c, d = fs.get_color_frame(), fs.get_depth_frame()
            if c:
                seen["Color"] = int(c.get_frame_number())
            if d:
                seen["Depth"] = int(d.get_frame_number())
            n += 1
            if on_frame is not None:
                on_frame(n)
        # The recorder writes in its own thread and drops what is still queued when the
        # pipeline stops: wait until it has written the last frames seen.
        deadline = time.monotonic() + _WRITE_STALL_S
        last = None
        while True:
            per = progress.last_written_per_stream()
            if per is not None and all(per.get(k, -1) >= v for k, v in seen.items()):
                break
            if per != last:  # still writing: extend the deadline
                last, deadline = per, time.monotonic() + _WRITE_STALL_S
            if time.monotonic() > deadline:
                raise RecordingError(
                    f"{out}: the recorder stopped writing at frames {per} of {seen}; the file "
                    "misses its last frames"
                )
            time.sleep(0.05)
    finally:
        progress.close()
        try:
            pipe.stop()
        except RuntimeError:
            pass
    return n
