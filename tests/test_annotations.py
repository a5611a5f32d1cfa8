"""The annotation file and the review editor (no Qt): statuses, undo/redo, autosave, errors."""

from __future__ import annotations

import csv
import os

import pytest

from rt_sfamnet.annotations import (
    ReviewSession,
    Row,
    annotations_path,
    confirmed_intervals,
    read_annotations,
    read_interval_file,
    write_annotations,
)
from rt_sfamnet.errors import InputFileError, OutputError
from rt_sfamnet.intervals import Interval, write_intervals

HEADER = ("subject,video,onset,apex,offset,type,emotion,au,confidence,status,origin,reviewer,"
          "reviewed_at")


def _events():
    return [Interval("sim", "x", 30, 35, 40, "micro", "positive", {"confidence": "0.9"}),
            Interval("sim", "x", 10, 14, 20, "micro", "others", {"confidence": "0.7"}),
            Interval("sim", "x", 60, 70, 100, "macro", "", {"confidence": "0.6"}),
            Interval("sim", "x", 30, 35, 40, "micro", "positive", {"confidence": "0.9"})]


def _session(tmp_path, **kw):
    rec = tmp_path / "s01.db3"
    clock = iter(f"2026-01-01T00:00:{s:02d}+00:00" for s in range(60))
    return ReviewSession.open(rec, _events(), reviewer="ann", clock=lambda: next(clock), **kw)


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_path_beside_the_recording():
    assert annotations_path("/data/s01.db3").as_posix() == "/data/s01.annotations.csv"
    assert annotations_path("rec.bag").name == "rec.annotations.csv"


def test_open_makes_pending_rows_sorted_without_repeats_subject_from_stem(tmp_path):
    s = _session(tmp_path)
    assert [(r.onset, r.type, r.status, r.origin, r.subject, r.video) for r in s.rows] == [
        (10, "micro", "pending", "spotted", "s01", "s01"),
        (30, "micro", "pending", "spotted", "s01", "s01"),
        (60, "macro", "pending", "spotted", "s01", "s01")]
    assert s.rows[0].confidence == "0.7"
    assert not s.path.exists()  # nothing written before the first change


def test_accept_reject_edit_add_save_every_change_and_restore(tmp_path):
    s = _session(tmp_path)
    assert s.accept(0) == 0
    assert s.reject(2) == 2
    i = s.nudge(1, "onset", -2)
    assert s.rows[i].onset == 28 and s.rows[i].status == "edited"
    i = s.edit(i, emotion="happy", au="AU6+AU12", type="micro")
    assert s.add(80, 84, 90, "micro", "surprise") == 3
    rows = _rows(s.path)
    assert [(r["onset"], r["apex"], r["offset"], r["type"], r["emotion"], r["au"], r["status"],
             r["origin"], r["reviewer"], r["reviewed_at"][-11:]) for r in rows] == [
        ("10", "14", "20", "micro", "others", "", "accepted", "spotted", "ann", "00:00+00:00"),
        ("28", "35", "40", "micro", "happy", "AU6+AU12", "edited", "spotted", "ann",
         "00:03+00:00"),
        ("60", "70", "100", "macro", "", "", "rejected", "spotted", "ann", "00:01+00:00"),
        ("80", "84", "90", "micro", "surprise", "", "added", "manual", "ann", "00:04+00:00")]
    assert list(rows[0]) == HEADER.split(",")
    # confirmed intervals: accepted, edited, added (not the rejected one)
    assert [(iv.onset, iv.type) for iv in confirmed_intervals(s.rows)] == [
        (10, "micro"), (28, "micro"), (80, "micro")]
    # re-opening restores the review (events are ignored once a file exists)
    back = ReviewSession.open(tmp_path / "s01.db3", [], reviewer="ann")
    assert back.rows == s.rows
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_accept_keeps_edited_and_added(tmp_path):
    s = _session(tmp_path)
    i = s.accept(s.edit(0, offset=22))
    assert s.rows[i].status == "edited"
    j = s.accept(s.add(200, None, 210))
    assert s.rows[j].status == "added"
    k = s.reject(j)
    assert s.rows[k].status == "rejected"
    k = s.accept(k)
    assert s.rows[k].status == "added"


def test_undo_redo_restore_rows_and_the_file(tmp_path):
    s = _session(tmp_path)
    start = list(s.rows)
    s.accept(0)
    s.nudge(0, "offset", 3)
    s.add(5, 6, 8)
    assert len(s) == 4 and s.can_undo and not s.can_redo
    assert s.undo() == "add" and len(s) == 3
    assert s.undo() == "edit" and s.rows[0].offset == 20 and s.rows[0].status == "accepted"
    assert [r.status for r in read_annotations(s.path)] == ["accepted", "pending", "pending"]
    assert s.redo() == "edit" and s.rows[0].offset == 23
    assert s.undo() == "edit" and s.undo() == "accept" and s.rows == start
    assert s.undo() is None
    assert s.redo() == "accept"
    s.reject(1)  # a new change clears the redo stack
    assert not s.can_redo and s.redo() is None


