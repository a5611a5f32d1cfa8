"""A non-modal message strip at the top of the window (errors stay, notices fade)."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton


class MessageBanner(QFrame):
    """Shows one message; ``kind`` is ``"error"`` (red, stays until closed or replaced),
    ``"warning"`` (amber, stays) or ``"info"`` (blue, hides itself after ``info_timeout_ms``).

    Tests read :attr:`kind` and :meth:`text`; every shown message is also appended to
    :attr:`history` as ``(kind, text)``.
    """

    def __init__(self, parent=None, info_timeout_ms: int = 6000) -> None:
        super().__init__(parent)
        self.setObjectName("bannerInfo")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        self.icon = QLabel()
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss")
        self.close_button.clicked.connect(self.dismiss)
        layout.addWidget(self.icon)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button)
        self.kind = ""
        self.history: list[tuple[str, str]] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.dismiss)
        self.info_timeout_ms = info_timeout_ms
        self.hide()

    def text(self) -> str:
        """The message shown now (empty when dismissed)."""
        return self.label.text()

    def show_error(self, text: str) -> None:
        self._show("error", text)

    def show_warning(self, text: str) -> None:
        self._show("warning", text)

    def show_info(self, text: str, sticky: bool = False) -> None:
        self._show("info", text)
        if not sticky:
            self._timer.start(self.info_timeout_ms)

    def _show(self, kind: str, text: str) -> None:
        self._timer.stop()
        self.kind = kind
        self.history.append((kind, text))
        self.setObjectName({"error": "bannerError", "warning": "bannerWarning"}.get(
            kind, "bannerInfo"))
        self.icon.setText("ℹ" if kind == "info" else "⚠")
        self.label.setText(text)
        # re-polish so the object-name style sheet rule applies
        self.style().unpolish(self)
        self.style().polish(self)
        self.show()

    def dismiss(self) -> None:
        self._timer.stop()
        self.kind = ""
        self.label.setText("")
        self.hide()
