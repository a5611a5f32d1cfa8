"""Rendering: motion amplitudes, depth range and noise, holes, blinks, determinism."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from rt_sfamnet.emotions import EMOTIONS7
from rt_sfamnet.sim import RenderConfig, Renderer, faces, make_renderer
from rt_sfamnet.sim import landmarks as L
from rt_sfamnet.sim import script as S
from rt_sfamnet.sim.depth import DepthNoiseConfig, d415_depth, depth_rms_mm

STILL = S.HeadMotion(0, 0.0, 0.0, 0.0, 0.0)
CLEAN = RenderConfig(color_noise=0.0, depth_noise=None, head_motion=0.0)


def _script(types_amps, fps=30.0):
    rng = np.random.default_rng(0)
    exprs, t = [], 10
    for typ, emo, amp in types_amps:
        e = S.make_expression(rng, typ, emo, t, fps, amp)
        exprs.append(e)
        t = e.offset + 12
    return S.Script(t + 12, fps, exprs, [S.Blink(t + 2, t + 6)], STILL)


def _flow_peak(r: Renderer, f0: int, f1: int) -> tuple[float, np.ndarray]:
    g0 = cv2.cvtColor(r.render(f0)[0], cv2.COLOR_RGB2GRAY)
    g1 = cv2.cvtColor(r.render(f1)[0], cv2.COLOR_RGB2GRAY)
    flow = cv2.calcOpticalFlowFarneback(g0, g1, None, 0.5, 3, 11, 5, 5, 1.1, 0)
    x0, y0, x1, y1 = r.box
    mag = np.hypot(flow[..., 0], flow[..., 1])[y0:y1, x0:x1]
    return float(np.percentile(mag, 99.7)), flow


def test_micro_and_macro_displacement_known_warp_and_flow():
    tpl = faces.build_template(faces.identity(1))
    spec = [("micro", e, None) for e in EMOTIONS7] + [("macro", "happy", None),
                                                       ("macro", "anger", None)]
    r = Renderer(tpl, _script(spec), config=CLEAN)
    for e in r.script.expressions:
        d, _ = r.displacement(e.apex)
        peak = float(np.hypot(d[..., 0], d[..., 1]).max())
        assert peak == pytest.approx(e.amplitude_px, rel=1e-3)
        measured, _ = _flow_peak(r, e.onset, e.apex)
        if e.type == "micro":
            assert 0.5 <= peak <= 2.0
            assert 0.5 <= measured <= 2.5, (e.emotion, measured)
        else:
            assert peak > 3.0
            assert measured > 2.5, (e.emotion, measured)
        # no motion before the onset
        assert float(np.abs(r.displacement(e.onset)[0]).max()) == 0.0
    # a neutral frame pair has (almost) no flow
    quiet, _ = _flow_peak(r, 0, 6)
    assert quiet < 0.1


def test_emotions_move_different_regions():
    """Each emotion's motion has its own spatial pattern (cosine similarity of the fields)."""
    tpl = faces.build_template(faces.identity(0))
    spec = [("micro", e, 1.8) for e in EMOTIONS7]
    r = Renderer(tpl, _script(spec), config=CLEAN)
    fields = []
    for e in r.script.expressions:
        d, _ = r.displacement(e.apex)
        fields.append(d.ravel() / np.linalg.norm(d))
    sims = np.array([[a @ b for b in fields] for a in fields])
    off = sims[~np.eye(7, dtype=bool)]
    assert off.max() < 0.6, sims.round(2)


def test_blink_closes_the_eyes_briefly():
    tpl = faces.build_template(faces.identity(0))
    sc = _script([("micro", "happy", 1.5)])
    r = Renderer(tpl, sc, config=CLEAN)
    b = sc.blinks[0]
    mid = (b.start + b.end) // 2
    d, _ = r.displacement(mid)
    lm = tpl.landmarks
    opening = np.hypot(*(lm[145, :2] - lm[159, :2]))
    assert np.hypot(d[..., 0], d[..., 1]).max() >= 0.9 * opening
    assert r.render(mid)[2]["blink"] == 1.0
    assert r.render(mid)[2]["au"] == {}


