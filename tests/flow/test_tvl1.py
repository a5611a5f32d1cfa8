"""TV-L1 optical flow on the CPU (NumPy + Numba): known motions, OpenCV comparison, edge cases.

Measured on 128 x 128 smooth random textures (Gaussian-filtered noise, sigma 2 px), end-point
error (EPE) = mean |flow - truth| over pixels at least 10 px from the border:

| motion                        | ours, "opencv" | ours, "live" | OpenCV DualTVL1 |
| translation (0.7, -0.4) px    | 0.007          | 0.008        | 0.042           |
| translation (2.3, 1.6) px     | 0.007          | 0.007        | 0.044           |
| rotation 2 deg about centre   | 0.006          | 0.007        | 0.037           |
| smooth field up to 1.5 px     | 0.042          | 0.028        | 0.069           |

The assertions below keep a margin of several times these numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

from rt_sfamnet.config import config_from_mapping
from rt_sfamnet.errors import ConfigError
from rt_sfamnet.flow import PRESETS, TVL1Params, time_tvl1, tvl1, tvl1_batch
from rt_sfamnet.flow.backend import median_filter as xp_median
from rt_sfamnet.flow.tvl1 import moved_pair, resolve_params, tvl1_with_iterations

MOTIONS = {
    "translation_subpixel": lambda x, y: (0.7 + 0 * x, -0.4 + 0 * y),
    "translation_small": lambda x, y: (0.2 + 0 * x, 0.25 + 0 * y),
    "translation_large": lambda x, y: (2.3 + 0 * x, 1.6 + 0 * y),
    "rotation_2deg": lambda x, y: (-(y - 64) * np.deg2rad(2), (x - 64) * np.deg2rad(2)),
    "smooth_field": lambda x, y: (
        1.5 * np.sin(2 * np.pi * x / 128) * np.cos(2 * np.pi * y / 100),
        1.0 * np.cos(2 * np.pi * y / 128),
    ),
}
# EPE bounds (px) on interior pixels, ~3-5x the measured values above.
BOUNDS = {
    "translation_subpixel": 0.03,
    "translation_small": 0.03,
    "translation_large": 0.03,
    "rotation_2deg": 0.03,
    "smooth_field": 0.12,
}


def epe(flow: np.ndarray, truth: np.ndarray, border: int = 10) -> float:
    d = (flow - truth)[border:-border, border:-border]
    return float(np.hypot(d[..., 0], d[..., 1]).mean())


@pytest.fixture(scope="module")
def pairs():
    return {name: moved_pair(fn, size=128, seed=i) for i, (name, fn) in enumerate(MOTIONS.items())}


@pytest.mark.parametrize("preset", ["opencv", "live"])
@pytest.mark.parametrize("motion", list(MOTIONS))
def test_known_motions(pairs, motion, preset):
    I0, I1, truth = pairs[motion]
    flow = tvl1(I0, I1, backend="numpy", preset=preset)
    assert flow.shape == (128, 128, 2) and flow.dtype == np.float32
    assert np.isfinite(flow).all()
    assert epe(flow, truth) < BOUNDS[motion]


def test_within_10_percent_of_opencv(pairs):
    """Default parameters: our EPE is at most 1.1 x OpenCV DualTVL1's on the same uint8 pairs."""
    cv2 = pytest.importorskip("cv2")
    if not hasattr(cv2, "optflow"):
        pytest.skip("opencv-contrib (cv2.optflow) is not installed")
    solver = cv2.optflow.DualTVL1OpticalFlow_create()
    ours_all, theirs_all = [], []
    for name in ("translation_subpixel", "translation_large", "rotation_2deg", "smooth_field"):
        I0, I1, truth = pairs[name]
        u0 = np.round(I0 * 255).astype(np.uint8)
        u1 = np.round(I1 * 255).astype(np.uint8)
        ours = epe(tvl1(u0, u1, backend="numpy"), truth)
        theirs = epe(solver.calc(u0, u1, None), truth)
        assert ours <= 1.1 * theirs, (name, ours, theirs)
        ours_all.append(ours)
        theirs_all.append(theirs)
    assert np.mean(ours_all) <= 1.1 * np.mean(theirs_all)


def test_live_preset_is_cheaper_and_close_to_default(pairs):
    I0, I1, truth = pairs["translation_subpixel"]
    f_def, it_def = tvl1_with_iterations(I0[None], I1[None], backend="numpy", preset="opencv")
    f_live, it_live = tvl1_with_iterations(I0[None], I1[None], backend="numpy", preset="live")
    assert it_live[0] < it_def[0]
    assert epe(f_live[0], truth) < 0.03
    assert epe(f_live[0], f_def[0]) < 0.03


