"""MediaPipe face-mesh landmark indices the simulator anchors on, and small geometry helpers.

Indices follow MediaPipe's 468-point face mesh (``mediapipe.solutions.face_mesh_connections``).
"Image-left" is the side with the smaller x in an upright, frontal image (the subject's right);
MediaPipe labels by anatomy, so on a mirrored photo the same index is still on image-left.
"""

from __future__ import annotations

import numpy as np

N_LANDMARKS = 468

NOSE_TIP = 1
FOREHEAD = 10
CHIN = 152
GLABELLA = 9

# Face oval in drawing order (closed polygon), from FACEMESH_FACE_OVAL.
FACE_OVAL: tuple[int, ...] = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)

# Eyes: outer/inner corners, upper and lower lid arcs (image-left = L, image-right = R).
EYE_L_CORNERS = (33, 133)
EYE_R_CORNERS = (263, 362)
UPPER_LID_L = (246, 161, 160, 159, 158, 157, 173)
UPPER_LID_R = (466, 388, 387, 386, 385, 384, 398)
LOWER_LID_L = (7, 163, 144, 145, 153, 154, 155)
LOWER_LID_R = (249, 390, 373, 374, 380, 381, 382)
EYE_L = tuple(sorted(set(UPPER_LID_L + LOWER_LID_L + EYE_L_CORNERS)))
EYE_R = tuple(sorted(set(UPPER_LID_R + LOWER_LID_R + EYE_R_CORNERS)))

# Brows, outer -> inner.
BROW_L = (70, 63, 105, 66, 107)
BROW_R = (300, 293, 334, 296, 336)
BROW_L_LOWER = (46, 53, 52, 65, 55)
BROW_R_LOWER = (276, 283, 282, 295, 285)

# Mouth.
MOUTH_CORNERS = (61, 291)
UPPER_LIP_TOP = 0
UPPER_LIP_INNER = 13
LOWER_LIP_INNER = 14
LOWER_LIP_BOTTOM = 17
UPPER_LIP_SIDES = (37, 39, 267, 269)
LOWER_LIP_SIDES = (84, 181, 314, 405)

# Cheeks, nose wings, chin.
CHEEKS = (50, 280)
CHEEK_UPPER = (118, 347)
NASOLABIAL = (203, 423)
NOSE_WINGS = (129, 358)
NOSE_SIDES = (48, 278)
JAW_L = (172, 136, 150, 149, 176, 148)
JAW_R = (397, 365, 379, 378, 400, 377)
CHIN_AREA = (152, 175, 199, 200)


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres (x, y) of the image-left and image-right eye from a 468×≥2 landmark array."""
    lm = np.asarray(landmarks)
    return lm[list(EYE_L), :2].mean(axis=0), lm[list(EYE_R), :2].mean(axis=0)


def interocular(landmarks: np.ndarray) -> float:
    """Distance between the eye centres, in the landmarks' units (pixels for frame landmarks)."""
    a, b = eye_centres(landmarks)
    return float(np.hypot(*(b - a)))


def face_axes(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (ex, ey): ex along the eye line to image-right, ey down the face."""
    a, b = eye_centres(landmarks)
    ex = (b - a) / max(np.hypot(*(b - a)), 1e-9)
    ey = np.array([-ex[1], ex[0]])
    return ex.astype(np.float64), ey.astype(np.float64)


def face_height(landmarks: np.ndarray) -> float:
    """Forehead (10) to chin (152) distance in the landmarks' units."""
    lm = np.asarray(landmarks)
    return float(np.hypot(*(lm[CHIN, :2] - lm[FOREHEAD, :2])))


def check_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """Return ``landmarks`` as float64 468×3 (x, y, z), raising ValueError on another shape."""
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.ndim != 2 or lm.shape[0] != N_LANDMARKS or lm.shape[1] not in (2, 3):
        raise ValueError(f"landmarks must be {N_LANDMARKS}×3, got {lm.shape}")
    if lm.shape[1] == 2:
        lm = np.concatenate([lm, np.zeros((N_LANDMARKS, 1))], axis=1)
    return lm
