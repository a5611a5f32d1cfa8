"""PlaybackSource through the real pyrealsense2: write -> play round trips, seek,
alignment, ground truth and every way a file can be wrong."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyrealsense2")

from rt_sfamnet.errors import RecordingError, SourceError  # noqa: E402
from rt_sfamnet.frames import Intrinsics, RGBDFrame  # noqa: E402
from rt_sfamnet.intervals import Interval, write_intervals  # noqa: E402
from rt_sfamnet.sources import make_source, open_source  # noqa: E402
from rt_sfamnet.sources.realsense import (  # noqa: E402
    PlaybackSource,
    ground_truth_path,
    write_recording,
)
from tests.sources.realsense.helpers import (  # noqa: E402
    FRAMES,
    INDEX,
    INTR,
    TIMES,
    H,
    N,
    W,
    make_frame,
)


def test_round_trip_keeps_count_order_timestamps_intrinsics_pixels(recording: Path) -> None:
    with PlaybackSource(recording) as src:
        assert src.frame_count == FRAMES  # numbers from timestamps: the lost frame's is unused
        assert src.intrinsics == INTR
        assert src.fps == 30.0
        assert src.seekable and not src.live
        assert src.registered  # written registered: rs.align is skipped
        frames = list(src)
    assert [f.index for f in frames] == INDEX
    ts = np.array([f.timestamp for f in frames])
    np.testing.assert_allclose(ts - ts[0], np.array(TIMES) - TIMES[0], atol=2e-6)
    np.testing.assert_allclose(ts, TIMES, atol=2e-6)
    for rank, f in enumerate(frames):
        ref = make_frame(rank)
        assert f.intrinsics == INTR
        assert f.depth.dtype == np.uint16 and f.color.dtype == np.uint8
        np.testing.assert_array_equal(f.depth, ref.depth)
        np.testing.assert_array_equal(f.color, ref.color)
        assert f.meta["frame_number"] == rank and "gap" not in f.meta
        assert f.color.flags.owndata and f.depth.flags.owndata  # copies, not SDK buffers


def test_iteration_ends_cleanly_and_seek_restarts(recording: Path) -> None:
    with PlaybackSource(recording) as src:
        assert len(list(src)) == N
        assert list(src) == []  # at the end: nothing more, no hang
        src.seek(0)
        assert [f.index for f in src] == INDEX


def test_seek_forward_backward_and_during_iteration(recording: Path) -> None:
    with PlaybackSource(recording) as src:
        src.seek(7)
        it = iter(src)
        f = next(it)
        assert f.index == 7
        np.testing.assert_array_equal(f.depth, make_frame(6).depth)  # the 7th frame written
        assert next(it).index == 8
        src.seek(2)  # while iterating
        assert [next(it).index for _ in range(3)] == [2, 3, 4]
        src.seek(6)  # the lost frame's number: playback goes on at the next frame
        assert next(it).index == 7
        src.seek(FRAMES - 1)
        rest = list(it)
        assert [g.index for g in rest] == [FRAMES - 1]
        np.testing.assert_array_equal(rest[0].color, make_frame(N - 1).color)
        with pytest.raises(SourceError, match="past the end"):
            src.seek(FRAMES)
        with pytest.raises(SourceError, match=">= 0"):
            src.seek(-1)


def test_sources_never_pace_the_engine_does(recording: Path) -> None:
    """Pacing lives in the engine (EngineConfig.realtime / speed): a recording takes no
    pacing options, and says so in one clear error."""
    with pytest.raises(SourceError, match=r"cannot use option\(s\) \['realtime', 'speed'\]"):
        make_source(recording, realtime=True, speed=2.0)
    with PlaybackSource(recording) as src:
        assert not src.realtime and not src.live and src.dropped == 0


def test_unknown_backend_is_a_source_error(recording: Path) -> None:
    with pytest.raises(SourceError, match=r"backend must be one of \['auto', 'sdk', 'rosbags'\], "
                                          r"found 'ffmpeg'"):
        PlaybackSource(recording, backend="ffmpeg")


def test_uncompressed_recording_plays_the_same_and_is_larger(tmp_path: Path,
                                                            recording: Path) -> None:
    path = tmp_path / "raw.db3"
    assert write_recording((make_frame(i) for i in range(4)), path, compress=False) == 4
    with open_source(path) as src:
        frames = list(src)
    assert [f.index for f in frames] == [0, 1, 2, 3]
    for f in frames:
        np.testing.assert_array_equal(f.depth, make_frame(f.index).depth)
        np.testing.assert_array_equal(f.color, make_frame(f.index).color)
    raw_per_frame = path.stat().st_size / 4
    comp_per_frame = recording.stat().st_size / N
    assert raw_per_frame > W * H * 5  # 3 B colour + 2 B depth per pixel
    assert comp_per_frame < raw_per_frame


def test_camera_style_recording_is_aligned_by_rs_align(tmp_path: Path) -> None:
    """Depth from a wider depth camera is re-projected onto the colour image."""
    color_intr = Intrinsics(W, H, 600.0, 600.0, 319.5, 239.5)
    depth_intr = Intrinsics(W, H, 420.0, 420.0, 319.5, 239.5)
    frames = []
    for i in range(3):
        f = make_frame(i, intr=color_intr)
        depth = np.full((H, W), 800, np.uint16)  # a flat wall at 0.8 m
        frames.append(RGBDFrame(f.color, depth, f.timestamp, i, color_intr))
    path = tmp_path / "camera_like.db3"
    write_recording(frames, path, depth_intrinsics=depth_intr)
    with PlaybackSource(path) as src:
        assert not src.registered
        out = list(src)
        conv = src.reader._conv
    assert len(out) == 3
    # no SDK depth frame stays referenced by the converter after a pair is converted
    assert conv is None or conv._pending_depth is None
    for f in out:
        assert f.intrinsics == color_intr
        valid = f.depth[f.depth > 0]
        assert valid.size > 0.95 * W * H  # the wider depth view covers the colour view
        assert np.all(valid == 800)
        np.testing.assert_array_equal(f.color, frames[f.index].color)


def test_ground_truth_sidecar(tmp_path: Path, recording: Path) -> None:
    copy = tmp_path / "demo.db3"
    copy.write_bytes(recording.read_bytes())
    with PlaybackSource(copy) as src:
        assert src.ground_truth is None
    gt = [Interval("sim", "seed0", 2, 4, 7, "micro", "positive"),
          Interval("sim", "seed0", 8, None, 11, "macro", "")]
    write_intervals(ground_truth_path(copy), gt)
    src = PlaybackSource(copy)
    assert src.ground_truth == gt  # known before open
    with src:
        assert src.ground_truth == gt


def test_old_players_leave_nothing_in_the_queue(recording: Path) -> None:
    with PlaybackSource(recording, queue_size=2) as src:
        it = iter(src)
        next(it)
        src.seek(5)  # restarts the SDK playback: the old run's frames are dropped
        assert next(it).index == 5
    queue = src.reader._queue
    assert len(queue) == 0 and queue.dropped == 0  # backpressure, never drops


# -- error paths ---------------------------------------------------------------------------


def test_missing_recording(tmp_path: Path) -> None:
    for name in ("none.db3", "none.bag"):
        with pytest.raises(RecordingError, match="does not exist"):
            PlaybackSource(tmp_path / name).open()


@pytest.mark.parametrize("fraction", [0.5, 0.97])
def test_truncated_recording(tmp_path: Path, recording: Path, fraction: float) -> None:
    data = recording.read_bytes()
    cut = tmp_path / "cut.db3"
    cut.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(RecordingError, match="truncated"):
        PlaybackSource(cut).open()


@pytest.mark.parametrize("suffix", [".db3", ".bag"])
def test_text_file_renamed(tmp_path: Path, suffix: str) -> None:
    p = tmp_path / f"notes{suffix}"
    p.write_text("this is not a recording\n" * 20)
    with pytest.raises(RecordingError, match="not a"):
        PlaybackSource(p).open()


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.db3"
    p.write_bytes(b"")
    with pytest.raises(RecordingError, match="empty"):
        PlaybackSource(p).open()


def test_sqlite_file_that_is_not_realsense(tmp_path: Path) -> None:
    p = tmp_path / "other.db3"
    con = sqlite3.connect(p)
    con.execute("CREATE TABLE topics(id INTEGER PRIMARY KEY, name TEXT)")
    con.execute("INSERT INTO topics VALUES (1, '/chatter')")
    con.commit()
    con.close()
    with pytest.raises(RecordingError, match="not a RealSense recording"):
        PlaybackSource(p).open()
    q = tmp_path / "nosuchtables.db3"
    con = sqlite3.connect(q)
    con.execute("CREATE TABLE foo(x)")
    con.commit()
    con.close()
    with pytest.raises(RecordingError, match="damaged|not a RealSense"):
        PlaybackSource(q).open()


def test_rosbag1_header_with_garbage(tmp_path: Path) -> None:
    p = tmp_path / "broken.bag"
    p.write_bytes(b"#ROSBAG V2.0\n" + bytes(range(256)) * 8)
    with pytest.raises(RecordingError, match=re.escape(f"{p}: pyrealsense2 cannot play it: ")):
        PlaybackSource(p).open()
