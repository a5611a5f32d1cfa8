"""CAS(ME)^3 part A: annotation files, frame-folder discovery and :class:`Video` records.

The same code reads the real distribution and the synthetic datasets written by
:func:`rt_sfamnet.sim.dataset.write_dataset` (same layout, same annotation columns).

Annotations
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

Frame folders
    ``.../spNO.<id>/<video>/color/<n>.jpg`` and ``.../spNO.<id>/<video>/depth/<n>.png``
    (16-bit, millimetres), or split top folders (``RGB/spNO.1/a/<n>.jpg`` beside
    ``depth/spNO.1/a/<n>.png``), or no inner ``color``/``depth`` folders at all: anything
    under the root is searched (to a bounded depth) for ``spNO.<id>`` folders.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.emotions import EMOTIONS7, normalise_emotion, to_class
from rt_sfamnet.errors import DatasetError, RtSfamnetError
from rt_sfamnet.frames import Intrinsics, RGBDFrame
from rt_sfamnet.intervals import Interval

#: Frame rate of CAS(ME)^3 part A (RealSense D415).
CASME3_FPS = 30.0
#: Colour resolution of CAS(ME)^3 part A.
CASME3_SIZE = (1280, 720)

_SUBJECT_RE = re.compile(r"^sp\s*no\.?\s*(\d+)$", re.IGNORECASE)
_TABLE_SUFFIXES = (".xls", ".xlsx", ".csv")
_MAX_DEPTH = 7

# ---------------------------------------------------------------------------------------------
# annotation tables


def _norm_header(text: Any) -> str:
    return re.sub(r"[^a-z]", "", str(text).strip().lower())


_EXPR_COLUMNS = ("subject", "filename", "onset", "apex", "offset", "au", "expressiontype",
                 "objectiveclass")
_LABEL_COLUMNS = ("subject", "filename", "onset", "apex", "offset", "au", "objectiveclass",
                  "emotion")


def subject_id(value: Any) -> str:
    """The canonical subject name: ``"spNO.<n>"`` (accepts ``"spNO.1"``, ``"sp NO 1"``, ``1``)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if text.isdigit():
        return f"spNO.{int(text)}"
    m = _SUBJECT_RE.match(text)
    if m:
        return f"spNO.{int(m.group(1))}"
    return text


def subject_number(subject: str) -> int:
    """The integer of ``spNO.<n>`` (for sorting; other names sort last)."""
    m = _SUBJECT_RE.match(subject)
    return int(m.group(1)) if m else 1 << 30


def subject_sort_key(subject: str) -> tuple[int, str]:
    return (subject_number(subject), subject)


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


# ---------------------------------------------------------------------------------------------
# frame folders


