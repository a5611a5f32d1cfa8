"""The Source interface's defaults (live, seekable, realtime, dropped, registered) and the
wrappers that pass them on (LimitedSource, RecordingTee)."""

from __future__ import annotations

import pytest

from rt_sfamnet.errors import SourceError
from rt_sfamnet.sources.base import Source
from rt_sfamnet.sources.limited import LimitedSource
from rt_sfamnet.sources.simulated import SimulatedSource


class _Bare(Source):
    def open(self):
        return self

    def close(self):
        pass

    def __iter__(self):
        return iter(())


class _Camera(_Bare):
    live = realtime = True
    registered = False  # type: ignore[assignment]

    @property
    def dropped(self) -> int:
        return 7


def test_defaults():
    s = _Bare()
    assert (s.live, s.seekable, s.realtime, s.dropped, s.registered) == (False, False, False, 0,
                                                                          None)
    with pytest.raises(SourceError, match="cannot seek"):
        s.seek(3)


def test_wrappers_pass_the_interface_on():
    from rt_sfamnet.sources.realsense.tee import RecordingTee

    for wrapper in (LimitedSource(_Camera(), 2.0), RecordingTee(_Camera())):
        assert wrapper.live and wrapper.realtime
        assert wrapper.dropped == 7 and wrapper.registered is False


def test_the_simulator_stands_for_a_camera_only_with_realtime():
    assert SimulatedSource(duration_s=1.0).realtime is False
    s = SimulatedSource(duration_s=1.0, realtime=True)
    assert s.realtime and s.live and s.dropped == 0
