"""Face tracking on a real face photo (scikit-image's public-domain astronaut portrait)."""

from __future__ import annotations

import numpy as np
import pytest

from rt_sfamnet.config import config_from_mapping
from rt_sfamnet.errors import ConfigError
from rt_sfamnet.face import (
    EYE_LEFT,
    CropBox,
    FaceConfig,
    FaceTracker,
    box_from_landmarks,
    brow_regions,
    eye_regions,
    nose_region,
    should_reanchor,
    to_crop_coords,
)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())  # 512×512×3 uint8 RGB


@pytest.fixture
def tracker():
    t = FaceTracker(FaceConfig())
    yield t
    t.close()


def shifted(img: np.ndarray, dx: int, dy: int = 0) -> np.ndarray:
    return np.ascontiguousarray(np.roll(np.roll(img, dx, axis=1), dy, axis=0))


def test_finds_the_face_and_builds_a_box(tracker, astronaut):
    obs = tracker.update(astronaut)
    assert obs is not None
    lm = obs.landmarks
    assert lm.shape == (468, 3) and lm.dtype == np.float32
    # the face of the portrait is in the upper middle of the 512×512 image
    assert 150 < obs.nose_xy[0] < 300 and 80 < obs.nose_xy[1] < 200
    box = obs.box
    assert box.size > 80
    assert (lm[:, 0] >= box.x0).all() and (lm[:, 0] < box.x1).all()
    assert (lm[:, 1] >= box.y0).all() and (lm[:, 1] < box.y1).all()
    assert tracker.reanchors == 1


def test_box_is_stable_under_small_jitter_and_reanchors_on_large_motion(tracker, astronaut):
    first = tracker.update(astronaut).box
    for dx, dy in [(1, 0), (2, 1), (-1, 2), (-2, -2), (0, 1)]:
        obs = tracker.update(shifted(astronaut, dx, dy))
        assert obs is not None
        assert obs.box == first, (dx, dy)
    assert tracker.reanchors == 1
    # MediaPipe's tracking mode follows a sudden 60 px jump over a few frames
    far = shifted(astronaut, 60, 0)
    for _ in range(8):
        moved = tracker.update(far)
        assert moved is not None
    assert tracker.reanchors >= 2
    # the box follows to within the re-anchoring threshold (10% of its size)
    tol = 0.1 * first.size + 2
    assert abs((moved.box.x0 - first.x0) - 60) <= tol
    assert abs(moved.box.y0 - first.y0) <= tol
    assert moved.box.x0 - first.x0 > 30
    # and it stays there under jitter again
    count = tracker.reanchors
    for dx, dy in [(61, 1), (59, 0), (60, -1)]:
        assert tracker.update(shifted(astronaut, dx, dy)).box == moved.box
    assert tracker.reanchors == count


def test_no_face_returns_none_and_keeps_the_box(tracker, astronaut):
    box = tracker.update(astronaut).box
    blank = np.full_like(astronaut, 90)
    assert tracker.update(blank) is None
    assert tracker.box == box
    tracker.reset()
    assert tracker.box is None


def test_regions_are_where_a_face_has_them(tracker, astronaut):
    obs = tracker.update(astronaut)
    lm = obs.landmarks
    eyes = eye_regions(lm)
    brows = brow_regions(lm)
    nx, ny = obs.nose_xy
    for side in ("left", "right"):
        ex0, ey0, ex1, ey1 = eyes[side]
        bx0, by0, bx1, by1 = brows[side]
        assert ey1 < ny  # eyes above the nose tip
        assert (by0 + by1) / 2 < (ey0 + ey1) / 2  # brows above the eyes
        assert ex1 - ex0 > 10 and ey1 - ey0 > 3
    # the subject's left eye appears on the image's right for a frontal face
    assert (eyes["left"][0] + eyes["left"][2]) / 2 > nx > (eyes["right"][0] + eyes["right"][2]) / 2
    x0, y0, x1, y1 = nose_region(obs.nose_xy, 11)
    assert x1 - x0 == 11 and y1 - y0 == 11
    assert x0 <= nx <= x1 and y0 <= ny <= y1


def test_should_reanchor_rule():
    box = CropBox(100, 100, 200)
    assert should_reanchor(None, box)
    assert not should_reanchor(box, CropBox(115, 100, 200))  # 7.5% of the size
    assert should_reanchor(box, CropBox(125, 100, 200))  # 12.5%
    assert not should_reanchor(box, CropBox(100, 100, 215))  # size +7.5%, centre +3.5%
    assert should_reanchor(box, CropBox(90, 90, 225))  # size +12.5%
    assert should_reanchor(box, CropBox(100, 100, 230), size_threshold=0.10)
    assert not should_reanchor(box, CropBox(100, 100, 230), size_threshold=0.2,
                               move_threshold=0.2)


def test_box_from_landmarks_and_crop_coords():
    rng = np.random.default_rng(0)
    lm = np.zeros((468, 3), np.float32)
    lm[:, 0] = rng.uniform(200, 300, 468)
    lm[:, 1] = rng.uniform(150, 230, 468)
    lm[0, :2] = (200, 150)
    lm[1, :2] = (300, 230)
    box = box_from_landmarks(lm, margin=0.1)
    assert box.size == 120  # 100 px extent + 2 × 10%
    cx, cy = box.center
    assert abs(cx - 250) <= 1 and abs(cy - 190) <= 1
    pts = to_crop_coords(np.array([[box.x0, box.y0, 4.0], [box.x1 - 1, box.y1 - 1, 0.0]]), box,
                         60)
    # pixel centres: first pixel of the box -> within the first crop pixel, last -> last
    assert -0.5 < pts[0, 0] < 0.5 and 58.5 < pts[1, 0] < 59.5
    assert pts[0, 2] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="468"):
        box_from_landmarks(np.zeros((10, 3)))
    assert len(EYE_LEFT) == 16


def test_face_config_from_mapping():
    cfg = config_from_mapping(FaceConfig, {"margin": 0.2, "move_threshold": 0.05})
    assert cfg.margin == 0.2 and cfg.move_threshold == 0.05
    with pytest.raises(ConfigError):
        config_from_mapping(FaceConfig, {"margins": 0.2})
    with pytest.raises(ConfigError):
        config_from_mapping(FaceConfig, {"margin": -1.0})


def test_landmark_index_sets_match_mediapipe():
    from mediapipe.python.solutions import face_mesh_connections as fmc

    from rt_sfamnet import face

    def points(conns):
        return tuple(sorted({i for e in conns for i in e}))

    assert face.EYE_LEFT == points(fmc.FACEMESH_LEFT_EYE)
    assert face.EYE_RIGHT == points(fmc.FACEMESH_RIGHT_EYE)
    assert face.BROW_LEFT == points(fmc.FACEMESH_LEFT_EYEBROW)
    assert face.BROW_RIGHT == points(fmc.FACEMESH_RIGHT_EYEBROW)
    assert face.NOSE == points(fmc.FACEMESH_NOSE)
