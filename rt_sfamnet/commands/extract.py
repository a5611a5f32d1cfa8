"""``rt-sfamnet extract``: flow maps of every spotting and ground-truth sample into a cache."""

from __future__ import annotations

import argparse

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
                        help="leave out videos with missing frames instead of stopping")
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
    if args.skip_broken:
        broken = [v for v in ds.videos if v.problems()]
        for v in broken:
            print(f"skipping {v.subject}/{v.video}: {'; '.join(v.problems())}")
        ds = Dataset(ds.root, [v for v in ds.videos if not v.problems()], ds.annotations, [],
                     ds.intrinsics, ds.name)
    features = {}
    if args.tvl1_preset:
        features["tvl1_preset"] = args.tvl1_preset
    if args.registration != "none":
        features["registration"] = args.registration
    cfg = ExtractConfig(flow=args.flow, frame_skip=args.frame_skip, k_sw=args.k_sw,
                        float16=args.float16, batch=args.batch, features=features)
    summary = extract_dataset(ds, FeatureCache(args.cache), cfg,
                              show_progress=not args.no_progress, shard=shard,
                              workers=args.workers, ray_address=args.ray_address)
    print(json.dumps(summary))
    return 0
