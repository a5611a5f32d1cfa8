"""Train/serve parity, end to end: the live engine and offline extraction + LOSO evaluation.

Both run the same step (:class:`rt_sfamnet.pipeline.step.Pipeline`): the threaded engine on a
stream, ``extract_video`` up to the maps, then the evaluation's score → label → spot end
(:func:`rt_sfamnet.training.evaluate.spot_video`, the live gap rule). The same simulator frames
go both ways with non-default feature settings (nearest depth resize, a smaller nose patch,
another w clamp), frames without a face, frames without depth, frames the source never had
(holes) and an input clamp. Maps must be bit-identical; labels and intervals identical;
scores equal to 1e-6 (the network runs in other batches live).
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
HOLES = {61, 62, 63, 64, 65}  # frames the source never had: missing_color gaps in both paths
CLIP = 0.5  # the input clamp: PairBuilder live, the evaluation's predict offline
#: spotting values that find peaks in a random network's scores (its curve has bumps where
#: the gaps pull it to 0), so intervals and their emotions are compared
SPOT = {"video_threshold": None, "k_micro": 2, "micro_left": 5, "micro_right": 5,
        "micro_min_length": 1, "micro_max_length": 20, "micro_threshold": 0.0,
        "micro_phase_dif": 0.0, "micro_max_mean": None, "k_macro": 3, "macro_left": 6,
        "macro_right": 6, "macro_min_length": 2, "macro_max_length": 20,
        "macro_threshold": 0.0, "macro_widen": 0}


class FrameListVideo:
    """A video of the dataset interface (``read_frame``) over a list of frames; a frame
    missing from the list is a hole (``read_frame`` gives None)."""

    def __init__(self, frames, intervals=(), n_frames=None):
        self.frames = {f.index: f for f in frames}
        self.n_frames = n_frames if n_frames is not None else max(self.frames) + 1
        self.subject, self.video = "s1", "v1"
        self.intervals = list(intervals)

    def read_frame(self, index, intrinsics=None):
        return self.frames.get(index)


@pytest.fixture(scope="module")
def altered_frames(sim_frames):
    src = FaultySource(ListSource(sim_frames), blank=BLANK, zero_depth=ZERO_DEPTH)
    with src:
        return [f for f in src if f.index not in HOLES]


@pytest.fixture(scope="module")
def live(predictor, altered_frames):
    """The threaded engine's results and intervals on the altered frames."""
    from rt_sfamnet.pipeline import Engine, EngineConfig

    assert dataclasses.replace(predictor.meta).input_scale == 1.0  # unscaled maps both ways
    engine = Engine(ListSource(altered_frames),
                    EngineConfig(device="cpu", features=FEATURES, keep_maps=True, max_batch=5,
                                 input_clip=CLIP, spotting=SPOT, weights_spotting=False),
                    predictor=predictor)
    assert engine.input_clip == CLIP and engine.feature_config == FEATURES
    results, intervals, _, last = run_engine(engine, timeout=300)
    assert last.error is None
    return {r.sample: r for r in results}, intervals, engine.spotting_config


@pytest.fixture(scope="module")
def offline(altered_frames):
    """``extract_video`` on the same frames (a ground-truth micro-expression 30 -> 36)."""
    from rt_sfamnet.datasets.extract import extract_video

    gt = [Interval("s1", "v1", 30, 36, 44, "micro", "happiness")]
    n = len(altered_frames) + len(HOLES)
    return extract_video(FrameListVideo(altered_frames, gt, n), FEATURES, frame_skip=2, k_sw=6,
                         batch=7)


def test_live_engine_and_extract_give_bit_identical_maps(live, offline):
    res, _, _ = live
    feats = offline
    n = len(res)
    assert len(feats.frames) == n == (90 - 6 + 1) // 2
    assert list(feats.frames) == [res[j].frame for j in range(n)]
    assert list(feats.valid) == [res[j].score is not None for j in range(n)]
    reasons = {res[j].reason for j in range(n)}
    assert {"", "no_face", "missing_color"} <= reasons  # the blank frame and the holes
    assert [res[j].frame for j in range(n) if res[j].reason == "missing_color"] == \
        [56, 58, 62, 64]  # windows starting or ending at frames 62 and 64
    empty = [j for j in range(n) if not res[j].depth_ok and res[j].face_found]
    assert empty  # the zero-depth frames reached the empty-depth rule
    assert any(np.any(np.abs(feats.maps[j]) > CLIP) for j in range(n))  # the clamp clamps
    for j in range(n):
        if feats.valid[j]:
            # live maps are clamped by the pair builder; the cache keeps them unclamped
            assert np.array_equal(np.clip(feats.maps[j], -CLIP, CLIP), res[j].maps), j
        else:
            assert res[j].maps is None and not np.any(feats.maps[j])
    for j in empty:
        assert not np.any(feats.maps[j][2])  # w zeroed in the extracted maps too
    # the ground-truth pair goes through the same pair builder (onset 30 -> apex 36)
    assert len(feats.gt) == 1 and feats.gt_maps.shape == (1, 3, 42, 42)
    assert np.any(feats.gt_maps[0])


