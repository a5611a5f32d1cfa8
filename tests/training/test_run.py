"""Run folders: --release-exact, --init-weights, the cache's identity, shards and --merge."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rt_sfamnet.cli import main
from rt_sfamnet.datasets.synthetic import write_map_cache
from rt_sfamnet.errors import RtSfamnetError
from rt_sfamnet.training import Run, TrainConfig

FAST = dict(steps=3, batch_size=16, threads=1)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return write_map_cache(tmp_path_factory.mktemp("c") / "cache", subjects=3, videos=1,
                           frames=160, me_per_video=2, seed=2)


def _metrics(res):
    """Pooled and per-fold metrics (not the wall time)."""
    per = {s: {k: v for k, v in row.items() if k != "seconds"}
           for s, row in res["per_fold"].items()}
    return {"pooled": res["pooled"], "per_fold": per, "input_scale": res["input_scale"]}


def test_release_exact_updates_validation_and_scale(cache, tmp_path):
    cfg = TrainConfig(release_exact=True, **FAST)
    assert cfg.updates == 4 and TrainConfig(**FAST).updates == 3
    run = Run(cache, tmp_path / "r", cfg)
    r = run.run_fold("spNO.1")
    assert r["train"]["steps"] == 4 and r["input_scale"] == 1.0
    d = run.data("spNO.1")
    n_pos = int((d.valid & (d.spot > 0.5)).sum())
    assert r["train"]["n_train"] > 2 * n_pos  # sanity: the training set is the other subjects
    default = Run(cache, tmp_path / "d", TrainConfig(**FAST)).run_fold("spNO.1")
    assert default["train"]["steps"] == 3 and default["input_scale"] != 1.0


def test_init_weights_start_every_fold_all_trainable(cache, tmp_path):
    from rt_sfamnet.model import SFAMNet
    from rt_sfamnet.weights import WeightsMeta, load_weights, save_weights

    torch.manual_seed(7)
    src = SFAMNet(4)
    p = tmp_path / "init.safetensors"
    save_weights(src, p, WeightsMeta(emotions=4, flow_mode="hybrid", input_scale=1.0,
                                     frame_skip=2, provenance={}))
    run0 = Run(cache, tmp_path / "r0", TrainConfig(init_weights=str(p), steps=0, threads=1))
    run0.run_fold("spNO.2")
    m0, _ = load_weights(tmp_path / "r0" / "folds" / "spNO.2.safetensors")
    assert all(torch.equal(v, src.state_dict()[k]) for k, v in m0.state_dict().items())
    run1 = Run(cache, tmp_path / "r1", TrainConfig(init_weights=str(p), **FAST))
    run1.run_fold("spNO.2")
    m1, _ = load_weights(tmp_path / "r1" / "folds" / "spNO.2.safetensors")
    s1 = m1.state_dict()
    for k in ("c1.0.conv1.weight", "conv1.weight", "fc_spot.weight", "fc_recog.weight"):
        assert not torch.equal(s1[k], src.state_dict()[k]), k  # every layer trained
    with pytest.raises(RtSfamnetError, match="7 emotion classes|4 emotion classes"):
        Run(cache, tmp_path / "r7", TrainConfig(emotions=7, init_weights=str(p), **FAST)
            ).run_fold("spNO.2")
    with pytest.raises(ValueError, match="exclude"):
        TrainConfig(init_weights=str(p), mode="finetune", finetune_from="x", emotions=7)


def test_resume_with_another_cache_is_refused(cache, tmp_path):
    other = write_map_cache(tmp_path / "other", subjects=3, videos=1, frames=160,
                            me_per_video=2, seed=2)  # same settings and content, new cache
    run = Run(cache, tmp_path / "r", TrainConfig(**FAST))
    run.run(["spNO.1"], plots=False)
    with pytest.raises(RtSfamnetError, match="another feature cache"):
        Run(other, tmp_path / "r", TrainConfig(**FAST)).run(["spNO.2"], plots=False)
    assert not (tmp_path / "r" / "folds" / "spNO.2.json").exists()


def test_shards_write_only_their_folds_and_merge_equals_serial(cache, tmp_path, capsys):
    serial = Run(cache, tmp_path / "serial", TrainConfig(**FAST)).run(plots=False)
    out = tmp_path / "sharded"
    base = ["train", "--cache", str(cache.path), "--out", str(out), "--steps", "3",
            "--batch-size", "16", "--threads", "1", "--no-progress", "--plot-videos", "0"]
    assert main(base + ["--shard", "2/2"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == {"shard": "2/2",
                                                                             "folds": 1}
    assert sorted(p.name for p in (out / "folds").iterdir()) == ["spNO.2.json",
                                                                "spNO.2.safetensors"]
    assert not (out / "results.json").exists()
    assert main(base + ["--merge"]) == 2  # folds 1 and 3 missing
    assert "not finished" in capsys.readouterr().err
    assert main(base + ["--shard", "1/2"]) == 0
    assert main(base + ["--merge"]) == 0
    res = json.loads((out / "results.json").read_text())
    assert _metrics(res) == _metrics(json.loads(json.dumps(serial)))
    assert main(base + ["--shard", "3/2"]) == 2
    assert "K/N" in capsys.readouterr().err


def test_progress_bar_over_folds(cache, tmp_path, monkeypatch):
    import tqdm

    seen = []
    real = tqdm.tqdm

    def spy(*a, **kw):
        seen.append(kw)
        return real(*a, **kw)

    monkeypatch.setattr(tqdm, "tqdm", spy)
    Run(cache, tmp_path / "p", TrainConfig(**FAST)).run(["spNO.1", "spNO.3"], plots=False,
                                                         progress=True)
    assert seen and seen[0]["total"] == 2 and seen[0]["unit"] == "fold"
    assert seen[0]["disable"] is None  # on when the output is a terminal


@pytest.mark.gpu
def test_cuda_fold_matches_its_own_rerun(cache, tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("torch sees no CUDA device")
    cfg = TrainConfig(device="cuda", **FAST)
    a = Run(cache, tmp_path / "a", cfg).run_fold("spNO.1")
    assert a["train"]["device"].startswith("cuda")
    assert np.isfinite(a["train"]["loss"])


def test_weights_record_what_they_were_trained_on(cache, tmp_path):
    """provenance["training_data"] comes from the cache's dataset kind, mixed with what the
    starting weights were trained on."""
    from rt_sfamnet.model import SFAMNet
    from rt_sfamnet.training.run import training_data
    from rt_sfamnet.weights import WeightsMeta, read_meta, save_weights

    assert cache.meta["dataset"] == "synthetic-maps"
    Run(cache, tmp_path / "r0", TrainConfig(steps=0, threads=1)).run_fold("spNO.2")
    assert read_meta(tmp_path / "r0" / "folds" / "spNO.2.safetensors").training_data == (
        "synthetic",)
    p = tmp_path / "casme3.safetensors"
    save_weights(SFAMNet(4), p, WeightsMeta(emotions=4, provenance={"training_data": "casme3"}))
    Run(cache, tmp_path / "r1", TrainConfig(init_weights=str(p), steps=0, threads=1)
        ).run_fold("spNO.2")
    assert read_meta(tmp_path / "r1" / "folds" / "spNO.2.safetensors").training_data == (
        "synthetic", "casme3")
    cfg = TrainConfig(steps=0)
    assert training_data(cfg, {"dataset": "casme3"}) == "casme3"
    assert training_data(cfg, {"dataset": "recordings"}) == "own-recordings"
    assert training_data(cfg, {"dataset": "something-else"}) is None
