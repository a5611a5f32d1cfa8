"""``analyze`` never loses a recording and reads ground truth as ``evaluate`` does (issue 20):
``--record`` onto an existing file or the source, a review as ``--gt``, ground truth past
the end of the recording, ``--gt-video`` without ``--gt``."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from rt_sfamnet.annotations import Row, write_annotations
from rt_sfamnet.cli import main
from rt_sfamnet.errors import RecordingError
from rt_sfamnet.sources.realsense.tee import check_record_target

REPO = Path(__file__).resolve().parents[2]
CLIP = REPO / "recordings" / "clip.db3"  # 60 frames, one micro-expression at 15-28


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.fixture()
def own(tmp_path) -> Path:
    p = tmp_path / "self.db3"
    shutil.copy(CLIP, p)
    return p


def _record_args(source, target, out, weights, *extra):
    return ["analyze", str(source), "--record", str(target), "--out", str(out), "--weights",
            str(weights), "--no-progress", "--device", "cpu", *extra]


@pytest.mark.parametrize("how", ["same", "symlink", "relative", "hardlink"])
@pytest.mark.parametrize("overwrite", [False, True])
def test_recording_onto_the_source_is_refused_always(own, tmp_path, weights_file, capsys,
                                                     monkeypatch, how, overwrite):
    before = sha(own)
    target = {"same": lambda: own,
              "symlink": lambda: (tmp_path / "link.db3").symlink_to(own) or tmp_path / "link.db3",
              "relative": lambda: Path("sub/../self.db3"),
              "hardlink": lambda: os.link(own, tmp_path / "hard.db3") or tmp_path / "hard.db3",
              }[how]()
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "o"
    rc = main(_record_args(own, target, out, weights_file,
                           *(["--overwrite"] if overwrite else [])))
    line = one_line(capsys)
    assert rc == 2 and "it is the recording being read" in line
    assert sha(own) == before and not out.exists()  # refused before any work


def test_an_existing_file_needs_overwrite_and_then_is_replaced(own, tmp_path, weights_file,
                                                               capsys):
    other = tmp_path / "other.db3"
    shutil.copy(CLIP, other)
    (tmp_path / "other.annotations.csv").write_text("subject,video\n")
    before = sha(other)
    out = tmp_path / "o"
    rc = main(_record_args(own, other, out, weights_file, "--seconds", "0.5"))
    line = one_line(capsys)
    assert rc == 2 and "the file exists" in line and "--overwrite" in line
    assert "its review other.annotations.csv would then describe another recording" in line
    assert sha(other) == before and not out.exists()
    assert main(_record_args(own, other, out, weights_file, "--seconds", "0.5",
                             "--overwrite", "--json")) == 0
    summary = json.loads(capsys.readouterr().out)
    n = summary["recording"]["frames"]
    # the tee also stores the frame --seconds read and left out: one more than analysed
    assert 0 < summary["frames_in"] <= n <= summary["frames_in"] + 1 < 60
    assert sha(other) != before
    from rt_sfamnet.sources.realsense.playback import PlaybackSource

    with PlaybackSource(other, backend="rosbags") as src:
        assert src.frame_count == n  # the new recording, not the clip


def test_overwrite_without_record_and_gt_video_without_gt_are_refused(tmp_path, weights_file,
                                                                      capsys):
    base = ["analyze", str(CLIP), "--out", str(tmp_path / "o"), "--weights", str(weights_file)]
    assert main(base + ["--overwrite"]) == 2
    assert "give --record FILE too" in one_line(capsys)
    assert main(base + ["--gt-video", "s2/clip"]) == 2
    assert "no --gt was given" in one_line(capsys)
    assert not (tmp_path / "o").exists()


def test_record_target_rules_in_the_library(own, tmp_path):
    with pytest.raises(RecordingError, match="being read"):
        check_record_target(own, own, overwrite=True)
    with pytest.raises(RecordingError, match="the file exists"):
        check_record_target(own, tmp_path / "elsewhere.db3")
    assert check_record_target(own, tmp_path / "elsewhere.db3", overwrite=True) == own
    assert check_record_target(tmp_path / "new.db3", own) == tmp_path / "new.db3"
    (tmp_path / "d.db3").mkdir()
    with pytest.raises(RecordingError, match="is a folder"):
        check_record_target(tmp_path / "d.db3", own, overwrite=True)


def _review(path: Path) -> None:
    """The clip's micro-expression accepted; a rejected and a pending row; an added
    macro-expression past the end of the 60-frame clip."""
    write_annotations(path, [
        Row("s2", "clip", 15, 20, 28, "micro", "happy", status="accepted"),
        Row("s2", "clip", 40, 42, 45, "micro", "sad", status="rejected"),
        Row("s2", "clip", 2, 4, 9, "micro", "fear", status="pending"),
        Row("s2", "clip", 70, 80, 95, "macro", "", status="added", origin="manual"),
    ])


def test_a_review_as_gt_means_what_evaluate_means_and_past_the_end_is_outside(
        tmp_path, weights_file, capsys):
    review = tmp_path / "clip.annotations.csv"
    _review(review)
    out = tmp_path / "o"
    assert main(["analyze", str(CLIP), "--out", str(out), "--gt", str(review), "--weights",
                 str(weights_file), "--no-progress", "--device", "cpu"]) == 0
    capsys.readouterr()
    m = json.loads((out / "summary.json").read_text())["metrics"]
    assert m["span"] == [0, 59]  # the whole clip was analysed: frames 0..59
    assert m["ground_truth_intervals"] == 1  # rejected and pending rows are not ground truth
    assert m["ground_truth_outside_span"] == 1  # the macro at 70-95, after the last frame
    assert m["macro"]["fn"] == 0  # not a miss
    assert m["micro"]["tp"] + m["micro"]["fn"] == 1
    assert main(["evaluate", "--gt", str(review), "--pred", str(out / "events.csv"),
                 "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    # evaluate reads the same rows: the same micro ground truth (it has no span to cut to)
    assert ev["micro"]["tp"] + ev["micro"]["fn"] == 1
    assert (ev["micro"]["tp"], ev["micro"]["fp"]) == (m["micro"]["tp"], m["micro"]["fp"])
    assert ev["macro"]["tp"] + ev["macro"]["fn"] == 1


def test_a_failed_recording_is_written_in_the_summary_and_is_one_error_line(
        own, tmp_path, weights_file, capsys, monkeypatch):
    """The analysis finishes; the recorder's failure is one error line, a non-zero exit and
    ``summary.json["recording"]["error"]`` (not a summary that looks like a good recording)."""
    from rt_sfamnet.sources.realsense import recorder

    def failing(frames, path, fps, compress):
        for i, _frame in enumerate(frames):
            if i == 3:
                raise RecordingError(f"cannot write the recording {path}: No space left on device")
        return 0

    monkeypatch.setattr(recorder, "write_recording", failing)
    target, out = tmp_path / "new.db3", tmp_path / "out"
    rc = main(_record_args(own, target, out, weights_file, "--seconds", "0.5"))
    line = one_line(capsys)
    assert rc != 0 and "No space left on device" in line and str(target) in line
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["frames_in"] > 3  # the analysis ran
    rec = summary["recording"]
    assert rec["path"] == str(target.resolve()) and "No space left on device" in rec["error"]
    assert not target.exists()
    # a good recording says error None
    monkeypatch.undo()
    rc = main(_record_args(own, target, tmp_path / "ok", weights_file, "--seconds", "0.5"))
    assert rc == 0 and target.is_file()
    assert json.loads((tmp_path / "ok" / "summary.json").read_text())["recording"]["error"] is None
