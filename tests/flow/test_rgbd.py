"""RGB-D scene flow (CPU / Numba): known motions on textured images with a depth surface.

Pairs come from :func:`rt_sfamnet.flow.rgbd.moved_rgbd_pair`: a smooth random colour texture
on a face-like depth surface (600 mm, 40 mm dome, nose), 128×128, frame 1 built exactly from
the motion, images rounded to uint8 and depth to whole millimetres. Errors are measured away
from an 8-pixel border.

Reached on this machine (``full`` preset / ``live`` preset), mean end-point error in px and
mean |w error| in mm:

- translation (1.3, −0.7) px, w = 2 mm: 0.028 / 0.023 px, 0.060 / 0.020 mm
- rotation 0.02 rad about the centre (up to 1.3 px): 0.031 / 0.043 px, 0.043 / 0.028 mm
- smooth field up to 3 px, w bump of 3 mm: 0.044 / 0.097 px, 0.068 / 0.058 mm
- local brow-like lift of 1 px and a 4 mm cheek bulge: 0.006 / 0.014 px, 0.029 / 0.016 mm
- sub-pixel (0.2, 0.15) px, w = 0.5 mm: 0.022 / 0.013 px, 0.148 / 0.014 mm (depth is
  quantised to 1 mm; the live preset, solved at 96×96, averages the quantisation better)

The asserted bounds are about twice these.
"""

from __future__ import annotations

import numpy as np
import pytest

from rt_sfamnet.errors import ConfigError
from rt_sfamnet.flow import rgbd_flow, rgbd_flow_batch
from rt_sfamnet.flow.rgbd import RGBD_PRESETS, RGBDParams, moved_rgbd_pair, rgbd_params

F = 300.0
C = 63.5
INNER = (slice(8, -8), slice(8, -8))

CASES = {
    "translation": (lambda x, y: (1.3, -0.7, 2.0), 0.06, 0.12),
    "rotation": (lambda x, y: (-(y - C) * 0.02, (x - C) * 0.02, 0.0), 0.06, 0.1),
    "smooth": (lambda x, y: (3.0 * np.sin(x / 20.0) * np.cos(y / 25.0), 1.5 * np.cos(x / 30.0),
                             3.0 * np.exp(-((x - 64) ** 2 + (y - 64) ** 2) / 800.0)), 0.18, 0.15),
    "local": (lambda x, y: (0 * x, -1.0 * np.exp(-((x - 64) ** 2 + (y - 35) ** 2) / 200.0),
                            4.0 * np.exp(-((x - 40) ** 2 + (y - 80) ** 2) / 150.0)), 0.03, 0.06),
    "subpixel": (lambda x, y: (0.2, 0.15, 0.5), 0.04, 0.3),
}


