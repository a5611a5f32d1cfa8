"""``rt-sfamnet analyze SOURCE --out DIR``: headless real-time analysis.

Runs the real-time engine (:mod:`rt_sfamnet.pipeline`) on a camera, a webcam, a recording,
a video file, a frame folder or the simulator and writes, into ``DIR`` (into ``DIR/<source stem>/`` for each of
several sources; a source that cannot be read is reported and the others go on, exit 2):

- ``frames.csv`` — one row per analysed frame: ``frame, timestamp, input, face_found,
  face_x0, face_y0, face_size, depth_ok, gap, score, micro_smoothed, macro_smoothed,
  prob_<class>..., argmax_class, latency_ms`` (defined, with units, in
  :data:`rt_sfamnet.pipeline.results.FRAME_COLUMNS`);
- ``events.csv`` — spotted intervals in the interval-file format (``subject, video, onset,
  apex, offset, type, emotion``) plus ``start_s, end_s, confidence`` (usable as ``--pred``
  of ``rt-sfamnet evaluate``); ``events.json`` — the same as a list of objects;
- ``summary.json`` — ``frames_in, frames_analyzed, frames_dropped, input_fps,
  analyzed_per_s, latency_ms_p50, latency_ms_p95, backend, events``, what the network was
  fed and trained on (``depth``, ``input``, ``training_data``, ``zero_depth_experiment``,
  ``warnings``: :func:`rt_sfamnet.pipeline.inputs.run_labels`) and more; with ground
  truth (the source's own, e.g. a simulated recording's ``.gt.csv``, or ``--gt``) also the
  MEGC spotting and analysis metrics of :func:`rt_sfamnet.metrics.evaluate_intervals`.

Every file is written as results arrive and flushed; ``summary.json`` and ``events.json``
are finalised when the run ends for any reason (end of file, Ctrl-C, SIGTERM or SIGHUP,
camera unplugged), so an interrupted run leaves complete, valid files with ``"status":
"interrupted"`` (exit status 128 + the signal) or ``"error"``. ``DIR`` is locked while a run
writes it, and a previous run's files are removed first (:mod:`rt_sfamnet.pipeline.outdir`).

The options become :class:`~rt_sfamnet.pipeline.analysis.AnalysisOptions`, which
:func:`rt_sfamnet.analyze` builds from its keywords of the same names.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

NAME = "analyze"
HELP = ("analyse a camera, webcam, recording, video, frame folder or simulation headless: "
        "per-frame CSV, events, summary JSON")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rt_sfamnet.features import FLOW_MODES

    parser.add_argument("source", nargs="+", help="'camera', 'webcam[:N|:/dev/videoN]', "
                        "'sim[:seed=..,duration=..]', a .bag/.db3 recording, a video file "
                        "(.mp4 .mov .avi .mkv .webm) or a frame folder; several: each one's "
                        "results go to OUT/<source stem>/")
    parser.add_argument("--fps", type=float, default=None,
                        help="frame rate of a frame folder (default 30; CASME II and SAMM 200, "
                        "SMIC-HS 100, MMEW 90); videos, webcams and recordings keep their own "
                        "timestamps")
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
    parser.add_argument("--flow-mode", choices=FLOW_MODES, default=None,
                        help="flow features fed to the network (default: what the weights were "
                        "trained with; 'optical' without --weights picks the optical-flow "
                        "weights, as a source without depth does)")
    parser.add_argument("--gt", default=None, help="ground-truth interval CSV or a review's "
                        ".annotations.csv (its accepted, added and edited rows only, as in "
                        "`evaluate --gt`); overrides the source's own ground truth; scored on "
                        "the analysed frames only")
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
    parser.add_argument("--zero-depth-experiment", action="store_true",
                        help="allow depth-trained weights (or a depth flow mode) on a source "
                        "without depth, feeding w = 0; recorded in summary.json as an "
                        "experiment (refused otherwise)")
    parser.add_argument("--release-spotting", action="store_true",
                        help="start from the release's spotting values instead of the ones the "
                        "weights were evaluated with (recorded by `rt-sfamnet train`)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--seconds", type=float, default=None,
                        help="stop after this many seconds of input (e.g. for the camera)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--record", default=None, metavar="FILE.db3",
                        help="also record the source's frames to this .db3 file while "
                        "analysing (e.g. `analyze camera --record session.db3`); an existing "
                        "file is refused unless --overwrite; the source itself always")
    parser.add_argument("--overwrite", action="store_true",
                        help="let --record replace an existing file (never the source itself)")
    parser.add_argument("--attention", action="store_true",
                        help="also write OUT/attention/event_NNN.png: each event's face at "
                        "onset, apex and offset, its input maps and attention at the apex")
    parser.add_argument("--report", action="store_true",
                        help="also write OUT/report.html (as `rt-sfamnet report OUT`)")
    parser.add_argument("--camera", action="append", default=[], metavar="KEY=VALUE",
                        help="a camera control for a camera source: exposure, auto_exposure, "
                        "laser_power, emitter, visual_preset, color_exposure, "
                        "color_auto_exposure, color_gain; repeatable")


def options(args: argparse.Namespace) -> Any:
    """The :class:`~rt_sfamnet.pipeline.analysis.AnalysisOptions` of these arguments (bad
    ``--spot`` keys and values fail here, before any work)."""
    from rt_sfamnet.pipeline.analysis import AnalysisOptions

    return AnalysisOptions.from_args(args)


def engine_config(args: argparse.Namespace) -> Any:
    """The :class:`~rt_sfamnet.pipeline.EngineConfig` of these arguments (settings are
    resolved against the weights by the engine, once)."""
    return options(args).engine_config()


def _folder_name(spec: str) -> str:
    """A source's results folder under ``--out``: its file stem (``sim:seed=3`` -> ``sim_seed_3``)."""
    stem = Path(spec.rstrip("/")).stem or "stream"
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)


