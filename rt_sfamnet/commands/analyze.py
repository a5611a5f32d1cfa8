"""``rt-sfamnet analyze SOURCE --out DIR``: headless real-time analysis.

Runs the real-time engine (:mod:`rt_sfamnet.pipeline`) on a camera, a recording, a frame
folder or the simulator and writes, into ``DIR``:

- ``frames.csv`` — one row per analysed frame: ``frame, timestamp, face_found, score,
  micro_smoothed, macro_smoothed, prob_<class>..., label, latency_ms``;
- ``events.csv`` — spotted intervals in the interval-file format (``subject, video, onset,
  apex, offset, type, emotion``) plus ``start_s, end_s, confidence`` (usable as ``--pred``
  of ``rt-sfamnet evaluate``); ``events.json`` — the same as a list of objects;
- ``summary.json`` — ``frames_in, frames_analyzed, frames_dropped, input_fps,
  analyzed_per_s, latency_ms_p50, latency_ms_p95, backend, events`` and more; with ground
  truth (the source's own, e.g. a simulated recording's ``.gt.csv``, or ``--gt``) also the
  MEGC spotting and analysis metrics of :func:`rt_sfamnet.metrics.evaluate_intervals`.

Every file is written as results arrive and flushed; ``summary.json`` and ``events.json``
are finalised when the run ends for any reason (end of file, Ctrl-C, camera unplugged), so
an interrupted run leaves complete, valid files with ``"status": "interrupted"`` or
``"error"``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

NAME = "analyze"
HELP = "analyse a camera, recording or simulation headless: per-frame CSV, events, summary JSON"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="'camera', 'sim[:seed=..,duration=..]', a .bag/.db3 "
                        "recording or a frame folder")
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    parser.add_argument("--json", action="store_true", help="print the summary JSON on stdout")
    parser.add_argument("--realtime", action="store_true",
                        help="pace file sources at their frame rate (drop, not wait, when slow)")
    parser.add_argument("--speed", type=float, default=1.0, help="pacing factor with --realtime")
    parser.add_argument("--weights", default=None,
                        help="weights file (.safetensors, or an official .pkl with --emotions); "
                        "default: the bundled weights")
    parser.add_argument("--emotions", type=int, choices=(4, 7), default=None,
                        help="classes of an official .pkl checkpoint")
    parser.add_argument("--gt", default=None, help="ground-truth interval CSV (overrides the "
                        "source's own ground truth)")
    parser.add_argument("--protocol", choices=("megc", "sfamnet"), default="megc",
                        help="evaluation protocol with ground truth")
    parser.add_argument("--frame-skip", type=int, default=None,
                        help="a sample every N frames (default 2 on CPU, 1 on CUDA)")
    parser.add_argument("--spot", action="append", default=[], metavar="KEY=VALUE",
                        help="a spotting setting (rt_sfamnet.spotting.SpottingConfig), e.g. "
                        "--spot k_micro=2 --spot variant=paper; repeatable")
    parser.add_argument("--release-spotting", action="store_true",
                        help="start from the release's spotting values instead of the ones the "
                        "weights were evaluated with (recorded by `rt-sfamnet train`)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--seconds", type=float, default=None,
                        help="stop after this many seconds of input (e.g. for the camera)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _human_summary(summary: dict[str, Any], out: Path) -> str:
    """A few lines for a person at the terminal (``--json`` prints the whole summary)."""
    ev = summary.get("events") or {}

    def ms(key: str) -> str:  # None when no window was scored
        v = summary.get(key)
        return "n/a" if v is None else f"{v:.0f} ms"

    lines = [
        f"analysed {summary.get('frames_analyzed', 0)} windows of {summary.get('frames_in', 0)} "
        f"frames ({summary.get('input_fps', 0.0):.1f} frames/s in, latency p50 "
        f"{ms('latency_ms_p50')} / p95 {ms('latency_ms_p95')}, "
        f"{summary.get('frames_dropped', 0)} frames dropped, backend {summary.get('backend')})",
        f"spotted {ev.get('micro', 0)} micro- and {ev.get('macro', 0)} macro-expressions",
    ]
    metrics = summary.get("metrics") or {}
    if "micro" in metrics:
        parts = [f"{k} F1 {metrics[k]['f1']:.2f} ({metrics[k]['tp']} TP / {metrics[k]['fp']} FP / "
                 f"{metrics[k]['fn']} FN)" for k in ("micro", "macro", "overall")]
        lines.append(f"against the ground truth ({metrics.get('protocol', 'megc')}): " + "; ".join(parts))
    lines.append(f"results: {out}/frames.csv, events.csv, events.json, summary.json")
    return "\n".join(lines)


def _summary(
    engine: Any,
    results_meta: dict[str, Any],
    events: Any,
    status: str,
    error: BaseException | None,
    wall_s: float,
    metrics: dict | None,
    weights: str | None,
) -> dict[str, Any]:
    from rt_sfamnet.pipeline import weights_spotting
    from rt_sfamnet.pipeline.stats import percentiles_ms

    st = engine.stats()
    p50, p95 = percentiles_ms(results_meta["latencies"])
    counts = {"micro": 0, "macro": 0}
    for e in events.events:
        counts[e["type"]] = counts.get(e["type"], 0) + 1
    counts["total"] = len(events.events)
    wall = max(wall_s, 1e-9)
    out: dict[str, Any] = {
        "status": status,
        "error": None if error is None else f"{type(error).__name__}: {error}",
        "source": st.source,
        "fps": engine.fps,
        "frames_in": st.frames_in,
        "frames_analyzed": st.frames_analyzed,
        "frames_dropped": st.dropped.get("frames", 0) + st.dropped.get("source", 0),
        "input_fps": st.frames_in / wall,
        "analyzed_per_s": st.frames_analyzed / wall,
        "latency_ms_p50": p50,
        "latency_ms_p95": p95,
        "backend": st.backend,
        "events": counts,
        "wall_s": wall_s,
        "realtime": bool(engine.config.realtime or engine.live),
        "frame_skip": engine.frame_skip,
        "k_sw": st.k_sw,
        "samples_scheduled": results_meta["rows"],
        "samples_no_face": st.samples_no_face,
        "samples_dropped": st.dropped.get("samples", 0),
        "frames_skipped": st.frames_skipped,
        "frames_empty_depth": st.frames_empty_depth,
        "dropped": st.dropped,
        "gaps": [list(g) for g in st.gaps],
        "stage_ms": {k: {"p50": v[0], "p95": v[1]} for k, v in st.stage_ms.items()},
        "batch_size_mean": st.batch_size_mean,
        "class_names": list(engine.class_names),
        "weights": weights,
        "features": {"mode": engine.feature_config.mode,
                     "input_scale": engine.feature_config.input_scale,
                     "input_clip": engine.input_clip},
        "spotting": dataclasses.asdict(engine.spotting_config),
        "spotting_from_weights": weights_spotting(engine.predictor),
    }
    if metrics is not None:
        out["metrics"] = metrics
    return out


def _evaluate(gt: list, events: Any, emotions: int, protocol: str) -> dict[str, Any]:
    from rt_sfamnet.metrics import evaluate_intervals

    result = evaluate_intervals(gt, events.intervals(), emotions, protocol=protocol)
    return {"protocol": protocol, "ground_truth_intervals": len(gt), **result}


def run(args: argparse.Namespace) -> int:
    from rt_sfamnet.config import config_from_mapping
    from rt_sfamnet.errors import ConfigError, RtSfamnetError
    from rt_sfamnet.intervals import read_intervals
    from rt_sfamnet.pipeline import Engine, EngineConfig, weights_spotting
    from rt_sfamnet.pipeline.writers import EventWriter, FrameCsvWriter, write_json_atomic
    from rt_sfamnet.sources import make_source
    from rt_sfamnet.spotting import SpottingConfig

    if args.seconds is not None and args.seconds <= 0:
        raise ConfigError(f"--seconds must be > 0, found {args.seconds}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a folder")
    from rt_sfamnet.config import parse_overrides

    spot = parse_overrides(args.spot)
    config_from_mapping(SpottingConfig, spot, "--spot")  # bad keys fail before any work
    gt_override = read_intervals(args.gt) if args.gt else None
    source = make_source(args.source)
    config = EngineConfig(
        frame_skip=args.frame_skip,
        realtime=bool(args.realtime),
        speed=float(args.speed),
        weights=args.weights,
        emotions=args.emotions,
        device=args.device,
        keep_maps=False,
    )
    engine = Engine(source, config)
    values = {} if args.release_spotting else weights_spotting(engine.predictor)
    values.update(spot)
    values.pop("frame_skip", None)  # the engine's schedule decides
    if values:
        engine.spotting_config = config_from_mapping(
            SpottingConfig, {**dataclasses.asdict(engine.spotting_config), **values}, "spotting")
    out.mkdir(parents=True, exist_ok=True)
    engine.start()
    frames = None
    try:  # until the loop's own try: a failure here must still stop the engine
        gt = gt_override if gt_override is not None else engine.ground_truth
        if gt:
            subject, video = gt[0].subject, gt[0].video
        else:
            subject, video = "live", Path(str(args.source)).stem or "stream"
        frames = FrameCsvWriter(out / "frames.csv", engine.class_names)
        events = EventWriter(out / "events.csv", out / "events.json", subject, video, engine.fps)
    except BaseException as exc:
        try:
            if frames is not None:
                frames.close()
        finally:
            engine.stop()
        if isinstance(exc, OSError):
            raise ConfigError(f"--out {out}: cannot write the results ({exc})") from None
        raise
    meta: dict[str, Any] = {"latencies": [], "rows": 0}
    status, error = "interrupted", None
    t_start = time.perf_counter()
    total = None if engine.live else source.frame_count
    bar = None
    if not args.no_progress and not engine.live:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="frame", desc="analyze", file=sys.stderr, leave=False)
    seen_in = 0

    def consume(update: Any) -> None:
        nonlocal seen_in
        frames.add_results(update.results)
        frames.add_curves(update.curves)
        frames.flush()
        events.add(update.intervals)
        meta["rows"] += len(update.results)
        meta["latencies"].extend(r.latency_ms for r in update.results if r.score is not None)
        if bar is not None:
            bar.update(update.stats.frames_in - seen_in)
        seen_in = update.stats.frames_in

    last_summary = time.perf_counter()
    try:
        while True:
            update = engine.poll()
            consume(update)
            if update.error is not None:
                error, status = update.error, "error"
                break
            if update.finished:
                status = "complete"
                break
            if args.seconds is not None and update.stats.frames_in >= args.seconds * engine.fps:
                status = "complete"
                break
            now = time.perf_counter()
            if now - last_summary > 5.0:
                write_json_atomic(out / "summary.json", _summary(
                    engine, meta, events, "running", None, now - t_start, None, args.weights))
                last_summary = now
            time.sleep(0.05)
    finally:
        wall = time.perf_counter() - t_start
        try:
            engine.stop()
            consume(engine.poll())  # results published while stopping
            if error is None and engine.error is not None:
                error, status = engine.error, "error"
        finally:
            if bar is not None:
                bar.close()
            frames.close()
            events.close()
            metrics = None
            if gt:
                try:
                    metrics = _evaluate(gt, events, len(engine.class_names) - 1, args.protocol)
                except Exception as exc:  # noqa: BLE001 - metrics must not lose the summary
                    metrics = {"error": f"{type(exc).__name__}: {exc}"}
            summary = _summary(engine, meta, events, status, error, wall, metrics, args.weights)
            write_json_atomic(out / "summary.json", summary)
    if args.json:
        print(json.dumps(json.loads((out / "summary.json").read_text()), indent=2))
    else:
        print(_human_summary(json.loads((out / "summary.json").read_text()), out))
    if isinstance(error, RtSfamnetError):
        raise error  # the CLI prints it on one line and exits 2
    if error is not None:
        notes = " ".join(getattr(error, "__notes__", []))
        print(
            f"rt-sfamnet analyze: error: the engine stopped: {type(error).__name__}: {error} "
            f"{notes}; the results so far are in {out}",
            file=sys.stderr,
        )
        return 1
    return 0
