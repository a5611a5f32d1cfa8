"""Per-segment checks of an analysis of a real clip (the real-face benchmark's maths).

A *segments file* says by eye what happens when in a clip, one row per span (CSV columns
``video, start, end, what``; frames 0-based and inclusive, as in
``../shared/real-faces/segments.csv``), e.g. ``single_face,0,19,still face (neutral)``. The
kind of a segment comes from ``what`` (:func:`segment_kind`): ``still``, ``no_face`` or an
emotion the face shows (``positive`` for a smile or a laugh, ``negative`` for crying...).

A sample (one row of ``frames.csv``: the pair ``frame .. frame + k_sw``) belongs to a segment
when both frames of its pair lie inside it. For each segment :func:`segment_report` gives the
score saturation (the fraction of scored samples above each threshold), the highest raw
score, the mean emotion probabilities, the samples without a face, and the events that
overlap it; :func:`segment_checks` applies the rules a sensible analysis of a real face must
pass:

- ``still``: every raw score below the weights' micro threshold;
- an emotion (e.g. ``positive``): that emotion has the highest mean probability of the
  emotion classes over the segment's scored samples;
- ``no_face``: no event overlaps it, and every sample of it is a ``no_face`` gap.

Pure functions over pandas tables: no files, no network.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rt_sfamnet.errors import RtSfamnetError

__all__ = ["Segment", "THRESHOLDS", "micro_threshold", "read_segments", "segment_checks",
           "segment_kind", "segment_report"]

#: score levels of the saturation report
THRESHOLDS = (0.3, 0.5, 0.7, 0.9)

_KINDS = (
    ("no face", "no_face"), ("noface", "no_face"), ("no_face", "no_face"),
    ("still", "still"), ("neutral", "still"),
    ("smil", "positive"), ("laugh", "positive"), ("happ", "positive"),
    ("cry", "negative"), ("sad", "negative"), ("disgust", "negative"), ("anger", "negative"),
    ("angry", "negative"), ("fear", "negative"),
    ("surpris", "surprise"),
)


@dataclass(frozen=True)
class Segment:
    """One labelled span of a clip: frames ``start .. end`` inclusive (0-based)."""

    video: str
    start: int
    end: int
    what: str

    @property
    def kind(self) -> str:
        return segment_kind(self.what)


def segment_kind(what: str) -> str:
    """``still``, ``no_face``, an emotion (``positive``, ``negative``, ``surprise``), or
    ``other`` for a description none of those words match (the first match wins)."""
    low = what.lower()
    for word, kind in _KINDS:
        if word in low:
            return kind
    return "other"


def read_segments(path: str | Path) -> list[Segment]:
    """A segments CSV (``video, start, end, what``) as :class:`Segment` rows."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise RtSfamnetError(f"cannot read the segments file {path}: {exc.strerror}") from None
    need = {"video", "start", "end", "what"}
    if not rows or not need <= set(rows[0]):
        found = sorted(rows[0]) if rows else "no rows"
        raise RtSfamnetError(f"{path}: expected the columns video, start, end, what; found {found}")
    out = []
    for i, r in enumerate(rows, start=2):
        try:
            a, b = int(r["start"]), int(r["end"])
        except ValueError:
            raise RtSfamnetError(f"{path} line {i}: start and end must be frame numbers, found "
                                 f"{r['start']!r}, {r['end']!r}") from None
        if b < a or a < 0:
            raise RtSfamnetError(f"{path} line {i}: expected 0 <= start <= end, found {a}, {b}")
        out.append(Segment(r["video"].strip(), a, b, r["what"].strip()))
    return out


def _in_segment(frames: Any, seg: Segment, k_sw: int) -> Any:
    return (frames["frame"] >= seg.start) & (frames["frame"] + k_sw <= seg.end)


def segment_report(frames: Any, events: Any, seg: Segment, k_sw: int,
                   emotions: tuple[str, ...]) -> dict[str, Any]:
    """What the analysis says inside ``seg``.

    Args:
        frames: the per-sample table (``frames.csv`` / ``Analysis.frames``): ``frame``,
            ``gap``, ``score``, ``prob_<class>`` columns.
        events: the events table (``onset``, ``offset``, ``type``, ``emotion``, frames).
        k_sw: frames between a sample's two frames.
        emotions: the emotion class names (without ``neutral``).
    Returns:
        ``{"segment", "kind", "samples", "scored", "no_face", "max_score", "max_pair",
        "above": {threshold: fraction of scored samples}, "mean_probs": {emotion: mean},
        "events": [...]}``; ``max_pair`` is the ``[first, last]`` frames of the highest-scoring
        sample (which pair fired). ``max_score``, ``max_pair`` and ``mean_probs`` are None
        without a scored sample.
    """
    inside = frames[_in_segment(frames, seg, k_sw)]
    gap = inside["gap"].fillna("").astype(str)
    scored = inside[gap == ""]
    out: dict[str, Any] = {
        "segment": f"{seg.video} {seg.start}-{seg.end}: {seg.what}", "kind": seg.kind,
        "samples": int(len(inside)), "scored": int(len(scored)),
        "no_face": int((gap == "no_face").sum()), "max_score": None, "max_pair": None,
        "above": {}, "mean_probs": None,
    }
    if len(scored):
        s = scored["score"].astype(float)
        out["max_score"] = float(s.max())
        first = int(scored["frame"].iloc[int(s.to_numpy().argmax())])
        out["max_pair"] = [first, first + int(k_sw)]
        out["above"] = {str(t): float((s > t).mean()) for t in THRESHOLDS}
        out["mean_probs"] = {e: float(scored[f"prob_{e}"].astype(float).mean())
                             for e in emotions}
    hits = events[(events["offset"] >= seg.start) & (events["onset"] <= seg.end)]
    out["events"] = [{"onset": int(r.onset), "offset": int(r.offset), "type": str(r.type),
                      "emotion": str(r.emotion)} for r in hits.itertuples()]
    return out


def micro_threshold(summary: dict[str, Any]) -> float:
    """The micro threshold an analysis ran with, resolved from its ``summary["spotting"]``
    (a value left ``None`` there is the variant's default)."""
    from rt_sfamnet.spotting import SpottingConfig

    return SpottingConfig(**summary["spotting"]).params("micro").threshold


def segment_checks(report: dict[str, Any], micro_threshold: float) -> dict[str, bool]:
    """The rules of the module docstring for one :func:`segment_report` (empty when the
    segment's kind has no rule or it has no sample)."""
    kind = report["kind"]
    if report["samples"] == 0:
        return {}
    if kind == "still" and report["max_score"] is not None:
        return {"still: every score below the micro threshold":
                report["max_score"] < micro_threshold}
    if kind == "no_face":
        return {"no face: nothing spotted": not report["events"],
                "no face: every sample a no_face gap": report["no_face"] == report["samples"]}
    probs = report["mean_probs"]
    if probs and kind in probs:
        best = max(probs, key=probs.get)
        return {f"{kind}: highest mean probability": best == kind}
    return {}
