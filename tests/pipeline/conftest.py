"""Fixtures of the pipeline tests: a random-weights predictor, simulator frames, the test clip."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipeline.helpers import sim


@pytest.fixture(scope="module")
def predictor():
    import torch

    from rt_sfamnet.model import SFAMNet
    from rt_sfamnet.predictor import Predictor
    from rt_sfamnet.weights import WeightsMeta

    torch.manual_seed(0)
    return Predictor(SFAMNet(4), WeightsMeta(emotions=4), device="cpu", threads=1)


@pytest.fixture(scope="module")
def sim_frames():
    src = sim(3.0)
    with src:
        return list(src)


@pytest.fixture(scope="module")
def clip_path() -> Path:
    repo = Path(__file__).resolve().parents[2]
    for name in ("clip.db3", "clip.bag", "demo.db3"):
        p = repo / "recordings" / name
        if p.exists():
            return p
    pytest.skip("no test recording in recordings/")

