"""``rt-sfamnet train``: leave-one-subject-out training and evaluation from a feature cache."""

from __future__ import annotations

import argparse

NAME = "train"
HELP = "Train and evaluate SFAMNet leave-one-subject-out from a feature cache (resumable)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache", required=True, help="feature cache made by `extract`")
    parser.add_argument("--emotions", type=int, choices=(4, 7), default=4)
    parser.add_argument("--out", required=True, help="run folder (created/resumed)")
    parser.add_argument("--subjects", nargs="+", default=None,
                        help="only these LOSO folds (spNO.<n> or numbers)")
    parser.add_argument("--steps", type=int, default=1000, help="optimiser steps per fold")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--lam", type=float, default=0.9, help="weight of the spotting loss")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--input-scale", type=float, default=None,
                        help="multiply the cached maps by this (default: 1/std of the cache)")
    parser.add_argument("--neg-ratio", type=float, default=1.0,
                        help="negatives kept per positive/GT sample (release: 1)")
    parser.add_argument("--spot", action="append", default=[], metavar="KEY=VALUE",
                        help="SpottingConfig override for the evaluation (repeatable), e.g. "
                        "--spot k_micro=2")
    parser.add_argument("--clip", type=float, default=None,
                        help="clamp the scaled maps to [-CLIP, CLIP] (recorded in the weights)")
    parser.add_argument("--finetune-from", default=None, metavar="RUN4",
                        help="7 classes: fine-tune the 4-class run's fold models with the "
                        "shared and spotting layers frozen (paper); default: from scratch")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: fastest for this small network)")
    parser.add_argument("--no-loso", action="store_true", help="skip the LOSO folds")
    parser.add_argument("--final", nargs="?", const="", default=None, metavar="PATH",
                        help="also train one model on every subject (default path "
                        "RUN/final.safetensors)")
    parser.add_argument("--plot-videos", type=int, default=4,
                        help="score-curve plots of this many videos with micro-expressions")


def _portable_command(argv: list[str]) -> str:
    """The command line with absolute paths cut to their last component (no machine paths
    in weights files that may be shared)."""
    import os
    from pathlib import Path

    return "rt-sfamnet " + " ".join(Path(a).name if os.path.isabs(a) else a for a in argv[1:])


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from rt_sfamnet.config import config_from_mapping, parse_overrides
    from rt_sfamnet.datasets.cache import FeatureCache
    from rt_sfamnet.training import Run, TrainConfig

    spotting = parse_overrides(args.spot)
    cfg = config_from_mapping(TrainConfig, {
        "neg_ratio": args.neg_ratio, "spotting": spotting,
        "emotions": args.emotions, "steps": args.steps, "batch_size": args.batch_size,
        "lr": args.lr, "lam": args.lam, "seed": args.seed, "input_scale": args.input_scale,
        "clip": args.clip,
        "mode": "finetune" if args.finetune_from else "scratch",
        "finetune_from": args.finetune_from, "device": args.device, "threads": args.threads,
    }, "train")
    if args.finetune_from and args.emotions != 7:
        from rt_sfamnet.errors import ConfigError

        raise ConfigError("--finetune-from fine-tunes a 4-class run into 7 classes; "
                          "give --emotions 7")
    run_ = Run(FeatureCache(args.cache), args.out, cfg,
               log=lambda m: print(m, file=sys.stderr, flush=True))
    out = {}
    if not args.no_loso:
        summary = run_.run(args.subjects, plot_videos=args.plot_videos)
        p = summary["pooled"]
        out = {"folds": len(summary["folds"]),
               "micro_f1": p["megc"]["micro"]["f1"], "macro_f1": p["megc"]["macro"]["f1"],
               "overall_f1": p["megc"]["overall"]["f1"],
               "uf1": p["recognition"].get("uf1", 0.0), "uar": p["recognition"].get("uar", 0.0),
               "strs": p["megc"].get("analysis", {}).get("strs", 0.0),
               "seconds_per_fold": summary["seconds_per_fold"],
               "results": str(run_.out / "results.json")}
    if args.final is not None:
        out["final"] = str(run_.train_final(args.final or None,
                                            {"command": _portable_command(sys.argv)}))
    print(json.dumps(out))
    return 0
