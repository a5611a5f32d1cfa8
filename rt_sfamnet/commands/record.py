"""``rt-sfamnet record``: record the live D415 (colour + depth) to a ``.db3`` recording.

Example::

    rt-sfamnet record --out session.db3 --seconds 30 --width 1280 --height 720

The file plays back with ``rt-sfamnet gui session.db3`` / ``analyze`` and in the RealSense
Viewer. pyrealsense2 >= 2.58 writes only ``.db3`` (rosbag2) files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "record"
HELP = "record the RealSense camera (colour + depth) to a .db3 file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path, help="output file, e.g. session.db3")
    parser.add_argument("--seconds", required=True, type=float, help="length to record, s")
    parser.add_argument("--width", type=int, default=640, help="640 (default) or 1280")
    parser.add_argument("--height", type=int, default=480, help="480 (default) or 720")
    parser.add_argument("--fps", type=int, default=30, help="frames per second (default 30)")
    # -q/--quiet (no progress line) comes with every command (rt_sfamnet.cli)


def run(args: argparse.Namespace) -> int:
    from rt_sfamnet.sources.realsense import record_camera

    total = max(1, int(round(args.seconds * args.fps)))

    def progress(n: int) -> None:
        if not args.quiet and (n % 15 == 0 or n == total):
            print(f"\rrecorded {n} frames ({n / args.fps:.1f} s)", end="", file=sys.stderr)

    n = record_camera(args.out, args.seconds, args.width, args.height, args.fps, on_frame=progress)
    if not args.quiet:
        print(file=sys.stderr)
    print(f"wrote {n} frames to {args.out}")
    return 0
