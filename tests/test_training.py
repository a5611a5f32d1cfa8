"""LOSO training: sampling, class weights, loss, determinism, resume, fine-tuning, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rt_sfamnet.cli import main
from rt_sfamnet.datasets.synthetic import write_map_cache
from rt_sfamnet.training import (
    Run,
    TrainConfig,
    _loss,
    balanced_class_weights,
    load_subject,
    sample_fold,
    train_model,
)

FAST = dict(steps=3, batch_size=16, threads=1)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return write_map_cache(tmp_path_factory.mktemp("c") / "cache", subjects=3, videos=1,
                           frames=200, me_per_video=3, seed=1)


def test_balanced_class_weights_match_sklearn_formula():
    # classes 0,0,0,1 (+ neutral 4 ignored), class 2 and 3 absent
    w = balanced_class_weights(np.array([0, 0, 0, 1, 4, 4, 4]), 5)
    assert w.tolist() == pytest.approx([4 / (2 * 3), 4 / (2 * 1), 0.0, 0.0, 0.0])
    assert balanced_class_weights(np.array([4, 4]), 5).tolist() == [0.0] * 5


def test_loss_is_lambda_mse_plus_weighted_ce():
    torch.manual_seed(0)
    from rt_sfamnet.model import SFAMNet

    m = SFAMNet(4)
    x = torch.randn(6, 3, 42, 42)
    ys = torch.tensor([1.0, 0, 1, 0, 1, 0])
    yc = torch.tensor([0, 4, 1, 4, 1, 4])
    w = torch.tensor([2.0, 0.5, 0.0, 0.0, 0.0])
    with torch.no_grad():
        spot, logits = m(x[:, 0:1], x[:, 1:2], x[:, 2:3])
        mse = torch.mean((spot[:, 0] - ys) ** 2)
        ce = torch.nn.functional.cross_entropy(logits, yc, weight=w)  # weighted mean
        got = float(_loss(m, x, ys, yc, w, 0.9))
        assert got == pytest.approx(float(0.9 * mse + 0.1 * ce), rel=1e-5)
    # a batch of neutrals only: the CE term is 0, not NaN
    only_neutral = _loss(m, x, torch.zeros(6), torch.full((6,), 4), w, 0.9)
    assert torch.isfinite(only_neutral)


def test_fold_sampling_release_rule(cache):
    subs = [load_subject(cache, s, 4) for s in cache.subjects]
    n_pos = sum(int((s.spot > 0.5).sum()) for s in subs[1:])
    n_gt = sum(len(s.gt_cls) for s in subs[1:])
    maps, spot, cls = sample_fold(subs[1:], np.random.default_rng(0))
    assert len(maps) == n_pos + n_gt + (n_pos + n_gt)  # negatives = (#pos + #GT) x 1
    assert int((spot > 0.5).sum()) == n_pos + n_gt
    assert (cls[spot < 0.5] == 4).all() and (cls[spot > 0.5] < 4).sum() == n_pos + n_gt
    again = sample_fold(subs[1:], np.random.default_rng(0))
    assert np.array_equal(again[0], maps)
    other = sample_fold(subs[1:], np.random.default_rng(1))
    assert not np.array_equal(other[0], maps)


def test_aug_grid():
    f = TrainConfig().aug_factors()
    assert len(f) == 21 and f[0] == pytest.approx(0.9) and f[-1] == pytest.approx(1.1)


def test_same_seed_same_weights(cache):
    subs = [load_subject(cache, s, 4) for s in cache.subjects]
    data = sample_fold(subs, np.random.default_rng(0))
    cfg = TrainConfig(**FAST)
    a, info = train_model(data, cfg, 5.0, seed=3)
    b, _ = train_model(data, cfg, 5.0, seed=3)
    c, _ = train_model(data, cfg, 5.0, seed=4)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    assert info["steps"] == 3 and info["n_train"] == len(data[0])
    assert info["class_weights"][-1] == 0.0


def test_training_lowers_the_loss(cache):
    subs = [load_subject(cache, s, 4) for s in cache.subjects]
    data = sample_fold(subs, np.random.default_rng(0))
    keep = np.random.default_rng(0).choice(len(data[0]), 40, replace=False)
    data = tuple(a[keep] for a in data)
    cfg0 = TrainConfig(steps=0, threads=1)
    _, info = train_model(data, TrainConfig(steps=25, batch_size=40, lr=3e-3, threads=1), 10.0,
                          seed=0, val=data)
    _, info0 = train_model(data, cfg0, 10.0, seed=0, val=data)
    assert info["val_loss"] < info0["val_loss"]


def test_run_resume_subjects_and_finetune(cache, tmp_path):
    out4 = tmp_path / "run4"
    run = Run(cache, out4, TrainConfig(**FAST))
    s = run.run(["spNO.1"], plots=False)
    assert s["folds"] == ["spNO.1"]
    fold = json.loads((out4 / "folds" / "spNO.1.json").read_text())
    for key in ("megc", "sfamnet", "recognition"):
        assert key in fold["metrics"]
    assert {"micro", "macro", "overall", "analysis"} <= set(fold["metrics"]["megc"])
    assert (out4 / "folds" / "spNO.1.safetensors").is_file()
    mtime = (out4 / "folds" / "spNO.1.safetensors").stat().st_mtime_ns
    # resume: spNO.1 kept, spNO.2 and spNO.3 trained; plots written
    s = run.run(plots=True, plot_videos=1)
    assert s["folds"] == ["spNO.1", "spNO.2", "spNO.3"]
    assert (out4 / "folds" / "spNO.1.safetensors").stat().st_mtime_ns == mtime
    assert (out4 / "plots" / "confusion_4emo.png").stat().st_size > 1000
    assert any(p.name.startswith("scores_") for p in (out4 / "plots").iterdir())
    res = json.loads((out4 / "results.json").read_text())
    micro = res["pooled"]["megc"]["micro"]
    folds = [json.loads((out4 / "folds" / f"{x}.json").read_text()) for x in s["folds"]]
    n_gt = sum(d["type"] == "micro" for f in folds for d in f["gt"])
    assert n_gt == 9  # 3 subjects x 1 video x 3 micro-expressions, all pooled
    assert micro["tp"] + micro["fn"] == n_gt
    from rt_sfamnet.metrics import prf

    assert micro["f1"] == pytest.approx(prf(micro["tp"], micro["fp"], micro["fn"])["f1"])
    assert len(res["pooled"]["recognition"]["confusion"]) == 5
    # a run folder with other settings is refused
    from rt_sfamnet.errors import RtSfamnetError

    with pytest.raises(RtSfamnetError, match="other settings"):
        Run(cache, out4, TrainConfig(steps=7, batch_size=16)).run(["spNO.1"], plots=False)
    # paper variant: 7 classes fine-tuned from the 4-class fold models, shared+spotting frozen
    run7 = Run(cache, tmp_path / "run7", TrainConfig(emotions=7, mode="finetune",
                                                     finetune_from=str(out4), **FAST))
    run7.run(["spNO.2"], plots=False)
    from rt_sfamnet.weights import load_weights

    m4, _ = load_weights(out4 / "folds" / "spNO.2.safetensors")
    m7, meta7 = load_weights(tmp_path / "run7" / "folds" / "spNO.2.safetensors")
    assert meta7.emotions == 7
    s4, s7 = m4.state_dict(), m7.state_dict()
    for k in s4:
        if k.startswith(("c1.", "c2.", "c3.", "conv1.", "fc_spot.")):
            assert torch.equal(s4[k], s7[k]), k
    assert not torch.equal(s4["conv2.weight"], s7["conv2.weight"])


def test_train_cli_and_weights_meta(cache, tmp_path, capsys):
    out = tmp_path / "cli"
    rc = main(["train", "--cache", str(cache.path), "--emotions", "4", "--out", str(out),
               "--subjects", "3", "--steps", "2", "--batch-size", "16", "--threads", "1",
               "--input-scale", "7.5", "--final"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert res["folds"] == 1 and "micro_f1" in res and "uf1" in res
    from rt_sfamnet.weights import read_meta

    meta = read_meta(out / "final.safetensors")
    assert meta.input_scale == pytest.approx(7.5) and meta.frame_skip == 2
    assert meta.provenance["subjects"] == ["spNO.1", "spNO.2", "spNO.3"]
    assert main(["train", "--cache", str(tmp_path / "none"), "--out", str(out)]) == 2
