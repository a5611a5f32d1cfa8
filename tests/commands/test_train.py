"""``train``: damaged run files and disks that refuse writes end in one line (exit 2)."""

from __future__ import annotations

import errno
import pathlib
from pathlib import Path

import pytest

from rt_sfamnet.cli import main
from rt_sfamnet.datasets.synthetic import write_map_cache

FAST = ["--steps", "2", "--batch-size", "16", "--no-progress", "--plot-videos", "0"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return write_map_cache(tmp_path_factory.mktemp("c") / "cache", subjects=2, videos=1,
                           frames=120, me_per_video=2, seed=1).path


def _train(cache: Path, out: Path, *extra: str) -> int:
    return main(["train", "--cache", str(cache), "--out", str(out), *FAST, *extra])


def _error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("rt-sfamnet train: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("rt-sfamnet train: error: ")
    return lines[0]


@pytest.fixture(scope="module")
def run_folder(cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("r") / "run"
    assert _train(cache, out) == 0
    return out


@pytest.mark.parametrize("name", ["config.json", "folds/spNO.1.json"])
def test_a_damaged_run_file_is_one_line_naming_it(run_folder, cache, tmp_path, capsys, name):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(run_folder, out)
    (out / name).write_text('{"train": {"seed": 0')
    capsys.readouterr()
    assert _train(cache, out, "--merge") == 2
    line = _error_line(capsys.readouterr().err)
    if name == "config.json":
        assert f"{out / name}: the " in line and "is damaged: expected JSON, found Expecting" in line
    else:  # the fold's checksums catch it first: the fold is named, to be trained again
        assert f"cannot pool {out}: 1 fold(s) cannot be used (spNO.1: " in line
        assert "train them again" in line


def test_a_full_disk_fails_at_the_first_write_and_leaves_no_temporary_file(
        cache, tmp_path, capsys, monkeypatch):
    writes = []

    def full(self, data):
        writes.append(self)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pathlib.Path, "write_bytes", full)
    out = tmp_path / "run"
    assert _train(cache, out) == 2
    line = _error_line(capsys.readouterr().err)
    assert "cannot write the weights file" in line and line.endswith("No space left on device")
    assert len(writes) == 1  # the first fold's weights; nothing is tried after it
    assert not list((out / "folds").iterdir())  # no fold files, no temporary files
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "folds"]


def test_a_run_folder_under_a_regular_file_is_one_line(cache, tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert _train(cache, f / "run") == 2
    line = _error_line(capsys.readouterr().err)
    assert f"cannot write the run folder {f / 'run'}" in line and "Not a directory" in line
