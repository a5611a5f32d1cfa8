"""Review mode driven with the keyboard on a simulated recording, and its errors."""

from __future__ import annotations

import csv
import getpass
import shutil

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from rt_sfamnet.annotations import annotations_path, read_annotations
from rt_sfamnet.intervals import Interval, write_intervals
from tests.review_helpers import simulate
from ui.review.overlay import frames_of


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """A 3 s 320x240 recording (truth: ME happy 15-20-28, ME surprise 54-59-67) and what a
    spotter found in it, as the app's export names it (``<stem>_events.csv``)."""
    d = tmp_path_factory.mktemp("review")
    rec = simulate(d / "s01.db3", "grace", [("micro", "happy", 0.5), ("micro", "surprise", 1.8)])
    write_intervals(d / "s01_events.csv", [
        Interval("sim", "s01", 16, 20, 28, "micro", "positive", {"confidence": "0.91"}),
        Interval("sim", "s01", 40, 42, 46, "micro", "others", {"confidence": "0.52"}),
        Interval("sim", "s01", 54, 59, 66, "micro", "surprise", {"confidence": "0.83"})])
    return rec


def _fresh(recording, tmp_path):
    folder = tmp_path / "rec"
    folder.mkdir()
    for name in ("s01.db3", "s01_events.csv"):
        shutil.copy(recording.parent / name, folder / name)
    return folder / "s01.db3"


def _open(w, qtbot, weights, rec):
    w.weights = weights
    w.open_source(str(rec))
    qtbot.waitUntil(lambda: not w.opening, timeout=180_000)
    assert w.engine is not None, w.banner.text()
    w.activateWindow()
    w.setFocus()


def _keys(w, *keys):
    for k in keys:
        mod = Qt.KeyboardModifier.NoModifier
        if isinstance(k, tuple):
            mod, k = k
        QTest.keyClick(w, k, mod)


def test_frames_of_a_dragged_region():
    # [0.5 s, 1.0 s) at 30 fps: frames 15..29; apex clamped into the bounds
    assert frames_of(0.5, 1.0, 0.7, 30.0) == (15, 21, 29)
    assert frames_of(0.5, 1.0, 2.0, 30.0) == (15, 29, 29)
    assert frames_of(-0.2, 0.01, 0.0, 30.0) == (0, 0, 0)


