"""Frames the camera's own queue dropped are marked, so the analysis files them as
``dropped`` and not as holes of the stream (``missing_color``). A recording played in real
time by the real SDK stands in for the camera (callback, alignment, drop-oldest queue)."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("pyrealsense2")

from rt_sfamnet.errors import CameraDisconnectedError  # noqa: E402
from rt_sfamnet.face import CropBox  # noqa: E402
from rt_sfamnet.pipeline.stages import RingEntry, SampleScheduler, SourceHoles  # noqa: E402
from rt_sfamnet.pipeline.step import DROPPED_BEFORE, Gate  # noqa: E402
from rt_sfamnet.sources.realsense import CameraSource  # noqa: E402


def _wait_for(cond, limit_s: float = 20.0) -> None:
    """Wait for a condition of the streaming camera (a deadline, never a fixed sleep)."""
    end = time.monotonic() + limit_s
    while not cond():
        if time.monotonic() > end:
            pytest.fail("the camera stand-in did not deliver frames")
        time.sleep(0.005)


def _reasons(frames, use_marks: bool) -> list[str]:
    """The gap reasons of the samples the gate and scheduler make of these frames' metadata."""
    holes = SourceHoles()
    gate, sched = Gate(2, 6, holes), SampleScheduler(2, 6, holes)
    due = []
    for f in frames:
        meta = dict(f.meta) if use_marks else {k: v for k, v in f.meta.items()
                                               if k != DROPPED_BEFORE}
        adm = gate.admit(SimpleNamespace(index=f.index, meta=meta))
        if adm.restart is not None:
            sched.reset(adm.restart)
        if adm.needed:
            obs = SimpleNamespace(box=CropBox(10, 10, 40))
            due += sched.push(RingEntry(f.index, f.timestamp, obs, True))
    return [s.reason for s in due]


def test_frames_the_camera_queue_dropped_are_marked_and_are_dropped_gaps(
        camera_clip: Path) -> None:
    src = CameraSource(recording=camera_clip, queue_size=1, frame_timeout_s=1.0)
    got = []
    with src:
        it = iter(src)
        got.append(next(it))
        for _ in range(2):  # let the SDK deliver frames the consumer does not take
            before = src.dropped
            _wait_for(lambda b=before: src.dropped >= b + 3)
            got.append(next(it))
        with pytest.raises(CameraDisconnectedError):
            for f in it:
                got.append(f)
    idx = [f.index for f in got]
    assert idx == sorted(idx) and len(set(idx)) == len(idx)
    gaps = 0
    for a, b in zip(got, got[1:], strict=False):
        if b.index > a.index + 1:
            assert b.meta[DROPPED_BEFORE] == b.index - a.index - 1
            gaps += 1
        else:
            assert DROPPED_BEFORE not in b.meta
    assert gaps >= 2 and DROPPED_BEFORE not in got[0].meta
    # every frame the SDK delivered was handed out, or dropped and counted
    assert got[0].index + len(got) + sum(f.meta.get(DROPPED_BEFORE, 0) for f in got) \
        == src._count == got[-1].index + 1
    assert src.dropped == src._count - len(got)

    reasons = _reasons(got, use_marks=True)
    assert "dropped" in reasons and "missing_color" not in reasons
    # without the marks the same frames would be filed as holes of the stream
    assert "missing_color" in _reasons(got, use_marks=False)