def test_zero_motion_gives_zero_flow(pairs):
    I0, _, _ = pairs["translation_subpixel"]
    flow = tvl1(I0, I0.copy(), backend="numpy")
    assert np.abs(flow).max() == 0.0  # rho = 0 everywhere: no step moves the flow
    rng = np.random.default_rng(5)
    J0 = np.clip(I0 + rng.normal(0, 0.01, I0.shape), 0, 1)
    J1 = np.clip(I0 + rng.normal(0, 0.01, I0.shape), 0, 1)
    noisy = tvl1(J0, J1, backend="numpy")
    assert np.hypot(noisy[..., 0], noisy[..., 1]).mean() < 0.06  # measured 0.027


@pytest.mark.parametrize("preset", ["opencv", "live"])
def test_constant_and_zero_images(preset):
    z = np.zeros((64, 64), np.uint8)
    for a, b in ((z, z), (z + 100, z + 200), (z, z + 255)):
        flow = tvl1(a, b, backend="numpy", preset=preset)
        assert np.isfinite(flow).all()
        assert np.abs(flow).max() == 0.0  # no gradient: the data term cannot move the flow
    f = tvl1(np.full((32, 40), 0.5), np.full((32, 40), np.nan), backend="numpy", preset=preset)
    assert np.isfinite(f).all()


def test_uint8_and_float_inputs_agree(pairs):
    I0, I1, _ = pairs["rotation_2deg"]
    u0 = np.round(I0 * 255).astype(np.uint8)
    u1 = np.round(I1 * 255).astype(np.uint8)
    a = tvl1(u0, u1, backend="numpy", preset="live")
    b = tvl1(u0 / 255.0, u1 / 255.0, backend="numpy", preset="live")
    c = tvl1(u0.astype(np.float32) / np.float32(255), u1.astype(np.float32) / np.float32(255),
             backend="numpy", preset="live")
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_illumination_term_gamma(pairs):
    """gamma > 0 absorbs a brightness change that misleads plain TV-L1."""
    I0, I1, truth = pairs["translation_subpixel"]
    brighter = np.clip(I1 * 0.9 + 0.08, 0, 1)
    plain = epe(tvl1(I0, brighter, backend="numpy"), truth)
    with_gamma = epe(tvl1(I0, brighter, backend="numpy", gamma=1.0), truth)
    assert with_gamma < 0.1 < plain  # measured 0.042 and 0.32


def test_batch_matches_single_pairs(pairs):
    names = ["translation_subpixel", "rotation_2deg", "smooth_field"]
    I0s = np.stack([pairs[n][0] for n in names])
    I1s = np.stack([pairs[n][1] for n in names])
    flows = tvl1_batch(I0s, I1s, backend="numpy", preset="live")
    assert flows.shape == (3, 128, 128, 2) and flows.dtype == np.float32
    for i in range(len(names)):
        np.testing.assert_allclose(flows[i], tvl1(I0s[i], I1s[i], backend="numpy", preset="live"),
                                   atol=1e-6)


def test_sizes_small_and_non_square():
    I0, I1, truth = moved_pair(lambda x, y: (0.5 + 0 * x, 0.3 + 0 * y), size=96, seed=9)
    f = tvl1(I0[:64, :96], I1[:64, :96], backend="numpy")
    assert f.shape == (64, 96, 2)
    assert epe(f, truth[:64, :96]) < 0.05
    assert tvl1(I0[:2, :2], I1[:2, :2], backend="numpy").shape == (2, 2, 2)
    small = tvl1(I0[:12, :10], I1[:12, :10], backend="numpy")  # below min_size: one level
    assert small.shape == (12, 10, 2) and np.isfinite(small).all()


@pytest.mark.parametrize(
    "a, b, message",
    [
        (np.zeros((8, 8)), np.zeros((8, 9)), "same shape"),
        (np.zeros((8, 8, 3)), np.zeros((8, 8, 3)),
         r"^tvl1: I0 must be a grey image of shape H x W, found shape \(8, 8, 3\)$"),
        (np.zeros((8, 8), np.uint16), np.zeros((8, 8), np.uint16),
         r"^tvl1: I0 must be uint8 or float in \[0, 1\], found dtype uint16$"),
        ([[0.0, 1.0], [1.0, 0.0]], np.zeros((2, 2)), "^tvl1: I0 must be an array, found list$"),
        (np.zeros((8, 8), np.uint8), np.zeros((8, 8)), "same dtype"),
        (np.zeros((1, 8)), np.zeros((1, 8)), "at least 2 x 2"),
    ],
)
def test_bad_inputs_raise(a, b, message):
    with pytest.raises(ValueError, match=message):
        tvl1(a, b, backend="numpy")


