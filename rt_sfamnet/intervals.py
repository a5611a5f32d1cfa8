"""Expression intervals and the interval-file format.

Interval files are CSV with one row per interval and the header
``subject,video,onset,apex,offset,type,emotion``: frames are 0-based and inclusive, ``type``
is ``micro`` or ``macro``, ``emotion`` a class name (empty for macro in CAS(ME)^3-style ground
truth; spotted intervals carry one for both types). Prediction files may
omit the ``apex`` column (or leave it empty). Extra columns (e.g. ``confidence``) are kept in
:attr:`Interval.extra`.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rt_sfamnet.errors import InputFileError
from rt_sfamnet.fileio import atomic_text

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


def parse_frame(text: str, where: str, optional: bool = False) -> int | None:
    """A non-negative integer frame from a CSV cell (``"12"``, ``"12.0"``, ``"1.2e1"``).

    NaN, infinity (also ``1e400``, which overflows to it), fractions and negative values raise
    InputFileError naming ``where`` (file, line and column). Empty cells give None when
    ``optional``.
    """
    text = text.strip()
    if text == "" and optional:
        return None
    try:
        return _non_negative(int(text), text, where)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise InputFileError(f"{where}: expected an integer frame, found {text!r}") from None
    if not math.isfinite(value) or value != int(value):
        raise InputFileError(f"{where}: expected an integer frame, found {text!r}")
    return _non_negative(int(value), text, where)


def _non_negative(value: int, text: str, where: str) -> int:
    if value < 0:
        raise InputFileError(f"{where}: expected a non-negative integer frame, found {text!r}")
    return value


def read_csv(path: str | Path, what: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Read a UTF-8 CSV file (BOM allowed): its stripped header and ``(line, row)`` pairs.

    Blank lines are skipped; ``line`` is the file line a row ends on (1 is the header). A
    missing or unreadable file, a header naming a column twice, a row with more or fewer
    fields than the header, a NUL byte, or text the strict csv module rejects (an unclosed
    quote, text after a closing quote, a field over its size limit) raises InputFileError naming ``what`` (e.g. "score file"),
    the file and the line.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputFileError(f"{what} {p} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{what} {p} cannot be read as UTF-8 text: {exc}") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InputFileError(f"{p}, line {line}: a NUL byte; expected CSV text, found binary data")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for fields in reader:
            line = reader.line_num
            if not fields:
                continue
            if header is None:
                header = [h.strip() for h in fields]
                twice = sorted({h for h in header if header.count(h) > 1})
                if twice:
                    raise InputFileError(f"{p}, line {line}: column(s) {twice} appear more than "
                                         f"once in the header; expected each column once")
                continue
            if len(fields) != len(header):
                more = "more" if len(fields) > len(header) else "fewer"
                raise InputFileError(f"{p}, line {line}: {more} fields than columns in the header "
                                     f"({len(fields)}, expected {len(header)})")
            rows.append((line, dict(zip(header, fields, strict=True))))
    except csv.Error as exc:
        raise InputFileError(f"{p}, line {reader.line_num}: not valid CSV ({exc})") from None
    return header or [], rows


def read_intervals(path: str | Path) -> list[Interval]:
    """Read an interval CSV file; malformed content raises InputFileError naming line and column."""
    p = Path(path)
    header, rows = read_csv(p, "interval file")
    required = [c for c in COLUMNS if c != "apex"]
    missing = [c for c in required if c not in header]
    if missing:
        raise InputFileError(
            f"{p}, line 1: missing column(s) {missing}; expected a header with {list(COLUMNS)}, "
            f"found {header}"
        )
    out: list[Interval] = []
    for line, row in rows:
        typ = row["type"].strip().lower()
        if typ not in TYPES:
            raise InputFileError(
                f"{p}, line {line}, column 'type': expected 'micro' or 'macro', found {row['type']!r}"
            )
        onset, offset, apex = (
            parse_frame(row.get(c, ""), f"{p}, line {line}, column {c!r}", optional=c == "apex")
            for c in ("onset", "offset", "apex")
        )
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


def write_intervals(path: str | Path, intervals: Iterable[Interval],
                    extra_columns: Iterable[str] = ()) -> None:
    """Write intervals as CSV (atomically: a temporary file renamed into place).

    ``extra_columns`` are written after the interval columns even without rows (an empty
    review keeps its header); other extra keys of the intervals follow them.
    A path that cannot be written raises OutputError and leaves no temporary file.
    """
    p = Path(path)
    rows = list(intervals)
    extra_cols: list[str] = list(extra_columns)
    for iv in rows:
        for k in iv.extra:
            if k not in extra_cols:
                extra_cols.append(k)
    with atomic_text(p, "interval file", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(list(COLUMNS) + extra_cols)
        for iv in rows:
            w.writerow(
                [iv.subject, iv.video, iv.onset, "" if iv.apex is None else iv.apex, iv.offset,
                 iv.type, iv.emotion] + [iv.extra.get(k, "") for k in extra_cols]
            )
