"""``rt-sfamnet analyze`` on every common way in (issue 21 §1): video files, the webcam code
path (on a file: CI has no webcam), CASME II-style frame folders and a simulated dataset's
folder with its ground truth. Every source runs at its own timing: ``summary.json`` has the
source's rate (1 / median frame interval) and ``duration_s``, ``frames.csv`` the frames' own
timestamps."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from rt_sfamnet.cli import main
from rt_sfamnet.intervals import read_intervals
from tests.sources.video_helpers import container_truth, truncated_copy, write_video

pytest.importorskip("av")

BASE = ["--no-progress", "--device", "cpu"]



@pytest.fixture(scope="module")
def weights_file(tmp_path_factory) -> Path:
    """Untrained optical-flow weights: these sources have no depth, and depth-trained
    weights are refused on them (the plumbing does not care what the network learned)."""
    from tests.weights_helpers import save_untrained

    return save_untrained(tmp_path_factory.mktemp("w") / "optical.safetensors")



def _errors(err: str) -> str:
    """stderr without the warning lines (synthetic-trained weights on a real source say so)."""
    return "".join(ln + "\n" for ln in err.splitlines() if ": warning: " not in ln)


def run(args: list[str], weights: Path, out: Path) -> tuple[int, dict, list[dict]]:
    rc = main(["analyze", *args, "--out", str(out), "--weights", str(weights), *BASE])
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else {}
    rows = []
    if (out / "frames.csv").exists():
        with (out / "frames.csv").open(newline="") as fh:
            rows = list(csv.DictReader(fh))
    return rc, summary, rows


def clip(real_faces_dir: Path, name: str) -> Path:
    path = real_faces_dir / name
    if not path.is_file():
        pytest.skip(f"{name} is missing from ../shared/real-faces")
    return path


def test_analyze_a_video_file_at_its_own_timing(real_faces_dir, weights_file, tmp_path):
    path = clip(real_faces_dir, "single_face.mp4")
    times, _ = container_truth(path)
    rc, s, rows = run([str(path), "--seconds", "1"], weights_file, tmp_path / "run")
    assert rc == 0 and s["status"] == "complete"
    assert s["fps"] == pytest.approx(30.0) and s["k_sw"] == 6
    assert s["frames_in"] == 30 and s["duration_s"] == pytest.approx(29 / 30)
    assert s["source_path"] == str(path.resolve())
    assert rows and all(float(r["timestamp"]) == pytest.approx(times[int(r["frame"])], abs=1e-6)
                        for r in rows)
    assert sum(r["face_found"] == "1" for r in rows) > 0.8 * len(rows)  # a real face
    assert all(r["depth_ok"] == "0" for r in rows if r["face_found"] == "1")  # RGB only


def test_noface_face_mov_duration_and_true_timestamps(real_faces_dir, weights_file, tmp_path):
    """OpenCV says 26.5 fps; the median frame interval is 41.7 ms: fps 24, k_SW 5, and the
    duration within one frame of the container's."""
    path = clip(real_faces_dir, "noface_face.mov")
    times, end = container_truth(path)
    rc, s, rows = run([str(path), "--frame-skip", "8"], weights_file, tmp_path / "run")
    assert rc == 0 and s["status"] == "complete" and s["frames_in"] == len(times) == 169
    assert s["fps"] == pytest.approx(24.0, rel=1e-3) and s["k_sw"] == 5
    true_duration = end - times[0]
    assert abs(s["duration_s"] - true_duration) < 1 / s["fps"]
    assert s["duration_s"] == pytest.approx(times[-1] - times[0], abs=1e-6)
    assert [int(r["frame"]) for r in rows] == list(range(0, 169 - 5, 8))
    for r in rows:  # true presentation times, not frame / fps
        assert float(r["timestamp"]) == pytest.approx(times[int(r["frame"])], abs=1e-6)
    assert float(rows[-1]["timestamp"]) != pytest.approx(int(rows[-1]["frame"]) / s["fps"],
                                                         abs=1e-3)


def vfr_schedule(n: int) -> list[int]:
    gaps = [33, 33, 15, 42, 33, 34, 33, 18, 40, 33]
    t, out = 0, []
    for i in range(n):
        out.append(t)
        t += gaps[i % len(gaps)]
    return out


def test_webcam_code_path_on_a_file(weights_file, tmp_path):
    """``analyze webcam:<device> --seconds S``: the same VideoCapture code, on a file."""
    times = vfr_schedule(45)
    path = write_video(tmp_path / "cam.mp4", times)
    rc, s, rows = run([f"webcam:{path}", "--seconds", "1"], weights_file, tmp_path / "run")
    assert rc == 0 and s["status"] == "complete"
    inside = [t for t in times if t < 1000]
    assert s["frames_in"] == len(inside)
    assert s["fps"] == pytest.approx(1000 / 33, rel=0.02)
    assert s["duration_s"] == pytest.approx((inside[-1] - inside[0]) / 1000, abs=2e-3)
    got = {int(r["frame"]): float(r["timestamp"]) for r in rows}
    first = got[0]
    for f, t in got.items():
        if f > 0:  # times on the capture clock: the gaps are the file's own
            assert t - first == pytest.approx((times[f] - times[0]) / 1000, abs=2e-3)


def test_missing_webcam_is_one_line_and_exit_2(weights_file, tmp_path, capsys):
    if Path("/dev/video9").exists():
        pytest.skip("this machine has a /dev/video9")
    rc, _, _ = run(["webcam:9", "--seconds", "5"], weights_file, tmp_path / "run")
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "webcam 9: no such device" in err


