"""Colours and the dark theme of the desktop app.

One colour per emotion class, used everywhere an emotion appears (spotted regions in the score
plot, probability bars, the event list, ground-truth bands), so that a researcher learns the
mapping once. The palette is Tableau 10 (distinct on a dark background and reasonably
colour-blind safe); the 4-class names take the colour of the 7-class emotions they merge
(``positive`` = ``happy``, ``negative`` = ``anger``).
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from rt_sfamnet.emotions import normalise_emotion

#: Emotion class name -> hex colour (both the 4- and the 7-class settings, and ``neutral``).
EMOTION_COLORS: dict[str, str] = {
    # 7 classes
    "happy": "#59a14f",
    "surprise": "#edc948",
    "disgust": "#9c755f",
    "fear": "#b07aa1",
    "anger": "#e15759",
    "sad": "#4e79a7",
    "others": "#bab0ac",
    # 4 classes
    "positive": "#59a14f",
    "negative": "#e15759",
    # no expression
    "neutral": "#6b6b6b",
}

#: Colour of a spotted macro-expression without an emotion label, and unknown names.
UNKNOWN_COLOR = "#76b7b2"

#: Curve colours of the score plot.
RAW_SCORE_COLOR = "#9a9a9a"
MICRO_COLOR = "#f28e2b"
MACRO_COLOR = "#76b7b2"
ACCENT = "#4e9bd6"
BACKGROUND = "#1e1f22"
PANEL = "#26282c"
TEXT = "#e6e6e6"
MUTED_TEXT = "#a0a0a0"


def emotion_hex(name: str | None) -> str:
    """Hex colour (``"#rrggbb"``) of an emotion class name (any spelling); grey-teal if unknown."""
    if not name:
        return UNKNOWN_COLOR
    return EMOTION_COLORS.get(normalise_emotion(name), UNKNOWN_COLOR)


def emotion_color(name: str | None, alpha: int = 255) -> QColor:
    """:class:`QColor` of an emotion class name with opacity ``alpha`` in 0..255."""
    c = QColor(emotion_hex(name))
    c.setAlpha(int(alpha))
    return c


def type_label(kind: str) -> str:
    """Short label of an interval type: ``"micro"`` -> ``"ME"``, ``"macro"`` -> ``"MaE"``."""
    return {"micro": "ME", "macro": "MaE"}.get(kind, kind)


STYLE_SHEET = f"""
QMainWindow, QWidget {{ background: {BACKGROUND}; color: {TEXT}; }}
QToolBar {{ background: {PANEL}; border: none; spacing: 4px; padding: 2px; }}
QToolButton {{ padding: 4px 8px; border-radius: 4px; }}
QToolButton:hover {{ background: #34373c; }}
QToolButton:checked {{ background: #3b4048; }}
QToolButton:disabled {{ color: #666; }}
QStatusBar {{ background: {PANEL}; color: {MUTED_TEXT}; }}
QStatusBar QLabel {{ padding: 0 6px; color: {MUTED_TEXT}; }}
QTableWidget {{ background: {PANEL}; gridline-color: #33363b; border: none; }}
QHeaderView::section {{ background: #2d3035; color: {MUTED_TEXT}; border: none; padding: 3px; }}
QTableWidget::item:selected {{ background: #3b4a5c; }}
QGroupBox {{ border: 1px solid #383b40; border-radius: 4px; margin-top: 14px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 3px; color: {MUTED_TEXT}; }}
QComboBox, QDoubleSpinBox, QSpinBox {{ background: #2d3035; border: 1px solid #44474c;
    border-radius: 3px; padding: 1px 4px; }}
QSlider::groove:horizontal {{ height: 4px; background: #44474c; border-radius: 2px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT}; border-radius: 2px; }}
QSlider::handle:horizontal {{ background: {TEXT}; width: 12px; margin: -5px 0; border-radius: 6px; }}
QLabel#banner {{ padding: 6px 10px; border-radius: 4px; }}
QFrame#bannerError {{ background: #5c2226; border: 1px solid #a33; border-radius: 4px; }}
QFrame#bannerInfo {{ background: #233a52; border: 1px solid #3d6a96; border-radius: 4px; }}
QFrame#bannerWarning {{ background: #4a3a12; border: 1px solid #b8892a; border-radius: 4px; }}
QLabel#panelTitle {{ color: {MUTED_TEXT}; font-weight: bold; padding: 2px 4px; }}
"""


def apply_dark_theme(app: QApplication) -> None:
    """Fusion style, a dark palette and the app's style sheet."""
    app.setStyle("Fusion")
    pal = QPalette()
    pal.setColor(QPalette.ColorRole.Window, QColor(BACKGROUND))
    pal.setColor(QPalette.ColorRole.WindowText, QColor(TEXT))
    pal.setColor(QPalette.ColorRole.Base, QColor(PANEL))
    pal.setColor(QPalette.ColorRole.AlternateBase, QColor("#2b2d31"))
    pal.setColor(QPalette.ColorRole.Text, QColor(TEXT))
    pal.setColor(QPalette.ColorRole.Button, QColor(PANEL))
    pal.setColor(QPalette.ColorRole.ButtonText, QColor(TEXT))
    pal.setColor(QPalette.ColorRole.Highlight, QColor(ACCENT))
    pal.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    pal.setColor(QPalette.ColorRole.ToolTipBase, QColor(PANEL))
    pal.setColor(QPalette.ColorRole.ToolTipText, QColor(TEXT))
    app.setPalette(pal)
    app.setStyleSheet(STYLE_SHEET)
