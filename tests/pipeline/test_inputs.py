"""The automatic choice of weights for a source's depth, and the labels of a run
(rt_sfamnet.pipeline.inputs), on real sources: colour-only frame folders written here, the
simulator and the test recording."""

from __future__ import annotations

import pytest

from rt_sfamnet.errors import ConfigError, WeightsError
from rt_sfamnet.pipeline import Engine, EngineConfig
from rt_sfamnet.pipeline.inputs import NO_DEPTH, is_simulated, run_labels
from rt_sfamnet.sources import make_source
from rt_sfamnet.sources.folder import FolderSource
from rt_sfamnet.sources.limited import LimitedSource
from tests.weights_helpers import REPO, colour_only_folder, depth_png, weights_dir

CLIP = REPO / "recordings" / "clip.db3"


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """The bundled weights' folder with optical weights in it (they are trained apart)."""
    folder = weights_dir(tmp_path / "weights")
    monkeypatch.setattr("rt_sfamnet.weights.WEIGHTS_DIR", folder)
    return folder


@pytest.fixture
def rgb_only(tmp_path):
    return colour_only_folder(tmp_path / "casme2" / "sub01" / "EP01")


def _engine(source, **config):
    return Engine(source, EngineConfig(device="cpu", **config))


def test_folder_says_whether_it_has_depth_before_it_is_opened(tmp_path, rgb_only):
    assert FolderSource(rgb_only).has_depth is False
    colour_only_folder(tmp_path / "rgbd" / "color")
    (tmp_path / "rgbd" / "depth").mkdir()
    for n in range(1, 5):
        depth_png(tmp_path / "rgbd" / "depth" / f"{n}.png")
    src = FolderSource(tmp_path / "rgbd")
    assert src.has_depth is True
    with src:
        assert src.has_depth is True
    # wrappers pass it on (the runner's --seconds, the GUI's record toggle)
    from rt_sfamnet.sources.realsense.tee import RecordingTee

    assert LimitedSource(FolderSource(rgb_only), 1.0).has_depth is False
    assert RecordingTee(FolderSource(rgb_only)).has_depth is False
    assert make_source("sim:duration=1").has_depth is True


def test_a_source_without_depth_gets_the_optical_flow_weights(shipped, rgb_only):
    eng = _engine(make_source(str(rgb_only)))
    assert eng.predictor.path == (shipped / "sfamnet-4emo-optical.safetensors").resolve()
    assert eng.settings.features.mode == "optical" and eng.settings.has_depth is False
    labels = run_labels(eng)
    assert labels["depth"] is False and labels["input"] == NO_DEPTH == (
        "no depth: optical-flow model")
    assert labels["training_data"] == "synthetic" and labels["zero_depth_experiment"] is False
    # a folder is not simulated: synthetic-trained weights on it are flagged
    assert len(labels["warnings"]) == 1 and "synthetic faces only" in labels["warnings"][0]


def test_an_rgbd_source_keeps_the_depth_default(shipped):
    eng = _engine(make_source("sim:duration=1"))
    assert eng.predictor.path == (shipped / "sfamnet-4emo.safetensors").resolve()
    assert eng.settings.features.mode == "hybrid"
    labels = run_labels(eng)
    assert labels == {"depth": True, "input": "depth: hybrid-flow model",
                      "training_data": "synthetic", "zero_depth_experiment": False,
                      "warnings": []}  # the simulator is simulated: no warning
    # asking for optical flow picks the optical weights on an RGB-D source too
    eng = _engine(make_source("sim:duration=1"), features={"mode": "optical"})
    assert eng.predictor.path.name == "sfamnet-4emo-optical.safetensors"
    assert run_labels(eng)["input"] == "depth available: optical-flow model (depth not used)"


def test_missing_optical_weights_fail_with_one_line(tmp_path, monkeypatch, rgb_only):
    folder = weights_dir(tmp_path / "w", optical=False)
    monkeypatch.setattr("rt_sfamnet.weights.WEIGHTS_DIR", folder)
    with pytest.raises(WeightsError) as err:
        _engine(make_source(str(rgb_only)))
    msg = str(err.value)
    assert "\n" not in msg and "source has no depth" in msg
    assert "sfamnet-4emo-optical.safetensors" in msg and "missing" in msg
    # the RGB-D default is never used in their place
    assert "zero depth" in msg


