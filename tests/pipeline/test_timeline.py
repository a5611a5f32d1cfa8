"""FrameTimes: frame numbers to the source's own times (events' start_s / end_s)."""

from __future__ import annotations

import math

import pytest

from rt_sfamnet.pipeline.timeline import FrameTimes


def test_exact_interpolated_and_extrapolated_times() -> None:
    t = FrameTimes(fps=24.0)
    assert t.seconds(48) == pytest.approx(2.0)  # nothing known: frame / fps
    t.set_origin(10.0)
    for frame, ts in ((0, 10.0), (2, 10.03), (4, 10.2), (6, 10.25)):
        t.add(frame, ts)
    t.add(5, 99.0)  # out of order: ignored
    t.add(8, math.nan)  # a frame that never arrived: ignored
    assert t.seconds(0) == 0.0 and t.seconds(4) == pytest.approx(0.2)  # exact
    assert t.seconds(3) == pytest.approx(0.115)  # between 2 and 4
    assert t.seconds(8) == pytest.approx(0.25 + 2 / 24)  # after the last: median interval


def test_origin_is_the_first_frame_when_not_set() -> None:
    t = FrameTimes(fps=30.0)
    t.add(45, 0.225)
    assert t.origin == 0.225 and t.seconds(45) == 0.0
    with pytest.raises(ValueError, match="fps"):
        FrameTimes(fps=0)
