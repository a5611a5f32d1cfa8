"""The notebook API: :func:`analyze` a camera, recording, frame folder or simulation.

Example::

    import rt_sfamnet
    result = rt_sfamnet.analyze("recordings/clip.db3")
    result.events      # pandas DataFrame: one row per spotted interval
    result.frames      # pandas DataFrame: one row per analysed frame
    result.summary     # dict: counts, rates, settings, metrics against the ground truth

:func:`analyze` runs exactly what ``rt-sfamnet analyze`` runs
(:func:`rt_sfamnet.pipeline.runner.run_headless` on an :class:`~rt_sfamnet.pipeline.Engine`
whose settings are resolved once against the weights), so its events are identical to the
command's for the same inputs. The tables are read back from the files the run writes, into
``out`` when given, else into a temporary folder that is removed afterwards.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rt_sfamnet.api_args import check_arguments

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from rt_sfamnet.sources.base import Source

__all__ = ["Analysis", "analyze"]


@dataclass
class Analysis:
    """The result of :func:`analyze`.

    Attributes:
        frames: one row per scheduled sample, the columns of ``frames.csv``
            (:class:`~rt_sfamnet.pipeline.writers.FrameCsvWriter`); empty cells are NaN.
        events: one row per spotted interval, the columns of ``events.csv`` (``subject,
            video, onset, apex, offset, type, emotion, start_s, end_s, confidence``; frames
            0-based, seconds from the start of the source).
        summary: the ``summary.json`` object (status, counts, rates, latencies, settings,
            weights, and the MEGC metrics when the source has ground truth).
        out: the folder holding the files, or None when they were temporary.
    """

    frames: pd.DataFrame
    events: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    out: Path | None = None

    def __repr__(self) -> str:
        ev = self.summary.get("events") or {}
        return (f"Analysis({len(self.frames)} frames, {ev.get('micro', 0)} micro- and "
                f"{ev.get('macro', 0)} macro-expressions, status {self.summary.get('status')!r})")


def _spot_overrides(spot: Mapping[str, Any] | Iterable[str] | None) -> dict[str, Any]:
    """``{"k_micro": 2}`` or ``["k_micro=2"]`` (the CLI's ``--spot``) -> a mapping."""
    if spot is None:
        return {}
    if isinstance(spot, Mapping):
        return dict(spot)
    from rt_sfamnet.config import parse_overrides

    return parse_overrides(list(spot))


def read_tables(out: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """``frames.csv``, ``events.csv`` and ``summary.json`` of an output folder."""
    import pandas as pd

    out = Path(out)
    frames = pd.read_csv(out / "frames.csv")
    events = pd.read_csv(out / "events.csv", dtype={"subject": str, "video": str,
                                                    "emotion": str}, keep_default_na=False,
                         na_values={"apex": [""]})
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return frames, events, summary


def analyze(source: str | Path | Source, weights: str | Path | None = None,
            spot: Mapping[str, Any] | Iterable[str] | None = None,
            seconds: float | None = None, progress: bool = True, *,
            out: str | Path | None = None, gt: str | Path | None = None,
            emotions: int | None = None, frame_skip: int | None = None,
            device: str = "auto", realtime: bool = False) -> Analysis:
    """Analyse ``source`` headless, as ``rt-sfamnet analyze`` does, and return the tables.

    Args:
        source: ``"camera"``, ``"sim"``, a ``.bag``/``.db3`` recording,
            a frame folder, or an unopened :class:`~rt_sfamnet.sources.base.Source`.
        weights: a weights file; None: the bundled default weights.
        spot: spotting overrides over the weights' values, ``{"k_micro": 2}`` or
            ``["k_micro=2"]`` (as ``--spot``).
        seconds: stop after this many seconds of input (needed for a camera).
        progress: a progress bar, shown only on a terminal.
        out: also keep the files (``frames.csv``, ``events.csv/json``, ``summary.json``) here.
        gt: a ground-truth interval CSV overriding the source's own.
        emotions, frame_skip, device, realtime: as the command's options.

    Returns:
        An :class:`Analysis` (``.frames``, ``.events``, ``.summary``).

    Raises:
        RtSfamnetError: bad input (unknown source, bad weights, bad ``spot`` key...), or the
        source failed during the run (the files written so far stay in ``out``).
    """
    check_arguments("analyze", locals())  # types and ranges first (rt_sfamnet.api_args)
    from rt_sfamnet.intervals import read_intervals
    from rt_sfamnet.pipeline import Engine, EngineConfig
    from rt_sfamnet.pipeline.runner import RunOptions, run_headless
    from rt_sfamnet.sources import make_source

    config = EngineConfig(  # the command's engine_config with its defaults
        frame_skip=frame_skip, realtime=bool(realtime), speed=1.0,
        weights=None if weights is None else str(weights), emotions=emotions, device=device,
        keep_maps=False, spotting=_spot_overrides(spot), weights_spotting=True)
    if isinstance(source, (str, Path)):
        video = Path(str(source)).stem or "stream"
        src = make_source(source)
    else:
        video, src = None, source
    with tempfile.TemporaryDirectory(prefix="rt-sfamnet-") as tmp:
        folder = Path(out) if out is not None else Path(tmp)
        opts = RunOptions(out=folder, seconds=seconds, progress=progress,
                          weights=None if weights is None else str(weights),
                          gt=read_intervals(gt) if gt else None, video=video)
        result = run_headless(Engine(src, config), opts)
        if result.error is not None:
            raise result.error
        frames, events, summary = read_tables(folder)
    return Analysis(frames, events, summary, None if out is None else Path(out))