def test_nudges_keep_the_bounds_ordered(tmp_path):
    s = _session(tmp_path)
    i = s.nudge(0, "onset", 100)  # onset stops at the apex
    assert (s.rows[i].onset, s.rows[i].apex) == (14, 14)
    i = s.nudge(i, "apex", -100)
    assert s.rows[i].apex == 14
    i = s.nudge(i, "offset", -100)
    assert s.rows[i].offset == 14
    with pytest.raises(ValueError, match="onset <= apex <= offset"):
        s.edit(i, onset=15)
    with pytest.raises(ValueError, match="onset, apex or offset"):
        s.nudge(i, "peak", 1)
    with pytest.raises(IndexError):
        s.accept(9)


def test_set_subject_changes_every_row_undoably(tmp_path):
    s = _session(tmp_path)
    s.set_subject("P07")
    assert {r.subject for r in read_annotations(s.path)} == {"P07"}
    s.undo()
    assert {r.subject for r in s.rows} == {"s01"}


@pytest.mark.parametrize("body, message", [
    ("s,v,1,2,3,micro,happy,,,maybe,spotted,a,t", r"line 2, column 'status'.*found 'maybe'"),
    ("s,v,1,2,3,micro,happy,,,accepted,robot,a,t", r"line 2, column 'origin'"),
    ("s,v,5,9,7,micro,happy,,,accepted,spotted,a,t", r"line 2, column 'apex'"),
    ("s,v,1,2,x,micro,happy,,,accepted,spotted,a,t", r"line 2, column 'offset'"),
])
def test_malformed_annotation_files_are_one_clear_error(tmp_path, body, message):
    p = tmp_path / "r.annotations.csv"
    p.write_text(HEADER + "\n" + body + "\n")
    with pytest.raises(InputFileError, match=message):
        read_annotations(p)
    with pytest.raises(InputFileError, match=message):
        ReviewSession.open(tmp_path / "r.db3")


def test_an_interval_file_without_status_is_not_an_annotation_file(tmp_path):
    p = tmp_path / "r.annotations.csv"
    write_intervals(p, [Interval("s", "v", 1, 2, 3, "micro", "happy")])
    with pytest.raises(InputFileError, match="no 'status' column"):
        read_annotations(p)


def test_read_interval_file_keeps_confirmed_rows_only(tmp_path):
    p = tmp_path / "a.annotations.csv"
    rows = [Row("s", "v", 1, 2, 3, "micro", "happy", status=st) for st in
            ("accepted", "rejected", "pending", "edited", "added")]
    write_annotations(p, rows)
    ivs, is_ann = read_interval_file(p)
    assert is_ann and len(ivs) == 3
    plain = tmp_path / "gt.csv"
    write_intervals(plain, [Interval("s", "v", 1, 2, 3, "micro", "happy")])
    assert read_interval_file(plain)[1] is False


def test_unwritable_target_is_an_output_error_and_the_rows_stay(tmp_path):
    s = ReviewSession.open(tmp_path / "s.db3", _events(), reviewer="a")
    s.path.mkdir()  # a folder where the file should go (works as root too)
    with pytest.raises(OutputError, match="cannot write the interval file .*it is a folder"):
        s.accept(0)
    assert s.rows[0].status == "accepted"  # kept in memory, saved with the next change
    s.path.rmdir()
    s.reject(1)
    assert [r.status for r in read_annotations(s.path)] == ["accepted", "rejected", "pending"]


def test_import_events_adds_new_spotted_rows_once(tmp_path):
    s = _session(tmp_path)
    s.accept(0)
    more = [Interval("q", "q", 10, 14, 20, "micro", "sad"),  # already there: kept as reviewed
            Interval("q", "q", 120, 125, 130, "micro", "fear", {"confidence": "0.4"})]
    assert s.import_events(more) == 1
    assert [(r.onset, r.status, r.subject) for r in s.rows] == [
        (10, "accepted", "s01"), (30, "pending", "s01"), (60, "pending", "s01"),
        (120, "pending", "s01")]
    assert s.import_events(more) == 0
    s.undo()
    assert len(s) == 3


def test_a_review_with_every_row_removed_is_still_a_review(tmp_path):
    from rt_sfamnet.annotations import read_annotations, read_ground_truth, write_annotations

    p = tmp_path / "s01.annotations.csv"
    write_annotations(p, [])
    assert read_annotations(p) == [] and read_ground_truth(p) == []
    assert p.read_text().splitlines()[0].endswith("status,origin,reviewer,reviewed_at")
