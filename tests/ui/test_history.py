"""Score history, event log, ground-truth matching and depth colourising (no window)."""

from __future__ import annotations

import numpy as np
import pytest

from rt_sfamnet.errors import RtSfamnetError
from rt_sfamnet.intervals import Interval
from tests.ui.helpers import make_results, spotted
from ui.history import (
    EventLog,
    ScoreHistory,
    interval_iou,
    match_ground_truth,
    overlapping_truth,
    truth_emotion,
)
from ui.imaging import colorize_depth, depth_range, turbo_lut


def test_history_scores_and_smoothed_values_by_frame():
    h = ScoreHistory(fps=30.0)
    h.extend(make_results([0, 2, 4], score_fn=lambda f: f / 10))
    h.set_smoothed("micro", 2, 0.7)
    h.set_smoothed("macro", 4, 0.6)
    t, score, micro, macro = h.arrays()
    np.testing.assert_allclose(t, [0.0, 2 / 30, 4 / 30])
    np.testing.assert_allclose(score, [0.0, 0.2, 0.4])
    assert np.isnan(micro[0]) and micro[1] == pytest.approx(0.7)
    assert macro[2] == pytest.approx(0.6)
    assert h.smoothed("micro") == [(2, pytest.approx(0.7))]
    # results are kept for export without their maps
    assert [r.frame for r in h.results()] == [0, 2, 4]
    assert all(r.maps is None for r in h.results())


def test_history_sorts_out_of_order_frames_and_drops_after_a_seek():
    h = ScoreHistory(fps=10.0, capacity=2)  # forces growth
    h.extend(make_results([10, 12, 4, 6, 14]))
    assert list(h.frames()) == [4, 6, 10, 12, 14]
    v = h.version
    h.drop_from(11)
    assert list(h.frames()) == [4, 6, 10]
    assert h.version > v
    assert h.last_frame == 10
    h.extend(make_results([12]))
    assert list(h.frames()) == [4, 6, 10, 12]


def test_history_rejects_unknown_curve_and_bad_fps():
    with pytest.raises(ValueError):
        ScoreHistory(fps=0)
    with pytest.raises(ValueError):
        ScoreHistory().set_smoothed("mega", 0, 1.0)


def test_event_log_drops_duplicates_of_type_onset_offset():
    log = EventLog()
    assert log.add(spotted("micro", 10, 20, "positive"))
    assert not log.add(spotted("micro", 10, 20, "negative", 0.9))
    assert log.add(spotted("macro", 10, 20, ""))
    assert log.add(spotted("micro", 2, 8, "surprise"))
    assert len(log) == 3
    assert [e.onset for e in log.sorted()] == [2, 10, 10]


def test_ground_truth_matching_uses_iou_half_and_type():
    gt = [Interval("s", "v", 100, 110, 119, "micro", "happy"),
          Interval("s", "v", 300, None, 399, "macro", "")]
    assert interval_iou(spotted("micro", 100, 119, "x"), gt[0]) == pytest.approx(1.0)
    # 10 of 30 frames overlap: IoU 1/3 -> no hit
    assert match_ground_truth(spotted("micro", 110, 129, "x"), gt) is None
    # 15 of 25 frames: IoU 0.6 -> hit
    assert match_ground_truth(spotted("micro", 105, 124, "x"), gt) is gt[0]
    # right place, wrong type
    assert match_ground_truth(spotted("macro", 100, 119, ""), gt) is None
    assert match_ground_truth(spotted("macro", 310, 399, ""), gt) is gt[1]
    assert match_ground_truth(spotted("micro", 0, 5, "x"), None) is None


def test_truth_emotion_falls_back_to_the_prototype_of_a_macro_expression():
    assert truth_emotion(Interval("s", "v", 1, 2, 3, "micro", "sad")) == "sad"
    assert truth_emotion(Interval("s", "v", 1, 2, 30, "macro", "", {"prototype": "happy"})) == (
        "happy")
    assert truth_emotion(Interval("s", "v", 1, 2, 30, "macro", "")) == ""


def test_overlapping_truth_is_the_largest_iou_of_any_type():
    gt = [Interval("s", "v", 100, None, 199, "macro", ""),
          Interval("s", "v", 150, None, 159, "micro", "sad")]
    # an ME 150-159 inside the MaE: IoU 10/100 with the MaE, 1.0 with the ME
    assert overlapping_truth(spotted("micro", 150, 159, "x"), gt) == (gt[1], 1.0)
    # 190-209: 10 frames of the MaE's 100 + 10 -> IoU 10/110
    near, iou = overlapping_truth(spotted("micro", 190, 209, "x"), gt)
    assert near is gt[0] and iou == pytest.approx(10 / 110)
    assert overlapping_truth(spotted("micro", 300, 310, "x"), gt) == (None, 0.0)


def test_colorize_depth_maps_range_to_lut_and_holes_to_black():
    lut = turbo_lut()
    depth = np.array([[0, 500, 1000, 2000]], np.uint16)
    rgb = colorize_depth(depth, 500.0, 1000.0, lut)
    assert rgb.shape == (1, 4, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0].tolist() == [0, 0, 0]
    assert rgb[0, 1].tolist() == lut[0].tolist()  # near end
    assert rgb[0, 2].tolist() == lut[-1].tolist()  # far end
    assert rgb[0, 3].tolist() == lut[-1].tolist()  # clipped
    with pytest.raises(RtSfamnetError):
        colorize_depth(depth, 1000.0, 500.0)
    with pytest.raises(RtSfamnetError):
        colorize_depth(np.zeros((2, 2, 2), np.uint16), 0, 1)


def test_depth_range_centres_on_the_face_box():
    depth = np.full((100, 100), 2000, np.uint16)
    depth[20:60, 20:60] = 700
    near, far = depth_range(depth, (20, 20, 40), half_span_mm=200)
    assert (near, far) == (pytest.approx(500.0), pytest.approx(900.0))
    assert depth_range(np.zeros((10, 10), np.uint16)) is None
    lo, hi = depth_range(depth)
    assert 650 <= lo <= 750 and hi == pytest.approx(2000.0, abs=1)


def test_depth_colorizer_table_matches_the_direct_colouring():
    from ui.imaging import DepthColorizer

    rng = np.random.default_rng(0)
    depth = rng.integers(0, 3000, (60, 80)).astype(np.uint16)
    depth[::7, ::5] = 0
    col = DepthColorizer(step_mm=10)
    out = col(depth, 503.0, 1497.0)
    np.testing.assert_array_equal(out, colorize_depth(depth, 500.0, 1500.0, col.lut))
    col(depth, 501.0, 1499.0)  # same rounded range: no rebuild
    assert col.rebuilds == 1
    col(depth, 700.0, 1500.0)
    assert col.rebuilds == 2
    with pytest.raises(RtSfamnetError):
        col(depth.astype(np.float32), 0, 1)
