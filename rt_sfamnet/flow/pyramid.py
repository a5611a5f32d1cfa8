"""Image-pyramid geometry shared by the flow solvers and their CPU and CUDA drivers.

A leaf module (NumPy only, no solver imports), so that :mod:`rt_sfamnet.flow.tvl1`,
:mod:`rt_sfamnet.flow.rgbd` and the kernel drivers (:mod:`rt_sfamnet.flow._cuda_rgbd`) can all
use it without importing each other.

- :func:`pyramid_sizes`: the level sizes of a coarse-to-fine pyramid (both solvers).
- :func:`blur_kernel`, :func:`pyramid_sigma`: the 5-tap anti-aliasing blur of the RGB-D
  pyramid.
- :func:`level_intrinsics`: pinhole intrinsics of a pyramid level.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["blur_kernel", "level_intrinsics", "pyramid_sigma", "pyramid_sizes"]


def pyramid_sizes(height: int, width: int, scale_step: float, min_size: int = 16,
                  max_levels: int | None = None) -> list[tuple[int, int]]:
    """Image sizes of a coarse-to-fine pyramid, finest first.

    Level ``s`` is level ``s - 1`` scaled by ``scale_step`` and rounded to the nearest pixel
    (ties to even, OpenCV's ``resize`` convention). The pyramid stops before a level whose
    height or width would be below ``min_size`` pixels, and after ``max_levels`` levels. The
    finest level is always kept.

    Args:
        height, width: size of the finest level (pixels, >= 1).
        scale_step: size ratio between consecutive levels, 0 < scale_step < 1.
        min_size: smallest height or width of a coarser level (pixels; OpenCV's TV-L1 uses 16).
        max_levels: the most levels (>= 1), or None for no cap. Without a cap, a level that
            would not be smaller than the previous one (a ratio close to 1 on a small image)
            also ends the pyramid.

    Returns:
        ``[(h0, w0), (h1, w1), ...]`` with ``(h0, w0) == (height, width)``.

    Raises:
        ValueError: a size below 1, a ratio outside (0, 1) or ``max_levels < 1``.
    """
    if height < 1 or width < 1:
        raise ValueError(f"pyramid_sizes: expected a positive size, found {height}x{width}")
    if not 0.0 < scale_step < 1.0:
        raise ValueError(f"pyramid_sizes: expected 0 < scale_step < 1, found {scale_step}")
    if max_levels is not None and max_levels < 1:
        raise ValueError(f"pyramid_sizes: expected max_levels >= 1 or None, found {max_levels}")
    sizes = [(int(height), int(width))]
    while max_levels is None or len(sizes) < max_levels:
        h, w = sizes[-1]
        nh, nw = int(np.rint(h * scale_step)), int(np.rint(w * scale_step))
        if min(nh, nw) < min_size or (max_levels is None and (nh, nw) == (h, w)):
            break
        sizes.append((nh, nw))
    return sizes


def blur_kernel(sigma: float) -> np.ndarray:
    """Normalised 5-tap Gaussian weights ``(centre, ±1, ±2)`` of std ``sigma`` px, float32.

    ``sigma <= 0`` gives the identity ``(1, 0, 0)``.
    """
    if sigma <= 0:
        return np.array([1.0, 0.0, 0.0], np.float32)
    k = np.exp(-0.5 * (np.arange(3, dtype=np.float64) / sigma) ** 2)
    k /= k[0] + 2 * (k[1] + k[2])
    return k.astype(np.float32)


def pyramid_sigma(ratio: float) -> float:
    """Anti-aliasing blur (std in px) applied before each downsampling by ``ratio``."""
    return 0.5 * math.sqrt(1.0 / (ratio * ratio) - 1.0) + 0.2


def level_intrinsics(fx: float, fy: float, cx: float, cy: float, h0: int, w0: int, h: int,
                     w: int) -> tuple[float, float, float, float]:
    """Intrinsics ``(fx, fy, cx, cy)`` (pixels) of a level of size ``h x w`` of an image of
    size ``h0 x w0`` (pixel centres aligned, as the bilinear resize)."""
    sx = w / w0
    sy = h / h0
    return fx * sx, fy * sy, (cx + 0.5) * sx - 0.5, (cy + 0.5) * sy - 0.5
