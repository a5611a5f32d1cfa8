"""Face tracking: MediaPipe face mesh → landmarks → a stable square crop box, and face regions.

The crop box is what makes flow between two frames meaningful: both frames of a pair are cut
with the same box, and the box must not jitter with the landmark noise of every frame (a box
that moves by one pixel adds one pixel of flow everywhere). :class:`FaceTracker` therefore keeps
its box fixed while the head is still and *re-anchors* it only when the head moved far:

    re-anchor  ⇔  |c_new − c_box| > move_threshold · size_box        (centre moved), or
                  |size_new / size_box − 1| > size_threshold          (scale changed)

with ``c`` the box centres and ``size`` the box sides in frame pixels; both thresholds are 0.10
by default. The candidate box of a frame is the square centred on the landmarks' bounding box,
with side ``(1 + 2 · margin) · max(bbox width, bbox height)``.

Landmark indices (MediaPipe face mesh topology, 468 points) used for the regions are the
point sets of MediaPipe's ``FACEMESH_*`` connection lists; the nose tip is landmark 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rt_sfamnet.errors import ConfigError

__all__ = [
    "BROW_LEFT",
    "BROW_RIGHT",
    "CropBox",
    "EYE_LEFT",
    "EYE_RIGHT",
    "FaceConfig",
    "FaceObservation",
    "FaceTracker",
    "NOSE",
    "NOSE_TIP",
    "box_from_landmarks",
    "brow_regions",
    "eye_regions",
    "nose_region",
    "region_box",
    "should_reanchor",
    "to_crop_coords",
]

N_LANDMARKS = 468
NOSE_TIP = 1
#: Subject's left eye (image right for a frontal face), MediaPipe FACEMESH_LEFT_EYE points.
EYE_LEFT = (249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398, 466)
#: Subject's right eye, MediaPipe FACEMESH_RIGHT_EYE points.
EYE_RIGHT = (7, 33, 133, 144, 145, 153, 154, 155, 157, 158, 159, 160, 161, 163, 173, 246)
BROW_LEFT = (276, 282, 283, 285, 293, 295, 296, 300, 334, 336)
BROW_RIGHT = (46, 52, 53, 55, 63, 65, 66, 70, 105, 107)
NOSE = (1, 2, 4, 5, 6, 19, 45, 48, 64, 94, 97, 98, 115, 168, 195, 197, 220, 275, 278, 294, 326,
        327, 344, 440)


@dataclass(frozen=True)
class CropBox:
    """A square in frame pixels: columns ``x0 .. x0+size-1``, rows ``y0 .. y0+size-1``.

    It may extend past the frame; crops pad the outside (see ``rt_sfamnet.features``).
    """

    x0: int
    y0: int
    size: int

    @property
    def center(self) -> tuple[float, float]:
        """Centre (x, y) in frame pixels."""
        half = (self.size - 1) / 2.0
        return self.x0 + half, self.y0 + half

    @property
    def x1(self) -> int:
        """One past the last column."""
        return self.x0 + self.size

    @property
    def y1(self) -> int:
        """One past the last row."""
        return self.y0 + self.size


@dataclass
class FaceObservation:
    """The face of one frame.

    Attributes:
        landmarks: 468×3 float32: x, y in frame pixels, z MediaPipe's relative depth scaled
            like x (pixels; smaller = closer to the camera).
        box: the tracker's current stable crop box (frame pixels).
        nose_xy: (x, y) of the nose tip (landmark 1) in frame pixels.
    """

    landmarks: np.ndarray
    box: CropBox
    nose_xy: tuple[float, float]

    def __post_init__(self) -> None:
        lm = np.asarray(self.landmarks)
        if lm.ndim != 2 or lm.shape[0] < N_LANDMARKS or lm.shape[1] != 3:
            raise ValueError(f"landmarks must be 468×3, found shape {lm.shape}")


@dataclass
class FaceConfig:
    """Settings of :class:`FaceTracker`.

    Attributes:
        margin: crop margin on each side, as a fraction of the landmarks' extent.
        move_threshold: re-anchor when the candidate box centre moved more than this fraction
            of the current box size.
        size_threshold: re-anchor when the candidate box size differs by more than this
            fraction from the current one.
        min_detection_confidence, min_tracking_confidence: MediaPipe face mesh thresholds.
        static_image_mode: MediaPipe's mode; False (tracking between frames) for video.
    """

    margin: float = 0.15
    move_threshold: float = 0.10
    size_threshold: float = 0.10
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    static_image_mode: bool = False

    def __post_init__(self) -> None:
        if self.margin < 0:
            raise ValueError(f"margin must be >= 0, found {self.margin}")
        for name in ("move_threshold", "size_threshold"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, found {getattr(self, name)}")
        for name in ("min_detection_confidence", "min_tracking_confidence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], found {getattr(self, name)}")


# ---------------------------------------------------------------------------------------------
# Plain functions on landmarks
# ---------------------------------------------------------------------------------------------


def _check_landmarks(landmarks: Any) -> np.ndarray:
    lm = np.asarray(landmarks, dtype=np.float32)
    if lm.ndim != 2 or lm.shape[0] < N_LANDMARKS or lm.shape[1] not in (2, 3):
        raise ValueError(f"landmarks must be 468×3 (or 468×2), found shape {lm.shape}")
    return lm


def box_from_landmarks(landmarks: Any, margin: float = 0.15) -> CropBox:
    """The square around the landmarks with ``margin`` (fraction of their extent) per side.

    Args:
        landmarks: N×2 or N×3 (x, y[, z]) in frame pixels, N ≥ 468.
    """
    lm = _check_landmarks(landmarks)
    x_min, y_min = lm[:, 0].min(), lm[:, 1].min()
    x_max, y_max = lm[:, 0].max(), lm[:, 1].max()
    extent = max(float(x_max - x_min), float(y_max - y_min), 1.0)
    size = int(round(extent * (1.0 + 2.0 * margin)))
    cx = 0.5 * float(x_min + x_max)
    cy = 0.5 * float(y_min + y_max)
    half = (size - 1) / 2.0
    return CropBox(int(round(cx - half)), int(round(cy - half)), size)


def should_reanchor(current: CropBox | None, candidate: CropBox, move_threshold: float = 0.10,
                    size_threshold: float = 0.10) -> bool:
    """True when ``candidate`` is far enough from ``current`` to replace it (module docstring)."""
    if current is None:
        return True
    (cx0, cy0), (cx1, cy1) = current.center, candidate.center
    moved = float(np.hypot(cx1 - cx0, cy1 - cy0))
    if moved > move_threshold * current.size:
        return True
    return abs(candidate.size / current.size - 1.0) > size_threshold


def region_box(landmarks: Any, indices: tuple[int, ...], pad: float = 0.2
               ) -> tuple[float, float, float, float]:
    """Bounding box ``(x0, y0, x1, y1)`` (frame pixels) of some landmarks, grown by ``pad``
    (fraction of its width/height) on each side."""
    lm = _check_landmarks(landmarks)
    pts = lm[list(indices), :2]
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    px, py = pad * (x1 - x0), pad * (y1 - y0)
    return float(x0 - px), float(y0 - py), float(x1 + px), float(y1 + py)


def nose_region(nose_xy: tuple[float, float], patch: int = 11) -> tuple[int, int, int, int]:
    """The ``patch``×``patch`` square (x0, y0, x1, y1), x1/y1 exclusive, centred on the nose tip
    (rounded to the nearest pixel). Coordinates in whatever frame ``nose_xy`` is given."""
    if patch < 1:
        raise ValueError(f"patch must be >= 1, found {patch}")
    cx, cy = int(round(nose_xy[0])), int(round(nose_xy[1]))
    h = patch // 2
    return cx - h, cy - h, cx - h + patch, cy - h + patch


def eye_regions(landmarks: Any, pad: float = 0.2) -> dict[str, tuple[float, float, float, float]]:
    """``{"left": box, "right": box}`` of the subject's eyes (frame pixels, x0, y0, x1, y1)."""
    return {"left": region_box(landmarks, EYE_LEFT, pad),
            "right": region_box(landmarks, EYE_RIGHT, pad)}


