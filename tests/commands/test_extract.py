"""``extract``: damaged frames, --skip-broken, damaged cache files and disks that refuse
writes end in one line (exit 2) or in a result that records the problem."""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rt_sfamnet.cli import main


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """Two subjects with one short 160x120 video each."""
    from rt_sfamnet.sim.dataset import write_dataset

    root = tmp_path_factory.mktemp("ds") / "synthetic"
    write_dataset(root, 2, 0, videos_per_subject=1, seconds=1.5, width=160, height=120,
                  workers=1)
    return root


def _damaged_copy(dataset: Path, tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "ds"
    shutil.copytree(dataset, root)
    png = root / "data" / "part_A" / "spNO.2" / "a" / "depth" / "13.png"
    b = bytearray(png.read_bytes())
    b[len(b) // 2] ^= 0xFF
    png.write_bytes(bytes(b))
    return root, png


def _extract(root: Path, cache: Path, *extra: str) -> int:
    return main(["extract", "--dataset", "synthetic", "--root", str(root), "--cache", str(cache),
                 "--no-progress", *extra])


def _one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("rt-sfamnet extract: error: ")
    return lines[0]


def test_a_damaged_frame_names_the_file_and_skip_broken_skips_the_video(dataset, tmp_path,
                                                                         capsys):
    root, png = _damaged_copy(dataset, tmp_path)
    cache = tmp_path / "cache"
    assert _extract(root, cache) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert f"{png}: damaged PNG image" in line and "libpng" not in line

    assert _extract(root, cache, "--skip-broken") == 0
    out = capsys.readouterr().out
    summary = json.loads(out.splitlines()[-1])
    assert list(summary["broken"]) == ["spNO.2/a"]
    assert str(png) in summary["broken"]["spNO.2/a"]
    assert "skipping spNO.2/a: " in out
    from rt_sfamnet.datasets.cache import FeatureCache

    assert sorted(FeatureCache(cache).keys()) == [("spNO.1", "a")]


def test_a_full_disk_fails_at_the_first_write_and_leaves_nothing_partial(dataset, tmp_path,
                                                                         capsys, monkeypatch):
    writes = []

    def full(*a, **kw):
        writes.append(a)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", full)
    cache = tmp_path / "cache"
    assert _extract(dataset, cache) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.endswith("No space left on device")
    assert f"cannot write the feature cache {cache}" in line
    assert len(writes) == 1  # no retry: it stops at the first failed write
    left = [p.name for p in cache.rglob("*") if "partial" in p.name or p.suffix == ".tmp"]
    assert left == []


def test_a_cache_path_under_a_regular_file_is_one_line(dataset, tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert _extract(dataset, f / "cache") == 2
    line = _one_error_line(capsys.readouterr().err)
    assert f"cannot write the feature cache {f / 'cache'}" in line and "Not a directory" in line


@pytest.mark.parametrize(("content", "words"), [
    (b"{\"version\": 2, ", "expected JSON, found Expecting"),
    (b"", "expected JSON, found an empty file"),
    (b"[1, 2]", "expected a JSON object, found list"),
    (b"\xff\xfe{}", "expected UTF-8 JSON text"),
])
def test_a_damaged_meta_json_is_one_line_naming_it(dataset, tmp_path, capsys, content, words):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "meta.json").write_bytes(content)
    for argv in (["--migrate"], []):
        assert _extract(dataset, cache, *argv) == 2
        line = _one_error_line(capsys.readouterr().err)
        assert f"{cache / 'meta.json'}: the feature cache metadata is damaged: {words}" in line


def test_a_format1_cache_with_wrongly_shaped_maps_is_one_line(tmp_path, capsys):
    cache = tmp_path / "old"
    (cache / "videos" / "spNO.1").mkdir(parents=True)
    (cache / "meta.json").write_text(json.dumps({"version": 1, "frame_skip": 2}))
    npz = cache / "videos" / "spNO.1" / "a.npz"
    np.savez(npz, maps=np.zeros((4, 3, 40, 40), np.float32), frames=np.arange(4),
             valid=np.ones(4, bool), gt_maps=np.zeros((0, 3, 42, 42), np.float32),
             gt_onset=np.zeros(0, int), gt_apex=np.zeros(0, int), gt_emotion=np.zeros(0, str),
             intervals=np.array("[]"), n_frames=np.array(20))
    assert main(["extract", "--migrate", "--cache", str(cache)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert f"{npz}: a broken cache file (maps must be (N, 3, 42, 42), found (4, 3, 40, 40))" \
        in line
    assert npz.is_file()  # the old file is kept
