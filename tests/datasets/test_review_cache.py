"""The feature cache follows the review (issue 20): what an entry was made from is recorded
and checked; a changed subject moves the entry; names from files are never paths.

Extraction runs here at the label and index level only (``label_level_extract_video``: the
real schedule and ground-truth samples, zero maps), so every case takes milliseconds; the
flow itself is covered by the extraction tests."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rt_sfamnet.annotations import CONFIRMED, PENDING, Row, annotations_path, write_annotations
from rt_sfamnet.cli import main
from rt_sfamnet.datasets import extract as extract_mod
from rt_sfamnet.datasets.cache import FeatureCache, label_rows
from rt_sfamnet.datasets.extract import ExtractConfig, extract_dataset
from rt_sfamnet.datasets.recordings import load_recordings
from rt_sfamnet.errors import DatasetError
from rt_sfamnet.intervals import Interval
from rt_sfamnet.training import Run, TrainConfig
from tests.datasets.helpers import label_level_extract_video
from tests.review_helpers import simulate

STEMS = ("r1", "r2")
N_FRAMES = 30  # 1-s recordings


@pytest.fixture(scope="module")
def recs(tmp_path_factory):
    d = tmp_path_factory.mktemp("recs")
    simulate(d / "r1.db3", "grace", [], seconds=1.0)
    simulate(d / "r2.db3", "bea", [], seconds=1.0, seed=2)
    for stem in STEMS:
        (d / f"{stem}.gt.csv").unlink()
    return d


@pytest.fixture()
def folder(recs, tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    for stem in STEMS:
        shutil.copy(recs / f"{stem}.db3", d / f"{stem}.db3")
    return d


@pytest.fixture(autouse=True)
def no_flow(monkeypatch):
    monkeypatch.setattr(extract_mod, "extract_video", label_level_extract_video)


def row(onset, length=4, status="accepted", emotion="happy", subject="", typ="micro"):
    return Row(subject, "", onset, onset + length // 2, onset + length, typ, emotion,
               status=status, origin="manual" if status == "added" else "spotted")


def extract(folder, cache) -> dict:
    return extract_dataset(load_recordings(folder), FeatureCache(cache), ExtractConfig(),
                           show_progress=False)


def cached(cache, stem):
    """``(subject, sorted label rows)`` of the one entry of recording ``stem``."""
    fc = FeatureCache(cache)
    keys = [k for k in fc.keys() if k[1] == stem]
    assert len(keys) == 1, keys  # exactly one subject holds the recording
    vf = fc.load(*keys[0])
    return keys[0][0], sorted(label_rows(vf.intervals), key=str)


def expected(stem, rows, subject=""):
    subj = (subject if rows else "") or stem  # any row names the subject, rejected ones too
    ivs = [Interval(subj, stem, r.onset, r.apex, r.offset, r.type, r.emotion)
           for r in rows if r.status in CONFIRMED]
    return subj, sorted(label_rows(ivs), key=str)


def test_a_rejected_and_an_added_interval_redo_the_entry(folder, tmp_path):
    cache = tmp_path / "cache"
    first = [row(3), row(12, emotion="sad")]
    write_annotations(annotations_path(folder / "r1.db3"), first)
    write_annotations(annotations_path(folder / "r2.db3"), [row(5)])
    s = extract(folder, cache)
    assert (s["videos"], s["skipped"]) == (2, 0)
    second = [row(3), row(12, emotion="sad", status="rejected"), row(20, status="added")]
    write_annotations(annotations_path(folder / "r1.db3"), second)
    s = extract(folder, cache)
    assert (s["videos"], s["skipped"], s["redone"]) == (1, 1, 1)
    assert s["changed"] == ["r1/r1: the annotations changed (1 interval(s) gone or edited, "
                            "1 new or edited)"]
    assert cached(cache, "r1") == expected("r1", second)
    # the reviewer's name or the time of the review alone change nothing
    write_annotations(annotations_path(folder / "r1.db3"),
                      [Row(**{**r.__dict__, "reviewer": "other"}) for r in second])
    assert extract(folder, cache)["skipped"] == 2


def test_a_changed_subject_moves_the_recording_and_loso_has_one_fold_per_subject(folder,
                                                                              tmp_path):
    cache = tmp_path / "cache"
    write_annotations(annotations_path(folder / "r1.db3"), [row(3, subject="alice")])
    write_annotations(annotations_path(folder / "r2.db3"), [row(5, subject="bob")])
    extract(folder, cache)
    write_annotations(annotations_path(folder / "r1.db3"), [row(3, subject="carol")])
    s = extract(folder, cache)
    assert s["moved"] == ["alice/r1: its subject is carol now"] and s["videos"] == 1
    fc = FeatureCache(cache)
    assert fc.keys() == [("bob", "r2"), ("carol", "r1")]
    assert not (cache / "videos" / "alice").exists() or not list((cache / "videos" /
                                                                  "alice").iterdir())
    assert Run(fc, tmp_path / "run", TrainConfig()).folds() == ["bob", "carol"]


@pytest.mark.parametrize("subject", ["../evil", "a/b", "..", ".hidden", "x\\y"])
def test_a_subject_that_is_not_a_plain_name_is_refused(folder, tmp_path, capsys, subject):
    write_annotations(annotations_path(folder / "r1.db3"), [row(3, subject=subject)])
    write_annotations(annotations_path(folder / "r2.db3"), [row(5)])
    with pytest.raises(DatasetError, match="cannot name a cache folder"):
        load_recordings(folder)
    rc = main(["extract", "--dataset", "recordings", "--root", str(folder), "--cache",
               str(tmp_path / "cache"), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert f"subject name {subject!r} cannot name a cache folder" in err[0]
    assert "r1.annotations.csv" in err[0]
    assert not (tmp_path / "evil").exists() and not (tmp_path / "cache").exists()
    with pytest.raises(DatasetError, match="cannot name a cache folder"):
        FeatureCache(tmp_path / "c").video_path(subject, "v")  # the cache's own guard


def test_a_replaced_recording_is_redone_and_a_touched_one_kept(folder, recs, tmp_path):
    cache = tmp_path / "cache"
    for stem in STEMS:
        write_annotations(annotations_path(folder / f"{stem}.db3"), [row(3)])
    extract(folder, cache)
    index = cache / "videos" / "r1" / "r1" / "index.json"
    src = json.loads(index.read_text())["source"]
    assert src["file"] == "r1.db3" and src["bytes"] == (folder / "r1.db3").stat().st_size
    st = (folder / "r1.db3").stat()
    os.utime(folder / "r1.db3", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched
    assert extract(folder, cache)["skipped"] == 2
    assert json.loads(index.read_text())["source"]["mtime_ns"] == st.st_mtime_ns + 10**9
    shutil.copy(recs / "r2.db3", folder / "r1.db3")  # recorded over (same frame count)
    s = extract(folder, cache)
    assert s["changed"] == ["r1/r1: its source r1.db3 changed since it was extracted"]
    assert json.loads(index.read_text())["source"]["sha256"] == \
        json.loads((cache / "videos" / "r2" / "r2" / "index.json").read_text())["source"][
            "sha256"]


def test_an_entry_that_does_not_say_what_it_was_made_from_is_redone(folder, tmp_path):
    cache = tmp_path / "cache"
    for stem in STEMS:
        write_annotations(annotations_path(folder / f"{stem}.db3"), [row(3)])
    extract(folder, cache)
    index = cache / "videos" / "r1" / "r1" / "index.json"
    data = json.loads(index.read_text())
    del data["source"]  # as an older version wrote it
    index.write_text(json.dumps(data))
    s = extract(folder, cache)
    assert s["changed"] == ["r1/r1: made before the cache recorded what an entry is made "
                            "from"]


# ----------------------------------------------------------------------- property test

STATUSES = ("accepted", "rejected", "added", "edited", PENDING)


@st.composite
def reviews(draw):
    """One round of edits: per recording a subject ("" = the stem) and its rows."""
    out = {}
    for stem in STEMS:
        subject = draw(st.sampled_from(["", "alice", "bob"]))
        rows = []
        for _ in range(draw(st.integers(0, 4))):
            onset = draw(st.integers(0, N_FRAMES - 4))
            length = draw(st.integers(0, N_FRAMES - 1 - onset))
            rows.append(row(onset, length, status=draw(st.sampled_from(STATUSES)),
                            emotion=draw(st.sampled_from(["happy", "sad", "", "others"])),
                            subject=subject, typ=draw(st.sampled_from(["micro", "macro"]))))
        out[stem] = (subject, rows)
    return out


@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(rounds=st.lists(reviews(), min_size=1, max_size=3))
def test_property_cached_labels_equal_the_current_review(folder, tmp_path_factory, rounds):
    cache = tmp_path_factory.mktemp("cache") / "cache"
    state = None
    for edits in rounds:
        for stem, (_subject, rows) in edits.items():
            write_annotations(annotations_path(folder / f"{stem}.db3"), rows)
        pending = any(r.status == PENDING for _s, rows in edits.values() for r in rows)
        if pending:  # not reviewed yet: refused, the cache stays as it was
            with pytest.raises(DatasetError, match="not reviewed yet"):
                extract(folder, cache)
            assert state is None or {s: cached(cache, s) for s in STEMS} == state
            continue
        extract(folder, cache)
        state = {s: cached(cache, s) for s in STEMS}
        for stem, (subject, rows) in edits.items():
            assert state[stem] == expected(stem, rows, subject)
        assert len(FeatureCache(cache).keys()) == len(STEMS)


def test_train_refuses_a_recording_left_under_two_subjects(folder, tmp_path, capsys):
    """A cache made before entries were moved holds a recording twice: refused, and one
    extract fixes it."""
    cache = tmp_path / "cache"
    write_annotations(annotations_path(folder / "r1.db3"), [row(3, subject="alice")])
    write_annotations(annotations_path(folder / "r2.db3"), [row(5, subject="bob")])
    extract(folder, cache)
    shutil.copytree(cache / "videos" / "alice", cache / "videos" / "carol")  # the old copy
    rc = main(["train", "--cache", str(cache), "--out", str(tmp_path / "run"), "--steps", "1",
               "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "holds recording r1 under 2 subjects (alice, carol)" in err[0]
    write_annotations(annotations_path(folder / "r1.db3"), [row(3, subject="carol")])
    assert extract(folder, cache)["moved"] == ["alice/r1: its subject is carol now"]
    Run(FeatureCache(cache), tmp_path / "run", TrainConfig()).verify_cache()  # no error
