"""Per-segment checks of real-clip analyses (rt_sfamnet.realfaces), hand-computed."""

from __future__ import annotations

import pandas as pd
import pytest

from rt_sfamnet.errors import RtSfamnetError
from rt_sfamnet.realfaces import (
    Segment,
    read_segments,
    segment_checks,
    segment_kind,
    segment_report,
)

EMOS = ("negative", "positive", "surprise", "others")


def _frames(rows):
    cols = ["frame", "gap", "score"] + [f"prob_{e}" for e in EMOS]
    return pd.DataFrame(rows, columns=cols)


def test_kinds_from_descriptions():
    assert segment_kind("still face (neutral)") == "still"
    assert segment_kind("no face (cartoon title)") == "no_face"
    assert segment_kind("smile (onset 20-28, apex about 36)") == "positive"
    assert segment_kind("Laughing hard") == "positive"
    assert segment_kind("crying") == "negative"
    assert segment_kind("looks around") == "other"


def test_report_counts_only_pairs_inside_and_checks():
    seg = Segment("v", 0, 10, "still face")
    frames = _frames([
        [0, "", 0.2, .1, .2, .3, .4],
        [2, "", 0.6, .4, .3, .2, .1],
        [4, "", 0.1, .1, .2, .3, .4],     # 4..10: inside
        [6, "", 0.95, .9, 0, 0, 0],       # 6..12: outside (end frame past 10)
        [8, "no_face", None, None, None, None, None],
    ])
    events = pd.DataFrame([{"onset": 11, "offset": 20, "type": "micro", "emotion": "positive"}])
    rep = segment_report(frames, events, seg, 6, EMOS)
    assert rep["samples"] == 3 and rep["scored"] == 3 and rep["no_face"] == 0
    assert rep["max_score"] == pytest.approx(0.6) and rep["max_pair"] == [2, 8]
    assert rep["above"] == {"0.3": pytest.approx(1 / 3), "0.5": pytest.approx(1 / 3),
                            "0.7": 0.0, "0.9": 0.0}
    assert rep["mean_probs"]["negative"] == pytest.approx(0.2)
    assert rep["mean_probs"]["others"] == pytest.approx(0.3)
    assert rep["events"] == []
    assert segment_checks(rep, 0.5) == {"still: every score below the micro threshold": False}
    assert segment_checks(rep, 0.7) == {"still: every score below the micro threshold": True}


def test_emotion_and_no_face_checks():
    smile = Segment("v", 0, 20, "smile")
    frames = _frames([[0, "", .9, .1, .6, .2, .1], [2, "", .2, .3, .2, .3, .2]])
    rep = segment_report(frames, pd.DataFrame(columns=["onset", "offset", "type", "emotion"]),
                         smile, 6, EMOS)
    # means: negative .2, positive .4, surprise .25, others .15
    assert segment_checks(rep, 0.5) == {"positive: highest mean probability": True}
    nof = Segment("v", 0, 20, "no face")
    frames = _frames([[0, "no_face", None, None, None, None, None],
                      [2, "no_face", None, None, None, None, None]])
    ev = pd.DataFrame([{"onset": 5, "offset": 9, "type": "macro", "emotion": "positive"}])
    rep = segment_report(frames, ev, nof, 6, EMOS)
    assert rep["max_score"] is None and rep["max_pair"] is None and rep["no_face"] == 2
    assert segment_checks(rep, 0.5) == {"no face: nothing spotted": False,
                                        "no face: every sample a no_face gap": True}


def test_read_segments_errors(tmp_path):
    good = tmp_path / "s.csv"
    good.write_text("video,start,end,what\nclip,0,19,still face\nclip,20,71,smile\n")
    assert read_segments(good) == [Segment("clip", 0, 19, "still face"),
                                   Segment("clip", 20, 71, "smile")]
    bad = tmp_path / "b.csv"
    bad.write_text("video,first,last\nclip,0,19\n")
    with pytest.raises(RtSfamnetError, match="expected the columns video, start, end, what"):
        read_segments(bad)
    bad.write_text("video,start,end,what\nclip,9,3,still\n")
    with pytest.raises(RtSfamnetError, match="line 2: expected 0 <= start <= end"):
        read_segments(bad)


def test_micro_threshold_resolves_the_summary_values():
    from rt_sfamnet.realfaces import micro_threshold

    # a value the weights set; None is the variant's default (release 0.576, paper 0.58)
    assert micro_threshold({"spotting": {"micro_threshold": 0.4}}) == 0.4
    assert micro_threshold({"spotting": {"micro_threshold": None}}) == 0.576
    assert micro_threshold({"spotting": {"variant": "paper"}}) == 0.58
