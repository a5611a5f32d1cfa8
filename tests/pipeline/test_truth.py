"""Ground truth for one run: video selection and the analysed span (hand-computed)."""

from __future__ import annotations

import pytest

from rt_sfamnet.errors import ConfigError
from rt_sfamnet.intervals import Interval
from rt_sfamnet.pipeline.truth import clip_to_span, select_video

A = Interval("s1", "a", 10, 12, 20, "micro", "happy")
B = Interval("s1", "b", 5, None, 9, "macro", "")
C = Interval("s2", "a", 0, 3, 6, "micro", "")


def test_one_video_needs_no_name():
    assert select_video([A], None) == [A]


def test_select_by_video_or_subject_and_video():
    assert select_video([A, B], "b") == [B]
    assert select_video([A, B, C], "s2/a") == [C]


@pytest.mark.parametrize("name, found", [("z", "matches none"), ("a", "matches 2"), (None, "none")])
def test_ambiguous_or_unknown_video(name, found):
    with pytest.raises(ConfigError, match=f"holds 3 videos \\(s1/a, s1/b, s2/a\\).*{found}"):
        select_video([A, B, C], name, "gt.csv")


def test_clip_to_span():
    kept, outside, cut = clip_to_span([A, B, C], 6, 11)
    assert [(iv.video, iv.onset, iv.offset, iv.apex) for iv in kept] == [
        ("a", 10, 11, None),  # apex 12 is outside: dropped
        ("b", 6, 9, None),
        ("a", 6, 6, None)]
    assert (outside, cut) == (0, 3)
    kept, outside, cut = clip_to_span([A, B, C], 0, 8)
    assert [(iv.onset, iv.offset) for iv in kept] == [(5, 8), (0, 6)] and (outside, cut) == (1, 1)


def test_open_and_empty_spans():
    assert clip_to_span([A, B], None, None) == ([A, B], 0, 0)
    assert clip_to_span([A, B], 0, -1) == ([], 2, 0)
