"""``rt-sfamnet evaluate``."""

from __future__ import annotations

import json

import pytest

from rt_sfamnet.cli import main

GT = """subject,video,onset,apex,offset,type,emotion
s1,a,0,5,40,micro,happy
s1,a,100,120,150,macro,
s2,b,10,12,19,micro,disgust
"""
PRED = """subject,video,onset,offset,type,emotion
s1,a,0,10,micro,positive
s1,a,100,150,macro,
s2,b,10,19,micro,positive
s2,b,60,70,micro,others
"""


@pytest.fixture
def files(tmp_path):
    g, p = tmp_path / "gt.csv", tmp_path / "pred.csv"
    g.write_text(GT)
    p.write_text(PRED)
    return g, p


def test_evaluate_json_both_protocols(files, capsys):
    g, p = files
    assert main(["evaluate", "--gt", str(g), "--pred", str(p), "--emotions", "4", "--json"]) == 0
    megc = json.loads(capsys.readouterr().out)
    assert set(megc) == {"micro", "macro", "overall", "analysis"}
    assert set(megc["micro"]) == {"tp", "fp", "fn", "precision", "recall", "f1"}
    assert {"uf1", "uar", "f1", "strs"} <= set(megc["analysis"])
    # megc: s1/a micro [0, 40] vs [0, 10]: IoU 11/41 -> FP; s2/b TP; (60, 70) FP
    assert (megc["micro"]["tp"], megc["micro"]["fp"], megc["micro"]["fn"]) == (1, 2, 1)
    assert megc["macro"]["tp"] == 1
    assert main(["evaluate", "--gt", str(g), "--pred", str(p), "--protocol", "sfamnet",
                 "--json"]) == 0
    sf = json.loads(capsys.readouterr().out)
    # sfamnet: the GT offset rule shortens [0, 40] to [0, 10] -> TP
    assert (sf["micro"]["tp"], sf["micro"]["fp"], sf["micro"]["fn"]) == (2, 1, 0)


def test_evaluate_table(files, capsys):
    g, p = files
    assert main(["evaluate", "--gt", str(g), "--pred", str(p), "--emotions", "4"]) == 0
    out = capsys.readouterr().out
    assert "micro" in out and "overall" in out and "STRS" in out
    # "positive" is not a class of the 7-emotion setting
    assert main(["evaluate", "--gt", str(g), "--pred", str(p), "--emotions", "7"]) == 2
    assert "unknown emotion 'positive'" in capsys.readouterr().err


def test_evaluate_malformed_file(files, tmp_path, capsys):
    g, _ = files
    bad = tmp_path / "bad.csv"
    bad.write_text("subject,video,onset,offset,type,emotion\ns1,a,0,ten,micro,happy\n")
    assert main(["evaluate", "--gt", str(g), "--pred", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err and "line 2" in err and "offset" in err
    assert main(["evaluate", "--gt", str(tmp_path / "missing.csv"), "--pred", str(bad)]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["nan", "inf", "1e400"])
@pytest.mark.parametrize("which", ["--gt", "--pred"])
def test_evaluate_non_finite_frames_are_one_line_errors(files, capsys, value, which):
    g, p = files
    bad = g if which == "--gt" else p
    bad.write_text(bad.read_text().replace("100", value, 1))
    assert main(["evaluate", "--gt", str(g), "--pred", str(p)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "column 'onset'" in err and repr(value) in err