def test_depth_trained_weights_on_a_source_without_depth_are_refused(shipped, rgb_only):
    hybrid = shipped / "sfamnet-4emo.safetensors"
    with pytest.raises(ConfigError) as err:
        _engine(make_source(str(rgb_only)), weights=str(hybrid))
    msg = str(err.value)
    assert "\n" not in msg and "no depth" in msg and "'hybrid'" in msg
    assert "--zero-depth-experiment" in msg
    # a depth flow mode with the optical weights is refused the same way
    with pytest.raises(ConfigError, match="flow mode 'scene' needs depth"):
        _engine(make_source(str(rgb_only)), features={"mode": "scene"},
                weights=str(shipped / "sfamnet-4emo-optical.safetensors"))


def test_the_zero_depth_experiment_is_allowed_and_labelled(shipped, rgb_only):
    eng = _engine(make_source(str(rgb_only)), weights=str(shipped / "sfamnet-4emo.safetensors"),
                  zero_depth_experiment=True)
    assert eng.settings.zero_depth_experiment is True
    labels = run_labels(eng)
    assert labels["zero_depth_experiment"] is True and labels["depth"] is False
    assert labels["input"].startswith("no depth: zero-depth experiment (hybrid features")
    assert labels["warnings"][0].startswith("zero-depth experiment")
    # on an RGB-D source the flag changes nothing
    eng = _engine(make_source("sim:duration=1"), zero_depth_experiment=True)
    assert eng.settings.zero_depth_experiment is False


def test_which_recordings_count_as_simulated(tmp_path):
    """The simulator and a recording with the simulator's sidecar are simulated; the same
    recording without it (a person in front of a camera, for all we know) is not."""
    assert is_simulated(make_source("sim:duration=1"))
    assert is_simulated(make_source(str(CLIP)))  # clip.gt.csv: subject "sim"
    bare = tmp_path / "session.db3"
    bare.symlink_to(CLIP)
    assert not is_simulated(make_source(str(bare)))
    other = tmp_path / "person.db3"
    other.symlink_to(CLIP)
    (tmp_path / "person.gt.csv").write_text(
        "subject,video,onset,apex,offset,type,emotion\ns01,person,3,5,9,micro,happy\n")
    assert not is_simulated(make_source(str(other)))


@pytest.mark.parametrize("trained, mode, refused", [
    ("optical", None, False), ("optical", "optical", False), ("optical", "hybrid", True),
    ("hybrid", None, True), ("scene", None, True), ("hybrid", "optical", True),
])
def test_resolve_settings_refuses_depth_on_a_source_without_it(trained, mode, refused):
    """Weights trained with depth, or a depth flow mode, on a source without depth: refused,
    allowed as the labelled experiment; on an RGB-D source nothing changes."""
    from rt_sfamnet.pipeline import resolve_settings
    from rt_sfamnet.weights import WeightsMeta

    meta = WeightsMeta(emotions=4, flow_mode=trained,
                       provenance={"training_data": ["synthetic", "own-recordings"]})
    features = {"mode": mode} if mode else None
    config = EngineConfig(features=features)
    if refused:
        with pytest.raises(ConfigError, match="source has no depth"):
            resolve_settings(config, meta, "cpu", 30, has_depth=False)
    else:
        s = resolve_settings(config, meta, "cpu", 30, has_depth=False)
        assert s.has_depth is False and s.zero_depth_experiment is False
    s = resolve_settings(EngineConfig(features=features, zero_depth_experiment=True), meta,
                         "cpu", 30, has_depth=False)
    assert s.zero_depth_experiment is refused
    s = resolve_settings(config, meta, "cpu", 30)
    assert s.has_depth is True and s.zero_depth_experiment is False
    assert s.training_data == ("synthetic", "own-recordings") and s.weights_flow_mode == trained
    from rt_sfamnet.pipeline.inputs import training_text

    assert training_text(s) == "trained on synthetic faces + own recordings"
