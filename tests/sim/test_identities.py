"""Procedural identities: unlimited, deterministic, all faces to MediaPipe's tracker."""

from __future__ import annotations

from rt_sfamnet.sim import faces


def test_procedural_identities_are_deterministic_and_distinct():
    a, b = faces.identity("proc5"), faces.identity("proc5")
    assert a == b and a.name == "proc5"
    params = {(i.photo, i.mirror, round(i.face_height_px, 3), i.texture)
              for i in (faces.procedural_identity(k) for k in range(40))}
    assert len(params) == 40
    for k in range(40):
        i = faces.procedural_identity(k)
        assert 105 <= i.face_height_px <= 165 and 0.55 <= i.skin_gain <= 1.1
        assert i.texture in faces.TEXTURES


def test_a_procedural_face_is_found_by_the_tracker():
    from rt_sfamnet.face import FaceTracker
    from rt_sfamnet.sim import make_renderer

    r = make_renderer(3, "proc123", duration_s=0.2)
    with FaceTracker() as tr:
        assert tr.update(r.frame(0).color) is not None