def test_batch_shape_checks():
    with pytest.raises(ValueError, match="^tvl1_batch: I0 must be grey images of shape N x H x W, "
                                         r"found shape \(8, 8\)$"):
        tvl1_batch(np.zeros((8, 8)), np.zeros((8, 8)), backend="numpy")
    with pytest.raises(ValueError, match="^tvl1_batch: expected at least one pair, found N = 0$"):
        tvl1_batch(np.zeros((0, 8, 8)), np.zeros((0, 8, 8)), backend="numpy")


def test_float_widths_may_differ(pairs):
    """float32 and float64 images are both on the [0, 1] scale and may be mixed."""
    I0, I1, _ = pairs["translation_subpixel"]
    a = tvl1(I0[:32, :32], I1[:32, :32], backend="numpy", preset="live")
    b = tvl1(I0[:32, :32].astype(np.float64), I1[:32, :32], backend="numpy", preset="live")
    np.testing.assert_array_equal(a, b)


def test_params_and_presets():
    assert PRESETS["opencv"] == TVL1Params()
    d = TVL1Params()
    assert (d.tau, d.lambda_, d.theta, d.nscales, d.scale_step, d.warps, d.epsilon,
            d.inner_iterations, d.outer_iterations, d.median_filtering, d.gamma) == (
        0.25, 0.15, 0.3, 5, 0.8, 5, 0.01, 30, 10, 5, 0.0)
    live = PRESETS["live"]
    assert live.nscales < d.nscales and live.warps < d.warps
    cfg = config_from_mapping(TVL1Params, {"warps": 2, "lambda_": 0.2})
    assert cfg.warps == 2 and cfg.lambda_ == 0.2
    assert resolve_params("live", **{"lambda": 0.3}).lambda_ == 0.3
    with pytest.raises(ConfigError, match="unknown key"):
        config_from_mapping(TVL1Params, {"warp": 2})
    with pytest.raises(ConfigError, match="median_filtering"):
        TVL1Params(median_filtering=4)
    with pytest.raises(ConfigError, match="scale_step"):
        TVL1Params(scale_step=1.0)
    with pytest.raises(ConfigError, match="preset"):
        tvl1(np.zeros((8, 8)), np.zeros((8, 8)), backend="numpy", preset="fast")
    with pytest.raises(ConfigError, match="unknown key"):
        tvl1(np.zeros((8, 8)), np.zeros((8, 8)), backend="numpy", iterations=3)


def test_opencv_iteration_schedule_limits(pairs):
    """Iterations are counted like OpenCV: at most levels x warps x outer x inner steps."""
    I0, I1, _ = pairs["translation_large"]
    p = TVL1Params(nscales=2, warps=2, inner_iterations=7, outer_iterations=3, epsilon=0.0)
    _, iters = tvl1_with_iterations(I0[None], I1[None], backend="numpy", params=p)
    assert iters[0] == 2 * 2 * 3 * 7  # epsilon 0: never stops early
    _, early = tvl1_with_iterations(I0[None], I1[None], backend="numpy", preset="opencv")
    assert early[0] < 5 * 5 * 10 * 30  # epsilon 0.01 stops warps early


def test_numba_median_matches_reference():
    from rt_sfamnet.flow import _numba_tvl1 as nb

    rng = np.random.default_rng(2)
    u = rng.standard_normal((37, 29)).astype(np.float32)
    for k in (3, 5):
        got = u.copy()
        nb.median_filter(got, np.empty((37 + k - 1, 29 + k - 1), np.float32), k)
        np.testing.assert_array_equal(got, xp_median(u, k))


def test_time_tvl1_reports_json_fields():
    r = time_tvl1(backend="numpy", n=2, size=32, batch=2, preset="live", warmup=1)
    assert r["backend"] == "numpy" and r["batch"] == 2 and r["size"] == 32
    assert r["ms_median"] > 0 and r["pairs_per_s"] > 0 and r["iterations"] > 0