def brow_regions(landmarks: Any, pad: float = 0.2) -> dict[str, tuple[float, float, float, float]]:
    """``{"left": box, "right": box}`` of the subject's eyebrows (frame pixels)."""
    return {"left": region_box(landmarks, BROW_LEFT, pad),
            "right": region_box(landmarks, BROW_RIGHT, pad)}


def to_crop_coords(points: Any, box: CropBox, crop_size: int) -> np.ndarray:
    """Frame-pixel points (…×2 or …×3, x, y first) to pixel coordinates of a crop of side
    ``crop_size`` cut with ``box`` (pixel centres aligned; z, if present, is scaled alike)."""
    p = np.array(points, dtype=np.float32, copy=True)
    s = crop_size / box.size
    p[..., 0] = (p[..., 0] - box.x0 + 0.5) * s - 0.5
    p[..., 1] = (p[..., 1] - box.y0 + 0.5) * s - 0.5
    if p.shape[-1] > 2:
        p[..., 2:] *= s
    return p


# ---------------------------------------------------------------------------------------------
# The tracker
# ---------------------------------------------------------------------------------------------


class FaceTracker:
    """MediaPipe face mesh (built once) plus the stable crop box.

    Usage::

        tracker = FaceTracker(FaceConfig())
        obs = tracker.update(frame.color)   # FaceObservation or None (no face)
        tracker.close()

    ``update`` takes an H×W×3 uint8 RGB image. When no face is found it returns None and
    keeps its box, so a face found again near the same place keeps the same crop.
    """

    def __init__(self, config: FaceConfig | None = None) -> None:
        if config is not None and not isinstance(config, FaceConfig):
            raise ConfigError(f"FaceTracker: expected a FaceConfig, found {type(config).__name__}")
        self.config = config or FaceConfig()
        try:
            import mediapipe as mp  # lazy: heavy optional dependency
        except ImportError as exc:  # pragma: no cover - mediapipe is a core dependency
            raise ConfigError(f"face tracking needs mediapipe (pip install mediapipe): {exc}") from None
        c = self.config
        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=c.static_image_mode,
            max_num_faces=1,
            refine_landmarks=False,
            min_detection_confidence=c.min_detection_confidence,
            min_tracking_confidence=c.min_tracking_confidence,
        )
        self._box: CropBox | None = None
        self.reanchors = 0

    @property
    def box(self) -> CropBox | None:
        """The current stable box (None before the first face)."""
        return self._box

    def landmarks(self, color: np.ndarray) -> np.ndarray | None:
        """468×3 float32 landmarks (frame pixels) of the face in ``color``, or None."""
        img = np.asarray(color)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(f"color must be H×W×3 uint8 RGB, found {img.shape} {img.dtype}")
        if self._mesh is None:
            raise RuntimeError("FaceTracker is closed")
        h, w = img.shape[:2]
        res = self._mesh.process(np.ascontiguousarray(img))
        faces = getattr(res, "multi_face_landmarks", None)
        if not faces:
            return None
        pts = faces[0].landmark
        lm = np.empty((len(pts), 3), np.float32)
        for i, p in enumerate(pts):
            lm[i, 0] = p.x * w
            lm[i, 1] = p.y * h
            lm[i, 2] = p.z * w
        return lm[:N_LANDMARKS]

    def update(self, color: np.ndarray) -> FaceObservation | None:
        """Track the face in one H×W×3 uint8 RGB frame; None when no face is found."""
        lm = self.landmarks(color)
        if lm is None:
            return None
        return self.observe_landmarks(lm)

    def observe_landmarks(self, landmarks: np.ndarray) -> FaceObservation:
        """Update the stable box from given landmarks (468×3 frame pixels) and observe them."""
        lm = _check_landmarks(landmarks)
        if lm.shape[1] == 2:
            lm = np.concatenate([lm, np.zeros((lm.shape[0], 1), np.float32)], axis=1)
        c = self.config
        cand = box_from_landmarks(lm, c.margin)
        if should_reanchor(self._box, cand, c.move_threshold, c.size_threshold):
            self._box = cand
            self.reanchors += 1
        nose = (float(lm[NOSE_TIP, 0]), float(lm[NOSE_TIP, 1]))
        return FaceObservation(landmarks=lm, box=self._box, nose_xy=nose)

    def reset(self) -> None:
        """Forget the box (the next face re-anchors it)."""
        self._box = None

    def close(self) -> None:
        """Release MediaPipe's graph (idempotent)."""
        if self._mesh is not None:
            self._mesh.close()
            self._mesh = None

    def __enter__(self) -> FaceTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
