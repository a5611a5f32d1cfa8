"""Recording files: the one frame index of a RealSense recording, the file checks, the
ground-truth sidecar.

:class:`RecordingIndex` reads everything about a ``.db3`` (rosbag2) or ROS1 ``.bag``
recording but its images, through ``rosbags`` (pure Python, no SDK): per stream the frame
list (bag time, frame number, timestamp), intrinsics, encoding and pose, the depth units and
the frame rate. Both playback backends (:mod:`.reader`) use it: it numbers the frames, pairs
colour with depth and says where a seek goes.

Frame numbering of a recording: frame ``index`` comes from the colour frame's timestamp,
``round((t - t0) * fps / 1000)`` with ``t0`` the first colour frame's (:func:`nominal_indices`),
so a frame lost from the file leaves its number unused instead of shifting every later frame.

A RealSense recording is a ROS bag with, per stream,
``/device_0/sensor_<s>/<Color|Depth>_0/image/data[/compressed|/compressedDepth]`` (a
``sensor_msgs`` ``CompressedImage`` holding a PNG, or a raw ``Image``), ``.../image/metadata``
(``Frame number=..;timestamp=..`` strings), ``.../info`` (``encoding=RGB8;fps=30``), the
intrinsics (``.../camera_info``), ``.../tf/ref_<n>`` (each stream's pose) and the depth units
(``/device_0/sensor_<s>/option/Depth_Units/value``).
"""

from __future__ import annotations

import re
import sqlite3
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.errors import RecordingError, SourceError
from rt_sfamnet.frames import Intrinsics


def ground_truth_path(recording: str | Path) -> Path:
    """The interval file beside a recording: ``demo.db3`` -> ``demo.gt.csv``."""
    p = Path(recording)
    return p.with_name(p.stem + ".gt.csv")


# The metadata string of one frame, and its CDR envelope (read by the recorder's progress
# monitor while librealsense writes a file).
_META_RE = re.compile(r"Frame number=(\d+);.*?(?:^|;)timestamp=([-0-9.eE+]+)", re.S)
_STREAM_RE = re.compile(r"/device_(\d+)/sensor_(\d+)/(Color|Depth)_(\d+)/(.+)")
_FIELD_RE = re.compile(r"([^=;]+)=([^;]*)")

DEPTH_MATCH_PERIODS = 0.75
"""A depth frame further than this many colour frame periods from a colour frame is not its
depth (25 ms at 30 fps: a depth frame of the previous period is never reused); the colour
frame then has zero depth and ``meta["gap"] = "missing_depth"``."""


def _cdr_string(blob: bytes) -> str:
    """Decode a std_msgs/String serialised as CDR (4-byte header, uint32 length, bytes)."""
    if len(blob) < 8:
        return ""
    little = blob[1] in (1, 3)
    n = int.from_bytes(blob[4:8], "little" if little else "big")
    return blob[8 : 8 + n].rstrip(b"\x00").decode("utf-8", "replace")


def nominal_indices(timestamps_ms: list[float], fps: float) -> list[int]:
    """Frame numbers from timestamps: ``round((t - t0) * fps / 1000)``, strictly increasing.

    A frame lost from a recording leaves its number unused (the next frame keeps the number
    of its time), so frame numbers match seconds and the hole can be recorded as a gap.
    Two frames that round to the same number (timestamp jitter) get consecutive numbers.
    """
    if not fps > 0:
        raise RecordingError(f"frame rate must be > 0 to number frames, found {fps}")
    out: list[int] = []
    t0 = timestamps_ms[0] if timestamps_ms else 0.0
    for t in timestamps_ms:
        n = int(round((t - t0) * fps / 1000.0))
        out.append(n if not out or n > out[-1] else out[-1] + 1)
    return out


def _fields(text: str) -> dict[str, str]:
    return {k.strip(): v.strip() for k, v in _FIELD_RE.findall(text)}


def _model(name: str) -> str:
    """librealsense's distortion name as stored (``"Brown Conrady"``) -> ``"brown_conrady"``."""
    return name.strip().lower().replace(" ", "_") or "none"


@dataclass
class StreamIndex:
    """One image stream of a recording (colour or depth), frames in the file's order.

    Attributes:
        kind: ``"color"`` or ``"depth"``. data: the rosbags connection of its images.
        times: bag time of each frame's metadata message (ns). numbers: frame numbers.
        stamps_ms: frame timestamps (ms). fps: the stream's stored rate (0 if not stored).
    """

    kind: str
    data: Any = None
    encoding: str = ""
    fps: float = 0.0
    intrinsics: Intrinsics | None = None
    pose: tuple[np.ndarray, np.ndarray] | None = None  # rotation (3x3), translation (m)
    times: list[int] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    stamps_ms: list[float] = field(default_factory=list)
    _by_number: dict[int, list[int]] | None = None

    def rank(self, number: int, ts_ms: float) -> int | None:
        """Rank of the frame with this frame number (nearest timestamp if repeated), or
        None when no frame of the file has this number and a timestamp within 1 ms."""
        if self._by_number is None:
            self._by_number = {}
            for i, n in enumerate(self.numbers):
                self._by_number.setdefault(n, []).append(i)
        cands = self._by_number.get(int(number), [])
        best = min(cands, key=lambda i: abs(self.stamps_ms[i] - ts_ms), default=None)
        return best if best is not None and abs(self.stamps_ms[best] - ts_ms) < 1.0 else None

    def __len__(self) -> int:
        return len(self.times)


