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
are finalised when the run ends for any reason (end of file, Ctrl-C, SIGTERM or SIGHUP,
camera unplugged), so an interrupted run leaves complete, valid files with ``"status":
"interrupted"`` (exit status 128 + the signal) or ``"error"``. ``DIR`` is locked while a run
writes it, and a previous run's files are removed first (:mod:`rt_sfamnet.pipeline.outdir`).
"""

from __future__ import annotations

import argparse
import json
import sys
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
                        "source's own ground truth); scored on the analysed frames only")
    parser.add_argument("--gt-video", default=None, metavar="[SUBJECT/]VIDEO",
                        help="the video of a --gt file with several videos (default: the one "
                        "named like the source)")
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


def engine_config(args: argparse.Namespace, keep_maps: bool = False) -> Any:
    """The :class:`~rt_sfamnet.pipeline.EngineConfig` of these arguments (settings are
    resolved against the weights by the engine, once)."""
    from rt_sfamnet.config import parse_overrides
    from rt_sfamnet.pipeline import EngineConfig

    return EngineConfig(
        frame_skip=args.frame_skip,
        realtime=bool(args.realtime),
        speed=float(args.speed),
        weights=args.weights,
        emotions=args.emotions,
        device=args.device,
        keep_maps=keep_maps,
        spotting=parse_overrides(args.spot),  # bad keys fail here, before any work
        weights_spotting=not args.release_spotting,
    )


def run(args: argparse.Namespace) -> int:
    import threading

    from rt_sfamnet.errors import OutputError, RtSfamnetError
    from rt_sfamnet.intervals import read_intervals
    from rt_sfamnet.pipeline import Engine
    from rt_sfamnet.pipeline.runner import RunOptions, human_summary, run_headless
    from rt_sfamnet.signals import Interrupted, stop_on_signals
    from rt_sfamnet.sources import make_source

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} exists and is not a folder")
    stop = threading.Event()
    opts = RunOptions(out=out, seconds=args.seconds, protocol=args.protocol,
                      progress=not (args.no_progress or getattr(args, "quiet", False)), weights=args.weights,
                      gt=read_intervals(args.gt) if args.gt else None,
                      video=Path(str(args.source)).stem or "stream", gt_video=args.gt_video,
                      stop=stop)
    config = engine_config(args)
    with stop_on_signals(stop) as got:  # SIGTERM/SIGHUP/Ctrl-C end the run like its end
        engine = Engine(make_source(args.source), config)
        result = run_headless(engine, opts)
    written = json.loads((out / "summary.json").read_text())  # JSON-safe (NaN -> null)
    if args.json:
        print(json.dumps(written, indent=2))
    else:
        print(human_summary(written, out))
    error = result.error
    if "signum" in got and error is None:
        raise Interrupted(got["signum"])  # the CLI exits with 128 + the signal
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
