"""Facial action units as smooth displacement fields anchored on face-mesh landmarks.

Each action unit (FACS AU) is a set of :class:`Handle` s. A handle sits at the mean position
of some landmarks (one per side of the face for bilateral handles) and moves the skin around
it by a Gaussian-weighted vector given in face axes: ``out`` away from the face midline,
``up`` towards the forehead. ``toward`` is the depth change (millimetres towards the camera)
that goes with one pixel of displacement. Sigmas are fractions of the inter-ocular distance.

:data:`EMOTION_PROTOTYPES` maps each of the 7 emotions of SFAMNet's 7-class setting to AU
weights (EMFACS-style prototypes, as in CAS(ME)^3's objective classes), chosen so that every
emotion moves a different part of the face in a different direction:

=========  =====================  ==================================================
emotion    AUs                    motion
=========  =====================  ==================================================
happy      6 + 12                 lip corners up and out, cheeks up
surprise   1 + 2 + 5 + 26         whole brows up, upper lids up, jaw down
disgust    9 + 10 (+ 4)           nose sides and upper lip up, inner brows down
anger      4 + 7 + 23             brows down and together, lower lids up, lips narrow
fear       1 + 2 + 4 + 5 + 20     brows up and together, lids up, lip corners sideways
sad        1 + 4 + 15             inner brows up and together, lip corners down
others     14 + 24 / 14 / 24      lips pressed or corners pulled in (mouth only)
=========  =====================  ==================================================

:data:`REALISTIC_PROTOTYPES` (the realistic simulator) adds open-mouth variants of happy
(6 + 12 + 25, laughter 6 + 12 + 25 + 26), smiles without the cheek raiser (12, 12 + 25) and
open-mouth variants of sad (crying: + 25, + 20 + 25 + 26).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rt_sfamnet.emotions import EMOTIONS7
from rt_sfamnet.sim import landmarks as L


@dataclass(frozen=True)
class Handle:
    """One anchor of an action unit (see the module docstring for units)."""

    left: tuple[int, ...]  # landmarks averaged for the image-left (or midline) handle
    right: tuple[int, ...] | None  # image-right mirror handle, None for a midline handle
    out: float = 0.0
    up: float = 0.0
    toward: float = 0.0
    sigma: float = 0.25
    sigma_up: float | None = None  # vertical sigma above / below the anchor (face axes)
    sigma_down: float | None = None


def _pair(l_idx, r_idx, **kw) -> Handle:
    return Handle(tuple(l_idx), tuple(r_idx), **kw)


def _mid(idx, **kw) -> Handle:
    return Handle(tuple(idx), None, **kw)


INNER_BROW_L, INNER_BROW_R = (107, 66, 55, 65), (336, 296, 285, 295)
MID_BROW_L, MID_BROW_R = (105, 52), (334, 282)
OUTER_BROW_L, OUTER_BROW_R = (70, 63, 46, 53), (300, 293, 276, 283)

AU_HANDLES: dict[str, tuple[Handle, ...]] = {
    # inner brow raiser
    "1": (_pair(INNER_BROW_L, INNER_BROW_R, up=1.0, sigma=0.22),
          _pair(MID_BROW_L, MID_BROW_R, up=0.45, sigma=0.2)),
    # outer brow raiser
    "2": (_pair(OUTER_BROW_L, OUTER_BROW_R, up=1.0, out=0.1, sigma=0.22),
          _pair(MID_BROW_L, MID_BROW_R, up=0.5, sigma=0.2)),
    # brow lowerer: brows down and towards each other, glabella bulges
    "4": (_pair(INNER_BROW_L, INNER_BROW_R, up=-0.75, out=-0.65, sigma=0.22),
          _pair(MID_BROW_L, MID_BROW_R, up=-0.5, out=-0.2, sigma=0.2),
          _mid((L.GLABELLA, 8), up=-0.2, toward=0.6, sigma=0.15)),
    # upper lid raiser
    "5": (_pair((159, 158, 160), (386, 385, 387), up=1.0, sigma=0.15, sigma_up=0.12,
                sigma_down=0.07),),
    # cheek raiser: cheeks up and forward, lower lids pushed up
    "6": (_pair(L.CHEEKS[:1] + (117,), L.CHEEKS[1:] + (346,), up=1.0, out=0.15, toward=0.8,
                sigma=0.3),
          _pair((145, 144, 153), (374, 373, 380), up=0.6, sigma=0.14)),
    # lid tightener: lower lids up and in, upper lids slightly down
    "7": (_pair((145, 144, 153), (374, 373, 380), up=1.0, out=-0.3, sigma=0.14),
          _pair((159,), (386,), up=-0.35, sigma=0.12)),
    # nose wrinkler: nose sides up, inner brows pulled down, upper lip up a little
    "9": (_pair(L.NOSE_SIDES + (49,), (278, 279) + (358,), up=1.0, out=-0.15, sigma=0.17),
          _mid((L.GLABELLA, 168), up=-0.5, toward=0.5, sigma=0.16),
          _mid((L.UPPER_LIP_TOP,), up=0.35, sigma=0.16)),
    # upper lip raiser
    "10": (_mid((L.UPPER_LIP_TOP, 37, 267), up=1.0, toward=0.4, sigma=0.2),
           _pair(L.NASOLABIAL[:1], L.NASOLABIAL[1:], up=0.55, out=0.1, sigma=0.18)),
    # lip corner puller: corners up and out, cheeks follow
    "12": (_pair((61,), (291,), up=0.75, out=0.65, sigma=0.22),
           _pair((205,), (425,), up=0.35, out=0.15, toward=0.5, sigma=0.22)),
    # dimpler: corners pulled in and back
    "14": (_pair((61,), (291,), out=-1.0, up=0.1, toward=-0.6, sigma=0.16),),
    # lip corner depressor
    "15": (_pair((61,), (291,), up=-1.0, out=0.15, sigma=0.2),
           _pair((84, 181), (314, 405), up=-0.3, sigma=0.16)),
    # lip stretcher: corners sideways
    "20": (_pair((61,), (291,), out=1.0, up=-0.2, sigma=0.22),),
    # lip tightener: lips narrow and thin
    "23": (_pair((61,), (291,), out=-0.8, sigma=0.17),
           _mid((L.UPPER_LIP_TOP,), up=-0.35, sigma=0.12),
           _mid((L.LOWER_LIP_BOTTOM,), up=0.35, sigma=0.12)),
    # lip presser: lips pressed together
    "24": (_mid((L.UPPER_LIP_TOP, L.UPPER_LIP_INNER), up=-0.9, sigma=0.16),
           _mid((L.LOWER_LIP_BOTTOM, L.LOWER_LIP_INNER), up=0.9, sigma=0.16)),
    # lips part: the lower lip drops and the upper lip lifts, the jaw stays. The handles sit
    # on the lips' outer edges: a smooth warp cannot tear the closed lips of the photograph
    # apart, so the lip line between them stretches, as a parting mouth's dark gap widens.
    "25": (_mid((L.LOWER_LIP_BOTTOM,), up=-1.0, sigma=0.12),
           _mid((L.UPPER_LIP_TOP,), up=0.5, sigma=0.1)),
    # jaw drop: chin and lower lip down
    "26": (_mid(L.CHIN_AREA + (L.LOWER_LIP_BOTTOM,), up=-1.0, sigma=0.4),),
}

AU_NAMES: dict[str, str] = {
    "1": "inner brow raiser", "2": "outer brow raiser", "4": "brow lowerer",
    "5": "upper lid raiser", "6": "cheek raiser", "7": "lid tightener", "9": "nose wrinkler",
    "10": "upper lip raiser", "12": "lip corner puller", "14": "dimpler",
    "15": "lip corner depressor", "20": "lip stretcher", "23": "lip tightener",
    "24": "lip presser", "25": "lips part", "26": "jaw drop", "45": "blink",
}

# AU weights per emotion; "others" has several variants (one is picked per expression).
EMOTION_PROTOTYPES: dict[str, tuple[dict[str, float], ...]] = {
    "happy": ({"6": 0.6, "12": 1.0},),
    "surprise": ({"1": 1.0, "2": 1.0, "5": 0.6, "26": 0.8},),
    "disgust": ({"9": 1.0, "10": 0.8, "4": 0.35},),
    "anger": ({"4": 1.0, "7": 0.7, "23": 0.8},),
    "fear": ({"1": 0.5, "2": 0.3, "4": 0.8, "5": 0.6, "20": 1.0},),
    "sad": ({"1": 0.9, "4": 0.55, "15": 1.0},),
    "others": ({"14": 1.0, "24": 0.7}, {"24": 1.0}, {"14": 1.0}),
}
assert set(EMOTION_PROTOTYPES) == set(EMOTIONS7)

# The realistic simulator's prototypes (``generate_script(nuisance=True)``): real smiles and
# real crying often open the mouth (FACS: 6+12+25 open smile, 6+12+25+26 laughter; sadness
# with 25/26 when crying). Without these variants, parted lips are only ever part of surprise
# (26) and talking, so a real open smile and its release (lips closing: the motion of 24,
# "others") read as surprise or others. With them, opening and closing the mouth belongs to
# several emotions and the network has to look at the lip corners, cheeks and brows. Smiles
# without the cheek raiser (12, 12 + 25: the social, non-Duchenne smile, and the first frames
# of many Duchenne smiles, whose cheeks follow the lip corners) are there so that a motion of
# the mouth alone is not always "others" (14, 24).
REALISTIC_PROTOTYPES: dict[str, tuple[dict[str, float], ...]] = {
    **EMOTION_PROTOTYPES,
    "happy": EMOTION_PROTOTYPES["happy"] + ({"6": 0.6, "12": 1.0, "25": 0.8},
                                            {"6": 0.8, "12": 1.0, "25": 0.8, "26": 0.4},
                                            {"12": 1.0}, {"12": 1.0, "25": 0.8}),
    "sad": EMOTION_PROTOTYPES["sad"] + ({"1": 0.9, "4": 0.55, "15": 1.0, "25": 0.6},
                                        {"1": 0.9, "4": 0.7, "15": 1.0, "20": 0.4, "25": 0.8,
                                         "26": 0.4}),
}

# CAS(ME)^3 / CASME II objective classes (Davison et al.), by emotion prototype.
OBJECTIVE_CLASS: dict[str, str] = {
    "happy": "I", "surprise": "II", "anger": "III", "disgust": "IV", "sad": "V", "fear": "VI",
    "others": "VII",
}


def au_string(aus: dict[str, float]) -> str:
    """CAS(ME)^3-style AU code, e.g. ``{"6": .6, "12": 1}`` -> ``"6+12"`` (numeric order)."""
    return "+".join(sorted(aus, key=lambda k: int(k)))


@dataclass
class FieldBox:
    """A displacement field on a rectangle of the frame.

    Attributes:
        x0, y0: top-left corner in frame pixels.
        d: h×w×2 float32, displacement (dx, dy) in pixels; a pixel at x shows the skin that
            was at x - d (backward map).
        dz: h×w float32, depth change in millimetres (negative = towards the camera).
    """

    x0: int
    y0: int
    d: np.ndarray
    dz: np.ndarray


def face_box(landmarks: np.ndarray, shape: tuple[int, int], margin_iod: float = 0.6) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) around the face oval plus ``margin_iod`` inter-ocular distances."""
    lm = L.check_landmarks(landmarks)
    iod = L.interocular(lm)
    pts = lm[list(L.FACE_OVAL), :2]
    h, w = shape
    x0 = int(max(0, np.floor(pts[:, 0].min() - margin_iod * iod)))
    y0 = int(max(0, np.floor(pts[:, 1].min() - margin_iod * iod)))
    x1 = int(min(w, np.ceil(pts[:, 0].max() + margin_iod * iod)))
    y1 = int(min(h, np.ceil(pts[:, 1].max() + margin_iod * iod)))
    return x0, y0, x1, y1