class RecordingIndex:
    """Everything about a RealSense recording but its images (see the module doc).

    Attributes:
        color, depth: the two :class:`StreamIndex` objects.
        reader: the open ``rosbags`` ``AnyReader`` (:meth:`close` closes it).
        start_ns: bag time of the file's first message (SDK seeks are relative to it).
        depth_unit_m: metres per depth unit. fps: the colour stream's frame rate (stored,
            else the typical frame period's).
        registered: depth stored aligned to colour (same intrinsics, identity extrinsics).
        rotation, translation_m: depth -> colour extrinsics.
        nominal: frame number (``RGBDFrame.index``) of each colour rank.
        pair: for each colour rank, the depth rank nearest in time; depth_ok: whether that
            depth is within :data:`DEPTH_MATCH_PERIODS` frame periods.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        _check_recording_file(self.path)
        if self.path.suffix.lower() == ".db3":
            _check_db3(self.path)
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

    def deserialize(self, raw: bytes, msgtype: str) -> Any:
        """A message of this file from its bytes (works after :meth:`close` too)."""
        return self._deserialize(raw, msgtype)

    @property
    def frame_count(self) -> int:
        """Frame numbers the recording spans (frames lost from it included)."""
        return self.nominal[-1] + 1

    def __len__(self) -> int:
        """Colour frames in the file."""
        return len(self.color)

    def rank_of(self, index: int) -> int:
        """The colour rank a seek to frame number ``index`` continues at: that frame, or the
        next one in the file when it was lost. Raises SourceError outside the recording."""
        index = int(index)
        if index < 0:
            raise SourceError(f"seek index must be >= 0, found {index}")
        rank = bisect_left(self.nominal, index)
        if rank >= len(self.nominal):
            raise SourceError(f"seek index {index} is past the end: the recording has "
                              f"{self.frame_count} frames")
        return rank

    def _read(self) -> None:
        streams = {"Color": StreamIndex("color"), "Depth": StreamIndex("depth")}
        meta: dict[int, StreamIndex] = {}
        small: list[tuple[Any, StreamIndex | None, str]] = []
        self.depth_unit_m = 0.001
        self.start_ns = int(self.reader.start_time)
        # kept: closing the reader empties its type store, and frames decode after that
        store = self.reader.typestore
        self._deserialize = store.deserialize_cdr if self.reader.is2 else store.deserialize_ros1
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

    def _small(self, msg: Any, st: StreamIndex | None, what: str) -> None:
        text = str(getattr(msg, "data", ""))
        if what == "depth_units":
            self.depth_unit_m = float(text)
        elif st is None:
            return
        elif what == "info":
            f = _fields(text)
            st.encoding = f.get("encoding", "").lower()
            st.fps = float(f.get("fps", "0") or 0)
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
        # the stored rate, else the typical frame period (frames lost do not change it)
        typical = round(1000.0 / float(np.median(steps)), 3) if steps.size else 30.0
        self.fps = self.color.fps if self.color.fps > 0 else typical
        self.nominal = nominal_indices(list(self.color.stamps_ms), self.fps)
        tol = DEPTH_MATCH_PERIODS * 1000.0 / self.fps
        self.depth_ok = [bool(abs(dts[j] - c) <= tol)
                         for j, c in zip(self.pair, self.color.stamps_ms, strict=True)]


def _nearest(sorted_ts: np.ndarray, ts: float) -> int:
    """Position of the value nearest ``ts`` in a sorted array (the earlier one on ties)."""
    j = int(np.searchsorted(sorted_ts, ts))
    if j == 0:
        return 0
    if j >= len(sorted_ts):
        return len(sorted_ts) - 1
    return j - 1 if ts - sorted_ts[j - 1] <= sorted_ts[j] - ts else j


def _check_db3(path: Path) -> None:
    """A ``.db3`` file must be whole and a RealSense recording (its ``/file_version``)."""
    try:
        con = sqlite3.connect(f"file:{path.as_posix()}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as exc:
        raise RecordingError(f"{path}: cannot open as a .db3 recording ({exc})") from None
    try:
        (pages,) = con.execute("PRAGMA page_count").fetchone()
        (page_size,) = con.execute("PRAGMA page_size").fetchone()
        size = path.stat().st_size
        if pages * page_size > size:
            raise RecordingError(f"{path}: truncated .db3 recording: the file has {size} "
                                 f"bytes, its header says {pages * page_size}")
        topics = [n for (n,) in con.execute("SELECT name FROM topics")]
        if "/file_version" not in topics:
            raise RecordingError(f"{path}: not a RealSense recording: expected a "
                                 f"'/file_version' topic in the rosbag2 file, found topics "
                                 f"{sorted(topics)[:8]}")
        con.execute("SELECT MAX(id), COUNT(*) FROM messages").fetchone()  # the last page
    except sqlite3.DatabaseError as exc:
        raise RecordingError(f"{path}: damaged or truncated .db3 recording (SQLite says: "
                             f"{exc})") from None
    finally:
        con.close()


def _check_recording_file(path: Path) -> None:
    """The file exists, is not empty and has the header its suffix promises. Raises
    RecordingError."""
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
    if suffix not in (".db3", ".bag"):
        raise RecordingError(f"{path}: expected a .db3 or .bag recording, found {suffix!r}")
    if suffix == ".db3" and not head.startswith(b"SQLite format 3\x00"):
        raise RecordingError(
            f"{path} is not a .db3 recording: expected an SQLite file, found {head[:12]!r}"
        )
    if suffix == ".bag" and not head.startswith(b"#ROSBAG V2.0"):
        raise RecordingError(
            f"{path} is not a .bag recording: expected a ROS1 bag ('#ROSBAG V2.0'), found "
            f"{head[:12]!r}"
        )
