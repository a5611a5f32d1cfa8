"""Reviewed annotations of a recording: the ``<stem>.annotations.csv`` file and its editor.

A review turns the intervals a spotter proposed (``analyze``'s ``events.csv``, the GUI's
export, a live session) into annotations a lab can train on. The file sits beside the
recording, named as the ground truth is (``s01.db3`` -> ``s01.annotations.csv``), and is an
interval file (:mod:`rt_sfamnet.intervals`: ``subject, video, onset, apex, offset, type,
emotion``) with these extra columns:

========== ====================================================================================
``au``         free action-unit text (e.g. ``"AU6+AU12"``)
``confidence`` the spotter's confidence of a spotted row (empty for rows added by hand)
``status``     ``pending`` (not reviewed yet), ``accepted``, ``rejected``, ``added`` (a row the
               reviewer added) or ``edited`` (a spotted row whose bounds, type, emotion or AU
               the reviewer changed)
``origin``     ``spotted`` or ``manual``
``reviewer``   who set the status (the login name unless given)
``reviewed_at`` when (UTC, ISO 8601, seconds)
========== ====================================================================================

Accepted, added and edited rows are intervals (:func:`confirmed_intervals`); rejected rows
are kept in the file (so re-opening shows what was rejected) but are not intervals; pending
rows are not reviewed yet.

:class:`ReviewSession` is the editor without any GUI: every change is a command on an
undo/redo stack and is saved atomically right away (:func:`rt_sfamnet.fileio.atomic_text`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import getpass
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rt_sfamnet.errors import InputFileError
from rt_sfamnet.intervals import TYPES, Interval, read_csv, read_intervals, write_intervals

PENDING, ACCEPTED, REJECTED, ADDED, EDITED = "pending", "accepted", "rejected", "added", "edited"
STATUSES = (PENDING, ACCEPTED, REJECTED, ADDED, EDITED)
#: statuses whose rows are intervals (training data, agreement)
CONFIRMED = (ACCEPTED, ADDED, EDITED)
ORIGINS = ("spotted", "manual")
#: extra columns after the interval format's, in file order
EXTRA_COLUMNS = ("au", "confidence", "status", "origin", "reviewer", "reviewed_at")
SUFFIX = ".annotations.csv"


def annotations_path(recording: str | Path) -> Path:
    """The annotation file beside a recording: ``s01.db3`` -> ``s01.annotations.csv``."""
    p = Path(recording)
    return p.with_name(p.stem + SUFFIX)


def is_annotations_file(path: str | Path) -> bool:
    """True for a file named ``*.annotations.csv`` or whose header has a ``status`` column."""
    p = Path(path)
    if p.name.endswith(SUFFIX):
        return True
    try:
        with p.open(encoding="utf-8-sig") as fh:
            header = fh.readline()
    except (OSError, UnicodeDecodeError):
        return False
    return "status" in [h.strip() for h in header.split(",")]


@dataclass(frozen=True)
class Row:
    """One reviewed interval (frames 0-based, inclusive; ``type`` ``micro`` or ``macro``)."""

    subject: str
    video: str
    onset: int
    apex: int | None
    offset: int
    type: str
    emotion: str = ""
    au: str = ""
    confidence: str = ""
    status: str = PENDING
    origin: str = "spotted"
    reviewer: str = ""
    reviewed_at: str = ""

    @property
    def confirmed(self) -> bool:
        return self.status in CONFIRMED

    def to_interval(self) -> Interval:
        extra = {k: str(getattr(self, k)) for k in EXTRA_COLUMNS}
        return Interval(self.subject, self.video, self.onset, self.apex, self.offset, self.type,
                        self.emotion, extra)


def row_from_interval(iv: Interval, status: str = PENDING, origin: str = "spotted") -> Row:
    """A row for an interval (a spotted event: ``confidence`` from its extra columns)."""
    ex = iv.extra or {}
    conf = ex.get("confidence", "") or ex.get("score", "")
    return Row(iv.subject, iv.video, int(iv.onset), iv.apex, int(iv.offset), iv.type,
               iv.emotion, ex.get("au", ""), str(conf), ex.get("status", status) or status,
               ex.get("origin", origin) or origin, ex.get("reviewer", ""),
               ex.get("reviewed_at", ""))


def _sort_key(row: Row) -> tuple:
    return (row.onset, row.offset, row.type, row.origin)


def read_annotations(path: str | Path) -> list[Row]:
    """Read an annotation file; a malformed one raises InputFileError naming line and column.

    Beyond :func:`rt_sfamnet.intervals.read_intervals`'s checks: the ``status`` column must
    exist and hold one of :data:`STATUSES`, ``origin`` (if present) one of :data:`ORIGINS`.
    """
    p = Path(path)
    intervals = read_intervals(p)
    header, _rows = read_csv(p, "annotation file")
    if "status" not in header:
        raise InputFileError(f"{p}, line 1: no 'status' column; expected an annotation file "
                             f"with {list(EXTRA_COLUMNS)} after the interval columns, "
                             f"found {header}")
    lines = [line for line, _ in _rows]
    out = []
    for line, iv in zip(lines, intervals, strict=True):
        status = iv.extra.get("status", "").strip().lower() or PENDING
        origin = iv.extra.get("origin", "").strip().lower() or "spotted"
        for col, value, allowed in (("status", status, STATUSES), ("origin", origin, ORIGINS)):
            if value not in allowed:
                raise InputFileError(f"{p}, line {line}, column {col!r}: expected one of "
                                     f"{list(allowed)}, found {iv.extra.get(col)!r}")
        if iv.apex is not None and not iv.onset <= iv.apex <= iv.offset:
            raise InputFileError(f"{p}, line {line}, column 'apex': apex {iv.apex} is outside "
                                 f"onset..offset ({iv.onset}..{iv.offset})")
        iv.extra["status"], iv.extra["origin"] = status, origin
        out.append(row_from_interval(iv))
    return out


def write_annotations(path: str | Path, rows: Iterable[Row]) -> None:
    """Write rows sorted by onset, atomically (OutputError if the folder is not writable)."""
    write_intervals(path, [r.to_interval() for r in sorted(rows, key=_sort_key)], EXTRA_COLUMNS)


def confirmed_intervals(rows: Iterable[Row]) -> list[Interval]:
    """The intervals of accepted, added and edited rows (rejected and pending ones are not)."""
    return [r.to_interval() for r in rows if r.confirmed]


def read_interval_file(path: str | Path) -> tuple[list[Interval], bool]:
    """An interval file or an annotation file as intervals: ``(intervals, is_annotations)``;
    an annotation file gives its :func:`confirmed_intervals` only."""
    if is_annotations_file(path):
        return confirmed_intervals(read_annotations(path)), True
    return read_intervals(path), False


def read_ground_truth(path: str | Path) -> list[Interval]:
    """Ground truth from an interval file or a review: the one rule of ``analyze --gt``,
    ``rt_sfamnet.analyze(gt=...)`` and ``evaluate --gt`` (rejected and pending rows of an
    annotation file are not ground truth)."""
    return read_interval_file(path)[0]


def _now_utc() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


def default_reviewer() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "reviewer"


@dataclass(frozen=True)
class _Change:
    """One undoable command: the row list before and after it."""

    before: tuple[Row, ...]
    after: tuple[Row, ...]
    text: str


class ReviewSession:
    """The review of one recording: rows, their statuses, undo/redo, autosave.

    Rows are kept sorted by onset; methods take a row index into :attr:`rows` and return
    the index the changed row has afterwards. Every change saves the file (``autosave``).

    Args:
        path: the annotation file (``<stem>.annotations.csv``).
        rows: the starting rows (from the file, or spotted events as ``pending``).
        reviewer: written into the rows the reviewer changes.
        clock: returns the ``reviewed_at`` text (UTC ISO 8601 by default; tests fix it).
        autosave: save after every change.
    """

    def __init__(self, path: str | Path, rows: Sequence[Row], reviewer: str | None = None,
                 clock: Callable[[], str] = _now_utc, autosave: bool = True) -> None:
        self.path = Path(path)
        self.rows: list[Row] = sorted(rows, key=_sort_key)
        self.reviewer = reviewer or default_reviewer()
        self.clock = clock
        self.autosave = autosave
        self._undo: list[_Change] = []
        self._redo: list[_Change] = []

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, recording: str | Path, events: Iterable[Interval] = (),
             subject: str | None = None, **options) -> ReviewSession:
        """The review of ``recording``: its annotation file if there is one (the review is
        restored), else ``events`` as pending rows with ``subject`` (default: the
        recording's stem) and the stem as video."""
        rec = Path(recording)
        path = annotations_path(rec)
        if path.is_file():
            return cls(path, read_annotations(path), **options)
        subj = subject or rec.stem
        rows = [dataclasses.replace(row_from_interval(iv), subject=subj, video=rec.stem,
                                    status=PENDING, origin="spotted") for iv in events]
        return cls(path, _unique(rows), **options)

    # ------------------------------------------------------------------ queries
    def __len__(self) -> int:
        return len(self.rows)

    def counts(self) -> dict[str, int]:
        """Rows per status (every status listed)."""
        return {s: sum(r.status == s for r in self.rows) for s in STATUSES}

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    # ------------------------------------------------------------------ commands
    def _stamp(self, row: Row, **changes) -> Row:
        return dataclasses.replace(row, reviewer=self.reviewer, reviewed_at=self.clock(),
                                   **changes)

    def _commit(self, rows: list[Row], text: str, focus: Row | None) -> int:
        before = tuple(self.rows)
        self.rows = sorted(rows, key=_sort_key)
        self._undo.append(_Change(before, tuple(self.rows), text))
        self._redo.clear()
        self.save_if_auto()
        return self._index_of(focus)

    def _index_of(self, row: Row | None) -> int:
        if row is None:
            return -1
        for i, r in enumerate(self.rows):
            if r is row:
                return i
        return self.rows.index(row) if row in self.rows else -1

    def _replace(self, i: int, row: Row, text: str) -> int:
        self._check_index(i)
        rows = list(self.rows)
        rows[i] = row
        return self._commit(rows, text, row)

    def _check_index(self, i: int) -> None:
        if not 0 <= i < len(self.rows):
            raise IndexError(f"row {i} out of range: the review has {len(self.rows)} rows")

    def accept(self, i: int) -> int:
        """Accept row ``i`` (an edited row stays ``edited``, an added one ``added``)."""
        self._check_index(i)
        row = self.rows[i]
        status = {EDITED: EDITED}.get(row.status, ADDED if row.origin == "manual" else ACCEPTED)
        return self._replace(i, self._stamp(row, status=status), "accept")

    def reject(self, i: int) -> int:
        """Reject row ``i``: it stays in the file but is not an interval."""
        self._check_index(i)
        return self._replace(i, self._stamp(self.rows[i], status=REJECTED), "reject")

    def edit(self, i: int, **fields) -> int:
        """Change ``onset``, ``apex``, ``offset``, ``type``, ``emotion`` or ``au`` of row
        ``i``; it becomes ``edited`` (``added`` if the reviewer added it). Bounds are kept
        consistent: ``0 <= onset <= apex <= offset`` (ValueError otherwise)."""
        self._check_index(i)
        unknown = set(fields) - {"onset", "apex", "offset", "type", "emotion", "au"}
        if unknown:
            raise ValueError(f"cannot edit {sorted(unknown)}; expected onset, apex, offset, "
                             "type, emotion or au")
        row = self.rows[i]
        new = dataclasses.replace(row, **fields)
        check_bounds(new.onset, new.apex, new.offset, new.type)
        if new == row:
            return i
        status = ADDED if row.origin == "manual" else EDITED
        return self._replace(i, self._stamp(new, status=status), "edit")

    def nudge(self, i: int, which: str, frames: int) -> int:
        """Move the ``onset``, ``apex`` or ``offset`` of row ``i`` by ``frames``, clamped so the
        bounds stay ordered (a no-op at a limit)."""
        self._check_index(i)
        row = self.rows[i]
        on, ap, off = row.onset, row.apex if row.apex is not None else row.onset, row.offset
        if which == "onset":
            on = min(max(0, on + frames), ap)
        elif which == "apex":
            ap = min(max(on, ap + frames), off)
        elif which == "offset":
            off = max(ap, off + frames)
        else:
            raise ValueError(f"which must be onset, apex or offset, found {which!r}")
        return self.edit(i, onset=on, apex=ap, offset=off)

    def add(self, onset: int, apex: int | None, offset: int, type: str = "micro",
            emotion: str = "", au: str = "") -> int:
        """Add an interval the spotter missed (origin ``manual``, status ``added``)."""
        check_bounds(onset, apex, offset, type)
        subject = self.rows[0].subject if self.rows else self.path.name[: -len(SUFFIX)]
        video = self.rows[0].video if self.rows else self.path.name[: -len(SUFFIX)]
        row = self._stamp(Row(subject, video, int(onset), apex, int(offset), type, emotion, au,
                              "", ADDED, "manual"))
        return self._commit([*self.rows, row], "add", row)

    def import_events(self, events: Iterable[Interval]) -> int:
        """Add spotted intervals not in the review yet (same type, onset and offset) as
        pending rows (one undoable change); returns how many were added."""
        have = {(r.type, r.onset, r.offset) for r in self.rows}
        subject = self.rows[0].subject if self.rows else self.path.name[: -len(SUFFIX)]
        video = self.rows[0].video if self.rows else self.path.name[: -len(SUFFIX)]
        new = [dataclasses.replace(row_from_interval(iv), subject=subject, video=video,
                                   status=PENDING, origin="spotted") for iv in events]
        new = [r for r in _unique(new) if (r.type, r.onset, r.offset) not in have]
        if new:
            self._commit([*self.rows, *new], "import", None)
        return len(new)

    def set_subject(self, subject: str) -> None:
        """Write ``subject`` into every row (one undoable change)."""
        subject = str(subject).strip()
        if not subject or all(r.subject == subject for r in self.rows):
            return
        self._commit([dataclasses.replace(r, subject=subject) for r in self.rows], "subject",
                     None)

    def undo(self) -> str | None:
        """Undo the last change (saved); returns its name, None if there was none."""
        if not self._undo:
            return None
        ch = self._undo.pop()
        self._redo.append(ch)
        self.rows = list(ch.before)
        self.save_if_auto()
        return ch.text

    def redo(self) -> str | None:
        """Redo the last undone change (saved); returns its name, None if there was none."""
        if not self._redo:
            return None
        ch = self._redo.pop()
        self._undo.append(ch)
        self.rows = list(ch.after)
        self.save_if_auto()
        return ch.text

    # ------------------------------------------------------------------ saving
    def save_if_auto(self) -> None:
        if self.autosave:
            self.save()

    def save(self) -> Path:
        """Write the file atomically (OutputError if it cannot be written)."""
        write_annotations(self.path, self.rows)
        return self.path


def check_bounds(onset: int, apex: int | None, offset: int, type: str) -> None:
    """ValueError unless ``0 <= onset <= apex <= offset`` and ``type`` is micro or macro."""
    if type not in TYPES:
        raise ValueError(f"type must be one of {TYPES}, found {type!r}")
    ap = onset if apex is None else apex
    if not 0 <= onset <= ap <= offset:
        raise ValueError(f"expected 0 <= onset <= apex <= offset, found onset {onset}, "
                         f"apex {apex}, offset {offset}")


def _unique(rows: list[Row]) -> list[Row]:
    """Rows without repeats of the same (type, onset, offset)."""
    seen: set[tuple[str, int, int]] = set()
    out = []
    for r in rows:
        key = (r.type, r.onset, r.offset)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


__all__ = ["ACCEPTED", "ADDED", "CONFIRMED", "EDITED", "EXTRA_COLUMNS", "ORIGINS", "PENDING",
           "REJECTED", "STATUSES", "SUFFIX", "ReviewSession", "Row", "annotations_path",
           "check_bounds", "confirmed_intervals", "is_annotations_file", "read_annotations",
           "read_ground_truth", "read_interval_file", "row_from_interval",
           "write_annotations"]
