"""The feature cache: atomic per-video folders, memory maps, float16, concurrent writers,
checksums, resume checks, format migration."""

from __future__ import annotations

import os

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


def _partial(c, subject, video, pid):
    import socket

    p = c.video_path(subject, video).with_name(f".{video}.partial-{socket.gethostname()}-{pid}-ab12")
    p.mkdir(parents=True)
    (p / "maps.npy").write_bytes(b"half a file")
    return p


def test_partial_folders_are_not_videos_and_only_dead_writers_are_cleaned(tmp_path):
    import subprocess
    import sys

    c = FeatureCache(tmp_path / "c")
    c.init(META)
    c.write(_feats())
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = _partial(c, "spNO.2", "a", dead)
    live = _partial(c, "spNO.2", "b", os.getpid())  # another writer still at work
    assert c.keys() == [("spNO.1", "a")]
    assert not c.has("spNO.2", "a")
    c.init(META)  # resume: finished video kept, the dead writer's partial removed
    assert c.has("spNO.1", "a") and not stale.exists() and live.exists()


def test_two_writers_of_one_video_keep_the_first_copy(tmp_path):
    c, d = FeatureCache(tmp_path / "c"), FeatureCache(tmp_path / "c")
    c.init(META)
    d.init(META)  # a second writer on the same cache: same id, nothing removed
    assert c.id == d.id
    first = c.write(_feats(seed=1))
    before = (first / "maps.npy").read_bytes()
    assert d.write(_feats(seed=2)) == first
    assert (first / "maps.npy").read_bytes() == before
    assert [p.name for p in first.parent.iterdir()] == ["a"]  # no temporary left behind


def test_memory_mapped_float16_rows(tmp_path):
    c = FeatureCache(tmp_path / "c")
    c.init({**META, "float16": True})
    f = _feats(n=9)
    c.write(f, float16=True)
    g = c.load("spNO.1", "a")
    assert isinstance(g.maps, np.memmap) and g.maps.dtype == np.float16
    rows = np.asarray(g.maps[[7, 2]], np.float32)
    assert np.array_equal(rows, f.maps[[7, 2]].astype(np.float16).astype(np.float32))


def test_verify_finds_truncated_and_damaged_files(tmp_path):
    c = FeatureCache(tmp_path / "c")
    c.init(META)
    d = c.write(_feats())
    assert c.verify("spNO.1", "a") is None
    maps = d / "maps.npy"
    data = bytearray(maps.read_bytes())
    data[-5] ^= 0xFF  # one flipped byte, same size
    maps.write_bytes(bytes(data))
    assert c.verify("spNO.1", "a", checksum=False) is None
    assert "SHA-256" in c.verify("spNO.1", "a")
    maps.write_bytes(bytes(data[: len(data) // 2]))
    assert "bytes" in c.verify("spNO.1", "a", checksum=False)
    with pytest.raises(DatasetError, match="broken cache file"):
        c.load("spNO.1", "a")
    c.remove("spNO.1", "a")
    assert not c.has("spNO.1", "a") and c.keys() == []


def test_format1_cache_is_refused_then_migrated(tmp_path, capsys):
    import json

    from rt_sfamnet.datasets.cache import migrate

    root = tmp_path / "old"
    (root / "videos" / "spNO.1").mkdir(parents=True)
    (root / "meta.json").write_text(json.dumps({**META, "version": 1}))
    f = _feats()
    np.savez(root / "videos" / "spNO.1" / "a.npz", maps=f.maps.astype(np.float16),
             frames=f.frames, valid=f.valid, gt_maps=f.gt_maps.astype(np.float16),
             gt_onset=np.array([2]), gt_apex=np.array([5]), gt_emotion=np.array(["happy"]),
             intervals=np.asarray(json.dumps([{"subject": "spNO.1", "video": "a", "onset": 2,
                                               "apex": 5, "offset": 9, "type": "micro",
                                               "emotion": "happy"}])),
             n_frames=np.asarray(16))
    c = FeatureCache(root)
    with pytest.raises(DatasetError, match="rt-sfamnet extract --migrate --cache"):
        _ = c.meta
    from rt_sfamnet.cli import main

    assert main(["train", "--cache", str(root), "--out", str(tmp_path / "run")]) == 2
    assert "--migrate" in capsys.readouterr().err
    assert main(["extract", "--cache", str(root)]) == 2  # no --root and no --migrate
    assert "--root" in capsys.readouterr().err
    assert main(["extract", "--migrate", "--cache", str(root)]) == 0
    assert json.loads(capsys.readouterr().out) == {"videos": 1}
    assert migrate(root) == {"videos": 0}  # already converted
    g = c.load("spNO.1", "a")
    assert g.maps.dtype == np.float16 and np.array_equal(g.maps, f.maps.astype(np.float16))
    assert g.gt == [GTSample(2, 5, "happy")] and g.n_frames == 16 and len(c.id) == 32
    assert not list(root.rglob("*.npz"))


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
    p.mkdir(parents=True, exist_ok=True)
    (p / "index.json").write_text("{not json")
    with pytest.raises(DatasetError, match="broken cache file"):
        c.load("spNO.1", "z")


def test_truncated_cache_file_is_a_dataset_error(tmp_path):
    c = FeatureCache(tmp_path / "c")
    c.init(META)
    p = c.write(_feats()) / "gt_maps.npy"
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])  # e.g. a copy cut short
    with pytest.raises(DatasetError, match="broken cache file"):
        c.load("spNO.1", "a")
