"""The real-face benchmark on a shared real clip (skips without ``../shared/real-faces``):
the clip's own timing, the weights chosen for an RGB-only source, and the no-face checks."""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import REPO


def _bench():
    spec = importlib.util.spec_from_file_location("real_faces_bench",
                                                  REPO / "benchmarks" / "real_faces.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


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
