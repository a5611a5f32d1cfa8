"""``rt-sfamnet spot``: offline post-processing of saved scores."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rt_sfamnet.cli import main
from rt_sfamnet.intervals import read_intervals
from rt_sfamnet.spotting import SpottingConfig, spot


def _curve(n=200):
    s = np.full(n, 0.02)
    s[60:71] = 0.9
    s[140:175] = 0.95
    return s


@pytest.fixture
def scores_csv(tmp_path):
    s = _curve()
    labels = ["negative" if 55 <= i <= 70 else "neutral" for i in range(len(s))]
    rows = ["video,sample,score,emotion"]
    for video in ("b", "a"):
        order = list(range(len(s)))[::-1]  # any row order
        rows += [f"{video},{i},{s[i]:.6f},{labels[i]}" for i in order]
    p = tmp_path / "scores.csv"
    p.write_text("\n".join(rows) + "\n")
    return p, np.round(s, 6), labels


def test_spot_json_matches_spot(scores_csv, capsys):
    path, s, labels = scores_csv
    assert main(["spot", "--scores", str(path), "--emotions", "4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    expected = spot(s, labels, SpottingConfig())
    assert len(expected) == 2
    for video in ("a", "b"):
        got = [d for d in out if d["video"] == video]
        assert [(d["type"], d["onset"], d["apex"], d["offset"], d["emotion"]) for d in got] == [
            (e.type, e.onset, e.apex, e.offset, e.emotion) for e in expected]
    assert set(out[0]) == {"video", "type", "onset", "apex", "offset", "emotion"}
    micro = [d for d in out if d["type"] == "micro"][0]
    assert micro["emotion"] == "negative"


def test_spot_lines_frame_skip_and_out(scores_csv, tmp_path, capsys):
    path, s, labels = scores_csv
    out_csv = tmp_path / "iv.csv"
    assert main(["spot", "--scores", str(path), "--emotions", "4", "--frame-skip", "1",
                 "--out", str(out_csv)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    expected = spot(s, labels, SpottingConfig(frame_skip=1))
    assert len(lines) == 2 * len(expected)
    assert all(("micro" in ln or "macro" in ln) and "onset=" in ln for ln in lines)
    ivs = read_intervals(out_csv)
    assert len(ivs) == len(lines)


def test_spot_config_toml(scores_csv, tmp_path, capsys):
    path, s, labels = scores_csv
    cfg = tmp_path / "spot.toml"
    cfg.write_text("[spotting]\nmicro_threshold = 0.99\nmacro_threshold = 0.99\n")
    assert main(["spot", "--scores", str(path), "--emotions", "4", "--config", str(cfg),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    flat = tmp_path / "flat.toml"
    flat.write_text("video_threshold = 0.01\n")  # the whole file as the spotting table
    assert main(["spot", "--scores", str(path), "--emotions", "4", "--config", str(flat),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    bad = tmp_path / "bad.toml"
    bad.write_text("[spotting]\nmicro_treshold = 0.5\n")
    assert main(["spot", "--scores", str(path), "--emotions", "4", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "micro_treshold" in err and "unknown key" in err


@pytest.mark.parametrize(
    "content, message",
    [
        ("video,sample,score\na,0,0.1\n", "missing column"),
        ("video,sample,score,emotion\na,0,high,others\n", "line 2, column 'score'"),
        ("video,sample,score,emotion\na,x,0.1,others\n", "line 2, column 'sample'"),
        ("video,sample,score,emotion\na,0,0.1,bored\n", "line 2, column 'emotion'"),
        ("video,sample,score,emotion\na,0,0.1,others\na,2,0.1,others\n", "samples missing"),
        ("video,sample,score,emotion\na,0,0.1,others\na,0,0.2,others\n", "repeated"),
    ],
)
def test_spot_malformed_scores(tmp_path, capsys, content, message):
    p = tmp_path / "s.csv"
    p.write_text(content)
    assert main(["spot", "--scores", str(p), "--emotions", "4"]) == 2
    err = capsys.readouterr().err
    assert message in err and "s.csv" in err


def test_spot_far_sample_number_names_the_first_missing_samples(tmp_path, capsys):
    """One row at sample 2e9: the message lists the first missing samples without building
    a set of two billion numbers."""
    p = tmp_path / "s.csv"
    p.write_text("video,sample,score,emotion\na,2000000000,0.1,others\n")
    assert main(["spot", "--scores", str(p), "--emotions", "4"]) == 2
    err = capsys.readouterr().err
    assert "samples missing (e.g. [0, 1, 2, 3, 4]); expected 0..2000000000" in err


def test_first_missing_samples():
    from rt_sfamnet.commands.spot import _first_missing

    assert _first_missing({0, 1, 3, 7}, 5) == [2, 4, 5, 6]
    assert _first_missing({5}, 3) == [0, 1, 2]
    assert _first_missing({0, 1, 2}, 5) == []


@pytest.mark.parametrize("where", ["folder", "under_file", "proc"])
def test_spot_unwritable_out_is_one_line_and_leaves_nothing(scores_csv, tmp_path, capsys, where):
    path, _, _ = scores_csv
    if where == "folder":
        out = tmp_path / "iv.csv"
        out.mkdir()
    elif where == "under_file":
        out = path / "iv.csv"  # under the (regular) score file
    else:
        out = "/proc/rt-sfamnet-spot/iv.csv"
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(["spot", "--scores", str(path), "--emotions", "4", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.count("\n") == 0 and "cannot write the interval file" in err and str(out) in err
    assert captured.out == ""  # refused before any work
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # no .tmp left


def test_spot_out_on_a_failing_filesystem_leaves_no_temporary(scores_csv, tmp_path, capsys,
                                                              monkeypatch):
    """A read-only filesystem (injected: CI runs as root) fails when the file is renamed in."""
    import os

    path, _, _ = scores_csv

    def readonly(*a, **k):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(os, "replace", readonly)
    out = tmp_path / "iv.csv"
    assert main(["spot", "--scores", str(path), "--emotions", "4", "--out", str(out)]) == 2
    assert "Read-only file system" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.csv"]


@pytest.mark.parametrize("value", ["nan", "inf", "1e400", "-inf"])
def test_spot_non_finite_score_is_one_line(tmp_path, capsys, value):
    p = tmp_path / "s.csv"
    p.write_text(f"video,sample,score,emotion\na,0,{value},others\n")
    assert main(["spot", "--scores", str(p), "--emotions", "4"]) == 2
    err = capsys.readouterr().err
    assert "line 2, column 'score': expected a finite number" in err and err.count("\n") == 1


def test_spot_duplicated_column_is_an_error(tmp_path, capsys):
    p = tmp_path / "s.csv"
    p.write_text("video,sample,score,emotion,score\na,0,0.1,others,0.9\n")
    assert main(["spot", "--scores", str(p), "--emotions", "4"]) == 2
    assert "['score'] appear more than once" in capsys.readouterr().err
