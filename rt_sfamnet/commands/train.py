"""``rt-sfamnet train``: leave-one-subject-out training and evaluation from a feature cache."""

from __future__ import annotations

import argparse

from rt_sfamnet.cluster import add_cluster_arguments
from rt_sfamnet.commands import portable_command

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
    parser.add_argument("--init-weights", default=None, metavar="FILE.safetensors",
                        help="start every fold (and --final) from these weights, all layers "
                        "trainable (e.g. the shipped or your CAS(ME)^3 model)")
    parser.add_argument("--release-exact", action="store_true",
                        help="exactly as the authors' release: steps+1 updates, validation "
                        "without GT samples, input scale 1")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="cuda: the fold's whole training set lives on the GPU")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads per fold, also inside Ray workers (default 1)")
    add_cluster_arguments(parser, "folds", "--cache and --out",
                          "writes only those folds' files, no results.json (see --merge)")
    parser.add_argument("--merge", action="store_true",
                        help="pool the finished folds into results.json and plots (no training)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--mae-labels", choices=("none", "rise", "phases"), default="none",
                        help="macro-expression pseudo-labels: none (the release: ME only), rise "
                        "(each MaE's onset..apex samples positive too, with its emotion if known) "
                        "or phases (also the second half of apex..offset)")
    parser.add_argument("--neutral-recognition", choices=("ignore", "uniform"),
                        default="ignore",
                        help="recognition loss on samples without an expression: ignore (the "
                        "release) or uniform (towards equal emotion probabilities, so still "
                        "faces and head motion carry no emotion)")
    parser.add_argument("--tune", action="store_true",
                        help="after the LOSO folds, choose the spotting values by grid search on "
                        "their score curves (rt_sfamnet.tuning: shipped on all subjects, nested "
                        "estimate per held-out subject; RUN/tuning.json) and give the chosen "
                        "values to --final")
    parser.add_argument("--no-loso", action="store_true", help="skip the LOSO folds")
    parser.add_argument("--final", nargs="?", const="", default=None, metavar="PATH",
                        help="also train one model on every subject (default path "
                        "RUN/final.safetensors)")
    parser.add_argument("--plot-videos", type=int, default=4,
                        help="score-curve plots of this many videos with micro-expressions")


def _tune(run_, cfg):
    """Grid search on the run's LOSO curves; a Run whose spotting values are the shipped ones,
    the selection summary for the weights' provenance, and the F1s for the printed line."""
    import dataclasses

    from rt_sfamnet.training import Run
    from rt_sfamnet.tuning import f1_table, selection_summary, tune_run

    meta = run_.meta
    rep = tune_run(run_.out, cfg.spotting, frame_skip=int(meta["frame_skip"]),
                   fps=float(meta.get("fps", 30.0)), emotions=cfg.emotions)
    new = Run(run_.cache, run_.out, dataclasses.replace(cfg, spotting=rep["shipped"]), log=run_.log)
    return new, selection_summary(rep), f1_table(rep["metrics"])


def run(args: argparse.Namespace) -> int:

    from rt_sfamnet.cluster import parse_shard
    from rt_sfamnet.config import config_from_mapping, parse_overrides
    from rt_sfamnet.training import TrainConfig

    spotting = parse_overrides(args.spot)
    cfg = config_from_mapping(TrainConfig, {
        "neg_ratio": args.neg_ratio, "spotting": spotting,
        "emotions": args.emotions, "steps": args.steps, "batch_size": args.batch_size,
        "lr": args.lr, "lam": args.lam, "seed": args.seed, "input_scale": args.input_scale,
        "clip": args.clip,
        "mode": "finetune" if args.finetune_from else "scratch",
        "finetune_from": args.finetune_from, "device": args.device, "threads": args.threads,
        "mae_labels": args.mae_labels, "init_weights": args.init_weights,
        "release_exact": args.release_exact,
        "neutral_recognition": args.neutral_recognition,
    }, "train")
    if args.finetune_from and args.emotions != 7:
        from rt_sfamnet.errors import ConfigError

        raise ConfigError("--finetune-from fine-tunes a 4-class run into 7 classes; "
                          "give --emotions 7")
    if args.finetune_from and args.init_weights:
        from rt_sfamnet.errors import ConfigError

        raise ConfigError("--init-weights and --finetune-from exclude each other")
    shard = parse_shard(args.shard)
    if args.shard and (args.merge or args.final is not None):
        from rt_sfamnet.errors import ConfigError

        raise ConfigError("--shard trains folds only; pool with --merge and train --final in "
                          "a run without --shard")
    from rt_sfamnet.fileio import output_errors
    from rt_sfamnet.signals import interrupt_on_signals

    # every fold file is atomic: a signal stops at once (exit 128 + signal, "interrupted")
    with output_errors("run folder", args.out), interrupt_on_signals():
        return _train(args, cfg, shard)


def _train(args: argparse.Namespace, cfg, shard) -> int:
    import json
    import sys

    from rt_sfamnet.datasets.cache import FeatureCache
    from rt_sfamnet.training import Run

    run_ = Run(FeatureCache(args.cache), args.out, cfg,
               log=lambda m: print(m, file=sys.stderr, flush=True))
    out = {}
    if args.merge:
        summary = run_.merge(args.subjects, plot_videos=args.plot_videos)
    elif not args.no_loso:
        summary = run_.run(args.subjects, plot_videos=args.plot_videos, workers=args.workers,
                           ray_address=args.ray_address, shard=shard,
                           progress=not args.no_progress)
    if shard is not None and not args.no_loso:
        out = {"shard": summary["shard"], "folds": len(summary["folds"])}
    elif args.merge or not args.no_loso:
        p = summary["pooled"]
        out = {"folds": len(summary["folds"]),
               "micro_f1": p["megc"]["micro"]["f1"], "macro_f1": p["megc"]["macro"]["f1"],
               "overall_f1": p["megc"]["overall"]["f1"],
               "uf1": p["recognition"].get("uf1", 0.0), "uar": p["recognition"].get("uar", 0.0),
               "strs": p["megc"].get("analysis", {}).get("strs", 0.0),
               "macro_emotion_accuracy": p["megc"].get("macro_emotion", {}).get("accuracy"),
               "seconds_per_fold": summary["seconds_per_fold"],
               "results": str(run_.out / "results.json")}
    prov: dict = {"command": portable_command(sys.argv)}
    if args.tune:
        run_, prov["spotting_selection"], out["tuned"] = _tune(run_, cfg)
    if args.final is not None:
        out["final"] = str(run_.train_final(args.final or None, prov))
    print(json.dumps(out))
    return 0
