"""``rt-sfamnet simulate``: a simulated RealSense recording or a synthetic dataset.

Examples::

    rt-sfamnet simulate --out sim.db3 --seconds 30 --seed 3 --identity 2
    rt-sfamnet simulate --out demo.db3 --recipe recordings/demo_recipe.toml
    rt-sfamnet simulate --dataset --subjects 8 --seed 0 --out data/synthetic
"""

from __future__ import annotations

import argparse

NAME = "simulate"
HELP = "write a simulated RGB-D recording (.db3) or a synthetic CAS(ME)^3-style dataset"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True,
                   help="output .db3 file, or the dataset folder with --dataset")
    p.add_argument("--dataset", action="store_true",
                   help="write a dataset in the CAS(ME)^3 part A layout instead of a recording")
    p.add_argument("--seconds", type=float, default=None,
                   help="length of the recording / of each dataset video (default 20)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--identity", default=None,
                   help="face: index 0-9 or name (default: from the seed; recordings only)")
    p.add_argument("--recipe", default=None, help="recipe TOML with the expression script")
    p.add_argument("--width", type=int, default=640, help="frame width (default 640)")
    p.add_argument("--height", type=int, default=480, help="frame height (default 480)")
    p.add_argument("--fps", type=float, default=30.0, help="frame rate (default 30)")
    p.add_argument("--subjects", type=int, default=8, help="dataset subjects (default 8)")
    p.add_argument("--videos", type=int, default=3, help="videos per subject (default 3)")
    p.add_argument("--workers", type=int, default=None,
                   help="processes writing dataset videos (default: CPU count, at most 4)")
    p.add_argument("--nuisance", action="store_true",
                   help="dataset: realistic videos with unlabelled head moves, talking, a hand "
                        "over the face, lighting drift, noise and compression, and a new "
                        "procedural identity per subject")
    p.add_argument("--micro-fraction", type=float, default=0.6,
                   help="dataset: share of micro-expressions among the scripted expressions "
                        "(default 0.6; the rest are macro-expressions)")


def run(args: argparse.Namespace) -> int:
    from rt_sfamnet.fileio import output_errors
    from rt_sfamnet.signals import interrupt_on_signals

    # every file is written under a temporary name and renamed when complete: a full disk or
    # a signal stops at once and leaves nothing behind
    what = "simulated dataset" if args.dataset else "simulated recording"
    with output_errors(what, args.out), interrupt_on_signals():
        return _simulate(args)


def _simulate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rt_sfamnet.errors import ConfigError

    seconds = 20.0 if args.seconds is None else args.seconds
    if seconds <= 0:
        raise ConfigError(f"--seconds must be positive, found {seconds}")
    if args.dataset:
        if args.recipe is not None:
            raise ConfigError("--recipe applies to recordings, not to --dataset")
        if not 0.0 <= args.micro_fraction <= 1.0:
            raise ConfigError(f"--micro-fraction must be between 0 and 1, found {args.micro_fraction}")
        from rt_sfamnet.sim.dataset import write_dataset

        out = Path(args.out)
        before = set(out.rglob("*")) if out.is_dir() else None
        try:
            intervals = write_dataset(out, args.subjects, args.seed,
                                      videos_per_subject=args.videos, seconds=seconds,
                                      width=args.width, height=args.height, fps=args.fps,
                                      workers=args.workers, progress=True,
                                      nuisance=args.nuisance,
                                      micro_fraction=args.micro_fraction)
        except BaseException:  # a full disk, a signal: nothing half-written stays behind
            _remove_new(out, before)
            raise
        micro = sum(iv.type == "micro" for iv in intervals)
        print(f"wrote {args.subjects} subjects x {args.videos} videos to {args.out}: "
              f"{micro} micro- and {len(intervals) - micro} macro-expressions")
        return 0
    from rt_sfamnet.sim.demo import write_sim_recording
    from rt_sfamnet.sources.realsense import ground_truth_path

    identity = args.identity
    if identity is not None and identity.strip().lstrip("-").isdigit():
        identity = int(identity)
    if identity is not None:
        from rt_sfamnet.sim.faces import identity as lookup

        try:
            lookup(identity)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    n = write_sim_recording(Path(args.out), args.recipe, seed=args.seed, identity=identity,
                            seconds=seconds, width=args.width, height=args.height, fps=args.fps)
    print(f"wrote {n} frames to {args.out} (ground truth: {ground_truth_path(args.out)})")
    return 0


def _remove_new(out, before) -> None:
    """Remove what was created under ``out`` since ``before`` (its paths then; None: ``out``
    did not exist, so all of it)."""
    import contextlib
    import shutil

    if before is None:
        shutil.rmtree(out, ignore_errors=True)
        return
    for p in sorted(set(out.rglob("*")) - before, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            p.rmdir() if p.is_dir() and not p.is_symlink() else p.unlink()
