"""Spotting-value selection: grid, F1 on counts, shipped vs nested choice, a whole search."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rt_sfamnet.intervals import Interval
from rt_sfamnet.tuning import (
    SubjectCurves,
    choose,
    f1_counts,
    grid,
    load_run_curves,
    micro_fp_inside_macro,
    select_values,
    spot_args,
)


def test_grid_and_f1():
    assert grid({"a": [1, 2], "b": ["x", "y"]}) == [
        {"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"}]
    assert f1_counts((2, 1, 1)) == pytest.approx(4 / 6)
    assert f1_counts((0, 0, 0)) == 0.0
    assert spot_args({"k_macro": 8, "micro_macro_gap": 0.02, "x": None}) == [
        "k_macro=8", "micro_macro_gap=0.02"]


def test_choose_shipped_and_nested_hand_computed():
    c = np.array([
        [[1, 0, 0], [0, 1, 1], [1, 0, 0]],  # candidate 0: pooled (2, 1, 1) F1 4/6
        [[0, 0, 1], [1, 0, 0], [1, 0, 0]],  # candidate 1: pooled (2, 0, 1) F1 4/5
    ])
    r = choose(c)
    assert r["shipped"] == 1 and r["shipped_counts"].tolist() == [2, 0, 1]
    # without s0: c0 (1,1,1) 0.5 vs c1 (2,0,0) 1.0 -> 1; without s1: c0 (2,0,0) 1.0 vs
    # c1 (1,0,1) 2/3 -> 0; without s2: c0 (1,1,1) 0.5 vs c1 (1,0,1) 2/3 -> 1
    assert r["nested"] == [1, 0, 1]
    # applied: s0 with c1 (0,0,1) + s1 with c0 (0,1,1) + s2 with c1 (1,0,0)
    assert r["nested_counts"].tolist() == [1, 1, 2]
    # equal F1: the first grid point wins
    assert choose(np.array([c[0], c[0]]))["shipped"] == 0
    with pytest.raises(ValueError, match="n_candidates"):
        choose(np.zeros((2, 3)))


def _iv(subject, on, off, typ, emo="", proto=None):
    extra = {"prototype": proto} if proto else {}
    return Interval(subject, "a", on, None, off, typ, emo, extra)


def _subject(name: str, rng: np.random.Generator, height: float) -> SubjectCurves:
    """300 samples (frame_skip 2): a macro plateau over samples 50-80 and a micro spike at 200."""
    s = 0.03 * rng.random(300)
    s[50:81] = height
    s[200:203] = 1.0
    labels = ["negative"] * 300
    labels[50:81] = ["positive"] * 31
    gt = [_iv(name, 100, 162, "macro", proto="happy"), _iv(name, 398, 411, "micro", "disgust")]
    return SubjectCurves(name, {"a": s}, gt, {"a": labels})


MACRO = {"k_macro": [10, 6], "macro_threshold": [0.576, 0.3], "macro_min_length": [12],
         "macro_max_length": [45], "macro_left": [25], "macro_right": [25]}
MICRO = {"k_micro": [3], "micro_peak_offset": [0], "micro_threshold": [0.3],
         "micro_max_length": [8], "micro_right": [6], "micro_macro_gap": [0.0, 0.02]}
BASE = {"micro_min_length": 1, "micro_left": 4, "micro_max_mean": 1.0, "offset_extend": 6}


def test_select_values_finds_the_macro_plateau_and_reports_nested():
    rng = np.random.default_rng(0)
    curves = [_subject(f"s{i}", rng, h) for i, h in enumerate((0.5, 0.55, 0.45))]
    r = select_values(curves, BASE, macro_grid=MACRO, micro_grid=MICRO)
    # release macro values never fire on a 0.5 plateau; threshold 0.3 does on every subject
    assert r["metrics"]["base"]["macro"]["tp"] == 0
    assert r["shipped"]["macro_threshold"] == 0.3
    assert all(v["macro_threshold"] == 0.3 for v in r["nested"].values())
    for which in ("shipped", "nested"):
        m = r["metrics"][which]
        assert (m["macro"]["tp"], m["macro"]["fp"], m["macro"]["fn"]) == (3, 0, 0)
        assert (m["micro"]["tp"], m["micro"]["fp"], m["micro"]["fn"]) == (3, 0, 0)
        # every MaE labelled with the mode of its samples: positive = happy's 4-class name
        assert m["macro_emotion"] == {"pairs": 3, "correct": 3, "accuracy": 1.0}
    assert r["candidates"] == {"macro": 4, "micro": 2}
    assert r["shipped"]["micro_macro_gap"] == 0.0  # first on ties: the gap changes nothing here
    json.dumps(r)  # JSON-able


def test_micro_fp_inside_macro_counts_only_unmatched_overlaps():
    gt = [_iv("s", 100, 160, "macro"), _iv("s", 300, 312, "micro")]
    pred = [_iv("s", 120, 130, "micro"),   # FP inside the MaE
            _iv("s", 300, 312, "micro"),   # TP
            _iv("s", 400, 410, "micro"),   # FP outside
            _iv("s", 150, 170, "micro")]   # FP overlapping the MaE's end
    assert micro_fp_inside_macro(gt, pred) == 2


def test_load_run_curves(tmp_path):
    (tmp_path / "folds").mkdir()
    for s in ("spNO.10", "spNO.2"):
        (tmp_path / "folds" / f"{s}.json").write_text(json.dumps({
            "subject": s, "scores": {"a": [0.0, 0.5]},
            "gt": [{"subject": s, "video": "a", "onset": 0, "apex": 1, "offset": 3, "type": "micro",
                    "emotion": "", "extra": {}}]}))
    c = load_run_curves(tmp_path)
    assert [x.subject for x in c] == ["spNO.2", "spNO.10"]
    assert c[0].scores["a"].tolist() == [0.0, 0.5] and c[0].labels is None
    from rt_sfamnet.errors import RtSfamnetError

    with pytest.raises(RtSfamnetError, match="no fold results"):
        load_run_curves(tmp_path / "missing")


@pytest.mark.parametrize("emotions", [4, 7])
def test_shipped_weights_carry_the_selected_values(emotions):
    """The bundled weights embed the spotting values their provenance JSON reports as chosen."""
    import hashlib
    from pathlib import Path

    from rt_sfamnet.weights import read_meta

    folder = Path(__file__).resolve().parents[1] / "weights"
    w = folder / f"sfamnet-{emotions}emo.safetensors"
    side = json.loads((folder / f"sfamnet-{emotions}emo.json").read_text())
    assert side["sha256"] == hashlib.sha256(w.read_bytes()).hexdigest()
    prov = read_meta(w).provenance
    assert prov["train"]["spotting"] == side["spotting"]
    assert prov["train"]["mae_labels"] == "phases"
    nested = side["loso_metrics"]["nested"]
    assert set(side["loso_metrics"]["nested_values"]) == set(prov["subjects"])
    assert nested["micro"]["tp"] + nested["micro"]["fn"] == 43  # the dataset's micro-expressions
    assert nested["macro"]["tp"] + nested["macro"]["fn"] == 18
