"""Head-motion compensation before the flow (rt_sfamnet.features registration)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rt_sfamnet.face import CropBox
from rt_sfamnet.features import (
    STABLE_LANDMARKS,
    Crop,
    FeatureConfig,
    register_crop,
    similarity_fit,
)


def test_similarity_fit_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (19, 2))
    ang, s, t = math.radians(30), 2.0, np.array([5.0, -3.0])
    R = s * np.array([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]])
    dst = src @ R.T + t
    m = similarity_fit(src, dst)
    np.testing.assert_allclose(m[:, :2], R, atol=1e-12)
    np.testing.assert_allclose(m[:, 2], t, atol=1e-10)
    # hand-computed: two points, a pure translation by (1, 2)
    m = similarity_fit(np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[1.0, 2.0], [2.0, 2.0]]))
    np.testing.assert_array_equal(m, [[1.0, 0.0, 1.0], [0.0, 1.0, 2.0]])
    with pytest.raises(ValueError, match="N×2"):
        similarity_fit(np.zeros((1, 2)), np.zeros((1, 2)))


def _crop(img):
    s = img.shape[0]
    rgb = np.repeat(img[..., None], 3, axis=2)
    return Crop.from_arrays(rgb, np.full((s, s), 600, np.uint16), 100, 100, 63.5, 63.5,
                            (64.0, 64.0))


def test_register_crop_undoes_a_rotation_of_the_head():
    import cv2

    rng = np.random.default_rng(1)
    tex = cv2.GaussianBlur(rng.uniform(0, 255, (128, 128)).astype(np.float32), (0, 0), 2)
    tex = cv2.normalize(tex, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    box = CropBox(0, 0, 128)  # crop pixels = frame pixels
    lm0 = np.zeros((468, 3))
    lm0[:, :2] = rng.uniform(30, 98, (468, 2))
    rot = cv2.getRotationMatrix2D((64, 64), 4.0, 1.02)  # the head turned and leant in
    moved = cv2.warpAffine(tex, rot, (128, 128), borderMode=cv2.BORDER_REPLICATE)
    lm1 = lm0.copy()
    lm1[:, :2] = lm0[:, :2] @ rot[:, :2].T + rot[:, 2]
    out = register_crop(_crop(moved), lm0, lm1, box)
    inner = (slice(24, 104), slice(24, 104))
    before = np.abs(moved[inner].astype(float) - tex[inner]).mean()
    after = np.abs(out.grey[inner].astype(float) - tex[inner]).mean()
    assert after < 0.25 * before
    assert out.depth.dtype == np.uint16 and (out.depth == 600).all()


def test_register_crop_leaves_a_still_head_alone():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 255, (128, 128), dtype=np.uint8)
    lm0 = np.zeros((468, 3))
    lm0[:, :2] = rng.uniform(30, 98, (468, 2))
    lm1 = lm0.copy()
    lm1[list(STABLE_LANDMARKS), 0] += 0.4  # landmark jitter, under REGISTER_MIN_PX
    c = _crop(img)
    assert register_crop(c, lm0, lm1, CropBox(0, 0, 128)) is c


def test_registration_setting_is_checked():
    assert FeatureConfig().registration == "none"
    with pytest.raises(ValueError, match="registration must be one of"):
        FeatureConfig(registration="optical")
