"""CAS(ME)^3 part A annotation tables: reading, parsing and joining them.

Two tables, as distributed (OFFICIAL-SFAMNET §6):

- the expression table (``CAS(ME)3_part_A_v2.xls``; synthetic:
  ``part_A_expressions.xlsx``): Subject, Filename, Onset, Apex, Offset, AU,
  Expression type (``Micro-expression`` / ``Macro-expression``), Objective class;
- the ME label table (``cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx``; synthetic:
  ``part_A_ME_labels.xlsx``): Subject, Filename, Onset, Apex, Offset, AU,
  Objective class, emotion.

They are joined on (subject, video, onset, apex, offset). Files are recognised by their
header row, not by their names, so renamed copies work. Frame numbers in the files are
1-based; :class:`~rt_sfamnet.intervals.Interval` objects returned here are 0-based
(``n - 1``, clamped at 0: two rows of the real file use frame 0). Video names are
lower-cased (the real file spells ``j`` as ``J`` in five rows). Emotion names are
normalised (``"Others"`` -> ``"others"``) and kept in the 7-class vocabulary; use
:func:`rt_sfamnet.emotions.to_class` for the 4-class names.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.datasets.subjects import subject_id, subject_sort_key
from rt_sfamnet.emotions import EMOTIONS7, normalise_emotion, to_class
from rt_sfamnet.errors import DatasetError, RtSfamnetError
from rt_sfamnet.intervals import Interval

__all__ = ["Annotations", "find_annotation_files", "find_annotations_under", "read_annotations"]

_TABLE_SUFFIXES = (".xls", ".xlsx", ".csv")


def _norm_header(text: Any) -> str:
    return re.sub(r"[^a-z]", "", str(text).strip().lower())


_EXPR_COLUMNS = ("subject", "filename", "onset", "apex", "offset", "au", "expressiontype",
                 "objectiveclass")
_LABEL_COLUMNS = ("subject", "filename", "onset", "apex", "offset", "au", "objectiveclass",
                  "emotion")


def _read_sheets(path: Path) -> Iterator[tuple[str, list[list[Any]]]]:
    """Yield ``(sheet name, rows)`` of a spreadsheet (``.xls``, ``.xlsx``) or a CSV file."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".xls":
            import io

            import xlrd

            # xlrd prints its complaints about broken files on stdout unless given a log
            book = xlrd.open_workbook(str(path), on_demand=True, logfile=io.StringIO())
            for sheet in book.sheets():
                yield sheet.name, [sheet.row_values(r) for r in range(sheet.nrows)]
        elif suffix == ".xlsx":
            import openpyxl

            book = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
            try:
                for ws in book.worksheets:
                    yield ws.title, [list(r) for r in ws.iter_rows(values_only=True)]
            finally:
                book.close()
        elif suffix == ".csv":
            import csv

            with path.open(newline="", encoding="utf-8-sig") as fh:
                yield path.stem, [list(r) for r in csv.reader(fh)]
        else:
            raise DatasetError(f"{path}: expected an .xls, .xlsx or .csv annotation table")
    except RtSfamnetError:
        raise
    except Exception as exc:  # xlrd/openpyxl raise many unrelated types on broken files
        raise DatasetError(f"{path}: cannot be read as a spreadsheet ({exc})") from None


def _find_table(path: Path, required: tuple[str, ...]) -> tuple[list[str], list[list[Any]]] | None:
    """The first sheet whose first non-empty row holds every ``required`` column."""
    for _name, rows in _read_sheets(path):
        for i, row in enumerate(rows[:20]):
            if not any(c not in (None, "") for c in row):
                continue
            header = [_norm_header(c) for c in row]
            if all(col in header for col in required):
                return header, rows[i + 1 :]
            break
    return None


