"""Evaluation metrics: hand-computed cases for every rule of both protocols."""

from __future__ import annotations

import pytest

from rt_sfamnet.errors import InputFileError, RtSfamnetError
from rt_sfamnet.intervals import Interval
from rt_sfamnet.metrics import (
    evaluate_intervals,
    iou,
    max_matching,
    megc_analysis,
    prf,
    recognition_metrics,
    sfamnet_analysis,
)

CLASSES4 = ["negative", "positive", "surprise", "others"]


def iv(on, off, typ="micro", emo="", apex=None, subject="s1", video="a"):
    return Interval(subject, video, on, apex, off, typ, emo)


def test_iou_is_inclusive():
    assert iou(0, 9, 5, 14) == pytest.approx(5 / 15)
    assert iou(0, 9, 0, 9) == 1.0
    assert iou(0, 1, 2, 3) == 0.0
    assert iou(0, 3, 2, 5) == pytest.approx(2 / 6)
    assert iou(0, 9, 0, 4) == 0.5
    assert iou(3, 3, 3, 3) == 1.0


def test_prf_zero_when_undefined():
    assert prf(0, 0, 0) == {"tp": 0, "fp": 0, "fn": 0, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    r = prf(2, 3, 0)
    assert (r["precision"], r["recall"], r["f1"]) == pytest.approx((0.4, 1.0, 2 * 0.4 / 1.4))


def test_max_matching_is_one_to_one_and_maximum():
    # greedy by IoU would pair g0-p0 (IoU 1) and leave p1 (IoU 0.6 with g0 only) unmatched;
    # the maximum matching pairs g0-p1 (0.6) and g1-p0 (9/11)
    gt = [(0, 9), (1, 10)]
    pred = [(0, 9), (0, 5)]
    m = max_matching(gt, pred)
    assert sorted((g, p) for g, p, _ in m) == [(0, 1), (1, 0)]
    assert max_matching([(0, 9)], [(0, 9), (1, 9)]) == [(0, 0, 1.0)]
    assert max_matching([(0, 9)], [(20, 30)]) == []


def test_megc_one_to_one():
    r = evaluate_intervals([iv(0, 9)], [iv(0, 9), iv(1, 9)], 4, "megc")
    assert (r["micro"]["tp"], r["micro"]["fp"], r["micro"]["fn"]) == (1, 1, 0)


def test_megc_threshold_type_and_video_grouping():
    gt = [iv(0, 9), iv(100, 140, "macro")]
    pred = [iv(0, 4),                       # IoU 0.5: TP
            iv(100, 140, "micro"),          # right frames, wrong type: FP
            iv(100, 140, "macro", video="b")]  # other video: FP
    r = evaluate_intervals(gt, pred, 4, "megc")
    assert (r["micro"]["tp"], r["micro"]["fp"], r["micro"]["fn"]) == (1, 1, 0)
    assert (r["macro"]["tp"], r["macro"]["fp"], r["macro"]["fn"]) == (0, 1, 1)
    assert (r["overall"]["tp"], r["overall"]["fp"], r["overall"]["fn"]) == (1, 2, 1)
    assert r["overall"]["f1"] == pytest.approx(prf(1, 2, 1)["f1"])
    r2 = evaluate_intervals(gt, [iv(0, 3)], 4, "megc")  # IoU 0.4
    assert r2["micro"]["tp"] == 0


def test_megc_pools_counts_over_subjects():
    gt = [iv(0, 9, subject="s1"), iv(0, 9, subject="s2")]
    pred = [iv(0, 9, subject="s1"), iv(0, 9, subject="s2")] + [
        iv(50 + 20 * i, 60 + 20 * i, subject="s2") for i in range(3)]
    r = evaluate_intervals(gt, pred, 4, "megc")
    # pooled: TP 2, FP 3, FN 0 -> P 0.4, R 1, F1 0.5714 (mean of per-subject F1 would be 0.7)
    assert (r["micro"]["tp"], r["micro"]["fp"], r["micro"]["fn"]) == (2, 3, 0)
    assert r["micro"]["f1"] == pytest.approx(2 * 0.4 / 1.4)


def test_megc_analysis_and_strs():
    gt = [iv(0, 9, emo="happy"), iv(20, 29, emo="disgust"), iv(40, 49, emo="sad"),
          iv(60, 69, emo="surprise")]
    pred = [iv(0, 9, emo="positive"), iv(20, 29, emo="negative"), iv(40, 49, emo="positive"),
            iv(80, 90, emo="others")]
    r = evaluate_intervals(gt, pred, 4, "megc")
    # micro: TP 3, FP 1, FN 1 -> P = R = F1 = 0.75
    assert r["micro"]["f1"] == pytest.approx(0.75)
    # pairs (true, pred): (positive, positive), (negative, negative), (negative, positive)
    # classes in the truth: negative (TP1 FN1 FP0), positive (TP1 FN0 FP1)
    a = r["analysis"]
    assert a["pairs"] == 3
    assert a["uf1"] == pytest.approx((2 / 3 + 2 / 3) / 2)
    assert a["uar"] == pytest.approx((0.5 + 1.0) / 2)
    pm, rm = (1.0 + 0.5) / 2, 0.75
    assert a["f1"] == pytest.approx(2 * pm * rm / (pm + rm))
    assert a["strs"] == pytest.approx(0.75 * a["f1"])
    # 7 classes keep the original emotions: every pair is distinct
    r7 = evaluate_intervals(gt, [iv(0, 9, emo="happy")], 7, "megc")
    assert r7["analysis"]["uf1"] == 1.0 and r7["analysis"]["uar"] == 1.0


def test_megc_analysis_empty():
    assert megc_analysis([]) == {"uf1": 0.0, "uar": 0.0, "f1": 0.0}
    r = evaluate_intervals([iv(0, 9, "macro")], [iv(0, 9, "macro")], 4, "megc")
    assert r["analysis"]["strs"] == 0.0 and r["macro"]["f1"] == 1.0


# ---------------------------------------------------------------------------- sfamnet


def test_sfamnet_gt_offset_rule():
    gt = [iv(0, 40, apex=5)]          # offset - onset > 30 -> offset = 5 + 5 = 10
    pred = [iv(0, 10)]
    assert evaluate_intervals(gt, pred, 4, "sfamnet")["micro"]["tp"] == 1
    assert evaluate_intervals(gt, pred, 4, "megc")["micro"]["tp"] == 0  # IoU 11/41
    # exactly 30 does not trigger the rule
    assert evaluate_intervals([iv(0, 30, apex=5)], [iv(0, 10)], 4, "sfamnet")["micro"]["tp"] == 0
    with pytest.raises(InputFileError, match="apex"):
        evaluate_intervals([iv(0, 40)], pred, 4, "sfamnet")


def test_sfamnet_skip_rule_and_fn_count():
    # onset = apex = offset without the rule: skipped in matching, still counted for FN
    r = evaluate_intervals([iv(5, 5, apex=5)], [iv(5, 5)], 4, "sfamnet")["micro"]
    assert (r["tp"], r["fp"], r["fn"]) == (0, 1, 1)
    # the rule makes it zero-length: skipped and not counted
    r = evaluate_intervals([iv(0, 40, apex=0)], [iv(0, 0)], 4, "sfamnet")["micro"]
    assert (r["tp"], r["fp"], r["fn"]) == (0, 1, 0)
    # macro intervals are never changed or skipped
    r = evaluate_intervals([iv(0, 40, "macro", apex=0)], [iv(0, 40, "macro")], 4, "sfamnet")
    assert r["macro"]["tp"] == 1


def test_sfamnet_per_prediction_matching_and_negative_fn():
    # two predictions on one GT: both count (TP 2), FN = 1 - 2 = -1 (kept)
    r = evaluate_intervals([iv(0, 9)], [iv(0, 9), iv(1, 9)], 4, "sfamnet")["micro"]
    assert (r["tp"], r["fp"], r["fn"]) == (2, 0, -1)
    assert r["precision"] == 1.0 and r["recall"] == 2.0
    assert r["f1"] == pytest.approx(2 * 1 * 2 / 3)
    # one prediction over two GTs: TP count 2
    r = evaluate_intervals([iv(0, 9), iv(0, 10)], [iv(0, 9)], 4, "sfamnet")["micro"]
    assert (r["tp"], r["fp"], r["fn"]) == (2, 0, 0)


def test_sfamnet_pools_over_subjects_and_overall():
    gt = [iv(0, 9, subject="s1"), iv(0, 9, subject="s2"), iv(100, 150, "macro", subject="s2")]
    pred = [iv(0, 9, subject="s1"), iv(50, 60, subject="s2"), iv(100, 150, "macro", subject="s2")]
    r = evaluate_intervals(gt, pred, 4, "sfamnet")
    assert (r["micro"]["tp"], r["micro"]["fp"], r["micro"]["fn"]) == (1, 1, 1)
    assert (r["macro"]["tp"], r["macro"]["fp"], r["macro"]["fn"]) == (1, 0, 0)
    assert (r["overall"]["tp"], r["overall"]["fp"], r["overall"]["fn"]) == (2, 1, 1)


def test_sfamnet_analysis_pairs_only_single_matches():
    gt = [iv(0, 9, emo="happy"), iv(0, 10, emo="disgust"), iv(40, 49, emo="disgust")]
    pred = [iv(0, 9, emo="positive"),    # two matches: no pair
            iv(40, 49, emo="negative"),  # one match: pair (negative, negative)
            iv(41, 49, emo="positive")]  # one match: pair (negative, positive)
    r = evaluate_intervals(gt, pred, 4, "sfamnet")
    a = r["analysis"]
    assert a["pairs"] == 2
    # negative: yt [T, T], yp [T, F]: f1 2/3, recall 0.5, precision 1
    # positive: yt [F, F], yp [F, T]: f1 0, recall NaN, precision 0; surprise/others skipped
    assert a["uf1"] == pytest.approx(1 / 3)
    assert a["uar"] == 0.0  # NaN -> 0
    assert a["f1"] == pytest.approx(2 * 0.5 * 0.25 / 0.75)
    assert a["strs"] == pytest.approx(r["micro"]["f1"] * a["f1"])


def test_sfamnet_pair_uses_highest_iou():
    # pred [0, 9]: IoU 1 with g0 (happy), IoU 10/21 < 0.5 with g1 (sad): one match -> happy
    gt = [iv(0, 9, emo="happy"), iv(0, 20, emo="sad")]
    r = evaluate_intervals(gt, [iv(0, 9, emo="positive")], 4, "sfamnet")
    assert r["analysis"]["pairs"] == 1 and r["analysis"]["uf1"] == 0.0  # 1x1 classes skipped
    assert sfamnet_analysis([("positive", "positive")], CLASSES4) == {"uf1": 0.0, "uar": 0.0, "f1": 0.0}


def test_sfamnet_one_vs_rest_and_skipped_classes():
    pairs = [("negative", "negative"), ("positive", "negative")]
    # negative: TP1 FP1 FN0 -> f1 2/3, recall 1, precision 0.5
    # positive: TP0 FP0 FN1 -> f1 0, recall 0, precision NaN (-> 0 in the mean)
    a = sfamnet_analysis(pairs, CLASSES4)
    assert a["uf1"] == pytest.approx(1 / 3)
    assert a["uar"] == pytest.approx(0.5)
    assert a["f1"] == pytest.approx(2 * 0.25 * 0.5 / 0.75)


def test_sfamnet_nan_handling():
    a = sfamnet_analysis([("negative", "positive")], CLASSES4)
    # negative: f1 0, recall 0, precision NaN; positive: f1 0, recall NaN, precision 0
    assert a == {"uf1": 0.0, "uar": 0.0, "f1": 0.0}
    assert sfamnet_analysis([], CLASSES4) == {"uf1": 0.0, "uar": 0.0, "f1": 0.0}


def test_evaluate_rejects_bad_arguments():
    with pytest.raises(RtSfamnetError, match="protocol"):
        evaluate_intervals([], [], 4, "mecg")
    with pytest.raises(RtSfamnetError):
        evaluate_intervals([], [], 5)
    with pytest.raises(InputFileError, match="unknown emotion"):
        evaluate_intervals([iv(0, 9, emo="bored")], [iv(0, 9, emo="positive")], 4, "megc")


def test_recognition_metrics_hand_computed():
    classes = CLASSES4 + ["neutral"]
    r = recognition_metrics([0, 0, 1, 2], [0, 1, 1, 4], classes)
    # negative TP1 FN1 FP0: f1 2/3, recall 0.5; positive TP1 FN0 FP1: f1 2/3, recall 1;
    # surprise TP0 FN1: f1 0, recall 0; others and neutral have no true samples (excluded)
    assert r["uf1"] == pytest.approx(4 / 9)
    assert r["uar"] == pytest.approx(0.5)
    assert r["accuracy"] == 0.5
    assert r["confusion"][0] == [1, 1, 0, 0, 0] and r["confusion"][2] == [0, 0, 0, 0, 1]
    assert r["per_class"]["neutral"]["support"] == 0
    by_name = recognition_metrics(["negative", "negative", "positive", "surprise"],
                                  ["negative", "positive", "positive", "neutral"], classes)
    assert by_name["uf1"] == r["uf1"] and by_name["confusion"] == r["confusion"]
    empty = recognition_metrics([], [], classes)
    assert empty["uf1"] == 0.0 and empty["n"] == 0
    with pytest.raises(ValueError, match="not one of"):
        recognition_metrics(["angry"], ["negative"], classes)
    with pytest.raises(ValueError, match="labels"):
        recognition_metrics([0], [0, 1], classes)


def test_macro_emotion_accuracy_hand_computed():
    def mae(on, off, emo="", proto=None, video="a"):
        x = Interval("s1", video, on, None, off, "macro", emo)
        if proto is not None:
            x.extra["prototype"] = proto
        return x

    gt = [mae(0, 99, proto="happy"),        # matched by (10, 99): IoU 0.9, positive = positive
          mae(200, 299, proto="anger"),     # matched by (200, 280): negative vs surprise: wrong
          mae(400, 499, proto="sad"),       # only (400, 440) overlaps: IoU 0.41 -> not a pair
          mae(600, 699, emo="fear", video="b"),  # emotion column wins; matched, negative: right
          mae(800, 899)]                    # no emotion: never a pair
    pred = [mae(10, 99, "positive"), mae(200, 280, "surprise"), mae(400, 440, "negative"),
            mae(600, 690, "negative", video="b"), mae(800, 899, "others"),
            Interval("s1", "a", 0, None, 99, "micro", "others")]  # micro: ignored
    r = evaluate_intervals(gt, pred, 4, "megc")
    assert r["macro_emotion"] == {"pairs": 3, "correct": 2, "accuracy": 2 / 3}
    assert (r["macro"]["tp"], r["macro"]["fp"], r["macro"]["fn"]) == (4, 1, 1)  # MEGC unchanged
    # 7 classes: happy and anger right, fear vs sad wrong (sad / fear are both "negative" in 4)
    pred7 = [mae(10, 99, "happy"), mae(200, 280, "anger"), mae(600, 690, "sad", video="b")]
    assert evaluate_intervals(gt, pred7, 7, "megc")["macro_emotion"] == {
        "pairs": 3, "correct": 2, "accuracy": 2 / 3}
    # an unlabelled prediction counts as wrong; no macro GT emotion -> no extra key
    assert evaluate_intervals(gt[:1], [mae(0, 99)], 4, "megc")["macro_emotion"]["accuracy"] == 0.0
    assert "macro_emotion" not in evaluate_intervals([mae(0, 99)], [mae(0, 99, "positive")], 4)
    assert "macro_emotion" not in evaluate_intervals(gt, pred, 4, "sfamnet")
