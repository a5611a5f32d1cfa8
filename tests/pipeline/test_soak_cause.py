"""Why the live soak once spotted nothing (issue: 0 expressions in 105 s of simulation).

The soak built its Engine by hand, and the engine then ran the release's spotting values,
not the ones the weights were evaluated with (which ``analyze`` applied). This pins the cause
with weights made here (any network; their provenance carries spotting values unlike the
release's), so retraining the shipped weights cannot break it: an Engine built with default
arguments uses the weights' values, exactly as ``analyze`` does, and the events ``analyze``
publishes are those the weights' values give on its own scores.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from rt_sfamnet.cli import main
from rt_sfamnet.config import config_from_mapping
from rt_sfamnet.spotting import SpottingConfig, spot

# unlike the release's defaults (k_micro 7, k_macro 10, micro length [7, 16] at frame skip 2)
WEIGHTS_SPOTTING = {"k_micro": 3, "k_macro": 6, "micro_min_length": 2, "micro_threshold": 0.3}


@pytest.fixture(scope="module")
def tuned_weights(tmp_path_factory):
    import torch

    from rt_sfamnet.model import SFAMNet
    from rt_sfamnet.weights import WeightsMeta, save_weights

    torch.manual_seed(3)
    path = tmp_path_factory.mktemp("w") / "tuned.safetensors"
    save_weights(SFAMNet(4), path, WeightsMeta(
        emotions=4, provenance={"train": {"spotting": dict(WEIGHTS_SPOTTING)}}))
    return path


@pytest.mark.slow
def test_engine_and_analyze_use_the_weights_spotting_values(tmp_path, tuned_weights):
    out = tmp_path / "soak"
    assert main(["analyze", "sim:seed=3,duration=6", "--out", str(out), "--no-progress",
                 "--device", "cpu", "-q", "--weights", str(tuned_weights)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["spotting_from_weights"] == WEIGHTS_SPOTTING
    tuned = config_from_mapping(SpottingConfig, summary["spotting"])
    release = SpottingConfig(frame_skip=tuned.frame_skip)
    for key, value in WEIGHTS_SPOTTING.items():
        assert getattr(tuned, key) == value != getattr(release, key)

    with (out / "frames.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    scores = np.array([float(r["score"]) if r["score"] else 0.0 for r in rows], np.float32)
    labels = [r["argmax_class"] or "neutral" for r in rows]
    assert summary["events"]["total"] == len(spot(scores, labels, tuned))  # what it published

    from rt_sfamnet.pipeline import Engine, EngineConfig
    from rt_sfamnet.sources import make_source

    # built by hand, as the soak does: the weights' values, not the release's
    engine = Engine(make_source("sim:seed=3,duration=1"), EngineConfig(weights=str(tuned_weights),
                                                                       device="cpu"))
    assert engine.spotting_config == tuned
