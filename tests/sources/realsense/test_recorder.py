"""write_recording: what it writes (read back through the file's own index) and its errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyrealsense2")

from rt_sfamnet.errors import RecordingError  # noqa: E402
from rt_sfamnet.frames import Intrinsics, RGBDFrame  # noqa: E402
from rt_sfamnet.sources.realsense import write_recording  # noqa: E402
from rt_sfamnet.sources.realsense.index import RecordingIndex  # noqa: E402
from rt_sfamnet.sources.realsense.recorder import _WriteProgress  # noqa: E402
from tests.sources.realsense.helpers import INTR, TIMES, N, make_frame  # noqa: E402


def test_frame_numbers_and_timestamps_are_stored_per_stream(recording: Path) -> None:
    index = RecordingIndex(recording)
    index.close()
    color, depth = index.color, index.depth
    assert color.numbers == depth.numbers == list(range(N))
    np.testing.assert_allclose(color.stamps_ms, np.array(TIMES) * 1000.0, atol=1e-3)
    assert color.stamps_ms == depth.stamps_ms
    assert color.times == sorted(color.times)
    progress = _WriteProgress(recording)
    try:
        assert progress.last_written_per_stream() == {"Color": N - 1, "Depth": N - 1}
        assert progress.last_written() == N - 1
        progress.wait_written({"Color": N - 1, "Depth": N - 1})  # returns at once
        progress.wait_backlog(list(range(N)), 0)
    finally:
        progress.close()


def test_sparse_frame_numbers_are_kept(tmp_path: Path) -> None:
    frames = [RGBDFrame(f.color, f.depth, f.timestamp, 3 * f.index + 5, f.intrinsics)
              for f in (make_frame(i) for i in range(3))]
    path = tmp_path / "sparse.db3"
    assert write_recording(frames, path) == 3
    index = RecordingIndex(path)
    index.close()
    assert index.color.numbers == [5, 8, 11]


def test_write_recording_errors(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match=r"only rosbag2 '\.db3'"):
        write_recording([make_frame(0)], tmp_path / "old.bag")
    with pytest.raises(RecordingError, match="does not exist"):
        write_recording([make_frame(0)], tmp_path / "nofolder" / "x.db3")
    with pytest.raises(RecordingError, match="no frames"):
        write_recording([], tmp_path / "none.db3")
    with pytest.raises(RecordingError, match=r"fps must be in \(0, 1000\]"):
        write_recording([make_frame(0)], tmp_path / "fps.db3", fps=0)
    with pytest.raises(RecordingError, match="timestamps must increase"):
        write_recording([make_frame(0, 1.0), make_frame(1, 1.0)], tmp_path / "ts.db3")
    f0, f1 = make_frame(0), make_frame(1)
    with pytest.raises(RecordingError, match="frame 1: indices must increase, found 0 after 0"):
        write_recording([f0, RGBDFrame(f1.color, f1.depth, f1.timestamp, 0, INTR)],
                        tmp_path / "idx.db3")
    small = RGBDFrame(np.zeros((240, 320, 3), np.uint8), np.zeros((240, 320), np.uint16), 9.0,
                      2, Intrinsics.from_fov(320, 240))
    with pytest.raises(RecordingError, match="expected 640x480"):
        write_recording([make_frame(0), make_frame(1), small], tmp_path / "size.db3")
    with pytest.raises(RecordingError, match="frame 0: intrinsics are for 320x240"):
        write_recording([make_frame(0, intr=Intrinsics.from_fov(320, 240))], tmp_path / "i.db3")
    with pytest.raises(RecordingError, match="depth intrinsics are for 320x240"):
        write_recording([make_frame(0)], tmp_path / "d.db3",
                        depth_intrinsics=Intrinsics.from_fov(320, 240))
    # A failed write leaves neither the file nor its temporary.
    assert sorted(p.name for p in tmp_path.iterdir()) == []
