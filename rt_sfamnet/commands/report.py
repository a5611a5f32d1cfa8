"""``rt-sfamnet report OUT_DIR [--out FILE.html]``: an analysis folder as one HTML file.

Rebuilds the report of a folder written by ``rt-sfamnet analyze`` (see
:func:`rt_sfamnet.report.html.build_report`): score curves (also ``scores.svg/.pdf/.png``),
the events with their apex thumbnail and attention (and ``attention/event_NNN.png``), counts,
gaps, metrics, settings, weights and version. Thumbnails and attention are replayed from the
source named in ``summary.json``; when it is gone the report says so and goes without them.
"""

from __future__ import annotations

import argparse

NAME = "report"
HELP = "turn an analysis folder into one self-contained HTML report"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", metavar="OUT_DIR", help="a folder written by `rt-sfamnet "
                        "analyze` (frames.csv, events.csv, summary.json)")
    parser.add_argument("--out", default=None, metavar="FILE.html",
                        help="the report file (default: OUT_DIR/report.html)")


def run(args: argparse.Namespace) -> int:
    from rt_sfamnet.report.html import build_report

    path = build_report(args.folder, args.out)
    if not getattr(args, "quiet", False):
        print(f"report: {path}")
    return 0
