"""``rt-sfamnet report OUT_DIR``: an analysis folder into one self-contained HTML file.

:func:`build_report` reads the folder (:func:`~rt_sfamnet.report.results.load_results`),
replays each event from the source named in ``summary.json``
(:class:`~rt_sfamnet.report.evidence.SourceReplay`) and renders the Jinja2 template
``templates/report.html.j2``. Written into the folder:

- ``report.html`` (or ``out``): every image embedded as a ``data:`` URI, no external
  reference, no script;
- ``scores.svg``, ``scores.pdf``, ``scores.png``: the score curves;
- ``attention/event_NNN.png``: one figure per event (:func:`~.figures.event_figure`).

When the source is gone the report says so and is built without thumbnails and attention.
"""

from __future__ import annotations

import base64
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.report.figures import event_figure, heat_lut, overlay_heat, plot_curves, png_bytes
from rt_sfamnet.report.results import Results, finite, load_results

__all__ = ["build_report", "event_png_path", "write_attention", "write_event_pngs"]

ATTENTION_DIR = "attention"


def event_png_path(folder: Path, number: int) -> Path:
    """Where the PNG of event ``number`` (0-based, ``events.csv`` order) is written."""
    return Path(folder) / ATTENTION_DIR / f"event_{number:03d}.png"


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _replay_all(res: Results, predictor: Any) -> tuple[list[Any], list[dict], str]:
    """Every event's evidence and the ground truth, or ([], [], why) without a source."""
    from rt_sfamnet.errors import RtSfamnetError
    from rt_sfamnet.report.evidence import SourceReplay, source_problem

    problem = source_problem(res.summary)
    if problem:
        return [], [], problem
    try:
        with SourceReplay(res.summary, res.frames, predictor) as replay:
            truth = replay.ground_truth()
            evidence = [replay.evidence(ev) for ev in res.event_rows()]
    except RtSfamnetError as exc:
        return [], [], f"the source could not be read again: {exc}"
    return evidence, truth, ""


def write_event_pngs(folder: str | Path, evidence: list[Any], class_names: tuple[str, ...],
                     fps: float) -> list[Path]:
    """One PNG per event into ``folder/attention/`` (:func:`event_png_path`)."""
    paths = []
    for ev in evidence:
        path = event_png_path(Path(folder), int(ev.event["number"]))
        path.parent.mkdir(parents=True, exist_ok=True)
        paths.append(event_figure(ev, class_names, path, fps))
    return paths


def write_attention(folder: str | Path, predictor: Any = None) -> tuple[list[Path], str]:
    """``analyze --attention``: the PNG of every event of an analysis folder.

    Returns:
        The PNGs written and, when the source cannot be read again, why (then no PNG).
    """
    res = load_results(folder)
    evidence, _truth, problem = _replay_all(res, predictor)
    names = tuple(res.summary.get("class_names") or ())
    fps = float(res.summary.get("fps") or 30.0)
    return write_event_pngs(folder, evidence, names, fps), problem


