"""Playback bar (play/pause, seek slider, speed) and the status-bar readouts."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QStatusBar,
    QStyle,
    QToolButton,
    QWidget,
)

from ui.widgets.events import format_time

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)


class PlaybackBar(QWidget):
    """Play/pause, a seek slider over the recording's frames, time and speed.

    Signals:
        playToggled(bool): True = play, False = pause (user action).
        seekRequested(int): frame the user dragged or clicked the slider to.
        speedChanged(float): playback speed factor.
    """

    playToggled = Signal(bool)
    seekRequested = Signal(int)
    speedChanged = Signal(float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        self.play_button = QToolButton()
        self.play_button.setCheckable(True)
        self.play_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.play_button.setMinimumWidth(84)
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.toggled.connect(self._on_play_toggled)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setToolTip("Seek (← / → step one second)")
        self.slider.sliderReleased.connect(self._on_slider_released)
        self.slider.actionTriggered.connect(self._on_slider_action)
        self.time_label = QLabel("0:00.0 / 0:00.0")
        self.time_label.setMinimumWidth(120)
        self.time_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.speed = QComboBox()
        for s in SPEEDS:
            self.speed.addItem(f"{s:g}×", s)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.setToolTip("Playback speed of recordings ( [ slower, ] faster )")
        self.speed.currentIndexChanged.connect(
            lambda i: self.speedChanged.emit(float(self.speed.itemData(i)))
        )
        layout.addWidget(self.play_button)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.time_label)
        layout.addWidget(self.speed)
        self.fps = 30.0
        self.frame_count: int | None = None
        self.position = 0
        self.set_playing(True)
        self.set_seekable(False, None, 30.0)

    # state set by the window ------------------------------------------------------------
    def set_seekable(self, seekable: bool, frame_count: int | None, fps: float) -> None:
        """Enable the slider and speed for recordings of ``frame_count`` frames."""
        self.fps = float(fps) if fps else 30.0
        self.frame_count = frame_count
        self.slider.setEnabled(bool(seekable and frame_count))
        self.speed.setEnabled(bool(seekable))
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, (frame_count or 1) - 1))
        self.slider.setPageStep(max(1, int(round(5 * self.fps))))
        self.slider.setSingleStep(max(1, int(round(self.fps))))
        self.slider.blockSignals(False)
        self.set_position(0)

    def set_playing(self, playing: bool) -> None:
        self.play_button.blockSignals(True)
        self.play_button.setChecked(playing)
        self.play_button.blockSignals(False)
        self._label_play_button(playing)

    def _label_play_button(self, playing: bool) -> None:
        icon = (QStyle.StandardPixmap.SP_MediaPause if playing
                else QStyle.StandardPixmap.SP_MediaPlay)
        self.play_button.setIcon(self.style().standardIcon(icon))
        self.play_button.setText("Pause" if playing else "Play")

    @property
    def playing(self) -> bool:
        return self.play_button.isChecked()

    def set_position(self, frame: int) -> None:
        """Move the slider to ``frame`` (unless the user is dragging it)."""
        self.position = int(frame)
        if not self.slider.isSliderDown():
            self.slider.blockSignals(True)
            self.slider.setValue(self.position)
            self.slider.blockSignals(False)
        total = "live" if not self.frame_count else format_time(self.frame_count / self.fps)
        self.time_label.setText(f"{format_time(self.position / self.fps)} / {total}")

    def set_speed(self, speed: float) -> None:
        i = self.speed.findData(float(speed))
        if i >= 0:
            self.speed.setCurrentIndex(i)

    def step_speed(self, direction: int) -> None:
        i = min(max(self.speed.currentIndex() + direction, 0), self.speed.count() - 1)
        self.speed.setCurrentIndex(i)

    # user actions -------------------------------------------------------------------------
    def _on_play_toggled(self, on: bool) -> None:
        self._label_play_button(on)
        self.playToggled.emit(on)

    def _on_slider_released(self) -> None:
        self.seekRequested.emit(int(self.slider.value()))

    def _on_slider_action(self, action: int) -> None:
        # clicks on the groove and keyboard steps (not drags: those seek on release)
        if action != QSlider.SliderAction.SliderMove:
            self.seekRequested.emit(int(self.slider.sliderPosition()))


class StatusPanel:
    """Readouts in the window's status bar: source, backend, input fps, analysed/s, latency,
    drops, weights, model (what the network is fed and was trained on, e.g. "no depth:
    optical-flow model · trained on synthetic faces"). ``fields`` maps each name to its
    QLabel (tests read them)."""

    NAMES = ("source", "backend", "input", "analysed", "latency", "drops", "weights", "model")

    def __init__(self, bar: QStatusBar) -> None:
        self.fields: dict[str, QLabel] = {}
        for name in self.NAMES:
            label = QLabel("")
            self.fields[name] = label
            if name == "source":
                bar.addWidget(label, 1)
            else:
                bar.addPermanentWidget(label)
        self.clear()

    def clear(self) -> None:
        self.fields["source"].setText("no source")
        for name in self.NAMES[1:]:
            self.fields[name].setText("")

    def set_source(self, text: str) -> None:
        self.fields["source"].setText(text)

    def set_weights(self, text: str) -> None:
        self.fields["weights"].setText(text)
        self.fields["weights"].setToolTip(text)

    def set_model(self, text: str) -> None:
        self.fields["model"].setText(text)
        self.fields["model"].setToolTip(text)

    def set_stats(self, stats: Any) -> None:
        """Fill the readouts from an ``EngineStats``-like object."""
        f = self.fields
        f["backend"].setText(f"backend {getattr(stats, 'backend', '?')}")
        f["input"].setText(f"in {float(getattr(stats, 'input_fps', 0.0) or 0.0):.1f} fps")
        f["analysed"].setText(
            f"analysed {float(getattr(stats, 'analyzed_per_s', 0.0) or 0.0):.1f}/s"
        )
        p50 = getattr(stats, "latency_ms_p50", None)
        p95 = getattr(stats, "latency_ms_p95", None)
        if p50 is None or p50 != p50:
            f["latency"].setText("latency –")
        else:
            f["latency"].setText(f"latency {p50:.0f} ms (p95 {p95:.0f})")
        dropped = getattr(stats, "dropped", {}) or {}
        total = int(sum(int(v) for v in dropped.values()))
        f["drops"].setText(f"drops {total}")
        f["drops"].setToolTip(
            ", ".join(f"{k}: {v}" for k, v in dropped.items()) or "no frames dropped"
        )
        f["drops"].setStyleSheet("color: #e15759;" if total else "")
