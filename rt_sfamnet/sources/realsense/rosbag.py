"""RealSense recordings read with ``rosbags`` (pure Python): no librealsense needed.

:func:`playback_source` is what ``make_source`` uses for a ``.db3``/``.bag`` file: the SDK's
:class:`~rt_sfamnet.sources.realsense.playback.PlaybackSource` where pyrealsense2 imports,
else :class:`RosbagPlaybackSource` (macOS, Python 3.13, no SDK).

A RealSense recording is a ROS bag (ROS2 ``.db3`` / ROS1 ``.bag``) with, per stream,
``/device_0/sensor_<s>/<Color|Depth>_0/image/data[/compressed|/compressedDepth]`` (a
``sensor_msgs`` ``CompressedImage`` holding a PNG, or a raw ``Image``), ``.../image/metadata``
(``Frame number=..;timestamp=..`` strings), ``.../info`` (``encoding=RGB8``), the intrinsics
(``.../image/camera_info``), ``.../tf/ref_<n>`` (each stream's pose) and the depth units
(``/device_0/sensor_<s>/option/Depth_Units/value``). :class:`RecordingIndex` reads all of it
except the images; :class:`RosbagPlaybackSource` then streams and decodes the images.

Frames equal the SDK's: frame ``index`` comes from the colour timestamp
(:func:`~rt_sfamnet.sources.realsense.index.nominal_indices`; a frame lost from the file
leaves its number unused), a colour frame without depth within
:data:`~rt_sfamnet.sources.realsense.index.DEPTH_MATCH_PERIODS` frame periods gets zero
depth and ``meta["gap"] = "missing_depth"``, colour is
H×W×3 uint8 RGB, depth H×W uint16 millimetres, ``timestamp`` the colour timestamp in
seconds, colour paired with the depth frame nearest in time. Depth stored registered to
colour (same intrinsics, identity extrinsics: simulated recordings) is used as it is and is
bit-identical to the SDK's; other depth goes through
:func:`~rt_sfamnet.sources.realsense.align.align_depth_to_color` (see its tolerance).
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.errors import RecordingError, SourceError
from rt_sfamnet.frames import Intrinsics, RGBDFrame
from rt_sfamnet.images import PNG_SIGNATURE, decode_png
from rt_sfamnet.intervals import Interval, read_intervals
from rt_sfamnet.pacing import Pacer
from rt_sfamnet.sources.base import Source
from rt_sfamnet.sources.realsense.damage import guard_frames
from rt_sfamnet.sources.realsense.index import (
    DEPTH_MATCH_PERIODS,
    RecordingControls,
    _check_recording_file,
    check_speed,
    ground_truth_path,
    nominal_indices,
)

_STREAM_RE = re.compile(r"/device_(\d+)/sensor_(\d+)/(Color|Depth)_(\d+)/(.+)")
_FIELD_RE = re.compile(r"([^=;]+)=([^;]*)")


def sdk_available() -> bool:
    """True when pyrealsense2 imports (the SDK plays recordings and aligns depth)."""
    try:
        import pyrealsense2  # noqa: F401
    except ImportError:
        return False
    return True


def playback_source(path: str | Path, **options: Any) -> Source:
    """The playback source for a recording: the SDK's when pyrealsense2 is present, else
    :class:`RosbagPlaybackSource`."""
    if sdk_available():
        from rt_sfamnet.sources.realsense.playback import PlaybackSource

        return PlaybackSource(path, **options)
    return RosbagPlaybackSource(path, **options)


def _fields(text: str) -> dict[str, str]:
    return {k.strip(): v.strip() for k, v in _FIELD_RE.findall(text)}


def _model(name: str) -> str:
    """librealsense's distortion name as stored (``"Brown Conrady"``) -> ``"brown_conrady"``."""
    return name.strip().lower().replace(" ", "_") or "none"


