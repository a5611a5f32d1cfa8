"""D415-like depth: noise growing with z², 1 mm quantisation and holes.

The Intel RealSense D415 datasheet gives a depth RMS error that grows with the square of the
distance (at most about 2 % at 2 m), depth in 1 mm units, and invalid pixels (0) at depth
discontinuities, in the stereo occlusion band on the left of foreground objects, and on dark
or specular spots. :func:`d415_depth` turns a clean depth image into such a measurement.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

BASELINE_MM = 55.0  # D415 stereo baseline


@dataclass
class DepthNoiseConfig:
    """Parameters of :func:`d415_depth`.

    Attributes:
        rms_k: RMS error = ``rms_k`` × z² (z in metres, result in metres); 0.005 gives 1.8 mm
            at 0.6 m and 20 mm (1 %) at 2 m.
        edge_mm: a jump larger than this between neighbouring pixels makes an edge hole.
        edge_width: half-width in pixels of the holes along depth edges.
        shadow_scale: fraction of the physical occlusion band (baseline × fx × (1/z_near -
            1/z_far)) left invalid on the left of foreground objects; 0 disables it.
        dark_level: colour luminance (0-255) below which pixels may lose depth.
        dark_dropout: probability that such a dark pixel is a hole.
        dropout: probability that any pixel is a hole.
        min_mm, max_mm: measurable range; depth outside it is 0.
    """

    rms_k: float = 0.005
    edge_mm: float = 40.0
    edge_width: int = 1
    shadow_scale: float = 0.35
    dark_level: float = 20.0
    dark_dropout: float = 0.1
    dropout: float = 0.002
    min_mm: float = 300.0
    max_mm: float = 10000.0


def depth_rms_mm(z_mm: np.ndarray | float, rms_k: float = 0.005) -> np.ndarray | float:
    """RMS depth error in millimetres at depth ``z_mm`` (millimetres): ``rms_k`` · z_m² · 1000."""
    z_m = np.asarray(z_mm, dtype=np.float32) / 1000.0
    return rms_k * z_m * z_m * 1000.0


def d415_depth(clean_mm: np.ndarray, normal: np.ndarray, uniform: np.ndarray,
               luminance: np.ndarray | None, fx: float, config: DepthNoiseConfig) -> np.ndarray:
    """A D415-like measurement of ``clean_mm``.

    Args:
        clean_mm: H×W float32 true depth in millimetres (0 or NaN = nothing there).
        normal: H×W float32 standard-normal noise (the caller owns the random stream).
        uniform: H×W float32 uniform [0, 1) noise for holes.
        luminance: H×W uint8 grey image for dark-spot holes, or None.
        fx: focal length in pixels (occlusion band width).
        config: :class:`DepthNoiseConfig`.

    Returns:
        H×W uint16 millimetres, 0 = no depth.
    """
    z = np.asarray(clean_mm, dtype=np.float32)
    if z.ndim != 2:
        raise ValueError(f"clean_mm must be H×W, got {z.shape}")
    for name, arr in (("normal", normal), ("uniform", uniform)):
        if arr.shape != z.shape:
            raise ValueError(f"{name} must be {z.shape}, got {arr.shape}")
    sigma = (config.rms_k / 1000.0) * z * z  # rms_k * (z/1000)^2 * 1000
    noisy = z + sigma * normal
    valid = (z >= config.min_mm) & (z <= config.max_mm)
    # edge holes: large jumps within a small neighbourhood
    k = np.ones((2 * config.edge_width + 1, 2 * config.edge_width + 1), np.uint8)
    zmax = cv2.dilate(z, k)
    zmin = cv2.erode(z, k)
    valid &= (zmax - zmin) < config.edge_mm
    if config.shadow_scale > 0:
        # left of a near surface in front of a far one, the right camera cannot see
        far_z = float(np.percentile(z[::8, ::8], 90))
        fgmask = (z > 0) & (z < far_z - 300.0)
        if fgmask.any():
            zf = float(np.median(z[::8, ::8][fgmask[::8, ::8]])) if fgmask[::8, ::8].any() else float(np.median(z[fgmask]))
            band = int(round(config.shadow_scale * BASELINE_MM * fx * (1.0 / zf - 1.0 / far_z)))
            if band > 0:
                kern = np.ones((1, band + 1), np.uint8)
                # a pixel is shadowed if the foreground starts within `band` px to its right
                shadow = cv2.dilate(fgmask.astype(np.uint8), kern, anchor=(0, 0))
                valid &= ~((shadow > 0) & ~fgmask)
    if luminance is not None and config.dark_dropout > 0:
        valid &= ~((luminance < config.dark_level) & (uniform < config.dark_dropout))
    if config.dropout > 0:
        valid &= uniform < 1.0 - config.dropout
    out = np.rint(noisy)
    out[~valid] = 0
    return np.clip(out, 0, 65535).astype(np.uint16)
