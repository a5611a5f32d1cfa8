"""Recorded gaps: frames a source never had (missing_color), frames without depth
(missing_depth), the ``gap`` column and the summary's runs of gap rows."""

from __future__ import annotations

import csv
from types import SimpleNamespace

import numpy as np

from rt_sfamnet.face import CropBox
from rt_sfamnet.frames import Intrinsics, RGBDFrame
from rt_sfamnet.pipeline.stages import (
    FlowStage,
    Observed,
    RingEntry,
    SampleScheduler,
    SourceHoles,
)
from rt_sfamnet.pipeline.writers import GAP_REASONS, FrameCsvWriter, GapLog


def _entry(i):
    return RingEntry(i, i / 30.0, SimpleNamespace(box=CropBox(10, 10, 40)), True)


def test_frames_the_source_skipped_are_missing_color_and_engine_drops_are_dropped():
    holes = SourceHoles()
    sched = SampleScheduler(frame_skip=2, k_sw=6, holes=holes)
    due = []
    for i in (0, 2, 4, 6, 8):
        due += sched.push(_entry(i))
    holes.add(9, 13)  # the recording lost frames 9..13
    due += sched.push(_entry(14))  # 10 and 12 never came: windows ending there are gaps
    due += sched.push(_entry(16))  # the window (10, 16) starts in the hole
    due += sched.push(_entry(20))  # 18 came from the source but the engine dropped it
    due += sched.push(_entry(24))  # and 22 too
    got = [(s.frame, s.reason) for s in due]
    assert got == [(0, ""), (2, ""), (4, "missing_color"), (6, "missing_color"), (8, ""),
                   (10, "missing_color"), (12, "missing_color"), (14, ""),
                   (16, "dropped"), (18, "dropped")]
    # the sample sequence stays regular: sample j is frame 2 j
    assert [s.sample for s in due] == list(range(10))


class _Builder:
    uses_depth = True

    def crop(self, frame, obs):
        return "crop"

    def attach(self, smp, start, frame, end_obs=None):
        smp.crops = ("a", "b")


def _observed(i, gap=""):
    intr = Intrinsics.from_fov(64, 48, 69.0)
    meta = {"gap": gap} if gap else {}
    frame = RGBDFrame(np.zeros((48, 64, 3), np.uint8), np.zeros((48, 64), np.uint16), i / 30.0,
                      i, intr, meta)
    return Observed(frame, SimpleNamespace(box=CropBox(10, 10, 40)), True)


def test_a_window_touching_a_frame_without_depth_is_missing_depth_not_a_flow():
    stage = FlowStage(SampleScheduler(2, 6), _Builder())
    due = []
    for i in range(0, 20, 2):
        due += stage.add(_observed(i, "missing_depth" if i == 8 else ""))
    got = [(s.frame, s.reason, s.crops is not None, s.face_found) for s in due]
    assert got == [(0, "", True, True), (2, "missing_depth", False, True),
                   (4, "", True, True), (6, "", True, True),
                   (8, "missing_depth", False, True), (10, "", True, True),
                   (12, "", True, True)]
    # a flow mode without depth (optical) scores those windows
    _Builder.uses_depth = False
    try:
        stage = FlowStage(SampleScheduler(2, 6), _Builder())
        due = [s for i in range(0, 20, 2)
               for s in stage.add(_observed(i, "missing_depth" if i == 8 else ""))]
        assert all(s.reason == "" for s in due)
    finally:
        _Builder.uses_depth = True


def test_gap_log_runs():
    log = GapLog()
    for frame, reason in [(0, ""), (2, "no_face"), (4, "no_face"), (6, ""), (8, "no_face"),
                          (10, "missing_color"), (12, "missing_color"), (14, "")]:
        log.add(frame, reason)
    assert log.entries == [
        {"reason": "no_face", "first": 2, "last": 4, "samples": 2},
        {"reason": "no_face", "first": 8, "last": 8, "samples": 1},
        {"reason": "missing_color", "first": 10, "last": 12, "samples": 2}]
    assert log.counts() == {"no_face": 3, "missing_color": 2}
    assert set(GAP_REASONS) == {"no_face", "dropped", "missing_color", "missing_depth"}


def test_gap_column_is_the_results_reason(tmp_path):
    from rt_sfamnet.pipeline import FrameResult

    w = FrameCsvWriter(tmp_path / "f.csv", ["a", "b"])
    w.add_results([
        FrameResult(0, 0.0, True, 0.5, None, None, np.array([0.3, 0.7]), "b", 1.0),
        FrameResult(2, 2 / 30, False, None, None, None, None, None, 1.0, reason="missing_color"),
        FrameResult(4, 4 / 30, True, None, None, None, None, None, 1.0, reason="missing_depth"),
    ])
    w.close()
    rows = list(csv.DictReader((tmp_path / "f.csv").open()))
    assert [r["gap"] for r in rows] == ["", "missing_color", "missing_depth"]
    assert [r["score"] == "" for r in rows] == [False, True, True]
    assert w.gaps.counts() == {"missing_color": 1, "missing_depth": 1}
