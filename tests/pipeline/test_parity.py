"""Train/serve parity: the live engine and offline extraction give bit-identical maps.

Both run the stages of rt_sfamnet.pipeline.stages; this test feeds the same simulator frames
to the threaded engine and to ``extract_video`` with non-default feature settings (nearest
depth resize, a smaller nose patch, another w clamp, some empty-depth frames) and compares
the unscaled maps sample by sample.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rt_sfamnet.features import FeatureConfig
from rt_sfamnet.intervals import Interval
from tests.pipeline.helpers import FaultySource, ListSource, run_engine

FEATURES = FeatureConfig(mode="hybrid", depth_resize="nearest", nose_patch=9, w_max_mm=15.0,
                         w_edge_mm=25.0, backend="numpy")
ZERO_DEPTH = {20, 21, 22}  # a face box without depth: w must be zeroed in both paths
BLANK = {40}  # no face on one frame: both paths leave its samples out


class FrameListVideo:
    """A video of the dataset interface (``read_frame``) over a list of frames."""

    def __init__(self, frames, intervals=()):
        self.frames = frames
        self.n_frames = len(frames)
        self.subject, self.video = "s1", "v1"
        self.intervals = list(intervals)

    def read_frame(self, index, intrinsics=None):
        return self.frames[index]


@pytest.fixture(scope="module")
def altered_frames(sim_frames):
    src = FaultySource(ListSource(sim_frames), blank=BLANK, zero_depth=ZERO_DEPTH)
    with src:
        return list(src)


def test_live_engine_and_extract_give_bit_identical_maps(predictor, altered_frames):
    from rt_sfamnet.datasets.extract import extract_video
    from rt_sfamnet.pipeline import Engine, EngineConfig

    assert dataclasses.replace(predictor.meta).input_scale == 1.0  # unscaled maps both ways
    engine = Engine(ListSource(altered_frames),
                    EngineConfig(device="cpu", features=FEATURES, keep_maps=True, max_batch=5),
                    predictor=predictor)
    assert engine.input_clip is None and engine.feature_config == FEATURES
    results, _, _, last = run_engine(engine, timeout=300)
    assert last.error is None
    live = {r.sample: r for r in results}

    gt = [Interval("s1", "v1", 30, 36, 44, "micro", "happiness")]
    feats = extract_video(FrameListVideo(altered_frames, gt), FEATURES, frame_skip=2, k_sw=6,
                          batch=7)
    assert len(feats.frames) == len(live) == (len(altered_frames) - 6 + 1) // 2
    assert list(feats.frames) == [live[j].frame for j in range(len(live))]
    assert list(feats.valid) == [live[j].face_found for j in range(len(live))]
    assert 0 < int(np.sum(~feats.valid)) < len(live)  # the blank frame made gaps
    empty = [j for j in range(len(live)) if not live[j].depth_ok and live[j].face_found]
    assert empty  # the zero-depth frames reached the empty-depth rule
    for j in range(len(live)):
        if feats.valid[j]:
            assert np.array_equal(feats.maps[j], live[j].maps), j  # bit for bit
    for j in empty:
        assert not np.any(feats.maps[j][2])  # w zeroed in the extracted maps too
    # the ground-truth pair goes through the same pair builder (onset 30 -> apex 36)
    assert len(feats.gt) == 1 and feats.gt_maps.shape == (1, 3, 42, 42)
    assert np.any(feats.gt_maps[0])