def test_keyboard_review_accept_reject_edit_add_undo_and_restore(
        window, qtbot, weights_file, recording, tmp_path, settings):
    rec = _fresh(recording, tmp_path)
    w = window
    _open(w, qtbot, weights_file, rec)
    r = w.review
    _keys(w, Qt.Key.Key_V)  # review mode: rows from s01_events.csv, the first one looping
    assert r.active and [(x.onset, x.status) for x in r.session.rows] == [
        (16, "pending"), (40, "pending"), (54, "pending")]
    assert r.current == 0 and r.overlay.shown and r.loop_range() == (1, 43)
    qtbot.waitUntil(lambda: w.engine is not None and w.engine.speed == 0.25, timeout=60_000)
    qtbot.waitUntil(lambda: 1 <= w.position <= 43 and w.video.frames_drawn > 0, timeout=120_000)
    # the bar shows the loop's speed; the app's remembered speed stays
    assert w.playback.speed.currentData() == 0.25 and settings.speed == 1.0

    _keys(w, Qt.Key.Key_A, Qt.Key.Key_N, Qt.Key.Key_X, Qt.Key.Key_N)  # accept 1, reject 2
    assert r.current == 2 and r.loop_range() == (39, 81)
    qtbot.waitUntil(lambda: 39 <= w.position <= 81, timeout=120_000)  # looping the third
    lo, hi = w.plot.plot.getViewBox().viewRange()[0]  # the plot shows the loop, 1 s around
    assert (lo, hi) == pytest.approx((39 / 30 - 1.0, 82 / 30 + 1.0))
    # edit the third: drag its region on the score plot to end one frame later ...
    r.overlay.region.setRegion((54 / 30, 68 / 30))
    r.overlay.region.sigRegionChangeFinished.emit(r.overlay.region)
    assert (r.session.rows[2].onset, r.session.rows[2].offset) == (54, 67)
    # ... emotion forwards and back, AU text, onset one frame earlier, undone and redone
    _keys(w, Qt.Key.Key_E)
    assert r.session.rows[2].emotion == "others"
    _keys(w, (Qt.KeyboardModifier.ShiftModifier, Qt.Key.Key_E), Qt.Key.Key_U)
    assert r.panel.au_edit.hasFocus()
    QTest.keyClicks(r.panel.au_edit, "AU1+AU2")
    QTest.keyClick(r.panel.au_edit, Qt.Key.Key_Return)
    assert not r.panel.au_edit.hasFocus()  # Enter gave the keys back to the window
    _keys(w, Qt.Key.Key_1, Qt.Key.Key_Comma)
    assert r.session.rows[2].onset == 53
    _keys(w, (Qt.KeyboardModifier.ControlModifier, Qt.Key.Key_Z))
    assert r.session.rows[2].onset == 54
    _keys(w, (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
              Qt.Key.Key_Z))
    assert r.session.rows[2].onset == 53
    _keys(w, Qt.Key.Key_Period)
    # add the missed interval: loop off, pause, go to frame 75, add, MaE, first emotion
    _keys(w, Qt.Key.Key_K, Qt.Key.Key_Space)
    w.seek(75)
    _keys(w, Qt.Key.Key_I, Qt.Key.Key_T, Qt.Key.Key_E)
    assert r.current == 3
    expected = [
        ("16", "20", "28", "micro", "positive", "", "0.91", "accepted", "spotted"),
        ("40", "42", "46", "micro", "others", "", "0.52", "rejected", "spotted"),
        ("54", "59", "67", "micro", "surprise", "AU1+AU2", "0.83", "edited", "spotted"),
        ("75", "79", "87", "macro", "disgust", "", "", "added", "manual")]
    _keys(w, Qt.Key.Key_V)  # review mode off: the app's own speed again
    assert not r.active and w.engine.speed == 1.0 and w.playback.speed.currentData() == 1.0
    w.close()

    # re-open: the review is restored from s01.annotations.csv, row by row
    path = annotations_path(rec)
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    cols = ("onset", "apex", "offset", "type", "emotion", "au", "confidence", "status", "origin")
    assert [tuple(row[c] for c in cols) for row in rows] == expected
    assert {row["subject"] for row in rows} == {"s01"} and {row["video"] for row in rows} == {
        "s01"}
    assert {row["reviewer"] for row in rows} == {getpass.getuser()}
    assert all(row["reviewed_at"].endswith("+00:00") for row in rows)
    from ui.app import MainWindow

    w2 = MainWindow(settings)
    qtbot.addWidget(w2)
    w2.show()
    try:
        _open(w2, qtbot, weights_file, rec)
        assert w2.review.set_active(True)
        assert w2.review.session.rows == read_annotations(path)
        assert [(x.onset, x.status) for x in w2.review.session.rows] == [
            (16, "accepted"), (40, "rejected"), (54, "edited"), (75, "added")]
        assert w2.review.panel.table.rowCount() == 4
    finally:
        w2.close()


def test_review_needs_a_recording(window):
    assert not window.review.set_active(True)
    assert window.banner.kind == "error"
    assert "needs a recording (.db3/.bag)" in window.banner.text()
    window.spec = "/nonexistent/rec.db3"
    assert not window.review.set_active(True)
    assert "does not exist" in window.banner.text()
    assert not window.review.acts["act_accept"].isEnabled()


def test_malformed_annotations_are_one_clear_error(window, recording, tmp_path):
    rec = _fresh(recording, tmp_path)
    annotations_path(rec).write_text(
        "subject,video,onset,apex,offset,type,emotion,status\ns,v,1,2,3,micro,,later\n")
    window.spec = str(rec)  # the review needs no engine
    assert not window.review.set_active(True)
    assert window.banner.kind == "error"
    assert "line 2, column 'status'" in window.banner.text()


def test_unsaved_change_is_shown_kept_and_saved_with_the_next(window, recording, tmp_path):
    rec = _fresh(recording, tmp_path)
    window.spec = str(rec)
    r = window.review
    assert r.set_active(True) and len(r.session) == 3
    path = annotations_path(rec)
    path.mkdir()  # a folder where the file goes
    r.acts["act_accept"].trigger()
    assert window.banner.kind == "error" and "could not be saved" in window.banner.text()
    assert r.session.rows[0].status == "accepted"
    path.rmdir()
    r.acts["act_next"].trigger()
    r.acts["act_reject"].trigger()
    assert [x.status for x in read_annotations(path)] == ["accepted", "rejected", "pending"]
    r.acts["act_review"].trigger()  # review mode off
    assert not r.active and not r.dock.isVisible() and not r.overlay.shown


