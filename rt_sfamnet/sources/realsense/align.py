"""Depth aligned to colour without librealsense: the algorithm of ``rs.align`` in NumPy.

Used by :class:`~rt_sfamnet.sources.realsense.rosbag.RosbagReader` when
pyrealsense2 is absent and a recording's depth is not stored registered to colour (camera
recordings). ``rs.align(rs.stream.color)`` maps every depth pixel's footprint — the
corners ``(x - 0.5, y - 0.5)`` and ``(x + 0.5, y + 0.5)`` deprojected at the pixel's depth,
moved by the depth -> colour extrinsics and projected into the colour camera, each rounded
(``int(p + 0.5)``) — onto the rectangle of colour pixels between the two corners, keeping the
nearest depth where rectangles overlap.
:func:`align_depth_to_color` does the same with vectorised NumPy, in float32 like librealsense.

Tolerance (``tests/sources/realsense/test_rosbag.py``): the arithmetic follows
librealsense's order of operations in float32, so the result is bit-identical to a
transcription of librealsense's per-pixel loop (tested with rotation, translation and
distortion), and it was bit-identical to ``rs.align`` of pyrealsense2 2.59 on recordings
whose depth intrinsics differ from colour's (scaled focal length, sub-pixel principal point
shift: 100 % of the pixels equal). The test allows, and the documented tolerance is: at least
99 % of the pixels identical, valid-depth masks differing on at most 0.1 % of the pixels, and
every differing pixel holding a value ``rs.align`` gives a pixel at most one pixel away —
what a footprint corner rounding the other way (an SIMD or compiler change in librealsense)
could cause. Footprints crossing the image border are clipped to it, as ``rs.align`` does.

Distortion: depth deprojection supports ``none`` and zero-coefficient models (the D415's
depth stream); colour projection supports ``none``, ``brown_conrady``,
``modified_brown_conrady`` and ``inverse_brown_conrady`` (librealsense's projection formula).
"""

from __future__ import annotations

import numpy as np

from rt_sfamnet.errors import RecordingError
from rt_sfamnet.frames import Intrinsics

_PROJECT_MODELS = ("none", "brown_conrady", "modified_brown_conrady", "inverse_brown_conrady")


_F = np.float32


def _deproject(intr: Intrinsics, px: np.ndarray, py: np.ndarray, z: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """rs2_deproject_pixel_to_point in float32 (models without coefficients only)."""
    if intr.model != "none" and any(float(c) != 0.0 for c in intr.coeffs):
        raise RecordingError(
            f"aligning depth without pyrealsense2: depth distortion model {intr.model!r} with "
            f"coefficients {intr.coeffs} is not supported (install pyrealsense2)")
    x = (px - _F(intr.ppx)) / _F(intr.fx)
    y = (py - _F(intr.ppy)) / _F(intr.fy)
    return x * z, y * z, z


def _project(intr: Intrinsics, x: np.ndarray, y: np.ndarray, z: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """rs2_project_point_to_pixel in float32."""
    if intr.model not in _PROJECT_MODELS:
        raise RecordingError(
            f"aligning depth without pyrealsense2: colour distortion model {intr.model!r} is "
            f"not supported, expected one of {_PROJECT_MODELS} (install pyrealsense2)")
    u, v = x / z, y / z
    k1, k2, p1, p2, k3 = (_F(c) for c in intr.coeffs)
    if intr.model != "none" and any((k1, k2, p1, p2, k3)):
        r2 = u * u + v * v
        f = _F(1) + k1 * r2 + k2 * r2 * r2 + k3 * r2 * r2 * r2
        u, v = u * f, v * f
        dx = u + _F(2) * p1 * u * v + p2 * (r2 + _F(2) * u * u)
        dy = v + _F(2) * p2 * u * v + p1 * (r2 + _F(2) * v * v)
        u, v = dx, dy
    return u * _F(intr.fx) + _F(intr.ppx), v * _F(intr.fy) + _F(intr.ppy)


def align_depth_to_color(depth: np.ndarray, depth_intr: Intrinsics, color_intr: Intrinsics,
                         rotation: np.ndarray | None = None,
                         translation: np.ndarray | None = None,
                         depth_unit_m: float = 0.001) -> np.ndarray:
    """Depth in the colour camera's pixel grid, as ``rs.align(rs.stream.color)`` gives it.

    Args:
        depth: Hd×Wd uint16 depth (any unit; 0 = missing); the unit is kept.
        depth_intr, color_intr: the two cameras' intrinsics.
        rotation: 3×3 depth -> colour rotation (librealsense stores it column-major; pass
            the matrix ``R`` with ``p_color = R @ p_depth + t``); None: identity.
        translation: (3,) depth -> colour translation in metres (as librealsense stores
            it); None: zero.
        depth_unit_m: metres per unit of ``depth`` (0.001 for millimetres).

    Returns:
        Hc×Wc uint16 depth aligned to colour (0 where no depth pixel lands).
    """
    if depth.ndim != 2 or depth.shape != (depth_intr.height, depth_intr.width):
        raise RecordingError(f"depth of shape {depth.shape} does not match its intrinsics "
                             f"({depth_intr.height}x{depth_intr.width})")
    h, w = color_intr.height, color_intr.width
    ys, xs = np.nonzero(depth)
    z = depth[ys, xs].astype(_F) * _F(depth_unit_m)  # metres, as librealsense computes
    rot = np.eye(3) if rotation is None else np.asarray(rotation, np.float64).reshape(3, 3)
    rot = rot.astype(_F)
    tr = (np.zeros(3) if translation is None else np.asarray(translation, np.float64)
          .reshape(3)).astype(_F)

    def corner(off: float) -> tuple[np.ndarray, np.ndarray]:
        px, py, pz = _deproject(depth_intr, xs.astype(_F) + _F(off), ys.astype(_F) + _F(off),
                                z)
        q = [rot[i, 0] * px + rot[i, 1] * py + rot[i, 2] * pz + tr[i] for i in range(3)]
        u, v = _project(color_intr, q[0], q[1], q[2])
        # C's (int)(p + 0.5f) truncates toward zero
        return np.trunc(u + _F(0.5)).astype(np.int64), np.trunc(v + _F(0.5)).astype(np.int64)

    x0, y0 = corner(-0.5)
    x1, y1 = corner(0.5)
    # footprints crossing the border are clipped to the image (what pyrealsense2 2.59's
    # rs.align gives), those entirely outside are dropped
    keep = (x1 >= 0) & (y1 >= 0) & (x0 < w) & (y0 < h)
    x0, y0 = np.maximum(x0[keep], 0), np.maximum(y0[keep], 0)
    x1, y1 = np.minimum(x1[keep], w - 1), np.minimum(y1[keep], h - 1)
    zv = depth[ys, xs][keep]
    out = np.full(h * w, np.iinfo(np.int64).max, np.int64)
    span_x = int((x1 - x0).max(initial=0))
    span_y = int((y1 - y0).max(initial=0))
    for oy in range(span_y + 1):
        for ox in range(span_x + 1):
            m = (x0 + ox <= x1) & (y0 + oy <= y1)
            np.minimum.at(out, (y0[m] + oy) * w + (x0[m] + ox), zv[m].astype(np.int64))
    out[out == np.iinfo(np.int64).max] = 0
    return out.reshape(h, w).astype(np.uint16)
