"""The one reader of an analysis folder used by the report and the per-event figures.

:func:`load_results` is the only place this package reads ``frames.csv``, ``events.csv``
and ``summary.json``; it calls :func:`rt_sfamnet.api.read_tables` today and is the function
to swap for the pipeline's results table (issue 19) when that lands.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Results", "load_results"]


@dataclass
class Results:
    """One analysis folder.

    Attributes:
        frames: ``frames.csv`` as a pandas DataFrame (one row per scheduled sample).
        events: ``events.csv`` as a pandas DataFrame (one row per spotted interval).
        summary: the ``summary.json`` object.
        folder: the analysis folder.
    """

    frames: Any
    events: Any
    summary: dict[str, Any]
    folder: Path

    def event_rows(self) -> list[dict[str, Any]]:
        """The events as dicts, in file order, each with its 0-based ``number``."""
        rows = self.events.to_dict("records")
        for k, row in enumerate(rows):
            row["number"] = k
        return rows


def load_results(folder: str | Path) -> Results:
    """Read an analysis folder written by ``rt-sfamnet analyze``.

    Raises:
        InputFileError: the folder or one of its three files is missing.
    """
    from rt_sfamnet.api import read_tables
    from rt_sfamnet.errors import InputFileError

    folder = Path(folder)
    for name in ("frames.csv", "events.csv", "summary.json"):
        if not (folder / name).is_file():
            raise InputFileError(f"{folder} is not an analysis folder: expected {name} "
                                 f"(written by `rt-sfamnet analyze`), found none")
    frames, events, summary = read_tables(folder)
    return Results(frames, events, summary, folder)
