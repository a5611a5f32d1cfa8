"""WebcamSource: CI has no webcam, so the same code (OpenCV's VideoCapture, the probe of the
first frames, the capture clock) runs on video files written here; a missing device is one
clear line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rt_sfamnet.errors import SourceError
from rt_sfamnet.sources import make_source
from rt_sfamnet.sources.webcam import PROBE_FRAMES, WebcamSource, parse_webcam_spec
from tests.sources.video_helpers import VFR_MS, H, W, image, write_video

pytest.importorskip("av")


def test_specs() -> None:
    assert parse_webcam_spec("webcam") == 0
    assert parse_webcam_spec("webcam:2") == 2
    assert parse_webcam_spec("webcam:/dev/video2") == "/dev/video2"
    src = make_source("webcam:3")
    assert isinstance(src, WebcamSource) and src.device == 3 and src.live and not src.has_depth


def test_capture_clock_timestamps_and_median_rate_on_a_file(tmp_path: Path) -> None:
    """The probe frames are delivered, in order, before the rest; times are the capture
    clock (on a file: the presentation times); fps is 1 / median interval of the probe."""
    path = write_video(tmp_path / "cam.mp4", VFR_MS)
    src = make_source(f"webcam:{path}")
    assert isinstance(src, WebcamSource) and not src.live  # a file: never dropped
    with src:
        assert src.fps == pytest.approx(1000 / 33, rel=0.02)
        frames = list(src)
    assert [f.index for f in frames] == list(range(len(VFR_MS)))
    assert len(frames) > PROBE_FRAMES
    got = np.array([f.timestamp for f in frames])
    # OpenCV reports the first frame's position oddly on some files: compare the gaps after it
    np.testing.assert_allclose(np.diff(got)[1:], np.diff(VFR_MS)[1:] / 1000, atol=1.5e-3)
    for i in (0, PROBE_FRAMES, len(VFR_MS) - 1):
        assert frames[i].color.shape == (H, W, 3) and not frames[i].depth.any()
        assert np.abs(frames[i].color.astype(int) - image(i)).mean() < 4.0  # RGB, not BGR


@pytest.mark.parametrize("spec", ["webcam:9", "webcam:/dev/video-none"])
def test_missing_device_is_one_clear_line(spec: str, capfd) -> None:
    if spec == "webcam:9" and Path("/dev/video9").exists():
        pytest.skip("this machine has a /dev/video9")
    with pytest.raises(SourceError, match="no such device") as info:
        make_source(spec).open()
    assert "\n" not in str(info.value)
    assert capfd.readouterr().err == ""  # OpenCV's own warnings stay quiet


def test_unreadable_device_file_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "video0"
    bogus.write_bytes(b"\0" * 100)
    with pytest.raises(SourceError, match="cannot be opened|delivered no frame"):
        WebcamSource(str(bogus)).open()
