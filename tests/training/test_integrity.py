"""Run folders and the cache they train on: checksums, redo what is damaged or outdated,
refuse what cannot be redone (issue 20)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from rt_sfamnet.cli import main
from rt_sfamnet.datasets.cache import FeatureCache
from rt_sfamnet.datasets.synthetic import write_map_cache
from rt_sfamnet.errors import DatasetError, RtSfamnetError
from rt_sfamnet.training import Run, TrainConfig

FAST = dict(steps=2, batch_size=16, threads=1)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return write_map_cache(tmp_path_factory.mktemp("c") / "cache", subjects=3, videos=1,
                           frames=120, me_per_video=2, seed=4)


@pytest.fixture()
def cache(pristine, tmp_path):
    """A private copy (tests damage it)."""
    shutil.copytree(pristine.path, tmp_path / "cache")
    return FeatureCache(tmp_path / "cache")


def _damage(path, offset: int = -64) -> None:
    """Flip bytes inside a file, keeping its size (what a bad disk or copy does)."""
    data = bytearray(path.read_bytes())
    for i in range(8):
        data[offset + i] ^= 0xFF
    path.write_bytes(bytes(data))


def _logged(run: Run) -> list[str]:
    lines: list[str] = []
    run.log = lines.append
    return lines


def test_a_damaged_maps_file_is_refused_before_any_training(cache, tmp_path, capsys):
    maps = cache.video_path("spNO.2", "a") / "maps.npy"
    _damage(maps)
    with pytest.raises(DatasetError, match=r"spNO.2/a: .*maps.npy does not match its SHA-256"):
        Run(cache, tmp_path / "r", TrainConfig(**FAST)).run(plots=False)
    assert not (tmp_path / "r" / "folds").exists()  # nothing trained on garbage
    rc = main(["train", "--cache", str(cache.path), "--out", str(tmp_path / "r2"), "--steps",
               "2", "--batch-size", "16", "--no-progress", "--plot-videos", "0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "1 damaged entry" in err[0] and "rt-sfamnet extract" in err[0]
    with pytest.raises(DatasetError, match="damaged"):
        Run(cache, tmp_path / "r3", TrainConfig(**FAST)).train_final()


def test_folds_record_checksums_and_a_clean_resume_keeps_them(cache, tmp_path):
    out = tmp_path / "r"
    Run(cache, out, TrainConfig(**FAST)).run(plots=False)
    man = json.loads((out / "folds" / "spNO.1.checksums").read_text())
    assert sorted(man["files"]) == ["spNO.1.json", "spNO.1.safetensors"]
    assert sorted(man["cache_entries"]) == ["spNO.1/a", "spNO.2/a", "spNO.3/a"]
    assert man["cache_entries"]["spNO.2/a"] == cache.entry_digest("spNO.2", "a")
    before = {p.name: p.read_bytes() for p in (out / "folds").iterdir()}
    run = Run(cache, out, TrainConfig(**FAST))
    log = _logged(run)
    run.run(plots=False)
    assert sum("kept" in m for m in log) == 3
    assert {p.name: p.read_bytes() for p in (out / "folds").iterdir()} == before


@pytest.mark.parametrize("harm", ["delete weights", "damage weights", "damage json",
                                  "delete checksums", "damage checksums"])
def test_a_missing_or_damaged_fold_file_is_trained_again(cache, tmp_path, harm):
    out = tmp_path / "r"
    Run(cache, out, TrainConfig(**FAST)).run(["spNO.1", "spNO.2", "spNO.3"], plots=False)
    good = (out / "folds" / "spNO.2.safetensors").read_bytes()
    verb, what = harm.split()
    path = out / "folds" / {"weights": "spNO.2.safetensors", "json": "spNO.2.json",
                            "checksums": "spNO.2.checksums"}[what]
    if verb == "delete":
        path.unlink()
    elif what == "checksums":
        path.write_text("{not json")
    else:
        _damage(path, offset=len(path.read_bytes()) // 2)
    with pytest.raises(RtSfamnetError, match=r"cannot pool .*spNO.2: "):
        Run(cache, out, TrainConfig(**FAST)).merge(plots=False)  # never pooled as is
    run = Run(cache, out, TrainConfig(**FAST))
    log = _logged(run)
    run.run(plots=False)
    redo = [m for m in log if m.startswith("fold spNO.2:")]
    assert len(redo) == 1 and "training it again" in redo[0]
    assert sum("kept" in m for m in log) == 2
    assert Run(cache, out, TrainConfig(**FAST)).fold_problem("spNO.2") is None
    # same seed, same data: the redone fold is the one that was lost
    assert (out / "folds" / "spNO.2.safetensors").read_bytes() == good


def test_a_fold_trained_on_entries_that_changed_is_never_kept(cache, tmp_path):
    """extract repaired or relabelled an entry after the fold was trained: redo every fold
    that used it (all of them: each fold trains or tests on every subject)."""
    out = tmp_path / "r"
    Run(cache, out, TrainConfig(**FAST)).run(plots=False)
    vf = cache.load("spNO.3", "a", mmap=False)
    vf.intervals = vf.intervals[:-1]  # the review dropped an interval; extract redid it
    vf.maps = np.array(vf.maps)
    cache.remove("spNO.3", "a")
    cache.write(vf)
    run = Run(cache, out, TrainConfig(**FAST))
    log = _logged(run)
    run.run(plots=False)
    redo = [m for m in log if "changed since (spNO.3/a)" in m]
    assert len(redo) == 3 and not [m for m in log if "kept" in m]
    man = json.loads((out / "folds" / "spNO.1.checksums").read_text())
    assert man["cache_entries"]["spNO.3/a"] == cache.entry_digest("spNO.3", "a")


def test_folds_of_an_older_version_without_checksums_are_trained_again(cache, tmp_path):
    out = tmp_path / "r"
    Run(cache, out, TrainConfig(**FAST)).run(["spNO.1"], plots=False)
    (out / "folds" / "spNO.1.checksums").unlink()  # as an older version left it
    run = Run(cache, out, TrainConfig(**FAST))
    log = _logged(run)
    run.run(["spNO.1"], plots=False)
    assert log and "no checksums" in log[0] and "training it again" in log[0]


def test_a_damaged_fold_to_fine_tune_from_is_refused(cache, tmp_path):
    base = tmp_path / "four"
    Run(cache, base, TrainConfig(**FAST)).run(["spNO.1"], plots=False)
    _damage(base / "folds" / "spNO.1.safetensors", offset=-200)
    cfg = TrainConfig(emotions=7, mode="finetune", finetune_from=str(base), **FAST)
    with pytest.raises(RtSfamnetError, match=r"spNO.1.safetensors is damaged.*train that fold"):
        Run(cache, tmp_path / "seven", cfg).run_fold("spNO.1")
