"""The results table: per-frame rows, events and gaps, each column defined once.

Every output of an analysis is built here and only formatted elsewhere: ``frames.csv``,
``events.csv`` and ``events.json`` (:mod:`rt_sfamnet.pipeline.writers`), the summary's
``gaps`` (:class:`GapLog`), the DataFrames of :func:`rt_sfamnet.analyze`, the desktop app's
export (``ui/export.py``) and the session report all read the column definitions below.

- :data:`FRAME_COLUMNS` — one row per scheduled sample (:func:`frame_columns` expands
  ``prob_<class>``); :func:`frame_row` builds a row from a
  :class:`~rt_sfamnet.pipeline.FrameResult`.
- :data:`EVENT_COLUMNS` — one row per spotted interval; :func:`event_row` builds it from a
  :class:`~rt_sfamnet.spotting.SpottedInterval`.
- :data:`GAP_FIELDS` — one entry per run of consecutive gap rows (:class:`GapLog`).
- :func:`subject_video` — the subject and video names an analysis' events carry.
- :class:`ResultsTable` — all three of one analysis in memory, :meth:`ResultsTable.from_dir`
  to load an output folder back, :meth:`~ResultsTable.frames_df` /
  :meth:`~ResultsTable.events_df` as pandas DataFrames.

Rows are dicts keyed by column name holding Python values (``None`` = not available). Each
:class:`Column` formats its value for CSV (:meth:`Column.csv`) and JSON
(:meth:`Column.json`), and names its pandas dtype (:attr:`Column.pandas_dtype`).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rt_sfamnet.errors import InputFileError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "Column", "FRAME_COLUMNS", "EVENT_COLUMNS", "GAP_FIELDS", "GAP_COLUMN", "GAP_REASONS",
    "GapLog", "ResultsTable", "event_row", "frame_columns", "frame_row", "subject_video",
    "video_name",
]

_DTYPES = ("int", "float", "str", "bool")


@dataclass(frozen=True)
class Column:
    """One output column.

    Attributes:
        name: the column's name (CSV header, JSON key, DataFrame column).
        dtype: ``"int"``, ``"float"``, ``"str"`` or ``"bool"`` (the Python value's type).
        description: what it holds, with units.
        digits: significant digits of a float in CSV; ``"s"``: a time in seconds written
            with microsecond resolution (camera timestamps are ~1.7e9 s since the epoch).
        nullable: may be missing (an empty CSV cell, JSON null, <NA>/NaN in pandas).
    """

    name: str
    dtype: str
    description: str
    digits: int | str = 6
    nullable: bool = False

    def __post_init__(self) -> None:
        if self.dtype not in _DTYPES:
            raise ValueError(f"column {self.name}: dtype must be one of {_DTYPES}, "
                             f"found {self.dtype!r}")

    def csv(self, value: Any) -> Any:
        """The CSV cell of ``value`` (``""`` when missing; bools as 0/1)."""
        if value is None:
            return ""
        if self.dtype == "float":
            v = float(value)
            if not math.isfinite(v):
                return ""
            return f"{v:.6f}" if self.digits == "s" else f"{v:.{self.digits}g}"
        if self.dtype == "bool":
            return int(bool(value))
        if self.dtype == "int":
            return int(value)
        return str(value)

    def json(self, value: Any) -> Any:
        """The JSON value of ``value`` (None when missing or not finite)."""
        if value is None:
            return None
        if self.dtype == "float":
            v = float(value)
            return v if math.isfinite(v) else None
        if self.dtype == "bool":
            return bool(value)
        if self.dtype == "int":
            return int(value)
        return str(value)

    @property
    def pandas_dtype(self) -> str:
        """The column's dtype in :meth:`ResultsTable.frames_df` / ``events_df``."""
        if self.dtype == "int":
            return "Int64" if self.nullable else "int64"
        if self.dtype == "bool":
            return "boolean" if self.nullable else "bool"
        if self.dtype == "float":
            return "float64"
        return "object"


GAP_COLUMN = "gap"
"""The per-frame ``gap`` column (shared by every tool that writes or reads per-frame
results). Empty when the window was scored; otherwise why it has no score:

- ``no_face``: no face was found in the window's first or last frame;
- ``dropped``: the engine dropped one of the window's frames (a full capture queue while
  keeping up with a live or real-time source);
- ``missing_color``: the source never had the frame (a hole in a recording: frame numbers
  come from timestamps, so a lost colour frame leaves its number unused);
- ``missing_depth``: a frame of the window has no depth (the recording lost it at that time)
  and the weights' flow mode uses depth; old depth is never reused in its place.

The summary's ``gaps`` lists the runs of consecutive rows with the same reason
(:class:`GapLog`)."""

GAP_REASONS = ("no_face", "dropped", "missing_color", "missing_depth")

PROB_PREFIX = "prob_"

#: The per-frame columns in file order; ``prob_<class>`` stands for one column per class
#: (:func:`frame_columns`).
FRAME_COLUMNS: tuple[Column, ...] = (
    Column("frame", "int", "index of the first frame of the window (the score belongs to it)"),
    Column("timestamp", "float", "that frame's timestamp, seconds (source clock)", digits="s"),
    Column("input", "str", "the source: a recording's or folder's full path, else its name"),
    Column("face_found", "bool", "a face was found in both frames of the window"),
    Column("face_x0", "int", "left of the square face crop box of the window's first frame, "
           "frame pixels", nullable=True),
    Column("face_y0", "int", "top of that box, frame pixels", nullable=True),
    Column("face_size", "int", "side of that box, frame pixels", nullable=True),
    Column("depth_ok", "bool", "both face boxes held depth"),
    Column(GAP_COLUMN, "str", "empty when scored, else why not: " + ", ".join(GAP_REASONS)),
    Column("score", "float", "spotting score in [0, 1]", nullable=True),
    Column("micro_smoothed", "float", "the smoothed micro curve at this frame (empty when not "
           "final when the run ended)", nullable=True),
    Column("macro_smoothed", "float", "the smoothed macro curve at this frame", nullable=True),
    Column(PROB_PREFIX + "<class>", "float", "probability of the class, one column per class "
           "in the network's order", nullable=True),
    Column("argmax_class", "str", "the most probable class of this one window (a per-frame "
           "reading, not a detection: detections are the events); empty for a gap"),
    Column("latency_ms", "float", "from the arrival of the window's last frame to "
           "publication, ms", digits=5, nullable=True),
)

#: The event columns in file order (``events.csv``; ``events.json`` has all but ``subject``
#: and ``video``). ``events.csv`` is an interval file (:mod:`rt_sfamnet.intervals`) that
#: ``rt-sfamnet evaluate --pred`` reads.
EVENT_COLUMNS: tuple[Column, ...] = (
    Column("subject", "str", "subject name (the ground truth's, else 'live')"),
    Column("video", "str", "video name (the ground truth's, else the source's file stem)"),
    Column("onset", "int", "first frame of the interval (0-based)"),
    Column("apex", "int", "apex frame (the peak of the smoothed score)", nullable=True),
    Column("offset", "int", "last frame of the interval (inclusive)"),
    Column("type", "str", "'micro' or 'macro'"),
    Column("emotion", "str", "most common predicted class over onset..apex"),
    Column("start_s", "float", "onset / fps, seconds from the start of the source "
           "(rounded to 0.1 ms)"),
    Column("end_s", "float", "(offset + 1) / fps, seconds"),
    Column("confidence", "float", "the smoothed score at the apex"),
)

#: The fields of one entry of the summary's ``gaps`` (:class:`GapLog`).
GAP_FIELDS: tuple[Column, ...] = (
    Column("reason", "str", "the rows' gap value (one of GAP_REASONS)"),
    Column("first", "int", "frame of the run's first row"),
    Column("last", "int", "frame of the run's last row"),
    Column("samples", "int", "rows in the run"),
)

_EVENT_JSON = tuple(c for c in EVENT_COLUMNS if c.name not in ("subject", "video"))


def frame_columns(class_names: Iterable[str]) -> list[Column]:
    """:data:`FRAME_COLUMNS` with ``prob_<class>`` expanded for ``class_names``."""
    out: list[Column] = []
    for c in FRAME_COLUMNS:
        if c.name == PROB_PREFIX + "<class>":
            out += [Column(PROB_PREFIX + n, c.dtype, f"probability of '{n}'", c.digits,
                           c.nullable) for n in class_names]
        else:
            out.append(c)
    return out


def frame_row(result: Any, class_names: Sequence[str], micro: float | None = None,
              macro: float | None = None, source: str = "") -> dict[str, Any]:
    """One per-frame row (Python values, None = missing) of a
    :class:`~rt_sfamnet.pipeline.FrameResult`-like object and its final smoothed values."""
    box = getattr(result, "box", None) or (None, None, None)
    probs = getattr(result, "probs", None)
    probs = [None] * len(class_names) if probs is None else [float(p) for p in probs]
    row: dict[str, Any] = {
        "frame": int(result.frame),
        "timestamp": result.timestamp,
        "input": str(source),
        "face_found": bool(result.face_found),
        "face_x0": box[0], "face_y0": box[1], "face_size": box[2],
        "depth_ok": bool(getattr(result, "depth_ok", True)),
        GAP_COLUMN: str(getattr(result, "reason", "") or ""),
        "score": result.score,
        "micro_smoothed": micro,
        "macro_smoothed": macro,
    }
    for name, p in zip(class_names, probs, strict=True):
        row[PROB_PREFIX + name] = p
    row["argmax_class"] = result.label or ""
    row["latency_ms"] = getattr(result, "latency_ms", None)
    return row


def event_row(interval: Any, subject: str, video: str, fps: float) -> dict[str, Any]:
    """One event row of a :class:`~rt_sfamnet.spotting.SpottedInterval`-like object."""
    fps = float(fps)
    return {
        "subject": subject,
        "video": video,
        "onset": int(interval.onset),
        "apex": None if interval.apex is None else int(interval.apex),
        "offset": int(interval.offset),
        "type": interval.type,
        "emotion": interval.emotion or "",
        "start_s": round(interval.onset / fps, 4),
        "end_s": round((interval.offset + 1) / fps, 4),
        "confidence": float(interval.score),
    }


def csv_cells(columns: Sequence[Column], row: dict[str, Any]) -> list[Any]:
    """A row's CSV cells in the order of ``columns``."""
    return [c.csv(row.get(c.name)) for c in columns]


def json_object(columns: Sequence[Column], row: dict[str, Any]) -> dict[str, Any]:
    """A row as a JSON object with the keys of ``columns``."""
    return {c.name: c.json(row.get(c.name)) for c in columns}


def event_json(row: dict[str, Any]) -> dict[str, Any]:
    """An event row as an ``events.json`` object (no ``subject``/``video``)."""
    return json_object(_EVENT_JSON, row)


def video_name(spec: Any) -> str:
    """The video name of a source without ground truth: the file stem of its spec or name
    (``recordings/clip.db3`` -> ``clip``; ``camera`` -> ``camera``), ``"stream"`` if empty."""
    return Path(str(spec or "").rstrip("/")).stem or "stream"


def subject_video(spec: Any, truth: Sequence[Any] | None = None,
                  video: str | None = None) -> tuple[str, str]:
    """The subject and video names an analysis' events carry (every writer uses this rule).

    With ground truth, its first interval's (so that ``rt-sfamnet evaluate`` matches them);
    otherwise subject ``"live"`` and ``video`` or :func:`video_name` of ``spec``.
    """
    if truth:
        return str(truth[0].subject), str(truth[0].video)
    return "live", video or video_name(spec)


class GapLog:
    """Runs of consecutive gap rows (:data:`GAP_FIELDS`: ``{"reason", "first", "last",
    "samples"}`` with the first and last row's frame; the summary's ``gaps``)."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self._open = False

    def add(self, frame: int, reason: str) -> None:
        """One written row (in frame order) with its ``gap`` value ("" for a scored row)."""
        if not reason:
            self._open = False
            return
        last = self.entries[-1] if self.entries and self._open else None
        if last is not None and last["reason"] == reason:
            last["last"] = int(frame)
            last["samples"] += 1
        else:
            self.entries.append({"reason": reason, "first": int(frame), "last": int(frame),
                                 "samples": 1})
        self._open = True

    def counts(self) -> dict[str, int]:
        """Gap rows by reason."""
        out: dict[str, int] = {}
        for e in self.entries:
            out[e["reason"]] = out.get(e["reason"], 0) + e["samples"]
        return out

    @classmethod
    def of_rows(cls, rows: Iterable[dict[str, Any]]) -> GapLog:
        """The runs of frame rows (in frame order)."""
        log = cls()
        for r in rows:
            log.add(r["frame"], r.get(GAP_COLUMN) or "")
        return log


@dataclass
class ResultsTable:
    """Everything one analysis produced, in memory: per-frame rows, events and gap runs.

    Attributes:
        class_names: class names in probability order.
        frames: per-frame rows (:func:`frame_row`), in frame order.
        events: event rows (:func:`event_row`), in the order they were spotted.
        fps: frames per second of the source.
        summary: the run's ``summary.json`` object when loaded from a folder, else ``{}``.
    """

    class_names: tuple[str, ...]
    frames: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    fps: float = 30.0
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def frame_columns(self) -> list[Column]:
        return frame_columns(self.class_names)

    @property
    def gaps(self) -> list[dict[str, Any]]:
        """The runs of consecutive gap rows (:data:`GAP_FIELDS`), as the summary's ``gaps``."""
        return [dict(e) for e in GapLog.of_rows(self.frames).entries]

    @classmethod
    def from_history(cls, results: Iterable[Any], curves: dict[str, Iterable[tuple[int, float]]],
                     intervals: Iterable[Any], class_names: Sequence[str], fps: float,
                     subject: str, video: str, source: str = "") -> ResultsTable:
        """A table of engine outputs: ``FrameResult``-like objects, final smoothed values
        ``{"micro": [(frame, v)], "macro": [...]}`` and spotted intervals."""
        micro = {int(f): float(v) for f, v in curves.get("micro", ())}
        macro = {int(f): float(v) for f, v in curves.get("macro", ())}
        names = tuple(class_names)
        frames = [frame_row(r, names, micro.get(int(r.frame)), macro.get(int(r.frame)), source)
                  for r in results]
        events = [event_row(iv, subject, video, fps) for iv in intervals]
        return cls(names, frames, events, float(fps))

    @classmethod
    def from_dir(cls, out: str | Path) -> ResultsTable:
        """Load an analysis folder back (``frames.csv``, ``events.csv``, ``summary.json``).

        Columns this release does not define are kept as text. A folder without these
        files, or a file that cannot be read, raises InputFileError naming it.
        """
        out = Path(out)
        for name in ("summary.json", "frames.csv", "events.csv"):
            if not (out / name).is_file():
                raise InputFileError(f"{out}: expected an analysis folder (frames.csv, "
                                     f"events.csv, summary.json), found no {name}")
        try:
            summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
            frames, names = _read_frames(out / "frames.csv")
            ecols = {c.name: c for c in EVENT_COLUMNS}
            with (out / "events.csv").open(newline="", encoding="utf-8") as fh:
                events = [{k: _parse(ecols.get(k), v) for k, v in row.items()}
                          for row in csv.DictReader(fh)]
        except (ValueError, OSError, TypeError) as exc:
            raise InputFileError(f"{out}: cannot read the analysis results ({exc})") from None
        return cls(tuple(summary.get("class_names") or names), frames, events,
                   float(summary.get("fps") or 30.0), summary)

    def frames_df(self) -> pd.DataFrame:
        """The per-frame rows as a DataFrame with the columns' dtypes (:attr:`Column.pandas_dtype`)."""
        return _dataframe(self.frame_columns, self.frames)

    def events_df(self) -> pd.DataFrame:
        """The events as a DataFrame (:data:`EVENT_COLUMNS`)."""
        return _dataframe(EVENT_COLUMNS, self.events)

    def frames_json(self) -> list[dict[str, Any]]:
        """The per-frame rows as JSON objects (every column of ``frames.csv``)."""
        cols = self.frame_columns
        return [json_object(cols, r) for r in self.frames]

    def events_json(self) -> list[dict[str, Any]]:
        """The events as ``events.json`` objects."""
        return [event_json(e) for e in self.events]


def _read_frames(path: Path) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """The rows of a ``frames.csv`` and its class names (from the ``prob_`` columns)."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        names = tuple(h[len(PROB_PREFIX):] for h in header if h.startswith(PROB_PREFIX))
        cols = {c.name: c for c in frame_columns(names)}
        rows = []
        for row in reader:
            if len(row) != len(header):
                raise ValueError(f"{path.name} line {reader.line_num}: {len(row)} cells, "
                                 f"expected {len(header)}")
            rows.append({h: _parse(cols.get(h), v) for h, v in zip(header, row, strict=True)})
    return rows, names


def _parse(col: Column | None, cell: str) -> Any:
    if col is None:
        return cell
    if cell == "":
        return "" if col.dtype == "str" else None
    if col.dtype == "int":
        return int(cell)
    if col.dtype == "float":
        return float(cell)
    if col.dtype == "bool":
        return cell not in ("0", "False", "false")
    return cell


def _dataframe(columns: Sequence[Column], rows: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    data = {c.name: pd.Series([r.get(c.name) for r in rows], dtype="object") for c in columns}
    df = pd.DataFrame(data, columns=[c.name for c in columns])
    for c in columns:
        if c.dtype == "float":
            df[c.name] = pd.to_numeric(df[c.name].astype("float64"))
        else:
            df[c.name] = df[c.name].astype(c.pandas_dtype)
    return df
