"""The main window fed with EngineUpdate objects: drawing, errors, settings, export, keys."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PySide6.QtCore import Qt

from rt_sfamnet.intervals import read_intervals
from tests.ui.helpers import make_results, make_update, spotted
from ui.app import MainWindow
from ui.settings import AppSettings


def test_updates_draw_curves_regions_events_bars_and_status(window):
    res = make_results(range(0, 120, 2), score_fn=lambda f: 0.1 + f / 200)
    curves = {"micro": [(f, 0.5) for f in range(0, 60, 2)], "macro": [(0, 0.4)]}
    iv = spotted("micro", 30, 50, "surprise", 0.74)
    window.apply_update(make_update(119, results=res, intervals=[iv], curves=curves))
    assert window.plot.curve_points("score") == 60
    assert window.plot.curve_points("micro") == 30
    assert window.plot.curve_points("macro") == 1
    assert len(window.plot.spotted) == 1
    assert window.plot.spotted[0].label.toPlainText() == "ME surprise 0.74"
    assert window.event_list.rowCount() == 1
    assert window.video.event_badge.isVisible()
    assert window.video.event_badge.toPlainText().strip() == "ME surprise 0.74"
    np.testing.assert_allclose(window.probs.values, res[-1].probs)
    assert window.maps.maps_drawn == 1
    assert window.video.frames_drawn == 1 and window.depth.frames_drawn == 1
    assert window.position == 119
    st = window.status.fields
    assert st["backend"].text() == "backend cpu"
    assert st["input"].text() == "in 30.0 fps"
    assert st["analysed"].text() == "analysed 15.0/s"
    assert st["latency"].text() == "latency 110 ms (p95 180)"
    assert st["drops"].text() == "drops 3"
    # the same interval published again (after a backwards seek) is not duplicated
    window.apply_update(make_update(121, intervals=[iv]))
    assert window.event_list.rowCount() == 1 and len(window.plot.spotted) == 1


def test_hidden_panels_are_not_drawn(window):
    window.act_depth.trigger()
    window.act_maps.trigger()
    assert not window.depth_panel.isVisible() and not window.maps.isVisible()
    assert not window.side.isVisible()
    window.apply_update(make_update(5, results=make_results([0])))
    assert window.depth.frames_drawn == 0 and window.maps.maps_drawn == 0
    assert window.video.frames_drawn == 1


def test_reset_drops_results_after_the_seek_target(window):
    window.apply_update(make_update(100, results=make_results(range(0, 100, 2))))
    window._seek_target = 40
    window.apply_update(make_update(41, results=make_results([40, 42]), reset=True))
    assert list(window.history.frames()) == list(range(0, 44, 2))


def test_live_resume_keeps_the_history_before_the_pause(window):
    import torch

    from rt_sfamnet.model import SFAMNet
    from rt_sfamnet.pipeline import Engine, EngineConfig
    from rt_sfamnet.predictor import Predictor
    from rt_sfamnet.sources.simulated import SimulatedSource
    from rt_sfamnet.weights import WeightsMeta

    torch.manual_seed(0)
    predictor = Predictor(SFAMNet(4), WeightsMeta(emotions=4), device="cpu")
    engine = Engine(SimulatedSource(seed=1, duration_s=10, realtime=True),
                    EngineConfig(device="cpu"), predictor=predictor)  # live, not started
    assert engine.live
    window.engine = engine
    window.apply_update(make_update(99, results=make_results(range(0, 94, 2))))
    window.set_playing(False)
    window.set_playing(True)  # the engine restarts its schedule: the next update says reset
    window.apply_update(make_update(120, results=make_results([104, 106]), reset=True))
    assert list(window.history.frames()) == list(range(0, 94, 2)) + [104, 106]


def test_engine_error_is_shown_and_the_app_keeps_running(window, qtbot):
    from rt_sfamnet.errors import CameraDisconnectedError

    err = CameraDisconnectedError("no frame from the camera for 2 s (unplugged?)")
    window.apply_update(make_update(10, error=err, finished=True))
    assert window.banner.kind == "error"
    assert "unplugged" in window.banner.text()
    assert window.finished and not window.playback.playing
    assert window.timer.isActive()
    # later updates still draw
    window.apply_update(make_update(11, results=make_results([0, 2])))
    assert window.plot.curve_points("score") == 2


def test_end_of_recording_notice(window):
    window.apply_update(make_update(59, intervals=[spotted("micro", 10, 25, "positive")],
                                    finished=True))
    assert window.banner.kind == "info"
    assert "1 expression spotted" in window.banner.text()
    assert not window.playback.playing


def test_export_names_subject_and_video_as_the_command_does():
    from rt_sfamnet.intervals import Interval
    from rt_sfamnet.pipeline.results import subject_video
    from ui.export import session_table
    from ui.history import ScoreHistory

    # a recording whose name starts with "sim" is named after its file, not as the simulator
    assert subject_video("recordings/simone_take2.db3") == ("live", "simone_take2")
    assert subject_video("camera") == ("live", "camera")
    truth = [Interval("s7", "take3", 1, 2, 3, "micro", "positive")]
    table = session_table(ScoreHistory(), [spotted("micro", 2, 14, "positive", 0.7)],
                          ("negative", "positive"), 30.0, "x.db3", truth)
    assert [(e["subject"], e["video"]) for e in table.events] == [("s7", "take3")]


def test_export_csv_and_json(window, tmp_path):
    res = make_results(range(0, 20, 2), score_fn=lambda f: f / 100)
    curves = {"micro": [(f, 0.3) for f in range(0, 20, 2)],
              "macro": [(f, 0.2) for f in range(0, 20, 2)]}
    window.apply_update(make_update(20, results=res, curves=curves,
                                    intervals=[spotted("micro", 2, 14, "positive", 0.7)]))
    window.class_names = ("negative", "positive", "surprise", "others", "neutral")
    files = window.export(tmp_path / "run.csv", "csv")
    assert [f.name for f in files] == ["run_events.csv", "run_events.json", "run_frames.csv"]
    ivs = read_intervals(files[0])
    assert [(i.onset, i.offset, i.type, i.emotion) for i in ivs] == [(2, 14, "micro", "positive")]
    assert ivs[0].extra["confidence"] == "0.7"
    assert json.loads(files[1].read_text())[0]["emotion"] == "positive"
    with files[2].open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 10
    assert float(rows[3]["score"]) == pytest.approx(0.06)
    assert float(rows[3]["micro_smoothed"]) == pytest.approx(0.3)
    assert float(rows[3]["prob_positive"]) == pytest.approx(0.6)
    files = window.export(tmp_path / "run.json", "json")
    data = json.loads(files[2].read_text())
    assert data["class_names"][1] == "positive" and len(data["frames"]) == 10
    assert data["frames"][0]["macro_smoothed"] == pytest.approx(0.2)
    # the JSON rows have every column of the CSV rows (frames.csv's), in the same order
    assert list(data["frames"][0]) == list(rows[0])
    assert list(rows[0])[3:9] == ["face_found", "face_x0", "face_y0", "face_size", "depth_ok",
                                  "gap"]
    assert data["frames"][3]["argmax_class"] == rows[3]["argmax_class"] == "positive"


def test_json_export_has_gap_box_and_depth_columns(window, tmp_path):
    import dataclasses

    res = make_results(range(0, 12, 2), maps=False)
    res[1] = dataclasses.replace(res[1], box=(40, 52, 128), depth_ok=False)
    res[2] = dataclasses.replace(res[2], score=None, probs=None, label=None, face_found=False,
                                 reason="no_face")
    res[3] = dataclasses.replace(res[3], score=None, probs=None, label=None, face_found=False,
                                 reason="no_face")
    window.apply_update(make_update(12, results=res))
    window.class_names = ("negative", "positive", "surprise", "others", "neutral")
    data = json.loads(window.export(tmp_path / "gaps.json", "json")[2].read_text())
    fr = data["frames"]
    assert (fr[1]["face_x0"], fr[1]["face_y0"], fr[1]["face_size"]) == (40, 52, 128)
    assert fr[0]["face_x0"] is None and fr[1]["depth_ok"] is False and fr[0]["depth_ok"] is True
    assert [r["gap"] for r in fr] == ["", "", "no_face", "no_face", "", ""]
    assert fr[2]["score"] is None and fr[2]["argmax_class"] == "" and fr[2]["prob_neutral"] is None
    assert data["gaps"] == [{"reason": "no_face", "first": 4, "last": 6, "samples": 2}]
    with window.export(tmp_path / "gaps.csv", "csv")[2].open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["gap"] for r in rows] == [r["gap"] for r in fr]
    assert rows[1]["face_size"] == "128" and rows[1]["depth_ok"] == "0"
    # a folder that does not exist is an error in the window, not a crash
    assert window.export(tmp_path / "missing" / "x.csv") == []
    assert window.banner.kind == "error" and "does not exist" in window.banner.text()


def test_settings_and_recent_files_persist(qtbot, tmp_path):
    path = tmp_path / "s.ini"
    rec = tmp_path / "a.db3"
    rec.write_bytes(b"")
    w1 = MainWindow(AppSettings(path))
    qtbot.addWidget(w1)
    w1.act_depth.trigger()  # hide depth
    w1.playback.set_speed(2.0)
    w1.maps.set_levels(0.75, 4.0)
    w1.maps.levelsChanged.emit(0.75, 4.0)
    w1.settings.add_recent_file(rec)
    w1.set_flow_mode("scene")  # no source open: only remembered
    w1.view.set_plot_window(60.0)
    w1.close()

    w2 = MainWindow(AppSettings(path))
    qtbot.addWidget(w2)
    assert not w2.act_depth.isChecked() and w2.act_maps.isChecked()
    assert w2.playback.speed.currentData() == 2.0
    assert w2.settings.recent_files() == [str(rec.resolve())]
    assert [a.text() for a in w2.recent_file_menu.actions()][0] == "a.db3"
    assert w2.flow_mode == "scene" and w2.flow_combo.currentData() == "scene"
    assert (w2.maps.uv_range, w2.maps.w_range) == (0.75, 4.0)
    assert w2.plot.window_s == 60.0
    assert [a.text() for a in w2.window_actions.actions() if a.isChecked()] == ["60 s"]
    w2.close()


def test_recent_list_is_bounded_and_newest_first(tmp_path):
    s = AppSettings(tmp_path / "s.ini")
    for i in range(12):
        s.add_recent_file(tmp_path / f"r{i}.db3")
    s.add_recent_file(tmp_path / "r5.db3")
    files = s.recent_files()
    assert len(files) == 8 and files[0].endswith("r5.db3") and files[1].endswith("r11.db3")
    s.clear_recent_files()
    assert s.recent_files() == []


def test_keyboard_shortcuts(window, qtbot):
    window.activateWindow()
    window.setFocus()
    assert window.playback.playing
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.playback.playing
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.playback.playing
    qtbot.keyClick(window, Qt.Key.Key_BracketRight)
    assert window.playback.speed.currentData() == 2.0
    qtbot.keyClick(window, Qt.Key.Key_M)
    assert not window.act_maps.isChecked()
    assert window.act_export.shortcut().toString() == "Ctrl+E"
    assert window.act_open.shortcut().toString() == "O"
    assert window.act_fullscreen.shortcut().toString() == "F"


def test_record_works_without_a_camera(window, qtbot):
    # Record records whatever is open (tests/ui/test_recording.py), camera or not
    window._on_camera_checked(False)
    assert window.act_record.isEnabled() and window.act_record.isCheckable()
    assert "none was found" in window.act_camera.toolTip()
    window._on_camera_checked(True)
    assert window.act_record.isEnabled()


def test_screenshot(window, tmp_path):
    window.apply_update(make_update(10, results=make_results(range(0, 10, 2))))
    out = window.save_screenshot(tmp_path / "shots" / "w.png")
    assert out.stat().st_size > 10_000
    from PySide6.QtGui import QImage

    img = QImage(str(out))
    assert (img.width(), img.height()) == (window.width(), window.height())


def test_me_and_mae_reach_plot_list_and_export_with_their_emotions(window, tmp_path):
    from PySide6.QtGui import QColor

    from rt_sfamnet.intervals import Interval
    from ui import theme

    truth = [Interval("sim", "demo", 150, 171, 222, "macro", "", {"prototype": "surprise"})]
    window.plot.set_ground_truth(truth, 30.0)
    window.event_list.set_ground_truth(truth)
    ivs = [spotted("micro", 74, 90, "positive", 0.91), spotted("macro", 148, 225, "surprise", 0.72),
           spotted("macro", 452, 530, "", 0.63)]
    window.apply_update(make_update(600, intervals=ivs))
    assert [r.label.toPlainText() for r in window.plot.spotted] == [
        "ME positive 0.91", "MaE surprise 0.72", "MaE — 0.63"]
    assert [window.event_list.item(r, 5).text() for r in range(3)] == ["✗", "✓ GT: surprise", "✗"]
    # one colour per emotion, the same in the plot and in the list
    for row, region in enumerate(window.plot.spotted):
        assert window.event_list.item(row, 2).foreground().color() == QColor(region.color)
    assert window.plot.spotted[1].color == theme.emotion_hex("surprise")
    assert window.video.event_badge.toPlainText().strip() == "MaE — 0.63"

    files = window.export(tmp_path / "mae.csv", "csv")
    with files[0].open() as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["type"], r["emotion"], r["confidence"]) for r in rows] == [
        ("micro", "positive", "0.91"), ("macro", "surprise", "0.72"), ("macro", "", "0.63")]
    events = json.loads(files[1].read_text())
    assert [(e["type"], e["emotion"]) for e in events] == [
        ("micro", "positive"), ("macro", "surprise"), ("macro", "")]