def test_depth_range_noise_and_holes():
    r = make_renderer(seed=2, identity=3, duration_s=1.0)
    color, depth, meta = r.render(5)
    assert depth.dtype == np.uint16 and depth.shape == color.shape[:2]
    lm = r.landmarks(5)
    inner = [i for i in range(468)]
    vals = np.array([depth[int(lm[i, 1]), int(lm[i, 0])] for i in inner])
    valid = vals[vals > 0]
    assert len(valid) > 0.9 * len(vals)
    assert 500 <= np.percentile(valid, 2) and np.percentile(valid, 98) <= 800
    nose = np.median([depth[int(lm[1, 1]) + dy, int(lm[1, 0]) + dx]
                      for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
    cheeks = np.median([depth[int(lm[i, 1]) + dy, int(lm[i, 0]) + dx]
                        for i in L.CHEEKS for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
    assert 20 <= cheeks - nose <= 40
    # holes sit along the silhouette: pixels where the person meets the wall
    person = (r.template.alpha > 0.5)
    edge = cv2.morphologyEx(person.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    hole = depth == 0
    assert hole[edge].mean() > 0.5
    assert hole[~edge].mean() < 0.1


def test_depth_noise_grows_with_z_squared():
    rng = np.random.default_rng(0)
    shape = (200, 200)
    cfg = DepthNoiseConfig(edge_mm=1e9, shadow_scale=0.0, dark_dropout=0.0, dropout=0.0)
    stds = []
    for z in (500.0, 1000.0, 2000.0):
        clean = np.full(shape, z, np.float32)
        out = d415_depth(clean, rng.standard_normal(shape, dtype=np.float32),
                         rng.random(shape, dtype=np.float32), None, 465.0, cfg)
        err = out.astype(np.float64) - z
        assert np.all(out > 0)
        assert np.all(err == np.round(err))  # 1 mm steps
        stds.append(err.std())
        assert err.std() == pytest.approx(float(depth_rms_mm(z, cfg.rms_k)), rel=0.1, abs=0.15)
    assert stds[2] / stds[1] == pytest.approx(4.0, rel=0.15)
    assert stds[1] / stds[0] == pytest.approx(4.0, rel=0.25)
    # D415 datasheet bound: at most ~2 % at 2 m
    assert stds[2] <= 0.02 * 2000


def test_depth_holes_at_discontinuities_and_bad_shapes():
    z = np.full((100, 100), 1800.0, np.float32)
    z[30:70, 40:70] = 600.0
    cfg = DepthNoiseConfig(rms_k=0.0, dark_dropout=0.0, dropout=0.0)
    out = d415_depth(z, np.zeros_like(z), np.ones_like(z) * 0.5, None, 465.0, cfg)
    assert np.all(out[30:70, 39] == 0) and np.all(out[30:70, 70] == 0)  # edges
    assert np.all(out[50, 45:65] == 600)  # inside the face
    band = (out[50, :40] == 0).sum()  # occlusion band on the left
    assert band > 5
    assert np.all(out[50, 71:] == 1800)
    with pytest.raises(ValueError, match="normal"):
        d415_depth(z, np.zeros((5, 5), np.float32), np.zeros_like(z), None, 465.0, cfg)


def test_rendering_is_deterministic_and_random_access():
    a = make_renderer(seed=11, identity=4, width=320, height=240, duration_s=3.0)
    b = make_renderer(seed=11, identity=4, width=320, height=240, duration_s=3.0)
    c = make_renderer(seed=12, identity=4, width=320, height=240, duration_s=3.0)
    for i in (40, 3, 70):
        ca, da, ma = a.render(i)
        cb, db, mb = b.render(i)
        assert np.array_equal(ca, cb) and np.array_equal(da, db) and ma == mb
    assert not np.array_equal(a.render(3)[1], c.render(3)[1])
    with pytest.raises(IndexError):
        a.render(a.n_frames)


def test_head_moves_slowly():
    r = make_renderer(seed=1, identity=0, duration_s=20.0)
    nose = np.append(r.template.nose_xy, 1.0)
    noses = np.array([r.pose_matrix(i)[0] @ nose for i in range(0, 600, 3)])
    step = np.hypot(*np.diff(noses, axis=0).T)  # per 3 frames
    assert 0.3 < np.ptp(noses[:, 0]) < 20  # it drifts, a few pixels
    assert step.max() < 1.0
    dz = [r.pose_matrix(i)[1] for i in range(0, 600, 30)]
    assert 1.0 < np.ptp(dz) < 40.0  # millimetres