def _handle_field(h: Handle, lm: np.ndarray, gx: np.ndarray, gy: np.ndarray, iod: float,
                  ex: np.ndarray, ey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    nose_x = float(lm[L.NOSE_TIP, :2] @ ex)
    d = np.zeros(gx.shape + (2,), np.float64)
    dz = np.zeros(gx.shape, np.float64)
    for idx in (h.left, h.right):
        if idx is None:
            continue
        p = lm[list(idx), :2].mean(axis=0)
        side = np.sign(float(p @ ex) - nose_x) if h.right is not None else 0.0
        vec = h.out * side * ex - h.up * ey
        rx = ((gx - p[0]) * ex[0] + (gy - p[1]) * ex[1]) / (h.sigma * iod)
        ry_raw = (gx - p[0]) * ey[0] + (gy - p[1]) * ey[1]
        s_up = (h.sigma_up if h.sigma_up is not None else h.sigma) * iod
        s_dn = (h.sigma_down if h.sigma_down is not None else h.sigma) * iod
        ry = np.where(ry_raw < 0, ry_raw / s_up, ry_raw / s_dn)
        g = np.exp(-0.5 * (rx * rx + ry * ry))
        d += g[..., None] * vec
        dz -= g * h.toward
    return d, dz


def au_fields(landmarks: np.ndarray, box: tuple[int, int, int, int]) -> dict[str, FieldBox]:
    """Unit displacement fields of every AU in :data:`AU_HANDLES` on ``box`` (x0, y0, x1, y1).

    ``landmarks`` is 468×3 in frame pixels. A handle weight of 1 moves skin by 1 pixel at its
    anchor; ``dz`` is in millimetres per such pixel.
    """
    lm = L.check_landmarks(landmarks)
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"empty field box {box}")
    gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    iod = L.interocular(lm)
    ex, ey = L.face_axes(lm)
    out: dict[str, FieldBox] = {}
    for au, handles in AU_HANDLES.items():
        d = np.zeros(gx.shape + (2,))
        dz = np.zeros(gx.shape)
        for h in handles:
            hd, hz = _handle_field(h, lm, gx, gy, iod, ex, ey)
            d += hd
            dz += hz
        out[au] = FieldBox(x0, y0, d.astype(np.float32), dz.astype(np.float32))
    return out


