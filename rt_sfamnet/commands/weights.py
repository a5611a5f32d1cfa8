"""``rt-sfamnet weights``: convert official checkpoints and show what a weights file holds."""

from __future__ import annotations

import argparse
import json

NAME = "weights"
HELP = "convert an official SFAMNet checkpoint (.pkl) to .safetensors, or show a weights file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="weights_command", metavar="ACTION")
    imp = sub.add_parser(
        "import",
        help="convert an official checkpoint (loaded with weights_only=True) to .safetensors",
    )
    imp.add_argument("pkl", metavar="FILE.pkl", help="official checkpoint (e.g. 4emo/subject_1.pkl)")
    imp.add_argument("--emotions", type=int, choices=(4, 7), required=True,
                     help="4 or 7 emotion classes; checked against the checkpoint")
    imp.add_argument("--out", required=True, metavar="FILE.safetensors", help="output file")
    info = sub.add_parser("info", help="print the metadata of a weights file (.safetensors or .pkl)")
    info.add_argument("path", metavar="FILE")
    info.add_argument("--emotions", type=int, choices=(4, 7), default=None)


def run(args: argparse.Namespace) -> int:
    from rt_sfamnet.model import count_parameters
    from rt_sfamnet.weights import import_official, load_weights

    action = getattr(args, "weights_command", None)
    if action == "import":
        from rt_sfamnet.fileio import check_writable_file

        check_writable_file(args.out, "weights file")  # before any work
        meta = import_official(args.pkl, args.out, args.emotions)
        print(f"wrote {args.out}: SFAMNet({meta.emotions} emotions) from {args.pkl}")
        return 0
    if action == "info":
        model, meta = load_weights(args.path, emotions=args.emotions)
        d = json.loads(meta.to_json())
        d["parameters"] = count_parameters(model)
        print(json.dumps(d, indent=2, sort_keys=True))
        return 0
    print("rt-sfamnet weights: choose an action: import or info (see --help)")
    return 1
