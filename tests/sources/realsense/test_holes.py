"""Holes in recordings: frame numbers from timestamps, missing depth never replaced by old
depth. Both readers (the SDK's playback and the rosbags one) on copies of the test clip
edited with sqlite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rt_sfamnet.errors import RecordingError
from rt_sfamnet.sources.realsense.index import nominal_indices
from tests.recording_edits import holed_copy

REPO = Path(__file__).resolve().parents[3]
CLIP = REPO / "recordings" / "clip.db3"


def _readers():
    out = []
    try:
        import pyrealsense2  # noqa: F401

        out.append("sdk")
    except ImportError:
        pass
    return [*out, "rosbags"]


def _reader(backend):
    from rt_sfamnet.sources.realsense import PlaybackSource

    return lambda path: PlaybackSource(path, backend=backend)


READERS = _readers()


def test_nominal_indices():
    assert nominal_indices([0.0, 33.4, 66.6, 166.7, 200.0], 30.0) == [0, 1, 2, 5, 6]
    assert nominal_indices([1000.0, 1001.0, 1033.3], 30.0) == [0, 1, 2]  # jitter: still +1
    assert nominal_indices([], 30.0) == []
    with pytest.raises(RecordingError, match="frame rate"):
        nominal_indices([0.0], 0.0)


@pytest.mark.parametrize("backend", READERS)
def test_lost_colour_frames_leave_their_numbers_unused(tmp_path, backend):
    path = holed_copy(CLIP, tmp_path / "holes.db3", "Color", range(20, 32))  # 12 frames
    with _reader(backend)(path) as src:
        frames = list(src)
        assert src.frame_count == 60 and src.fps == 30.0
    idx = [f.index for f in frames]
    assert idx == list(range(20)) + list(range(32, 60))
    t = np.array([f.timestamp for f in frames])
    np.testing.assert_allclose(t - t[0], np.array(idx) / 30.0, atol=1e-3)  # numbers = seconds
    assert all("gap" not in f.meta for f in frames)


@pytest.mark.parametrize("backend", READERS)
def test_missing_depth_is_a_recorded_gap_never_old_depth(tmp_path, backend):
    path = holed_copy(CLIP, tmp_path / "nodepth.db3", "Depth", range(30, 60))
    with _reader(backend)(path) as src:
        frames = list(src)
    assert [f.index for f in frames] == list(range(60))
    for f in frames[:30]:
        assert "gap" not in f.meta and np.count_nonzero(f.depth) > 0
    for f in frames[30:]:
        assert f.meta["gap"] == "missing_depth"
        assert not np.any(f.depth) and np.isnan(f.meta["depth_timestamp"])


@pytest.mark.parametrize("backend", READERS)
def test_seek_into_a_hole_continues_at_the_next_frame(tmp_path, backend):
    path = holed_copy(CLIP, tmp_path / "holes.db3", "Color", range(20, 32))
    with _reader(backend)(path) as src:
        src.seek(25)
        assert [f.index for f in src][:3] == [32, 33, 34]
