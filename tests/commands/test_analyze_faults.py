"""``rt-sfamnet analyze`` under a hostile but fair user: signals, two runs into one folder,
unwritable folders, bad numbers and ground truth that does not fit the analysed span."""

from __future__ import annotations

import csv
import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rt_sfamnet.cli import main
from rt_sfamnet.intervals import Interval, write_intervals

REPO = Path(__file__).resolve().parents[2]
CLIP = REPO / "recordings" / "clip.db3"
ENGINE_THREADS = {f"rt-sfamnet-{n}" for n in ("capture", "face", "flow", "inference")}


def rows_of(path: Path) -> list[dict]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _cli() -> list[str]:
    script = Path(sys.executable).parent / "rt-sfamnet"  # .venv/bin/rt-sfamnet
    return [str(script)] if script.exists() else [sys.executable, "-m", "rt_sfamnet.cli"]


def _start(out: Path, weights: Path, source: str = "sim:seed=5,duration=60") -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [*_cli(), "analyze", source, "--out", str(out), "--weights", str(weights),
         "--no-progress", "--device", "cpu", "--realtime"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_rows(proc: subprocess.Popen, out: Path, n: int = 3, timeout: float = 180) -> None:
    """Poll frames.csv until it has ``n`` data rows (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    f = out / "frames.csv"
    while time.monotonic() < deadline:
        lines = f.read_text().splitlines() if f.exists() else []
        if lines and lines[0].startswith("frame,timestamp,") and len(lines) > n:
            return  # this run's file (not a previous run's) with n rows
        if proc.poll() is not None:
            pytest.fail(f"analyze ended early: {proc.communicate()}")
        time.sleep(0.1)
    proc.kill()
    pytest.fail("analyze wrote no rows in time")


def _finish(proc: subprocess.Popen) -> str:
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return err


def assert_consistent(out: Path, status: str) -> dict:
    """summary.json agrees row for row with frames.csv, and events.json with events.csv."""
    summary = json.loads((out / "summary.json").read_text())
    rows = rows_of(out / "frames.csv")
    assert summary["status"] == status
    assert summary["samples_scheduled"] == len(rows)
    scored = [r for r in rows if r["score"] != ""]
    assert summary["frames_analyzed"] == len(scored)
    assert sum(summary["gap_samples"].values()) == len(rows) - len(scored)
    assert summary["gaps"] == _gap_runs(rows)  # the gap column's runs
    assert all(r["latency_ms"] != "" for r in rows)  # every row whole
    frames = [int(r["frame"]) for r in rows]
    assert frames == sorted(set(frames))
    events = json.loads((out / "events.json").read_text())
    assert len(events) == len(rows_of(out / "events.csv")) == summary["events"]["total"]
    assert not list(out.glob(".*.tmp")) and not (out / ".rt-sfamnet.lock").exists()
    return summary


def _stale_run(out: Path) -> None:
    """A finished run of another recording, as left by an earlier analyze."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps({"status": "complete", "source": "other.db3",
                                                  "samples_scheduled": 999}))
    (out / "frames.csv").write_text("frame,score\n" + "".join(f"{i},0.5\n" for i in range(999)))
    (out / "events.csv").write_text("subject,video,onset,apex,offset,type,emotion\n"
                                    "live,other,1,2,3,micro,happy\n")
    (out / "events.json").write_text('[{"type": "micro", "onset": 1}]\n')
    (out / ".summary.json.deadbeef.tmp").write_text("{")  # left by a killed writer
    (out / "notes.txt").write_text("mine")  # not a result file: kept


# ---------------------------------------------------------------- item 1: signals


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_finish_like_ctrl_c(tmp_path, weights_file, sig):
    """kill / timeout / systemd / docker stop: the results so far are flushed, the summary
    says "interrupted" and agrees row for row with frames.csv, exit status 128 + signal; the
    previous run's files in the folder are gone, not mixed with the new partial ones."""
    out = tmp_path / "o"
    _stale_run(out)
    proc = _start(out, weights_file)
    _wait_for_rows(proc, out)
    proc.send_signal(sig)
    err = _finish(proc)
    assert proc.returncode == 128 + sig, err
    assert f"interrupted ({signal.Signals(sig).name})" in err
    assert "Traceback" not in err
    summary = assert_consistent(out, "interrupted")
    assert summary["source"] != "other.db3" and 0 < summary["frames_in"] < 1800
    assert sorted(p.name for p in out.iterdir()) == ["events.csv", "events.json", "frames.csv",
                                                     "notes.txt", "summary.json"]


# ---------------------------------------------------------------- item 2: one run per folder


