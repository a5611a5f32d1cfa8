"""The feature cache: atomic per-video files, float16, resume checks."""

from __future__ import annotations

import numpy as np
import pytest

from rt_sfamnet.datasets.cache import FeatureCache, VideoFeatures
from rt_sfamnet.datasets.labels import GTSample
from rt_sfamnet.errors import DatasetError
from rt_sfamnet.intervals import Interval

META = {"dataset": "synthetic", "flow": "hybrid", "frame_skip": 2, "k_sw": 6,
        "float16": False, "features": {"mode": "hybrid"}, "input_scale": 1.0}


def _feats(subject="spNO.1", video="a", n=5, seed=0):
    rng = np.random.default_rng(seed)
    return VideoFeatures(
        subject, video, rng.normal(size=(n, 3, 42, 42)).astype(np.float32),
        np.arange(n) * 2, np.array([True] * (n - 1) + [False]),
        rng.normal(size=(1, 3, 42, 42)).astype(np.float32), [GTSample(2, 5, "happy")],
        [Interval(subject, video, 2, 5, 9, "micro", "happy"),
         Interval(subject, video, 1, 4, 30, "macro", "")], 16)


def test_roundtrip_float32_and_float16(tmp_path):
    c = FeatureCache(tmp_path / "c")
    c.init(META)
    f = _feats()
    c.write(f)
    g = c.load("spNO.1", "a")
    assert np.array_equal(g.maps, f.maps) and g.maps.dtype == np.float32
    assert g.frames.tolist() == [0, 2, 4, 6, 8] and g.valid.tolist() == [1, 1, 1, 1, 0]
    assert g.gt == [GTSample(2, 5, "happy")] and g.n_frames == 16
    assert [(i.type, i.onset, i.offset) for i in g.intervals] == [("micro", 2, 9), ("macro", 1, 30)]
    spot, names = g.labels(2)
    assert spot.tolist() == [0, 1, 1, 0, 0] and names[1] == "happy"
    c.write(_feats(video="b"), float16=True)
    h = c.load("spNO.1", "b")
    assert h.maps.dtype == np.float16
    assert np.allclose(h.maps.astype(np.float32), _feats(video="b").maps, atol=2e-3, rtol=1e-3)
    assert c.keys() == [("spNO.1", "a"), ("spNO.1", "b")] and c.subjects == ["spNO.1"]


def test_partial_files_are_not_videos_and_are_removed_on_resume(tmp_path):
    c = FeatureCache(tmp_path / "c")
    c.init(META)
    c.write(_feats())
    partial = c.video_path("spNO.2", "a").with_name("a.npz.partial")
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"half a file")
    assert c.keys() == [("spNO.1", "a")]
    assert not c.has("spNO.2", "a")
    c.init(META)  # resume: finished video kept, partial removed
    assert c.has("spNO.1", "a") and not partial.exists()


def test_resume_with_other_settings_is_refused(tmp_path):
    c = FeatureCache(tmp_path / "c")
    c.init(META)
    with pytest.raises(DatasetError, match="frame_skip"):
        c.init({**META, "frame_skip": 1})
    with pytest.raises(DatasetError, match="not a feature cache"):
        _ = FeatureCache(tmp_path / "other").meta


def test_shape_checks_and_broken_files(tmp_path):
    c = FeatureCache(tmp_path / "c")
    c.init(META)
    bad = _feats()
    bad.maps = bad.maps[:, :2]
    with pytest.raises(ValueError, match=r"\(N, 3, 42, 42\)"):
        c.write(bad)
    p = c.video_path("spNO.1", "z")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"not an npz")
    with pytest.raises(DatasetError, match="broken cache file"):
        c.load("spNO.1", "z")


def test_truncated_cache_file_is_a_dataset_error(tmp_path):
    c = FeatureCache(tmp_path / "c")
    c.init(META)
    p = c.write(_feats())
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])  # e.g. a copy cut short
    with pytest.raises(DatasetError, match="broken cache file"):
        c.load("spNO.1", "a")
