"""The window says what the network is fed and was trained on: the status bar's model field
and the banner for synthetic-trained weights on a source that is not simulated (real Qt,
offscreen, the real engine on the test recording)."""

from __future__ import annotations

from PySide6.QtCore import QPoint

from tests.ui.helpers import CLIP


def _wait_open(qtbot, w, timeout=60_000):
    qtbot.waitUntil(lambda: not w.opening, timeout=timeout)


def test_synthetic_weights_on_a_real_recording_show_a_banner(window, qtbot, tmp_path):
    bare = tmp_path / "session.db3"  # the clip without its simulator sidecar
    bare.symlink_to(CLIP)
    window.open_source(str(bare))
    _wait_open(qtbot, window)
    assert window.banner.kind != "error", window.banner.text()
    b = window.weights_banner
    assert b.isVisible() and b.kind == "warning" and b.objectName() == "bannerWarning"
    assert "synthetic faces only" in b.text()
    # at the top of the window, above the panels
    top = b.mapTo(window, QPoint(0, 0)).y()
    assert top < window.main_split.mapTo(window, QPoint(0, 0)).y()
    assert b.height() > 0 and b.width() > window.width() // 2
    fields = window.status.fields
    assert fields["model"].text() == "depth: hybrid-flow model · trained on synthetic faces"
    assert fields["weights"].text() == "default weights (sfamnet-4emo)"
    # the simulator's own recording (its sidecar names subject "sim"): no banner
    window.open_source(str(CLIP))
    _wait_open(qtbot, window)
    assert not b.isVisible() and b.kind == ""
    assert fields["model"].text() == "depth: hybrid-flow model · trained on synthetic faces"


def test_source_without_depth_and_no_optical_weights_is_one_clear_error(window, qtbot, tmp_path,
                                                                       monkeypatch):
    from tests.weights_helpers import colour_only_folder, weights_dir

    monkeypatch.setattr("rt_sfamnet.weights.WEIGHTS_DIR",
                        weights_dir(tmp_path / "w", optical=False))
    folder = colour_only_folder(tmp_path / "EP01")
    window.open_source(str(folder))
    _wait_open(qtbot, window)
    assert window.banner.kind == "error"
    assert "source has no depth" in window.banner.text()
    assert "sfamnet-4emo-optical.safetensors" in window.banner.text()
    assert not window.weights_banner.isVisible() and window.status.fields["model"].text() == ""


def test_model_field_for_the_optical_flow_weights(window, qtbot, tmp_path, monkeypatch):
    from tests.weights_helpers import weights_dir

    monkeypatch.setattr("rt_sfamnet.weights.WEIGHTS_DIR", weights_dir(tmp_path / "w"))
    window.set_flow_mode("optical")  # no source yet: remembered
    window.open_source("sim:seed=3,duration=2")
    _wait_open(qtbot, window)
    assert window.banner.kind != "error", window.banner.text()
    assert window.engine.predictor.path.name == "sfamnet-4emo-optical.safetensors"
    assert window.status.fields["model"].text() == (
        "depth available: optical-flow model (depth not used) · trained on synthetic faces")
    assert window.status.fields["weights"].text() == "default weights (sfamnet-4emo-optical)"
    assert not window.weights_banner.isVisible()
    # the optical maps' own colour ranges: a real face's O_u, O_v reach several pixels
    maps = window.panels.maps
    assert (maps.mode, maps.uv_range, maps.w_range) == ("optical", 2.0, 0.25)
    window.set_flow_mode("hybrid")
    _wait_open(qtbot, window)
    qtbot.waitUntil(lambda: maps.mode == "hybrid", timeout=60_000)
    assert (maps.uv_range, maps.w_range) == (0.5, 5.0)
