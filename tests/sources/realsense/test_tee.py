"""RecordingTee (record while analysing), camera controls (--camera KEY=VALUE) on an SDK
software device, and camera:SERIAL specs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rt_sfamnet.errors import SourceError

pytest.importorskip("pyrealsense2")


def _sim(seconds: float = 1.0):
    from rt_sfamnet.sources.simulated import SimulatedSource

    return SimulatedSource(seed=5, width=320, height=240, duration_s=seconds)


def _play(path: Path) -> list:
    from rt_sfamnet.sources.realsense import PlaybackSource

    with PlaybackSource(path, backend="rosbags").open() as s:
        return list(s)


def test_tee_passes_every_frame_and_records_two_files(tmp_path):
    from rt_sfamnet.sources.realsense.tee import RecordingTee

    tee = RecordingTee(_sim(), record=tmp_path / "a.db3")
    seen = []
    with tee:
        for f in tee:
            seen.append(f)
            if len(seen) == 10:
                assert tee.stop_recording() == tmp_path / "a.db3" and tee.recording is None
            if len(seen) == 14:
                tee.start_recording(tmp_path / "b.db3")
                with pytest.raises(SourceError, match="already recording"):
                    tee.start_recording(tmp_path / "c.db3")
    assert len(seen) == 30 and tee.error is None and tee.record_dropped == 0
    assert tee.files == [tmp_path / "a.db3", tmp_path / "b.db3"] and tee.recorded == 10 + 16
    a, b = _play(tmp_path / "a.db3"), _play(tmp_path / "b.db3")
    assert len(a) == 10 and len(b) == 16
    for got, want in zip(a + b, seen[:10] + seen[14:], strict=True):
        assert np.array_equal(got.color, want.color) and np.array_equal(got.depth, want.depth)
        assert got.timestamp == pytest.approx(want.timestamp, abs=1e-6)
    ia, iw = a[0].intrinsics, seen[0].intrinsics  # a recording stores them as float32
    assert (ia.width, ia.height, ia.model) == (iw.width, iw.height, iw.model)
    assert ia.fx == pytest.approx(iw.fx, rel=1e-6) and ia.ppy == pytest.approx(iw.ppy, rel=1e-6)


def test_tee_stopped_before_any_frame_keeps_no_file(tmp_path):
    from rt_sfamnet.sources.realsense.tee import RecordingTee

    tee = RecordingTee(_sim()).open()
    try:
        tee.start_recording(tmp_path / "empty.db3")
        assert tee.stop_recording() is None
        assert not (tmp_path / "empty.db3").exists() and tee.files == []
        with pytest.raises(Exception, match=r"\.db3"):
            tee.start_recording(tmp_path / "x.bag")
    finally:
        tee.close()


def _software_camera():
    import pyrealsense2 as rs

    dev = rs.software_device()
    stereo = dev.add_sensor("Stereo Module")
    rgb = dev.add_sensor("RGB Camera")
    # pyrealsense2's option_range takes (min, max, default, step)... as printed back below
    stereo.add_option(rs.option.exposure, rs.option_range(1, 165000, 8500, 1), True)
    stereo.add_option(rs.option.enable_auto_exposure, rs.option_range(0, 1, 1, 1), True)
    stereo.add_option(rs.option.laser_power, rs.option_range(0, 360, 150, 30), True)
    stereo.add_option(rs.option.visual_preset, rs.option_range(0, 5, 1, 1), True)
    rgb.add_option(rs.option.exposure, rs.option_range(1, 10000, 156, 1), True)
    return dev


def test_camera_options_are_set_checked_and_read_back():
    import pyrealsense2 as rs

    from rt_sfamnet.sources.realsense.options import (
        apply_camera_options,
        parse_camera_options,
        read_camera_options,
    )

    dev = _software_camera()
    r = dev.query_sensors()[0].get_option_range(rs.option.laser_power)
    assert (r.min, r.max, r.step) == (0, 360, 30)
    got = apply_camera_options(dev, parse_camera_options(
        ["exposure=3000", "laser_power=240", "visual_preset=high_accuracy",
         "color_exposure=300"]))
    assert got == {"exposure": 3000.0, "laser_power": 240.0,
                   "visual_preset": float(int(rs.rs400_visual_preset.high_accuracy)),
                   "color_exposure": 300.0}
    assert read_camera_options(dev)["auto_exposure"] == 0.0  # exposure switched auto off
    with pytest.raises(SourceError, match="expected 0 to 360 in steps of 30"):
        apply_camera_options(dev, {"laser_power": 250.0})
    with pytest.raises(SourceError, match="no gain"):
        apply_camera_options(dev, {"color_gain": 16.0})
    assert read_camera_options(dev)["laser_power"] == 240.0  # the refused value changed nothing


@pytest.mark.parametrize("bad, message", [
    (["shutter=3"], "unknown camera setting"),
    (["exposure"], "KEY=VALUE"),
    (["exposure=fast"], "expected a number"),
    (["visual_preset=cinematic"], "high_accuracy"),
])
def test_bad_camera_options_are_one_clear_error(bad, message):
    from rt_sfamnet.sources.realsense.options import parse_camera_options

    with pytest.raises(SourceError, match=message):
        parse_camera_options(bad)


def test_camera_serial_spec_and_options_reach_the_camera_source():
    from rt_sfamnet.sources import make_source

    cam = make_source("camera:123456", options=["laser_power=150"])
    assert type(cam).__name__ == "CameraSource"
    assert cam.serial == "123456" and cam.options == {"laser_power": 150.0}
    assert make_source("camera").serial is None
    with pytest.raises(SourceError, match="unknown camera setting"):
        make_source("camera", options=["bogus=1"])


@pytest.mark.slow
def test_analyze_records_what_it_analyses(tmp_path, capsys):
    """`analyze SOURCE --record F.db3`: analysing F.db3 afterwards gives the same rows (the
    same pixels; scores to float32 rounding, as the file stores the intrinsics in float32)."""
    from rt_sfamnet.cli import main

    spec = "sim:seed=4,duration=1.5,width=320,height=240"
    rec = tmp_path / "session.db3"
    assert main(["analyze", spec, "--record", str(rec), "--out", str(tmp_path / "live"),
                 "--no-progress", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["recording"]["frames"] == summary["frames_in"] == 45
    assert summary["recording"]["dropped"] == 0
    assert main(["analyze", str(rec), "--out", str(tmp_path / "replay"), "--no-progress"]) == 0

    import pandas as pd

    live, replay = (pd.read_csv(tmp_path / n / "frames.csv") for n in ("live", "replay"))
    exact = ["frame", "face_found", "face_x0", "face_y0", "face_size", "depth_ok"]
    pd.testing.assert_frame_equal(live[exact], replay[exact])
    close = ["score", "micro_smoothed", "macro_smoothed"]
    assert np.allclose(live[close].to_numpy(), replay[close].to_numpy(), atol=1e-4,
                       equal_nan=True)
    assert main(["analyze", spec, "--camera", "exposure=100", "--out",
                 str(tmp_path / "x")]) == 2
    assert "expected a 'camera' source" in capsys.readouterr().err
