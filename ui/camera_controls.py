"""Camera ▸ settings: exposure, laser power and visual preset of the live D415.

:class:`CameraControlsDialog` edits the controls of
:mod:`rt_sfamnet.sources.realsense.options` (the ones ``--camera KEY=VALUE`` sets) and
applies them to the streaming camera through ``CameraSource.set_options``: the view and the
analysis keep running. Values the camera refuses (out of its range) are shown as the
camera's one-line error and change nothing.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from rt_sfamnet.errors import RtSfamnetError
from rt_sfamnet.sources.realsense.options import VISUAL_PRESETS


class CameraControlsDialog(QDialog):
    """Exposure (µs, or auto), laser power (mW) and visual preset of ``source``.

    Args:
        parent: the window.
        source: an open camera source (``set_options`` / ``get_options``).
    """

    def __init__(self, parent: QWidget | None, source: Any) -> None:
        super().__init__(parent)
        self.setWindowTitle("Camera settings")
        self.source = source
        self.auto = QCheckBox("automatic exposure")
        self.exposure = QSpinBox()
        self.exposure.setRange(1, 165_000)
        self.exposure.setSuffix(" µs")
        self.laser = QSpinBox()
        self.laser.setRange(0, 360)
        self.laser.setSingleStep(30)
        self.laser.setSuffix(" mW")
        self.preset = QComboBox()
        for name in VISUAL_PRESETS[1:]:
            self.preset.addItem(name.replace("_", " "), name)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("Depth exposure", self.exposure)
        form.addRow("", self.auto)
        form.addRow("Laser power", self.laser)
        form.addRow("Visual preset", self.preset)
        form.addRow(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Apply
                                   | QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Apply).clicked.connect(self.apply)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.auto.toggled.connect(lambda on: self.exposure.setEnabled(not on))
        self.load()

    def load(self) -> None:
        """Show the camera's current values (controls it lacks stay at their defaults)."""
        try:
            current = dict(self.source.get_options())
        except (RtSfamnetError, RuntimeError, AttributeError):
            current = {}
        if "exposure" in current:
            self.exposure.setValue(int(current["exposure"]))
        self.auto.setChecked(bool(current.get("auto_exposure", 0.0)))
        self.exposure.setEnabled(not self.auto.isChecked())
        if "laser_power" in current:
            self.laser.setValue(int(current["laser_power"]))
        preset = int(current.get("visual_preset", 1))
        if 0 < preset < len(VISUAL_PRESETS):
            self.preset.setCurrentIndex(preset - 1)

    def values(self) -> dict[str, Any]:
        """The settings as ``set_options`` takes them."""
        out: dict[str, Any] = {"laser_power": float(self.laser.value()),
                               "visual_preset": self.preset.currentData()}
        if self.auto.isChecked():
            out["auto_exposure"] = 1.0
        else:
            out["exposure"] = float(self.exposure.value())
        return out

    def apply(self) -> bool:
        """Send the values to the camera; True when it took them all."""
        try:
            got = self.source.set_options(self.values())
        except RtSfamnetError as exc:
            self.message.setText(f"Not applied: {exc}")
            return False
        self.message.setText("Applied: " + ", ".join(f"{k} {v:g}" for k, v in got.items()))
        return True


def camera_source(engine: Any) -> Any:
    """The engine's source if it is a live camera with settable controls, else None."""
    src = getattr(engine, "source", None)
    inner = getattr(src, "inner", src)
    if inner is None or not getattr(inner, "live", False) or not hasattr(inner, "set_options"):
        return None
    if getattr(inner, "recording", None) is not None:  # a recording standing in for a camera
        return None
    return inner
