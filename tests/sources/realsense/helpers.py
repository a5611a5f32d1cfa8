"""Frames with known pixels, shared by the RealSense tests."""

from __future__ import annotations

import numpy as np

from rt_sfamnet.frames import Intrinsics, RGBDFrame

W, H = 640, 480
N = 12
# Values exactly representable in float32 (the SDK stores intrinsics as float).
INTR = Intrinsics(W, H, 600.5, 601.25, 320.25, 240.75, "brown_conrady",
                  (0.125, -0.25, 0.0, 0.0, 0.0625))
# Irregular spacing (a dropped frame after index 5) to check relative timestamps.
TIMES = [100.0 + i / 30.0 + (1 / 30.0 if i > 5 else 0.0) for i in range(N)]
# Frame numbers come from timestamps: the lost frame 6 leaves its number unused.
INDEX = [round((t - TIMES[0]) * 30.0) for t in TIMES]  # 0..5, 7..12
FRAMES = INDEX[-1] + 1  # frame_count: 13 numbers, 12 frames


def make_frame(i: int, ts: float | None = None, intr: Intrinsics = INTR) -> RGBDFrame:
    """A textured gradient with noise, and a depth ramp with holes and far values."""
    rng = np.random.default_rng(i)
    yy, xx = np.mgrid[0:H, 0:W]
    color = np.dstack([(xx + 7 * i) % 256, (2 * yy + i) % 256, ((xx ^ yy) + 3 * i) % 256])
    color = np.clip(color + rng.integers(-4, 5, color.shape), 0, 255).astype(np.uint8)
    depth = (400 + xx + 2 * yy + 10 * i).astype(np.uint16)
    depth[rng.random((H, W)) < 0.02] = 0  # holes
    depth[:4, :4] = 65535  # the far end of the range survives too
    return RGBDFrame(color, depth, TIMES[i] if ts is None else ts, i, intr)
