"""The synchronous step's admission (metadata only) and its phases."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rt_sfamnet.pipeline.stages import SourceHoles
from rt_sfamnet.pipeline.step import DROPPED_BEFORE, Gate, Pipeline


def _meta(index, **meta):
    return SimpleNamespace(index=index, meta=meta)


def test_gate_starts_a_schedule_and_says_which_frames_are_needed():
    gate = Gate(2, 6, SourceHoles())
    adm = [gate.admit(_meta(i)) for i in range(3, 14)]
    assert adm[0].restart == 4 and all(a.restart is None for a in adm[1:])  # aligned base
    assert [i for i, a in zip(range(3, 14), adm, strict=True) if a.needed] == [4, 6, 8, 10, 12]
    gate.restart()  # a live resume: the next frame starts again
    assert gate.admit(_meta(21)).restart == 22


def test_gate_files_holes_apart_from_frames_the_source_dropped():
    holes = SourceHoles()
    gate = Gate(2, 6, holes)
    for i in (0, 1, 2, 5, 6):  # 3 and 4 never came
        gate.admit(_meta(i))
    gate.admit(_meta(10, **{DROPPED_BEFORE: 3}))  # 7..9: the source dropped them itself
    gate.admit(_meta(14, **{DROPPED_BEFORE: 1}))  # 11, 12 never came, 13 dropped
    gate.admit(_meta(16))
    gate.admit(_meta(17))
    gate.admit(_meta(19))  # 18 is a hole
    gate.admit(_meta(21, **{DROPPED_BEFORE: 1}))  # 20 dropped
    assert [i for i in range(22) if i in holes] == [3, 4, 11, 12, 18]


def test_gate_leaves_out_gaps_without_needed_frames_and_stale_frames_after_a_seek():
    holes = SourceHoles()
    gate = Gate(2, 6, holes, seek_window=30)
    gate.admit(_meta(0))
    gate.admit(_meta(2))  # extraction reads only the needed frames: 1 is no hole
    gate.admit(_meta(4))
    assert not any(i in holes for i in range(6))
    gate.restart(seek_target=100)
    assert gate.admit(_meta(5)).stale and gate.admit(_meta(130)).stale  # the old position
    adm = gate.admit(_meta(101))
    assert not adm.stale and adm.restart == 102 and not adm.needed
    assert gate.admit(_meta(103)).stale is False


class _Frame:
    """A frame whose pixels record when they are read (a lazily decoded frame)."""

    def __init__(self, frame, touched):
        self._f, self._touched = frame, touched
        self.index, self.timestamp = frame.index, frame.timestamp
        self.meta, self.intrinsics = frame.meta, frame.intrinsics

    @property
    def color(self):
        self._touched.add(self.index)
        return self._f.color

    @property
    def depth(self):
        self._touched.add(self.index)
        return self._f.depth


def test_the_step_reads_pixels_only_of_frames_the_schedule_needs(sim_frames):
    from rt_sfamnet.face import FaceConfig, FaceTracker
    from rt_sfamnet.features import FeatureConfig

    touched: set[int] = set()
    tracker = FaceTracker(FaceConfig())
    try:
        pipe = Pipeline(tracker, FeatureConfig(mode="hybrid", backend="numpy"), 3, 6)
        samples = []
        for f in sim_frames[1:40]:
            samples += pipe.step(_Frame(f, touched)).samples
    finally:
        tracker.close()
    # base 3; windows start at 3 + 3j and end 6 frames later
    assert sorted(touched) == [i for i in range(1, 40) if (i - 3) % 3 == 0 and i >= 3]
    assert [s.frame for s in samples] == list(range(3, 34, 3))
    assert all(s.maps is not None for s in samples)
    with pytest.raises(RuntimeError, match="maps only"):
        pipe.score(samples)
