"""Unlabelled nuisance events of realistic simulated videos (rt_sfamnet.sim.nuisance)."""

from __future__ import annotations

import numpy as np
import pytest

from rt_sfamnet.sim import nuisance as N
from rt_sfamnet.sim import script as S


def test_smoothstep_ends_and_middle():
    assert N.smoothstep(-1) == 0.0 and N.smoothstep(2) == 1.0
    assert N.smoothstep(0.5) == pytest.approx(0.5)
    assert N.smoothstep(0.25) == pytest.approx(3 * 0.0625 - 2 * 0.015625)


def test_events_avoid_expressions_and_are_deterministic():
    for seed in range(6):
        sc = S.generate_script(seed, 900, 30.0, nuisance=True)
        again = S.generate_script(seed, 900, 30.0, nuisance=True)
        assert sc.nuisance == again.nuisance
        nz = sc.nuisance
        assert nz is not None and 40 <= nz.jpeg_quality <= 85 and 1.5 <= nz.colour_noise <= 4
        clear = int(0.25 * 30)
        for a, b in nz.busy():
            assert 0 < a < b < 900
            for e in sc.expressions:  # 0.25 s away from every labelled expression
                assert b + clear < e.onset or a - clear > e.offset, (seed, (a, b), e)
        spans = sorted(nz.busy())
        assert all(spans[i][1] < spans[i + 1][0] for i in range(len(spans) - 1))


def test_a_script_without_nuisance_is_unchanged():
    plain = S.generate_script(3, 600, 30.0)
    assert plain.nuisance is None
    assert [(e.onset, e.offset) for e in plain.expressions] == \
        [(e.onset, e.offset) for e in S.generate_script(3, 600, 30.0, nuisance=False).expressions]


def test_head_pose_eases_to_each_target_and_stays():
    moves = [N.HeadMove(10, 20, (10.0, 0.0, 2.0, 0.0, 0.0)),
             N.HeadMove(40, 50, (0.0, -4.0, 0.0, 8.0, 0.02))]
    nz = N.Nuisance(moves=moves)
    assert nz.head_pose(5) == (0.0, 0.0, 0.0, 0.0, 0.0)
    assert nz.head_pose(15) == pytest.approx((5.0, 0.0, 1.0, 0.0, 0.0))  # half way
    assert nz.head_pose(30) == pytest.approx((10.0, 0.0, 2.0, 0.0, 0.0))  # held
    assert nz.head_pose(45) == pytest.approx((5.0, -2.0, 1.0, 4.0, 0.01))
    assert nz.head_pose(60) == pytest.approx((0.0, -4.0, 0.0, 8.0, 0.02))
    # real speeds: no frame-to-frame jump larger than 1.5x the mean speed of a move
    xs = [nz.head_pose(f)[0] for f in range(8, 23)]
    assert max(abs(np.diff(xs))) <= 1.5 * 10.0 / 10 + 1e-9


def test_pose_affine_by_hand():
    def apply(m, x, y):
        return tuple(np.round(m @ np.array([x, y, 1.0]), 9))

    # identity, then a pure shift
    assert apply(N.pose_affine((10, 20), 0, 0, 0, 0, 1.0), 3, 4) == (3, 4)
    assert apply(N.pose_affine((10, 20), 5, -2, 0, 0, 1.0), 3, 4) == (8, 2)
    # roll 90° about (10, 20): one pixel right of the centre goes one pixel down
    m = N.pose_affine((10, 20), 0, 0, 90, 0, 1.0)
    assert apply(m, 11, 20) == (10, 21) and apply(m, 10, 20) == (10, 20)
    # yaw 60°: horizontal compression by cos 60° = 0.5 about the centre; scale 2 doubles
    assert apply(N.pose_affine((10, 20), 0, 0, 0, 60, 1.0), 14, 23) == (12, 23)
    assert apply(N.pose_affine((10, 20), 0, 0, 0, 0, 2.0), 11, 21) == (12, 22)


def test_talk_opening_and_hand_position():
    t = N.Talk(30, 90, 3.0, 4.0)
    vals = [t.opening(f, 30.0) for f in range(0, 120)]
    assert all(0.0 <= v <= 1.0 for v in vals)
    assert vals[30] == 0.0 and vals[90] == 0.0 and max(vals) > 0.9
    # about 4 openings a second over 2 s of talk: count the peaks
    peaks = sum(1 for i in range(1, 119) if vals[i] > vals[i - 1] and vals[i] >= vals[i + 1]
                and vals[i] > 0.5)
    assert 6 <= peaks <= 9
    h = N.Hand(100, 140, 1, 0.5, (0.9, 0.7, 0.6))
    assert h.position(100) == 0.0 and h.position(120) == 1.0 and 0 < h.position(103) < 1


def test_rendered_nuisance_changes_what_it_should():
    from rt_sfamnet.sim import make_renderer

    sc = S.Script(120, 30.0, nuisance=N.Nuisance(
        hands=[N.Hand(10, 60, 1, 0.8, (0.9, 0.7, 0.6))],
        talks=[N.Talk(70, 110, 4.0, 4.0)],
        lighting=N.Lighting(gain=0.2, period_s=4.0)))
    sc.motion = S.HeadMotion(drift_px=0.0, roll_deg=0.0, dz_mm=0.0, jitter_px=0.0)
    r = make_renderer(0, 0, script=sc)
    c0, d0, _ = r.render(0)
    c_hand, d_hand, _ = r.render(35)
    # the hand is in front of the face: many pixels 100+ mm closer than before
    closer = (d_hand > 0) & (d0 > 0) & (d_hand.astype(np.int32) < d0.astype(np.int32) - 60)
    assert closer.sum() > 2000
    # talking moves the lower face, not the forehead: the most open vs the most shut frame
    lm = r.template.landmarks
    nose_y = int(lm[1, 1])
    opens = [(sc.nuisance.talks[0].opening(f, 30.0), f) for f in range(71, 110)]
    f_open = max(opens)[1]
    f_shut = min(opens)[1]
    r_open, _ = r.displacement(f_open)
    r_shut, _ = r.displacement(f_shut)
    x0, y0, x1, y1 = r.box
    moved = np.abs(r_open - r_shut).sum(axis=2)
    assert moved[nose_y - y0 + 10:].max() > 2.0   # the mouth and jaw
    assert moved[: max(1, nose_y - y0 - 40)].max() < 0.2  # the forehead
    # lighting drift: the mean brightness follows the gain
    g_hi = max(range(0, 120), key=lambda f: sc.nuisance.lighting.factors(f / 30.0)[0])
    g_lo = min(range(0, 120), key=lambda f: sc.nuisance.lighting.factors(f / 30.0)[0])
    assert r.render(g_hi)[0].mean() > r.render(g_lo)[0].mean() + 10
