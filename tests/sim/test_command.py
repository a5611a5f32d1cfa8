"""``rt-sfamnet simulate`` through the CLI."""

from __future__ import annotations

import pytest

from rt_sfamnet.cli import main
from rt_sfamnet.intervals import read_intervals


def test_simulate_recording(tmp_path, capsys):
    pytest.importorskip("pyrealsense2")
    out = tmp_path / "sim.db3"
    rc = main(["simulate", "--out", str(out), "--seconds", "1", "--seed", "3", "--identity", "2",
               "--width", "160", "--height", "120"])
    assert rc == 0
    assert out.is_file()
    assert "wrote 30 frames" in capsys.readouterr().out
    for iv in read_intervals(tmp_path / "sim.gt.csv"):
        assert iv.subject == "sim" and iv.video == "sim"


def test_simulate_dataset(tmp_path, capsys):
    out = tmp_path / "ds"
    rc = main(["simulate", "--dataset", "--subjects", "1", "--videos", "1", "--seconds", "1",
               "--width", "160", "--height", "120", "--seed", "2", "--workers", "1",
               "--out", str(out)])
    assert rc == 0
    assert (out / "annotations" / "part_A_expressions.xlsx").is_file()
    assert len(list((out / "data" / "part_A" / "spNO.1" / "a" / "color").glob("*.jpg"))) == 30


def test_simulate_errors(tmp_path, capsys):
    assert main(["simulate", "--out", str(tmp_path / "x.db3"), "--identity", "nobody"]) == 2
    assert "unknown identity" in capsys.readouterr().err
    assert main(["simulate", "--out", str(tmp_path / "x.db3"), "--seconds", "0"]) == 2
    assert main(["simulate", "--out", str(tmp_path / "x.mp4"), "--seconds", "1"]) == 2
    assert ".db3" in capsys.readouterr().err
    assert main(["simulate", "--dataset", "--recipe", "r.toml", "--out", str(tmp_path)]) == 2
