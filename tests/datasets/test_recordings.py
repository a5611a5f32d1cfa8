"""Your own recordings as a dataset: reviewed annotations -> extract -> LOSO training."""

from __future__ import annotations

import json
import shutil

import pytest

from rt_sfamnet.annotations import ReviewSession, annotations_path
from rt_sfamnet.cli import main
from rt_sfamnet.datasets.recordings import load_recordings, recordings_stats
from rt_sfamnet.errors import DatasetError
from rt_sfamnet.intervals import Interval, read_intervals
from tests.review_helpers import simulate

FIXED = "2026-01-02T03:04:05+00:00"


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    """Two 3 s recordings of two identities, two micro-expressions each (with .gt.csv)."""
    d = tmp_path_factory.mktemp("recs")
    simulate(d / "p1.db3", "grace", [("micro", "happy", 0.5), ("micro", "surprise", 1.8)])
    simulate(d / "p2.db3", "bea", [("micro", "disgust", 0.6), ("micro", "happy", 1.9)], seed=2)
    return d


def review(rec, truth_file, spotted_shift: int = 1) -> ReviewSession:
    """Review a recording like a lab would: the spotter found both expressions a frame late
    and one false alarm; accept one, edit the other back, reject the false alarm."""
    truth = read_intervals(truth_file)
    events = [Interval("", "", t.onset + spotted_shift, t.apex, t.offset, "micro", t.emotion,
                       {"confidence": "0.8"}) for t in truth]
    events.append(Interval("", "", 75, 80, 85, "micro", "others", {"confidence": "0.5"}))
    s = ReviewSession.open(rec, events, reviewer="lab", clock=lambda: FIXED)
    s.accept(0)
    s.nudge(1, "onset", -spotted_shift)
    s.reject(2)
    return s


@pytest.fixture(scope="module")
def reviewed(raw, tmp_path_factory):
    d = tmp_path_factory.mktemp("reviewed")
    for stem in ("p1", "p2"):
        shutil.copy(raw / f"{stem}.db3", d / f"{stem}.db3")
        review(d / f"{stem}.db3", raw / f"{stem}.gt.csv")
    return d


def test_load_reads_confirmed_rows_subject_from_stem(reviewed, raw):
    ds = load_recordings(reviewed)
    assert ds.name == "recordings" and ds.subjects == ["p1", "p2"]
    v1, v2 = ds.videos
    assert (v1.subject, v1.video, v1.n_frames, v1.fps) == ("p1", "p1", 90, 30.0)
    assert v1.annotation_file == annotations_path(reviewed / "p1.db3")
    truth = read_intervals(raw / "p1.gt.csv")
    # accepted one a frame late, edited one back on the truth, rejected one left out
    assert [(iv.onset, iv.offset, iv.emotion) for iv in v1.intervals] == [
        (truth[0].onset + 1, truth[0].offset, "happy"), (truth[1].onset, truth[1].offset,
                                                         "surprise")]
    assert {(iv.subject, iv.video) for iv in v2.intervals} == {("p2", "p2")}
    assert ds.problems() == []
    st = recordings_stats(ds)
    assert st == {"recordings": 2, "subjects": 2, "frames": 180, "intervals": 4, "micro": 4,
                  "macro": 0, "emotions": {"disgust": 1, "happy": 2, "surprise": 1},
                  "problems": 0}


def test_frames_read_forwards_and_back_match_the_playback(raw):
    import numpy as np

    from rt_sfamnet.sources.realsense import PlaybackSource

    (v, _) = load_recordings(raw).videos
    with PlaybackSource(raw / "p1.db3", backend="rosbags") as src:
        frames = {f.index: f for f in src if f.index in (3, 40, 41)}
    for i in (40, 41, 3):
        got = v.read_frame(i)
        assert got.index == i
        assert np.array_equal(got.color, frames[i].color)
        assert np.array_equal(got.depth, frames[i].depth)
    v.close()


def test_gt_csv_is_used_without_a_review_and_subject_column_wins(raw):
    ds = load_recordings(raw)  # only .gt.csv files, subject column "sim" in both
    assert [v.subject for v in ds.videos] == ["sim", "sim"]
    assert [v.annotation_file.name for v in ds.videos] == ["p1.gt.csv", "p2.gt.csv"]


