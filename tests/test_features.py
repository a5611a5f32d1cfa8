"""Features: crops, global-motion removal and the 3×42×42 maps of each mode."""

from __future__ import annotations

import numpy as np
import pytest

from rt_sfamnet.config import config_from_mapping
from rt_sfamnet.errors import ConfigError
from rt_sfamnet.face import CropBox, FaceObservation
from rt_sfamnet.features import (
    Crop,
    FeatureConfig,
    area_matrix,
    crop_frame,
    optical_strain,
    pair_maps,
    pair_maps_batch,
    remove_nose_motion,
    resize_area,
)
from rt_sfamnet.flow.rgbd import moved_rgbd_pair
from rt_sfamnet.frames import Intrinsics, RGBDFrame

NOSE = (64.0, 69.0)  # nose tip of the synthetic crops (on the depth surface's nose)
F = 300.0


def crops(flow_fn, seed=0):
    I0, Z0, I1, Z1, gt = moved_rgbd_pair(flow_fn, 128, seed=seed)
    c0 = Crop.from_arrays(I0, Z0, F, F, 63.5, 63.5, NOSE)
    c1 = Crop.from_arrays(I1, Z1, F, F, 63.5, 63.5, NOSE)
    return c0, c1, gt


def cfg(mode="hybrid", **kw):
    return FeatureConfig(mode=mode, backend="numpy", **kw)


def to_map(y: float) -> int:
    """Crop coordinate -> map index (128 -> 42)."""
    return int(round((y + 0.5) * 42 / 128 - 0.5))


@pytest.mark.parametrize("mode", ["hybrid", "scene", "optical"])
def test_global_translation_gives_near_zero_maps(mode):
    c0, c1, _ = crops(lambda x, y: (1.0, -0.6, 2.0))
    maps = pair_maps(c0, c1, cfg(mode))
    assert maps.shape == (3, 42, 42) and maps.dtype == np.float32
    inner = maps[:, 3:-3, 3:-3]
    assert np.abs(inner[:2]).mean() < 0.05
    assert np.abs(inner[2]).mean() < 0.1
    assert np.isfinite(maps).all()


def test_local_motion_has_expected_sign_and_magnitude():
    """A 1 px brow lift and a 3 mm cheek bulge on top of a global head translation."""

    def motion(x, y):
        brow = np.exp(-((x - 64) ** 2 / 400.0 + (y - 30) ** 2 / 60.0))
        cheek = np.exp(-((x - 35) ** 2 + (y - 90) ** 2) / 120.0)
        return 0.7 + 0 * x, 0.4 - 1.0 * brow, 1.0 + 3.0 * cheek

    c0, c1, gt = crops(motion, seed=3)
    maps = pair_maps(c0, c1, cfg("hybrid"))
    by, bx = to_map(30), to_map(64)
    cy, cx = to_map(90), to_map(35)
    # Both solvers' total-variation smoothness shrinks the peak of a local bump (measured:
    # O_v -0.70 for the -1.0 px lift, S_w 2.49 for the 2.9 mm map-level bulge), so the bounds
    # check sign and magnitude to about 30%.
    # O_v at the brow: upward (negative v) by about 1 px; O_u there about 0
    assert -1.2 < maps[1, by, bx] < -0.6
    assert abs(maps[0, by, bx]) < 0.15
    # S_w at the cheek: about +3 mm (away from the camera); elsewhere about 0
    assert 2.0 < maps[2, cy, cx] < 3.5
    assert abs(maps[2, to_map(30), to_map(100)]) < 0.3
    # far from both regions every map is near zero (the head translation is removed)
    assert np.abs(maps[:, to_map(60):to_map(75), to_map(90):to_map(115)]).max() < 0.2
    # scene mode gives the same S_w and a similar v
    scene = pair_maps(c0, c1, cfg("scene"))
    assert abs(scene[2, cy, cx] - maps[2, cy, cx]) < 0.2
    assert scene[1, by, bx] < -0.7


def test_input_scale_is_applied():
    c0, c1, _ = crops(lambda x, y: (0.0, -0.8 * np.exp(-((x - 64) ** 2 + (y - 30) ** 2) / 80.0),
                                    0.0))
    a = pair_maps(c0, c1, cfg("optical"))
    b = pair_maps(c0, c1, cfg("optical", input_scale=0.01))
    np.testing.assert_allclose(b, a * 0.01, rtol=1e-5, atol=1e-9)


def test_batch_matches_single():
    pairs = [crops(lambda x, y, s=s: (0.3 * s, 0.2, 0.5 * s), seed=s) for s in range(3)]
    c0s = [p[0] for p in pairs]
    c1s = [p[1] for p in pairs]
    batch = pair_maps_batch(c0s, c1s, cfg())
    assert batch.shape == (3, 3, 42, 42)
    for k in range(3):
        np.testing.assert_allclose(batch[k], pair_maps(c0s[k], c1s[k], cfg()), atol=1e-5)
    assert pair_maps_batch([], [], cfg()).shape == (0, 3, 42, 42)


