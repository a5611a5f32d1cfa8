"""``rt-sfamnet analyze`` through the CLI, on the real simulator and the test recording."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rt_sfamnet.cli import main
from rt_sfamnet.intervals import Interval, read_intervals, write_intervals

REPO = Path(__file__).resolve().parents[2]
SUMMARY_KEYS = {"frames_in", "frames_analyzed", "frames_dropped", "input_fps", "analyzed_per_s",
                "latency_ms_p50", "latency_ms_p95", "backend", "events"}


def read_frames(path: Path) -> list[dict]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_analyze_simulation_writes_every_file(tmp_path, weights_file, capsys):
    out = tmp_path / "run"
    # seed 26: its 2-s script holds a micro-expression, so the summary has metrics
    rc = main(["analyze", "sim:seed=26,duration=2", "--out", str(out), "--json",
               "--weights", str(weights_file), "--no-progress", "--device", "cpu"])
    assert rc == 0
    printed = json.loads(capsys.readouterr().out)
    summary = json.loads((out / "summary.json").read_text())
    assert printed == summary
    assert SUMMARY_KEYS <= set(summary)
    assert summary["status"] == "complete" and summary["error"] is None
    assert summary["frames_in"] == 60 and summary["backend"] == "cpu"
    assert summary["frames_dropped"] == 0 and summary["samples_dropped"] == 0
    rows = read_frames(out / "frames.csv")
    assert [int(r["frame"]) for r in rows] == list(range(0, 60 - 6, 2))
    assert summary["samples_scheduled"] == len(rows)
    scored = [r for r in rows if r["score"] != ""]
    assert len(scored) == summary["frames_analyzed"]
    assert summary["latency_ms_p50"] > 0 and summary["latency_ms_p95"] >= summary["latency_ms_p50"]
    assert summary["input_fps"] > 0 and summary["analyzed_per_s"] > 0
    for r in scored:
        probs = [float(r[f"prob_{c}"]) for c in summary["class_names"]]
        assert sum(probs) == pytest.approx(1.0, abs=1e-3)
        assert r["argmax_class"] in summary["class_names"]
        assert r["micro_smoothed"] != "" and r["macro_smoothed"] != ""
    # the simulator knows its ground truth: MEGC metrics are in the summary
    m = summary["metrics"]
    assert m["protocol"] == "megc"
    for part in ("micro", "macro", "overall"):
        assert set(m[part]) >= {"tp", "fp", "fn", "precision", "recall", "f1"}
    assert {"uf1", "uar", "f1", "strs"} <= set(m["analysis"])
    events = json.loads((out / "events.json").read_text())
    assert isinstance(events, list) and summary["events"]["total"] == len(events)
    back = read_intervals(out / "events.csv")
    assert len(back) == len(events)
    for iv, ev in zip(back, events, strict=True):
        assert (iv.onset, iv.offset, iv.type) == (ev["onset"], ev["offset"], ev["type"])
        assert ev["end_s"] == pytest.approx((ev["offset"] + 1) / 30.0, abs=1e-3)


def test_analyze_with_a_ground_truth_file(tmp_path, weights_file):
    gt = tmp_path / "gt.csv"
    write_intervals(gt, [Interval("s1", "v1", 20, 26, 34, "micro", "positive"),
                         Interval("s1", "v1", 40, 50, 70, "macro", "")])
    out = tmp_path / "run"  # --gt replaces the recording's own ground truth
    rc = main(["analyze", str(_clip()), "--out", str(out), "--gt", str(gt),
               "--weights", str(weights_file), "--no-progress", "--device", "cpu"])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    m = summary["metrics"]
    assert m["ground_truth_intervals"] == 2
    # every true interval is a TP or a FN
    assert m["micro"]["tp"] + m["micro"]["fn"] == 1
    assert m["macro"]["tp"] + m["macro"]["fn"] == 1
    back = read_intervals(out / "events.csv")
    assert all((iv.subject, iv.video) == ("s1", "v1") for iv in back)


def test_analyze_recording(tmp_path, weights_file, clip_path):
    out = tmp_path / "rec"
    rc = main(["analyze", str(clip_path), "--out", str(out), "--weights", str(weights_file),
               "--no-progress", "--device", "cpu"])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    from rt_sfamnet.sources.realsense import PlaybackSource

    with PlaybackSource(clip_path) as src:
        n = src.frame_count
        has_gt = src.ground_truth is not None
    assert summary["frames_in"] == n and summary["status"] == "complete"
    rows = read_frames(out / "frames.csv")
    assert [int(r["frame"]) for r in rows] == list(range(0, n - 6, 2))
    assert ("metrics" in summary) == has_gt


def test_analyze_errors_are_clear(tmp_path, weights_file, capsys):
    rc = main(["analyze", str(tmp_path / "missing.db3"), "--out", str(tmp_path / "o"),
               "--weights", str(weights_file), "--no-progress"])
    assert rc == 2
    assert "missing.db3" in capsys.readouterr().err
    rc = main(["analyze", "sim:duration=1", "--out", str(tmp_path / "o"),
               "--weights", str(tmp_path / "nope.safetensors"), "--no-progress"])
    assert rc == 2
    assert "nope.safetensors" in capsys.readouterr().err


def test_unwritable_output_is_a_clear_error_and_stops_the_engine(tmp_path, weights_file, capsys):
    import threading

    out = tmp_path / "o"
    (out / "events.csv").mkdir(parents=True)  # a folder where a results file must go
    rc = main(["analyze", "sim:duration=1", "--out", str(out), "--weights", str(weights_file),
               "--no-progress"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "cannot write the results" in err and "events.csv" in err
    engine_threads = {f"rt-sfamnet-{n}" for n in ("capture", "face", "flow", "inference")}
    alive = [t.name for t in threading.enumerate() if t.name in engine_threads]
    assert alive == []


def test_summary_of_a_run_without_any_scored_window(tmp_path, weights_file, capsys):
    # 3 frames: shorter than one flow window, so there is no latency to report
    out = tmp_path / "short"
    rc = main(["analyze", "sim:duration=0.1", "--out", str(out), "--weights", str(weights_file),
               "--no-progress"])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames_analyzed"] == 0 and summary["latency_ms_p50"] is None
    assert "latency p50 n/a / p95 n/a" in capsys.readouterr().out


def test_interrupted_analysis_leaves_valid_files(tmp_path, weights_file):
    """Ctrl-C (SIGINT) mid-run: exit 130 and complete, parseable files."""
    out = tmp_path / "int"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "rt_sfamnet.cli", "analyze", "sim:seed=5,duration=30",
         "--out", str(out), "--weights", str(weights_file), "--no-progress", "--device", "cpu"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            f = out / "frames.csv"
            if f.exists() and len(f.read_text().splitlines()) > 5:
                break
            if proc.poll() is not None:
                pytest.fail(f"analyze ended early: {proc.communicate()}")
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert 0 < summary["frames_in"] < 900
    rows = read_frames(out / "frames.csv")
    assert len(rows) == summary["samples_scheduled"] > 0
    assert all(r["latency_ms"] != "" for r in rows)  # every row is whole
    assert isinstance(json.loads((out / "events.json").read_text()), list)


@pytest.fixture(scope="module")
def clip_path() -> Path:
    for name in ("clip.db3", "clip.bag", "demo.db3"):
        p = REPO / "recordings" / name
        if p.exists():
            return p
    pytest.skip("no test recording in recordings/")


def test_analyze_uses_the_spotting_and_clamp_the_weights_were_evaluated_with(tmp_path):
    import torch

    from rt_sfamnet.model import SFAMNet
    from rt_sfamnet.weights import WeightsMeta, save_weights

    torch.manual_seed(0)
    w = tmp_path / "tuned.safetensors"
    save_weights(SFAMNet(4), w, WeightsMeta(emotions=4, provenance={
        "input_clip": 5.0, "train": {"spotting": {"k_micro": 2, "micro_max_mean": 1.0}}}))
    common = ["--weights", str(w), "--no-progress", "--device", "cpu"]
    assert main(["analyze", str(_clip()), "--out", str(tmp_path / "a"), *common]) == 0
    s = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert s["spotting"]["k_micro"] == 2 and s["spotting"]["micro_max_mean"] == 1.0
    assert s["spotting"]["frame_skip"] == 2
    assert s["features"]["input_clip"] == 5.0
    assert s["spotting_from_weights"] == {"k_micro": 2, "micro_max_mean": 1.0}
    # --spot overrides the weights' values; --release-spotting ignores them
    assert main(["analyze", str(_clip()), "--out", str(tmp_path / "b"), *common,
                 "--spot", "k_micro=3", "--release-spotting"]) == 0
    s = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert s["spotting"]["k_micro"] == 3 and s["spotting"]["micro_max_mean"] == 0.725


def test_analyze_rejects_unknown_spotting_keys(tmp_path, weights_file, capsys):
    rc = main(["analyze", "sim:duration=1", "--out", str(tmp_path / "o"), "--weights",
               str(weights_file), "--spot", "k_mikro=2", "--no-progress"])
    assert rc == 2
    assert "k_mikro" in capsys.readouterr().err


def _clip() -> Path:
    for name in ("clip.db3", "clip.bag"):
        p = REPO / "recordings" / name
        if p.exists():
            return p
    pytest.skip("no test recording in recordings/")


def test_stopping_early_publishes_the_intervals_the_offline_spotter_finds(tmp_path, weights_file):
    """--seconds stops the engine mid-stream: the streaming spotter is finished there, so the
    events equal the offline post-processing of exactly the scores that were written."""
    import numpy as np

    from rt_sfamnet.config import config_from_mapping
    from rt_sfamnet.spotting import SpottingConfig, spot

    out = tmp_path / "run"
    rc = main(["analyze", "sim:seed=26,duration=8", "--out", str(out), "--weights",
               str(weights_file), "--no-progress", "--device", "cpu", "--seconds", "5",
               "--spot", "micro_threshold=0.0", "--spot", "macro_threshold=0.0",
               "--spot", "micro_max_mean=1.0", "--spot", "video_threshold=1.5"])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    rows = read_frames(out / "frames.csv")
    assert 0 < len(rows) < (8 * 30 - 6) // 2  # cut before the end of the stream
    scores = np.array([float(r["score"]) if r["score"] else 0.0 for r in rows], np.float32)
    labels = [r["argmax_class"] or "neutral" for r in rows]
    cfg = config_from_mapping(SpottingConfig, summary["spotting"])
    expected = [(iv.type, iv.onset, iv.offset) for iv in spot(scores, labels, cfg)]
    got = [(iv.type, iv.onset, iv.offset) for iv in read_intervals(out / "events.csv")]
    assert got == expected
    assert expected, "thresholds of 0 make the offline spotter find intervals to compare"


def test_summary_says_what_the_network_was_fed_and_trained_on(tmp_path, weights_file, capsys,
                                                               monkeypatch):
    from tests.weights_helpers import weights_dir

    # the simulator with depth and weights that do not record their training data
    out = tmp_path / "sim"
    assert main(["analyze", "sim:duration=0.5", "--out", str(out), "--weights",
                 str(weights_file), "--no-progress", "--device", "cpu"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert (s["depth"], s["input"], s["training_data"], s["zero_depth_experiment"],
            s["warnings"]) == (True, "depth: hybrid-flow model", None, False, [])
    assert "warning" not in capsys.readouterr().err
    # --flow-mode optical without --weights picks the optical-flow weights
    monkeypatch.setattr("rt_sfamnet.weights.WEIGHTS_DIR", weights_dir(tmp_path / "w"))
    out = tmp_path / "optical"
    assert main(["analyze", "sim:duration=0.5", "--out", str(out), "--flow-mode", "optical",
                 "--no-progress", "--device", "cpu"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert Path(s["weights"]).name == "sfamnet-4emo-optical.safetensors"
    assert s["features"]["mode"] == "optical" and s["training_data"] == "synthetic"
    assert s["input"] == "depth available: optical-flow model (depth not used)"
    assert s["warnings"] == []  # synthetic weights on the simulator: nothing to flag


def test_synthetic_weights_on_a_real_recording_are_flagged(tmp_path, clip_path, capsys):
    """The test clip without its simulator sidecar is, as far as anyone can tell, a recording
    of a person: the bundled (synthetic-trained) weights say so on stderr and in the summary."""
    bare = tmp_path / "session.db3"
    bare.symlink_to(clip_path)
    out = tmp_path / "o"
    assert main(["analyze", str(bare), "--out", str(out), "--seconds", "0.5",
                 "--no-progress", "--device", "cpu"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["training_data"] == "synthetic" and s["depth"] is True
    assert len(s["warnings"]) == 1 and "synthetic faces only" in s["warnings"][0]
    err = [ln for ln in capsys.readouterr().err.splitlines() if "warning" in ln]
    assert err == [f"rt-sfamnet analyze: warning: {bare}: {s['warnings'][0]}"]


def test_depth_weights_on_a_source_without_depth_are_refused(tmp_path, capsys, monkeypatch):
    from tests.weights_helpers import BUNDLED, colour_only_folder, weights_dir

    folder = colour_only_folder(tmp_path / "EP01")
    out = tmp_path / "o"
    rc = main(["analyze", str(folder), "--out", str(out), "--weights",
               str(BUNDLED / "sfamnet-4emo.safetensors"), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "source has no depth" in err[0] and "--zero-depth-experiment" in err[0]
    assert not (out / "summary.json").exists()
    # no weights named and no optical weights installed: one line, nothing run
    monkeypatch.setattr("rt_sfamnet.weights.WEIGHTS_DIR",
                        weights_dir(tmp_path / "w", optical=False))
    rc = main(["analyze", str(folder), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "sfamnet-4emo-optical.safetensors" in err[0]
