"""Spotting samples, pseudo-labels and GT samples follow OFFICIAL-SFAMNET §3 exactly."""

from __future__ import annotations

import numpy as np

from rt_sfamnet.datasets.labels import (
    class_indices,
    gt_samples,
    k_sw_for,
    neutral_index,
    pseudo_labels,
    sample_frames,
)
from rt_sfamnet.intervals import Interval


def iv(on, ap, off, typ="micro", emo="happy"):
    return Interval("spNO.1", "a", on, ap, off, typ, emo if typ == "micro" else "")


def test_sample_frames():
    assert k_sw_for(30) == 6 and k_sw_for(60) == 12
    # pairs (0,6), (2,8) fit into 10 frames; (4,10) does not
    assert sample_frames(10, 2, 6).tolist() == [0, 2]
    assert sample_frames(11, 2, 6).tolist() == [0, 2, 4]
    assert sample_frames(6, 2, 6).tolist() == []
    assert len(sample_frames(3000, 2, 6)) == 1497
    assert sample_frames(9, 1, 6).tolist() == [0, 1, 2]


def test_pseudo_labels_release_rule():
    # onset 10 -> sample 5, apex 17 -> sample 8: samples (5+8)//2 = 6 .. 8 are positive
    spot, names = pseudo_labels(20, [iv(10, 17, 25)], frame_skip=2)
    assert np.flatnonzero(spot).tolist() == [6, 7, 8]
    assert names[6:9] == ["happy"] * 3 and names[5] == "neutral" and names[9] == "neutral"
    assert spot.dtype == np.float32


def test_macro_not_positive_and_clipping():
    spot, names = pseudo_labels(10, [iv(0, 30, 50, "macro"), iv(16, 40, 44, emo="sad")], 2)
    # macro ignored; micro onset 8, apex 20 -> samples 14..20, clipped to the 10 samples
    assert spot.sum() == 0
    spot, names = pseudo_labels(12, [iv(16, 22, 26, emo="sad")], 2)
    assert np.flatnonzero(spot).tolist() == [9, 10, 11]
    assert set(names[9:]) == {"sad"}


def test_frame_skip_one_and_onset_equals_apex():
    spot, _ = pseudo_labels(20, [iv(5, 5, 9)], 1)
    assert np.flatnonzero(spot).tolist() == [5]
    spot, _ = pseudo_labels(20, [iv(4, 9, 12)], 1)
    assert np.flatnonzero(spot).tolist() == [6, 7, 8, 9]


def test_unlabelled_micro_is_positive_neutral():
    spot, names = pseudo_labels(20, [iv(10, 14, 18, emo="")], 2)
    assert np.flatnonzero(spot).tolist() == [6, 7]
    assert names[6] == "neutral"


def test_gt_samples():
    ivs = [iv(10, 14, 18), iv(3, 8, 30, "macro"), iv(20, 22, 24, emo=""),
           Interval("spNO.1", "a", 40, None, 45, "micro", "fear"), iv(95, 101, 104)]
    g = gt_samples(ivs, n_frames=100)
    assert [(s.onset, s.apex, s.emotion) for s in g] == [(10, 14, "happy"), (40, 40, "fear")]


def test_class_indices():
    assert class_indices(["happy", "Others", "neutral", "fear"], 4).tolist() == [1, 3, 4, 0]
    assert class_indices(["happy", "others", "neutral", "disgust"], 7).tolist() == [6, 2, 7, 0]
    assert neutral_index(4) == 4 and neutral_index(7) == 7


def test_mae_rise_labels():
    mae = Interval("spNO.1", "a", 20, 31, 80, "macro", "", {"prototype": "happy"})
    # onset 20 -> sample 10, apex 31 -> sample 15: samples 10..15 positive with the prototype
    spot, names = pseudo_labels(50, [mae], 2, mae="rise")
    assert np.flatnonzero(spot).tolist() == [10, 11, 12, 13, 14, 15]
    assert names[10:16] == ["happy"] * 6 and names[9] == "neutral" and names[16] == "neutral"
    # the release mode ignores it (default), and an MaE without emotion is positive neutral
    assert pseudo_labels(50, [mae], 2)[0].sum() == 0
    plain = Interval("spNO.1", "a", 20, 31, 80, "macro", "")
    spot, names = pseudo_labels(50, [plain], 2, mae="rise")
    assert spot.sum() == 6 and set(names) == {"neutral"}
    # a micro-expression inside the rise wins its samples (micro applied last); clipping
    spot, names = pseudo_labels(14, [iv(22, 26, 30, emo="sad"), mae], 2, mae="rise")
    assert np.flatnonzero(spot).tolist() == [10, 11, 12, 13]
    # micro onset 22 -> 11, apex 26 -> 13: samples 12..13 sad; MaE 10..15 clipped to 10..13
    assert names[10:14] == ["happy", "happy", "sad", "sad"]
    import pytest

    with pytest.raises(ValueError, match="mae must be"):
        pseudo_labels(5, [], 2, mae="all")


def test_mae_phases_labels():
    mae = Interval("spNO.1", "a", 20, 31, 80, "macro", "", {"prototype": "sad"})
    # rise: samples 10..15; decline: (31 + 80) // 2 = 55 -> sample 27 .. offset 80 -> 40
    spot, names = pseudo_labels(50, [mae], 2, mae="phases")
    assert np.flatnonzero(spot).tolist() == list(range(10, 16)) + list(range(27, 41))
    assert set(names[27:41]) == {"sad"} and names[16:27] == ["neutral"] * 11
    # clipped to the video
    assert np.flatnonzero(pseudo_labels(30, [mae], 2, mae="phases")[0]).tolist() == \
        list(range(10, 16)) + [27, 28, 29]