def _targets(sources: list[str], out: Path, opts: Any) -> list[tuple[str, Path]]:
    """(source, output folder) pairs: ``out`` itself for one source, ``out/<stem>`` for
    several (two sources with one stem are refused before any work)."""
    from rt_sfamnet.errors import ConfigError, OutputError

    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} exists and is not a folder")
    if len(sources) == 1:
        if opts.record:  # before any work: never the source, no silent loss
            from rt_sfamnet.sources.realsense.tee import check_record_target

            check_record_target(opts.record, sources[0], bool(opts.overwrite))
        return [(sources[0], out)]
    if opts.gt_video:
        raise ConfigError("--gt-video names one video: it cannot be used with several sources")
    if opts.record:
        raise ConfigError("--record writes one file: it cannot be used with several sources")
    seen: dict[str, str] = {}
    for src in sources:
        name = _folder_name(src)
        if name in seen:
            raise ConfigError(f"sources {seen[name]!r} and {src!r} would both write "
                              f"{out / name}: give them different file names")
        seen[name] = src
    return [(src, out / _folder_name(src)) for src in sources]


def _analyze_one(opts: Any, source: str, out: Path, stop: Any, quiet: bool) -> Any:
    """One source into ``out``; returns the runner's result and the written summary."""
    from rt_sfamnet.pipeline.analysis import run_analysis

    result, written = run_analysis(source, out, opts, stop)
    for warning in written.get("warnings") or []:
        print(f"rt-sfamnet analyze: warning: {source}: {warning}", file=sys.stderr)
    rec = written.get("recording")
    if rec is not None and not quiet:
        print(f"recorded {rec['frames']} frames to {opts.record}"
              + (f" ({rec['dropped']} dropped: the writer was behind)" if rec["dropped"]
                 else ""))
    return result, written


def _evidence(out: Path, report: bool, quiet: bool) -> None:
    """``--attention`` / ``--report``: the per-event PNGs and the HTML report of ``out``."""
    from rt_sfamnet.report.html import build_report, write_attention

    if report:  # the report writes the PNGs it links to
        path = build_report(out)
    else:
        pngs, problem = write_attention(out)
        path = f"{len(pngs)} event figures in {out / 'attention'}" + (f" ({problem})" if problem else "")
    if not quiet:
        print(f"wrote {path}")


def run(args: argparse.Namespace) -> int:
    return run_sources([str(s) for s in args.source], Path(args.out), options(args),
                       json_out=bool(args.json), attention=bool(getattr(args, "attention", False)),
                       report=bool(getattr(args, "report", False)))


def run_sources(sources: list[str], out: Path, opts: Any, json_out: bool = False,
                attention: bool = False, report: bool = False) -> int:
    """Analyse ``sources`` with :class:`~rt_sfamnet.pipeline.analysis.AnalysisOptions`
    ``opts`` into ``out`` (``out/<stem>/`` each for several), print the summaries; returns
    the exit status (0, 1 or 2; errors of one source raise). ``attention``/``report``: also
    each folder's event PNGs / HTML report (:mod:`rt_sfamnet.report`)."""
    import threading

    from rt_sfamnet.errors import RtSfamnetError
    from rt_sfamnet.pipeline.runner import human_summary
    from rt_sfamnet.signals import Interrupted, stop_on_signals

    targets = _targets(sources, out, opts)
    several = len(targets) > 1
    stop = threading.Event()
    status, summaries = 0, []
    with stop_on_signals(stop) as got:  # SIGTERM/SIGHUP/Ctrl-C end the run like its end
        for source, out in targets:
            if stop.is_set():
                break
            try:
                result, written = _analyze_one(opts, source, out, stop, json_out)
            except RtSfamnetError as exc:
                if not several:
                    raise
                print(f"rt-sfamnet analyze: error: {source}: {exc}", file=sys.stderr)
                status = max(status, 2)
                continue
            summaries.append(written)
            if not json_out:
                print(human_summary(written, out))
            if result.error is None and "signum" not in got and (attention or report):
                _evidence(out, report, json_out)
            error = result.error
            if "signum" in got and error is None:
                break
            if isinstance(error, RtSfamnetError) and not several:
                raise error  # the CLI prints it on one line and exits 2
            if error is not None:
                notes = " ".join(getattr(error, "__notes__", []))
                print(f"rt-sfamnet analyze: error: {source}: the engine stopped: "
                      f"{type(error).__name__}: {error} {notes}; the results so far are in "
                      f"{out}", file=sys.stderr)
                status = max(status, 2 if isinstance(error, RtSfamnetError) else 1)
    if json_out:
        print(json.dumps(summaries if several else summaries[0], indent=2))
    if "signum" in got and status == 0:
        raise Interrupted(got["signum"])  # the CLI exits with 128 + the signal
    return status