def test_second_run_into_a_busy_folder_is_refused_and_the_first_is_untouched(
        tmp_path, weights_file, capsys):
    out = tmp_path / "o"
    proc = _start(out, weights_file)
    try:
        _wait_for_rows(proc, out)
        rc = main(["analyze", str(CLIP), "--out", str(out), "--weights", str(weights_file),
                   "--no-progress", "--device", "cpu"])
        err = capsys.readouterr().err
        assert rc == 2
        assert err.count("\n") == 1 and "is in use by another run" in err
        assert f"pid {proc.pid}" in err
        assert not [t for t in threading.enumerate() if t.name in ENGINE_THREADS]
        proc.send_signal(signal.SIGTERM)
    finally:
        err = _finish(proc)
    assert proc.returncode == 143, err
    summary = assert_consistent(out, "interrupted")
    assert "sim" in summary["source"]  # the first run's files only


def test_lock_does_not_outlive_a_killed_run(tmp_path, weights_file):
    """SIGKILL leaves no chance to clean up; the kernel drops the lock with the process, so
    the next run proceeds and replaces the killed run's files whole."""
    out = tmp_path / "o"
    proc = _start(out, weights_file)
    _wait_for_rows(proc, out)
    proc.kill()
    proc.communicate()
    assert (out / ".rt-sfamnet.lock").exists()  # left behind, but not locked
    rc = main(["analyze", str(CLIP), "--out", str(out), "--weights", str(weights_file),
               "--no-progress", "--device", "cpu"])
    assert rc == 0
    summary = assert_consistent(out, "complete")
    assert summary["source"].endswith("clip.db3") and summary["frames_in"] == 60


def test_lock_file_of_a_crashed_holder_is_taken_over(tmp_path):
    from rt_sfamnet.errors import OutputError
    from rt_sfamnet.pipeline.outdir import OutputFolder

    out = tmp_path / "o"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom rt_sfamnet.pipeline.outdir import "
         f"OutputFolder\nf = OutputFolder({str(out)!r}); f.acquire()\nprint('locked', "
         "flush=True)\ntime.sleep(120)"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(OutputError, match=f"in use by another run \\(pid {holder.pid} "):
            OutputFolder(out).acquire()
    finally:
        holder.kill()
        holder.communicate()
    with OutputFolder(out) as folder:  # the dead holder's lock is gone with it
        with pytest.raises(OutputError, match="in use by another run"):
            OutputFolder(out).acquire()  # and ours excludes others, in-process too
        assert folder.lock_path.exists()
    assert not (out / ".rt-sfamnet.lock").exists()


def test_a_finished_folder_is_replaced_whole(tmp_path, weights_file):
    out = tmp_path / "o"
    common = ["--weights", str(weights_file), "--no-progress", "--device", "cpu"]
    assert main(["analyze", "sim:seed=26,duration=3", "--out", str(out), *common]) == 0
    first = assert_consistent(out, "complete")
    (out / "notes.txt").write_text("mine")
    assert main(["analyze", str(CLIP), "--out", str(out), *common]) == 0
    second = assert_consistent(out, "complete")
    assert first["samples_scheduled"] != second["samples_scheduled"]
    assert {r["video"] for r in rows_of(out / "events.csv")} <= {"clip"}
    assert (out / "notes.txt").read_text() == "mine"


# ---------------------------------------------------------------- item 5: unwritable --out


