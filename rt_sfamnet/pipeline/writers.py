"""Incremental result writers: per-frame CSV, events CSV + JSON, JSON summaries.

The columns and their formats are defined once, in :mod:`rt_sfamnet.pipeline.results`; these
writers only stream them to files. Every writer writes as results arrive and flushes, so that
a run that is interrupted (Ctrl-C, a camera unplugged) leaves complete, valid files behind:
CSV files hold whole rows only, and JSON files are replaced atomically (written to ``*.tmp``
and renamed).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import math
import os
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rt_sfamnet.fileio import atomic_text
from rt_sfamnet.intervals import Interval
from rt_sfamnet.pipeline.results import (
    EVENT_COLUMNS,
    GAP_COLUMN,
    GAP_REASONS,
    GapLog,
    csv_cells,
    event_json,
    event_row,
    frame_columns,
    frame_row,
)

__all__ = ["EventWriter", "FrameCsvWriter", "GAP_COLUMN", "GAP_REASONS", "GapLog",
           "file_sha256", "run_identity", "source_label", "write_json_atomic"]


def _json_safe(obj: Any) -> Any:
    """Replace non-finite floats by None (JSON has no NaN) recursively."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return _json_safe(obj.item())
    return obj


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` via a temporary file and a rename.

    A path that cannot be written raises OutputError and leaves no temporary file.
    """
    text = json.dumps(_json_safe(obj), indent=2) + "\n"
    with atomic_text(path, "JSON file", fsync=True) as fh:
        fh.write(text)


def source_label(source: Any) -> str:
    """What a run's ``input`` column and summary call its source: the full path of a
    recording or frame folder, else the source's name (``"simulator (seed 0)"``, the camera)."""
    path = getattr(source, "path", None)
    if path is not None:
        return str(Path(path).resolve())
    return str(getattr(source, "name", type(source).__name__))


@functools.lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_sha256(path: str | Path) -> str | None:
    """SHA-256 of a file (hex), cached while its size and mtime stay; None if unreadable."""
    try:
        st = os.stat(path)
        return _sha256(str(path), st.st_size, st.st_mtime_ns)
    except OSError:
        return None


def run_identity(engine: Any, weights: str | None = None) -> dict[str, Any]:
    """What a summary records to tell runs apart: the package version, the source's full
    path (:func:`source_label`), and the weights file actually loaded with its SHA-256 (the
    default weights too; ``weights`` is the user's value when the predictor has no path)."""
    from rt_sfamnet import __version__

    path = getattr(getattr(engine, "predictor", None), "path", None)
    if path is None and weights:
        path = Path(weights).resolve()
    return {
        "rt_sfamnet_version": __version__,
        "source_path": source_label(getattr(engine, "source", None)),
        "weights": None if path is None else str(path),
        "weights_sha256": None if path is None else file_sha256(path),
    }


class FrameCsvWriter:
    """The per-frame CSV: one row per scheduled sample, written in frame order.

    Columns: :func:`~rt_sfamnet.pipeline.results.frame_columns` (``frame, timestamp, input,
    face_found, face_x0, face_y0, face_size, depth_ok, gap, score, micro_smoothed,
    macro_smoothed, prob_<class>..., argmax_class, latency_ms``; their meaning and units are
    in :data:`~rt_sfamnet.pipeline.results.FRAME_COLUMNS`). The ``gap`` runs are kept in
    :attr:`gaps`. Empty cells mean "not available" (no face, dropped frame, or a smoothed
    value that was not final when the run ended).

    Rows wait until both smoothed curve values of their frame are final (a few samples
    later; at most ``max_pending`` rows wait) and are then written and flushed.

    Args:
        path: output file.
        class_names: class names in probability order.
        max_pending: rows buffered while waiting for smoothed values.
        source: the ``input`` column's value (see :func:`source_label`).
    """

    def __init__(self, path: str | Path, class_names: Iterable[str], max_pending: int = 512,
                 source: str = ""):
        self.path = Path(path)
        self.class_names = tuple(class_names)
        self.max_pending = int(max_pending)
        self.source = str(source)
        self._columns = frame_columns(self.class_names)
        self.columns = [c.name for c in self._columns]
        self._fh = self.path.open("w", newline="", encoding="utf-8")
        self._csv = csv.writer(self._fh)
        self._csv.writerow(self.columns)
        self._fh.flush()
        self._pending: deque[Any] = deque()
        self._micro: dict[int, float] = {}
        self._macro: dict[int, float] = {}
        self.rows = 0
        self.gaps = GapLog()

    def add_results(self, results: Iterable[Any]) -> None:
        """Queue :class:`~rt_sfamnet.pipeline.FrameResult` objects (in frame order)."""
        self._pending.extend(results)

    def add_curves(self, curves: dict[str, list[tuple[int, float]]]) -> None:
        """Record final smoothed values ``{"micro": [(frame, v)], "macro": [...]}``."""
        for frame, v in curves.get("micro", ()):
            self._micro[int(frame)] = float(v)
        for frame, v in curves.get("macro", ()):
            self._macro[int(frame)] = float(v)

    def _write(self, r: Any) -> None:
        row = frame_row(r, self.class_names, self._micro.pop(r.frame, None),
                        self._macro.pop(r.frame, None), self.source)
        self._csv.writerow(csv_cells(self._columns, row))
        self.rows += 1
        self.gaps.add(row["frame"], row[GAP_COLUMN])

    def flush(self, final: bool = False) -> None:
        """Write every row whose smoothed values are final (all rows when ``final``)."""
        wrote = False
        while self._pending:
            r = self._pending[0]
            ready = r.frame in self._micro and r.frame in self._macro
            if not (ready or final or len(self._pending) > self.max_pending):
                break
            self._write(self._pending.popleft())
            wrote = True
        if wrote:
            self._fh.flush()
        # curve values of frames that have no row (should not happen) must not pile up
        if len(self._micro) > 4 * self.max_pending:
            for k in sorted(self._micro)[: len(self._micro) - self.max_pending]:
                del self._micro[k]
        if len(self._macro) > 4 * self.max_pending:
            for k in sorted(self._macro)[: len(self._macro) - self.max_pending]:
                del self._macro[k]

    def close(self) -> None:
        """Write what is left and close the file (safe to call twice)."""
        if self._fh.closed:
            return
        try:
            self.flush(final=True)
        finally:
            self._fh.close()


class EventWriter:
    """Spotted intervals as CSV and JSON (:data:`~rt_sfamnet.pipeline.results.EVENT_COLUMNS`).

    The CSV has the columns of :mod:`rt_sfamnet.intervals` (``subject, video, onset, apex,
    offset, type, emotion``) followed by ``start_s, end_s, confidence``, so it is both the
    events table and a prediction file for ``rt-sfamnet evaluate``. Rows are appended and
    flushed as intervals arrive; the JSON list (the same columns but ``subject`` and
    ``video``) is rewritten atomically each time.

    Args:
        csv_path, json_path: output files.
        subject, video: written into every row (match the ground truth's to evaluate; see
            :func:`~rt_sfamnet.pipeline.results.subject_video`).
        fps: frames per second, for ``start_s = onset / fps`` and ``end_s = (offset+1) / fps``.
    """

    def __init__(self, csv_path: str | Path, json_path: str | Path, subject: str, video: str,
                 fps: float):
        self.csv_path = Path(csv_path)
        self.json_path = Path(json_path)
        self.subject, self.video, self.fps = subject, video, float(fps)
        self.rows: list[dict[str, Any]] = []
        self._fh = self.csv_path.open("w", newline="", encoding="utf-8")
        self._csv = csv.writer(self._fh)
        self._csv.writerow([c.name for c in EVENT_COLUMNS])
        self._fh.flush()
        write_json_atomic(self.json_path, [])

    @property
    def events(self) -> list[dict[str, Any]]:
        """The events so far as ``events.json`` objects."""
        return [event_json(r) for r in self.rows]

    def add(self, intervals: Iterable[Any]) -> None:
        """Append :class:`~rt_sfamnet.spotting.SpottedInterval` objects."""
        new = False
        for iv in intervals:
            row = event_row(iv, self.subject, self.video, self.fps)
            self.rows.append(row)
            self._csv.writerow(csv_cells(EVENT_COLUMNS, row))
            new = True
        if new:
            self._fh.flush()
            write_json_atomic(self.json_path, self.events)

    def intervals(self) -> list[Interval]:
        """The events as :class:`~rt_sfamnet.intervals.Interval` objects (for evaluation)."""
        conf = EVENT_COLUMNS[-1]
        return [
            Interval(self.subject, self.video, e["onset"], e["apex"], e["offset"], e["type"],
                     e["emotion"], {"confidence": conf.csv(e["confidence"])})
            for e in self.rows
        ]

    def close(self) -> None:
        if self._fh.closed:
            return
        try:
            write_json_atomic(self.json_path, self.events)
        finally:
            self._fh.close()
