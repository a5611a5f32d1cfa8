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
