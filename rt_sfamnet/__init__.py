"""rt-sfamnet: real-time RGB-D micro-expression spotting and recognition with SFAMNet.

The library never imports Qt. Heavy optional packages (pyrealsense2, mediapipe, cupy) are
imported lazily where they are used, so ``rt_sfamnet.flow`` and ``rt_sfamnet.model`` import
with NumPy and PyTorch alone.

Notebook API (imported on first use)::

    import rt_sfamnet
    result = rt_sfamnet.analyze("recordings/clip.db3")   # rt_sfamnet.api.analyze
    result.events, result.frames, result.summary
    ev = rt_sfamnet.attention_at(result, 0)                # the first event's apex attention
    with rt_sfamnet.open_source("sim") as src: ...        # rt_sfamnet.sources.open_source
"""

from typing import Any

from rt_sfamnet.errors import RtSfamnetError

__version__ = "0.1.0"

__all__ = ["Analysis", "RtSfamnetError", "__version__", "analyze", "attention_at", "open_source"]

_LAZY = {"analyze": "rt_sfamnet.api", "Analysis": "rt_sfamnet.api",
         "open_source": "rt_sfamnet.sources", "attention_at": "rt_sfamnet.report.evidence"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rt_sfamnet' has no attribute {name!r}")
