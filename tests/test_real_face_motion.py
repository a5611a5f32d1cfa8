"""A real face moved by the simulator (benchmarks/real_face_motion.py; skips without
``../shared/real-faces``): head moves and expressions applied to real still frames."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import load_script


def _bench():
    return load_script("benchmarks/real_face_motion.py")


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
    run = _bench().run(clip, 0, 15, ["head"], seeds=[1], seconds=6.0, scale=1.0,
                       amplitude=0.1, weights=None)
    assert run["fps"] == pytest.approx(30.0) and "expressions" not in run
    out = run["head"]
    moved = out["moved"][0]
    assert moved["moves"] >= 1 and moved["samples"] == out["still"]["samples"] >= 80
    assert out["still"]["weights"].endswith("sfamnet-4emo-optical.safetensors")
    for r in (out["still"], moved):
        assert r["max_score"] < r["micro_threshold"] and r["events"] == []
    assert out["all_below_threshold"]


@pytest.mark.slow
def test_laughter_and_crying_drawn_on_a_real_face_read_as_they_should(real_faces_dir, tmp_path):
    """The simulator's laughter (6+12+25+26) and crying (1+4+15+20+25+26) prototypes drawn on
    the real face of single_face.mp4 (amplitude 0.1 inter-ocular distance): positive leads
    over the laugh, negative over the crying, and each emotion is higher where it belongs."""
    from rt_sfamnet.face import FaceTracker

    clip = real_faces_dir / "single_face.mp4"
    if not clip.exists():
        pytest.skip("single_face.mp4 is not in ../shared/real-faces")
    b = _bench()
    still, fps = b.still_frames(clip, 0, 15)
    with FaceTracker() as tracker:
        face = tracker.update(still[0])
    out = b.expressions(still, fps, face.landmarks, 0.1, None, tmp_path,
                        names=("laughter", "crying"))
    clips = {c["expression"]: c for c in out["clips"]}
    assert set(clips) == {"laughter", "crying"} and 5 < out["amplitude_px"] < 10
    for name, kind in (("laughter", "positive"), ("crying", "negative")):
        assert clips[name]["kind"] == kind
        assert clips[name]["checks"] == {f"{kind}: highest mean probability": True}
        assert clips[name]["max_score"] > 0.5  # the face visibly moves
    assert all(out["follows_the_face"].values())


def test_expression_curve_rises_holds_and_falls():
    c = _bench().expression_curve(40, 10.0, onset_s=1.0, rise_s=0.5, hold_s=1.0, fall_s=0.5)
    assert c[:11].tolist() == [0.0] * 11  # before the onset (t <= 1.0 s)
    assert c[15:26].tolist() == [1.0] * 11  # the hold, 1.5 .. 2.5 s
    assert c[30:].tolist() == [0.0] * 10  # after the fall
    assert 0 < c[13] < 1 and 0 < c[28] < 1
    assert np.all(np.diff(c[10:16]) > 0) and np.all(np.diff(c[25:31]) < 0)
