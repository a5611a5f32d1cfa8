"""Ensembles of seed runs: LOSO curves scored by the fold ensembles, the final ensemble, refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rt_sfamnet.cli import main
from rt_sfamnet.datasets.synthetic import write_map_cache
from rt_sfamnet.errors import RtSfamnetError
from rt_sfamnet.model import SFAMNetEnsemble
from rt_sfamnet.training import Run, TrainConfig
from rt_sfamnet.training.ensemble import build
from rt_sfamnet.training.fit import predict
from rt_sfamnet.weights import load_weights

FAST = dict(steps=3, batch_size=16, threads=1)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ens")
    cache = write_map_cache(root / "cache", subjects=3, videos=1, frames=160, me_per_video=2,
                            seed=2)
    out = []
    for seed in (0, 1):
        run = Run(cache, root / f"s{seed}", TrainConfig(seed=seed, **FAST))
        run.run(plots=False)
        run.train_final()
        out.append(root / f"s{seed}")
    return cache, out


def test_fold_curves_are_the_mean_of_the_members(runs, tmp_path):
    cache, (r0, r1) = runs
    summary = build([r0, r1], tmp_path / "e")
    assert summary["folds"] == ["spNO.1", "spNO.2", "spNO.3"]
    fold = json.loads((tmp_path / "e" / "folds" / "spNO.2.json").read_text())
    data = Run(cache, r0, TrainConfig(**FAST)).data("spNO.2")
    video = next(iter(data.video_slices))
    maps, valid = data.video_maps(video), data.valid[data.video_slices[video]]
    want = np.zeros(len(maps))
    for r in (r0, r1):
        model, meta = load_weights(r / "folds" / "spNO.2.safetensors")
        s, _ = predict(model, maps, meta.input_scale)
        want += s / 2
    got = np.asarray(fold["scores"][video])
    np.testing.assert_allclose(got[valid], want[valid], atol=2e-5)
    assert np.all(got[~valid] == 0)
    assert set(summary["pooled"]["megc"]) >= {"micro", "macro", "overall"}


def test_final_ensemble_keeps_each_members_input_scale(runs, tmp_path):
    _cache, (r0, r1) = runs
    build([r0, r1], tmp_path / "e")
    ens, meta = load_weights(tmp_path / "e" / "final.safetensors")
    assert isinstance(ens, SFAMNetEnsemble) and len(ens.members) == 2
    assert meta.provenance["seed"] == [0, 1]
    (m0, meta0), (m1, meta1) = (load_weights(r / "final.safetensors") for r in (r0, r1))
    assert meta.input_scale == meta0.input_scale
    assert ens.gains.tolist() == pytest.approx([1.0, meta1.input_scale / meta0.input_scale])
    x = torch.randn(4, 1, 42, 42)
    with torch.no_grad():
        s, logits = ens(x * meta.input_scale, x * meta.input_scale, x * meta.input_scale)
        s0, l0 = m0(*(x * meta0.input_scale,) * 3)
        s1, l1 = m1(*(x * meta1.input_scale,) * 3)
    torch.testing.assert_close(s, (s0 + s1) / 2)
    torch.testing.assert_close(torch.softmax(logits, 1),
                               (torch.softmax(l0, 1) + torch.softmax(l1, 1)) / 2)


def test_cli_tunes_the_ensemble_and_ships_the_values(runs, tmp_path, capsys):
    _cache, (r0, r1) = runs
    assert main(["weights", "ensemble", str(r0), str(r1), "--out", str(tmp_path / "e"),
                 "--tune", "--spot", "emotion_rule=weighted"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["folds"] == 3 and printed["networks"] == 2
    report = json.loads((tmp_path / "e" / "tuning.json").read_text())
    assert report["subjects"] == ["spNO.1", "spNO.2", "spNO.3"]
    assert printed["tuned"]["nested"]["micro"] == report["metrics"]["nested"]["micro"]["f1"]
    _model, meta = load_weights(tmp_path / "e" / "final.safetensors")
    assert meta.provenance["train"]["spotting"] == report["shipped"]
    assert report["shipped"]["emotion_rule"] == "weighted"  # --spot values are kept
    assert report["base"] == {"emotion_rule": "weighted"}
    assert [m["seed"] for m in meta.provenance["ensemble"]] == [0, 1]
    assert main(["weights", "info", str(tmp_path / "e" / "final.safetensors")]) == 0
    assert json.loads(capsys.readouterr().out)["networks"] == 2


def test_a_bad_spot_value_is_refused_before_any_work(runs, tmp_path, capsys):
    _cache, (r0, r1) = runs
    assert main(["weights", "ensemble", str(r0), str(r1), "--out", str(tmp_path / "e"),
                 "--spot", "emotion_rule=mean"]) != 0
    err = capsys.readouterr().err
    assert "spotting.emotion_rule: expected one of ['release', 'weighted'], found 'mean'" in err
    assert "Traceback" not in err and not (tmp_path / "e").exists()


def test_runs_of_other_recipes_or_the_same_seed_are_refused(runs, tmp_path):
    cache, (r0, r1) = runs
    other = Run(cache, tmp_path / "lr", TrainConfig(seed=5, lr=1e-3, **FAST))
    other.run(["spNO.1"], plots=False)
    with pytest.raises(RtSfamnetError, match="differ in lr"):
        build([r0, tmp_path / "lr"], tmp_path / "e")
    with pytest.raises(RtSfamnetError, match="is one of the runs"):
        build([r0, r1], r1)
    with pytest.raises(RtSfamnetError, match="holds a training run"):
        build([r0, r1], tmp_path / "lr")
    assert json.loads((tmp_path / "lr" / "config.json").read_text())["train"]["lr"] == 1e-3
    with pytest.raises(RtSfamnetError, match="listed twice"):
        build([r0, r0], tmp_path / "e")
    with pytest.raises(RtSfamnetError, match="at least 2 runs"):
        build([r0], tmp_path / "e")
    with pytest.raises(RtSfamnetError, match="not a training run folder"):
        build([r0, tmp_path / "nothing"], tmp_path / "e")
    same = tmp_path / "same"
    same.mkdir()
    (same / "config.json").write_text((r0 / "config.json").read_text())
    with pytest.raises(RtSfamnetError, match="share a training seed"):
        build([r0, same], tmp_path / "e")


def test_unfinished_fold_is_named(runs, tmp_path):
    cache, (r0, _r1) = runs
    part = Run(cache, tmp_path / "p", TrainConfig(seed=3, **FAST))
    part.run(["spNO.1"], plots=False)
    with pytest.raises(RtSfamnetError, match="fold spNO.2 is not finished"):
        build([r0, tmp_path / "p"], tmp_path / "e")


def test_an_ensemble_cannot_seed_training(runs, tmp_path):
    cache, (r0, r1) = runs
    build([r0, r1], tmp_path / "e")
    cfg = TrainConfig(init_weights=str(tmp_path / "e" / "final.safetensors"), **FAST)
    with pytest.raises(RtSfamnetError, match="ensemble of 2 networks"):
        Run(cache, tmp_path / "r", cfg).run_fold("spNO.1")


def test_steps_0_evaluates_an_ensemble_at_its_own_input_scale(runs, tmp_path):
    cache, (r0, r1) = runs
    build([r0, r1], tmp_path / "e")
    weights = tmp_path / "e" / "final.safetensors"
    cfg = TrainConfig(init_weights=str(weights), steps=0, threads=1)
    res = Run(cache, tmp_path / "eval", cfg).run_fold("spNO.3")
    _ens, meta = load_weights(weights)
    assert res["input_scale"] == pytest.approx(meta.input_scale)
    data = Run(cache, r0, TrainConfig(**FAST)).data("spNO.3")
    video = next(iter(data.video_slices))
    model, _ = load_weights(weights)
    want, _ = predict(model, data.video_maps(video), meta.input_scale)
    valid = data.valid[data.video_slices[video]]
    np.testing.assert_allclose(np.asarray(res["scores"][video])[valid], want[valid], atol=2e-5)


def test_runs_without_folds_join_their_final_models(runs, tmp_path):
    cache, _ = runs
    finals = []
    for seed in (5, 6):
        run = Run(cache, tmp_path / f"f{seed}", TrainConfig(seed=seed, **FAST))
        run.train_final()
        finals.append(tmp_path / f"f{seed}")
    with pytest.raises(RtSfamnetError, match="--tune needs the runs' LOSO folds"):
        build(finals, tmp_path / "e", tune=True)
    summary = build(finals, tmp_path / "e")
    assert summary["folds"] == [] and summary["pooled"] is None
    ens, meta = load_weights(tmp_path / "e" / "final.safetensors")
    assert isinstance(ens, SFAMNetEnsemble) and meta.provenance["seed"] == [5, 6]
    assert meta.provenance["train"]["spotting"] == TrainConfig(**FAST).spotting
