"""The three 42x42 input maps the network reads (u, v, w streams) as heat maps."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ui import theme
from ui.widgets.heat import colour_scale, heat_lut, heat_rgba

#: Stream names and units per flow mode (see ``rt_sfamnet.features.pair_maps``).
STREAMS: dict[str, tuple[tuple[str, str], tuple[str, str], tuple[str, str]]] = {
    "optical": (("O_u", "px"), ("O_v", "px"), ("O_strain", "")),
    "scene": (("S_u", "px"), ("S_v", "px"), ("S_w", "mm")),
    "hybrid": (("O_u", "px"), ("O_v", "px"), ("S_w", "mm")),
}

#: Default symmetric display ranges per flow mode: ± these for the u and v maps and for w.
#: Measured on the demo recording (hybrid maps of 150 samples): |O_u|, |O_v| have p95
#: 0.1-0.35 px and reach ~1 px during expressions; |S_w| has p95 1.9 mm, p99 5 mm. The
#: optical mode is the one real videos and webcams get; on the real clips of
#: ../shared/real-faces |O_u|, |O_v| have median 0.19 px, p95 0.83, p99 1.39 and reach 7 px
#: on a smile's onset (a range of 0.5 px left a still real face saturated), and O_strain (a
#: magnitude, >= 0) median 0.017, p95 0.09, p99 0.39.
DEFAULT_UV_RANGE = {"optical": 2.0, "scene": 0.5, "hybrid": 0.5}
DEFAULT_W_RANGE = {"optical": 0.25, "scene": 5.0, "hybrid": 5.0}


class InputMapsView(QWidget):
    """Three heat maps with fixed, symmetric colour levels (diverging map, white = 0).

    Levels never follow the data (``autoLevels=False``), so the strength of motion can be
    compared between frames: ± ``uv_range`` for the u and v maps and ± ``w_range`` for w.
    """

    levelsChanged = Signal(float, float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.mode = "hybrid"
        self.uv_range = DEFAULT_UV_RANGE["hybrid"]
        self.w_range = DEFAULT_W_RANGE["hybrid"]
        self.maps_drawn = 0
        self.last_maps: np.ndarray | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        head = QHBoxLayout()
        head.setContentsMargins(4, 0, 4, 0)
        self.title = QLabel("Network input (hybrid)")
        self.title.setObjectName("panelTitle")
        head.addWidget(self.title)
        head.addStretch(1)
        self.uv_spin = self._spin(self.uv_range, "Colour range of the u and v maps (±)")
        self.w_spin = self._spin(self.w_range, "Colour range of the w map (±)")
        self.uv_label = QLabel("u,v ±")
        self.w_label = QLabel("w ±")
        for w in (self.uv_label, self.uv_spin, self.w_label, self.w_spin):
            head.addWidget(w)
        layout.addLayout(head)

        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground(theme.BACKGROUND)
        self.plots.ci.setContentsMargins(2, 2, 2, 2)
        cmap = pg.colormap.get("CET-D1A")
        self.lut = cmap.getLookupTable(0.0, 1.0, 256)
        self.images: list[pg.ImageItem] = []
        self.captions: list[pg.TextItem] = []
        self.attention_images: list[pg.ImageItem] = []
        for i in range(3):
            vb = self.plots.addViewBox(row=0, col=i, lockAspect=True, invertY=True,
                                       enableMouse=False)
            vb.setMenuEnabled(False)
            vb.setDefaultPadding(0.0)
            img = pg.ImageItem()
            img.setLookupTable(self.lut)
            vb.addItem(img)
            vb.setRange(QRectF(0, 0, 42, 42), padding=0)
            cap = pg.TextItem("", color="#f0f0f0", anchor=(0, 0), fill=pg.mkBrush(20, 20, 20, 170))
            cap.setPos(0.5, 0.5)
            vb.addItem(cap, ignoreBounds=True)
            att = pg.ImageItem()  # the attention overlay of this stream (hidden until used)
            att.setZValue(5)
            att.setVisible(False)
            vb.addItem(att)
            att.setRect(QRectF(0, 0, 42, 42))
            self.images.append(img)
            self.captions.append(cap)
            self.attention_images.append(att)
        self.attention_scale = colour_scale()
        self.plots.addItem(self.attention_scale, row=0, col=3)
        self._heat_lut = heat_lut()
        layout.addWidget(self.plots, 1)
        self.uv_spin.valueChanged.connect(self._on_levels)
        self.w_spin.valueChanged.connect(self._on_levels)
        self.set_mode("hybrid")

    @staticmethod
    def _spin(value: float, tip: str) -> QDoubleSpinBox:
        s = QDoubleSpinBox()
        s.setDecimals(2)
        s.setRange(0.01, 100.0)
        s.setSingleStep(0.25)
        s.setValue(value)
        s.setToolTip(tip)
        s.setMaximumWidth(70)
        return s

    def _on_levels(self) -> None:
        self.set_levels(self.uv_spin.value(), self.w_spin.value())
        self.levelsChanged.emit(self.uv_range, self.w_range)

    def set_levels(self, uv_range: float, w_range: float) -> None:
        """Fixed symmetric colour levels: u, v in [-uv_range, uv_range], w in [-w_range, w_range]."""
        if uv_range <= 0 or w_range <= 0:
            raise ValueError(f"map ranges must be positive, found {uv_range}, {w_range}")
        self.uv_range, self.w_range = float(uv_range), float(w_range)
        for spin, v in ((self.uv_spin, self.uv_range), (self.w_spin, self.w_range)):
            if abs(spin.value() - v) > 1e-9:
                spin.blockSignals(True)
                spin.setValue(v)
                spin.blockSignals(False)
        for i, img in enumerate(self.images):
            r = self.levels(i)
            img.setLevels((-r, r))

    def levels(self, stream: int) -> float:
        """The ± range of stream 0 (u), 1 (v) or 2 (w)."""
        return self.uv_range if stream < 2 else self.w_range

    def set_mode(self, mode: str) -> None:
        """Name the streams after the flow mode (``optical``, ``scene`` or ``hybrid``)."""
        if mode not in STREAMS:
            raise ValueError(f"flow mode must be one of {sorted(STREAMS)}, found {mode!r}")
        self.mode = mode
        self.title.setText(f"Network input ({mode})")
        names = STREAMS[mode]
        for cap, (name, _unit) in zip(self.captions, names, strict=True):
            cap.setText(name)
        self.uv_label.setText(f"u,v ± ({names[0][1]})")
        self.w_label.setText(f"w ± ({names[2][1]})" if names[2][1] else "w ±")

    def set_maps(self, maps: np.ndarray) -> None:
        """Draw a 3x42x42 float32 array (u, v, w in the network's order)."""
        maps = np.asarray(maps)
        if maps.ndim != 3 or maps.shape[0] != 3:
            raise ValueError(f"input maps must be 3xHxW, found {maps.shape}")
        self.last_maps = maps
        for i, img in enumerate(self.images):
            r = self.levels(i)
            img.setImage(np.asarray(maps[i], np.float32), autoLevels=False, levels=(-r, r))
        self.maps_drawn += 1

    def set_attention(self, heat: np.ndarray | None) -> None:
        """Overlay ``3 x 42 x 42`` attention maps in [0, 1] (one per stream, u, v, w) on the
        input maps with the colour scale; None hides them."""
        if heat is None:
            for att in self.attention_images:
                att.setVisible(False)
            self.attention_scale.setVisible(False)
            return
        heat = np.asarray(heat)
        if heat.ndim != 3 or heat.shape[0] != 3:
            raise ValueError(f"attention maps must be 3xHxW, found {heat.shape}")
        for att, h in zip(self.attention_images, heat, strict=True):
            att.setImage(heat_rgba(h, self._heat_lut), autoLevels=False)
            att.setRect(QRectF(0, 0, h.shape[1], h.shape[0]))
            att.setVisible(True)
        self.attention_scale.setVisible(True)

    def clear(self) -> None:
        for img in self.images:
            img.clear()
        self.set_attention(None)
        self.last_maps = None