@dataclass
class _Stream:
    """One image stream of the recording (colour or depth)."""

    kind: str
    data: Any = None  # rosbags connection of the image messages
    encoding: str = ""
    intrinsics: Intrinsics | None = None
    pose: tuple[np.ndarray, np.ndarray] | None = None  # rotation (3x3), translation (m)
    times: list[int] = field(default_factory=list)  # bag times of the metadata messages
    numbers: list[int] = field(default_factory=list)
    stamps_ms: list[float] = field(default_factory=list)


class RecordingIndex:
    """Everything about a RealSense recording but its images, read through ``rosbags``.

    Attributes:
        color, depth: per-stream frame lists (bag time, frame number, timestamp in ms) in
            the file's order, intrinsics, encoding and pose.
        depth_unit_m: metres per depth unit. fps: the colour stream's frame rate.
        registered: depth stored aligned to colour (same intrinsics, identity extrinsics).
        pair: for each colour frame, the index of the nearest depth frame in time.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        _check_recording_file(self.path)
        from rosbags.highlevel import AnyReader
        from rosbags.typesys import Stores, get_typestore

        self.reader = AnyReader([self.path], default_typestore=get_typestore(
            Stores.ROS2_HUMBLE))
        try:
            self.reader.open()
        except Exception as exc:  # noqa: BLE001 - rosbags raises several kinds
            raise RecordingError(f"{self.path}: cannot read it as a ROS bag ({exc})") from None
        try:
            self._read()
        except RecordingError:
            self.close()
            raise
        except Exception as exc:  # noqa: BLE001 - a damaged file must be one clear error
            self.close()
            raise RecordingError(f"{self.path}: damaged recording ({type(exc).__name__}: "
                                 f"{exc})") from None

    def close(self) -> None:
        try:
            self.reader.close()
        except Exception:  # noqa: BLE001, S110 - closing twice or a half-open reader
            pass

    def _read(self) -> None:
        streams = {"Color": _Stream("color"), "Depth": _Stream("depth")}
        meta: dict[int, _Stream] = {}
        small: list[tuple[Any, _Stream | None, str]] = []
        self.depth_unit_m = 0.001
        for c in self.reader.connections:
            m = _STREAM_RE.fullmatch(c.topic)
            if m is None:
                if c.topic.endswith("/option/Depth_Units/value"):
                    small.append((c, None, "depth_units"))
                continue
            st = streams[m.group(3)]
            rest = m.group(5)
            if rest.startswith("image/data") and st.data is None:
                st.data = c
            elif rest == "image/metadata":
                meta[c.id] = st
            elif rest in ("info", "camera_info") or rest.startswith("tf/"):
                small.append((c, st, rest))
        if any(st.data is None for st in streams.values()) or len(meta) != 2:
            raise RecordingError(f"{self.path}: expected a colour and a depth stream in the "
                                 f"recording, found topics {[c.topic for c in self.reader.connections][:8]}")
        for c, st, what in small:
            for _, _, raw in self.reader.messages(connections=[c]):
                self._small(self.reader.deserialize(raw, c.msgtype), st, what)
        conns = [c for c in self.reader.connections if c.id in meta]
        for c, t, raw in self.reader.messages(connections=conns):
            text = str(self.reader.deserialize(raw, c.msgtype).data)
            f = _fields(text)
            if "Frame number" not in f or "timestamp" not in f:
                raise RecordingError(f"{self.path}: frame metadata without 'Frame number'/"
                                     f"'timestamp': {text[:80]!r}")
            st = meta[c.id]
            st.times.append(int(t))
            st.numbers.append(int(f["Frame number"]))
            st.stamps_ms.append(float(f["timestamp"]))
        self.color, self.depth = streams["Color"], streams["Depth"]
        self._check()

    def _small(self, msg: Any, st: _Stream | None, what: str) -> None:
        text = str(getattr(msg, "data", ""))
        if what == "depth_units":
            self.depth_unit_m = float(text)
        elif what == "info":
            st.encoding = _fields(text).get("encoding", "").lower()
        elif what == "camera_info":
            f = _fields(text)
            coeffs = tuple(float(np.float32(x)) for x in f.get("coeffs", "0,0,0,0,0").split(","))
            st.intrinsics = Intrinsics(
                width=int(f["width"]), height=int(f["height"]),
                fx=float(np.float32(f["fx"])), fy=float(np.float32(f["fy"])),
                ppx=float(np.float32(f["ppx"])), ppy=float(np.float32(f["ppy"])),
                model=_model(f.get("model", "none")),
                coeffs=(coeffs + (0.0,) * 5)[:5])  # type: ignore[arg-type]
        elif what.startswith("tf/"):
            f = _fields(text)
            rot = np.array([float(x) for x in f["rotation"].split(",")], np.float64)
            tr = np.array([float(x) for x in f["translation"].split(",")], np.float64)
            st.pose = (rot.reshape(3, 3).T, tr)  # librealsense stores the rotation column-major

    def _check(self) -> None:
        for st in (self.color, self.depth):
            if st.intrinsics is None:
                raise RecordingError(f"{self.path}: no intrinsics for the {st.kind} stream")
            if not st.times:
                raise RecordingError(f"{self.path}: recording holds {len(self.color.times)} "
                                     f"colour and {len(self.depth.times)} depth frames; expected "
                                     "at least one of each")
        if self.color.encoding not in ("rgb8", "bgr8", ""):
            raise RecordingError(f"{self.path}: expected colour encoding rgb8 or bgr8, found "
                                 f"{self.color.encoding!r}")
        if self.depth.encoding not in ("z16", ""):
            raise RecordingError(f"{self.path}: expected depth encoding z16, found "
                                 f"{self.depth.encoding!r}")
        # depth -> colour extrinsics from the two poses (p_ref = R p + t for each stream)
        rd, td = self.depth.pose or (np.eye(3), np.zeros(3))
        rc, tc = self.color.pose or (np.eye(3), np.zeros(3))
        self.rotation = rc.T @ rd
        self.translation_m = rc.T @ (td - tc)
        self.registered = bool(
            np.allclose(self.rotation, np.eye(3), atol=1e-9)
            and np.allclose(self.translation_m, 0.0, atol=1e-9)
            and self.depth.intrinsics == self.color.intrinsics)
        dts = np.asarray(self.depth.stamps_ms)
        order = np.argsort(dts, kind="stable")
        self.pair = [int(order[_nearest(dts[order], ts)]) for ts in self.color.stamps_ms]
        steps = np.diff(np.asarray(self.color.stamps_ms, dtype=np.float64))
        steps = steps[steps > 0]
        # the typical frame period: frames lost from the file do not change it
        self.fps = round(1000.0 / float(np.median(steps)), 3) if steps.size else 30.0
        self.nominal = nominal_indices(list(self.color.stamps_ms), self.fps)
        tol = DEPTH_MATCH_PERIODS * 1000.0 / self.fps
        self.depth_ok = [abs(dts[j] - c) <= tol for j, c in zip(self.pair, self.color.stamps_ms,
                                                                 strict=True)]

    @property
    def frame_count(self) -> int:
        return len(self.color.times)


def _nearest(sorted_ts: np.ndarray, ts: float) -> int:
    """Position of the value nearest ``ts`` in a sorted array (the earlier one on ties)."""
    j = int(np.searchsorted(sorted_ts, ts))
    if j == 0:
        return 0
    if j >= len(sorted_ts):
        return len(sorted_ts) - 1
    return j - 1 if ts - sorted_ts[j - 1] <= sorted_ts[j] - ts else j


def decode_image(msg: Any, kind: str) -> np.ndarray:
    """A ``sensor_msgs`` (Compressed)Image -> colour H×W×3 uint8 RGB or depth H×W uint16.

    Compressed images hold a PNG (``"rgb8; png compressed bgr8"``; depth ``"16UC1;
    compressedDepth png"`` with its 12-byte header); raw images are ``rgb8``/``bgr8``/
    ``16UC1``/``mono16``.
    """
    import cv2

    fmt = str(getattr(msg, "format", ""))
    data = np.frombuffer(bytes(msg.data), np.uint8)
    if fmt or not hasattr(msg, "encoding"):
        if "compressedDepth" in fmt:
            data = data[12:]
        img = decode_png(data.tobytes(), f"{kind} image", RecordingError) if data[
            :8].tobytes() == PNG_SIGNATURE else cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        if img is None:
            raise RecordingError(f"cannot decode a {kind} image ({fmt!r})")
        if kind == "color":  # the PNG holds true colours; OpenCV hands them back as BGR
            return np.ascontiguousarray(img[:, :, ::-1]) if img.ndim == 3 else np.repeat(
                img[:, :, None], 3, axis=2)
        return img.astype(np.uint16, copy=False)
    enc = str(msg.encoding).lower()
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    if kind == "depth":
        dt = np.dtype(">u2" if msg.is_bigendian else "<u2")
        return np.frombuffer(data.tobytes(), dt).reshape(h, step // 2)[:, :w].astype(np.uint16)
    img = data.reshape(h, step)[:, : w * 3].reshape(h, w, 3)
    return np.ascontiguousarray(img[:, :, ::-1] if enc == "bgr8" else img)


class RosbagPlaybackSource(RecordingControls, Source):
    """Plays a RealSense recording with ``rosbags`` and NumPy/OpenCV only (no SDK).

    Same frames, numbering, seeking and pacing as
    :class:`~rt_sfamnet.sources.realsense.playback.PlaybackSource` (see the module doc).

    Args:
        path: a ``.db3`` or ``.bag`` file.
        realtime: pace frames at the recorded rate (else as fast as possible).
        speed: pacing factor for ``realtime``.
        stall_timeout_s, queue_size: accepted for compatibility (reading never waits on a
            device here).
    """

    seekable = True
    live = False

    def __init__(self, path: str | Path, realtime: bool = False, speed: float = 1.0,
                 stall_timeout_s: float = 5.0, queue_size: int = 8) -> None:
        self.path = Path(path)
        self.name = f"recording {self.path.name}"
        self.realtime = bool(realtime)
        check_speed(speed)
        self.fps = 30.0
        self._pacer = Pacer(self.fps, float(speed))
        self._index: RecordingIndex | None = None
        self._gt: list[Interval] | None = None
        self._lock = threading.Lock()
        self._pending_seek: int | None = None
        self._next = 0

    def open(self) -> RosbagPlaybackSource:
        if self._index is not None:
            return self
        self._index = RecordingIndex(self.path)
        self.fps = self._index.fps
        self._pacer = Pacer(self.fps, self._pacer.speed)
        gt = ground_truth_path(self.path)
        self._gt = read_intervals(gt) if gt.exists() else None
        self._next = 0
        return self

    def close(self) -> None:
        index, self._index = self._index, None
        if index is not None:
            index.close()

    @property
    def intrinsics(self) -> Intrinsics | None:
        return None if self._index is None else self._index.color.intrinsics

    @property
    def frame_count(self) -> int | None:
        return None if self._index is None else self._index.nominal[-1] + 1

    @property
    def registered(self) -> bool:
        return bool(self._index and self._index.registered)

    def _is_open(self) -> bool:
        return self._index is not None

    def seek(self, index: int) -> None:
        index = int(index)
        if index < 0:
            raise SourceError(f"seek index must be >= 0, found {index}")
        if self._index is not None:
            rank = bisect_left(self._index.nominal, index)  # a lost frame: the next one
            if rank >= self._index.frame_count:
                raise SourceError(f"seek index {index} is past the end: the recording has "
                                  f"{self.frame_count} frames")
            index = rank
        with self._lock:
            self._pending_seek = index

    def __iter__(self) -> Iterator[RGBDFrame]:
        if self._index is None:
            raise SourceError(f"{self.name}: open() the source before iterating")
        while True:
            with self._lock:
                pending, self._pending_seek = self._pending_seek, None
            if pending is not None:
                self._next = pending
                self._pacer.reset()
            if self._next >= self._index.frame_count:
                return
            restarted = False
            for frame in guard_frames(self._play(self._next), self.path, self.frame_count,
                                      self._index.nominal[self._next]):
                self._next = bisect_left(self._index.nominal, frame.index) + 1
                if self.realtime:
                    self._pacer.wait_time(frame.timestamp)
                yield frame
                if self._pending_seek is not None:
                    restarted = True
                    break
            if not restarted:
                return

    def _play(self, start: int) -> Iterator[RGBDFrame]:
        """Frames ``start``, ``start + 1``, ... streamed from the bag in time order."""
        ix = self._index
        assert ix is not None
        color_at = {t: i for i, t in enumerate(ix.color.times)}
        first_depth = min(ix.pair[start:], default=0)
        t0 = min(ix.color.times[start], ix.depth.times[first_depth])
        depths: dict[int, Any] = {}  # depth frame -> message, kept until paired
        colors: list[tuple[int, Any]] = []
        conns = [ix.color.data, ix.depth.data]
        depth_at = {t: j for j, t in enumerate(ix.depth.times)}
        for c, t, raw in ix.reader.messages(connections=conns, start=t0):
            if c.id == ix.depth.data.id:
                j = depth_at.get(int(t))
                if j is not None:
                    depths[j] = (c, raw)
            else:
                i = color_at.get(int(t))
                if i is not None and i >= start:
                    colors.append((i, (c, raw)))
            while colors and ix.pair[colors[0][0]] in depths:
                i, cmsg = colors.pop(0)
                yield self._frame(i, cmsg, depths[ix.pair[i]])
                keep = min((ix.pair[k] for k, _ in colors), default=ix.pair[min(i + 1, len(
                    ix.pair) - 1)])
                for j in [j for j in depths if j < keep]:
                    del depths[j]
        for i, cmsg in colors:  # depth never came (damaged tail): colour with empty depth
            yield self._frame(i, cmsg, depths.get(ix.pair[i]))

    def _frame(self, i: int, cmsg: tuple[Any, bytes], dmsg: tuple[Any, bytes] | None
               ) -> RGBDFrame:
        ix = self._index
        assert ix is not None
        c, raw = cmsg
        color = decode_image(ix.reader.deserialize(raw, c.msgtype), "color")
        ci = ix.color.intrinsics
        assert ci is not None
        meta = {"frame_number": ix.color.numbers[i]}
        if dmsg is None or not ix.depth_ok[i]:  # never the depth of another moment
            depth = np.zeros(color.shape[:2], np.uint16)
            dts = float("nan")
            meta["gap"] = "missing_depth"
        else:
            dc, draw = dmsg
            depth = self._depth_mm(decode_image(ix.reader.deserialize(draw, dc.msgtype),
                                                "depth"))
            dts = ix.depth.stamps_ms[ix.pair[i]] / 1000.0
        meta["depth_timestamp"] = dts
        return RGBDFrame(color=color, depth=depth, timestamp=ix.color.stamps_ms[i] / 1000.0,
                         index=ix.nominal[i], intrinsics=ci, meta=meta)

    def _depth_mm(self, raw: np.ndarray) -> np.ndarray:
        ix = self._index
        assert ix is not None
        mm_per_unit = ix.depth_unit_m * 1000.0
        if abs(mm_per_unit - 1.0) < 1e-6:
            depth = raw.astype(np.uint16, copy=True)
        else:
            depth = np.clip(np.rint(raw * mm_per_unit), 0, 65535).astype(np.uint16)
        if ix.registered:
            return depth
        from rt_sfamnet.sources.realsense.align import align_depth_to_color

        return align_depth_to_color(depth, ix.depth.intrinsics, ix.color.intrinsics,
                                    ix.rotation, ix.translation_m, depth_unit_m=0.001)


__all__ = ["RecordingIndex", "RosbagPlaybackSource", "decode_image", "playback_source",
           "sdk_available"]