def _cell_int(value: Any, path: Path, line: int, column: str) -> int:
    """An integer frame number from a cell holding ``'37'``, ``37`` or ``37.0``."""
    if isinstance(value, bool) or value is None:
        raise DatasetError(f"{path}, row {line}, column {column!r}: expected a frame number, "
                           f"found {value!r}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    try:
        f = float(str(value).strip())
    except ValueError:
        raise DatasetError(f"{path}, row {line}, column {column!r}: expected a frame number, "
                           f"found {value!r}") from None
    if not f.is_integer() or f < 0:
        raise DatasetError(f"{path}, row {line}, column {column!r}: expected a non-negative "
                           f"integer frame number, found {value!r}")
    return int(f)


def _cell_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


@dataclass(frozen=True)
class _Row:
    subject: str
    video: str
    onset: int  # 1-based, as in the file
    apex: int
    offset: int
    au: str
    objective_class: str
    type: str = ""
    emotion: str = ""
    line: int = 0

    @property
    def key(self) -> tuple[str, str, int, int, int]:
        return (self.subject, self.video, self.onset, self.apex, self.offset)


def _parse_rows(path: Path, header: list[str], rows: list[list[Any]], kind: str) -> list[_Row]:
    col = {name: header.index(name) for name in header if name}
    out: list[_Row] = []
    for i, raw in enumerate(rows, start=2):
        cells = list(raw) + [None] * (len(header) - len(raw))
        if not any(c not in (None, "") for c in cells):
            continue

        def get(name: str, cells: list[Any] = cells) -> Any:
            return cells[col[name]] if name in col else None

        subject = subject_id(_cell_str(get("subject")))
        video = _cell_str(get("filename")).lower()
        if not subject or not video:
            raise DatasetError(f"{path}, row {i}: empty Subject or Filename")
        onset = _cell_int(get("onset"), path, i, "Onset")
        apex = _cell_int(get("apex"), path, i, "Apex")
        offset = _cell_int(get("offset"), path, i, "Offset")
        if not onset <= offset:
            raise DatasetError(f"{path}, row {i}: offset {offset} is before onset {onset}")
        typ = ""
        emotion = ""
        if kind == "expr":
            t = _cell_str(get("expressiontype")).lower()
            if t.startswith("micro"):
                typ = "micro"
            elif t.startswith("macro"):
                typ = "macro"
            else:
                raise DatasetError(f"{path}, row {i}, column 'Expression type': expected "
                                   f"'Micro-expression' or 'Macro-expression', found {t!r}")
        else:
            typ = "micro"
            emotion = normalise_emotion(_cell_str(get("emotion")))
            if emotion not in EMOTIONS7:
                raise DatasetError(f"{path}, row {i}, column 'emotion': expected one of "
                                   f"{list(EMOTIONS7)}, found {get('emotion')!r}")
        out.append(_Row(subject, video, onset, apex, offset, _cell_str(get("au")),
                        _cell_str(get("objectiveclass")), typ, emotion, i))
    return out


def find_annotation_files(folder: str | Path) -> tuple[Path, Path]:
    """The expression table and the ME label table under ``folder`` (searched recursively).

    Files are told apart by their header row: the expression table has an
    ``Expression type`` column, the label table an ``emotion`` column.

    Raises:
        DatasetError: the folder does not exist, or either table is missing or ambiguous.
    """
    root = Path(folder)
    if not root.is_dir():
        raise DatasetError(f"annotation folder {root} does not exist")
    expr: list[Path] = []
    labels: list[Path] = []
    broken: list[str] = []
    candidates = sorted(p for p in root.rglob("*") if p.is_file()
                        and p.suffix.lower() in _TABLE_SUFFIXES and not p.name.startswith("~$"))
    for p in candidates:
        try:
            if _find_table(p, ("subject", "filename", "expressiontype")) is not None:
                expr.append(p)
            elif _find_table(p, ("subject", "filename", "emotion")) is not None:
                labels.append(p)
        except DatasetError as exc:
            broken.append(str(exc))
    if len(expr) != 1 or len(labels) != 1:
        if broken:  # a truncated table is the likely cause, not a missing one
            raise DatasetError(
                f"{root}: file corrupt: {'; '.join(broken[:3])} (found {len(expr)} readable "
                f"expression table(s) and {len(labels)} readable label table(s))"
            )
        raise DatasetError(
            f"{root}: expected one expression table (columns Subject, Filename, Onset, Apex, "
            f"Offset, AU, Expression type, Objective class) and one ME label table (... emotion); "
            f"found {len(expr)} expression table(s) {[p.name for p in expr]} and "
            f"{len(labels)} label table(s) {[p.name for p in labels]}"
        )
    return expr[0], labels[0]


@dataclass
class Annotations:
    """The joined annotations of a CAS(ME)^3-style dataset.

    Attributes:
        intervals: every expression, 0-based frames; micro-expressions carry their 7-class
            emotion (``""`` if the label table has no row for them), macro ``""``.
            ``extra`` holds ``au`` and ``objective_class``.
        files: the table files read.
        unlabelled_micro: micro-expressions of the expression table with no label row.
        labels_without_expression: label rows with no matching expression row (they are
            added to ``intervals`` as micro-expressions).
    """

    intervals: list[Interval]
    files: tuple[str, ...] = ()
    unlabelled_micro: list[Interval] = field(default_factory=list)
    labels_without_expression: list[Interval] = field(default_factory=list)

    @property
    def micro(self) -> list[Interval]:
        return [iv for iv in self.intervals if iv.type == "micro"]

    @property
    def macro(self) -> list[Interval]:
        return [iv for iv in self.intervals if iv.type == "macro"]

    @property
    def subjects(self) -> list[str]:
        return sorted({iv.subject for iv in self.intervals}, key=subject_sort_key)

    @property
    def videos(self) -> list[tuple[str, str]]:
        keys = {(iv.subject, iv.video) for iv in self.intervals}
        return sorted(keys, key=lambda k: (subject_sort_key(k[0]), k[1]))

    def for_video(self, subject: str, video: str) -> list[Interval]:
        return [iv for iv in self.intervals if iv.subject == subject and iv.video == video]

    def emotion_counts(self, emotions: int) -> dict[str, int]:
        """Micro-expressions per class name of the 4- or 7-class setting (all classes listed)."""
        from rt_sfamnet.emotions import EMOTIONS4

        names = EMOTIONS4 if emotions == 4 else EMOTIONS7
        counts = Counter(to_class(iv.emotion, emotions) for iv in self.micro if iv.emotion)
        return {name: int(counts.get(name, 0)) for name in names}

    def stats(self) -> dict[str, Any]:
        """``{"subjects", "videos", "micro", "macro", "emotions7", "emotions4"}`` (counts)."""
        return {
            "subjects": len(self.subjects),
            "videos": len(self.videos),
            "micro": len(self.micro),
            "macro": len(self.macro),
            "emotions7": self.emotion_counts(7),
            "emotions4": self.emotion_counts(4),
        }


def _to_interval(row: _Row, typ: str, emotion: str) -> Interval:
    return Interval(
        subject=row.subject,
        video=row.video,
        onset=max(row.onset - 1, 0),
        apex=max(row.apex - 1, 0),
        offset=max(row.offset - 1, 0),
        type=typ,
        emotion=emotion,
        extra={"au": row.au, "objective_class": row.objective_class},
    )


def read_annotations(expressions: str | Path, labels: str | Path | None = None) -> Annotations:
    """Read and join the two annotation tables.

    Args:
        expressions: the expression table, or a folder holding both tables (then ``labels``
            must be None and the files are found with :func:`find_annotation_files`).
        labels: the ME label table.

    Returns:
        :class:`Annotations`, intervals sorted by subject number, video, onset.

    Raises:
        DatasetError: a table is missing, has no matching header, or a cell is malformed.
    """
    p = Path(expressions)
    if labels is None:
        if not p.is_dir():
            raise DatasetError(f"{p}: expected a folder with both annotation tables, or give "
                               f"the label table as well")
        p, lp = find_annotation_files(p)
    else:
        lp = Path(labels)
    for f in (p, lp):
        if not f.is_file():
            raise DatasetError(f"annotation table {f} does not exist")
    et = _find_table(p, ("subject", "filename", "onset", "apex", "offset", "expressiontype"))
    if et is None:
        raise DatasetError(f"{p}: no sheet with the columns {list(_EXPR_COLUMNS)}")
    lt = _find_table(lp, ("subject", "filename", "onset", "apex", "offset", "emotion"))
    if lt is None:
        raise DatasetError(f"{lp}: no sheet with the columns {list(_LABEL_COLUMNS)}")
    expr_rows = _parse_rows(p, et[0], et[1], "expr")
    label_rows = _parse_rows(lp, lt[0], lt[1], "label")

    by_key: dict[tuple, _Row] = {}
    for r in label_rows:
        if r.key in by_key and by_key[r.key].emotion != r.emotion:
            raise DatasetError(f"{lp}, rows {by_key[r.key].line} and {r.line}: the same "
                               f"expression {r.key} has two emotions "
                               f"({by_key[r.key].emotion!r}, {r.emotion!r})")
        by_key[r.key] = r
    used: set[tuple] = set()
    intervals: list[Interval] = []
    unlabelled: list[Interval] = []
    for r in expr_rows:
        if r.type == "micro":
            lab = by_key.get(r.key)
            iv = _to_interval(r, "micro", lab.emotion if lab else "")
            if lab is None:
                unlabelled.append(iv)
            else:
                used.add(r.key)
        else:
            iv = _to_interval(r, "macro", "")
        intervals.append(iv)
    orphans = [_to_interval(r, "micro", r.emotion) for r in label_rows if r.key not in used]
    intervals.extend(orphans)
    intervals.sort(key=lambda iv: (subject_sort_key(iv.subject), iv.video, iv.onset, iv.offset))
    return Annotations(intervals, (str(p), str(lp)), unlabelled, orphans)


def find_annotations_under(root: str | Path) -> Path:
    """The folder holding the annotation tables of a dataset root (root itself or below)."""
    root = Path(root)
    for cand in (root / "annotations", root):
        if cand.is_dir():
            try:
                find_annotation_files(cand)
                return cand
            except DatasetError:
                continue
    raise DatasetError(f"{root}: no annotation tables found (expected an expression table and "
                       f"an ME label table, e.g. in {root / 'annotations'}); pass them explicitly")
