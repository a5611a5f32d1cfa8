"""Identities: real photos, at least 8 distinct faces, plausible depth."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rt_sfamnet.sim import faces
from rt_sfamnet.sim import landmarks as L


def test_source_data_from_two_photos():
    for name in faces.PHOTOS:
        for mirror in (False, True):
            img, lm, mask = faces.source_data(name, mirror)
            assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
            assert lm.shape == (468, 3)
            h, w = img.shape[:2]
            assert (lm[:, 0] > 0).all() and (lm[:, 0] < w).all()
            assert (lm[:, 1] > 0).all() and (lm[:, 1] < h).all()
            assert mask.shape == (h, w) and 0.1 < mask.mean() < 0.9
            # landmark 33 (image-left eye corner) is left of 263 in both orientations
            assert lm[33, 0] < lm[263, 0]
            # the nose tip is the closest point of the mesh
            assert lm[L.NOSE_TIP, 2] < np.median(lm[:, 2])


def test_photo_lookup_rejects_unknown():
    with pytest.raises(ValueError, match="unknown photo"):
        faces.load_photo("mona_lisa")
    with pytest.raises(ValueError, match="unknown identity"):
        faces.identity("nobody")


def _face_crop(t: faces.FaceTemplate) -> np.ndarray:
    n = t.nose_xy.astype(int)
    return t.color[n[1] - 60:n[1] + 60, n[0] - 50:n[0] + 50].astype(np.float32)


def _geometry(t: faces.FaceTemplate) -> np.ndarray:
    lm = t.landmarks
    iod = L.interocular(lm)
    jaw = np.hypot(*(lm[172, :2] - lm[397, :2])) / iod
    width = np.hypot(*(lm[234, :2] - lm[454, :2])) / iod
    height = L.face_height(lm) / iod
    return np.array([iod, jaw, width, height])


def test_at_least_eight_distinct_identities():
    assert len(faces.IDENTITIES) >= 8
    assert len({i.name for i in faces.IDENTITIES}) == len(faces.IDENTITIES)
    templates = [faces.build_template(i, 640, 480) for i in faces.IDENTITIES]
    crops = [_face_crop(t) for t in templates]
    geo = [_geometry(t) for t in templates]
    for a, b in itertools.combinations(range(len(templates)), 2):
        img_diff = np.abs(crops[a] - crops[b]).mean()
        geo_diff = np.abs(geo[a] - geo[b]) / np.abs(geo[a])
        # every pair differs clearly in appearance or in face geometry
        assert img_diff > 8.0 or geo_diff.max() > 0.04, (a, b, img_diff, geo_diff)
        assert img_diff > 3.0, (a, b, img_diff)


def test_template_depth_and_geometry():
    for ident in faces.IDENTITIES:
        t = faces.build_template(ident, 640, 480)
        assert 500 <= t.face_mm <= 800, ident.name
        lm = t.landmarks
        face_px = L.face_height(lm)
        assert 100 < face_px < 170, (ident.name, face_px)
        nose = t.depth[int(lm[L.NOSE_TIP, 1]), int(lm[L.NOSE_TIP, 0])]
        cheeks = np.mean([t.depth[int(lm[i, 1]), int(lm[i, 0])] for i in L.CHEEKS])
        assert 20 <= cheeks - nose <= 40, (ident.name, cheeks - nose)
        # the whole face oval lies between 0.5 and 0.8 m, the wall far behind it
        oval = [t.depth[int(lm[i, 1]), int(lm[i, 0])] for i in L.FACE_OVAL]
        assert 500 <= min(oval) and max(oval) <= 800
        assert t.background_depth.min() > 1200


def test_template_scales_with_frame_size():
    ident = faces.identity(0)
    big = faces.build_template(ident, 640, 480)
    small = faces.build_template(ident, 320, 240)
    assert small.color.shape == (240, 320, 3)
    ratio = L.interocular(small.landmarks) / L.interocular(big.landmarks)
    assert ratio == pytest.approx(0.5, rel=0.02)
    assert small.face_mm == pytest.approx(big.face_mm, rel=1e-6)
