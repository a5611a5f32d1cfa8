"""The real-time engine, its stages and its result writers.

- :mod:`.stages` — the analysis stages as plain objects (face, sample scheduler, pair
  builder, spotter), shared by the live engine and offline extraction.
- :mod:`.settings` — :func:`resolve_settings`: weights + user choices -> the settings every
  stage uses, resolved once.
- :mod:`.engine` — :class:`Engine`: the stages in capture / face / flow / inference threads
  with bounded queues, control and statistics.
- :mod:`.types` — :class:`EngineConfig`, :class:`EngineUpdate`, :class:`FrameResult`.
- :mod:`.runner` — the headless run of ``rt-sfamnet analyze`` (an engine into an output
  folder).
- :mod:`.analysis` — :class:`~.analysis.AnalysisOptions`: every option of an analysis, the
  one builder of an engine's configuration (command, API, app).
- :mod:`.results` — the results table: per-frame, event and gap columns defined once,
  :class:`~.results.ResultsTable` (``from_dir``, ``frames_df``, ``events_df``, ``gaps``).
- :mod:`.stats` — :class:`EngineStats` and the bounded rate/latency meters behind it.
- :mod:`.writers` — incremental per-frame CSV, events CSV/JSON, atomic JSON.

See ``docs/realtime.md`` for the design, the drop policy and the measured numbers.
"""

from rt_sfamnet.pipeline.engine import Engine
from rt_sfamnet.pipeline.settings import Settings, resolve_settings, weights_spotting
from rt_sfamnet.pipeline.stages import box_depth_fraction, needed_frame
from rt_sfamnet.pipeline.stats import EngineStats
from rt_sfamnet.pipeline.types import EngineConfig, EngineUpdate, FrameResult

__all__ = [
    "Engine",
    "EngineConfig",
    "EngineStats",
    "EngineUpdate",
    "FrameResult",
    "Settings",
    "box_depth_fraction",
    "needed_frame",
    "resolve_settings",
    "weights_spotting",
]
