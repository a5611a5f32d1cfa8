"""The reviewed interval on the score plot: a draggable region (onset..offset) and apex line."""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from ui import theme


def frames_of(t0: float, t1: float, apex_t: float, fps: float) -> tuple[int, int, int]:
    """``(onset, apex, offset)`` frames of a region ``[t0, t1)`` s and an apex at ``apex_t`` s
    (the region's right edge is the end of the offset frame); apex clamped into the bounds."""
    onset = max(0, int(round(t0 * fps)))
    offset = max(onset, int(round(t1 * fps)) - 1)
    apex = min(max(int(round(apex_t * fps)), onset), offset)
    return onset, apex, offset


class ReviewOverlay:
    """A movable region and apex line on ``plot`` (a ``pg.PlotItem``).

    Dragging either calls ``on_change(onset, apex, offset)`` (frames) once, when the drag ends.
    """

    def __init__(self, plot: pg.PlotItem, on_change: Callable[[int, int, int], None]) -> None:
        self.plot = plot
        self.on_change = on_change
        self.fps = 30.0
        fill = QColor(theme.ACCENT)
        fill.setAlpha(45)
        self.region = pg.LinearRegionItem(values=(0, 1), movable=True, brush=pg.mkBrush(fill),
                                          pen=pg.mkPen(theme.ACCENT, width=2))
        self.region.setZValue(20)
        self.apex = pg.InfiniteLine(pos=0.5, angle=90, movable=True,
                                    pen=pg.mkPen(theme.ACCENT, width=2,
                                                 style=Qt.PenStyle.DashLine),
                                    label="apex", labelOpts={"position": 0.08,
                                                             "color": theme.ACCENT})
        self.apex.setZValue(21)
        self.region.sigRegionChangeFinished.connect(self._finished)
        self.apex.sigPositionChangeFinished.connect(self._finished)
        self.shown = False

    def show(self, onset: int, apex: int | None, offset: int, fps: float) -> None:
        """Draw the interval (frames) on the plot."""
        self.fps = float(fps)
        for item in (self.region, self.apex):
            item.blockSignals(True)
        self.region.setRegion((onset / self.fps, (offset + 1) / self.fps))
        self.apex.setPos((onset if apex is None else apex) / self.fps)
        for item in (self.region, self.apex):
            item.blockSignals(False)
        if not self.shown:
            self.plot.addItem(self.region, ignoreBounds=True)
            self.plot.addItem(self.apex, ignoreBounds=True)
            self.shown = True

    def hide(self) -> None:
        if self.shown:
            self.plot.removeItem(self.region)
            self.plot.removeItem(self.apex)
            self.shown = False

    def frames(self) -> tuple[int, int, int]:
        """The drawn interval as ``(onset, apex, offset)`` frames."""
        t0, t1 = self.region.getRegion()
        return frames_of(float(t0), float(t1), float(self.apex.value()), self.fps)

    def _finished(self, *_: object) -> None:
        if self.shown:
            self.on_change(*self.frames())


__all__ = ["ReviewOverlay", "frames_of"]
