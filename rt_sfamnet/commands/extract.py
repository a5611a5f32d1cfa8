"""``rt-sfamnet extract``: flow maps of every spotting and ground-truth sample into a cache."""

from __future__ import annotations

import argparse
import os
from typing import Any

from rt_sfamnet.cluster import add_cluster_arguments

NAME = "extract"
HELP = "Extract flow features of a CAS(ME)^3-style dataset into a resumable feature cache."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rt_sfamnet.features import FLOW_MODES

    parser.add_argument("--dataset", choices=("casme3", "synthetic", "recordings"),
                        default="casme3",
                        help="dataset kind: casme3 and synthetic use the CAS(ME)^3 part A "
                        "layout; recordings: every .db3/.bag in --root with its "
                        "<stem>.annotations.csv or <stem>.gt.csv (docs/review.md)")
    parser.add_argument("--root", default=None, help="dataset folder (required unless --migrate)")
    parser.add_argument("--annotations", default=None,
                        help="folder of the annotation tables (default: searched under --root)")
    parser.add_argument("--cache", required=True, help="feature cache folder (created/resumed)")
    parser.add_argument("--flow", choices=FLOW_MODES, default="hybrid",
                        help="which flow feeds the three streams (default hybrid: O_u, O_v, S_w)")
    parser.add_argument("--float16", action="store_true", help="store maps as float16")
    parser.add_argument("--frame-skip", type=int, default=2, help="frames between samples (2)")
    parser.add_argument("--k-sw", type=int, default=None,
                        help="flow window in frames (default round(0.2 x fps) = 6)")
    parser.add_argument("--subjects", nargs="+", default=None,
                        help="only these subjects (spNO.<n> or numbers)")
    parser.add_argument("--batch", type=int, default=32, help="pairs per flow batch (32)")
    parser.add_argument("--tvl1-preset", default=None,
                        help="FeatureConfig.tvl1_preset (default: the feature stage's default)")
    parser.add_argument("--registration", choices=("none", "landmarks"), default="none",
                        help="head-motion compensation before the flow (FeatureConfig."
                        "registration; default none, the release)")
    parser.add_argument("--skip-broken", action="store_true",
                        help="leave out videos with missing or damaged frames instead of "
                        "stopping (listed under \"broken\" in the printed summary)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_cluster_arguments(parser, "videos", "--root and --cache",
                          "shards can write one cache at the same time")
    parser.add_argument("--migrate", action="store_true",
                        help="convert an older cache (--cache) to the current format and exit")


def run(args: argparse.Namespace) -> int:
    import json

    from rt_sfamnet.cluster import parse_shard
    from rt_sfamnet.datasets.cache import FeatureCache, migrate
    from rt_sfamnet.datasets.casme3 import Dataset, load_dataset, restrict
    from rt_sfamnet.datasets.extract import ExtractConfig, extract_dataset
    from rt_sfamnet.errors import RtSfamnetError

    if args.migrate:
        print(json.dumps(migrate(args.cache)))
        return 0
    if not args.root:
        from rt_sfamnet.errors import ConfigError

        raise ConfigError("extract needs --root DIR (the dataset folder)")
    shard = parse_shard(args.shard)
    if args.dataset == "recordings":
        from rt_sfamnet.datasets.recordings import load_recordings

        ds = load_recordings(args.root)
    else:
        ds = load_dataset(args.root, args.annotations, name=args.dataset)
    ds = restrict(ds, args.subjects)
    broken: dict[str, str] = {}
    if args.skip_broken:
        for v in ds.videos:
            if v.problems():
                broken[f"{v.subject}/{v.video}"] = "; ".join(v.problems())
                print(f"skipping {v.subject}/{v.video}: {broken[f'{v.subject}/{v.video}']}")
        ds = Dataset(ds.root, [v for v in ds.videos if not v.problems()], ds.annotations, [],
                     ds.intrinsics, ds.name)
    features = {}
    if args.tvl1_preset:
        features["tvl1_preset"] = args.tvl1_preset
    if args.registration != "none":
        features["registration"] = args.registration
    cfg = ExtractConfig(flow=args.flow, frame_skip=args.frame_skip, k_sw=args.k_sw,
                        float16=args.float16, batch=args.batch, features=features)
    from rt_sfamnet.fileio import output_errors
    from rt_sfamnet.signals import interrupt_on_signals

    # every cached video is atomic: a signal stops at once (exit 128 + signal, "interrupted")
    with output_errors("feature cache", args.cache), interrupt_on_signals():
        while True:
            try:
                summary = extract_dataset(ds, FeatureCache(args.cache), cfg,
                                          show_progress=not args.no_progress, shard=shard,
                                          workers=args.workers, ray_address=args.ray_address)
                break
            except RtSfamnetError as exc:
                video = failed_video(exc, ds.videos) if args.skip_broken else None
                if video is None:
                    raise
                # the cache keeps the videos finished so far: the next pass skips them
                broken[f"{video.subject}/{video.video}"] = str(exc)
                print(f"skipping {video.subject}/{video.video}: {exc}")
                ds = Dataset(ds.root, [v for v in ds.videos if v is not video], ds.annotations,
                             [], ds.intrinsics, ds.name)
    if args.skip_broken:
        summary["broken"] = broken
    print(json.dumps(summary))
    return 0


def failed_video(exc: Exception, videos: list) -> Any:
    """The video whose files an error names (its recording, or a frame in its folders), or
    None: errors of damaged input name their file (:mod:`rt_sfamnet.images`,
    :mod:`rt_sfamnet.sources.realsense.damage`)."""
    text = str(exc)
    for v in videos:
        places = [getattr(v, "path", None), getattr(v, "color_dir", None),
                  getattr(v, "depth_dir", None)]
        if any(p is not None and (f"{p}{os.sep}" in text or f"{p}:" in text) for p in places):
            return v
    return None
