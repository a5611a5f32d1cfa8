"""``rt-sfamnet weights``: convert official checkpoints, show what a weights file holds, and
join LOSO runs of different seeds into an ensemble (:mod:`rt_sfamnet.training.ensemble`)."""

from __future__ import annotations

import argparse
import json
import sys

NAME = "weights"
HELP = ("convert an official SFAMNet checkpoint (.pkl) to .safetensors, show a weights file, "
        "or join training runs of different seeds into an ensemble")


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
    ens = sub.add_parser(
        "ensemble",
        help="join LOSO runs of one recipe with different --seed: the ensemble's LOSO curves "
             "and metrics, its spotting values (--tune) and its final weights",
    )
    ens.add_argument("runs", nargs="+", metavar="RUN", help="finished `rt-sfamnet train` folders")
    ens.add_argument("--out", required=True, metavar="DIR", help="the ensemble's folder")
    ens.add_argument("--cache", default=None,
                     help="the runs' feature cache (default: the path they recorded)")
    ens.add_argument("--tune", action="store_true",
                     help="choose the ensemble's spotting values on its LOSO curves "
                          "(DIR/tuning.json, with the nested estimate)")
    ens.add_argument("--spot", action="append", default=[], metavar="KEY=VALUE",
                     help="spotting value over the runs' own (repeatable), e.g. "
                          "--spot emotion_rule=weighted; --tune searches over them")


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
        d["networks"] = len(getattr(model, "members", [model]))
        print(json.dumps(d, indent=2, sort_keys=True))
        return 0
    if action == "ensemble":
        from rt_sfamnet.commands import portable_command
        from rt_sfamnet.config import parse_overrides
        from rt_sfamnet.training.ensemble import build

        summary = build(args.runs, args.out, cache=args.cache, tune=args.tune,
                        command=portable_command(sys.argv), log=print,
                        spotting=parse_overrides(args.spot))
        pooled = summary["pooled"]
        out = {"folds": len(summary["folds"]), "networks": len(summary["ensemble"]),
               **{f"{t}_f1": pooled["megc"][t]["f1"] if pooled else None
                  for t in ("micro", "macro", "overall")},
               "tuned": summary.get("tuned"), "final": summary.get("final")}
        print(json.dumps(out))
        return 0
    print("rt-sfamnet weights: choose an action: import, info or ensemble (see --help)")
    return 1
