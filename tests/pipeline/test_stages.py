"""The analysis stages without threads (rt_sfamnet.pipeline.stages)."""

from __future__ import annotations

import numpy as np
import pytest


def test_schedule_of_needed_frames():
    from rt_sfamnet.pipeline.stages import needed_frame

    # frame_skip 2, k_SW 6: windows (0,6), (2,8), ... only even frames are needed
    assert [i for i in range(14) if needed_frame(i, 0, 2, 6)] == [0, 2, 4, 6, 8, 10, 12]
    # frame_skip 4, k_SW 6: starts 0,4,8,... and ends 6,10,14,...
    assert [i for i in range(16) if needed_frame(i, 0, 4, 6)] == [0, 4, 6, 8, 10, 12, 14]
    # frame_skip 1: every frame from the base on
    assert [i for i in range(8) if needed_frame(i, 3, 1, 6)] == [3, 4, 5, 6, 7]


def test_box_depth_fraction():
    from rt_sfamnet.face import CropBox
    from rt_sfamnet.pipeline import box_depth_fraction

    depth = np.zeros((100, 100), np.uint16)
    depth[:, :50] = 600
    assert box_depth_fraction(depth, CropBox(0, 0, 40)) == pytest.approx(1.0)
    assert box_depth_fraction(depth, CropBox(30, 0, 40)) == pytest.approx(0.5)
    assert box_depth_fraction(depth, CropBox(-20, -20, 40)) == pytest.approx(1.0)  # clipped
    assert box_depth_fraction(depth, CropBox(200, 200, 40)) == 0.0
