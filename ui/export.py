"""Export what the app has seen: spotted events and per-frame scores (CSV or JSON).

The files have the columns ``rt-sfamnet analyze`` writes, from the one results table
(:mod:`rt_sfamnet.pipeline.results`): ``<stem>_events.csv`` + ``<stem>_events.json`` (type,
emotion and confidence of every interval, MaE included; the events CSV is an interval file
that ``rt-sfamnet evaluate --pred`` reads) and ``<stem>_frames.csv`` or ``<stem>_frames.json``
(one row / object per analysed frame: ``frame, timestamp, input, face_found, face_x0,
face_y0, face_size, depth_ok, gap, score, micro_smoothed, macro_smoothed, prob_<class>...,
argmax_class, latency_ms``; the JSON file also holds ``fps``, ``class_names`` and the gap
runs ``gaps``).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rt_sfamnet.errors import ConfigError
from rt_sfamnet.pipeline.results import ResultsTable, csv_cells, subject_video
from ui.history import ScoreHistory


def session_table(history: ScoreHistory, events: Sequence[Any], class_names: Sequence[str],
                  fps: float, spec: str, truth: Sequence[Any] | None = None,
                  source: str = "") -> ResultsTable:
    """The app's per-frame scores and events as a :class:`ResultsTable` (subject and video
    named by :func:`~rt_sfamnet.pipeline.results.subject_video`, as the command names them)."""
    subject, video = subject_video(spec, truth)
    return ResultsTable.from_history(
        history.results(), {"micro": history.smoothed("micro"),
                            "macro": history.smoothed("macro")},
        events, class_names, fps, subject, video, source)


def export_session(
    path: str | Path,
    fmt: str,
    history: ScoreHistory,
    events: Sequence[Any],
    class_names: Sequence[str],
    fps: float,
    spec: str,
    truth: Sequence[Any] | None = None,
    source: str = "",
) -> list[Path]:
    """Write ``<stem>_events.csv``, ``<stem>_events.json`` and ``<stem>_frames.<fmt>`` in the
    folder of ``path``; returns the written files.

    Args:
        path: any file name in the target folder; its stem names the files.
        fmt: ``"csv"`` or ``"json"`` (the per-frame file's format).
        history: the per-frame scores.
        events: SpottedInterval-like objects (frames of the stream).
        class_names: probability order.
        fps: frames per second (for ``start_s`` / ``end_s``).
        spec: the source spec (names the video without ground truth).
        truth: the source's ground truth (its subject/video name the events).
        source: the ``input`` column (a recording's full path, else the source's name).
    """
    from rt_sfamnet.pipeline.writers import EventWriter, write_json_atomic

    if fmt not in ("csv", "json"):
        raise ConfigError(f"export format must be 'csv' or 'json', found {fmt!r}")
    p = Path(path)
    if not p.parent.is_dir():
        raise ConfigError(f"cannot export to {p}: folder {p.parent} does not exist")
    stem = p.stem
    for suffix in ("_events", "_frames"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    table = session_table(history, events, class_names, fps, spec, truth, source)
    subject, video = subject_video(spec, truth)
    ev_csv = p.with_name(f"{stem}_events.csv")
    ev_json = p.with_name(f"{stem}_events.json")
    writer = EventWriter(ev_csv, ev_json, subject, video, fps)
    try:
        writer.add(events)
    finally:
        writer.close()
    frames_path = p.with_name(f"{stem}_frames.{fmt}")
    if fmt == "csv":
        cols = table.frame_columns
        with frames_path.open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow([c.name for c in cols])
            out.writerows(csv_cells(cols, r) for r in table.frames)
    else:
        write_json_atomic(frames_path, {"fps": fps, "class_names": list(class_names),
                                        "gaps": table.gaps, "frames": table.frames_json()})
    return [ev_csv, ev_json, frames_path]
