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
