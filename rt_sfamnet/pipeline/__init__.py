"""The real-time engine and its result writers.

- :mod:`.engine` — :class:`Engine` (capture / face / flow / inference threads, bounded
  queues, the k_SW+1 ring buffer, the streaming spotter), :class:`EngineConfig`,
  :class:`EngineUpdate`, :class:`FrameResult`.
- :mod:`.stats` — :class:`EngineStats` and the bounded rate/latency meters behind it.
- :mod:`.writers` — incremental per-frame CSV, events CSV/JSON, atomic JSON.

See ``docs/realtime.md`` for the design, the drop policy and the measured numbers.
"""

from rt_sfamnet.pipeline.engine import (
    Engine,
    EngineConfig,
    EngineUpdate,
    FrameResult,
    box_depth_fraction,
    needed_frame,
    weights_spotting,
)
from rt_sfamnet.pipeline.stats import EngineStats

__all__ = [
    "Engine",
    "EngineConfig",
    "EngineStats",
    "EngineUpdate",
    "FrameResult",
    "box_depth_fraction",
    "needed_frame",
    "weights_spotting",
]
