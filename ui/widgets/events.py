"""The list of spotted expressions; clicking one seeks the recording to it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from ui import theme
from ui.history import match_ground_truth

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


class EventList(QTableWidget):
    """One row per spotted interval: time of onset, ME/MaE, emotion, confidence, frames, and
    whether it hits a ground-truth interval (IoU >= 0.5) when the source knows the truth.

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
        hit = match_ground_truth(iv, self.ground_truth)
        item = QTableWidgetItem("✓" if hit is not None else "✗")
        item.setForeground(QColor("#59a14f" if hit is not None else "#e15759"))
        item.setToolTip("matches a true interval (IoU ≥ 0.5)" if hit is not None
                        else "no true interval of this type overlaps with IoU ≥ 0.5")
        item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
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
