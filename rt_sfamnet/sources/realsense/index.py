"""Recording files: the ``.db3`` frame index, the file checks, the ground-truth sidecar.

Frame numbering of a recording: frame ``index`` comes from the colour frame's timestamp,
``round((t - t0) * fps / 1000)`` with ``t0`` the first colour frame's (:func:`nominal_indices`),
so a frame lost from the file leaves its number unused instead of shifting every later frame. For ``.db3`` files the order, the frame count and the seek
positions are read exactly from the file's SQLite tables (each colour frame has a metadata
message ``Frame number=...;timestamp=...``). ROS1 ``.bag`` files have no such index
(:func:`_recording_index` returns None for them).
"""

from __future__ import annotations

import re
import sqlite3
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rt_sfamnet.errors import RecordingError


def ground_truth_path(recording: str | Path) -> Path:
    """The interval file beside a recording: ``demo.db3`` -> ``demo.gt.csv``."""
    p = Path(recording)
    return p.with_name(p.stem + ".gt.csv")


# --------------------------------------------------------------------------------------------
# recording index (.db3)


_META_RE = re.compile(r"Frame number=(\d+);.*?(?:^|;)timestamp=([-0-9.eE+]+)", re.S)


class RecordingControls(ABC):
    """What both recording readers (SDK playback and SDK-free rosbags playback) share: the
    sidecar ground truth and the pacing speed. Subclasses set ``path``, ``_gt``, ``_pacer``
    and say whether they are open (``_is_open``)."""

    path: Path
    _gt: list | None
    _pacer: Any

    @abstractmethod
    def _is_open(self) -> bool:
        """True once the recording is open (its ground truth is then already read)."""

    @property
    def ground_truth(self) -> list | None:
        """The true intervals from ``<stem>.gt.csv`` beside the recording, if there is one."""
        if self._gt is None and not self._is_open():
            from rt_sfamnet.intervals import read_intervals

            gt = ground_truth_path(self.path)
            if gt.exists():
                self._gt = read_intervals(gt)
        return self._gt

    @property
    def speed(self) -> float:
        """Pacing factor for ``realtime`` (> 0; 2.0 = twice real time)."""
        return self._pacer.speed

    @speed.setter
    def speed(self, speed: float) -> None:
        check_speed(speed)
        self._pacer.set_speed(float(speed))


def check_speed(speed: float) -> None:
    """A playback speed must be > 0 (and finite)."""
    from rt_sfamnet.errors import SourceError

    if not (speed > 0 and speed != float("inf")):
        raise SourceError(f"playback speed must be > 0, found {speed}")


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


DEPTH_MATCH_PERIODS = 0.75
"""A depth frame further than this many colour frame periods from a colour frame is not its
depth (25 ms at 30 fps: a depth frame of the previous period is never reused); the colour
frame then has zero depth and ``meta["gap"] = "missing_depth"``."""


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

