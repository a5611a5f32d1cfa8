"""The Record toggle (ui.recording): record while the live view and the analysis go on."""

from __future__ import annotations

import pytest

pytest.importorskip("pyrealsense2")


@pytest.fixture
def engine_window(window, weights_file):
    window.weights = weights_file
    yield window
    window.close()


def test_record_toggle_keeps_the_view_and_analysis_running(engine_window, qtbot, tmp_path):
    from rt_sfamnet.sources.realsense import PlaybackSource

    w = engine_window
    w.open_source("sim:seed=3,duration=30,width=320,height=240")
    qtbot.waitUntil(lambda: not w.opening and w.engine is not None, timeout=30_000)
    qtbot.waitUntil(lambda: w.video.frames_drawn >= 3, timeout=30_000)
    engine = w.engine
    target = tmp_path / "session.db3"
    w.recorder.ask_path = lambda: str(target)
    assert w.act_record.isEnabled() and w.act_record.isCheckable()

    w.act_record.trigger()  # start
    assert w.act_record.isChecked() and w.recorder.recording
    assert "Recording to" in w.banner.text()
    drawn, scored = w.video.frames_drawn, w.plot.curve_points("score")
    qtbot.waitUntil(lambda: w.video.frames_drawn >= drawn + 20, timeout=30_000)

    with qtbot.waitSignal(w.recorder.finished, timeout=60_000) as blocker:
        w.act_record.trigger()  # stop
    path, frames, error = blocker.args
    assert error == "" and path == str(target) and frames >= 20
    assert not w.act_record.isChecked() and not w.recorder.recording
    assert "Recorded" in w.banner.text()
    # the same engine went on analysing all along
    assert w.engine is engine and not w.finished and engine.error is None
    qtbot.waitUntil(lambda: w.plot.curve_points("score") > scored, timeout=30_000)
    with PlaybackSource(target, backend="rosbags").open() as rec:
        assert rec.frame_count == frames
        first = next(iter(rec))
    assert first.color.shape == (240, 320, 3)
    assert str(target) in w.settings.recent_files()


def test_record_without_a_source_explains(window):
    window.recorder.ask_path = lambda: pytest.fail("no file is asked for")
    window.act_record.trigger()
    assert not window.act_record.isChecked()
    assert "Nothing to record" in window.banner.text()


def test_cancelled_file_dialog_leaves_record_off(engine_window, qtbot):
    w = engine_window
    w.open_source("sim:seed=3,duration=30,width=320,height=240")
    qtbot.waitUntil(lambda: not w.opening and w.engine is not None, timeout=30_000)
    w.recorder.ask_path = lambda: None
    w.act_record.trigger()
    assert not w.act_record.isChecked() and not w.recorder.recording


def _open_copy_of_clip(w, qtbot, tmp_path):
    import shutil
    from pathlib import Path

    clip = Path(__file__).resolve().parents[2] / "recordings" / "clip.db3"
    own = tmp_path / "own.db3"
    shutil.copy(clip, own)
    w.open_source(str(own))
    qtbot.waitUntil(lambda: not w.opening and w.engine is not None, timeout=30_000)
    return own


def _digest(p):
    import hashlib

    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_record_never_records_onto_the_open_recording(engine_window, qtbot, tmp_path):
    w = engine_window
    own = _open_copy_of_clip(w, qtbot, tmp_path)
    before = _digest(own)
    (tmp_path / "link.db3").symlink_to(own)
    w.recorder.confirm_overwrite = lambda path: pytest.fail("never asked: always refused")
    for target in (own, tmp_path / "link.db3", tmp_path / "sub" / ".." / "own.db3"):
        w.recorder.ask_path = lambda t=target: str(t)
        w.act_record.trigger()
        assert not w.act_record.isChecked() and not w.recorder.recording
        assert "it is the recording being played" in w.banner.text()
    assert _digest(own) == before


def test_record_asks_before_it_overwrites(engine_window, qtbot, tmp_path):
    import shutil

    from rt_sfamnet.sources.realsense.playback import PlaybackSource

    w = engine_window
    own = _open_copy_of_clip(w, qtbot, tmp_path)
    other = tmp_path / "other.db3"
    shutil.copy(own, other)
    before = _digest(other)
    asked: list[str] = []
    w.recorder.ask_path = lambda: str(other)
    w.recorder.confirm_overwrite = lambda path: asked.append(path) or False  # "No"
    w.act_record.trigger()
    assert asked == [str(other)] and not w.act_record.isChecked() and not w.recorder.recording
    assert "other.db3 was kept" in w.banner.text() and _digest(other) == before
    w.recorder.confirm_overwrite = lambda path: asked.append(path) or True  # "Yes"
    w.act_record.trigger()
    assert len(asked) == 2 and w.act_record.isChecked() and w.recorder.recording
    with qtbot.waitSignal(w.recorder.finished, timeout=60_000) as blocker:
        w.act_record.trigger()  # stop
    path, frames, error = blocker.args
    assert error == ""
    if path:  # frames arrived while recording: the file is the new recording
        with PlaybackSource(other, backend="rosbags").open() as rec:
            assert rec.frame_count == frames
    else:  # stopped before any frame: nothing was written, the old file is intact
        assert _digest(other) == before
