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