def blink_field(landmarks: np.ndarray, box: tuple[int, int, int, int]) -> FieldBox:
    """AU45 at full closure on ``box``: upper lids move down by each eye's opening (pixels)."""
    lm = L.check_landmarks(landmarks)
    x0, y0, x1, y1 = box
    gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    iod = L.interocular(lm)
    ex, ey = L.face_axes(lm)
    d = np.zeros(gx.shape + (2,))
    for upper, lower in (((159, 158, 160), (145, 144, 153)), ((386, 385, 387), (374, 373, 380))):
        pu = lm[list(upper), :2].mean(axis=0)
        pl = lm[list(lower), :2].mean(axis=0)
        opening = float(np.hypot(*(pl - pu)))
        # anchored at the lower lid; extends upwards over the lid, stops sharply below it
        rx = ((gx - pl[0]) * ex[0] + (gy - pl[1]) * ex[1]) / (0.24 * iod)
        ry_raw = (gx - pl[0]) * ey[0] + (gy - pl[1]) * ey[1]
        ry = np.where(ry_raw < 0, ry_raw / (opening + 0.12 * iod), ry_raw / (0.05 * iod))
        g = np.exp(-0.5 * (rx * rx + ry * ry) ** 2)  # flat-topped
        d += g[..., None] * (opening * 1.05 * ey)
    return FieldBox(x0, y0, d.astype(np.float32), np.zeros(gx.shape, np.float32))