@dataclass
class Video:
    """One video of the dataset: where its frames are and what it shows.

    Attributes:
        subject, video: names as in the annotations (``"spNO.1"``, ``"a"``).
        color_dir: folder of ``<n>.jpg`` colour frames.
        depth_dir: folder of ``<n>.png`` 16-bit depth frames (mm); None if not found.
        numbers: sorted colour frame numbers as in the file names (frame ``i`` of the video,
            0-based, is file ``numbers[i]``).
        depth_numbers: sorted depth frame numbers.
        intervals: the video's annotated expressions, 0-based frames.
        fps: frame rate.
    """

    subject: str
    video: str
    color_dir: Path
    depth_dir: Path | None
    numbers: list[int]
    depth_numbers: list[int] = field(default_factory=list)
    intervals: list[Interval] = field(default_factory=list)
    fps: float = CASME3_FPS

    @property
    def key(self) -> tuple[str, str]:
        return (self.subject, self.video)

    @property
    def n_frames(self) -> int:
        return len(self.numbers)

    def problems(self) -> list[str]:
        """Human-readable problems: gaps in the numbering, missing depth, GT past the end."""
        out: list[str] = []
        name = f"{self.subject}/{self.video}"
        if not self.numbers:
            return [f"{name}: no colour frames in {self.color_dir}"]
        first, last = self.numbers[0], self.numbers[-1]
        if last - first + 1 != len(self.numbers):
            have = set(self.numbers)
            gaps = [n for n in range(first, last + 1) if n not in have]
            out.append(f"{name}: {len(gaps)} colour frame(s) missing in {self.color_dir} "
                       f"(first: {gaps[:5]})")
        if self.depth_dir is None:
            out.append(f"{name}: no depth folder found")
        else:
            missing = sorted(set(self.numbers) - set(self.depth_numbers))
            if missing:
                out.append(f"{name}: {len(missing)} depth frame(s) missing in {self.depth_dir} "
                           f"(first: {missing[:5]})")
        for iv in self.intervals:
            if iv.offset >= len(self.numbers):
                out.append(f"{name}: annotated {iv.type} {iv.onset}-{iv.offset} (0-based) ends "
                           f"after the last frame ({len(self.numbers) - 1})")
        return out

    def read_frame(self, i: int, intrinsics: Intrinsics | None = None) -> RGBDFrame:
        """Frame ``i`` (0-based) as an :class:`RGBDFrame` (colour RGB, depth uint16 mm)."""
        import cv2

        from rt_sfamnet.images import read_jpeg

        n = self.numbers[i]
        cpath = self.color_dir / f"{n}.jpg"
        bgr = read_jpeg(cpath, DatasetError)
        color = np.ascontiguousarray(bgr[:, :, ::-1])
        depth = None
        if self.depth_dir is not None:
            dpath = self.depth_dir / f"{n}.png"
            if dpath.is_file():
                depth = cv2.imread(str(dpath), cv2.IMREAD_UNCHANGED)
                if depth is None or depth.ndim != 2 or depth.dtype != np.uint16:
                    found = "unreadable" if depth is None else f"{depth.dtype} {depth.shape}"
                    raise DatasetError(f"{dpath}: expected a 16-bit single-channel PNG "
                                       f"(millimetres), found {found}")
                if depth.shape != color.shape[:2]:
                    raise DatasetError(f"{dpath}: depth is {depth.shape[1]}x{depth.shape[0]} "
                                       f"but colour {cpath.name} is {color.shape[1]}x"
                                       f"{color.shape[0]}; expected aligned frames")
        if depth is None:
            depth = np.zeros(color.shape[:2], np.uint16)
        if intrinsics is None:
            intrinsics = Intrinsics.from_fov(color.shape[1], color.shape[0])
        return RGBDFrame(color, depth, i / self.fps, i, intrinsics, {"file_number": n})

    def frames(self, start: int = 0, stop: int | None = None,
               intrinsics: Intrinsics | None = None) -> Iterator[RGBDFrame]:
        stop = self.n_frames if stop is None else min(stop, self.n_frames)
        for i in range(start, stop):
            yield self.read_frame(i, intrinsics)


def _numbered(folder: Path, suffix: str) -> list[int]:
    out = []
    try:
        with os.scandir(folder) as it:
            for e in it:
                name = e.name
                if name.lower().endswith(suffix):
                    stem = name[: -len(suffix)]
                    if stem.isdigit():
                        out.append(int(stem))
    except OSError:
        return []
    return sorted(out)


def _subject_dirs(root: Path) -> Iterator[Path]:
    """Every ``spNO.<n>`` folder under ``root`` (not descending into them), bounded depth."""
    stack = [(root, 0)]
    while stack:
        d, depth = stack.pop()
        if _SUBJECT_RE.match(d.name):
            yield d
            continue
        if depth >= _MAX_DEPTH:
            continue
        try:
            with os.scandir(d) as it:
                children = sorted(Path(e.path) for e in it if e.is_dir())
        except OSError:
            continue
        stack.extend((c, depth + 1) for c in reversed(children))