def _num(value: Any, digits: int = 3) -> str:
    """A table cell: floats with ``digits`` decimals, integers and text as they are, "–" for
    a missing value (None, NaN, pandas' NA)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    v = finite(value)
    if v is None:
        return "–"
    if isinstance(value, (int, np.integer)):
        return str(int(v))
    return f"{v:.{digits}f}"


def _event_rows(res: Results, evidence: list[Any], folder: Path, out_dir: Path
                ) -> list[dict[str, Any]]:
    lut = heat_lut()
    by_number = {int(ev.event["number"]): ev for ev in evidence}
    rows = []
    for ev in res.event_rows():
        found = by_number.get(ev["number"])
        row = {k: _num(ev.get(k)) for k in ("onset", "apex", "offset", "type", "emotion",
                                           "start_s", "end_s", "confidence")}
        row["number"] = ev["number"]
        row["thumb"] = row["spot"] = row["emotion_att"] = row["png"] = None
        row["note"] = found.note if found is not None else ""
        if found is not None:
            apex = found.crops.get("apex")
            if apex is not None:
                row["thumb"] = _data_uri(png_bytes(apex), "image/png")
            if apex is not None and found.attention is not None:
                att = found.attention
                row["spot"] = _data_uri(png_bytes(overlay_heat(apex, att.spot_concat, lut)),
                                        "image/png")
                row["emotion_att"] = _data_uri(
                    png_bytes(overlay_heat(apex, att.emotion_concat, lut)), "image/png")
                row["replayed"] = _num(found.score)
            png = event_png_path(folder, ev["number"])
            if png.exists():
                row["png"] = Path(_relative(png, out_dir)).as_posix()
        rows.append(row)
    return rows


def _relative(path: Path, start: Path) -> str:
    import os

    return os.path.relpath(path.resolve(), start.resolve())


def _counts(res: Results) -> dict[str, list[tuple[str, int]]]:
    events = res.event_rows()
    return {"type": sorted(Counter(str(e["type"]) for e in events).items()),
            "emotion": sorted(Counter(str(e["emotion"]) for e in events).items())}


def _gaps(res: Results) -> list[tuple[str, int]]:
    """Samples per gap reason (``frames.csv``'s ``gap`` column), every reason listed."""
    from rt_sfamnet.pipeline.writers import GAP_REASONS

    gap = (res.frames["gap"].astype(object).fillna("").astype(str)
           if "gap" in res.frames else [])
    counts = Counter(g for g in gap if g)
    return [(reason, int(counts.get(reason, 0))) for reason in GAP_REASONS]


def _weights(summary: dict[str, Any]) -> dict[str, Any]:
    """The weights file, its hash and what it was trained on (its metadata)."""
    info: dict[str, Any] = {"path": summary.get("weights"), "sha256": summary.get("weights_sha256"),
                            "problem": ""}
    try:
        from rt_sfamnet.weights import read_meta

        meta = read_meta(summary.get("weights"))
    except Exception as exc:  # noqa: BLE001 - a report never fails on metadata
        info["problem"] = f"metadata not readable: {exc}"
        return info
    info.update(emotions=meta.emotions, flow_mode=meta.flow_mode, input_scale=meta.input_scale,
                units=meta.units, provenance=_flat(meta.provenance))
    return info


def _flat(obj: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested metadata as ``(dotted.key, value)`` rows (long values shortened)."""
    if isinstance(obj, dict):
        out: list[tuple[str, str]] = []
        for k, v in obj.items():
            out += _flat(v, f"{prefix}{k}.")
        return out
    text = str(obj)
    return [(prefix.rstrip("."), text if len(text) <= 160 else text[:157] + "...")]


def _metrics(summary: dict[str, Any]) -> list[dict[str, Any]] | None:
    m = summary.get("metrics")
    if not m:
        return None
    rows = []
    for name in ("micro", "macro", "overall"):
        v = m.get(name) or {}
        rows.append({"name": name, **{k: _num(v.get(k)) for k in
                                      ("tp", "fp", "fn", "precision", "recall", "f1")}})
    return rows


def _scores_stem(out: Path) -> Path:
    """The score figures beside the report: ``scores.*`` for ``report.html``,
    ``<name>_scores.*`` for ``<name>_report.html`` or ``<name>.html``."""
    stem = out.stem
    base = stem[: -len("report")].rstrip("_") if stem.endswith("report") else stem
    return out.with_name(f"{base}_scores" if base else "scores")


def _render(context: dict[str, Any]) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("rt_sfamnet.report", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html.j2").render(**context)


def build_report(folder: str | Path | Results, out: str | Path | None = None,
                 predictor: Any = None, event_pngs: bool = True) -> Path:
    """Write the report of an analysis folder.

    Args:
        folder: the analysis folder (``frames.csv``, ``events.csv``, ``summary.json``), or
            its :class:`~rt_sfamnet.report.results.Results` (the GUI's export builds one).
        out: the HTML file (default ``folder/report.html``).
        predictor: a :class:`~rt_sfamnet.predictor.Predictor` to reuse (None: the summary's
            weights are loaded).
        event_pngs: also write ``attention/event_NNN.png`` (linked from the table).

    Returns:
        The HTML file's path.
    """
    import rt_sfamnet
    from rt_sfamnet.fileio import atomic_text

    res = folder if isinstance(folder, Results) else load_results(folder)
    folder = res.folder
    out = Path(out) if out is not None else folder / "report.html"
    summary = res.summary
    evidence, truth, problem = _replay_all(res, predictor)
    names = tuple(summary.get("class_names") or ())
    fps = float(summary.get("fps") or 30.0)
    if event_pngs and evidence:
        write_event_pngs(folder, evidence, names, fps)
    curves = plot_curves(res.frames, res.event_rows(), truth, summary, _scores_stem(out))
    context = {
        "title": f"rt-sfamnet report: {summary.get('source', folder.name)}",
        "summary": summary,
        "source_problem": problem,
        "curves_svg": _data_uri(curves["svg"].read_bytes(), "image/svg+xml"),
        "curve_files": {k: Path(_relative(p, out.parent)).as_posix() for k, p in curves.items()},
        "events": _event_rows(res, evidence, folder, out.parent),
        "counts": _counts(res),
        "gaps": _gaps(res),
        "truth_count": len(truth),
        "metrics": _metrics(summary),
        "weights": _weights(summary),
        "settings": _flat({**{k: summary[k] for k in ("input", "depth", "training_data",
                                                      "zero_depth_experiment", "warnings")
                              if summary.get(k) not in (None, [], "")},
                           "frame_skip": summary.get("frame_skip"), "k_sw": summary.get("k_sw"),
                           "fps": summary.get("fps"), "backend": summary.get("backend"),
                           "features": summary.get("features"),
                           "spotting": summary.get("spotting")}),
        "run": [(k, _num(summary.get(k))) for k in
                ("status", "frames_in", "frames_analyzed", "frames_dropped", "latency_ms_p50",
                 "latency_ms_p95", "wall_s")],
        "version": rt_sfamnet.__version__,
        "analysis_version": summary.get("rt_sfamnet_version"),
    }
    with atomic_text(out, "report") as fh:
        fh.write(_render(context))
    return out
