import numpy as np
import pytest

from rt_sfamnet.frames import Intrinsics, RGBDFrame


def test_intrinsics_from_fov_and_scale():
    k = Intrinsics.from_fov(640, 480, 69.0)
    assert k.fx == pytest.approx(320 / np.tan(np.deg2rad(34.5)))
    assert k.ppx == pytest.approx(319.5)
    h = k.scaled(0.5)
    assert (h.width, h.height) == (320, 240)
    assert h.fx == pytest.approx(k.fx / 2) and h.ppx == pytest.approx(159.5)


def test_frame_checks_shapes_and_dtypes():
    k = Intrinsics.from_fov(4, 3)
    c = np.zeros((3, 4, 3), np.uint8)
    d = np.zeros((3, 4), np.uint16)
    f = RGBDFrame(c, d, 0.0, 0, k)
    assert f.shape == (3, 4)
    with pytest.raises(ValueError, match="uint16"):
        RGBDFrame(c, d.astype(np.float32), 0.0, 0, k)
    with pytest.raises(ValueError, match="not aligned"):
        RGBDFrame(c, np.zeros((2, 4), np.uint16), 0.0, 0, k)
    with pytest.raises(ValueError, match="H×W×3"):
        RGBDFrame(c[..., 0], d, 0.0, 0, k)