def _taper(box: tuple[int, int, int, int], frac: float = 0.12) -> np.ndarray:
    """h×w float32 window on ``box``: 1 inside, falling smoothly to 0 at the box border."""
    x0, y0, x1, y1 = box

    def ramp(n: int) -> np.ndarray:
        m = max(2, int(frac * n))
        t = np.minimum(np.arange(n), np.arange(n)[::-1]) / m
        t = np.clip(t, 0.0, 1.0)
        return (t * t * (3 - 2 * t)).astype(np.float32)

    return ramp(y1 - y0)[:, None] * ramp(x1 - x0)[None, :]


def _windowed(f: FieldBox, window: np.ndarray) -> FieldBox:
    return FieldBox(f.x0, f.y0, f.d * window[..., None], f.dz * window)


def face_fields(landmarks: np.ndarray, shape: tuple[int, int], margin_iod: float = 1.0
                ) -> tuple[tuple[int, int, int, int], dict[str, FieldBox], FieldBox]:
    """What the renderer animates on a face: ``(box, unit AU fields, blink field)``.

    ``box`` is :func:`face_box` with ``margin_iod``; the fields (:func:`au_fields`,
    :func:`blink_field`) are tapered smoothly to 0 at the box border, so a warp by them
    leaves everything outside the box untouched. ``landmarks``: 468×3 frame pixels;
    ``shape``: the frame's (height, width).
    """
    box = face_box(landmarks, shape, margin_iod=margin_iod)
    window = _taper(box)
    fields = {k: _windowed(f, window) for k, f in au_fields(landmarks, box).items()}
    return box, fields, _windowed(blink_field(landmarks, box), window)


def combine(fields: dict[str, FieldBox], weights: dict[str, float], amplitude_px: float) -> FieldBox:
    """Weighted sum of AU fields, rescaled so the largest displacement is ``amplitude_px``."""
    if not weights:
        raise ValueError("an expression needs at least one AU")
    first = fields[next(iter(weights))]
    d = np.zeros_like(first.d)
    dz = np.zeros_like(first.dz)
    for au, w in weights.items():
        if au not in fields:
            raise ValueError(f"unknown AU {au!r}; expected one of {sorted(fields, key=int)}")
        d += w * fields[au].d
        dz += w * fields[au].dz
    peak = float(np.sqrt((d * d).sum(-1)).max())
    s = amplitude_px / max(peak, 1e-9)
    return FieldBox(first.x0, first.y0, (d * s).astype(np.float32), (dz * s).astype(np.float32))
