"""Benchmark: what the analysis says about real faces, segment by segment.

Runs the headless analysis (``rt_sfamnet.analyze``: the source's own timing, the weights
chosen for the source, their spotting values) on real clips and reports, per labelled
segment (:mod:`rt_sfamnet.realfaces`): score saturation (the fraction of samples above 0.3,
0.5, 0.7, 0.9), the highest raw score and the pair of frames that gave it, the events and their emotions, the mean emotion
probabilities and the samples without a face; then the checks a sensible analysis of a
real face must pass (still: every score below the micro threshold; a smile: positive has
the highest mean probability; no face: nothing spotted, every sample a ``no_face`` gap).

By default it reads the clips of ``../shared/real-faces/`` (beside the checkout; never
copied into the repository) with that folder's ``segments.csv``; any other clip works with
a segments file of the same columns (``video, start, end, what``; 0-based inclusive frames;
``video`` = the clip's file stem).

Usage::

    python benchmarks/real_faces.py [--clip FILE --segments FILE]... [--weights FILE]
                                    [--frame-skip N] [--zero-depth-experiment]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SHARED = REPO.parent / "shared" / "real-faces"


def _clips(args: argparse.Namespace) -> list[tuple[Path, Path]]:
    if args.clip:
        if not args.segments or len(args.segments) != len(args.clip):
            sys.exit("give one --segments FILE per --clip FILE")
        return [(Path(c), Path(s)) for c, s in zip(args.clip, args.segments, strict=True)]
    if not SHARED.is_dir():
        sys.exit(f"no clips given and {SHARED} is missing")
    seg = SHARED / "segments.csv"
    return [(p, seg) for p in sorted(SHARED.iterdir())
            if p.suffix.lower() in (".mp4", ".mov", ".avi", ".mkv", ".webm")]


def run_clip(clip: Path, segments_file: Path, weights: str | None,
             frame_skip: int | None, zero_depth: bool = False) -> dict:
    import rt_sfamnet
    from rt_sfamnet.realfaces import micro_threshold, read_segments, segment_checks, segment_report

    segs = [s for s in read_segments(segments_file) if s.video == clip.stem]
    t0 = time.perf_counter()
    res = rt_sfamnet.analyze(str(clip), weights=weights, frame_skip=frame_skip,
                             progress=False, zero_depth_experiment=zero_depth)
    wall = time.perf_counter() - t0
    summ = res.summary
    k_sw = int(summ["k_sw"])
    micro_thr = micro_threshold(summ)  # the loaded weights', resolved
    emos = tuple(c for c in summ["class_names"] if c != "neutral")
    reports = []
    for seg in segs:
        rep = segment_report(res.frames, res.events, seg, k_sw, emos)
        rep["checks"] = segment_checks(rep, micro_thr)
        reports.append(rep)
    return {
        "clip": clip.name, "wall_s": round(wall, 1), "duration_s": summ.get("duration_s"),
        "weights": summ.get("weights"), "input": summ.get("input"),
        "training_data": summ.get("training_data"), "micro_threshold": micro_thr,
        "k_sw": k_sw, "events": res.events[["onset", "offset", "type", "emotion"]]
        .to_dict("records") if len(res.events) else [],
        "segments": reports,
        "all_checks_pass": all(v for r in reports for v in r["checks"].values()),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clip", action="append", help="a video file (repeat with --segments)")
    p.add_argument("--segments", action="append", help="its segments CSV")
    p.add_argument("--weights", default=None, help="weights file (default: chosen for the source)")
    p.add_argument("--frame-skip", type=int, default=None)
    p.add_argument("--zero-depth-experiment", action="store_true",
                   help="allow depth-trained weights on these RGB-only clips (w = 0; labelled)")
    args = p.parse_args(argv)
    out = {"machine": {"platform": platform.platform(), "python": platform.python_version()},
           "clips": [run_clip(c, s, args.weights, args.frame_skip, args.zero_depth_experiment)
                     for c, s in _clips(args)]}
    print(json.dumps(out, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
