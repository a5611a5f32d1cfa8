"""The results table: columns defined once, read back from a folder, every writer agrees."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from rt_sfamnet.intervals import COLUMNS as INTERVAL_COLUMNS
from rt_sfamnet.intervals import Interval, read_intervals
from rt_sfamnet.pipeline import FrameResult
from rt_sfamnet.pipeline.results import (
    EVENT_COLUMNS,
    FRAME_COLUMNS,
    GAP_COLUMN,
    GAP_FIELDS,
    Column,
    GapLog,
    ResultsTable,
    frame_columns,
    subject_video,
    video_name,
)
from rt_sfamnet.pipeline.writers import EventWriter, FrameCsvWriter, write_json_atomic
from rt_sfamnet.spotting import SpottedInterval

NAMES = ("negative", "positive", "neutral")


def _results() -> list[FrameResult]:
    out = []
    for i, f in enumerate(range(0, 20, 2)):
        gap = "no_face" if f in (6, 8) else ("missing_depth" if f == 14 else "")
        scored = not gap
        out.append(FrameResult(
            frame=f, timestamp=1.7e9 + f / 30.0, face_found=gap != "no_face",
            score=0.1 * i if scored else None, micro_smoothed=None, macro_smoothed=None,
            probs=np.array([0.2, 0.7, 0.1], np.float32) if scored else None,
            label="positive" if scored else None, latency_ms=40.0 + i, depth_ok=f != 14,
            reason=gap, box=None if gap == "no_face" else (10 + i, 20, 96)))
    return out


CURVES = {"micro": [(f, 0.01 * f) for f in range(0, 20, 2)],
          "macro": [(f, 0.02 * f) for f in range(0, 16, 2)]}  # the last two not final
EVENTS = [SpottedInterval("micro", 2, 4, 12, "positive", 0.6543219),
          SpottedInterval("macro", 0, 8, 18, "", 0.7)]


@pytest.fixture()
def folder(tmp_path):
    """An analysis folder as the runner writes it."""
    fw = FrameCsvWriter(tmp_path / "frames.csv", NAMES, source="/data/x.db3")
    fw.add_results(_results())
    fw.add_curves(CURVES)
    fw.close()
    ew = EventWriter(tmp_path / "events.csv", tmp_path / "events.json", "s1", "x", 30.0)
    ew.add(EVENTS)
    ew.close()
    write_json_atomic(tmp_path / "summary.json", {"class_names": list(NAMES), "fps": 30.0,
                                                  "gaps": [dict(e) for e in fw.gaps.entries]})
    return tmp_path


def test_every_column_is_defined_once_with_a_type_and_a_description():
    for cols in (FRAME_COLUMNS, EVENT_COLUMNS, GAP_FIELDS):
        names = [c.name for c in cols]
        assert len(names) == len(set(names))
        assert all(c.dtype in ("int", "float", "str", "bool") and len(c.description) > 10
                   for c in cols)
    assert tuple(c.name for c in EVENT_COLUMNS[:7]) == INTERVAL_COLUMNS  # an interval file
    names = [c.name for c in frame_columns(NAMES)]
    assert names[8] == GAP_COLUMN and names[12:15] == ["prob_negative", "prob_positive",
                                                       "prob_neutral"]
    with pytest.raises(ValueError, match="dtype"):
        Column("x", "complex", "a column of an unknown type")


def test_the_writers_headers_are_the_tables_columns(folder):
    with (folder / "frames.csv").open() as fh:
        assert next(csv.reader(fh)) == [c.name for c in frame_columns(NAMES)]
    with (folder / "events.csv").open() as fh:
        assert next(csv.reader(fh)) == [c.name for c in EVENT_COLUMNS]
    events = json.loads((folder / "events.json").read_text())
    assert list(events[0]) == [c.name for c in EVENT_COLUMNS[2:]]


def test_from_dir_reads_back_what_was_written(folder):
    table = ResultsTable.from_dir(folder)
    assert table.class_names == NAMES and table.fps == 30.0 and len(table.frames) == 10
    r = table.frames[1]
    assert (r["frame"], r["face_x0"], r["face_size"], r["depth_ok"], r[GAP_COLUMN]) == (
        2, 11, 96, True, "")
    assert r["timestamp"] == pytest.approx(1.7e9 + 2 / 30.0, abs=1e-6)  # microseconds kept
    assert r["score"] == pytest.approx(0.1) and r["prob_positive"] == pytest.approx(0.7)
    assert table.frames[3]["score"] is None and table.frames[3]["face_x0"] is None
    assert table.frames[9]["macro_smoothed"] is None  # not final when the run ended
    assert table.frames[7]["depth_ok"] is False
    # the gap runs agree with the summary's, which the writer logged while writing
    summary = json.loads((folder / "summary.json").read_text())
    assert table.gaps == summary["gaps"] == [
        {"reason": "no_face", "first": 6, "last": 8, "samples": 2},
        {"reason": "missing_depth", "first": 14, "last": 14, "samples": 1}]
    assert [(e["type"], e["onset"], e["apex"], e["emotion"]) for e in table.events] == [
        ("micro", 2, 4, "positive"), ("macro", 0, 8, "")]
    assert table.events[0]["confidence"] == pytest.approx(0.654322)


def test_dataframes_have_the_columns_dtypes(folder):
    table = ResultsTable.from_dir(folder)
    fr, ev = table.frames_df(), table.events_df()
    assert list(fr.columns) == [c.name for c in table.frame_columns]
    assert str(fr["frame"].dtype) == "int64" and str(fr["face_x0"].dtype) == "Int64"
    assert fr["face_found"].dtype == bool and fr["depth_ok"].dtype == bool
    assert list(fr[GAP_COLUMN]) == ["", "", "", "no_face", "no_face", "", "", "missing_depth",
                                    "", ""]
    assert int(fr["face_x0"].isna().sum()) == 2 and int(fr["score"].isna().sum()) == 3
    assert list(ev.columns) == [c.name for c in EVENT_COLUMNS]
    assert list(ev["apex"]) == [4, 8] and list(ev["end_s"]) == [pytest.approx(13 / 30, abs=1e-4),
                                                                 pytest.approx(19 / 30, abs=1e-4)]


def test_in_memory_table_equals_the_folder(folder):
    """The app's export path (rows from engine results) and the runner's files give one table."""
    mem = ResultsTable.from_history(_results(), CURVES, EVENTS, NAMES, 30.0, "s1", "x",
                                    source="/data/x.db3")
    disk = ResultsTable.from_dir(folder)
    cols = mem.frame_columns
    for a, b in zip(mem.frames_json(), disk.frames_json(), strict=True):
        for c in cols:
            if c.dtype == "float" and a[c.name] is not None:
                assert b[c.name] == pytest.approx(a[c.name], rel=1e-5, abs=1e-6), c.name
            else:
                assert a[c.name] == b[c.name], c.name
    assert mem.gaps == disk.gaps
    assert [(e["onset"], e["type"]) for e in mem.events_json()] == [
        (e["onset"], e["type"]) for e in disk.events_json()]
    ivs = read_intervals(folder / "events.csv")
    assert [(i.subject, i.video, i.onset, i.offset) for i in ivs] == [
        ("s1", "x", 2, 12), ("s1", "x", 0, 18)]


def test_gap_log_of_rows_counts_runs():
    log = GapLog.of_rows([{"frame": f, GAP_COLUMN: g} for f, g in
                          [(0, ""), (2, "dropped"), (4, "dropped"), (6, "no_face"), (8, ""),
                           (10, "dropped")]])
    assert [(e["reason"], e["first"], e["last"]) for e in log.entries] == [
        ("dropped", 2, 4), ("no_face", 6, 6), ("dropped", 10, 10)]
    assert log.counts() == {"dropped": 3, "no_face": 1}


def test_subject_and_video_naming_rule():
    truth = [Interval("s3", "v2", 1, 2, 3, "micro", "")]
    assert subject_video("recordings/clip.db3", truth) == ("s3", "v2")
    assert subject_video("recordings/clip.db3") == ("live", "clip")
    assert subject_video("camera") == ("live", "camera")
    assert subject_video("/data/frames/", None, "given") == ("live", "given")
    assert video_name("/data/frames/") == "frames" and video_name("") == "stream"


def test_from_dir_of_a_folder_that_is_not_an_analysis_is_one_clear_error(folder, tmp_path):
    from rt_sfamnet.errors import InputFileError

    with pytest.raises(InputFileError, match="found no summary.json"):
        ResultsTable.from_dir(tmp_path / "empty")
    with (folder / "frames.csv").open("a") as fh:
        fh.write("40,1.0,x\n")  # a cut row
    with pytest.raises(InputFileError, match="frames.csv line 12: 3 cells"):
        ResultsTable.from_dir(folder)
