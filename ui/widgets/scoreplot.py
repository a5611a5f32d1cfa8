"""Scrolling plot of the spotting score, the ME/MaE-smoothed curves, thresholds and intervals."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QLabel, QVBoxLayout, QWidget

from ui import theme
from ui.history import ScoreHistory, truth_emotion

#: y of the ground-truth band above the score range (scores live in [0, 1]).
GT_BAND = (1.04, 1.14)
Y_RANGE = (-0.03, 1.17)
#: Label row of a spotted interval under the ground-truth band: MaE labels on the top row,
#: ME labels one row below, so that an ME inside a MaE keeps both labels readable. A label
#: that would overlap the previous one of its kind moves two rows down (see label_rows).
LABEL_ROWS = {"macro": 0, "micro": 1}
#: Gap kept between two labels on one row (pixels).
LABEL_GAP_PX = 6.0
#: Opacity (0..255) of a spotted region's fill and border, the same for ME and MaE.
REGION_FILL_ALPHA = 60
REGION_LINE_ALPHA = 200


def _legend_html(threshold_text: str, classes: Iterable[str] = ()) -> str:
    def swatch(color: str, text: str, dash: bool = False) -> str:
        line = "┄┄" if dash else "━━"
        return f'<span style="color:{color}">{line}</span>&nbsp;{text}'

    parts = [
        swatch(theme.RAW_SCORE_COLOR, "score"),
        swatch(theme.MICRO_COLOR, "ME-smoothed"),
        swatch(theme.MACRO_COLOR, "MaE-smoothed"),
        swatch("#dddddd", threshold_text, dash=True),
        '<span style="color:#dddddd">▬</span>&nbsp;ground truth',
    ]
    names = list(classes)
    if names:  # one swatch per emotion class: the colours of regions, bands and the list
        parts.append("spotted:&nbsp;" + " ".join(
            f'<span style="color:{theme.emotion_hex(c)}">■</span>&nbsp;{c}' for c in names))
    else:
        parts.append('<span style="color:#dddddd">▮</span>&nbsp;spotted (colour = emotion)')
    return "&nbsp;&nbsp; ".join(parts)  # a plain space: the legend may wrap there


def label_rows(labels: Sequence[tuple[str, float, float]]) -> list[int]:
    """Row of each spotted interval's label, ``labels`` = ``(kind, start_s, width_s)``.

    A kind's labels use its row in :data:`LABEL_ROWS` (MaE 0, ME 1) and the row two below it
    (MaE 2, ME 3). In order of start, a label takes the first of these rows where it does not
    overlap the label before it; if both are taken, the one whose last label ends first.
    """
    rows = [0] * len(labels)
    for kind in {k for k, _s, _w in labels}:
        base = LABEL_ROWS.get(kind, 1)
        ends = [float("-inf"), float("-inf")]  # right end of the last label per lane
        idx = sorted((i for i, lab in enumerate(labels) if lab[0] == kind),
                     key=lambda i: labels[i][1])
        for i in idx:
            _k, start, width = labels[i]
            lane = next((n for n in (0, 1) if start >= ends[n]), int(ends[1] < ends[0]))
            ends[lane] = start + width
            rows[i] = base + 2 * lane
    return rows


class _Region:
    """One interval drawn on the plot: a shaded region (spotted) or a band (ground truth).

    Attributes:
        kind: ``"micro"`` or ``"macro"``; ``emotion``: the emotion drawn (may be empty);
        color: its colour (hex); item, label: the plot items.
    """

    def __init__(self, plot: pg.PlotItem, t0: float, t1: float, text: str, color: str,
                 ground_truth: bool, kind: str = "micro", emotion: str = "") -> None:
        self.t0, self.t1 = t0, t1
        self.row = 0
        self.text = text
        self.color = color
        self.ground_truth = ground_truth
        self.kind, self.emotion = str(kind), str(emotion)
        c = QColor(color)
        if ground_truth:
            item = QGraphicsRectItem(QRectF(t0, GT_BAND[0], t1 - t0, GT_BAND[1] - GT_BAND[0]))
            fill = QColor(c)
            fill.setAlpha(200)
            item.setBrush(fill)
            pen = QPen(c)
            pen.setCosmetic(True)
            item.setPen(pen)
            if self.kind == "macro":
                # inside the (long) band, dark on its colour: text longer than the band
                # runs into the dark background, where it cannot be seen
                label = pg.TextItem(text, color=theme.BACKGROUND, anchor=(0, 0.5))
                label.setPos(t0, sum(GT_BAND) / 2)
                label.setFont(_bold_font())
            else:
                # beside the band (after its end), so short ME bands stay visible
                label = pg.TextItem(text, color=c, anchor=(0, 0.5))
                label.setPos(t1, sum(GT_BAND) / 2)
        else:
            fill = QColor(c)
            fill.setAlpha(REGION_FILL_ALPHA)
            line = QColor(c)
            line.setAlpha(REGION_LINE_ALPHA)
            item = pg.LinearRegionItem(
                values=(t0, t1), movable=False, brush=pg.mkBrush(fill), pen=pg.mkPen(line)
            )
            self.row = LABEL_ROWS.get(self.kind, 1)
            label = pg.TextItem(text, color=c, anchor=(0, -1.1 * self.row),
                                fill=pg.mkBrush(30, 31, 34, 200))
            label.setPos(t0, 1.0)
            label.setFont(_bold_font())
        item.setZValue(-5 if not ground_truth else 2)
        label.setZValue(8)
        plot.addItem(item, ignoreBounds=True)
        plot.addItem(label, ignoreBounds=True)
        self.item, self.label = item, label
        self.visible = True

    def set_row(self, row: int) -> None:
        """Put the label on row ``row``: its top edge ``row`` label-heights below y = 1."""
        if row != self.row:
            self.row = row
            self.label.setAnchor((0, -1.1 * row))

    def label_width_px(self) -> float:
        return float(self.label.textItem.boundingRect().width())

    def set_visible(self, on: bool) -> None:
        if on != self.visible:
            self.item.setVisible(on)
            self.label.setVisible(on)
            self.visible = on

    def remove(self, plot: pg.PlotItem) -> None:
        plot.removeItem(self.item)
        plot.removeItem(self.label)


def _bold_font() -> QFont:
    font = QFont()
    font.setBold(True)
    return font


def interval_text(iv: Any, ground_truth: bool = False) -> str:
    """Label of an interval: type (ME/MaE), emotion, and the confidence when known.

    A spotted interval without an emotion shows "—" in its place ("MaE — 0.61"); a true
    interval shows its emotion, or the simulator's prototype emotion of a MaE.
    """
    parts = ["GT" if ground_truth else "", theme.type_label(str(iv.type))]
    emotion = truth_emotion(iv) if ground_truth else str(getattr(iv, "emotion", "") or "")
    if emotion or not ground_truth:
        parts.append(emotion or "—")
    score = getattr(iv, "score", None)
    if score is not None and not ground_truth:
        parts.append(f"{float(score):.2f}")
    return " ".join(p for p in parts if p)


class ScorePlot(QWidget):
    """Score curves over a fixed time window that follows the playback position.

    Curves are downsampled (peak mode) and clipped to the view, so an hour of scores costs
    the same to draw as a minute. ``x`` is time in seconds (frame / fps).
    """

    def __init__(self, window_s: float = 20.0, parent=None) -> None:
        super().__init__(parent)
        self.window_s = float(window_s)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.legend.setStyleSheet(f"color: {theme.MUTED_TEXT}; padding: 2px 6px;")
        layout.addWidget(self.legend)
        self.widget = pg.PlotWidget(background=theme.BACKGROUND)
        layout.addWidget(self.widget, 1)
        self.plot: pg.PlotItem = self.widget.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.showGrid(x=True, y=True, alpha=0.12)
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.setLabel("left", "score")
        self.plot.setYRange(*Y_RANGE, padding=0)
        self.plot.getAxis("left").setTicks([[(0.0, "0"), (0.5, "0.5"), (1.0, "1"),
                                             (sum(GT_BAND) / 2, "GT")]])
        self.curves: dict[str, pg.PlotDataItem] = {}
        for name, color, width in (
            ("score", theme.RAW_SCORE_COLOR, 1.0),
            ("macro", theme.MACRO_COLOR, 2.0),
            ("micro", theme.MICRO_COLOR, 2.0),
        ):
            c = self.plot.plot(pen=pg.mkPen(color, width=width), connect="finite")
            c.setDownsampling(auto=True, method="peak")
            c.setClipToView(True)
            self.curves[name] = c
        self.cursor = pg.InfiniteLine(angle=90, movable=False,
                                      pen=pg.mkPen("#ffffff", width=1, style=Qt.PenStyle.DotLine))
        self.plot.addItem(self.cursor, ignoreBounds=True)
        self.plot.getViewBox().sigResized.connect(self._layout_labels)
        self.threshold_lines: list[pg.InfiniteLine] = []
        self.thresholds: tuple[float | None, float | None] = (None, None)
        self.spotted: list[_Region] = []
        self.ground_truth: list[_Region] = []
        self._drawn_version = -1
        self.now_s = 0.0
        self.classes: tuple[str, ...] = ()
        self._threshold_legend = "threshold"
        self.set_thresholds(None, None)
        self.set_now(0.0)

    # thresholds -----------------------------------------------------------------------
    def set_thresholds(self, micro: float | None, macro: float | None) -> None:
        """Horizontal dashed lines at the ME and MaE thresholds (one line if equal)."""
        for line in self.threshold_lines:
            self.plot.removeItem(line)
        self.threshold_lines = []
        self.thresholds = (micro, macro)
        specs: list[tuple[float, str, str]] = []
        if micro is not None and macro is not None and abs(micro - macro) < 1e-9:
            specs.append((micro, f"threshold {micro:.3g} (ME, MaE)", "#dddddd"))
            legend = "threshold"
        else:
            if micro is not None:
                specs.append((micro, f"ME threshold {micro:.3g}", theme.MICRO_COLOR))
            if macro is not None:
                specs.append((macro, f"MaE threshold {macro:.3g}", theme.MACRO_COLOR))
            legend = "thresholds"
        for y, text, color in specs:
            line = pg.InfiniteLine(
                pos=y, angle=0, movable=False,
                pen=pg.mkPen(color, width=1, style=Qt.PenStyle.DashLine),
                label=text,
                labelOpts={"position": 0.02, "color": color, "anchors": [(0, 1), (0, 1)]},
            )
            self.plot.addItem(line, ignoreBounds=True)
            self.threshold_lines.append(line)
        self._threshold_legend = legend
        self.legend.setText(_legend_html(legend, self.classes))

    def set_classes(self, names: Iterable[str]) -> None:
        """Emotion classes of the network: one colour swatch each in the legend."""
        self.classes = tuple(str(n) for n in names)
        self.legend.setText(_legend_html(self._threshold_legend, self.classes))

    # curves ---------------------------------------------------------------------------
    def set_history(self, history: ScoreHistory) -> None:
        """Redraw the curves from ``history`` (skipped when nothing changed)."""
        if history.version == self._drawn_version:
            return
        self._drawn_version = history.version
        t, score, micro, macro = history.arrays()
        for name, y in (("score", score), ("micro", micro), ("macro", macro)):
            if len(t) and np.isfinite(y).any():
                self.curves[name].setData(t, y)
            else:
                self.curves[name].setData([], [])

    def curve_points(self, name: str) -> int:
        """Number of finite points of curve ``score``, ``micro`` or ``macro`` (for tests)."""
        _x, y = self.curves[name].getOriginalDataset()
        if y is None:
            return 0
        return int(np.isfinite(np.asarray(y, dtype=float)).sum())

    def set_now(self, t: float) -> None:
        """Move the window so it ends at time ``t`` (s) and mark ``t`` with the cursor."""
        self.now_s = float(t)
        end = max(self.now_s, self.window_s * 0.98)
        start = end - self.window_s
        self.plot.setXRange(start, end + 0.02 * self.window_s, padding=0)
        self.cursor.setPos(self.now_s)
        for r in self.spotted:
            r.set_visible(r.t1 >= start and r.t0 <= end + self.window_s * 0.02)
        for r in self.ground_truth:
            r.set_visible(r.t1 >= start and r.t0 <= end + self.window_s * 0.02)

    def set_window(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError(f"window must be positive, found {seconds}")
        self.window_s = float(seconds)
        self.set_now(self.now_s)
        self._layout_labels()

    # intervals ------------------------------------------------------------------------
    def add_spotted(self, iv: Any, fps: float) -> None:
        """Shade a spotted interval (``type``, ``onset``, ``offset`` frames, ``emotion``,
        ``score``) in its emotion's colour with a label."""
        t0 = int(iv.onset) / fps
        t1 = (int(iv.offset) + 1) / fps
        emotion = str(getattr(iv, "emotion", "") or "")
        self.spotted.append(
            _Region(self.plot, t0, t1, interval_text(iv), theme.emotion_hex(emotion), False,
                    str(iv.type), emotion)
        )
        self._layout_labels()

    def _layout_labels(self, *_: object) -> None:
        """Rows of the spotted labels (:func:`label_rows`) at the current seconds per pixel."""
        if not self.spotted:
            return
        s_per_px = self.window_s * 1.02 / max(float(self.plot.getViewBox().width()), 100.0)
        rows = label_rows([(r.kind, r.t0, (r.label_width_px() + LABEL_GAP_PX) * s_per_px)
                           for r in self.spotted])
        for r, row in zip(self.spotted, rows, strict=True):
            r.set_row(row)

    def set_ground_truth(self, intervals: Iterable[Any] | None, fps: float) -> None:
        """Draw true intervals as bands above the score range (replaces earlier ones)."""
        for r in self.ground_truth:
            r.remove(self.plot)
        self.ground_truth = []
        for iv in intervals or []:
            t0 = int(iv.onset) / fps
            t1 = (int(iv.offset) + 1) / fps
            emotion = truth_emotion(iv)
            self.ground_truth.append(
                _Region(self.plot, t0, t1, interval_text(iv, ground_truth=True),
                        theme.emotion_hex(emotion), True, str(iv.type), emotion)
            )
        self.set_now(self.now_s)

    def clear_spotted(self) -> None:
        for r in self.spotted:
            r.remove(self.plot)
        self.spotted = []

    def clear(self) -> None:
        """Remove curves and every interval (a new source)."""
        self.clear_spotted()
        self.set_ground_truth(None, 1.0)
        for c in self.curves.values():
            c.setData([], [])
        self._drawn_version = -1
        self.set_now(0.0)
