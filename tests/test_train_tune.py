"""`rt-sfamnet train --mae-labels rise --tune --final`: MaE pseudo-labels reach the folds, the
spotting values chosen on the LOSO curves go into the final weights with their selection."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rt_sfamnet.cli import main
from rt_sfamnet.datasets.synthetic import write_map_cache

SMALL_MACRO = {"k_macro": [10, 6], "macro_threshold": [0.576, 0.3], "macro_min_length": [8],
               "macro_max_length": [45], "macro_left": [25], "macro_right": [25]}
SMALL_MICRO = {"k_micro": [3], "micro_peak_offset": [0], "micro_threshold": [0.3, 0.5],
               "micro_max_length": [8], "micro_right": [6], "micro_macro_gap": [0.0, 0.02]}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return write_map_cache(tmp_path_factory.mktemp("c") / "cache", subjects=3, videos=1,
                           frames=200, me_per_video=3, seed=1, macro_amplitude=1.0)


def test_mae_labels_reach_the_fold_data(cache):
    from rt_sfamnet.training import load_subject

    release = load_subject(cache, "spNO.1", 4)
    mae = load_subject(cache, "spNO.1", 4, "rise")
    macro = [iv for iv in mae.intervals if iv.type == "macro"][0]
    rise = np.arange(macro.onset // 2, macro.apex // 2 + 1)  # onset -> apex, 10 frames
    assert release.spot[rise].sum() < len(rise) and mae.spot[rise].min() == 1.0
    assert mae.spot.sum() > release.spot.sum()


def test_train_tune_final(cache, tmp_path, capsys, monkeypatch):
    import rt_sfamnet.tuning as tuning

    monkeypatch.setattr(tuning, "MACRO_GRID", SMALL_MACRO)
    monkeypatch.setattr(tuning, "MICRO_GRID", SMALL_MICRO)
    out = tmp_path / "run"
    rc = main(["train", "--cache", str(cache.path), "--emotions", "4", "--out", str(out),
               "--steps", "2", "--batch-size", "16", "--threads", "1", "--mae-labels", "rise",
               "--spot", "offset_extend=6", "--tune", "--final"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(res["tuned"]) == {"base", "shipped", "nested"}
    rep = json.loads((out / "tuning.json").read_text())
    assert rep["candidates"] == {"macro": 4, "micro": 4} and len(rep["nested"]) == 3
    assert rep["base"] == {"offset_extend": 6}
    from rt_sfamnet.weights import read_meta

    prov = read_meta(out / "final.safetensors").provenance
    assert prov["train"]["spotting"] == rep["shipped"]  # analyze and the GUI apply these
    assert prov["train"]["mae_labels"] == "rise"
    assert prov["spotting_selection"]["nested_values"] == rep["nested"]
    assert json.loads((out / "config.json").read_text())["train"]["mae_labels"] == "rise"


def test_release_exact_keeps_release_labels():
    from rt_sfamnet.training import TrainConfig

    with pytest.raises(ValueError, match="release_exact"):
        TrainConfig(release_exact=True, mae_labels="rise")
    with pytest.raises(ValueError, match="mae_labels"):
        TrainConfig(mae_labels="all")
    assert TrainConfig().mae_labels == "none"
