"""The list of spotted expressions; clicking one seeks the recording to it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from ui import theme
from ui.history import interval_iou, match_ground_truth, overlapping_truth, truth_emotion

COLUMNS = ("Time", "Type", "Emotion", "Conf.", "Frames", "GT")


def format_time(seconds: float) -> str:
    """``m:ss.s`` (or ``h:mm:ss.s`` past an hour)."""
    seconds = max(0.0, float(seconds))
    h, rest = divmod(seconds, 3600.0)
    m, s = divmod(rest, 60.0)
    if h >= 1:
        return f"{int(h)}:{int(m):02d}:{s:04.1f}"
    return f"{int(m)}:{s:04.1f}"


def _swatch(color: str) -> QIcon:
    pm = QPixmap(10, 10)
    pm.fill(QColor(color))
    return QIcon(pm)


HIT_COLOR = "#59a14f"
MISS_COLOR = "#e15759"


def ground_truth_text(iv: Any, truth: Iterable[Any] | None) -> tuple[str, str, Any]:
    """(cell text, tooltip, matched true interval or None) of the GT column for ``iv``.

    A hit (a true interval of the same type with IoU >= 0.5, the MEGC criterion) shows the
    true emotion: ``"✓ GT: happy"`` (``"✓ GT: —"`` when the truth has none); a miss shows
    ``"✗"``, and the tooltip names the true interval it overlaps most, if any.
    """
    hit = match_ground_truth(iv, truth)
    kind = theme.type_label(str(iv.type))
    if hit is not None:
        emotion = truth_emotion(hit)
        return (f"✓ GT: {emotion or '—'}",
                f"matches the true {kind} {int(hit.onset)}–{int(hit.offset)} "
                f"(IoU {interval_iou(iv, hit):.2f}), true emotion {emotion or 'unknown'}", hit)
    tip = f"no true {kind} overlaps with IoU ≥ 0.5"
    near, iou = overlapping_truth(iv, truth)
    if near is not None:
        tip += (f"; overlaps the true {theme.type_label(str(near.type))} "
                f"{int(near.onset)}–{int(near.offset)} ({truth_emotion(near) or 'no emotion'}, "
                f"IoU {iou:.2f})")
    return "✗", tip, None


class EventList(QTableWidget):
    """One row per spotted interval: time of onset, ME/MaE, emotion, confidence, frames, and
    whether it hits a ground-truth interval (IoU >= 0.5) when the source knows the truth,
    with the true emotion.

    Signals:
        eventActivated(int): onset frame of the row the user clicked or activated.
    """

    eventActivated = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setShowGrid(False)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setDefaultSectionSize(22)
        self.events: list[Any] = []
        self.ground_truth: list[Any] | None = None
        self.cellClicked.connect(self._activate)
        self.cellActivated.connect(self._activate)
        self.setToolTip("Click an event to replay the recording from there")

    def _activate(self, row: int, _col: int = 0) -> None:
        if 0 <= row < len(self.events):
            self.eventActivated.emit(int(self.events[row].onset))

    def set_ground_truth(self, truth: Iterable[Any] | None) -> None:
        """True intervals to match events against (None: no GT column values)."""
        self.ground_truth = list(truth) if truth is not None else None
        for row, iv in enumerate(self.events):
            self.setItem(row, 5, self._gt_item(iv))

    def _gt_item(self, iv: Any) -> QTableWidgetItem:
        if self.ground_truth is None:
            return QTableWidgetItem("")
        text, tip, hit = ground_truth_text(iv, self.ground_truth)
        if hit is not None:  # the swatch of the true emotion, next to the spotted one's
            item = QTableWidgetItem(_swatch(theme.emotion_hex(truth_emotion(hit))), text)
        else:
            item = QTableWidgetItem(text)
        item.setForeground(QColor(HIT_COLOR if hit is not None else MISS_COLOR))
        item.setToolTip(tip)
        return item

    def add_event(self, iv: Any, fps: float) -> None:
        """Append a SpottedInterval-like object (``type``, ``onset``, ``offset``, ``emotion``,
        ``score``) and scroll to it."""
        row = self.rowCount()
        self.insertRow(row)
        self.events.append(iv)
        emotion = str(getattr(iv, "emotion", "") or "")
        score = getattr(iv, "score", None)
        items = [
            QTableWidgetItem(format_time(int(iv.onset) / fps)),
            QTableWidgetItem(theme.type_label(str(iv.type))),
            QTableWidgetItem(_swatch(theme.emotion_hex(emotion)), emotion or "—"),
            QTableWidgetItem("" if score is None else f"{float(score):.2f}"),
            QTableWidgetItem(f"{int(iv.onset)}–{int(iv.offset)}"),
            self._gt_item(iv),
        ]
        items[2].setForeground(QColor(theme.emotion_hex(emotion)))
        items[1].setForeground(QColor(theme.MICRO_COLOR if iv.type == "micro"
                                      else theme.MACRO_COLOR))
        for col, item in enumerate(items):
            self.setItem(row, col, item)
        self.scrollToBottom()

    def clear_events(self) -> None:
        self.setRowCount(0)
        self.events = []
