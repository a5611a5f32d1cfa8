"""``rt-sfamnet bench NAME``: run one of the benchmark scripts in ``benchmarks/``.

Each script prints one JSON object; results and the machine they came from are recorded in
``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path

from rt_sfamnet.errors import RtSfamnetError

NAME = "bench"
HELP = "run a benchmark script from benchmarks/ (prints JSON)"

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"


def available() -> list[str]:
    """Names of the benchmark scripts (``benchmarks/<name>.py``)."""
    if not BENCH_DIR.is_dir():
        return []
    return sorted(p.stem for p in BENCH_DIR.glob("*.py") if not p.stem.startswith("_"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="benchmark to run, e.g. flow, pipeline, train, model")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script")
    parser.add_argument("--json", action="store_true", help="accepted for symmetry; output is JSON")


def run(args: argparse.Namespace) -> int:
    names = available()
    if args.name not in names:
        raise RtSfamnetError(
            f"unknown benchmark {args.name!r}; expected one of {names or '(none: benchmarks/ not found)'}"
        )
    script = BENCH_DIR / f"{args.name}.py"
    old = sys.argv
    sys.argv = [str(script), *args.args]
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:  # scripts may call sys.exit(main())
        return int(exc.code or 0)
    finally:
        sys.argv = old
    return 0
