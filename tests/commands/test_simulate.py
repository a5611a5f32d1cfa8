"""``simulate`` onto a disk that fills up: one line, exit 2, and no file left behind."""

from __future__ import annotations

import errno

import rt_sfamnet.sources.realsense as realsense
from rt_sfamnet.cli import main


def test_a_full_disk_leaves_no_part_file(tmp_path, monkeypatch, capsys):
    consumed = []

    def full(frames, path, fps=30.0, **kw):
        for f in frames:  # the recorder takes a few frames, then the disk is full
            consumed.append(f.index)
            if len(consumed) == 3:
                raise OSError(errno.ENOSPC, "No space left on device")
        raise AssertionError("unreachable")

    monkeypatch.setattr(realsense, "write_recording", full)
    out = tmp_path / "s.db3"
    rc = main(["simulate", "--out", str(out), "--seconds", "1", "--width", "64",
               "--height", "48"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(consumed) == 3
    assert err == [f"rt-sfamnet simulate: error: cannot write the simulated recording {out}: "
                   "No space left on device"]
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no .gt.csv.part, no .part.db3


def test_a_dataset_that_fills_the_disk_is_removed_again(tmp_path, monkeypatch, capsys):
    import cv2

    import rt_sfamnet.sim.dataset as sim_dataset

    calls = []
    real = cv2.imwrite

    def imwrite(path, img, params=None):  # OpenCV reports a full disk by returning False
        calls.append(path)
        return len(calls) <= 7 and real(path, img, params or [])

    monkeypatch.setattr(sim_dataset.cv2, "imwrite", imwrite)
    keep = tmp_path / "mine.txt"
    keep.write_text("the user's own file")
    rc = main(["simulate", "--dataset", "--out", str(tmp_path), "--subjects", "2", "--videos",
               "1", "--seconds", "1", "--width", "64", "--height", "48", "--workers", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("rt-sfamnet simulate: error: ")
    assert "cannot write" in err[0] and calls[-1] in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]  # only what was there


def test_micro_fraction_sets_the_dataset_mix(tmp_path, capsys):
    rc = main(["simulate", "--dataset", "--out", str(tmp_path / "bad"), "--micro-fraction",
               "1.5", "--subjects", "1", "--videos", "1", "--seconds", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err == ["rt-sfamnet simulate: error: --micro-fraction must be between 0 "
                               "and 1, found 1.5"]
    assert not (tmp_path / "bad").exists()
    rc = main(["simulate", "--dataset", "--out", str(tmp_path / "d"), "--micro-fraction", "0",
               "--subjects", "1", "--videos", "1", "--seconds", "8", "--width", "64",
               "--height", "48", "--workers", "1"])
    out = capsys.readouterr().out
    assert rc == 0 and "macro-expressions" in out
    rows = (tmp_path / "d" / "annotations" / "intervals.csv").read_text().splitlines()[1:]
    # only macro-expressions, but for the script's last slot: a micro-expression fills the
    # time a macro-expression no longer fits into
    assert len(rows) >= 2 and all(",macro," in r for r in rows[:-1])
