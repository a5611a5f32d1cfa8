"""Coder agreement: Cohen's kappa (hand-computed) and ``evaluate`` on two annotation files."""

from __future__ import annotations

import json

import pytest

from rt_sfamnet.annotations import Row, write_annotations
from rt_sfamnet.cli import main
from rt_sfamnet.intervals import Interval
from rt_sfamnet.metrics import cohen_kappa, emotion_agreement


def test_cohen_kappa_by_hand():
    # p_o = 4/5; p_a = (h .4, s .4, d .2), p_b = (h .2, s .6, d .2): p_e = .08 + .24 + .04
    # = .36; kappa = (.8 - .36) / .64 = .6875
    assert cohen_kappa(list("hhssd"), list("hsssd")) == pytest.approx(0.6875, abs=1e-12)
    assert cohen_kappa(list("ab"), list("ba")) == pytest.approx(-1.0)  # p_o 0, p_e .5
    assert cohen_kappa(list("aa"), list("aa")) == 1.0  # p_e = 1: one label throughout
    assert cohen_kappa([], []) is None
    with pytest.raises(ValueError, match="same items"):
        cohen_kappa(["a"], [])


def _coders():
    a = [Interval("s", "v", 10, 15, 20, "micro", "happy"),
         Interval("s", "v", 40, 45, 50, "micro", "sad"),
         Interval("s", "v", 70, 75, 80, "micro", "surprise"),
         Interval("s", "v", 100, 120, 150, "macro", ""),
         Interval("s", "v", 200, 205, 210, "micro", "happy")]
    b = [Interval("s", "v", 11, 15, 20, "micro", "happy"),  # IoU 10/11
         Interval("s", "v", 40, 45, 49, "micro", "disgust"),
         Interval("s", "v", 70, 75, 80, "micro", "surprise"),
         Interval("s", "v", 100, 120, 150, "macro", ""),  # both without emotion: no pair
         Interval("s", "v", 300, 305, 310, "micro", "fear")]
    return a, b


def test_emotion_agreement_over_matched_pairs_by_hand():
    a, b = _coders()
    # 7 classes: pairs (happy, happy), (sad, disgust), (surprise, surprise): p_o = 2/3,
    # p_e = 1/3 * 1/3 (happy) + 1/3 * 1/3 (surprise) = 2/9, kappa = (4/9) / (7/9) = 4/7
    r7 = emotion_agreement(a, b, 7)
    assert r7["pairs"] == 3 and r7["kappa"] == pytest.approx(4 / 7, abs=1e-12)
    assert r7["observed_agreement"] == pytest.approx(2 / 3)
    # 4 classes: sad and disgust are both negative: every pair agrees; p_e = 1/3; kappa 1
    assert emotion_agreement(a, b, 4)["kappa"] == pytest.approx(1.0)
    # a pair where only one coder gave an emotion counts, as the label "none"
    a[3].emotion = "happy"
    assert emotion_agreement(a, b, 7)["pairs"] == 4
    none = emotion_agreement([], b, 7)
    assert (none["kappa"], none["pairs"], none["observed_agreement"]) == (None, 0, None)
    assert none["videos_in_common"] == 0
    assert none["problem"] == ("no video in common: the first file has none, the second "
                               "s/v; expected annotations of the same subject/video")
    r7 = emotion_agreement(a, b, 7)
    assert r7["videos_in_common"] == 1 and r7["problem"] is None
    blank = [Interval("s", "v", 10, 15, 20, "micro", "")]
    assert emotion_agreement(blank, blank, 7)["problem"] == (
        "no matched pair of intervals with an emotion: kappa is undefined")


def _review_file(path, intervals, video=None):
    write_annotations(path, [Row(iv.subject, video or iv.video, iv.onset, iv.apex, iv.offset,
                                 iv.type, iv.emotion, status="accepted") for iv in intervals])


def test_two_reviews_without_a_video_in_common_are_refused(tmp_path, capsys):
    a, b = _coders()
    fa, fb = tmp_path / "r.a.annotations.csv", tmp_path / "r.b.annotations.csv"
    _review_file(fa, a)
    _review_file(fb, b, video="w")  # the second reviewer annotated another video
    assert main(["evaluate", "--gt", str(fa), "--pred", str(fb), "--json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "cannot compare the two reviews: no video in common" in err[0]
    assert f"--gt {fa} file has s/v" in err[0] and f"--pred {fb} s/w" in err[0]


def test_predictions_of_another_video_are_scored_with_the_problem_recorded(tmp_path, capsys):
    from rt_sfamnet.intervals import write_intervals

    a, b = _coders()
    write_intervals(tmp_path / "gt.csv", a)
    write_intervals(tmp_path / "pred.csv", [Interval("s", "w", iv.onset, iv.apex, iv.offset,
                                                      iv.type, iv.emotion) for iv in b])
    assert main(["evaluate", "--gt", str(tmp_path / "gt.csv"), "--pred",
                 str(tmp_path / "pred.csv"), "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["micro"]["tp"] == 0 and out["micro"]["fn"] == 4  # every interval a miss...
    assert out["problem"].startswith("no video in common")  # ...and why, recorded
    assert "warning: no video in common" in captured.err


def test_evaluate_two_reviewers_annotation_files(tmp_path, capsys):
    a, b = _coders()
    fa, fb = tmp_path / "r.a.annotations.csv", tmp_path / "r.b.annotations.csv"
    rejected = Row("s", "v", 500, 505, 510, "micro", "anger", status="rejected")
    write_annotations(fa, [Row(iv.subject, iv.video, iv.onset, iv.apex, iv.offset, iv.type,
                               iv.emotion, status="accepted") for iv in a] + [rejected])
    write_annotations(fb, [Row(iv.subject, iv.video, iv.onset, iv.apex, iv.offset, iv.type,
                               iv.emotion, status="edited") for iv in b])
    assert main(["evaluate", "--gt", str(fa), "--pred", str(fb), "--emotions", "7",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # the rejected row is not an interval: 4 micro each side, 3 matched
    assert (out["micro"]["tp"], out["micro"]["fp"], out["micro"]["fn"]) == (3, 1, 1)
    assert out["macro"]["tp"] == 1
    assert out["emotion_kappa"]["pairs"] == 3
    assert out["emotion_kappa"]["kappa"] == pytest.approx(4 / 7, abs=1e-12)
    assert main(["evaluate", "--gt", str(fa), "--pred", str(fb)]) == 0
    text = capsys.readouterr().out
    assert "Cohen's kappa 1.0000 over 3 matched pairs" in text


def test_evaluate_plain_interval_files_have_no_kappa(tmp_path, capsys):
    from rt_sfamnet.intervals import write_intervals

    a, b = _coders()
    write_intervals(tmp_path / "gt.csv", a)
    write_intervals(tmp_path / "pred.csv", b)
    assert main(["evaluate", "--gt", str(tmp_path / "gt.csv"), "--pred",
                 str(tmp_path / "pred.csv"), "--json"]) == 0
    assert "emotion_kappa" not in json.loads(capsys.readouterr().out)


def test_malformed_annotation_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "x.annotations.csv"
    bad.write_text("subject,video,onset,apex,offset,type,emotion,status\ns,v,1,2,3,micro,,done\n")
    good = tmp_path / "gt.csv"
    good.write_text("subject,video,onset,apex,offset,type,emotion\ns,v,1,2,3,micro,\n")
    assert main(["evaluate", "--gt", str(good), "--pred", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "line 2, column 'status'" in err[0]
