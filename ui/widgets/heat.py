"""Attention overlays in the app: the report's translucent layer
(:func:`rt_sfamnet.report.figures.heat_rgba`) with pyqtgraph's ``turbo`` table (the report's
colours: blue = low, red = high, as the paper's Fig. 7) and a 0-1 colour scale."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from rt_sfamnet.report.figures import HEAT_CMAP as CMAP  # the report's overlay, one definition
from rt_sfamnet.report.figures import MAX_ALPHA, heat_rgba


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
