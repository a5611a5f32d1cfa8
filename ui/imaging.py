"""Image helpers for display (NumPy only, no Qt): depth colourising and colour tables."""

from __future__ import annotations

import numpy as np

from rt_sfamnet.errors import RtSfamnetError


def turbo_lut() -> np.ndarray:
    """The 'turbo' colour table as a 256x3 uint8 array (near = red end is index 0)."""
    import pyqtgraph as pg

    lut = pg.colormap.get("turbo").getLookupTable(0.0, 1.0, 256, alpha=False)
    return np.ascontiguousarray(lut[::-1, :3], dtype=np.uint8)


def depth_range(depth: np.ndarray, box: tuple[float, float, float] | None = None,
                half_span_mm: float = 250.0) -> tuple[float, float] | None:
    """A display range ``(near, far)`` in mm for a depth image.

    Args:
        depth: HxW uint16 depth in mm (0 = no depth).
        box: optional face box ``(x0, y0, size)`` in pixels; the range is then centred on the
            median valid depth inside the box, ``± half_span_mm``.
        half_span_mm: half the width of the range around the face (mm).

    Returns:
        ``(near, far)`` in mm, or None if the image (or the box) holds no valid depth.
    """
    if depth.ndim != 2:
        raise RtSfamnetError(f"depth must be HxW, found shape {depth.shape}")
    if box is not None:
        x0, y0, size = (int(round(v)) for v in box)
        h, w = depth.shape
        xa, ya = max(x0, 0), max(y0, 0)
        xb, yb = min(x0 + size, w), min(y0 + size, h)
        if xb > xa and yb > ya:
            patch = depth[ya:yb:2, xa:xb:2]
            valid = patch[patch > 0]
            if valid.size:
                mid = float(np.median(valid))
                return mid - half_span_mm, mid + half_span_mm
    valid = depth[::4, ::4]
    valid = valid[valid > 0]
    if valid.size == 0:
        return None
    lo, hi = np.percentile(valid, (2.0, 98.0))
    if hi - lo < 50.0:
        hi = lo + 50.0
    return float(lo), float(hi)


def colorize_depth(depth: np.ndarray, near: float, far: float,
                   lut: np.ndarray | None = None) -> np.ndarray:
    """Colour a depth image for display.

    Args:
        depth: HxW uint16 depth in mm; 0 (no depth) is drawn black.
        near, far: the depth range (mm) spread over the colour table; values outside clip.
        lut: Nx3 uint8 colour table (default :func:`turbo_lut`, red = near).

    Returns:
        HxWx3 uint8 RGB image.
    """
    if depth.ndim != 2:
        raise RtSfamnetError(f"depth must be HxW, found shape {depth.shape}")
    if far <= near:
        raise RtSfamnetError(f"depth range must have far > near, found near={near}, far={far}")
    if lut is None:
        lut = turbo_lut()
    n = lut.shape[0]
    scale = (n - 1) / (far - near)
    idx = np.clip((depth.astype(np.float32) - near) * scale, 0, n - 1).astype(np.intp)
    out = lut[idx]
    out[depth == 0] = 0
    return out


class DepthColorizer:
    """:func:`colorize_depth` through a 65536-entry table (one lookup per pixel).

    The table is rebuilt only when the range moves by at least ``step_mm`` (the range is
    rounded to that step), so following a face costs one indexing operation per frame.
    """

    def __init__(self, lut: np.ndarray | None = None, step_mm: float = 10.0) -> None:
        self.lut = turbo_lut() if lut is None else np.asarray(lut, np.uint8)
        self.step_mm = float(step_mm)
        self._key: tuple[int, int] | None = None
        self._table: np.ndarray | None = None
        self.rebuilds = 0

    def rounded(self, near: float, far: float) -> tuple[float, float]:
        """The range actually used: ``near``/``far`` rounded to ``step_mm``."""
        s = self.step_mm
        lo, hi = round(near / s) * s, round(far / s) * s
        if hi <= lo:
            hi = lo + s
        return lo, hi

    def __call__(self, depth: np.ndarray, near: float, far: float) -> np.ndarray:
        """HxW uint16 depth (mm) -> HxWx3 uint8 RGB; 0 (no depth) is black."""
        if depth.ndim != 2 or depth.dtype != np.uint16:
            raise RtSfamnetError(f"depth must be HxW uint16, found {depth.shape} {depth.dtype}")
        lo, hi = self.rounded(near, far)
        key = (int(round(lo)), int(round(hi)))
        if key != self._key or self._table is None:
            values = np.arange(65536, dtype=np.uint16).reshape(1, -1)
            self._table = colorize_depth(values, lo, hi, self.lut)[0]
            self._key = key
            self.rebuilds += 1
        return self._table[depth]
