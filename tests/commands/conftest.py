"""Fixtures of the command tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def weights_file(tmp_path_factory) -> Path:
    """A seeded untrained network saved in our weights format (the plumbing does not care
    what it says)."""
    import torch

    from rt_sfamnet.model import SFAMNet
    from rt_sfamnet.weights import WeightsMeta, save_weights

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("w") / "untrained.safetensors"
    save_weights(SFAMNet(4), path, WeightsMeta(emotions=4, provenance={"note": "untrained"}))
    return path
