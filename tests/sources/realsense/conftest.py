"""Recordings written once per session through the real pyrealsense2 recorder."""

from __future__ import annotations

from pathlib import Path

import pytest

from rt_sfamnet.frames import RGBDFrame
from tests.sources.realsense.helpers import N, make_frame


@pytest.fixture(scope="session")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 frames (irregular timestamps), registered depth, compressed."""
    from rt_sfamnet.sources.realsense import write_recording

    path = tmp_path_factory.mktemp("rec") / "clip.db3"
    n = write_recording((make_frame(i) for i in range(N)), path, fps=30)
    assert n == N
    return path


@pytest.fixture(scope="session")
def camera_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 frames at exactly 30 fps, uncompressed: stands in for the camera."""
    from rt_sfamnet.sources.realsense import write_recording

    path = tmp_path_factory.mktemp("cam") / "cam.db3"
    frames = (make_frame(i % N, ts=i / 30.0) for i in range(30))
    write_recording((RGBDFrame(f.color, f.depth, f.timestamp, i, f.intrinsics)
                     for i, f in enumerate(frames)), path, compress=False)
    return path
