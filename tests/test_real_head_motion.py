"""Rigid head motion of a real face (benchmarks/real_head_motion.py; skips without
``../shared/real-faces``): the simulator's head moves applied to real still frames."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import load_script


def _bench():
    return load_script("benchmarks/real_head_motion.py")


def test_back_and_forth_never_jumps():
    frames = [np.full((1, 1, 3), i, np.uint8) for i in range(4)]
    got = [int(f[0, 0, 0]) for f in _bench().back_and_forth(frames, 10)]
    assert got == [0, 1, 2, 3, 2, 1, 0, 1, 2, 3]


@pytest.mark.slow
def test_head_moves_of_a_real_still_face_stay_below_the_threshold(real_faces_dir):
    """The shipped optical weights on frames 0-15 of single_face.mp4 (before the mouth moves),
    still and moved by the simulator's head moves (seed 1 over 6 s: two moves of 0.5 and
    0.9 s, up to 11 px, 1.3° roll, 9° yaw): no raw score reaches the micro threshold and
    nothing is spotted."""
    clip = real_faces_dir / "single_face.mp4"
    if not clip.exists():
        pytest.skip("single_face.mp4 is not in ../shared/real-faces")
    out = _bench().run(clip, 0, 15, seeds=[1], seconds=6.0, scale=1.0, weights=None)
    assert out["fps"] == pytest.approx(30.0)
    moved = out["moved"][0]
    assert moved["moves"] >= 1 and moved["samples"] == out["still"]["samples"] >= 80
    assert out["still"]["weights"].endswith("sfamnet-4emo-optical.safetensors")
    for r in (out["still"], moved):
        assert r["max_score"] < r["micro_threshold"] and r["events"] == []
    assert out["all_below_threshold"]
