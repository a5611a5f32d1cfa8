"""The attention overlay: widgets, the View menu toggle, latest-only work, review pinning."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from tests.ui.helpers import make_results, make_update
from ui.widgets.heat import MAX_ALPHA, heat_lut, heat_rgba
from ui.widgets.maps import InputMapsView
from ui.widgets.video import VideoView


def test_heat_rgba_colour_and_opacity_follow_the_value():
    lut = heat_lut()
    heat = np.array([[0.0, 0.5], [1.0, 2.0]], np.float32)  # 2.0 is clipped to 1
    rgba = heat_rgba(heat, lut)
    assert rgba.shape == (2, 2, 4) and rgba.dtype == np.uint8
    assert rgba[0, 0, 3] == 0 and rgba[1, 0, 3] == MAX_ALPHA and rgba[1, 1, 3] == MAX_ALPHA
    assert rgba[0, 1, 3] == round(0.5 * MAX_ALPHA)
    assert rgba[1, 0, :3].tolist() == lut[255].tolist()
    assert rgba[0, 0, :3].tolist() == lut[0].tolist()
    with pytest.raises(ValueError):
        heat_rgba(np.zeros((3, 4, 4)), lut)


def test_video_and_maps_overlays_with_colour_scales(qtbot):
    video, maps = VideoView(), InputMapsView()
    qtbot.addWidget(video)
    qtbot.addWidget(maps)
    heat = np.zeros((42, 42), np.float32)
    heat[10, 20] = 1.0
    video.set_attention(heat, (90, 60, 128))
    rect = video.attention.mapRectToParent(video.attention.boundingRect())
    assert (rect.x(), rect.y(), rect.width(), rect.height()) == (90.0, 60.0, 128.0, 128.0)
    assert video.attention.isVisible() and video.attention_scale.isVisible()
    assert video.attention.image.shape == (42, 42, 4)
    assert video.attention.image[10, 20, 3] == MAX_ALPHA and video.attention.image[0, 0, 3] == 0
    video.set_attention(None)
    assert not video.attention.isVisible() and not video.attention_scale.isVisible()
    streams = np.stack([heat, heat * 0.5, np.zeros_like(heat)])
    maps.set_attention(streams)
    assert all(a.isVisible() for a in maps.attention_images) and maps.attention_scale.isVisible()
    assert maps.attention_images[1].image[10, 20, 3] == round(0.5 * MAX_ALPHA)
    maps.clear()
    assert not any(a.isVisible() for a in maps.attention_images)
    with pytest.raises(ValueError):
        maps.set_attention(heat)


@pytest.fixture
def overlay(window, weights_file):
    """The window's attention controller with a real predictor's probe (no engine needed)."""
    from rt_sfamnet.predictor import Predictor

    ctl = window.attention
    ctl._on_opened(SimpleNamespace(engine=SimpleNamespace(
        predictor=Predictor.from_file(weights_file, device="cpu"))))
    yield ctl
    ctl.close()


def test_overlay_is_off_by_default_and_computes_nothing(window, overlay):
    assert not overlay.enabled and not window.acts.act_attention.isChecked()
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    texts = [a.text() for a in view.actions()]
    assert "Attention overlay" in texts and "Attention map" in texts
    window.apply_update(make_update(10, results=make_results([0, 2, 4])))
    assert overlay.worker.idle() and overlay.worker.computed == 0 and overlay.drawn == 0


def test_toggle_draws_the_newest_sample_on_face_and_maps(window, overlay, qtbot):
    window.acts.act_attention.trigger()  # View ▸ Attention overlay
    assert overlay.enabled
    results = [dataclasses.replace(r, box=(40, 30, 128)) for r in make_results([0, 2, 4])]
    window.apply_update(make_update(10, results=results))
    qtbot.waitUntil(lambda: overlay.drawn >= 1, timeout=10_000)
    qtbot.waitUntil(overlay.worker.idle, timeout=10_000)
    assert overlay.last[0].frame == 4  # the newest sample, not every sample
    assert overlay.worker.computed + overlay.worker.replaced == 1
    att = overlay.last[1]
    assert window.panels.video.attention.isVisible()
    np.testing.assert_array_equal(window.panels.maps.attention_images[0].image,
                                  heat_rgba(att.spot_streams[0], heat_lut()))
    overlay.set_kind("cbam")  # redraws the last maps with the chosen kind
    np.testing.assert_array_equal(window.panels.maps.attention_images[2].image,
                                  heat_rgba(att.spatial[2], heat_lut()))
    window.acts.act_attention.trigger()  # off: hidden, nothing more computed
    assert not window.panels.video.attention.isVisible()
    assert not window.panels.maps.attention_scale.isVisible()
    window.apply_update(make_update(12, results=make_results([6])))
    assert overlay.worker.idle() and overlay.worker.computed == 1


def test_review_pin_explains_only_the_sample_nearest_the_apex(window, overlay, qtbot):
    overlay.set_enabled(True)
    overlay.pin(10)
    window.apply_update(make_update(10, results=make_results([4, 6, 8])))
    qtbot.waitUntil(lambda: overlay.drawn >= 1 and overlay.worker.idle(), timeout=10_000)
    assert overlay.last[0].frame == 8
    window.apply_update(make_update(14, results=make_results([12, 14])))  # farther: ignored
    assert overlay.worker.idle() and overlay.worker.computed == 1
    window.apply_update(make_update(16, results=make_results([10])))  # the apex itself
    qtbot.waitUntil(lambda: overlay.drawn >= 2 and overlay.worker.idle(), timeout=10_000)
    assert overlay.last[0].frame == 10
    window.apply_update(make_update(18, results=make_results([10])))  # the loop comes back
    assert overlay.worker.idle() and overlay.worker.computed == 2
    overlay.pin(None)  # live again: the newest sample
    window.apply_update(make_update(20, results=make_results([16, 18])))
    qtbot.waitUntil(lambda: overlay.drawn >= 3 and overlay.worker.idle(), timeout=10_000)
    assert overlay.last[0].frame == 18


def test_export_writes_the_report_with_the_live_overlay_on(window, weights_file, qtbot, tmp_path):
    """The clip played with the overlay on (the face box gets attention), then Export: the
    same self-contained report as `rt-sfamnet report`, beside the exported events."""
    from tests.report.test_report import check_html
    from tests.ui.helpers import CLIP, spotted

    window.weights = weights_file
    window.acts.act_attention.trigger()
    window.open_source(str(CLIP))
    qtbot.waitUntil(lambda: not window.opening, timeout=30_000)
    qtbot.waitUntil(lambda: window.finished, timeout=60_000)
    qtbot.waitUntil(lambda: window.attention.drawn >= 1, timeout=10_000)
    assert window.panels.video.attention.isVisible()  # a real sample has its face box
    window.apply_update(make_update(None, intervals=[spotted("micro", 10, 24, "positive")]))
    files = window.export(tmp_path / "session.csv")
    assert files and files[0].name == "session_events.csv"
    path = window.attention.last_export.result(timeout=120)  # Export started it
    assert path == tmp_path / "session_report.html"
    chk = check_html(path)
    assert len(chk.event_rows) >= 1 and all(len(imgs) == 3 for imgs in chk.event_rows)
    assert (tmp_path / "session_scores.svg").is_file()
    qtbot.waitUntil(lambda: "Report written" in window.banner.text(), timeout=10_000)
    window.close()


def test_review_selection_pins_the_overlay_to_the_apex(window, tmp_path):
    import shutil

    from rt_sfamnet.intervals import Interval, write_intervals
    from tests.ui.helpers import CLIP

    folder = tmp_path / "lab"
    (folder / "c").mkdir(parents=True)
    shutil.copy(CLIP, folder / "c.db3")
    write_intervals(folder / "c" / "events.csv", [
        Interval("", "", 10, 16, 26, "micro", "happy"),
        Interval("", "", 30, 41, 50, "macro", "surprise")])
    window.spec = str(folder / "c.db3")
    r = window.review
    assert r.set_active(True)  # selects the first interval
    assert window.attention.pinned == 16
    r.select(1)
    assert window.attention.pinned == 41
    r.set_active(False)
    assert window.attention.pinned is None
