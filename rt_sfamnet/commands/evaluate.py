"""``rt-sfamnet evaluate``: spotting, analysis and STRS from interval files."""

from __future__ import annotations

import argparse
import json
import sys

NAME = "evaluate"
HELP = "evaluate predicted intervals against ground truth (MEGC or sfamnet protocol)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gt", required=True, metavar="GT.csv",
                        help="ground-truth interval file, or a reviewer's .annotations.csv")
    parser.add_argument("--pred", required=True, metavar="PRED.csv",
                        help="predicted interval file, or another reviewer's .annotations.csv "
                        "(then also Cohen's kappa of the emotions: key emotion_kappa)")
    parser.add_argument("--emotions", type=int, choices=(4, 7), default=4,
                        help="emotion setting the labels are mapped to (default 4)")
    parser.add_argument("--protocol", choices=("megc", "sfamnet"), default="megc",
                        help="megc (default) or sfamnet (the authors' evaluation, quirks included)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def format_table(result: dict) -> str:
    """The result of :func:`rt_sfamnet.metrics.evaluate_intervals` as a text table."""
    lines = [f"{'':8} {'TP':>6} {'FP':>6} {'FN':>6} {'precision':>10} {'recall':>8} {'F1':>8}"]
    for key in ("micro", "macro", "overall"):
        r = result[key]
        lines.append(
            f"{key:8} {r['tp']:>6} {r['fp']:>6} {r['fn']:>6} {r['precision']:>10.4f} "
            f"{r['recall']:>8.4f} {r['f1']:>8.4f}"
        )
    a = result["analysis"]
    lines.append(
        f"analysis ({a.get('pairs', 0)} pairs): UF1 {a['uf1']:.4f}  UAR {a['uar']:.4f}  "
        f"F1 {a['f1']:.4f}  STRS {a['strs']:.4f}"
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from rt_sfamnet.annotations import read_interval_file
    from rt_sfamnet.errors import InputFileError
    from rt_sfamnet.metrics import (
        emotion_agreement,
        evaluate_intervals,
        videos_in_common_problem,
    )

    # an annotation file (a review) gives its accepted, added and edited rows
    gt, gt_reviewed = read_interval_file(args.gt)
    pred, pred_reviewed = read_interval_file(args.pred)
    problem = videos_in_common_problem(gt, pred, (f"--gt {args.gt}", f"--pred {args.pred}"))
    if problem and gt_reviewed and pred_reviewed:  # two reviews: no agreement to compute
        raise InputFileError(f"cannot compare the two reviews: {problem}")
    result = evaluate_intervals(gt, pred, emotions=args.emotions, protocol=args.protocol)
    if problem:  # every interval a miss or a false alarm: say why
        result["problem"] = problem
        print(f"rt-sfamnet evaluate: warning: {problem}", file=sys.stderr)
    if gt_reviewed or pred_reviewed:  # two coders: Cohen's kappa of the emotions
        result["emotion_kappa"] = emotion_agreement(gt, pred, args.emotions)
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        print(f"protocol {args.protocol}, {args.emotions} emotions: {len(gt)} ground-truth, "
              f"{len(pred)} predicted intervals")
        print(format_table(result))
        k = result.get("emotion_kappa")
        if k is not None:
            kappa = "n/a" if k["kappa"] is None else f"{k['kappa']:.4f}"
            print(f"emotion agreement: Cohen's kappa {kappa} over {k['pairs']} matched pairs"
                  + (f" ({k['problem']})" if k.get("problem") else ""))
    return 0
