"""make_source / open_source: dispatch on the spec, options, and errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rt_sfamnet.errors import CameraNotFoundError, RecordingError, SourceError
from rt_sfamnet.frames import Intrinsics, RGBDFrame
from rt_sfamnet.sources import make_source, open_source


def test_camera_spec_builds_a_camera_source_without_touching_hardware() -> None:
    pytest.importorskip("pyrealsense2")
    from rt_sfamnet.sources.realsense import CameraSource

    src = make_source("camera", width=1280, height=720, queue_size=4)
    assert isinstance(src, CameraSource)
    assert (src.width, src.height, src.fps) == (1280, 720, 30.0)
    assert src.live and not src.seekable and src.dropped == 0
    with pytest.raises(CameraNotFoundError):  # nothing is connected here
        open_source("camera")


@pytest.mark.parametrize("name", ["a.db3", "b.bag", "C.DB3", "d.BAG"])
def test_recording_specs_build_playback_sources(tmp_path: Path, name: str) -> None:
    from rt_sfamnet.sources.realsense import PlaybackSource

    src = make_source(tmp_path / name, backend="rosbags")
    assert isinstance(src, PlaybackSource)
    assert src.backend == "rosbags" and src.seekable and not src.realtime
    with pytest.raises(RecordingError, match="does not exist"):
        src.open()
    with pytest.raises(RecordingError, match="does not exist"):
        open_source(str(tmp_path / name))


def test_folder_spec_builds_a_folder_source(tmp_path: Path) -> None:
    from rt_sfamnet.sources.folder import FolderSource

    src = make_source(tmp_path, fps=25, index="position")
    assert isinstance(src, FolderSource)
    assert src.fps == 25.0 and src.index_mode == "position"
    with pytest.raises(SourceError, match="no colour frames"):
        src.open()


def test_sim_spec_dispatches_to_the_simulator() -> None:
    simulated = pytest.importorskip("rt_sfamnet.sources.simulated")
    assert isinstance(make_source("sim"), simulated.SimulatedSource)


def test_unknown_specs_and_options(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found: expected 'camera', 'webcam\\[:N\\]', 'sim'"):
        make_source(tmp_path / "missing")
    txt = tmp_path / "notes.txt"
    txt.write_text("hello")
    with pytest.raises(SourceError, match="suffix '.txt'"):
        make_source(txt)
    with pytest.raises(SourceError, match=r"cannot use option\(s\) \['colour'\]"):
        make_source("camera", colour=True)
    with pytest.raises(SourceError, match=r"cannot use option\(s\) \['depth_scale'\]"):
        make_source(tmp_path, depth_scale=2)
    with pytest.raises(SourceError, match="camera mode 800x600"):
        make_source("camera", width=800, height=600)


def test_open_source_round_trip_as_context_manager(tmp_path: Path) -> None:
    pytest.importorskip("pyrealsense2")
    from rt_sfamnet.sources.realsense import PlaybackSource, write_recording

    intr = Intrinsics.from_fov(64, 48)
    frames = [RGBDFrame(np.full((48, 64, 3), 10 * i, np.uint8),
                        np.full((48, 64), 700 + i, np.uint16), i / 30.0, i, intr)
              for i in range(3)]
    path = tmp_path / "tiny.db3"
    assert write_recording(frames, path) == 3
    with open_source(path) as src:
        assert isinstance(src, PlaybackSource)
        got = [(f.index, int(f.depth[0, 0]), int(f.color[0, 0, 0])) for f in src]
    assert got == [(0, 700, 0), (1, 701, 10), (2, 702, 20)]
    assert src.reader._player is None  # closed by the with block
