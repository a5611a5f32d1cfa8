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

import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from rt_sfamnet.sources.base import Source

__all__ = ["Analysis", "analyze"]


@dataclass
class Analysis:
    """The result of :func:`analyze`.

    Attributes:
        frames: one row per scheduled sample, the columns of ``frames.csv``
            (:data:`rt_sfamnet.pipeline.results.FRAME_COLUMNS`, with their dtypes: missing
            numbers are NaN / <NA>, ``gap`` and ``argmax_class`` are ``""`` when empty,
            ``face_found`` and ``depth_ok`` are bool).
        events: one row per spotted interval, the columns of ``events.csv``
            (:data:`rt_sfamnet.pipeline.results.EVENT_COLUMNS`: ``subject, video, onset, apex,
            offset, type, emotion, start_s, end_s, confidence``; frames 0-based, seconds from
            the start of the source).
        summary: the ``summary.json`` object (status, counts, rates, latencies, settings,
            weights, what the network was fed and trained on: ``depth``, ``input`` (e.g.
            ``"no depth: optical-flow model"``), ``training_data``, ``warnings``; and the
            MEGC metrics when the source has ground truth).
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


def read_tables(out: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """``frames.csv``, ``events.csv`` and ``summary.json`` of an output folder, through the
    results table (:meth:`~rt_sfamnet.pipeline.results.ResultsTable.from_dir`)."""
    from rt_sfamnet.pipeline.results import ResultsTable

    table = ResultsTable.from_dir(out)
    return table.frames_df(), table.events_df(), table.summary


def analyze(source: str | Path | Source, weights: str | Path | None = None,
            spot: Mapping[str, Any] | Iterable[str] | None = None,
            seconds: float | None = None, progress: bool = True, *,
            out: str | Path | None = None, gt: str | Path | None = None,
            emotions: int | None = None, frame_skip: int | None = None,
            device: str = "auto", realtime: bool = False, speed: float = 1.0,
            flow_mode: str | None = None, release_spotting: bool = False,
            protocol: str = "megc", gt_video: str | None = None,
            record: str | Path | None = None,
            camera: Mapping[str, Any] | Iterable[str] | None = None,
            zero_depth_experiment: bool = False) -> Analysis:
    """Analyse ``source`` headless, as ``rt-sfamnet analyze`` does, and return the tables.

    Every analysis option of the command is a keyword of the same name (``--no-progress``
    is ``progress=False``); both build the run through
    :class:`~rt_sfamnet.pipeline.analysis.AnalysisOptions`.

    Args:
        source: ``"camera"``, ``"sim"``, a ``.bag``/``.db3`` recording,
            a frame folder, or an unopened :class:`~rt_sfamnet.sources.base.Source`.
        weights: a weights file; None: the bundled weights for the source (the optical-flow
            network for a source without depth, :func:`rt_sfamnet.weights.default_weights`).
        spot: spotting overrides over the weights' values, ``{"k_micro": 2}`` or
            ``["k_micro=2"]`` (as ``--spot``).
        seconds: stop after this many seconds of input (needed for a camera).
        progress: a progress bar, shown only on a terminal.
        out: also keep the files (``frames.csv``, ``events.csv/json``, ``summary.json``) here.
        gt: a ground-truth interval CSV overriding the source's own.
        gt_video: the video of a several-video ``gt`` (``VIDEO`` or ``SUBJECT/VIDEO``).
        protocol: ``"megc"`` or ``"sfamnet"`` (evaluation with ground truth).
        release_spotting: start from the release's spotting values, not the weights'.
        flow_mode: ``"hybrid"``, ``"scene"`` or ``"optical"`` (None: the weights' mode).
        record: also record the source's frames to this ``.db3`` file
            (``summary["recording"]`` says how many).
        camera: camera controls for a ``"camera"`` source, ``["exposure=8000"]`` or
            ``{"exposure": 8000}`` (as ``--camera``).
        emotions, frame_skip, device, realtime, speed: as the command's options.
        zero_depth_experiment: allow depth-trained weights on a source without depth (w = 0),
            labelled in the summary (``--zero-depth-experiment``).

    Returns:
        An :class:`Analysis` (``.frames``, ``.events``, ``.summary``).

    Raises:
        RtSfamnetError: bad input (unknown source, bad weights, bad ``spot`` key...), or the
        source failed during the run (the files written so far stay in ``out``).
    """
    from rt_sfamnet.pipeline.analysis import AnalysisOptions, run_analysis
    from rt_sfamnet.pipeline.results import ResultsTable

    options = AnalysisOptions(
        weights=None if weights is None else str(weights), emotions=emotions,
        flow_mode=flow_mode, frame_skip=frame_skip, spot=spot,
        release_spotting=release_spotting, device=device, realtime=bool(realtime),
        speed=speed, seconds=seconds, gt=None if gt is None else str(gt), gt_video=gt_video,
        protocol=protocol, record=None if record is None else str(record), camera=camera,
        progress=progress, zero_depth_experiment=bool(zero_depth_experiment))
    with tempfile.TemporaryDirectory(prefix="rt-sfamnet-") as tmp:
        folder = Path(out) if out is not None else Path(tmp)
        result, written = run_analysis(source, folder, options)
        if result.error is not None:
            raise result.error
        table = ResultsTable.from_dir(folder)
        frames, events = table.frames_df(), table.events_df()
    return Analysis(frames, events, written, None if out is None else Path(out))
