"""The main window driving the real engine: simulator, the test clip, errors, playback."""

from __future__ import annotations

import time

import pytest

from rt_sfamnet.intervals import read_intervals
from tests.ui.helpers import CLIP, make_update, spotted


@pytest.fixture
def engine_window(window, weights_file):
    window.weights = weights_file
    yield window
    window.close()  # stops the engine and joins its threads


def _wait_open(qtbot, w, timeout=30_000):
    qtbot.waitUntil(lambda: not w.opening, timeout=timeout)
    assert w.banner.kind != "error", w.banner.text()
    assert w.engine is not None


def test_window_opens_on_the_simulator_and_draws_curves(engine_window, qtbot):
    w = engine_window
    w.open_source("sim:seed=3,duration=30")
    _wait_open(qtbot, w)
    assert w.status.fields["source"].text() == "simulator (sim:seed=3,duration=30)"
    truth = w.engine.ground_truth
    assert truth, "the simulator knows its ground truth"
    assert len(w.plot.ground_truth) == len(truth)
    assert w.maps.mode == w.engine.feature_config.mode
    qtbot.waitUntil(lambda: w.plot.curve_points("score") >= 3 and w.video.frames_drawn >= 10
                    and w.plot.curve_points("micro") >= 1, timeout=40_000)
    assert w.maps.maps_drawn >= 1
    assert w.video.face_visible or w.video.face_label.toPlainText() == "no face"
    assert w.status.fields["backend"].text() == "backend cpu"
    # the simulator renders any frame on demand: it is seekable like a recording
    assert w.playback.slider.isEnabled() and w.playback.slider.maximum() == 899


def test_clip_playback_pause_seek_event_click_and_replay(engine_window, qtbot):
    w = engine_window
    w.playback.set_speed(0.5)
    w.open_source(str(CLIP))
    _wait_open(qtbot, w)
    truth = read_intervals(CLIP.with_name("clip.gt.csv"))
    assert [(r.t0, r.t1) for r in w.plot.ground_truth] == [
        (iv.onset / 30.0, (iv.offset + 1) / 30.0) for iv in truth]
    assert w.playback.slider.isEnabled() and w.playback.slider.maximum() == 59
    assert w.status.fields["source"].text() == "clip.db3"
    qtbot.waitUntil(lambda: w.video.frames_drawn >= 3, timeout=30_000)

    # pause: the frame index stops advancing
    w.playback.play_button.click()
    assert not w.playback.playing and w.engine.paused
    qtbot.wait(1000)  # frames already read may still arrive
    paused_at = w.position
    qtbot.wait(700)
    assert w.position == paused_at

    # clicking an event replays from one second before its onset (and plays)
    w.apply_update(make_update(None, intervals=[spotted("micro", 45, 55, "positive")]))
    w.event_list.cellClicked.emit(w.event_list.rowCount() - 1, 0)
    assert w._seek_target == 15 and w.playback.playing
    qtbot.waitUntil(lambda: w.last_update.frame is not None
                    and 15 <= w.last_update.frame.index < 40, timeout=20_000)

    # seek while paused (what the slider and the arrow keys call), then play: continues there
    w.playback.play_button.click()
    w.seek(44)
    assert w.position == 44 and w.playback.slider.value() == 44
    w.playback.play_button.click()
    qtbot.waitUntil(lambda: w.last_update.frame is not None
                    and w.last_update.frame.index >= 44, timeout=20_000)

    # the end of the clip: notice, and Play starts it again from the first frame
    qtbot.waitUntil(lambda: w.finished, timeout=30_000)
    assert "End of the recording" in w.banner.text()
    n_events = w.event_list.rowCount()
    assert n_events >= 1
    w.playback.play_button.click()
    _wait_open(qtbot, w)
    assert not w.finished and w.playback.playing
    assert w.event_list.rowCount() == n_events  # a replay keeps what was spotted
    qtbot.waitUntil(lambda: w.video.frames_drawn > 0 and w.position < 40, timeout=30_000)


def test_bad_recording_shows_an_error_and_the_app_keeps_running(engine_window, qtbot, tmp_path):
    w = engine_window
    bad = tmp_path / "bad.db3"
    bad.write_text("this is not a RealSense recording\n")
    w.open_source(str(bad))
    qtbot.waitUntil(lambda: not w.opening, timeout=30_000)
    assert w.banner.kind == "error"
    assert "bad.db3" in w.banner.text()
    assert w.engine is None and w.timer.isActive()
    assert w.status.fields["source"].text().endswith("failed")
    assert w.video.placeholder.toPlainText() == "no source"
    # a good source still opens afterwards
    w.open_source(str(CLIP))
    _wait_open(qtbot, w)
    assert w.banner.kind == ""


