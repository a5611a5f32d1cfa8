"""Dense flow solvers on NumPy (Numba kernels) or CuPy (CUDA kernels).

- :func:`tvl1` / :func:`tvl1_batch`: TV-L1 optical flow (Zach, Pock, Bischof 2007, dual
  formulation) with OpenCV ``DualTVL1OpticalFlow``'s defaults, and a faster ``"live"`` preset.
- :func:`rgbd_flow` / :func:`rgbd_flow_batch`: RGB-D scene flow (Herbst, Ren, Fox 2013).
- :mod:`rt_sfamnet.flow.backend`: array-module selection (``"numpy"`` / ``"cupy"``) and small
  shared image helpers.
- :mod:`rt_sfamnet.flow.pyramid`: pyramid level sizes and blur (leaf module, both solvers).
- :mod:`rt_sfamnet.flow.checks`: the shape/dtype checks of the entry points.

Importing this package needs NumPy (and Numba for the CPU kernels) only; CuPy is imported when
the ``"cupy"`` backend is first used.
"""

from .rgbd import rgbd_flow, rgbd_flow_batch
from .tvl1 import PRESETS, TVL1Params, time_tvl1, tvl1, tvl1_batch

__all__ = [
    "PRESETS",
    "TVL1Params",
    "rgbd_flow",
    "rgbd_flow_batch",
    "time_tvl1",
    "tvl1",
    "tvl1_batch",
]
