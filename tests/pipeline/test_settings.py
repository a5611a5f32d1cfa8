"""One resolution of settings (rt_sfamnet.pipeline.settings)."""

from __future__ import annotations

import pytest

from rt_sfamnet.errors import ConfigError
from rt_sfamnet.features import FeatureConfig
from rt_sfamnet.pipeline import EngineConfig, resolve_settings
from rt_sfamnet.spotting import SpottingConfig
from rt_sfamnet.weights import WeightsMeta


def test_engine_config_validation():
    from rt_sfamnet.config import config_from_mapping
    from rt_sfamnet.pipeline import EngineConfig

    with pytest.raises(ConfigError):
        EngineConfig(frame_skip=0)
    with pytest.raises(ConfigError):
        EngineConfig(speed=0)
    with pytest.raises(ConfigError):
        EngineConfig(device="tpu")
    with pytest.raises(ConfigError, match="unknown key"):
        config_from_mapping(EngineConfig, {"frame_skp": 2})
    cfg = config_from_mapping(EngineConfig, {"frame_skip": 1, "spotting": {"variant": "paper"}})
    assert cfg.frame_skip == 1
    assert resolve_settings(cfg, None, "cpu", 30).spotting.variant == "paper"
    # bad spotting or feature keys fail when the config is built, before any model loads
    with pytest.raises(ConfigError, match="unknown key"):
        EngineConfig(spotting={"treshold": 0.5})
    with pytest.raises(ConfigError, match="unknown key"):
        EngineConfig(features={"mod": "scene"})


def _meta(**provenance):
    return WeightsMeta(emotions=4, flow_mode="scene", input_scale=3.0, frame_skip=2,
                       provenance=provenance)


def test_precedence_defaults_then_weights_then_user():
    meta = _meta(train={"spotting": {"k_micro": 3, "micro_threshold": 0.3, "frame_skip": 5}},
                 input_clip=4.0)
    s = resolve_settings(EngineConfig(), meta, "cpu", 30)
    assert (s.frame_skip, s.k_sw, s.fps) == (2, 6, 30.0)
    assert (s.features.mode, s.features.input_scale, s.features.backend) == ("scene", 3.0, "numpy")
    assert s.spotting.k_micro == 3 and s.spotting.micro_threshold == 0.3
    assert s.spotting.frame_skip == 2 and s.spotting.fps == 30.0  # the schedule decides
    assert s.input_clip == 4.0
    assert s.spotting_from_weights["k_micro"] == 3
    # the user's values win over the weights'
    s = resolve_settings(EngineConfig(spotting={"micro_threshold": 0.5}, features={"mode": "optical"},
                                      input_clip=0.0, k_sw=4), meta, "cpu", 25)
    assert s.spotting.micro_threshold == 0.5 and s.spotting.k_micro == 3
    assert s.features.mode == "optical" and s.features.input_scale == 3.0
    assert s.input_clip is None and s.k_sw == 4 and s.spotting.fps == 25.0
    # --release-spotting: the weights' spotting values are skipped
    s = resolve_settings(EngineConfig(weights_spotting=False), meta, "cpu", 30)
    assert s.spotting == SpottingConfig(frame_skip=2, fps=30.0)
    # a complete SpottingConfig / FeatureConfig is used as it is (schedule values aside)
    s = resolve_settings(EngineConfig(spotting=SpottingConfig(k_micro=2), features=FeatureConfig()),
                         meta, "cpu", 30)
    assert s.spotting.k_micro == 2 and s.spotting.micro_threshold == SpottingConfig().micro_threshold
    assert s.features == FeatureConfig()


def test_frame_skip_and_window_follow_backend_and_rate():
    assert resolve_settings(EngineConfig(), _meta(), "cuda", 30).frame_skip == 1
    assert resolve_settings(EngineConfig(), _meta(), "cuda", 30).features.backend == "cupy"
    assert resolve_settings(EngineConfig(frame_skip=3), _meta(), "cuda", 30).frame_skip == 3
    assert resolve_settings(EngineConfig(), None, "cpu", 60).k_sw == 12
    assert resolve_settings(EngineConfig(), None, "cpu", None).fps == 30.0
    with pytest.raises(ConfigError):
        resolve_settings(EngineConfig(), None, "tpu", 30)


def test_one_function_sets_the_schedule_of_every_spotting_config():
    """The engine's settings, LOSO evaluation and the tuning build a spotting config the same
    way: the values given, with frame_skip and fps from the schedule (never from the values)."""
    from rt_sfamnet.spotting import spotting_changes, spotting_config
    from rt_sfamnet.training.evaluate import _spotting_config
    from rt_sfamnet.tuning import _config

    values = {"k_micro": 4, "fps": 60.0, "frame_skip": 5, "micro_threshold": 0.4}
    want = spotting_config(values, 3, 25.0)
    assert (want.frame_skip, want.fps, want.k_micro, want.micro_threshold) == (3, 25.0, 4, 0.4)
    assert _spotting_config(3, values, 25.0) == want
    assert _config(values, 3, 25.0) == want
    settings = resolve_settings(EngineConfig(frame_skip=3, spotting=values), None, "cpu", 25.0)
    assert settings.spotting == want
    assert settings.spotting_changed == spotting_changes(want) == {
        "k_micro": 4, "micro_threshold": 0.4}
    with pytest.raises(ConfigError, match="k_mikro"):
        spotting_config({"k_mikro": 1}, 2, 30.0)


def test_the_flow_modes_are_listed_once():
    from rt_sfamnet import weights
    from rt_sfamnet.features import FLOW_MODES

    assert FLOW_MODES[0] == FeatureConfig().mode == "hybrid"
    assert weights.FLOW_MODES is FLOW_MODES


@pytest.mark.parametrize("emotions", [4, 7])
def test_bundled_weights_choose_their_event_emotion_rule(emotions):
    """The optical weights ship the weighted event-emotion rule (docs/spotting.md, step 6);
    the RGB-D defaults keep the release's, so their published figures hold."""
    from rt_sfamnet.weights import WEIGHTS_DIR, read_meta

    optical = read_meta(WEIGHTS_DIR / f"sfamnet-{emotions}emo-optical.safetensors")
    rgbd = read_meta(WEIGHTS_DIR / f"sfamnet-{emotions}emo.safetensors")
    assert resolve_settings(EngineConfig(), optical, "cpu", 24).spotting.emotion_rule == "weighted"
    assert resolve_settings(EngineConfig(), rgbd, "cpu", 30).spotting.emotion_rule == "release"
    # the user can still ask for the release's rule
    user = EngineConfig(spotting={"emotion_rule": "release"})
    assert resolve_settings(user, optical, "cpu", 24).spotting.emotion_rule == "release"
