"""The window opens the new ways in: a video file (File ▸ Open's filter lists videos) and a
CASME II-style folder at ``gui --fps``; both are RGB-only sources at their own rate."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.sources.video_helpers import VFR_MS, write_video

pytest.importorskip("av")


def test_open_dialog_lists_videos():
    from ui.dialogs import RECORDING_FILTER

    first = RECORDING_FILTER.split(";;")[0]
    for suffix in ("db3", "bag", "mp4", "mov", "avi", "mkv", "webm"):
        assert f"*.{suffix}" in first


def test_window_opens_a_video_and_a_folder_at_their_rates(window, qtbot, tmp_path: Path):
    from tests.weights_helpers import save_untrained

    w = window
    w.weights = str(save_untrained(tmp_path / "optical.safetensors"))  # RGB-only sources
    w.source_fps = 200.0  # gui --fps: frame folders only
    video = write_video(tmp_path / "clip.mp4", VFR_MS)
    w.open_source(str(video))
    qtbot.waitUntil(lambda: not w.opening, timeout=60_000)
    assert w.banner.kind != "error", w.banner.text()
    assert not w.engine.source.has_depth
    assert w.engine.fps == pytest.approx(1000 / 33)  # the median interval; --fps not applied
    folder = tmp_path / "EP02"
    folder.mkdir()
    for n in range(46, 60):
        assert cv2.imwrite(str(folder / f"img{n}.jpg"), np.full((48, 64, 3), n, np.uint8))
    w.open_source(str(folder))
    qtbot.waitUntil(lambda: not w.opening, timeout=60_000)
    assert w.banner.kind != "error", w.banner.text()
    assert w.engine.fps == 200.0 and not w.engine.source.has_depth
