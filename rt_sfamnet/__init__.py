"""rt-sfamnet: real-time RGB-D micro-expression spotting and recognition with SFAMNet.

The library never imports Qt. Heavy optional packages (pyrealsense2, mediapipe, cupy) are
imported lazily where they are used, so ``rt_sfamnet.flow`` and ``rt_sfamnet.model`` import
with NumPy and PyTorch alone.
"""

from rt_sfamnet.errors import RtSfamnetError

__version__ = "0.1.0"

__all__ = ["RtSfamnetError", "__version__"]
