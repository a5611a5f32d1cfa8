"""LimitedSource: the first seconds of a stream, by timestamps."""

from __future__ import annotations

import pytest

from rt_sfamnet.errors import ConfigError
from rt_sfamnet.sources.limited import LimitedSource
from rt_sfamnet.sources.simulated import SimulatedSource


def test_first_second_of_a_simulation():
    src = LimitedSource(SimulatedSource(seed=1, duration_s=3.0, width=96, height=72), 1.0)
    with src:
        frames = list(src)
        assert src.frame_count == 30 and src.fps == 30.0
    assert [f.index for f in frames] == list(range(30))
    assert src.cut and src.frames_read == 30


def test_a_limit_beyond_the_end_reads_everything():
    src = LimitedSource(SimulatedSource(seed=1, duration_s=0.5, width=96, height=72), 10.0)
    with src:
        assert len(list(src)) == 15
    assert not src.cut


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_limits(bad):
    with pytest.raises(ConfigError, match="finite number > 0"):
        LimitedSource(SimulatedSource(seed=1, duration_s=1.0), bad)
