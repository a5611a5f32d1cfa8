"""Synthetic data: flow-map caches, and a simulated dataset through the real extraction."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rt_sfamnet.cli import main
from rt_sfamnet.datasets.cache import FeatureCache
from rt_sfamnet.datasets.labels import sample_frames
from rt_sfamnet.datasets.synthetic import emotion_map, write_map_cache


def test_map_cache_is_labelled_and_deterministic(tmp_path):
    a = write_map_cache(tmp_path / "a", subjects=2, videos=2, frames=150, me_per_video=2, seed=5)
    b = write_map_cache(tmp_path / "b", subjects=2, videos=2, frames=150, me_per_video=2, seed=5)
    assert a.keys() == [("spNO.1", "a"), ("spNO.1", "b"), ("spNO.2", "a"), ("spNO.2", "b")]
    va, vb = a.load("spNO.2", "b"), b.load("spNO.2", "b")
    assert np.array_equal(va.maps, vb.maps)
    assert len(va.frames) == len(sample_frames(150, 2, 6))
    assert sum(iv.type == "micro" for iv in va.intervals) == 2 and len(va.gt) == 2
    spot, names = va.labels(2)
    assert spot.sum() >= 2
    # positive samples carry more motion than negatives
    energy = np.abs(va.maps).mean(axis=(1, 2, 3))
    assert energy[spot > 0].mean() > energy[spot == 0].mean()
    assert emotion_map("happy").shape == (3, 42, 42)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    from rt_sfamnet.datasets.synthetic import write_synthetic_dataset

    root = tmp_path_factory.mktemp("sim") / "ds"
    write_synthetic_dataset(root, subjects=2, seed=3, videos_per_subject=1, seconds=0.7,
                            workers=1)
    return root


@pytest.mark.slow
def test_simulated_dataset_extract_and_resume(simulated, tmp_path, capsys):
    assert main(["dataset", "stats", "--root", str(simulated), "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["subjects"] == 2 and st["videos"] == 2 and st["frames"] == 42
    cache_dir = tmp_path / "cache"
    args = ["extract", "--dataset", "synthetic", "--root", str(simulated), "--cache",
            str(cache_dir), "--float16", "--no-progress"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["videos"] == 2 and out["skipped"] == 0
    cache = FeatureCache(cache_dir)
    v1 = cache.load("spNO.1", "a")
    assert v1.maps.dtype == np.float16 and v1.maps.shape == (len(sample_frames(21, 2, 6)), 3, 42, 42)
    assert v1.valid.all()  # the simulated face is found by MediaPipe
    assert np.isfinite(v1.maps.astype(np.float32)).all()
    assert cache.meta["flow"] == "hybrid" and cache.meta["k_sw"] == 6
    # interrupt: one video lost, a partial file left behind -> only that video is redone
    p1 = cache.video_path("spNO.1", "a") / "maps.npy"
    before = p1.stat().st_mtime_ns
    maps2 = np.array(cache.load("spNO.2", "a").maps)
    cache.remove("spNO.2", "a")
    partial = cache.video_path("spNO.2", "a").with_name(".a.partial-nohost-1-x")
    partial.mkdir()
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["videos"] == 1 and out["skipped"] == 1
    assert p1.stat().st_mtime_ns == before
    assert np.array_equal(cache.load("spNO.2", "a").maps, maps2)
    # a damaged finished video (one flipped byte) is found by its checksum and redone
    m2 = cache.video_path("spNO.2", "a") / "maps.npy"
    data = bytearray(m2.read_bytes())
    data[-3] ^= 0xFF
    m2.write_bytes(bytes(data))
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["videos"] == 1 and out["redone"] == 1 and out["skipped"] == 1
    assert np.array_equal(cache.load("spNO.2", "a").maps, maps2)
    # other settings on the same cache are refused with a clear message
    assert main(args[:-1] + ["--frame-skip", "1", "--no-progress"]) == 2
    assert "other settings" in capsys.readouterr().err



def test_simulated_macro_expressions_carry_their_prototype(tmp_path):
    from rt_sfamnet.datasets.casme3 import load_dataset
    from rt_sfamnet.sim.dataset import (
        EXPRESSION_COLUMNS,
        EXPRESSIONS_FILE,
        ME_COLUMNS,
        ME_LABELS_FILE,
        casme3_rows,
        write_xlsx,
    )
    from rt_sfamnet.sim.script import Script, make_expression

    rng = np.random.default_rng(0)
    script = Script(300, 30.0, [make_expression(rng, "macro", "fear", 10, 30.0),
                                make_expression(rng, "micro", "happy", 200, 30.0)])
    expr, me, _ = casme3_rows(script, "spNO.1", "a")
    ann = tmp_path / "annotations"
    ann.mkdir()
    (tmp_path / "spNO.1" / "a" / "color").mkdir(parents=True)
    (tmp_path / "spNO.1" / "a" / "color" / "1.jpg").write_bytes(b"")  # only listed, not read
    write_xlsx(ann / EXPRESSIONS_FILE, [("AU+Emotion", EXPRESSION_COLUMNS, expr)])
    write_xlsx(ann / ME_LABELS_FILE, [("label", ME_COLUMNS, me)])
    ivs = {iv.type: iv for iv in load_dataset(tmp_path, name="synthetic").annotations.intervals}
    # objective class VI <-> fear, the animated prototype; the MEGC emotion stays empty
    assert ivs["macro"].emotion == "" and ivs["macro"].extra["prototype"] == "fear"
    assert ivs["micro"].emotion == "happy" and "prototype" not in ivs["micro"].extra
    # read as real CAS(ME)^3, no emotion is invented for the MaE
    real = load_dataset(tmp_path, name="casme3").annotations.intervals
    assert all("prototype" not in iv.extra for iv in real)