@pytest.mark.parametrize("where", ["under_file", "proc", "read_only"])
def test_unwritable_out_is_one_line_before_any_work(tmp_path, weights_file, capsys,
                                                    monkeypatch, where):
    if where == "under_file":
        (tmp_path / "plain").write_text("x")
        out = tmp_path / "plain" / "o"
    elif where == "proc":
        out = Path("/proc/rt-sfamnet-test/o")
    else:  # a read-only filesystem (CI runs as root: inject the OSError)
        out = tmp_path / "ro" / "o"
        real_mkdir = Path.mkdir

        def mkdir(self, *a, **k):
            if "ro" in self.parts:
                raise OSError(errno.EROFS, "Read-only file system", str(self))
            return real_mkdir(self, *a, **k)

        monkeypatch.setattr(Path, "mkdir", mkdir)
    rc = main(["analyze", "sim:duration=1", "--out", str(out), "--weights", str(weights_file),
               "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and str(out) in err
    assert "cannot create the output folder" in err
    assert not [t for t in threading.enumerate() if t.name in ENGINE_THREADS]


def test_out_folder_that_cannot_be_written_into(tmp_path, weights_file, capsys, monkeypatch):
    """The folder exists but refuses new files (read-only mount, injected)."""
    out = tmp_path / "o"
    out.mkdir()
    real_open = os.open

    def ro_open(path, flags, *a, **k):
        if str(path).startswith(str(out)) and flags & os.O_CREAT:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *a, **k)

    monkeypatch.setattr(os, "open", ro_open)
    rc = main(["analyze", "sim:duration=1", "--out", str(out), "--weights", str(weights_file),
               "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert "cannot write into the output folder (Read-only file system)" in err
    assert list(out.iterdir()) == []


# ---------------------------------------------------------------- item 8 / item 5: bad numbers


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0"])
def test_seconds_must_be_a_positive_finite_number(tmp_path, weights_file, capsys, value):
    rc = main(["analyze", "sim:duration=1", "--out", str(tmp_path / "o"), "--weights",
               str(weights_file), "--no-progress", "--seconds", value])
    err = capsys.readouterr().err
    assert rc == 2 and "seconds must be" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("value", ["nan", "inf", "1e400"])
def test_non_finite_ground_truth_frames_are_one_line(tmp_path, weights_file, capsys, value):
    gt = tmp_path / "gt.csv"
    gt.write_text(f"subject,video,onset,apex,offset,type,emotion\nsim,clip,{value},20,28,micro,\n")
    rc = main(["analyze", str(CLIP), "--out", str(tmp_path / "o"), "--gt", str(gt),
               "--weights", str(weights_file), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "line 2, column 'onset'" in err


# ---------------------------------------------------------------- item 4: ground truth and span


def test_ground_truth_beyond_the_analysed_span_is_not_a_miss(tmp_path, weights_file):
    """--seconds 1 on a 2-s clip: the interval at frames 40-50 was never analysed."""
    gt = tmp_path / "gt.csv"
    write_intervals(gt, [Interval("sim", "clip", 5, 8, 12, "micro", "happy"),
                         Interval("sim", "clip", 24, 30, 36, "micro", "happy"),
                         Interval("sim", "clip", 40, 45, 50, "macro", "")])
    out = tmp_path / "o"
    assert main(["analyze", str(CLIP), "--out", str(out), "--gt", str(gt), "--seconds", "1",
                 "--weights", str(weights_file), "--no-progress", "--device", "cpu"]) == 0
    summary = assert_consistent(out, "complete")
    # the first second is read (frames 0-29) and all of it analysed, on any machine
    assert summary["frames_in"] == 30
    assert [int(r["frame"]) for r in rows_of(out / "frames.csv")] == list(range(0, 23, 2))
    m = summary["metrics"]
    assert m["span"] == [0, 22 + 6]  # the last window's last frame
    assert m["ground_truth_outside_span"] == 1  # the macro-expression at 40-50
    assert m["ground_truth_cut_to_span"] == 1  # 24-36 is scored as 24-28
    assert m["ground_truth_intervals"] == 2
    assert m["macro"]["tp"] + m["macro"]["fn"] == 0
    assert m["micro"]["tp"] + m["micro"]["fn"] == 2


def test_nothing_analysed_means_nothing_missed(tmp_path, weights_file):
    gt = tmp_path / "gt.csv"
    write_intervals(gt, [Interval("sim", "clip", 15, 20, 28, "micro", "happy")])
    out = tmp_path / "o"
    assert main(["analyze", "sim:seed=1,duration=0.1", "--out", str(out), "--gt", str(gt),
                 "--weights", str(weights_file), "--no-progress"]) == 0
    m = json.loads((out / "summary.json").read_text())["metrics"]
    assert m["ground_truth_outside_span"] == 1 and m["overall"]["fn"] == 0


def test_complete_run_scores_the_whole_ground_truth(tmp_path, weights_file):
    out = tmp_path / "o"
    assert main(["analyze", str(CLIP), "--out", str(out), "--weights", str(weights_file),
                 "--no-progress", "--device", "cpu"]) == 0
    m = json.loads((out / "summary.json").read_text())["metrics"]
    assert m["span"] == [0, 59] and m["ground_truth_outside_span"] == 0  # all 60 frames
    assert m["micro"]["tp"] + m["micro"]["fn"] == 1  # the clip's own micro-expression


def _multi_gt(tmp_path) -> Path:
    gt = tmp_path / "gt.csv"
    write_intervals(gt, [Interval("s1", "other", 2, 4, 9, "micro", "happy"),
                         Interval("s1", "other", 30, 35, 50, "macro", ""),
                         Interval("s2", "clip", 15, 20, 28, "micro", "happy")])
    return gt


def test_multi_video_ground_truth_selects_the_source_video(tmp_path, weights_file):
    out = tmp_path / "o"
    assert main(["analyze", str(CLIP), "--out", str(out), "--gt", str(_multi_gt(tmp_path)),
                 "--weights", str(weights_file), "--no-progress", "--device", "cpu"]) == 0
    m = json.loads((out / "summary.json").read_text())["metrics"]
    assert m["ground_truth_intervals"] == 1
    assert m["macro"]["tp"] + m["macro"]["fn"] == 0  # the other video's macro is not a miss
    assert all((r["subject"], r["video"]) == ("s2", "clip") for r in rows_of(out / "events.csv"))


def test_multi_video_ground_truth_without_a_match_is_refused(tmp_path, weights_file, capsys):
    gt = _multi_gt(tmp_path)
    common = ["--weights", str(weights_file), "--no-progress", "--device", "cpu"]
    rc = main(["analyze", "sim:seed=1,duration=1", "--out", str(tmp_path / "o"), "--gt", str(gt),
               *common])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert "holds 2 videos (s1/other, s2/clip)" in err and "--gt-video" in err
    assert not (tmp_path / "o").exists()  # refused before any work
    # naming it explicitly works
    out = tmp_path / "o2"
    assert main(["analyze", "sim:seed=1,duration=1", "--out", str(out), "--gt", str(gt),
                 "--gt-video", "s1/other", *common]) == 0
    m = json.loads((out / "summary.json").read_text())["metrics"]
    # the 1-s source has frames 0-29: the macro at 30-50 is past its end, outside, not missed
    assert (m["ground_truth_intervals"], m["ground_truth_outside_span"]) == (1, 1)


# ---------------------------------------------------------------- item 3: holes in recordings


def _gap_runs(rows: list[dict]) -> list[dict]:
    """The summary's gap entries recomputed from frames.csv."""
    runs: list[dict] = []
    prev = ""
    for r in rows:
        g = r["gap"]
        if g and g == prev:
            runs[-1]["last"] = int(r["frame"])
            runs[-1]["samples"] += 1
        elif g:
            runs.append({"reason": g, "first": int(r["frame"]), "last": int(r["frame"]),
                         "samples": 1})
        prev = g
    return runs


def test_lost_colour_frames_are_recorded_gaps_and_frames_keep_their_seconds(tmp_path,
                                                                           weights_file):
    from tests.recording_edits import holed_copy

    rec = holed_copy(CLIP, tmp_path / "clip.db3", "Color", range(20, 32))  # 12 frames lost
    out = tmp_path / "o"
    assert main(["analyze", str(rec), "--out", str(out), "--weights", str(weights_file),
                 "--no-progress", "--device", "cpu"]) == 0
    summary = assert_consistent(out, "complete")
    rows = rows_of(out / "frames.csv")
    assert summary["frames_in"] == 48
    assert [int(r["frame"]) for r in rows] == list(range(0, 54, 2))  # the schedule goes on
    t = [float(r["timestamp"]) for r in rows if r["timestamp"]]
    f = [int(r["frame"]) for r in rows if r["timestamp"]]
    assert all(abs((ti - t[0]) - (fi - f[0]) / 30.0) < 1e-3 for ti, fi in zip(t, f, strict=True))
    # windows touching frames 20..31 have no score and say why
    assert summary["gaps"] == _gap_runs(rows) == [
        {"reason": "missing_color", "first": 14, "last": 30, "samples": 9}]
    assert summary["gap_samples"] == {"missing_color": 9}
    for e in json.loads((out / "events.json").read_text()):  # events in frames of the clip
        assert e["start_s"] == pytest.approx(e["onset"] / 30.0, abs=1e-3)


def test_missing_depth_is_a_recorded_gap_and_never_reused(tmp_path, weights_file):
    from tests.recording_edits import holed_copy

    rec = holed_copy(CLIP, tmp_path / "clip.db3", "Depth", range(30, 60))  # second half
    out = tmp_path / "o"
    assert main(["analyze", str(rec), "--out", str(out), "--weights", str(weights_file),
                 "--no-progress", "--device", "cpu"]) == 0
    summary = assert_consistent(out, "complete")
    rows = rows_of(out / "frames.csv")
    assert summary["frames_in"] == 60
    # every window whose first or last frame is at 30 or later has no depth: a gap
    expected = ["missing_depth" if int(r["frame"]) + 6 >= 30 else "" for r in rows]
    got = [r["gap"] if r["gap"] in ("", "missing_depth") else "" for r in rows]
    assert got == expected
    assert all(r["score"] == "" for r in rows if r["gap"])
    assert summary["gaps"] == _gap_runs(rows)
    assert summary["gap_samples"]["missing_depth"] == expected.count("missing_depth") == 15