def test_events_found_in_analyze_output_and_added_from_a_file(window, recording, tmp_path):
    folder = tmp_path / "lab"
    (folder / "s01").mkdir(parents=True)
    shutil.copy(recording, folder / "s01.db3")
    # `rt-sfamnet analyze lab/s01.db3 --out lab/s01` -> lab/s01/events.csv
    write_intervals(folder / "s01" / "events.csv", [
        Interval("", "", 20, 22, 30, "micro", "happy", {"confidence": "0.7"})])
    window.spec = str(folder / "s01.db3")
    r = window.review
    assert r.set_active(True)
    assert [(x.onset, x.emotion, x.confidence, x.subject) for x in r.session.rows] == [
        (20, "happy", "0.7", "s01")]
    more = tmp_path / "other_events.csv"
    write_intervals(more, [Interval("", "", 20, 22, 30, "micro", "happy"),
                           Interval("", "", 60, 63, 70, "macro", "")])
    assert r.import_events(more) == 1  # the interval already under review is not repeated
    assert [x.onset for x in read_annotations(annotations_path(folder / "s01.db3"))] == [20, 60]
    assert r.panel.table.rowCount() == 2
    assert r.import_events(tmp_path / "missing.csv") == 0
    assert window.banner.kind == "error" and "does not exist" in window.banner.text()


def test_subject_field_renames_every_row_and_undo(window, recording, tmp_path):
    rec = _fresh(recording, tmp_path)
    window.spec = str(rec)
    r = window.review
    assert r.set_active(True) and r.panel.subject_edit.text() == "s01"
    r.panel.subject_edit.setText("P07")
    r.panel.subject_edit.editingFinished.emit()
    assert {x.subject for x in read_annotations(annotations_path(rec))} == {"P07"}
    r.acts["act_undo"].trigger()
    assert {x.subject for x in read_annotations(annotations_path(rec))} == {"s01"}


def test_every_review_action_has_a_shortcut_listed_in_the_docs():
    from pathlib import Path

    from ui.review import REVIEW_ACTIONS

    doc = (Path(__file__).resolve().parents[3] / "docs" / "gui.md").read_text()
    table = doc[doc.index("## Review mode"):doc.index("## Errors")]
    keys = set()
    for line in table.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            cell = line.rstrip("|").rsplit("|", 1)[1]
            keys.update(k.strip() for part in cell.split(" / ") for k in part.split("("))
    keys = {k.rstrip(")").strip() for k in keys}
    for name, (_text, shortcut, _tip, _checkable) in REVIEW_ACTIONS.items():
        assert shortcut in keys, f"{name}: {shortcut} is not in docs/gui.md's review table"


def _drag(qtbot, window, t_from: float, t_to: float, y: float = 0.5) -> None:
    """Drag with the left mouse button on the score plot from ``t_from`` to ``t_to`` (s)."""
    from PySide6.QtCore import QPointF

    view = window.plot.widget
    vb = window.plot.plot.getViewBox()
    start, end = (view.mapFromScene(vb.mapViewToScene(QPointF(t, y))) for t in (t_from, t_to))
    vp = view.viewport()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for k in range(1, 6):
        QTest.mouseMove(vp, start + (end - start) * (k / 5))
        qtbot.wait(10)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)


def test_mouse_drags_on_the_score_plot_move_the_offset_and_the_apex(
        window, recording, tmp_path, qtbot):
    rec = _fresh(recording, tmp_path)
    window.spec = str(rec)
    r = window.review
    assert r.set_active(True)
    qtbot.wait(100)
    row = r.session.rows[0]
    assert (row.onset, row.apex, row.offset) == (16, 20, 28)
    _drag(qtbot, window, 29 / 30, 32 / 30)  # the right edge (end of frame 28), 3 frames on
    assert (r.session.rows[0].offset, r.session.rows[0].status) == (31, "edited")
    _drag(qtbot, window, 20 / 30, 23 / 30, y=0.2)  # the dashed apex line
    assert r.session.rows[0].apex == 23
    assert [(x.apex, x.offset) for x in read_annotations(annotations_path(rec))][0] == (23, 31)
    r.acts["act_undo"].trigger()
    assert r.session.rows[0].apex == 20 and r.overlay.frames() == (16, 20, 31)


def test_opening_another_recording_reviews_that_one(window, recording, tmp_path):
    from types import SimpleNamespace

    rec = _fresh(recording, tmp_path)
    other = rec.with_name("s02.db3")
    shutil.copy(rec, other)
    window.spec = str(rec)
    r = window.review
    assert r.set_active(True)
    r.acts["act_reject"].trigger()
    window.spec = str(other)  # what open_source does before the engine is there
    r._on_opened(SimpleNamespace(spec=str(other)))
    assert r.active and r.session.path == annotations_path(other)
    assert len(r.session) == 0 and r.panel.table.rowCount() == 0  # no events for s02
    window.spec = str(rec)
    r._on_opened(SimpleNamespace(spec=str(rec)))
    assert [x.status for x in r.session.rows] == ["rejected", "pending", "pending"]
    window.spec = "sim"
    r._on_opened(SimpleNamespace(spec="sim"))  # not a recording: review mode ends
    assert not r.active and not r.acts["act_review"].isChecked()