@pytest.mark.parametrize(("suffix", "what"), [("mkv", "decoding failed at frame"),
                                              ("mp4", "cannot be opened as a video")])
def test_truncated_video_is_one_line_and_exit_2(weights_file, tmp_path, capsys, suffix, what):
    whole = write_video(tmp_path / f"whole.{suffix}", [33 * i for i in range(60)])
    cut = truncated_copy(whole, tmp_path / f"cut.{suffix}", keep=0.5)
    rc, s, _ = run([str(cut)], weights_file, tmp_path / "run")
    err = _errors(capsys.readouterr().err)
    assert rc == 2 and err.count("\n") == 1, err
    assert str(cut) in err and what in err
    if suffix == "mkv":  # broke mid-stream: the files say so, with what was analysed
        assert s["status"] == "error" and s["frames_in"] > 0


def write_casme2_folder(folder: Path, numbers) -> Path:
    folder.mkdir(parents=True)
    yy, xx = np.mgrid[0:48, 0:64]
    for n in numbers:
        img = np.dstack([np.full((48, 64), n % 256), 2 * xx, 3 * yy]).astype(np.uint8)
        assert cv2.imwrite(str(folder / f"img{n}.jpg"), img)
    return folder


def test_casme2_style_folder_runs_at_the_given_rate(weights_file, tmp_path, capsys):
    folder = write_casme2_folder(tmp_path / "sub01" / "EP02_01f", range(46, 96))
    rc, s, rows = run([str(folder), "--fps", "200"], weights_file, tmp_path / "run")
    assert rc == 0 and s["status"] == "complete" and s["frames_in"] == 50
    assert s["fps"] == 200.0 and s["k_sw"] == 40  # 0.2 s at 200 fps
    assert s["duration_s"] == pytest.approx(49 / 200)
    frames = [int(r["frame"]) for r in rows]
    assert frames and frames[0] in (45, 46) and frames[-1] + 40 <= 94  # img46 is frame 45
    assert all(float(r["timestamp"]) == pytest.approx(int(r["frame"]) / 200, abs=1e-6)
               for r in rows)
    # the API takes the same rate; --fps is refused where the source has its own timestamps
    import rt_sfamnet

    api = rt_sfamnet.analyze(folder, weights=weights_file, fps=200, device="cpu",
                             progress=False, frame_skip=10)
    assert api.summary["fps"] == 200.0 and api.summary["k_sw"] == 40
    video = write_video(tmp_path / "v.mp4", [33 * i for i in range(5)])
    rc, _, _ = run([str(video), "--fps", "25"], weights_file, tmp_path / "run2")
    err = _errors(capsys.readouterr().err)
    assert rc == 2 and err.count("\n") == 1 and "keeps its own timestamps" in err


def test_simulated_dataset_folder_scores_its_own_ground_truth(weights_file, tmp_path):
    """One convention: the folder's frame i is the simulator's frame i (file i + 1), and
    ``intervals.csv`` holds the same 0-based frames, so ``analyze FOLDER --gt intervals.csv``
    scores every true interval in the span, none cut, and the frames at the true onset, apex
    and offset are exactly the rendered ones (a one-frame shift would match a neighbour)."""
    from rt_sfamnet.sim import make_renderer
    from rt_sfamnet.sim.dataset import VideoJob, _video_script, video_seed, write_dataset
    from rt_sfamnet.sources.folder import FolderSource

    write_dataset(tmp_path / "ds", subjects=1, seed=0, videos_per_subject=1, seconds=3.0,
                  width=160, height=120, workers=1)
    folder = tmp_path / "ds" / "data" / "part_A" / "spNO.1" / "a"
    gt_file = tmp_path / "ds" / "annotations" / "intervals.csv"
    gt = read_intervals(gt_file)
    assert [(g.onset, g.apex, g.offset) for g in gt] == [(58, 62, 69)]  # seed 0's micro
    rc, s, rows = run([str(folder), "--gt", str(gt_file), "--frame-skip", "4"], weights_file,
                      tmp_path / "run")
    assert rc == 0 and s["status"] == "complete" and s["frames_in"] == 90
    m = s["metrics"]
    assert m["span"][0] == 0 and m["ground_truth_intervals"] == 1
    assert m["ground_truth_outside_span"] == 0 and m["ground_truth_cut_to_span"] == 0
    assert m["micro"]["tp"] + m["micro"]["fn"] == 1  # the true interval is scored, once
    # the frames the ground truth names are the frames the simulator rendered there
    job = VideoJob(str(tmp_path), 1, 0, video_seed(0, 1, 0), 0, 3.0, 160, 120, 30.0, 92, 0.6)
    renderer = make_renderer(job.seed, job.identity, 160, 120, 30.0,
                             script=_video_script(job))
    with FolderSource(folder) as src:
        frames = {f.index: f.color.astype(int) for f in src}
    for i in (gt[0].onset, gt[0].apex, gt[0].offset):
        diffs = {j: np.abs(frames[i] - renderer.render(j)[0]).mean() for j in (i - 1, i, i + 1)}
        assert min(diffs, key=diffs.get) == i, diffs


def test_api_fps_is_checked_before_any_work(tmp_path):
    import rt_sfamnet
    from rt_sfamnet.errors import ConfigError
    from rt_sfamnet.sources.folder import FolderSource

    folder = write_casme2_folder(tmp_path / "EP01", range(1, 4))
    for bad in ("200", 0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match=r"fps.*expected a finite number > 0|fps must be a finite number > 0"):
            rt_sfamnet.analyze(folder, fps=bad)
    with pytest.raises(ConfigError, match="set it on the FolderSource itself"):
        rt_sfamnet.analyze(FolderSource(folder), fps=200)