def errors(flow: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    epe = np.sqrt(((flow[..., :2] - gt[..., :2]) ** 2).sum(-1))[INNER].mean()
    werr = np.abs(flow[..., 2] - gt[..., 2])[INNER].mean()
    return float(epe), float(werr)


@pytest.fixture(scope="module")
def pairs():
    return {name: moved_rgbd_pair(fn, 128, seed=1) for name, (fn, _, _) in CASES.items()}


@pytest.mark.parametrize("preset", ["full", "live"])
@pytest.mark.parametrize("case", list(CASES))
def test_recovers_known_motion(pairs, case, preset):
    I0, Z0, I1, Z1, gt = pairs[case]
    _, max_epe, max_werr = CASES[case]
    flow = rgbd_flow(I0, Z0, I1, Z1, F, F, C, C, backend="numpy", preset=preset)
    assert flow.shape == (128, 128, 3) and flow.dtype == np.float32
    assert np.isfinite(flow).all()
    epe, werr = errors(flow, gt)
    assert epe < max_epe, (case, preset, epe)
    assert werr < max_werr, (case, preset, werr)


def test_zero_motion_gives_zero_flow():
    I0, Z0, _, _, _ = moved_rgbd_pair(lambda x, y: (0.0, 0.0, 0.0), 96, seed=2)
    flow = rgbd_flow(I0, Z0, I0, Z0, F, F, 47.5, 47.5, backend="numpy")
    assert np.abs(flow).max() < 1e-3


def test_grey_input_and_depth_sign():
    """Grey images work; w has the sign of the depth change (away from the camera > 0)."""
    I0, Z0, I1, Z1, gt = moved_rgbd_pair(lambda x, y: (0.5, 0.0, -3.0), 96, seed=3)
    g0 = I0.mean(axis=2).round().astype(np.uint8)
    g1 = I1.mean(axis=2).round().astype(np.uint8)
    flow = rgbd_flow(g0, Z0, g1, Z1, F, F, 47.5, 47.5, backend="numpy", preset="live")
    inner = flow[8:-8, 8:-8]
    assert abs(float(inner[..., 0].mean()) - 0.5) < 0.05
    assert abs(float(inner[..., 2].mean()) + 3.0) < 0.1


def test_missing_depth_is_filled_and_down_weighted():
    I0, Z0, I1, Z1, gt = moved_rgbd_pair(lambda x, y: (1.0, 0.5, 2.0), 128, seed=4)
    rng = np.random.default_rng(0)
    Z0 = Z0.copy()
    Z1 = Z1.copy()
    Z0[rng.random(Z0.shape) < 0.05] = 0  # 5% speckle
    Z1[rng.random(Z1.shape) < 0.05] = 0
    Z0[40:52, 60:75] = 0  # a hole (e.g. a specular patch)
    flow = rgbd_flow(I0, Z0, I1, Z1, F, F, C, C, backend="numpy", preset="live")
    assert np.isfinite(flow).all()
    epe, werr = errors(flow, gt)
    assert epe < 0.08
    assert werr < 0.3
    hole = flow[40:52, 60:75, 2]
    assert abs(float(hole.mean()) - 2.0) < 0.5


@pytest.mark.parametrize("preset", ["full", "live"])
def test_degenerate_inputs_do_not_crash(preset):
    const = np.full((48, 64, 3), 100, np.uint8)
    zeros = np.zeros((48, 64), np.uint16)
    flow = rgbd_flow(const, zeros, const, zeros, 50.0, 50.0, 31.5, 23.5, backend="numpy",
                     preset=preset)
    assert flow.shape == (48, 64, 3)
    assert np.isfinite(flow).all()
    assert np.abs(flow).max() < 1e-3
    # textured colour but no depth at all: still finite, w stays ~0
    I0, _, I1, _, _ = moved_rgbd_pair(lambda x, y: (1.0, 0.0, 0.0), 48, seed=5)
    z = np.zeros((48, 48), np.uint16)
    flow = rgbd_flow(I0, z, I1, z, 50.0, 50.0, 23.5, 23.5, backend="numpy", preset=preset)
    assert np.isfinite(flow).all()
    assert abs(float(flow[6:-6, 6:-6, 0].mean()) - 1.0) < 0.1
    # saturated / black frames
    black = np.zeros((32, 32), np.uint8)
    white = np.full((32, 32), 255, np.uint8)
    depth = np.full((32, 32), 700, np.uint16)
    flow = rgbd_flow(black, depth, white, depth, 40.0, 40.0, 15.5, 15.5, backend="numpy")
    assert np.isfinite(flow).all()


def test_batch_matches_single():
    items = [moved_rgbd_pair(lambda x, y, s=s: (0.3 * s, -0.2, float(s)), 64, seed=s)
             for s in range(3)]
    I0 = np.stack([i[0] for i in items])
    Z0 = np.stack([i[1] for i in items])
    I1 = np.stack([i[2] for i in items])
    Z1 = np.stack([i[3] for i in items])
    fx = [100.0, 110.0, 120.0]
    batch = rgbd_flow_batch(I0, Z0, I1, Z1, fx, 100.0, 31.5, 31.5, backend="numpy",
                            preset="live")
    assert batch.shape == (3, 64, 64, 3)
    for k in range(3):
        one = rgbd_flow(I0[k], Z0[k], I1[k], Z1[k], fx[k], 100.0, 31.5, 31.5, backend="numpy",
                        preset="live")
        np.testing.assert_array_equal(batch[k], one)  # one code path: bit-identical


def test_shape_and_parameter_checks():
    img = np.zeros((32, 32, 3), np.uint8)
    z = np.zeros((32, 32), np.uint16)
    with pytest.raises(ValueError, match="Z1"):
        rgbd_flow(img, z, img, np.zeros((31, 32), np.uint16), 1, 1, 0, 0, backend="numpy")
    with pytest.raises(ValueError, match="I1"):
        rgbd_flow(img, z, np.zeros((32, 30, 3), np.uint8), z, 1, 1, 0, 0, backend="numpy")
    with pytest.raises(ValueError, match="RGB"):
        rgbd_flow(np.zeros((32, 32, 4), np.uint8), z, img, z, 1, 1, 0, 0, backend="numpy")
    with pytest.raises(ValueError, match="depth"):
        rgbd_flow(img, np.zeros((32, 32, 1), np.uint16), img, z, 1, 1, 0, 0, backend="numpy")
    with pytest.raises(ConfigError, match="unknown"):
        rgbd_flow(img, z, img, z, 1, 1, 0, 0, backend="numpy", alpah=0.1)
    with pytest.raises(ConfigError, match="preset"):
        rgbd_flow(img, z, img, z, 1, 1, 0, 0, backend="numpy", preset="fast")
    with pytest.raises(ConfigError, match="omega"):
        rgbd_params("live", omega=2.5)
    with pytest.raises(ValueError, match="batch sizes"):
        rgbd_flow_batch(img[None], z[None], img[None].repeat(2, 0), z[None], 1, 1, 0, 0,
                        backend="numpy")


@pytest.mark.parametrize("args, message", [
    ((np.zeros((32, 32, 3), np.uint16), "z", "img", "z"),
     r"^rgbd_flow: I0 must be uint8 \(or float in \[0, 1\]\), found dtype uint16$"),
    (("img", np.zeros((32, 32), bool), "img", "z"),
     "^rgbd_flow: Z0 must be uint16 millimetres, found dtype bool$"),
    (("img", "z", np.zeros((32, 32), np.uint8), "z"),
     r"^rgbd_flow: I0 and I1 must have the same shape, found \(32, 32, 3\) and \(32, 32\)$"),
    (("img", "z", "img", np.zeros((32, 31), np.uint16)),
     r"^rgbd_flow: Z1 must be a depth map \(uint16 mm\) of shape H x W with H = 32, W = 32, "
     r"found shape \(32, 31\)$"),
    ((np.zeros((3, 3), np.uint8), np.zeros((3, 3), np.uint16), np.zeros((3, 3), np.uint8),
      np.zeros((3, 3), np.uint16)), "at least 4 x 4 pixels, found 3 x 3"),
])
def test_input_messages_name_expected_and_found(args, message):
    named = {"img": np.zeros((32, 32, 3), np.uint8), "z": np.zeros((32, 32), np.uint16)}
    I0, Z0, I1, Z1 = (named[a] if isinstance(a, str) else a for a in args)
    with pytest.raises(ValueError, match=message):
        rgbd_flow(I0, Z0, I1, Z1, 1, 1, 0, 0, backend="numpy")


def test_batch_input_messages():
    img = np.zeros((2, 16, 16), np.uint8)
    z = np.zeros((2, 16, 16), np.uint16)
    with pytest.raises(ValueError, match="^rgbd_flow_batch: batch sizes differ: I0s 2, Z0s 2, "
                                         "I1s 2, Z1s 1$"):
        rgbd_flow_batch(img, z, img, z[:1], 1, 1, 0, 0, backend="numpy")
    with pytest.raises(ValueError, match="expected at least one pair, found 0"):
        rgbd_flow_batch(img[:0], z[:0], img[:0], z[:0], 1, 1, 0, 0, backend="numpy")
    with pytest.raises(ValueError, match="I0 must be grey or RGB images of shape N x H x W or "
                                         "N x H x W x 3"):
        rgbd_flow_batch(img[0], z, img, z, 1, 1, 0, 0, backend="numpy")
    with pytest.raises(ValueError, match=r"^rgbd_flow_batch: fx must be a scalar or 2 values, "
                                         r"found shape \(3,\)$"):
        rgbd_flow_batch(img, z, img, z, [1, 1, 1], 1, 0, 0, backend="numpy")


def test_lists_and_other_number_types_are_accepted():
    I0, Z0, I1, Z1, _ = moved_rgbd_pair(lambda x, y: (0.5, 0.0, 1.0), size=24, seed=2)
    ref = rgbd_flow_batch(I0[None], Z0[None], I1[None], Z1[None], 40.0, 40.0, 11.5, 11.5,
                          backend="numpy", preset="live")
    as_lists = rgbd_flow_batch([I0], [Z0.astype(np.int32)], [I1], [Z1.astype(np.float64)],
                               [40.0], 40.0, np.float32(11.5), 11.5, backend="numpy",
                               preset="live")
    np.testing.assert_array_equal(ref, as_lists)


def test_presets_and_overrides():
    assert set(RGBD_PRESETS) == {"full", "live"}
    p = rgbd_params("live", sweeps=3, alpha=0.05)
    assert isinstance(p, RGBDParams) and p.sweeps == 3 and p.alpha == 0.05
    assert p.color is RGBD_PRESETS["live"].color
    assert rgbd_params(p) is p


@pytest.mark.parametrize("shape", [(4, 4), (5, 9), (37, 53), (70, 31)])
def test_odd_sizes_and_noise_stay_finite(shape):
    rng = np.random.default_rng(shape[0] * 100 + shape[1])
    h, w = shape
    I0 = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    I1 = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    Z0 = rng.integers(300, 3000, (h, w)).astype(np.uint16)
    Z1 = rng.integers(300, 3000, (h, w)).astype(np.uint16)
    Z0[rng.random((h, w)) < 0.3] = 0
    for preset in ("live", "full"):
        flow = rgbd_flow(I0, Z0, I1, Z1, 200.0, 200.0, -5.0, h + 5.0, backend="numpy",
                         preset=preset)
        assert flow.shape == (h, w, 3)
        assert np.isfinite(flow).all()


def test_exp_f32_is_correctly_rounded_on_a_grid():
    """The kernels' own exp (no C library, so no CPU-specific expf variant) against exp
    computed with 40 significant digits and rounded to float32."""
    mpmath = pytest.importorskip("mpmath")
    from rt_sfamnet.flow._numba_rgbd import exp_f32

    xs = np.concatenate([-np.geomspace(1e-7, 110.0, 4000), [0.0, -1e-30, -200.0]])
    xs = xs.astype(np.float32)
    with mpmath.workdps(40):
        ref = np.array([np.float32(float(mpmath.exp(mpmath.mpf(float(x))))) for x in xs])
    got = np.array([exp_f32(x) for x in xs], np.float32)
    np.testing.assert_array_equal(got, ref)
    assert exp_f32(np.float32(-200.0)) == 0.0 and np.isnan(exp_f32(np.float32(np.nan)))
