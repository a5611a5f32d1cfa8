"""``rt-sfamnet dataset stats``: counts of a CAS(ME)^3-style dataset or its annotation files."""

from __future__ import annotations

import argparse

NAME = "dataset"
HELP = "Dataset tools: `dataset stats` counts subjects, videos, micro/macro and emotions."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)
    p = sub.add_parser("stats", help="subjects, videos, micro/macro counts, emotion counts",
                       description="Counts of a dataset (videos found on disk) or of its "
                       "annotation tables alone.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--root", help="dataset folder (frame folders + annotation tables)")
    src.add_argument("--annotations", help="folder with the two annotation tables "
                     "(.xls/.xlsx as distributed)")
    p.add_argument("--annotations-dir", dest="annotations_dir", default=None,
                   help="with --root: where the annotation tables are (default: searched "
                   "under the root)")
    p.add_argument("--dataset", choices=("casme3", "recordings"), default="casme3",
                   help="with --root: recordings = every .db3/.bag in the folder with its "
                   "<stem>.annotations.csv or <stem>.gt.csv (counts recordings, intervals, "
                   "emotions)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _print_table(st: dict, problems: list[str]) -> None:
    print(f"subjects  {st['subjects']}")
    print(f"videos    {st['videos']}")
    if "frames" in st:
        print(f"frames    {st['frames']}")
    print(f"micro     {st['micro']}")
    print(f"macro     {st['macro']}")
    for key in ("emotions7", "emotions4"):
        print(f"{key}: " + ", ".join(f"{k} {v}" for k, v in st[key].items()))
    if problems:
        print(f"{len(problems)} problem(s):")
        for p in problems[:20]:
            print(f"  {p}")
        if len(problems) > 20:
            print(f"  ... and {len(problems) - 20} more")


def run(args: argparse.Namespace) -> int:
    import json

    from rt_sfamnet.datasets.casme3 import load_dataset, read_annotations

    problems: list[str] = []
    if args.dataset == "recordings" and args.root:
        from rt_sfamnet.datasets.recordings import format_stats, load_recordings, recordings_stats

        st = recordings_stats(load_recordings(args.root))
        print(json.dumps(st, indent=2) if args.json else format_stats(st))
        return 0
    if args.annotations:
        ann = read_annotations(args.annotations)
        st = ann.stats()
        problems = [f"{iv.subject}/{iv.video} {iv.onset + 1}-{iv.offset + 1}: micro-expression "
                    f"without an emotion label" for iv in ann.unlabelled_micro]
    else:
        ds = load_dataset(args.root, args.annotations_dir)
        st = ds.stats()
        problems = ds.problems()
        st["problems"] = len(problems)
    if args.json:
        print(json.dumps(st, indent=2))
    else:
        _print_table(st, problems)
    return 0
