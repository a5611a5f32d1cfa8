"""RealSense sources through the real pyrealsense2: write -> play round trips, seek, errors.

No camera is connected here, so the camera tests check the "no camera" paths for real.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyrealsense2")

from rt_sfamnet.cli import main  # noqa: E402
from rt_sfamnet.errors import (  # noqa: E402
    CameraDisconnectedError,
    CameraNotFoundError,
    RecordingError,
    SourceError,
)
from rt_sfamnet.frames import Intrinsics, RGBDFrame  # noqa: E402
from rt_sfamnet.intervals import Interval, write_intervals  # noqa: E402
from rt_sfamnet.sources import open_source  # noqa: E402
from rt_sfamnet.sources.realsense import (  # noqa: E402
    CameraSource,
    DropOldestQueue,
    PlaybackSource,
    ground_truth_path,
    record_camera,
    write_recording,
)

W, H = 640, 480
N = 12
# Values exactly representable in float32 (the SDK stores intrinsics as float).
INTR = Intrinsics(W, H, 600.5, 601.25, 320.25, 240.75, "brown_conrady",
                  (0.125, -0.25, 0.0, 0.0, 0.0625))
# Irregular spacing (a dropped frame after index 5) to check relative timestamps.
TIMES = [100.0 + i / 30.0 + (1 / 30.0 if i > 5 else 0.0) for i in range(N)]


def make_frame(i: int, ts: float | None = None, intr: Intrinsics = INTR) -> RGBDFrame:
    """A textured gradient with noise, and a depth ramp with holes and far values."""
    rng = np.random.default_rng(i)
    yy, xx = np.mgrid[0:H, 0:W]
    color = np.dstack([(xx + 7 * i) % 256, (2 * yy + i) % 256, ((xx ^ yy) + 3 * i) % 256])
    color = np.clip(color + rng.integers(-4, 5, color.shape), 0, 255).astype(np.uint8)
    depth = (400 + xx + 2 * yy + 10 * i).astype(np.uint16)
    depth[rng.random((H, W)) < 0.02] = 0  # holes
    depth[:4, :4] = 65535  # the far end of the range survives too
    return RGBDFrame(color, depth, TIMES[i] if ts is None else ts, i, intr)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "clip.db3"
    n = write_recording((make_frame(i) for i in range(N)), path, fps=30)
    assert n == N
    return path


def test_round_trip_keeps_count_order_timestamps_intrinsics_pixels(recording: Path) -> None:
    with PlaybackSource(recording) as src:
        assert src.frame_count == N
        assert src.intrinsics == INTR
        assert src.fps == 30.0
        assert src.seekable and not src.live
        assert src.registered  # written registered: rs.align is skipped
        frames = list(src)
    assert [f.index for f in frames] == list(range(N))
    ts = np.array([f.timestamp for f in frames])
    np.testing.assert_allclose(ts - ts[0], np.array(TIMES) - TIMES[0], atol=2e-6)
    np.testing.assert_allclose(ts, TIMES, atol=2e-6)
    for f in frames:
        ref = make_frame(f.index)
        assert f.intrinsics == INTR
        assert f.depth.dtype == np.uint16 and f.color.dtype == np.uint8
        np.testing.assert_array_equal(f.depth, ref.depth)
        np.testing.assert_array_equal(f.color, ref.color)
        assert f.meta["frame_number"] == f.index
        assert f.color.flags.owndata and f.depth.flags.owndata  # copies, not SDK buffers


def test_iteration_ends_cleanly_and_seek_restarts(recording: Path) -> None:
    with PlaybackSource(recording) as src:
        assert len(list(src)) == N
        assert list(src) == []  # at the end: nothing more, no hang
        src.seek(0)
        assert [f.index for f in src] == list(range(N))


def test_seek_forward_backward_and_during_iteration(recording: Path) -> None:
    with PlaybackSource(recording) as src:
        src.seek(7)
        it = iter(src)
        f = next(it)
        assert f.index == 7
        np.testing.assert_array_equal(f.depth, make_frame(7).depth)
        assert next(it).index == 8
        src.seek(2)  # while iterating
        assert [next(it).index for _ in range(3)] == [2, 3, 4]
        src.seek(N - 1)
        rest = list(it)
        assert [g.index for g in rest] == [N - 1]
        np.testing.assert_array_equal(rest[0].color, make_frame(N - 1).color)
        with pytest.raises(SourceError, match="past the end"):
            src.seek(N)
        with pytest.raises(SourceError, match=">= 0"):
            src.seek(-1)


def test_realtime_pacing_follows_frame_timestamps(recording: Path) -> None:
    dues: list[float] = []
    with PlaybackSource(recording, realtime=True, speed=2.0) as src:
        src._sleep_until = dues.append  # record when each frame is due instead of sleeping
        frames = list(src)
    assert len(frames) == N
    assert len(dues) == N - 1  # the first frame anchors the clock
    span = np.array(dues) - (dues[0] - (TIMES[1] - TIMES[0]) / 2.0)
    np.testing.assert_allclose(span, (np.array(TIMES[1:]) - TIMES[0]) / 2.0, atol=1e-5)


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
        conv = src._conv
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
    assert ground_truth_path("x/demo.db3") == Path("x/demo.gt.csv")
    assert ground_truth_path("demo.bag") == Path("demo.gt.csv")
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
    with pytest.raises(RecordingError, match="cannot play"):
        PlaybackSource(p).open()


def test_write_recording_errors(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match=r"only rosbag2 '\.db3'"):
        write_recording([make_frame(0)], tmp_path / "old.bag")
    with pytest.raises(RecordingError, match="does not exist"):
        write_recording([make_frame(0)], tmp_path / "nofolder" / "x.db3")
    with pytest.raises(RecordingError, match="no frames"):
        write_recording([], tmp_path / "none.db3")
    with pytest.raises(RecordingError, match="timestamps must increase"):
        write_recording([make_frame(0, 1.0), make_frame(1, 1.0)], tmp_path / "ts.db3")
    small = RGBDFrame(np.zeros((240, 320, 3), np.uint8), np.zeros((240, 320), np.uint16), 9.0,
                      2, Intrinsics.from_fov(320, 240))
    with pytest.raises(RecordingError, match="expected 640x480"):
        write_recording([make_frame(0), make_frame(1), small], tmp_path / "size.db3")
    # A failed write leaves neither the file nor its temporary.
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# -- camera (none is connected here) -------------------------------------------------------


def test_no_camera_gives_camera_not_found() -> None:
    src = CameraSource()
    with pytest.raises(CameraNotFoundError, match="no RealSense camera"):
        src.open()
    src.close()  # safe after a failed open
    with pytest.raises(CameraNotFoundError, match="no RealSense camera"):
        open_source("camera", width=1280, height=720)


def test_camera_rejects_unsupported_modes() -> None:
    with pytest.raises(SourceError, match="1280x720"):
        CameraSource(width=800, height=600)
    with pytest.raises(SourceError, match="fps"):
        CameraSource(fps=60)


def test_record_camera_without_camera(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "s.db3"
    with pytest.raises(CameraNotFoundError):
        record_camera(out, 1.0)
    assert not out.exists()
    assert main(["record", "--out", str(out), "--seconds", "1"]) == 2
    err = capsys.readouterr().err
    assert "no RealSense camera" in err and err.count("\n") == 1
    assert main(["record", "--out", str(tmp_path / "s.bag"), "--seconds", "1"]) == 2
    assert ".db3" in capsys.readouterr().err


def test_drop_oldest_queue_never_blocks_and_counts() -> None:
    q = DropOldestQueue(3)
    for i in range(10):
        q.put(i)  # never blocks
    assert q.dropped == 7
    assert len(q) == 3
    assert [q.get(0.01) for _ in range(3)] == [7, 8, 9]
    import queue

    with pytest.raises(queue.Empty):
        q.get(0.01)
    with pytest.raises(ValueError):
        DropOldestQueue(0)


def test_camera_source_reports_drops_through_its_queue() -> None:
    src = CameraSource(queue_size=2)
    for i in range(5):
        src.queue.put(i)
    assert src.dropped == 3


def test_playback_without_file_index_as_for_ros1_bags(recording: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """ROS1 .bag files have no SQLite index: frames are numbered from the first colour frame
    number and seeks go by time. Exercise that path on a .db3 through the real SDK."""
    from rt_sfamnet.sources import realsense

    monkeypatch.setattr(realsense, "_recording_index", lambda path: None)
    with PlaybackSource(recording) as src:
        assert src.frame_count is not None and src.frame_count >= 1  # estimated from duration
        frames = list(src)
        assert [f.index for f in frames] == list(range(N))
        assert src.frame_count == N  # exact once played to the end
        for f in frames:
            np.testing.assert_array_equal(f.depth, make_frame(f.index).depth)
        src.seek(9)
        f = next(iter(src))
        assert f.index == 9
        np.testing.assert_array_equal(f.color, make_frame(9).color)
        src.seek(1)
        assert [g.index for g in src] == list(range(1, N))


# -- the camera code path, with a recording standing in for the camera ---------------------


@pytest.fixture(scope="module")
def camera_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cam") / "cam.db3"
    frames = (make_frame(i % N, ts=i / 30.0) for i in range(30))
    write_recording((RGBDFrame(f.color, f.depth, f.timestamp, i, f.intrinsics)
                     for i, f in enumerate(frames)), path, compress=False)
    return path


def test_camera_pipeline_delivers_aligned_copies_then_reports_disconnect(
        camera_clip: Path) -> None:
    src = CameraSource(recording=camera_clip, queue_size=64, frame_timeout_s=1.0)
    got = []
    with src:
        assert src.intrinsics == INTR
        with pytest.raises(CameraDisconnectedError, match="no frame from the camera"):
            for f in src:  # the recording's end looks like an unplugged camera
                got.append(f)
        assert src._pipe is not None
    assert src._pipe is None  # stopped by close()
    assert len(got) >= 25 and src.dropped == 0
    ts = [f.timestamp for f in got]
    assert all(b > a for a, b in zip(ts, ts[1:], strict=False))  # strictly increasing seconds
    for f in got:
        n = f.meta["frame_number"]
        np.testing.assert_array_equal(f.depth, make_frame(n % N).depth)
        np.testing.assert_array_equal(f.color, make_frame(n % N).color)
        assert f.color.flags.owndata and f.depth.flags.owndata
        assert isinstance(f.meta["arrival"], float)


def test_camera_queue_drops_oldest_when_the_consumer_is_slow(camera_clip: Path) -> None:
    import time

    src = CameraSource(recording=camera_clip, queue_size=2, frame_timeout_s=1.0)
    got = []
    with src:
        with pytest.raises(CameraDisconnectedError):
            for f in src:
                got.append(f.index)
                time.sleep(0.25)  # far slower than the stream
    assert src.dropped > 0
    assert len(got) + src.dropped == src._count  # every SDK frame delivered or counted
    assert got == sorted(got)  # the newest frames survive, in order