def test_nose_removal_and_strain_formulas():
    flow = np.zeros((32, 32, 3), np.float32)
    flow[..., 0] = 2.0
    flow[10:15, 10:15, 1] = 5.0
    out = remove_nose_motion(flow, (20.0, 20.0), patch=5)
    assert np.abs(out[..., 0]).max() < 1e-6
    np.testing.assert_allclose(out[10:15, 10:15, 1], 5.0)
    # nose near the border: the window is moved inside the crop
    out = remove_nose_motion(flow, (0.0, 31.0), patch=5)
    assert np.abs(out[..., 0]).max() < 1e-6
    # strain of u = a x + c y, v = d y: sqrt(a^2 + d^2 + (c)^2 / 2)
    yy, xx = np.mgrid[0:16, 0:16].astype(np.float32)
    u = 0.03 * xx + 0.02 * yy
    v = -0.01 * yy
    eps = optical_strain(u, v)
    np.testing.assert_allclose(eps, np.sqrt(0.03**2 + 0.01**2 + 0.5 * 0.02**2), rtol=1e-4)


def test_nose_removal_and_strain_check_shapes():
    flow = np.ones((8, 8, 2), np.float32)
    with pytest.raises(ValueError, match="patch must be in"):
        remove_nose_motion(flow, (4.0, 4.0), patch=11)  # larger than the crop
    with pytest.raises(ValueError, match="S×S×C"):
        remove_nose_motion(flow[..., 0], (4.0, 4.0), patch=3)
    with pytest.raises(ValueError, match="one shape"):
        optical_strain(np.zeros((16, 16), np.float32), np.zeros((8, 8), np.float32))


def test_area_resize_matches_opencv():
    import cv2

    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 128, 128)).astype(np.float32)
    ours = resize_area(a, 42)
    for k in range(3):
        ref = cv2.resize(a[k], (42, 42), interpolation=cv2.INTER_AREA)
        assert np.abs(ours[k] - ref).max() < 1e-5
    m = area_matrix(128, 42)
    np.testing.assert_allclose(m.sum(axis=1), 1.0, rtol=1e-6)


def _frame(color: np.ndarray, depth: np.ndarray) -> RGBDFrame:
    h, w = depth.shape
    intr = Intrinsics(w, h, 600.0, 610.0, 320.0, 240.0)
    return RGBDFrame(color=color, depth=depth, timestamp=0.0, index=0, intrinsics=intr)


def test_crop_frame_geometry_and_depth_values():
    rng = np.random.default_rng(1)
    color = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    depth = np.full((480, 640), 650, np.uint16)
    depth[200:260, 300:340] = 700
    depth[rng.random(depth.shape) < 0.1] = 0
    frame = _frame(color, depth)
    lm = np.zeros((468, 3), np.float32)
    box = CropBox(250, 150, 256)
    obs = FaceObservation(landmarks=lm, box=box, nose_xy=(378.0, 290.0))
    c = crop_frame(frame, obs, 128)
    assert c.color.shape == (128, 128, 3) and c.grey.shape == (128, 128)
    vals = set(np.unique(c.depth).tolist())
    assert vals <= {0, 650, 700}  # millimetres kept, no interpolated values
    assert (c.depth == 0).mean() < 0.01  # the median skips the 10% speckle
    s = 128 / 256
    assert c.fx == pytest.approx(300.0) and c.fy == pytest.approx(305.0)
    # the same ray: (x - cx) / fx is preserved for a frame pixel and its crop position
    px, py = 330.0, 222.0
    qx, qy = (px - box.x0 + 0.5) * s - 0.5, (py - box.y0 + 0.5) * s - 0.5
    assert (qx - c.cx) / c.fx == pytest.approx((px - 320.0) / 600.0, abs=1e-9)
    assert (qy - c.cy) / c.fy == pytest.approx((py - 240.0) / 610.0, abs=1e-9)
    assert c.nose_xy == pytest.approx(((378 - 250 + 0.5) * s - 0.5, (290 - 150 + 0.5) * s - 0.5))
    # a box past the frame edge: colour is padded, depth is missing outside
    edge = FaceObservation(landmarks=lm, box=CropBox(500, -40, 200), nose_xy=(600.0, 60.0))
    c2 = crop_frame(frame, edge, 100)
    assert (c2.depth[:, -25:] == 0).all() and (c2.depth[:15] == 0).all()
    assert (c2.depth[30:, :60] > 0).mean() > 0.95