def test_wrong_weights_show_an_error(window, qtbot, tmp_path):
    wrong = tmp_path / "wrong.safetensors"
    wrong.write_text("not weights")
    window.set_weights(str(wrong))  # no source yet: only remembered
    window.open_source(str(CLIP))
    qtbot.waitUntil(lambda: not window.opening, timeout=30_000)
    assert window.banner.kind == "error"
    assert "wrong.safetensors" in window.banner.text()
    assert window.status.fields["weights"].text() == "weights wrong.safetensors"


def test_engine_stats_reach_the_status_bar(engine_window, qtbot):
    w = engine_window
    w.open_source("sim:seed=1,duration=20")
    _wait_open(qtbot, w)
    t0 = time.monotonic()
    qtbot.waitUntil(lambda: w.status.fields["input"].text() not in ("", "in 0.0 fps"),
                    timeout=30_000)
    assert time.monotonic() - t0 >= 0  # (no timing asserts: just that stats arrived)
    assert w.status.fields["drops"].text().startswith("drops ")


def test_official_checkpoint_with_its_class_count(window, qtbot, reference_dir):
    pkl = reference_dir / "sfamnet-official-weights" / "7emo" / "subject_1.pkl"
    if not pkl.is_file():
        pytest.skip("official 7-class checkpoint missing")
    window.set_weights(str(pkl), emotions=7)
    window.open_source(str(CLIP))
    _wait_open(qtbot, window)
    assert window.probs.class_names == ("disgust", "surprise", "others", "fear", "anger",
                                        "sad", "happy", "neutral")
    assert window.status.fields["weights"].text() == "weights subject_1.pkl"
    window.close()


def test_spotting_values_from_the_weights_and_the_user(window, qtbot, tmp_path):
    import torch

    from rt_sfamnet.model import SFAMNet
    from rt_sfamnet.weights import WeightsMeta, save_weights

    torch.manual_seed(1)
    path = tmp_path / "with_spotting.safetensors"
    save_weights(SFAMNet(4), path, WeightsMeta(
        emotions=4, provenance={"train": {"spotting": {"k_micro": 3, "micro_left": 4}}}))
    window.set_weights(str(path))
    window.spotting = {"micro_threshold": 0.5, "micro_left": 5}
    window.open_source(str(CLIP))
    _wait_open(qtbot, window)
    cfg = window.engine.spotting_config
    assert (cfg.k_micro, cfg.micro_left, cfg.micro_threshold) == (3, 5, 0.5)
    assert cfg.frame_skip == window.engine.frame_skip
    assert sorted(line.value() for line in window.plot.threshold_lines) == [0.5, 0.576]
    assert "k_micro=3" in window.status.fields["weights"].toolTip()
    # without the weights' values: release defaults under the user's
    window.weights_spotting = False
    window.open_source(str(CLIP))
    _wait_open(qtbot, window)
    cfg = window.engine.spotting_config
    assert (cfg.k_micro, cfg.micro_left) == (None, 5)
    window.close()


@pytest.mark.slow
def test_real_engine_spots_an_expression_on_the_demo_script(window, qtbot):
    """The demo's script rendered live by the simulator, the default weights and the
    spotting values they were evaluated with: a spotted interval appears in the plot and the
    event list (its first micro-expression starts at 2.5 s)."""
    from rt_sfamnet.weights import default_weights_path

    if not default_weights_path(4).is_file():
        pytest.skip("default weights missing")
    recipe = CLIP.parent / "demo_recipe.toml"
    window.open_source(f"sim:recipe={recipe}")
    _wait_open(qtbot, window)
    assert window.plot.ground_truth  # the script's ground truth
    qtbot.waitUntil(lambda: window.event_list.rowCount() >= 1, timeout=60_000)
    iv = window.event_list.events[0]
    region = window.plot.spotted[0]
    assert region.item.getRegion() == (pytest.approx(iv.onset / 30.0),
                                       pytest.approx((iv.offset + 1) / 30.0))
    assert region.label.toPlainText().startswith(("ME ", "MaE "))
    gt_text = window.event_list.item(0, 5).text()
    assert gt_text == "✗" or gt_text.startswith("✓ GT: "), gt_text
    window.close()
