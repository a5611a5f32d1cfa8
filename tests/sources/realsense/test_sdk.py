"""SDK conversion: intrinsics to and from pyrealsense2, colour copies, loading a device."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

rs = pytest.importorskip("pyrealsense2")

from rt_sfamnet.errors import RecordingError, SourceError  # noqa: E402
from rt_sfamnet.frames import Intrinsics  # noqa: E402
from rt_sfamnet.sources.realsense import intrinsics_from_rs, intrinsics_to_rs  # noqa: E402
from rt_sfamnet.sources.realsense.sdk import _FramesetConverter, _load_recording  # noqa: E402
from tests.sources.realsense.helpers import INTR  # noqa: E402


def test_intrinsics_round_trip_through_the_sdk_type() -> None:
    ri = intrinsics_to_rs(INTR)
    assert (ri.width, ri.height, ri.fx, ri.ppy) == (640, 480, 600.5, 240.75)
    assert ri.model == rs.distortion.brown_conrady
    assert intrinsics_from_rs(ri) == INTR
    with pytest.raises(SourceError, match="unknown distortion model 'fisheye9'"):
        intrinsics_to_rs(Intrinsics(64, 48, 50.0, 50.0, 32.0, 24.0, "fisheye9"))


class _Frame:
    def __init__(self, data: np.ndarray) -> None:
        self.data = data

    def get_data(self) -> np.ndarray:
        return self.data


@pytest.mark.parametrize("bgr", [False, True])
def test_colour_copy_is_rgb_and_owns_its_data(bgr: bool) -> None:
    conv = object.__new__(_FramesetConverter)  # only the colour format matters here
    conv.color_bgr = bgr
    data = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    out = conv.color_copy(_Frame(data))
    np.testing.assert_array_equal(out, data[:, :, ::-1] if bgr else data)
    assert out.flags.c_contiguous
    data[:] = 0
    assert out.any()  # a copy, not a view of the SDK buffer


def test_load_recording_error_names_the_file(tmp_path: Path) -> None:
    p = tmp_path / "broken.bag"
    p.write_bytes(b"#ROSBAG V2.0\n" + bytes(range(256)) * 8)
    with pytest.raises(RecordingError, match="pyrealsense2 cannot play it") as info:
        _load_recording(rs.context(), p)
    assert str(info.value).startswith(f"{p}: ")
