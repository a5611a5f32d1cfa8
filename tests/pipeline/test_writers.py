"""Per-frame CSV and events writers (rt_sfamnet.pipeline.writers)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from rt_sfamnet.intervals import read_intervals


def test_frame_csv_writer_waits_for_final_curves(tmp_path):
    from rt_sfamnet.pipeline import FrameResult
    from rt_sfamnet.pipeline.writers import FrameCsvWriter

    names = ("negative", "positive", "surprise", "others", "neutral")
    w = FrameCsvWriter(tmp_path / "f.csv", names)
    probs = np.array([0.1, 0.2, 0.3, 0.1, 0.3], np.float32)
    rs = [FrameResult(2 * i, 0.1 * i, True, 0.25 * i, None, None, probs, "surprise", 12.5)
          for i in range(3)]
    rs.append(FrameResult(6, 0.6, False, None, None, None, None, None, 3.0, reason="no_face"))
    w.add_results(rs)
    w.add_curves({"micro": [(0, 0.1), (2, 0.2)], "macro": [(0, 0.05)]})
    w.flush()
    assert w.rows == 1  # only frame 0 has both smoothed values
    w.add_curves({"macro": [(2, 0.07)]})
    w.flush()
    assert w.rows == 2
    w.close()  # the rest is written with empty smoothed cells
    rows = list(csv.DictReader((tmp_path / "f.csv").open()))
    assert [int(r["frame"]) for r in rows] == [0, 2, 4, 6]
    assert float(rows[1]["micro_smoothed"]) == pytest.approx(0.2)
    assert float(rows[1]["macro_smoothed"]) == pytest.approx(0.07)
    assert rows[2]["micro_smoothed"] == ""
    assert rows[3]["score"] == "" and rows[3]["face_found"] == "0"
    assert rows[3]["argmax_class"] == ""
    assert float(rows[0]["prob_surprise"]) == pytest.approx(0.3)
    assert list(rows[0]) == ["frame", "timestamp", "input", "face_found", "face_x0", "face_y0",
                             "face_size", "depth_ok", "gap", "score", "micro_smoothed",
                             "macro_smoothed"] + [f"prob_{c}" for c in names] + [
                                 "argmax_class", "latency_ms"]


def test_frame_csv_writer_keeps_camera_timestamps_to_the_millisecond(tmp_path):
    # a RealSense camera stamps frames in ms since the epoch: ~1.76e9 s
    from rt_sfamnet.pipeline import FrameResult
    from rt_sfamnet.pipeline.writers import FrameCsvWriter

    w = FrameCsvWriter(tmp_path / "f.csv", ("a", "neutral"))
    t0 = 1764138325.1234
    w.add_results([FrameResult(i, t0 + i / 30.0, False, None, None, None, None, None, 1.0)
                   for i in range(3)])
    w.close()
    rows = list(csv.DictReader((tmp_path / "f.csv").open()))
    ts = [float(r["timestamp"]) for r in rows]
    assert ts == pytest.approx([t0, t0 + 1 / 30.0, t0 + 2 / 30.0], abs=1e-5, rel=0)
    assert ts[1] - ts[0] == pytest.approx(1 / 30.0, abs=1e-5)


def test_event_writer_csv_is_an_interval_file(tmp_path):
    from rt_sfamnet.pipeline.writers import EventWriter
    from rt_sfamnet.spotting import SpottedInterval

    w = EventWriter(tmp_path / "e.csv", tmp_path / "e.json", "sim", "seed1", fps=30.0)
    assert json.loads((tmp_path / "e.json").read_text()) == []
    iv = SpottedInterval("micro", 30, 36, 44, "positive", 0.8, 18)
    w.add([iv])
    events = json.loads((tmp_path / "e.json").read_text())  # valid while still open
    assert events == [{"type": "micro", "onset": 30, "apex": 36, "offset": 44,
                       "start_s": 1.0, "end_s": 1.5, "emotion": "positive",
                       "confidence": pytest.approx(0.8)}]
    w.close()
    (back,) = read_intervals(tmp_path / "e.csv")
    assert (back.subject, back.video, back.onset, back.apex, back.offset, back.type,
            back.emotion) == ("sim", "seed1", 30, 36, 44, "micro", "positive")
    assert float(back.extra["start_s"]) == 1.0 and float(back.extra["end_s"]) == 1.5


def test_frame_csv_writer_box_depth_and_input_columns(tmp_path):
    from rt_sfamnet.pipeline import FrameResult
    from rt_sfamnet.pipeline.writers import FrameCsvWriter

    w = FrameCsvWriter(tmp_path / "f.csv", ("a", "neutral"), source="/data/x.db3")
    w.add_results([
        FrameResult(0, 0.0, True, 0.5, None, None, np.array([0.75, 0.25]), "a", 1.0,
                    depth_ok=False, box=(10, 20, 96)),
        FrameResult(2, 0.1, False, None, None, None, None, None, 1.0, reason="no_face"),
    ])
    w.close()
    rows = list(csv.DictReader((tmp_path / "f.csv").open()))
    assert [r["input"] for r in rows] == ["/data/x.db3"] * 2
    assert (rows[0]["face_x0"], rows[0]["face_y0"], rows[0]["face_size"]) == ("10", "20", "96")
    assert rows[0]["depth_ok"] == "0" and rows[0]["argmax_class"] == "a"
    assert (rows[1]["face_x0"], rows[1]["face_size"], rows[1]["depth_ok"]) == ("", "", "1")


def test_source_label_and_run_identity(tmp_path):
    import hashlib
    from types import SimpleNamespace

    from rt_sfamnet import __version__
    from rt_sfamnet.pipeline.writers import file_sha256, run_identity, source_label

    rec = tmp_path / "rec.db3"
    rec.write_bytes(b"x")
    wts = tmp_path / "w.safetensors"
    wts.write_bytes(b"abc")
    assert source_label(SimpleNamespace(path=rec, name="recording rec.db3")) == str(rec.resolve())
    assert source_label(SimpleNamespace(name="simulator (seed 3)")) == "simulator (seed 3)"
    assert file_sha256(wts) == hashlib.sha256(b"abc").hexdigest()
    assert file_sha256(tmp_path / "missing") is None
    engine = SimpleNamespace(source=SimpleNamespace(name="cam"),
                             predictor=SimpleNamespace(path=wts))
    ident = run_identity(engine, None)
    assert ident == {"rt_sfamnet_version": __version__, "source_path": "cam",
                     "weights": str(wts), "weights_sha256": hashlib.sha256(b"abc").hexdigest()}
    no_path = SimpleNamespace(source=None, predictor=SimpleNamespace(path=None))
    assert run_identity(no_path, None)["weights"] is None
    assert run_identity(no_path, str(wts))["weights_sha256"] == ident["weights_sha256"]


def test_f1_text_says_n_a_without_intervals():
    from rt_sfamnet.pipeline.runner import f1_text

    assert f1_text({"f1": 0.0, "tp": 0, "fp": 0, "fn": 0}).startswith("n/a")
    assert f1_text({"f1": 0.0, "tp": 0, "fp": 2, "fn": 0}) == "0.00 (0 TP / 2 FP / 0 FN)"
    assert f1_text({"f1": 2 / 3, "tp": 1, "fp": 0, "fn": 1}) == "0.67 (1 TP / 0 FP / 1 FN)"
