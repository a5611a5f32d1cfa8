"""CameraSource and record_camera. No camera is connected here, so the "no camera" paths are
checked for real, and a recording played in real time by the SDK stands in for the camera
to exercise the streaming path (callback, alignment, drop-oldest queue, disconnect)."""

from __future__ import annotations

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
from rt_sfamnet.queues import BoundedQueue  # noqa: E402
from rt_sfamnet.sources import open_source  # noqa: E402
from rt_sfamnet.sources.realsense import (  # noqa: E402
    CameraSource,
    connected_cameras,
    record_camera,
)
from tests.sources.realsense.helpers import INTR, N, make_frame  # noqa: E402


def test_no_camera_is_listed_here() -> None:
    assert connected_cameras() == []


def test_no_camera_gives_camera_not_found() -> None:
    src = CameraSource()
    with pytest.raises(CameraNotFoundError, match="no RealSense camera"):
        src.open()
    src.close()  # safe after a failed open
    with pytest.raises(CameraNotFoundError, match="no RealSense camera"):
        open_source("camera", width=1280, height=720)


@pytest.mark.parametrize("make", [lambda: CameraSource(width=800, height=600),
                                  lambda: record_camera("x.db3", 1.0, 800, 600)])
def test_camera_and_recorder_reject_unsupported_modes_alike(make) -> None:
    with pytest.raises(SourceError) as info:
        make()
    assert str(info.value) == ("camera mode 800x600 not supported: expected one of "
                               "640x480, 1280x720")


def test_camera_rejects_unsupported_fps() -> None:
    with pytest.raises(SourceError, match="fps"):
        CameraSource(fps=60)


def test_record_camera_without_camera(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "s.db3"
    with pytest.raises(CameraNotFoundError):
        record_camera(out, 1.0)
    assert not out.exists()
    with pytest.raises(SourceError, match="length must be > 0"):
        record_camera(out, 0.0)
    assert main(["record", "--out", str(out), "--seconds", "1"]) == 2
    err = capsys.readouterr().err
    assert "no RealSense camera" in err and err.count("\n") == 1
    assert main(["record", "--out", str(tmp_path / "s.bag"), "--seconds", "1"]) == 2
    assert ".db3" in capsys.readouterr().err


def test_camera_source_reports_drops_through_its_bounded_queue() -> None:
    src = CameraSource(queue_size=2)
    assert isinstance(src.queue, BoundedQueue)
    for i in range(5):
        src.queue.put_drop_oldest(i)
    assert src.dropped == 3
    assert src.queue.get_many(5, timeout=0.01) == [3, 4]


def test_camera_recording_stand_in_must_be_a_recording(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bag"
    bad.write_bytes(b"#ROSBAG V2.0\n" + bytes(range(256)) * 8)
    with pytest.raises(RecordingError, match="pyrealsense2 cannot play it"):
        CameraSource(recording=bad).open()
    with pytest.raises(RecordingError, match="does not exist"):
        CameraSource(recording=tmp_path / "none.db3").open()


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
    src = CameraSource(recording=camera_clip, queue_size=2, frame_timeout_s=1.0)
    got = []
    with src:
        with pytest.raises(CameraDisconnectedError):
            for f in src:
                got.append(f.index)
                if len(got) == 1:  # hold the consumer until the camera has dropped frames
                    assert src.queue.wait_until(lambda: src.dropped >= 3, timeout=30)
    assert src.dropped > 0
    assert len(got) + src.dropped == src._count  # every SDK frame delivered or counted
    assert got == sorted(got)  # the newest frames survive, in order
