"""The review panel: the reviewed intervals and the fields of the selected one (layout only).

Nothing here changes the review: the panel emits what the user chose and
:class:`ui.review.controller.ReviewController` applies it.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rt_sfamnet.emotions import EMOTIONS7
from ui import theme
from ui.widgets.events import format_time

#: Emotion choices of the review (7-class; "" = none).
REVIEW_EMOTIONS = ("", *EMOTIONS7)
#: Loop speeds offered (x real time); 0.25 is the default.
LOOP_SPEEDS = (0.1, 0.25, 0.5, 1.0)
STATUS_COLORS = {"pending": theme.MUTED_TEXT, "accepted": "#59a14f", "rejected": "#e15759",
                 "edited": "#f2c14e", "added": theme.ACCENT}
COLUMNS = ("time", "type", "emotion", "frames", "status", "AU")


class ReviewPanel(QWidget):
    """Table of the review's rows and editors of the selected row.

    Signals:
        rowSelected(int): the user clicked a row.
        typeChosen(str): ``micro`` or ``macro``; emotionChosen(str); auEdited(str);
        subjectEdited(str); speedChosen(float): loop speed.
    """

    rowSelected = Signal(int)
    typeChosen = Signal(str)
    emotionChosen = Signal(str)
    auEdited = Signal(str)
    subjectEdited = Signal(str)
    speedChosen = Signal(float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.title = QLabel("No review")
        self.title.setWordWrap(True)
        lay.addWidget(self.title)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.table.cellClicked.connect(lambda r, _c: self.rowSelected.emit(r))
        lay.addWidget(self.table, 1)
        form = QFormLayout()
        self.type_combo = QComboBox()
        self.type_combo.addItem("ME (micro)", "micro")
        self.type_combo.addItem("MaE (macro)", "macro")
        self.type_combo.activated.connect(
            lambda i: self.typeChosen.emit(self.type_combo.itemData(i)))
        self.emotion_combo = QComboBox()
        for e in REVIEW_EMOTIONS:
            self.emotion_combo.addItem(e or "— (none)", e)
        self.emotion_combo.activated.connect(
            lambda i: self.emotionChosen.emit(self.emotion_combo.itemData(i)))
        self.au_edit = QLineEdit()
        self.au_edit.setPlaceholderText("e.g. AU6+AU12 (Enter to keep)")
        self.au_edit.editingFinished.connect(lambda: self.auEdited.emit(self.au_edit.text()))
        self.subject_edit = QLineEdit()
        self.subject_edit.editingFinished.connect(
            lambda: self.subjectEdited.emit(self.subject_edit.text()))
        self.speed_combo = QComboBox()
        for s in LOOP_SPEEDS:
            self.speed_combo.addItem(f"{s:g}×", s)
        self.speed_combo.setCurrentIndex(LOOP_SPEEDS.index(0.25))
        self.speed_combo.activated.connect(
            lambda i: self.speedChosen.emit(float(self.speed_combo.itemData(i))))
        self.bounds = QLabel("")
        for w in (self.type_combo, self.emotion_combo, self.speed_combo):
            w.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        form.addRow("Type (T)", self.type_combo)
        form.addRow("Emotion (E)", self.emotion_combo)
        form.addRow("AU (U)", self.au_edit)
        form.addRow("Bounds", self.bounds)
        form.addRow("Loop speed", self.speed_combo)
        form.addRow("Subject", self.subject_edit)
        lay.addLayout(form)
        self.keys = QLabel(
            "N/P next/previous · A accept · X reject · 1/2/3 onset/apex/offset, "
            ", . move it one frame (or drag on the score plot) · T type · E emotion · "
            "U AU · I add · K loop · Ctrl+Z / Ctrl+Shift+Z undo/redo")
        self.keys.setWordWrap(True)
        self.keys.setStyleSheet(f"color: {theme.MUTED_TEXT};")
        lay.addWidget(self.keys)

    def set_rows(self, rows: Sequence, fps: float, current: int) -> None:
        """Show ``rows`` (:class:`rt_sfamnet.annotations.Row`) and select ``current``."""
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            cells = (format_time(r.onset / fps), theme.type_label(r.type), r.emotion or "—",
                     f"{r.onset}–{r.offset}", r.status, r.au)
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j == 4:
                    item.setForeground(QBrush(QColor(STATUS_COLORS.get(r.status, theme.TEXT))))
                if j == 2 and r.emotion:
                    item.setForeground(QBrush(theme.emotion_color(r.emotion)))
                self.table.setItem(i, j, item)
        self.show_current(rows[current] if 0 <= current < len(rows) else None, current)

    def show_current(self, row, index: int, boundary: str = "onset") -> None:
        """Fill the editors from ``row`` (None: nothing selected)."""
        self.table.blockSignals(True)
        if row is None:
            self.table.clearSelection()
        else:
            self.table.selectRow(index)
        self.table.blockSignals(False)
        for w in (self.type_combo, self.emotion_combo, self.au_edit):
            w.setEnabled(row is not None)
        if row is None:
            self.bounds.setText("")
            return
        self.type_combo.setCurrentIndex(self.type_combo.findData(row.type))
        i = self.emotion_combo.findData(row.emotion)
        if i < 0:  # e.g. a 4-class emotion of the spotter: shown as it is
            self.emotion_combo.addItem(row.emotion, row.emotion)
            i = self.emotion_combo.count() - 1
        self.emotion_combo.setCurrentIndex(i)
        if not self.au_edit.hasFocus():
            self.au_edit.setText(row.au)
        marks = {b: f"[{b}]" if b == boundary else b for b in ("onset", "apex", "offset")}
        apex = "—" if row.apex is None else row.apex
        self.bounds.setText(f"{marks['onset']} {row.onset} · {marks['apex']} {apex} · "
                            f"{marks['offset']} {row.offset}")

    def set_speed(self, speed: float) -> None:
        i = self.speed_combo.findData(float(speed))
        if i >= 0:
            self.speed_combo.setCurrentIndex(i)


__all__ = ["LOOP_SPEEDS", "REVIEW_EMOTIONS", "ReviewPanel"]
