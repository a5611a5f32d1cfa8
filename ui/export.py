"""Export what the app has seen: spotted events and per-frame scores (CSV or JSON).

The files have the same format as ``rt-sfamnet analyze`` writes (the pipeline's writers are
reused): ``<stem>_events.csv`` + ``<stem>_events.json`` (type, emotion and confidence of every
interval, MaE included; the events CSV is an interval file that ``rt-sfamnet evaluate --pred``
reads) and ``<stem>_frames.csv`` or
``<stem>_frames.json`` (one row / object per analysed frame: frame, timestamp, face_found,
score, micro_smoothed, macro_smoothed, prob_<class>..., label, latency_ms).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rt_sfamnet.errors import ConfigError
from ui.history import ScoreHistory


def _subject_video(spec: str, truth: Sequence[Any] | None) -> tuple[str, str]:
    """Subject and video names for the events file (the ground truth's, so that
    ``rt-sfamnet evaluate`` matches them)."""
    if truth:
        return str(truth[0].subject), str(truth[0].video)
    if spec == "camera":
        return "live", "camera"
    if spec == "sim" or spec.startswith("sim:"):
        return "sim", spec.replace(":", "_") or "sim"
    return "recording", Path(spec).stem or "video"


def _finite(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def frame_rows(history: ScoreHistory, class_names: Sequence[str]) -> list[dict[str, Any]]:
    """One dict per analysed frame (JSON-ready)."""
    micro = dict(history.smoothed("micro"))
    macro = dict(history.smoothed("macro"))
    rows = []
    for r in history.results():
        probs = None if r.probs is None else [float(p) for p in r.probs]
        row: dict[str, Any] = {
            "frame": int(r.frame),
            "timestamp": float(r.timestamp),
            "face_found": bool(r.face_found),
            "score": _finite(r.score),
            "micro_smoothed": micro.get(int(r.frame)),
            "macro_smoothed": macro.get(int(r.frame)),
        }
        for i, c in enumerate(class_names):
            row[f"prob_{c}"] = None if probs is None else probs[i]
        row["argmax_class"] = r.label or ""  # the window's most probable class
        row["latency_ms"] = _finite(r.latency_ms)
        rows.append(row)
    return rows


def export_session(
    path: str | Path,
    fmt: str,
    history: ScoreHistory,
    events: Sequence[Any],
    class_names: Sequence[str],
    fps: float,
    spec: str,
    truth: Sequence[Any] | None = None,
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
        spec: the source spec (names subject and video without ground truth).
        truth: the source's ground truth (its subject/video name the events).
    """
    from rt_sfamnet.pipeline.writers import EventWriter, FrameCsvWriter, write_json_atomic

    if fmt not in ("csv", "json"):
        raise ConfigError(f"export format must be 'csv' or 'json', found {fmt!r}")
    p = Path(path)
    if not p.parent.is_dir():
        raise ConfigError(f"cannot export to {p}: folder {p.parent} does not exist")
    stem = p.stem
    for suffix in ("_events", "_frames"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    subject, video = _subject_video(spec, truth)
    ev_csv = p.with_name(f"{stem}_events.csv")
    ev_json = p.with_name(f"{stem}_events.json")
    writer = EventWriter(ev_csv, ev_json, subject, video, fps)
    try:
        writer.add(events)
    finally:
        writer.close()
    frames_path = p.with_name(f"{stem}_frames.{fmt}")
    if fmt == "csv":
        fw = FrameCsvWriter(frames_path, class_names)
        try:
            fw.add_results(history.results())
            fw.add_curves({"micro": history.smoothed("micro"),
                           "macro": history.smoothed("macro")})
        finally:
            fw.close()
    else:
        write_json_atomic(frames_path, {"fps": fps, "class_names": list(class_names),
                                        "frames": frame_rows(history, class_names)})
    return [ev_csv, ev_json, frames_path]
