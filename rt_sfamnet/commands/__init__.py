"""One module per ``rt-sfamnet`` subcommand.

Each module defines ``NAME`` (the subcommand), ``HELP`` (one line), ``add_arguments(parser)``
and ``run(args) -> int``. Modules import heavy packages inside ``run`` only, so ``--help``
stays fast. :data:`COMMANDS` lists the modules in the order ``--help`` shows them.
"""

COMMANDS: tuple[str, ...] = (
    "gui",
    "analyze",
    "report",
    "record",
    "simulate",
    "dataset",
    "extract",
    "train",
    "spot",
    "evaluate",
    "weights",
    "bench",
)


def portable_command(argv: list[str]) -> str:
    """The command line with absolute paths cut to their last component (no machine paths
    in weights files that may be shared)."""
    import os
    from pathlib import Path

    return "rt-sfamnet " + " ".join(Path(a).name if os.path.isabs(a) else a for a in argv[1:])
