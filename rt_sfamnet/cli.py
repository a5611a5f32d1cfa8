"""The ``rt-sfamnet`` command line.

Subcommands live in :mod:`rt_sfamnet.commands` (one module each). Errors a user can cause
(:class:`~rt_sfamnet.errors.RtSfamnetError`) are printed as one line on stderr with exit
status 2; Ctrl-C exits with status 130 after the command has flushed what it finished
(``analyze`` treats SIGTERM and SIGHUP the same way: 128 + the signal, :mod:`rt_sfamnet.signals`).
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Sequence

from rt_sfamnet import __version__
from rt_sfamnet.commands import COMMANDS
from rt_sfamnet.errors import RtSfamnetError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rt-sfamnet",
        description="Real-time RGB-D micro-expression spotting and recognition (SFAMNet).",
    )
    parser.add_argument("--version", action="version", version=f"rt-sfamnet {__version__}")
    _add_completion(parser)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="count", default=0,
                        help="more messages (-vv: debug, and MediaPipe's native log lines)")
    common.add_argument("-q", "--quiet", action="store_true",
                        help="errors only: no warnings, no progress")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"rt_sfamnet.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"rt_sfamnet.commands.{name}":
                continue  # subcommand not built yet
            raise
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP, parents=[common])
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def _add_completion(parser: argparse.ArgumentParser) -> None:
    """``--print-completion bash|zsh|tcsh``: a shell completion script (shtab)."""
    try:
        import shtab
    except ImportError:  # pragma: no cover - shtab is a dependency; completion is optional
        return
    shtab.add_argument_to(parser, ["--print-completion"], help="print a shell completion "
                          "script (bash, zsh or tcsh), e.g. `rt-sfamnet --print-completion bash "
                          "> ~/.local/share/bash-completion/completions/rt-sfamnet`")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 1
    from rt_sfamnet import logs

    if argv is None and getattr(args, "verbose", 0) < 2:  # a real process, not a test's call
        logs.install_native_filter()
    logs.configure(getattr(args, "verbose", 0), getattr(args, "quiet", False))
    try:
        return int(args._run(args) or 0)
    except RtSfamnetError as exc:
        print(f"rt-sfamnet {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file or disk the command did not name itself (full, read-only)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"rt-sfamnet {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP (rt_sfamnet.signals)
        signum = int(getattr(exc, "signum", signal.SIGINT))
        print(f"rt-sfamnet {args.command}: interrupted ({signal.Signals(signum).name})",
              file=sys.stderr)
        return 128 + signum


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
