"""Expression intervals and the interval-file format.

Interval files are CSV with one row per interval and the header
``subject,video,onset,apex,offset,type,emotion``: frames are 0-based and inclusive, ``type``
is ``micro`` or ``macro``, ``emotion`` a class name (empty for macro). Prediction files may
omit the ``apex`` column (or leave it empty). Extra columns (e.g. ``confidence``) are kept in
:attr:`Interval.extra`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rt_sfamnet.errors import InputFileError

COLUMNS = ("subject", "video", "onset", "apex", "offset", "type", "emotion")
TYPES = ("micro", "macro")


@dataclass
class Interval:
    """One expression interval in frames (0-based, inclusive ends)."""

    subject: str
    video: str
    onset: int
    apex: int | None
    offset: int
    type: str
    emotion: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"type must be one of {TYPES}, found {self.type!r}")

    @property
    def length(self) -> int:
        """Number of frames, both ends counted."""
        return self.offset - self.onset + 1


def _int(text: str, path: Path, line: int, column: str, optional: bool = False) -> int | None:
    text = text.strip()
    if text == "" and optional:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputFileError(
            f"{path}, line {line}, column {column!r}: expected an integer frame, found {text!r}"
        ) from None
    if value != int(value) or value < 0:
        raise InputFileError(
            f"{path}, line {line}, column {column!r}: expected a non-negative integer frame, "
            f"found {text!r}"
        )
    return int(value)


def open_csv(path: str | Path, what: str) -> tuple[csv.DictReader, list[str]]:
    """A DictReader over a UTF-8 CSV file (BOM allowed) and its stripped header.

    A missing or unreadable file raises InputFileError naming ``what`` (e.g. "score file").
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputFileError(f"{what} {p} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{what} {p} cannot be read as UTF-8 text: {exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    return reader, header


def read_intervals(path: str | Path) -> list[Interval]:
    """Read an interval CSV file; malformed content raises InputFileError naming line and column."""
    p = Path(path)
    reader, header = open_csv(p, "interval file")
    required = [c for c in COLUMNS if c != "apex"]
    missing = [c for c in required if c not in header]
    if missing:
        raise InputFileError(
            f"{p}, line 1: missing column(s) {missing}; expected a header with {list(COLUMNS)}, "
            f"found {header}"
        )
    out: list[Interval] = []
    for row in reader:
        line = reader.line_num
        if None in row:
            raise InputFileError(f"{p}, line {line}: more fields than columns in the header")
        if any(v is None for v in row.values()):
            raise InputFileError(f"{p}, line {line}: fewer fields than columns in the header")
        typ = row["type"].strip().lower()
        if typ not in TYPES:
            raise InputFileError(
                f"{p}, line {line}, column 'type': expected 'micro' or 'macro', found {row['type']!r}"
            )
        onset = _int(row["onset"], p, line, "onset")
        offset = _int(row["offset"], p, line, "offset")
        apex = _int(row.get("apex", "") or "", p, line, "apex", optional=True)
        assert onset is not None and offset is not None
        if offset < onset:
            raise InputFileError(
                f"{p}, line {line}, column 'offset': offset {offset} is before onset {onset}"
            )
        extra = {k: v for k, v in row.items() if k not in COLUMNS}
        out.append(
            Interval(
                subject=row["subject"].strip(),
                video=row["video"].strip(),
                onset=onset,
                apex=apex,
                offset=offset,
                type=typ,
                emotion=row["emotion"].strip().lower(),
                extra=extra,
            )
        )
    return out


def write_intervals(path: str | Path, intervals: Iterable[Interval]) -> None:
    """Write intervals as CSV (atomically: a temporary file renamed into place)."""
    p = Path(path)
    rows = list(intervals)
    extra_cols: list[str] = []
    for iv in rows:
        for k in iv.extra:
            if k not in extra_cols:
                extra_cols.append(k)
    tmp = p.with_name(p.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(list(COLUMNS) + extra_cols)
        for iv in rows:
            w.writerow(
                [iv.subject, iv.video, iv.onset, "" if iv.apex is None else iv.apex, iv.offset,
                 iv.type, iv.emotion] + [iv.extra.get(k, "") for k in extra_cols]
            )
    tmp.replace(p)
