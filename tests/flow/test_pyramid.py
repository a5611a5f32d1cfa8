"""Pyramid geometry (rt_sfamnet.flow.pyramid): one ``pyramid_sizes`` for both solvers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rt_sfamnet.flow.pyramid import blur_kernel, level_intrinsics, pyramid_sigma, pyramid_sizes
from rt_sfamnet.flow.rgbd import RGBD_PRESETS, RGBDParams
from rt_sfamnet.flow.tvl1 import PRESETS, TVL1Params


def test_pyramid_sizes_by_hand():
    # 128 * 0.8 = 102.4 -> 102; 102 * 0.8 = 81.6 -> 82; 65.6 -> 66; 52.8 -> 53
    assert pyramid_sizes(128, 128, 0.8, max_levels=5) == [(128, 128), (102, 102), (82, 82),
                                                          (66, 66), (53, 53)]
    assert pyramid_sizes(40, 30, 0.5, min_size=8, max_levels=10) == [(40, 30), (20, 15), (10, 8)]
    assert pyramid_sizes(40, 30, 0.5, min_size=9, max_levels=10) == [(40, 30), (20, 15)]
    assert pyramid_sizes(10, 10, 0.8, max_levels=3) == [(10, 10)]  # below min_size: one level
    # ties round to even: 10 * 0.75 = 7.5 -> 8, 6 * 0.75 = 4.5 -> 4
    assert pyramid_sizes(10, 6, 0.75, min_size=4) == [(10, 6), (8, 4)]
    assert pyramid_sizes(64, 64, 0.5, min_size=1, max_levels=1) == [(64, 64)]


def test_pyramid_sizes_uncapped_stops_when_levels_stop_shrinking():
    # 4 * 0.9 = 3.6 -> 4: without a cap the pyramid would never end.
    assert pyramid_sizes(4, 4, 0.9, min_size=4) == [(4, 4)]
    # with a cap the level is repeated (OpenCV's behaviour, kept for TV-L1's nscales)
    assert pyramid_sizes(4, 4, 0.9, min_size=4, max_levels=3) == [(4, 4)] * 3


@pytest.mark.parametrize("bad", [dict(height=0, width=5, scale_step=0.5),
                                 dict(height=5, width=5, scale_step=1.5),
                                 dict(height=5, width=5, scale_step=0.5, max_levels=0)])
def test_pyramid_sizes_rejects_bad_arguments(bad):
    with pytest.raises(ValueError, match="pyramid_sizes"):
        pyramid_sizes(**bad)


def _rgbd_rule(h, w, ratio, min_size, max_levels):
    """The RGB-D solver's pyramid rule as it was written before the two functions were merged."""
    sizes = [(h, w)]
    while True:
        if max_levels and len(sizes) >= max_levels:
            break
        nh = int(round(sizes[-1][0] * ratio))
        nw = int(round(sizes[-1][1] * ratio))
        if min(nh, nw) < min_size or min(nh, nw) < 4:
            break
        sizes.append((nh, nw))
    return sizes


def _tvl1_rule(h, w, nscales, step, min_size):
    """TV-L1's pyramid rule as it was written before the two functions were merged."""
    if min(h, w) < min_size:
        return [(h, w)]
    sizes = [(h, w)]
    for _ in range(1, nscales):
        nh, nw = int(np.rint(sizes[-1][0] * step)), int(np.rint(sizes[-1][1] * step))
        if nh < min_size or nw < min_size:
            break
        sizes.append((nh, nw))
    return sizes


def test_solver_level_sizes_equal_the_former_rules():
    sizes = [(h, w) for h in (4, 5, 12, 16, 17, 31, 42, 64, 96, 128, 130) for w in (4, 16, 33, 128)]
    rgbd_params = [RGBDParams(pyramid_ratio=r, min_size=m, max_levels=k)
                   for r in (0.5, 0.75, 0.8) for m in (1, 3, 16, 24) for k in (0, 1, 4)]
    rgbd_params += list(RGBD_PRESETS.values())
    for p in rgbd_params:
        for h, w in sizes:
            assert p.level_sizes(h, w) == _rgbd_rule(h, w, p.pyramid_ratio, p.min_size,
                                                     p.max_levels), (p, h, w)
    tvl1_params = [TVL1Params(scale_step=s, min_size=m, nscales=n)
                   for s in (0.5, 0.8, 0.95) for m in (1, 4, 16) for n in (1, 3, 5, 40)]
    tvl1_params += list(PRESETS.values())
    for p in tvl1_params:
        for h, w in sizes:
            assert p.level_sizes(h, w) == _tvl1_rule(h, w, p.nscales, p.scale_step,
                                                     p.min_size), (p, h, w)


def test_blur_kernel_and_sigma():
    k = blur_kernel(1.0)
    assert k.dtype == np.float32
    assert math.isclose(float(k[0] + 2 * (k[1] + k[2])), 1.0, rel_tol=1e-6)
    # exp(-0.5), exp(-2) relative to the centre
    assert math.isclose(float(k[1] / k[0]), math.exp(-0.5), rel_tol=1e-6)
    assert math.isclose(float(k[2] / k[0]), math.exp(-2.0), rel_tol=1e-6)
    assert blur_kernel(0.0).tolist() == [1.0, 0.0, 0.0]
    # ratio 0.5: 0.5 * sqrt(4 - 1) + 0.2
    assert math.isclose(pyramid_sigma(0.5), 0.5 * math.sqrt(3.0) + 0.2)


def test_level_intrinsics_keep_pixel_centres():
    # half size: fx halves; the centre of pixel 0..1 of the fine image maps onto pixel 0
    fx, fy, cx, cy = level_intrinsics(100.0, 120.0, 31.5, 15.5, 32, 64, 16, 32)
    assert (fx, fy) == (50.0, 60.0)
    assert (cx, cy) == (15.5, 7.5)