def test_features_of_a_real_face_through_the_stages():
    from skimage import data

    color = np.ascontiguousarray(data.astronaut())
    yy, xx = np.mgrid[0:512, 0:512]
    depth = (600 + 0.0005 * ((xx - 225) ** 2 + (yy - 140) ** 2)).astype(np.uint16)
    f0 = _frame(color, depth)
    moved = np.ascontiguousarray(np.roll(np.roll(color, 2, axis=1), -1, axis=0))
    moved_depth = np.ascontiguousarray(np.roll(np.roll(depth, 2, axis=1), -1, axis=0) + 3)
    f1 = _frame(moved, moved_depth)
    from rt_sfamnet.face import FaceConfig, FaceTracker
    from rt_sfamnet.pipeline.stages import FaceStage, PairBuilder

    tracker = FaceTracker(FaceConfig())
    try:
        obs = FaceStage(tracker).observe(f0).obs
    finally:
        tracker.close()
    assert obs is not None
    builder = PairBuilder(cfg("hybrid"))
    c0, c1 = builder.crop(f0, obs), builder.crop(f1, obs)
    same = pair_maps(c0, c0, cfg("hybrid"))
    assert np.abs(same).max() < 1e-3
    maps = pair_maps(c0, c1, cfg("hybrid"))
    # a 2 px / 1 px head translation and a 3 mm step back are removed with the nose motion
    assert np.abs(maps[:, 4:-4, 4:-4]).mean(axis=(1, 2)).max() < 0.15
    raw = pair_maps(c0, c1, cfg("hybrid", nose_patch=1))  # nothing sensible removed
    assert raw.shape == (3, 42, 42)


def test_config_checks():
    c = config_from_mapping(FeatureConfig, {"mode": "scene", "input_scale": 0.01,
                                            "rgbd_params": {"sweeps": 4}})
    assert c.mode == "scene" and c.input_scale == 0.01 and c.rgbd_params == {"sweeps": 4}
    with pytest.raises(ConfigError):
        config_from_mapping(FeatureConfig, {"mode": "depth"})
    with pytest.raises(ConfigError):
        config_from_mapping(FeatureConfig, {"crop": 128})
    c0, c1, _ = crops(lambda x, y: (0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="crop_size"):
        pair_maps(c0, c1, cfg(crop_size=96))
    with pytest.raises(ValueError, match="uint16"):
        Crop(c0.grey, c0.color, c0.depth.astype(np.float32), 1, 1, 0, 0, (0, 0))


def _with_background(head_shift_px: int = 2):
    """A face pair whose crop also holds background: columns left of a silhouette are a dark
    wall 1.5 m away (with some missing samples); the head moves ``head_shift_px`` to the
    right between the frames, so the silhouette moves too, as at a real face edge."""
    c0, c1, _ = crops(lambda x, y: (float(head_shift_px), 0.0, 0.0), seed=5)
    z0, z1 = c0.depth.copy(), c1.depth.copy()
    i0, i1 = c0.color.copy(), c1.color.copy()
    edge = 22
    z0[:, :edge] = 1500
    z1[:, :edge + head_shift_px] = 1500
    i0[:, :edge] = 40
    i1[:, :edge + head_shift_px] = 40
    z0[::7, 5] = 0  # holes in the background
    z1[::5, 9] = 0
    a = Crop.from_arrays(i0, z0, F, F, 63.5, 63.5, NOSE)
    b = Crop.from_arrays(i1, z1, F, F, 63.5, 63.5, NOSE)
    return a, b


def test_scene_w_is_bounded_at_depth_edges_and_background():
    a, b = _with_background()
    raw = pair_maps(a, b, cfg("hybrid", w_max_mm=None, w_edge_mm=None, w_face_mm=None))
    edge_cols = slice(to_map(14), to_map(28) + 1)
    # the uncleaned scene flow puts millimetres of spurious w on the moving silhouette
    # (measured 3.3 mm at map level; real depth edges give up to metres)
    assert np.abs(raw[2, :, edge_cols]).max() > 1.5
    maps = pair_maps(a, b, cfg("hybrid"))
    assert np.isfinite(maps).all()
    assert np.abs(maps[2]).max() <= 20.0 + 1e-5  # w_max_mm
    # background and silhouette columns are zeroed; the face (no local motion) stays near 0
    assert np.abs(maps[2, :, : to_map(24)]).max() < 1e-6
    assert np.abs(maps[2, 5:-5, to_map(40):-5]).max() < 0.5
    # optical channels are untouched by the w cleaning
    np.testing.assert_array_equal(maps[:2], raw[:2])
    # the batch path applies the same cleaning
    batch = pair_maps_batch([a, a], [b, b], cfg("hybrid"))
    np.testing.assert_allclose(batch[0], maps, atol=1e-4)
    # the clamp alone bounds |w| (scene mode too)
    tight = pair_maps(a, b, cfg("scene", w_max_mm=0.5, w_edge_mm=None, w_face_mm=None))
    assert np.abs(tight[2]).max() <= 0.5 + 1e-6
    assert np.abs(tight[2]).max() > 0.2  # clamped at crop level, then area-averaged


def test_w_cleaning_options_are_validated():
    with pytest.raises(ValueError, match="w_max_mm"):
        FeatureConfig(w_max_mm=0.0)
    c = config_from_mapping(FeatureConfig, {"w_max_mm": 15.0, "w_face_mm": None}, "features")
    assert c.w_max_mm == 15.0 and c.w_face_mm is None and c.w_edge_mm == 30.0