def test_user_errors_are_one_clear_message(tmp_path, raw, capsys):
    with pytest.raises(DatasetError, match="found no recordings"):
        load_recordings(tmp_path)
    with pytest.raises(DatasetError, match="does not exist"):
        load_recordings(tmp_path / "nope")
    shutil.copy(raw / "p1.db3", tmp_path / "p1.db3")
    with pytest.raises(DatasetError, match=r"no p1.annotations.csv \(a review\) or p1.gt.csv"):
        load_recordings(tmp_path)
    s = ReviewSession.open(tmp_path / "p1.db3", read_intervals(raw / "p1.gt.csv"))
    s.accept(0)  # the second row stays pending
    with pytest.raises(DatasetError, match=r"1 row\(s\) not reviewed yet"):
        load_recordings(tmp_path)
    annotations_path(tmp_path / "p1.db3").write_text("subject,video,onset\nx,y,1\n")
    assert main(["dataset", "stats", "--root", str(tmp_path), "--dataset", "recordings"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing column(s)" in err[0]


def test_stats_extract_two_loso_folds_and_final_weights(reviewed, tmp_path, capsys):
    assert main(["dataset", "stats", "--root", str(reviewed), "--dataset", "recordings",
                 "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert (st["recordings"], st["intervals"], st["emotions"]["happy"]) == (2, 4, 2)
    cache = tmp_path / "cache"
    assert main(["extract", "--dataset", "recordings", "--root", str(reviewed), "--cache",
                 str(cache), "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["videos"] == 2 and summary["gt_samples"] == 4
    from rt_sfamnet.datasets.cache import FeatureCache

    fc = FeatureCache(cache)
    assert fc.subjects == ["p1", "p2"]
    assert fc.meta["dataset"] == "recordings"
    run = tmp_path / "run"
    from tests.ui.helpers import weights_for_tests

    init = weights_for_tests(tmp_path)  # the shipped weights (or a fresh network)
    assert main(["train", "--cache", str(cache), "--out", str(run), "--steps", "2",
                 "--batch-size", "8", "--no-progress", "--plot-videos", "0",
                 "--init-weights", init, "--final"]) == 0
    capsys.readouterr()
    from rt_sfamnet.weights import load_weights

    model, meta = load_weights(run / "final.safetensors")  # usable by gui/analyze --weights
    assert meta.emotions == 4
    results = json.loads((run / "results.json").read_text())
    assert results["folds"] == ["p1", "p2"] and sorted(results["per_fold"]) == ["p1", "p2"]
    assert all((run / "folds" / f"{s}.safetensors").is_file() for s in ("p1", "p2"))


def test_the_lab_loop_follows_an_edited_review_into_cache_and_folds(reviewed, tmp_path,
                                                                      capsys):
    """Issue 20, with the real flow: extract, train, then reject an interval and add one in
    a review; extract redoes that recording only, and the resumed training keeps no fold
    trained on the old labels."""
    from rt_sfamnet.datasets.cache import FeatureCache, label_rows

    lab = tmp_path / "lab"
    shutil.copytree(reviewed, lab)
    cache, run = tmp_path / "cache", tmp_path / "run"
    extract = ["extract", "--dataset", "recordings", "--root", str(lab), "--cache", str(cache),
               "--no-progress"]
    train = ["train", "--cache", str(cache), "--out", str(run), "--steps", "1", "--batch-size",
             "8", "--no-progress", "--plot-videos", "0"]
    assert main(extract) == 0 and main(train) == 0
    capsys.readouterr()
    s = ReviewSession.open(lab / "p1.db3", reviewer="lab", clock=lambda: FIXED)
    s.reject(0)
    s.add(60, 62, 66, "micro", "sad")
    assert main(extract) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (summary["videos"], summary["skipped"], summary["redone"]) == (1, 1, 1)
    assert summary["changed"][0].startswith("p1/p1: the annotations changed")
    got = FeatureCache(cache).load("p1", "p1").intervals
    want = [r.to_interval() for r in s.rows if r.confirmed]
    assert label_rows(got) == label_rows(want) and [iv.onset for iv in got][-1] == 60
    assert main(train) == 0
    err = capsys.readouterr().err
    assert err.count("changed since (p1/p1)") == 2 and "kept" not in err  # both folds redone
