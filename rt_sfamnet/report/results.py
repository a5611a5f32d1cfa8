"""The one reader of an analysis folder used by the report and the per-event figures.

:func:`load_results` is the only place this package reads ``frames.csv``, ``events.csv``
and ``summary.json``: through the pipeline's results table
(:meth:`rt_sfamnet.pipeline.results.ResultsTable.from_dir`), as DataFrames with the
columns' dtypes. :func:`from_table` wraps a table built in memory (the app's export).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Results", "finite", "from_table", "load_results"]


def finite(value: Any) -> float | None:
    """``value`` as a finite float, or None (None, NaN, pandas' NA, text)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


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


def from_table(table: Any, summary: dict[str, Any], folder: str | Path) -> Results:
    """:class:`Results` of a :class:`~rt_sfamnet.pipeline.results.ResultsTable` and a
    summary (``folder``: where the report's files go)."""
    return Results(table.frames_df(), table.events_df(), dict(summary), Path(folder))


def load_results(folder: str | Path) -> Results:
    """Read an analysis folder written by ``rt-sfamnet analyze``.

    Raises:
        InputFileError: the folder or one of its three files is missing or unreadable.
    """
    from rt_sfamnet.pipeline.results import ResultsTable

    table = ResultsTable.from_dir(folder)
    return from_table(table, table.summary, folder)
