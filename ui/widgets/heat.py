"""Attention overlays: a heat map in [0, 1] as a translucent RGBA layer, and its colour scale.

The colours are the report's (matplotlib ``turbo`` through pyqtgraph: blue = low, red = high,
as the paper's Fig. 7); the opacity grows with the value, so cold regions leave the image
underneath visible.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

#: Opacity (0-255) of a pixel at heat 1; heat 0 is transparent.
MAX_ALPHA = 170
CMAP = "turbo"


def heat_rgba(heat: np.ndarray, lut: np.ndarray, max_alpha: int = MAX_ALPHA) -> np.ndarray:
    """``H x W`` float in [0, 1] -> ``H x W x 4`` uint8 RGBA (colour from ``lut``, 256 x 3
    uint8; alpha ``max_alpha * heat``)."""
    h = np.clip(np.asarray(heat, dtype=np.float32), 0.0, 1.0)
    if h.ndim != 2:
        raise ValueError(f"heat must be H x W, found shape {h.shape}")
    idx = np.rint(h * 255.0).astype(np.intp)
    out = np.empty(h.shape + (4,), np.uint8)
    out[..., :3] = np.asarray(lut, np.uint8)[idx, :3]
    out[..., 3] = np.rint(h * max_alpha).astype(np.uint8)
    return out


def heat_lut() -> np.ndarray:
    """256 x 3 uint8 colour table of the overlay (low = index 0)."""
    lut = pg.colormap.get(CMAP).getLookupTable(0.0, 1.0, 256, alpha=False)
    return np.ascontiguousarray(lut[:, :3], dtype=np.uint8)


def colour_scale(label: str = "attention") -> pg.ColorBarItem:
    """A fixed 0-1 colour bar of the overlay's colour map (not interactive)."""
    bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=pg.colormap.get(CMAP), interactive=False,
                          width=12, label=label)
    bar.setVisible(False)
    return bar


__all__ = ["CMAP", "MAX_ALPHA", "colour_scale", "heat_lut", "heat_rgba"]
