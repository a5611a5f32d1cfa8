"""Array-module selection and the shared image helpers of rt_sfamnet.flow.backend."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from rt_sfamnet.errors import ConfigError
from rt_sfamnet.flow import backend as bk


def test_numpy_backend_by_name():
    for name in ("numpy", "cpu", "NumPy"):
        b = bk.get_backend(name)
        assert b.name == "numpy" and b.xp is np and not b.is_gpu
    assert bk.get_backend(bk.NUMPY) is bk.NUMPY


def test_auto_backend_follows_cuda_availability(monkeypatch):
    monkeypatch.delenv(bk.ENV_VAR, raising=False)
    expected = "cupy" if bk.cuda_available() else "numpy"
    assert bk.get_backend().name == expected
    assert bk.get_backend("auto").name == expected
    monkeypatch.setenv(bk.ENV_VAR, "numpy")
    assert bk.get_backend().name == "numpy"


def test_bad_backend_names():
    with pytest.raises(ConfigError, match="expected 'auto', 'numpy'"):
        bk.get_backend("tpu")
    with pytest.raises(ConfigError):
        bk.get_backend(3)


def test_cupy_without_gpu_is_a_clear_error():
    if bk.cuda_available():
        pytest.skip("a GPU is available")
    with pytest.raises(ConfigError, match="needs CuPy and a CUDA GPU"):
        bk.get_backend("cupy")


def test_array_helpers_on_numpy():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert bk.get_array_module(a) is np
    assert bk.backend_of(a) is bk.NUMPY
    assert bk.to_numpy(a) is a
    np.testing.assert_array_equal(bk.NUMPY.asarray([1, 2], dtype=np.float32), [1, 2])
    bk.NUMPY.synchronize()
    with bk.NUMPY.device_context():
        pass


def test_resize_bilinear_matches_opencv():
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(0)
    img = rng.random((50, 64)).astype(np.float32)
    for h, w in ((40, 51), (25, 32), (80, 100)):
        ours = bk.resize_bilinear(img, h, w)
        ref = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
        assert ours.shape == (h, w)
        # OpenCV uses fixed-point weights (11 bits) for interpolation
        assert np.abs(ours - ref).max() < 2e-3
    stack = np.stack([img, 2 * img])
    np.testing.assert_allclose(bk.resize_bilinear(stack, 25, 32)[1],
                               2 * bk.resize_bilinear(img, 25, 32), rtol=1e-6)


def test_warp_bilinear_on_a_ramp():
    yy, xx = np.mgrid[0:20, 0:30].astype(np.float32)
    ramp = 2 * xx + 3 * yy
    out = bk.warp_bilinear(ramp, np.float32(0.25), np.float32(-0.5))
    inner = (slice(2, -2), slice(2, -2))
    np.testing.assert_allclose(out[inner], (ramp + 2 * 0.25 - 3 * 0.5)[inner], atol=1e-5)
    # border replicated: sampling far outside gives the edge values
    far = bk.warp_bilinear(ramp, np.float32(-100), np.float32(0))
    np.testing.assert_allclose(far, np.repeat(ramp[:, :1], 30, axis=1))


def test_centered_gradient():
    yy, xx = np.mgrid[0:10, 0:12].astype(np.float32)
    gx, gy = bk.centered_gradient(xx**2 + 5 * yy)
    np.testing.assert_allclose(gx[:, 1:-1], 2 * xx[:, 1:-1])  # exact for a parabola
    np.testing.assert_allclose(gx[:, 0], 0.5)  # one-sided half difference at the border
    np.testing.assert_allclose(gy[1:-1], 5)
    np.testing.assert_allclose(gy[0], 2.5)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_median_filter_matches_scipy(k):
    rng = np.random.default_rng(k)
    img = rng.standard_normal((23, 31)).astype(np.float32)
    ref = ndimage.median_filter(img, size=k, mode="nearest")
    np.testing.assert_array_equal(bk.median_filter(img, k), ref)
    with pytest.raises(ValueError):
        bk.median_filter(img, 4)


@pytest.mark.parametrize("count", [9, 25, 49])
def test_median_network_selects_the_median(count):
    net = bk.median_network(count)
    assert all(0 <= a < b < count for a, b in net)
    rng = np.random.default_rng(count)
    for values in (rng.standard_normal((count, 500)), rng.integers(0, 3, (count, 500)) * 1.0):
        v = values.copy()
        for a, b in net:
            lo, hi = np.minimum(v[a], v[b]), np.maximum(v[a], v[b])
            v[a], v[b] = lo, hi
        np.testing.assert_array_equal(v[count // 2], np.median(values, axis=0))
    assert len(bk.median_network(25)) <= 120  # pruned (a full 32-sort has 191 exchanges)
