"""Bar chart of the current emotion probabilities, one colour per emotion."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg

from ui import theme


class ProbabilityBars(pg.PlotWidget):
    """Class probabilities of the latest analysed frame (``probs`` C float32 in [0, 1])."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background=theme.BACKGROUND)
        self.plot = self.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setYRange(0, 1.0, padding=0.02)
        self.plot.getAxis("left").setTicks([[(0.0, "0"), (0.5, "0.5"), (1.0, "1")]])
        self.plot.showGrid(y=True, alpha=0.12)
        self.class_names: tuple[str, ...] = ()
        self.values = np.zeros(0, np.float32)
        self.bars: pg.BarGraphItem | None = None
        self.top_label = pg.TextItem("", color=theme.TEXT, anchor=(0.5, 1))
        self.plot.addItem(self.top_label, ignoreBounds=True)
        self.set_classes(("negative", "positive", "surprise", "others", "neutral"))

    def set_classes(self, names: Sequence[str]) -> None:
        """Class names in the network's output order (the bars' order and colours)."""
        names = tuple(names)
        if names == self.class_names:
            return
        self.class_names = names
        if self.bars is not None:
            self.plot.removeItem(self.bars)
        n = len(names)
        self.values = np.zeros(n, np.float32)
        self.bars = pg.BarGraphItem(
            x=np.arange(n), height=self.values, width=0.72,
            brushes=[pg.mkBrush(theme.emotion_hex(c)) for c in names],
            pens=[pg.mkPen(None) for _ in names],
        )
        self.plot.addItem(self.bars)
        self.plot.getAxis("bottom").setTicks([[(i, c) for i, c in enumerate(names)]])
        self.plot.setXRange(-0.6, n - 0.4, padding=0)
        self.top_label.setText("")

    def set_probs(self, probs: np.ndarray | None) -> None:
        """Show a C-vector of probabilities (None clears the bars)."""
        if probs is None:
            self.values = np.zeros(len(self.class_names), np.float32)
            self.top_label.setText("")
        else:
            probs = np.asarray(probs, np.float32).reshape(-1)
            if probs.shape[0] != len(self.class_names):
                raise ValueError(
                    f"expected {len(self.class_names)} probabilities for {self.class_names}, "
                    f"found {probs.shape[0]}"
                )
            self.values = probs
            k = int(np.argmax(probs))
            self.top_label.setText(f"{probs[k]:.2f}")
            self.top_label.setPos(k, min(float(probs[k]) + 0.12, 1.0))
        assert self.bars is not None
        self.bars.setOpts(height=self.values)
