"""The analysis stages without threads (rt_sfamnet.pipeline.stages)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest


def test_schedule_of_needed_frames():
    from rt_sfamnet.pipeline.stages import needed_frame

    # frame_skip 2, k_SW 6: windows (0,6), (2,8), ... only even frames are needed
    assert [i for i in range(14) if needed_frame(i, 0, 2, 6)] == [0, 2, 4, 6, 8, 10, 12]
    # frame_skip 4, k_SW 6: starts 0,4,8,... and ends 6,10,14,...
    assert [i for i in range(16) if needed_frame(i, 0, 4, 6)] == [0, 4, 6, 8, 10, 12, 14]
    # frame_skip 1: every frame from the base on
    assert [i for i in range(8) if needed_frame(i, 3, 1, 6)] == [3, 4, 5, 6, 7]


def test_box_depth_fraction():
    from rt_sfamnet.face import CropBox
    from rt_sfamnet.pipeline import box_depth_fraction

    depth = np.zeros((100, 100), np.uint16)
    depth[:, :50] = 600
    assert box_depth_fraction(depth, CropBox(0, 0, 40)) == pytest.approx(1.0)
    assert box_depth_fraction(depth, CropBox(30, 0, 40)) == pytest.approx(0.5)
    assert box_depth_fraction(depth, CropBox(-20, -20, 40)) == pytest.approx(1.0)  # clipped
    assert box_depth_fraction(depth, CropBox(200, 200, 40)) == 0.0


# ------------------------------------------------------------------ scheduler, without threads


def _entry(i, face=True, ok=True):
    from rt_sfamnet.face import CropBox
    from rt_sfamnet.pipeline.stages import RingEntry

    obs = SimpleNamespace(box=CropBox(10, 20, 100)) if face else None
    return RingEntry(i, i / 30.0, obs, ok)


def test_scheduler_emits_each_window_when_its_end_frame_arrives():
    from rt_sfamnet.pipeline.stages import SampleScheduler

    sched = SampleScheduler(frame_skip=2, k_sw=6)
    sched.reset(SampleScheduler.base_for(3, 2))  # a stream starting at frame 3
    assert sched.base == 4
    assert [f for f in range(3, 20) if sched.wants(f)] == [4, 6, 8, 10, 12, 14, 16, 18]
    got = {}
    for f in (4, 6, 8, 10, 12, 14, 16):
        got[f] = [(s.sample, s.frame, s.reason) for s in sched.push(_entry(f))]
    assert got[4] == got[6] == got[8] == [] and got[10] == [(0, 4, "")]
    assert got[16] == [(3, 10, "")]
    assert len(sched.ring) == 4  # frames 10..16: the last k_sw + 1 frames


def test_scheduler_marks_dropped_faceless_and_depthless_windows():
    from rt_sfamnet.pipeline.stages import SampleScheduler

    sched = SampleScheduler(frame_skip=2, k_sw=6)
    sched.reset(0)
    for f in (0, 2, 4):
        assert sched.push(_entry(f)) == []
    # frame 6 never arrives; frame 8 arrives without a face
    due = sched.push(_entry(8, face=False))
    assert [(s.frame, s.reason) for s in due] == [(0, "dropped"), (2, "no_face")]
    assert [s.face_found for s in due] == [False, False]
    # frame 10 never arrives either; at 12 the windows 4->10 and 6->12 lost a frame
    due = sched.push(_entry(12))
    assert [(s.sample, s.frame, s.reason) for s in due] == [(2, 4, "dropped"), (3, 6, "dropped")]
    assert all(np.isnan(s.timestamp) for s in due)  # their start frames left the ring
    # a face box without depth on either frame: scored, with depth_ok False
    sched.reset(0)
    for f in (0, 2, 4):
        sched.push(_entry(f))
    (smp,) = sched.push(_entry(6, ok=False))
    assert (smp.reason, smp.depth_ok, smp.timestamp) == ("", False, 0.0)
    with pytest.raises(ValueError):
        SampleScheduler(0, 6)


class _Crop:
    """Stands in for a Crop where only identity matters."""


def test_pair_builder_zeroes_w_without_depth_and_clamps(sim_frames):
    from rt_sfamnet.face import FaceConfig, FaceTracker
    from rt_sfamnet.features import FeatureConfig
    from rt_sfamnet.pipeline.stages import PairBuilder, Sample

    tracker = FaceTracker(FaceConfig())
    try:
        obs = tracker.update(sim_frames[0].color)
    finally:
        tracker.close()
    assert obs is not None
    raw_w = {"w_max_mm": None, "w_edge_mm": None, "w_face_mm": None}  # sensor noise stays in w
    b = PairBuilder(FeatureConfig(mode="hybrid", backend="numpy", **raw_w), input_clip=0.05)
    c0, c1 = b.crop(sim_frames[0], obs), b.crop(sim_frames[6], obs)
    ok = Sample(0, 0, 0.0, 0.0, "", True, crops=(c0, c1))
    no_depth = Sample(1, 0, 0.0, 0.0, "", False, crops=(c0, c1))
    gap = Sample(2, 2, 0.0, 0.0, "no_face")
    assert b.build([ok, no_depth, gap]) == [ok, no_depth]
    assert gap.maps is None and ok.crops is None  # crops released once used
    assert ok.maps.shape == (3, 42, 42) and ok.maps.dtype == np.float32
    assert np.abs(ok.maps).max() == np.float32(0.05) and np.any(ok.maps[2])
    assert np.array_equal(no_depth.maps[:2], ok.maps[:2]) and not np.any(no_depth.maps[2])
    # the optical mode has no depth stream: nothing is zeroed
    opt = PairBuilder(FeatureConfig(mode="optical", backend="numpy", **raw_w))
    smp = Sample(0, 0, 0.0, 0.0, "", False, crops=(c0, c1))
    opt.build([smp])
    assert np.any(smp.maps[2])


def test_spotter_stage_pushes_gaps_as_neutral_and_reports_stream_frames():
    from rt_sfamnet.pipeline.stages import SpotterStage
    from rt_sfamnet.spotting import SpottingConfig

    cfg = SpottingConfig(frame_skip=2, video_threshold=None)
    stage = SpotterStage(cfg, neutral="neutral")
    stage.reset(100)
    scores = [0.02] * 40 + [0.95] * 12 + [0.02] * 40
    out = []
    for i, x in enumerate(scores):
        out += stage.push(None if i == 3 else x, "negative")
    out += stage.finish()
    assert stage.spotter._labels[3] == "neutral" and stage.spotter._scores[3] == 0.0
    assert out and all(iv.onset >= 100 for iv in out)
    from rt_sfamnet.spotting import spot

    offline = spot([0.0 if i == 3 else x for i, x in enumerate(scores)],
                   ["neutral" if i == 3 else "negative" for i in range(len(scores))], cfg)
    assert [(iv.onset + 100, iv.offset + 100) for iv in offline] == [(iv.onset, iv.offset)
                                                                    for iv in out]
    curves = stage.new_curve_values()
    assert curves["micro"][0][0] == 100 and curves["micro"][1][0] == 102
    assert len(curves["micro"]) == len(scores) and stage.new_curve_values()["micro"] == []


def test_face_stage_measures_depth_in_the_face_box(sim_frames):
    import dataclasses

    from rt_sfamnet.face import FaceConfig, FaceTracker
    from rt_sfamnet.pipeline.stages import FaceStage

    tracker = FaceTracker(FaceConfig())
    stage = FaceStage(tracker, min_depth_fraction=0.2)
    try:
        a = stage.observe(sim_frames[0], arrival=1.5)
        b = stage.observe(dataclasses.replace(sim_frames[2], depth=np.zeros_like(sim_frames[2].depth)))
        c = stage.observe(dataclasses.replace(sim_frames[4], color=np.full_like(sim_frames[4].color, 128)))
    finally:
        tracker.close()
    assert a.obs is not None and a.depth_ok and a.arrival == 1.5
    assert b.obs is not None and not b.depth_ok
    assert c.obs is None and c.depth_ok  # no face: nothing to judge