def test_live_engine_and_loso_evaluation_give_the_same_labels_and_intervals(
        predictor, live, offline, tmp_path):
    from rt_sfamnet.datasets.cache import FeatureCache
    from rt_sfamnet.pipeline.stages import label_samples
    from rt_sfamnet.training.config import TrainConfig
    from rt_sfamnet.training.data import load_subject
    from rt_sfamnet.training.evaluate import _spotting_config, evaluate_subject, spot_video
    from rt_sfamnet.training.fit import predict

    res, live_ivs, live_spotting = live
    n = len(res)
    cache = FeatureCache(tmp_path / "cache")
    cache.init({"frame_skip": 2, "k_sw": 6, "fps": 30.0, "flow": "hybrid", "float16": False})
    cache.write(offline)
    sd = load_subject(cache, "s1", emotions=4)
    cfg = TrainConfig(emotions=4, clip=CLIP, spotting=dict(SPOT))
    scfg = _spotting_config(2, cfg.spotting, 30.0)
    assert scfg == live_spotting  # the same spotting values both ways
    ev = evaluate_subject(predictor.model, sd, cfg, 1.0, 2, 30.0)

    names = predictor.class_names
    live_labels = [res[j].label if res[j].score is not None else names[-1] for j in range(n)]
    assert ev["labels"]["v1"] == live_labels
    gaps = [j for j in range(n) if res[j].score is None]
    assert len(gaps) == 6 and {live_labels[j] for j in gaps} == {"neutral"}  # the gap rule
    got = [(iv.type, iv.onset, iv.apex, iv.offset, iv.emotion) for iv in ev["predictions"]]
    want = sorted((iv.type, iv.onset, iv.apex, iv.offset, iv.emotion) for iv in live_ivs)
    assert sorted(got) == want and len(want) >= 3

    scores, labels, spotted = spot_video(predictor.model, sd.video_maps("v1"), sd.valid, 1.0,
                                         CLIP, names, scfg)
    assert labels == live_labels and len(spotted) == len(want)
    live_scores = np.array([res[j].score if res[j].score is not None else 0.0
                            for j in range(n)], np.float32)
    np.testing.assert_allclose(scores, live_scores, rtol=0, atol=1e-6)
    assert np.all(scores[~sd.valid] == 0.0)

    # the old evaluation labelled a gap with the network's argmax on its zero maps: that
    # would differ from live here, so this test can fail
    _, logits = predict(predictor.model, sd.video_maps("v1"), 1.0, clip=CLIP)
    old = [names[i] for i in logits.argmax(1)]
    assert old != live_labels
    assert label_samples(scores, logits, sd.valid, names)[1] == live_labels


def test_the_synchronous_step_gives_the_engines_results(predictor, live, altered_frames):
    from rt_sfamnet.face import FaceConfig, FaceTracker
    from rt_sfamnet.pipeline.step import Pipeline

    res, live_ivs, spotting = live
    tracker = FaceTracker(FaceConfig())
    try:
        pipe = Pipeline(tracker, FEATURES, 2, 6, predictor=predictor, spotting=spotting,
                        input_clip=CLIP)
        results, intervals = [], []
        for frame in altered_frames:
            out = pipe.step(frame)
            results += out.results
            intervals += out.intervals
        intervals += pipe.finish()
    finally:
        tracker.close()
    assert [(r.frame, r.reason, r.label, r.depth_ok, r.box) for r in results] == \
        [(res[j].frame, res[j].reason, res[j].label, res[j].depth_ok, res[j].box)
         for j in range(len(res))]
    for r in results:
        if r.score is None:
            assert res[r.sample].score is None and r.maps is None
        else:  # one sample per network call here, batches of up to 5 in the engine
            assert abs(r.score - res[r.sample].score) <= 1e-6
            assert np.array_equal(r.maps, res[r.sample].maps)
    assert intervals == live_ivs
