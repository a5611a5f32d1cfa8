"""Weights folders and RGB-only sources for the tests of the automatic choice of weights."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "weights"


def save_untrained(path: Path, flow_mode: str = "optical", emotions: int = 4,
                   training_data: object = "synthetic") -> Path:
    """A seeded untrained SFAMNet saved in our format with ``flow_mode`` (the selection
    logic does not care what it learned)."""
    import torch

    from rt_sfamnet.model import SFAMNet
    from rt_sfamnet.weights import WeightsMeta, save_weights

    torch.manual_seed(0)
    prov = {"note": "untrained"}
    if training_data is not None:
        prov["training_data"] = training_data
    return save_weights(SFAMNet(emotions), path, WeightsMeta(emotions=emotions,
                                                             flow_mode=flow_mode,
                                                             provenance=prov))


def weights_dir(folder: Path, optical: bool = True) -> Path:
    """A weights folder like the shipped one: the bundled 4-class RGB-D weights and, with
    ``optical``, untrained ``sfamnet-4emo-optical`` weights."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUNDLED / "sfamnet-4emo.safetensors", folder / "sfamnet-4emo.safetensors")
    if optical:
        save_untrained(folder / "sfamnet-4emo-optical.safetensors")
    return folder


def colour_only_folder(folder: Path, frames: int = 4) -> Path:
    """A frame folder of colour JPEGs without any depth frame (as CASME II ships them)."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for n in range(1, frames + 1):
        img = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
        assert cv2.imwrite(str(folder / f"{n}.jpg"), img)
    return folder


def depth_png(path: Path, shape=(48, 64)) -> None:
    import cv2

    assert cv2.imwrite(str(path), np.full(shape, 600, np.uint16))
