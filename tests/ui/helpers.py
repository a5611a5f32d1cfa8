"""Factories of real engine objects for the GUI tests (no Qt here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rt_sfamnet.frames import Intrinsics, RGBDFrame
from rt_sfamnet.pipeline import EngineStats, EngineUpdate, FrameResult
from rt_sfamnet.spotting import SpottedInterval

REPO = Path(__file__).resolve().parents[2]
CLIP = REPO / "recordings" / "clip.db3"
CLASSES4 = ("negative", "positive", "surprise", "others", "neutral")


def make_frame(index: int, width: int = 320, height: int = 240, fps: float = 30.0) -> RGBDFrame:
    """A real RGBDFrame: a gradient image and a depth ramp (mm)."""
    yy, xx = np.mgrid[0:height, 0:width]
    color = np.stack([(xx * 255 // width), (yy * 255 // height),
                      np.full_like(xx, (index * 7) % 256)], axis=-1).astype(np.uint8)
    depth = (600 + xx + yy).astype(np.uint16)
    depth[:10, :10] = 0
    return RGBDFrame(color, depth, index / fps, index, Intrinsics.from_fov(width, height))


def make_results(frames, score_fn=lambda f: 0.3, maps: bool = True) -> list[FrameResult]:
    """Real FrameResult objects for ``frames`` with scores ``score_fn(frame)``."""
    out = []
    for f in frames:
        probs = np.array([0.1, 0.6, 0.1, 0.1, 0.1], np.float32)
        out.append(FrameResult(
            frame=int(f), timestamp=f / 30.0, face_found=True, score=float(score_fn(f)),
            micro_smoothed=None, macro_smoothed=None, probs=probs, label="positive",
            latency_ms=120.0,
            maps=(np.random.default_rng(f).normal(0, 0.5, (3, 42, 42)).astype(np.float32)
                  if maps else None),
        ))
    return out


def make_update(frame_index: int | None = None, results=(), intervals=(), curves=None,
                finished: bool = False, error: BaseException | None = None,
                reset: bool = False, position: int | None = None) -> EngineUpdate:
    stats = EngineStats(input_fps=30.0, analyzed_per_s=15.0, latency_ms_p50=110.0,
                        latency_ms_p95=180.0, dropped={"frames": 3, "source": 0},
                        frames_in=100, frames_analyzed=50, backend="cpu", source="test",
                        position=frame_index if position is None else position)
    return EngineUpdate(
        frame=None if frame_index is None else make_frame(frame_index),
        observation=None, results=list(results), intervals=list(intervals), stats=stats,
        error=error, finished=finished,
        curves=curves or {"micro": [], "macro": []}, reset=reset,
    )


def spotted(kind: str, onset: int, offset: int, emotion: str, score: float = 0.8):
    return SpottedInterval(type=kind, onset=onset, apex=(onset + offset) // 2, offset=offset,
                           emotion=emotion, score=score)



def weights_for_tests(folder: Path) -> str:
    """The default 4-class weights if present, else a freshly initialised network saved as a
    real .safetensors file in ``folder`` (GUI behaviour does not depend on what it learned)."""
    from rt_sfamnet.weights import default_weights_path

    default = default_weights_path(4)
    if default.is_file():
        return str(default)
    import torch

    from rt_sfamnet.model import SFAMNet
    from rt_sfamnet.weights import WeightsMeta, save_weights

    torch.manual_seed(0)
    path = Path(folder) / "init4.safetensors"
    save_weights(SFAMNet(4), path, WeightsMeta(emotions=4))
    return str(path)
