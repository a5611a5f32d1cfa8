"""Colour view (face box + landmarks) and colourised depth view."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QTimer
from PySide6.QtGui import QColor, QFont, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from ui import theme
from ui.imaging import DepthColorizer, depth_range
from ui.widgets.heat import colour_scale, heat_lut, heat_rgba


class _ImageView(pg.GraphicsLayoutWidget):
    """A fixed-aspect image in a view box with a caption overlay (no mouse interaction)."""

    def __init__(self, caption: str, parent=None) -> None:
        super().__init__(parent)
        self.setBackground(theme.BACKGROUND)
        self.ci.setContentsMargins(0, 0, 0, 0)
        self.view = self.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.view.setMenuEnabled(False)
        self.view.setDefaultPadding(0.0)
        self.image = pg.ImageItem()
        self.view.addItem(self.image)
        self.caption = caption
        self.placeholder = pg.TextItem("", color=theme.MUTED_TEXT, anchor=(0.5, 0.5))
        self.view.addItem(self.placeholder, ignoreBounds=True)
        self._shape: tuple[int, int] | None = None
        self.frames_drawn = 0
        self.set_placeholder("no source")

    def set_placeholder(self, text: str) -> None:
        """Show ``text`` centred (e.g. "no source") until the next image."""
        self.placeholder.setText(text)
        self.placeholder.setVisible(bool(text))
        if self._shape is None:
            self.view.setRange(QRectF(0, 0, 640, 480), padding=0)
            self.placeholder.setPos(320, 240)

    def _set_shape(self, h: int, w: int) -> None:
        if self._shape != (h, w):
            self._shape = (h, w)
            self.view.setRange(QRectF(0, 0, w, h), padding=0)
            self.placeholder.setPos(w / 2, h / 2)

    def clear_image(self, placeholder: str = "no source") -> None:
        """Remove the image (and overlays) and show ``placeholder``.

        (Not ``clear``: GraphicsLayoutWidget binds that name to its layout.)
        """
        self.image.clear()
        self._shape = None
        self.set_placeholder(placeholder)


class VideoView(_ImageView):
    """Live colour image with the tracked face: crop box (square) and 468 landmarks.

    ``set_frame(color, observation)`` takes an HxWx3 uint8 RGB image and a
    ``FaceObservation``-like object (``box`` with ``x0, y0, size`` in pixels, ``landmarks``
    468x3 float32 with x, y in pixels) or None when no face was found.
    """

    def __init__(self, parent=None) -> None:
        super().__init__("colour", parent)
        self.box = QGraphicsRectItem()
        pen = QPen(QColor(theme.ACCENT))
        pen.setWidthF(2.0)
        pen.setCosmetic(True)
        self.box.setPen(pen)
        self.box.setZValue(5)
        self.box.setVisible(False)
        self.view.addItem(self.box, ignoreBounds=True)
        self.landmarks = pg.ScatterPlotItem(
            size=2.2, pen=None, brush=pg.mkBrush(120, 230, 200, 170), pxMode=True
        )
        self.landmarks.setZValue(6)
        self.view.addItem(self.landmarks, ignoreBounds=True)
        self.face_label = pg.TextItem("", color="#ffb000", anchor=(1, 0),
                                      fill=pg.mkBrush(20, 20, 20, 170))
        self.face_label.setZValue(10)
        self.view.addItem(self.face_label, ignoreBounds=True)
        self.face_label.setVisible(False)
        self.show_landmarks = True
        self.face_visible = False
        self.event_badge = pg.TextItem("", color="#111111", anchor=(0, 1))
        self.event_badge.setZValue(12)
        self.event_badge.setVisible(False)
        self.view.addItem(self.event_badge, ignoreBounds=True)
        self._badge_timer = QTimer(self)
        self._badge_timer.setSingleShot(True)
        self._badge_timer.timeout.connect(lambda: self.event_badge.setVisible(False))
        self._attention_layer()

    def _attention_layer(self) -> None:
        """The attention overlay on the face box and its colour scale (hidden until used)."""
        self.attention = pg.ImageItem()
        self.attention.setZValue(5)
        self.attention.setVisible(False)
        self.view.addItem(self.attention, ignoreBounds=True)
        self.attention_scale = colour_scale()
        self.addItem(self.attention_scale, row=0, col=1)
        self._heat_lut = heat_lut()

    def set_attention(self, heat: np.ndarray | None, box: tuple[int, int, int] | None = None
                      ) -> None:
        """Overlay a ``42 x 42`` attention map in [0, 1] on the face crop ``box`` (``x0, y0,
        size`` in frame pixels: the crop the network saw); None hides it."""
        if heat is None or box is None:
            self.attention.setVisible(False)
            self.attention_scale.setVisible(False)
            return
        x0, y0, size = (float(v) for v in box)
        self.attention.setImage(heat_rgba(heat, self._heat_lut), autoLevels=False)
        self.attention.setRect(QRectF(x0, y0, size, size))
        self.attention.setVisible(True)
        self.attention_scale.setVisible(True)

    def flash_event(self, text: str, color: str, seconds: float = 2.5) -> None:
        """Show ``text`` (e.g. "ME · happy") on the video for ``seconds``, on ``color``."""
        font = QFont()
        font.setPointSize(14)
        font.setBold(True)
        self.event_badge.setFont(font)
        self.event_badge.fill = pg.mkBrush(color)
        self.event_badge.setText(f" {text} ")
        h = self._shape[0] if self._shape else 480
        self.event_badge.setPos(8, h - 8)
        self.event_badge.setVisible(True)
        self._badge_timer.start(int(seconds * 1000))

    def set_frame(self, color: np.ndarray, observation=None, update_face: bool = True) -> None:
        """Draw an HxWx3 uint8 RGB image; with ``update_face`` also the observation's box
        and landmarks (else the previous ones stay)."""
        if color.ndim != 3 or color.shape[2] != 3:
            raise ValueError(f"colour image must be HxWx3, found {color.shape}")
        h, w = color.shape[:2]
        self._set_shape(h, w)
        self.placeholder.setVisible(False)
        self.image.setImage(color, autoLevels=False)  # uint8 RGB: no rescaling
        self.face_label.setPos(w - 4, 4)
        self.event_badge.setPos(8, h - 8)
        if update_face:
            self.set_observation(observation)
        self.frames_drawn += 1

    def clear_image(self, placeholder: str = "no source") -> None:
        super().clear_image(placeholder)
        self.set_attention(None)
        self.set_observation(None)
        self.face_label.setText("")
        self.face_label.setVisible(False)

    def set_observation(self, observation) -> None:
        if observation is None:
            self.box.setVisible(False)
            self.landmarks.setVisible(False)
            self.face_label.setText("no face")
            self.face_label.setVisible(True)
            self.face_visible = False
            return
        box = observation.box
        self.box.setRect(QRectF(float(box.x0), float(box.y0), float(box.size), float(box.size)))
        self.box.setVisible(True)
        lm = getattr(observation, "landmarks", None)
        if self.show_landmarks and lm is not None and len(lm):
            lm = np.asarray(lm)
            self.landmarks.setData(x=lm[:, 0], y=lm[:, 1])
            self.landmarks.setVisible(True)
        else:
            self.landmarks.setVisible(False)
        self.face_label.setText("")
        self.face_label.setVisible(False)
        self.face_visible = True


class DepthView(_ImageView):
    """Depth aligned to colour, colourised (red = near) around the face's distance.

    The range follows the median depth inside the face box (± 250 mm), eased over frames so
    the colours do not flicker; without a face it spans the 2nd-98th percentile. A stream that
    has shown no valid depth yet (an RGB-only source) is black, labelled "no depth".
    """

    def __init__(self, parent=None) -> None:
        super().__init__("depth", parent)
        self._colorize = DepthColorizer()
        self._range: tuple[float, float] | None = None
        self.range_label = pg.TextItem("", color=theme.TEXT, anchor=(1, 1),
                                       fill=pg.mkBrush(20, 20, 20, 170))
        self.range_label.setZValue(10)
        self.view.addItem(self.range_label, ignoreBounds=True)

    @property
    def depth_range(self) -> tuple[float, float] | None:
        """Current display range (near, far) in mm."""
        return self._range

    def set_depth(self, depth: np.ndarray, observation=None) -> None:
        """Draw an HxW uint16 depth image (mm), shown at half resolution."""
        if depth.ndim != 2:
            raise ValueError(f"depth must be HxW, found {depth.shape}")
        h, w = depth.shape
        small = depth[::2, ::2]
        box = None
        if observation is not None:
            b = observation.box
            box = (b.x0 / 2.0, b.y0 / 2.0, b.size / 2.0)
        rng = depth_range(small, box) if self.frames_drawn % 3 == 0 or self._range is None else None
        if rng is not None:
            if self._range is None:
                self._range = rng
            else:
                a = 0.15
                self._range = (
                    (1 - a) * self._range[0] + a * rng[0],
                    (1 - a) * self._range[1] + a * rng[1],
                )
        near, far = self._range if self._range is not None else (0.0, 1000.0)
        rgb = self._colorize(np.ascontiguousarray(small), near, far)
        self._set_shape(h, w)
        self.placeholder.setVisible(False)
        self.image.setImage(rgb, autoLevels=False)
        self.image.setRect(QRectF(0, 0, w, h))
        self.range_label.setPos(w - 4, h - 4)
        # an RGB-only source (all-zero depth) has no range to state
        self.range_label.setText("no depth" if self._range is None
                                 else f"{near / 1000:.2f}–{far / 1000:.2f} m")
        self.frames_drawn += 1


__all__ = ["VideoView", "DepthView"]
