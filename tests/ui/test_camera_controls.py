"""Camera settings dialog (ui.camera_controls) against a stand-in camera, and the window's
refusal without a live camera."""

from __future__ import annotations

from rt_sfamnet.errors import SourceError


class FakeCamera:
    """Stands in for CameraSource: the dialog only calls get_options / set_options."""

    live = True
    recording = None

    def __init__(self) -> None:
        self.current = {"exposure": 8500.0, "auto_exposure": 0.0, "laser_power": 150.0,
                        "visual_preset": 1.0}
        self.sent: list[dict] = []

    def get_options(self) -> dict:
        return dict(self.current)

    def set_options(self, options: dict) -> dict:
        self.sent.append(dict(options))
        if options.get("laser_power", 0) > 300:
            raise SourceError("--camera laser_power=330: expected 0 to 300 in steps of 30")
        self.current.update({k: float(v) if not isinstance(v, str) else 3.0
                             for k, v in options.items()})
        return {k: self.current[k] for k in options}


def test_dialog_shows_and_applies_the_camera_controls(qtbot):
    from ui.camera_controls import CameraControlsDialog

    cam = FakeCamera()
    dlg = CameraControlsDialog(None, cam)
    qtbot.addWidget(dlg)
    assert dlg.exposure.value() == 8500 and dlg.laser.value() == 150
    assert dlg.preset.currentData() == "default" and dlg.exposure.isEnabled()
    dlg.exposure.setValue(3000)
    dlg.laser.setValue(240)
    dlg.preset.setCurrentIndex(dlg.preset.findData("high_accuracy"))
    assert dlg.apply()
    assert cam.sent[-1] == {"exposure": 3000.0, "laser_power": 240.0,
                            "visual_preset": "high_accuracy"}
    assert "Applied" in dlg.message.text()
    dlg.auto.setChecked(True)
    assert not dlg.exposure.isEnabled()
    assert "exposure" not in dlg.values() and dlg.values()["auto_exposure"] == 1.0
    dlg.laser.setValue(330)
    assert not dlg.apply()
    assert "expected 0 to 300" in dlg.message.text()


def test_camera_source_only_for_a_live_camera():
    from types import SimpleNamespace

    from ui.camera_controls import camera_source

    cam = FakeCamera()
    assert camera_source(SimpleNamespace(source=SimpleNamespace(inner=cam))) is cam
    assert camera_source(SimpleNamespace(source=cam)) is cam
    sim = SimpleNamespace(live=False)
    assert camera_source(SimpleNamespace(source=sim)) is None
    assert camera_source(None) is None


def test_window_refuses_without_a_camera(window):
    window.act_camera_settings.trigger()
    assert "live RealSense camera" in window.banner.text()