def _frame_dir(video_dir: Path, kind: str) -> tuple[Path | None, list[int]]:
    """The folder of numbered ``.jpg`` (kind 'color') or ``.png`` (kind 'depth') frames."""
    suffix = ".jpg" if kind == "color" else ".png"
    names = ("color", "rgb", "colour") if kind == "color" else ("depth",)
    for sub in names:
        for cand in (video_dir / sub, video_dir / sub.upper(), video_dir / sub.capitalize()):
            if cand.is_dir():
                nums = _numbered(cand, suffix)
                if nums:
                    return cand, nums
    nums = _numbered(video_dir, suffix)
    if nums:
        return video_dir, nums
    return None, []


def discover_videos(root: str | Path) -> list[Video]:
    """Find every video folder under ``root`` (any top-level folder names).

    A video is ``<...>/spNO.<n>/<video>/`` with numbered colour frames (``<n>.jpg``) in
    ``color/`` or directly inside; depth frames (``<n>.png``) in ``depth/``, directly inside,
    or in a parallel tree (e.g. ``RGB/spNO.1/a`` beside ``depth/spNO.1/a``).

    Returns:
        Videos sorted by subject number and video name, without intervals.

    Raises:
        DatasetError: ``root`` is not a folder or holds no video.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset root {root} does not exist or is not a folder")
    colour: dict[tuple[str, str], tuple[Path, list[int]]] = {}
    depth: dict[tuple[str, str], tuple[Path, list[int]]] = {}
    for sdir in _subject_dirs(root):
        subject = subject_id(sdir.name)
        try:
            vdirs = sorted(p for p in sdir.iterdir() if p.is_dir())
        except OSError:
            continue
        for vdir in vdirs:
            key = (subject, vdir.name.lower())
            cdir, cnums = _frame_dir(vdir, "color")
            ddir, dnums = _frame_dir(vdir, "depth")
            if cdir is not None and key not in colour:
                colour[key] = (cdir, cnums)
            if ddir is not None and key not in depth:
                depth[key] = (ddir, dnums)
    if not colour:
        raise DatasetError(
            f"{root}: found no video folders; expected .../spNO.<id>/<video>/color/<n>.jpg "
            f"(and .../depth/<n>.png)"
        )
    videos = []
    for key in sorted(colour, key=lambda k: (subject_sort_key(k[0]), k[1])):
        cdir, cnums = colour[key]
        ddir, dnums = depth.get(key, (None, []))
        videos.append(Video(key[0], key[1], cdir, ddir, cnums, dnums))
    return videos


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


@dataclass
class Dataset:
    """A CAS(ME)^3-style dataset: its videos (with intervals) and annotations.

    Attributes:
        root: the dataset folder.
        videos: every video found on disk, sorted, each with its intervals.
        annotations: the joined annotation tables.
        missing_videos: annotated (subject, video) pairs with no folder on disk.
        intrinsics: colour intrinsics if the dataset ships them (``intrinsics.json``), else None.
        name: ``"casme3"`` or ``"synthetic"``.
    """

    root: Path
    videos: list[Video]
    annotations: Annotations
    missing_videos: list[tuple[str, str]] = field(default_factory=list)
    intrinsics: Intrinsics | None = None
    name: str = "casme3"

    @property
    def subjects(self) -> list[str]:
        return sorted({v.subject for v in self.videos}, key=subject_sort_key)

    def problems(self) -> list[str]:
        out = [f"{s}/{v}: annotated but no frame folder found" for s, v in self.missing_videos]
        for v in self.videos:
            out.extend(v.problems())
        return out

    def check(self) -> None:
        """Raise DatasetError listing every problem (missing videos or frames) if any."""
        probs = self.problems()
        if probs:
            shown = "; ".join(probs[:12])
            more = f"; ... and {len(probs) - 12} more" if len(probs) > 12 else ""
            raise DatasetError(f"{self.root}: {len(probs)} problem(s) in the dataset: "
                               f"{shown}{more}")

    def stats(self) -> dict[str, Any]:
        """Counts like :meth:`Annotations.stats` over the videos on disk, plus frame totals."""
        keys = {v.key for v in self.videos}
        ivs = [iv for iv in self.annotations.intervals if (iv.subject, iv.video) in keys]
        sub = Annotations(ivs)
        st = sub.stats()
        st["subjects"] = len(self.subjects)
        st["videos"] = len(self.videos)
        st["frames"] = int(sum(v.n_frames for v in self.videos))
        st["missing_videos"] = len(self.missing_videos)
        return st


def _read_intrinsics(root: Path) -> Intrinsics | None:
    for cand in (root / "intrinsics.json", root / "annotations" / "intrinsics.json"):
        if cand.is_file():
            try:
                d = json.loads(cand.read_text())
                if "coeffs" in d:
                    d["coeffs"] = tuple(d["coeffs"])
                return Intrinsics(**d)
            except (ValueError, TypeError) as exc:
                raise DatasetError(f"{cand}: expected Intrinsics fields (width, height, fx, fy, "
                                   f"ppx, ppy[, model, coeffs]) ({exc})") from None
    return None


def _read_fps(root: Path, ann_dir: Path) -> float:
    """The frame rate: ``simulation.json`` of a synthetic dataset, else 30 (CAS(ME)^3)."""
    for cand in (ann_dir / "simulation.json", root / "annotations" / "simulation.json"):
        if cand.is_file():
            try:
                fps = float(json.loads(cand.read_text()).get("fps", CASME3_FPS))
            except (ValueError, TypeError, AttributeError):
                raise DatasetError(f"{cand}: not valid JSON with a numeric 'fps'") from None
            if fps > 0:
                return fps
    return CASME3_FPS


def load_dataset(root: str | Path, annotations: str | Path | None = None,
                 name: str = "casme3") -> Dataset:
    """Discover the videos under ``root`` and attach the annotations.

    Args:
        root: the dataset folder (any layout :func:`discover_videos` understands).
        annotations: the folder of the annotation tables; None searches ``root``.
        name: recorded in :attr:`Dataset.name`.

    Raises:
        DatasetError: no videos, or no annotation tables.
    """
    root = Path(root)
    videos = discover_videos(root)
    ann_dir = Path(annotations) if annotations is not None else find_annotations_under(root)
    ann = read_annotations(ann_dir)
    if name == "synthetic":  # the simulator writes a MaE's prototype emotion as its objective class
        from rt_sfamnet.sim.aus import OBJECTIVE_CLASS

        proto = {cls: emo for emo, cls in OBJECTIVE_CLASS.items()}
        for iv in ann.intervals:
            if iv.type == "macro" and iv.extra.get("objective_class") in proto:
                iv.extra["prototype"] = proto[iv.extra["objective_class"]]
    by_video: dict[tuple[str, str], list[Interval]] = {}
    for iv in ann.intervals:
        by_video.setdefault((iv.subject, iv.video), []).append(iv)
    on_disk = {v.key for v in videos}
    fps = _read_fps(root, ann_dir)
    for v in videos:
        v.intervals = by_video.get(v.key, [])
        v.fps = fps
    missing = [k for k in ann.videos if k not in on_disk]
    return Dataset(root, videos, ann, missing, _read_intrinsics(root), name)


def restrict(dataset: Dataset, subjects: Iterable[str] | None) -> Dataset:
    """A copy of ``dataset`` with only ``subjects`` (names or numbers); None keeps all."""
    if subjects is None:
        return dataset
    wanted = {subject_id(s) for s in subjects}
    unknown = wanted - set(dataset.subjects)
    if unknown:
        raise DatasetError(f"subject(s) {sorted(unknown, key=subject_sort_key)} not in the "
                           f"dataset; it has {dataset.subjects}")
    videos = [v for v in dataset.videos if v.subject in wanted]
    missing = [k for k in dataset.missing_videos if k[0] in wanted]
    return Dataset(dataset.root, videos, dataset.annotations, missing, dataset.intrinsics,
                   dataset.name)
