"""The real-face benchmark on a shared real clip (skips without ``../shared/real-faces``):
the clip's own timing, the weights chosen for an RGB-only source, and the no-face checks."""

from __future__ import annotations

import pytest

from tests.conftest import load_script


def _bench():
    return load_script("benchmarks/real_faces.py")


@pytest.mark.slow
def test_noface_clip_segments(real_faces_dir):
    clip = real_faces_dir / "noface_face.mov"
    if not clip.exists():
        pytest.skip("noface_face.mov is not in ../shared/real-faces")
    out = _bench().run_clip(clip, real_faces_dir / "segments.csv", None, None)
    assert out["input"] == "no depth: optical-flow model"
    assert out["training_data"] == "synthetic"
    assert out["k_sw"] == 5  # 24 fps by the median frame interval: round(0.2 x 24)
    segs = {r["kind"]: r for r in out["segments"]}
    nf = segs["no_face"]
    # frames 0..93: the pairs (0, 5) .. (88, 93) at frame skip 2 -> 45 samples, all no-face
    assert nf["samples"] == nf["no_face"] == 45 and nf["scored"] == 0
    assert nf["events"] == [] and all(nf["checks"].values())
    assert segs["still"]["scored"] >= 6 and segs["positive"]["scored"] >= 20


@pytest.mark.slow
def test_weights_without_spotting_values_use_the_release_threshold(real_faces_dir, tmp_path):
    """A network that carries no spotting values (e.g. a fresh ``train --no-loso --final``)
    is judged against the resolved release threshold, not against a missing value."""
    from tests.weights_helpers import save_untrained

    clip = real_faces_dir / "single_face.mp4"
    if not clip.exists():
        pytest.skip("single_face.mp4 is not in ../shared/real-faces")
    w = save_untrained(tmp_path / "plain.safetensors")
    out = _bench().run_clip(clip, real_faces_dir / "segments.csv", str(w), None)
    assert out["micro_threshold"] == pytest.approx(0.576)
    still = next(r for r in out["segments"] if r["kind"] == "still")
    below = still["checks"]["still: every score below the micro threshold"]
    assert below == (still["max_score"] < 0.576)
