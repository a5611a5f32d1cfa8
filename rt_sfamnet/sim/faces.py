"""Face identities of the simulator, all derived from two real photographs.

The photographs ship inside installed packages, so nothing is downloaded:

- ``skimage.data.astronaut()`` — Eileen Collins, NASA portrait (public domain), 512×512;
- ``matplotlib.cbook.get_sample_data("grace_hopper.jpg")`` — Grace Hopper (public domain),
  600×512, in matplotlib's sample data.

For each photo (and its mirror image) the 468 MediaPipe face-mesh landmarks and a person mask
(MediaPipe selfie segmentation) were computed once and are shipped in
``rt_sfamnet/sim/data/sources.npz`` (regenerate with ``python -m rt_sfamnet.sim.faces``). At run
time MediaPipe is therefore not needed to build a face.

An :class:`Identity` turns one photo into a distinct synthetic person: mirroring, face size
(which sets the distance from the camera), face width, jaw width, eye spacing, skin tone,
skin texture, nose prominence in depth, and background. :func:`build_template` renders an
identity into a :class:`FaceTemplate` — the neutral colour layer, person alpha, landmarks in
frame pixels, the face depth surface and a static background — at any frame size.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from rt_sfamnet.frames import Intrinsics
from rt_sfamnet.sim import landmarks as L

DATA_FILE = Path(__file__).with_name("data") / "sources.npz"
PHOTOS = ("astronaut", "grace_hopper")
REFERENCE_WIDTH = 640  # sizes below are in pixels of a 640-wide frame and scale with width
FACE_HEIGHT_M = 0.175  # forehead landmark (10) to chin (152) of an adult face, metres


# --------------------------------------------------------------------------- source photos


@functools.cache
def load_photo(name: str) -> np.ndarray:
    """The source photograph ``name`` (one of :data:`PHOTOS`) as H×W×3 uint8 RGB."""
    if name == "astronaut":
        from skimage import data

        img = np.ascontiguousarray(data.astronaut()[:, :, :3])
    elif name == "grace_hopper":
        from matplotlib import cbook

        path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise FileNotFoundError(f"matplotlib sample image {path} cannot be read")
        img = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    else:
        raise ValueError(f"unknown photo {name!r}; expected one of {PHOTOS}")
    img.setflags(write=False)
    return img


def detect_landmarks(image: np.ndarray) -> np.ndarray | None:
    """MediaPipe face-mesh landmarks of the largest face in ``image`` (H×W×3 uint8 RGB).

    Returns a 468×3 float64 array of normalised (x, y, z) as MediaPipe reports them, or None.
    MediaPipe is imported here, lazily.
    """
    import mediapipe as mp

    with mp.solutions.face_mesh.FaceMesh(
        static_image_mode=True, max_num_faces=1, refine_landmarks=False
    ) as mesh:
        res = mesh.process(np.ascontiguousarray(image))
    if not res.multi_face_landmarks:
        return None
    return np.array([[p.x, p.y, p.z] for p in res.multi_face_landmarks[0].landmark], np.float64)


def person_mask(image: np.ndarray) -> np.ndarray:
    """Person mask of ``image`` (H×W×3 uint8 RGB) from MediaPipe selfie segmentation, H×W uint8."""
    import mediapipe as mp

    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as seg:
        m = seg.process(np.ascontiguousarray(image)).segmentation_mask
    return np.clip(m * 255.0 + 0.5, 0, 255).astype(np.uint8)


def build_source_data(path: Path = DATA_FILE) -> Path:
    """Run MediaPipe on both photos (and their mirror images) and save landmarks and masks."""
    arrays: dict[str, np.ndarray] = {}
    for name in PHOTOS:
        img = load_photo(name)
        for mirror in (False, True):
            im = img[:, ::-1] if mirror else img
            lm = detect_landmarks(im)
            if lm is None:
                raise RuntimeError(f"MediaPipe found no face in {name} (mirror={mirror})")
            arrays[f"{name}_lm{'_mirror' if mirror else ''}"] = lm.astype(np.float32)
        arrays[f"{name}_mask"] = person_mask(img)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


@functools.cache
def source_data(name: str, mirror: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(photo H×W×3 uint8, landmarks 468×3 float64 in photo pixels, mask H×W float32 in [0,1]).

    Landmark x, y are pixels of the (mirrored) photo and z is MediaPipe's relative depth in
    the same pixel units (smaller = closer). Uses the shipped data file; if it is missing,
    MediaPipe computes the values once per process.
    """
    img = load_photo(name)
    key = f"{name}_lm{'_mirror' if mirror else ''}"
    if DATA_FILE.is_file():
        with np.load(DATA_FILE) as z:
            lm = z[key].astype(np.float64)
            mask = z[f"{name}_mask"]
    else:  # pragma: no cover - the data file ships with the package
        lm = detect_landmarks(img[:, ::-1] if mirror else img)
        if lm is None:
            raise RuntimeError(f"MediaPipe found no face in {name}")
        mask = person_mask(img)
    h, w = img.shape[:2]
    mask = mask.copy()
    mask[:2] = 0  # nothing may be smeared in from the photo's top, left and right borders
    mask[:, :2] = 0
    mask[:, -2:] = 0
    if mirror:
        img = img[:, ::-1]
        mask = mask[:, ::-1]
    lm_px = lm * np.array([w, h, w], np.float64)
    img = np.ascontiguousarray(img)
    img.setflags(write=False)
    return img, lm_px, np.ascontiguousarray(mask, dtype=np.float32) / 255.0


# --------------------------------------------------------------------------- identities


@dataclass(frozen=True)
class Identity:
    """Parameters that turn one source photo into a distinct synthetic person.

    Lengths are in pixels of a 640-wide frame (scaled with the frame width) unless named
    otherwise; ``*_iod`` values are fractions of the inter-ocular distance.
    """

    name: str
    photo: str
    mirror: bool
    face_height_px: float  # forehead (10) to chin (152); sets the distance from the camera
    face_width: float = 1.0  # horizontal stretch of the face about the nose
    jaw_iod: float = 0.0  # jaw corners pushed outward (+) or inward (-)
    eye_spacing_iod: float = 0.0  # each eye moved outward (+) or inward (-)
    chin_iod: float = 0.0  # chin moved down (+) or up (-)
    skin_gain: float = 1.0  # multiplies skin lightness (L*)
    skin_ab: tuple[float, float] = (0.0, 0.0)  # added to skin a*, b*
    texture: str = "none"  # "none" | "freckles" | "smooth" | "grain" | "sharp"
    nose_depth_mm: float = 30.0  # nose tip in front of the cheeks
    offset_px: tuple[float, float] = (0.0, 0.0)  # nose position relative to frame centre
    background: tuple[int, int, int] = (120, 130, 140)  # wall colour, RGB
    wall_mm: float = 1800.0  # distance of the background wall


IDENTITIES: tuple[Identity, ...] = (
    Identity("ava", "astronaut", False, 132, background=(150, 160, 170)),
    Identity("grace", "grace_hopper", False, 128, nose_depth_mm=33, background=(95, 115, 140),
             wall_mm=2000),
    Identity("bea", "astronaut", True, 140, face_width=1.08, jaw_iod=0.10, skin_gain=0.82,
             skin_ab=(4, 10), texture="freckles", nose_depth_mm=27, offset_px=(-20, 6),
             background=(185, 170, 140), wall_mm=1600),
    Identity("hedy", "grace_hopper", True, 122, face_width=0.94, eye_spacing_iod=0.05,
             skin_gain=1.05, skin_ab=(-3, -6), texture="smooth", nose_depth_mm=35,
             offset_px=(18, -4), background=(70, 90, 80), wall_mm=2200),
    Identity("cleo", "astronaut", False, 118, face_width=0.92, jaw_iod=-0.08, chin_iod=0.06,
             skin_gain=0.72, skin_ab=(6, 12), texture="grain", nose_depth_mm=25,
             offset_px=(14, 10), background=(200, 200, 195), wall_mm=1500),
    Identity("ida", "grace_hopper", False, 146, face_width=1.10, jaw_iod=0.12, chin_iod=-0.05,
             skin_gain=0.78, skin_ab=(6, 12), texture="sharp", nose_depth_mm=29,
             offset_px=(-12, 0), background=(160, 120, 110), wall_mm=1700),
    Identity("jo", "astronaut", True, 126, eye_spacing_iod=-0.05, chin_iod=0.08,
             skin_gain=1.08, skin_ab=(-2, -4), texture="smooth", nose_depth_mm=32,
             offset_px=(6, -10), background=(110, 100, 130), wall_mm=1900),
    Identity("kay", "grace_hopper", True, 136, face_width=1.04, jaw_iod=-0.06,
             eye_spacing_iod=-0.04, skin_gain=0.7, skin_ab=(8, 14), texture="freckles",
             nose_depth_mm=26, offset_px=(-8, 12), background=(135, 150, 120), wall_mm=1650),
    Identity("liv", "astronaut", False, 150, face_width=1.05, eye_spacing_iod=0.06,
             jaw_iod=0.05, skin_gain=0.9, skin_ab=(-6, 4), texture="sharp", nose_depth_mm=34,
             offset_px=(24, 4), background=(90, 95, 105), wall_mm=2100),
    Identity("mae", "grace_hopper", False, 116, face_width=0.96, chin_iod=0.07,
             skin_gain=0.7, skin_ab=(4, 6), texture="grain", nose_depth_mm=31,
             offset_px=(-22, -6), background=(175, 185, 200), wall_mm=1750),
)


TEXTURES = ("none", "freckles", "smooth", "grain", "sharp")


def procedural_identity(k: int) -> Identity:
    """Identity number ``k`` of an unlimited, deterministic family (name ``proc<k>``).

    Every one is still derived from the two photographs: the photo and mirroring, the face's
    size (distance), width, jaw, eye spacing and chin, skin lightness and hue, texture, the
    nose's depth, the position in the frame and the wall are drawn from ``k``.
    """
    rng = np.random.default_rng([int(k), 9091])
    return Identity(
        f"proc{int(k)}", ("astronaut", "grace_hopper")[int(rng.integers(2))],
        bool(rng.integers(2)), float(rng.uniform(105, 165)),
        face_width=float(rng.uniform(0.9, 1.1)), jaw_iod=float(rng.uniform(-0.1, 0.12)),
        eye_spacing_iod=float(rng.uniform(-0.06, 0.06)), chin_iod=float(rng.uniform(-0.06, 0.08)),
        skin_gain=float(rng.uniform(0.55, 1.1)),
        skin_ab=(float(rng.uniform(-6, 10)), float(rng.uniform(-8, 16))),
        texture=TEXTURES[int(rng.integers(len(TEXTURES)))],
        nose_depth_mm=float(rng.uniform(24, 36)),
        offset_px=(float(rng.uniform(-30, 30)), float(rng.uniform(-15, 15))),
        background=tuple(int(v) for v in rng.integers(50, 220, 3)),
        wall_mm=float(rng.uniform(1300, 2600)),
    )


def identity(index_or_name: int | str) -> Identity:
    """Look up an identity by index (wrapping around) or by name (``proc<k>``: the
    procedural identity ``k``, :func:`procedural_identity`)."""
    if isinstance(index_or_name, str) and index_or_name.startswith("proc") \
            and index_or_name[4:].isdigit():
        return procedural_identity(int(index_or_name[4:]))
    if isinstance(index_or_name, str):
        for ident in IDENTITIES:
            if ident.name == index_or_name:
                return ident
        raise ValueError(
            f"unknown identity {index_or_name!r}; expected one of "
            f"{[i.name for i in IDENTITIES]} or an index"
        )
    return IDENTITIES[int(index_or_name) % len(IDENTITIES)]


# --------------------------------------------------------------------------- templates


@dataclass
class FaceTemplate:
    """A neutral face rendered into frame coordinates, ready to be animated.

    Attributes:
        identity: the :class:`Identity`.
        color: H×W×3 uint8 RGB, the person layer (valid where ``alpha`` > 0).
        alpha: H×W float32 in [0, 1], the person mask.
        landmarks: 468×3 float64; x, y in frame pixels, z in pixels (smaller = closer).
        depth: H×W float32 millimetres of the person layer (face surface, head, body).
        background_color: H×W×3 uint8 RGB static background.
        background_depth: H×W float32 millimetres of the background wall.
        intrinsics: the frame's :class:`~rt_sfamnet.frames.Intrinsics`.
        face_mm: distance of the cheeks from the camera, millimetres.
        nose_xy: landmark 1 in frame pixels.
    """

    identity: Identity
    color: np.ndarray
    alpha: np.ndarray
    landmarks: np.ndarray
    depth: np.ndarray
    background_color: np.ndarray
    background_depth: np.ndarray
    intrinsics: Intrinsics
    face_mm: float
    nose_xy: np.ndarray


def _smooth_warp(anchors_dst: np.ndarray, shift: np.ndarray, sigma: float, shape: tuple[int, int]):
    """Backward map of a smooth warp that moves points near ``anchors_dst - shift`` by ``shift``.

    Returns (dx, dy) H×W float32 such that destination pixel x samples source x - d(x), where
    d is a Gaussian-weighted average of the anchor shifts that fades to 0 away from the
    anchors (``sigma`` in pixels). Stable for any anchor layout; exact positions of moved
    landmarks come from :func:`_fixed_point`.
    """
    h, w = shape
    step = 4
    ys = np.arange(0, h + step, step, dtype=np.float64)
    xs = np.arange(0, w + step, step, dtype=np.float64)
    gx, gy = np.meshgrid(xs, ys)
    num = np.zeros(gx.shape + (2,))
    den = np.zeros(gx.shape)
    for (ax, ay), c in zip(anchors_dst, shift, strict=True):
        g = np.exp(-((gx - ax) ** 2 + (gy - ay) ** 2) / (2 * sigma**2))
        num += g[..., None] * c
        den += g
    d = num / np.maximum(den, 1.0)[..., None]
    size = (len(xs) * step, len(ys) * step)
    dx = cv2.resize(d[..., 0].astype(np.float32), size, interpolation=cv2.INTER_LINEAR)[:h, :w]
    dy = cv2.resize(d[..., 1].astype(np.float32), size, interpolation=cv2.INTER_LINEAR)[:h, :w]
    return np.ascontiguousarray(dx), np.ascontiguousarray(dy)


def _identity_shifts(lm: np.ndarray, ident: Identity, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Anchor landmarks (indices) and their displacements (pixels) for the identity warp."""
    iod = L.interocular(lm)
    ex, ey = L.face_axes(lm)
    nose = lm[L.NOSE_TIP, :2]
    idx: list[int] = []
    shifts: list[np.ndarray] = []

    def add(i: int, d: np.ndarray) -> None:
        idx.append(i)
        shifts.append(d)

    # face width: oval points move horizontally (face axes) in proportion to their offset
    for i in L.FACE_OVAL:
        rel = lm[i, :2] - nose
        d = (ident.face_width - 1.0) * float(rel @ ex) * ex
        if i in L.JAW_L + L.JAW_R:
            side = np.sign(float(rel @ ex)) or 1.0
            d = d + ident.jaw_iod * iod * side * ex
        if i in L.CHIN_AREA or i in (148, 377, 176, 400):
            d = d + ident.chin_iod * iod * ey
        add(i, d)
    for eye, side in ((L.EYE_L, -1.0), (L.EYE_R, 1.0)):
        for i in eye[::3]:
            rel = lm[i, :2] - nose
            d = (ident.face_width - 1.0) * float(rel @ ex) * ex + side * ident.eye_spacing_iod * iod * ex
            add(i, d)
    for i in (L.NOSE_TIP, 6, 168, L.UPPER_LIP_TOP, L.LOWER_LIP_BOTTOM):
        d = np.zeros(2)
        if i == L.LOWER_LIP_BOTTOM:
            d = d + 0.5 * ident.chin_iod * iod * ey
        add(i, d)
    for i in L.MOUTH_CORNERS:
        rel = lm[i, :2] - nose
        add(i, (ident.face_width - 1.0) * float(rel @ ex) * ex + 0.5 * ident.chin_iod * iod * ey)
    return np.array(idx), np.array(shifts) * 1.0


def _fixed_point(points: np.ndarray, dx: np.ndarray, dy: np.ndarray, iters: int = 6) -> np.ndarray:
    """Solve y - d(y) = p for each point p (forward image of a backward-mapped warp)."""
    y = points.astype(np.float64).copy()
    h, w = dx.shape
    for _ in range(iters):
        xi = np.clip(y[:, 0], 0, w - 1)
        yi = np.clip(y[:, 1], 0, h - 1)
        ddx = cv2.remap(dx, xi.astype(np.float32)[None], yi.astype(np.float32)[None],
                        cv2.INTER_LINEAR)[0]
        ddy = cv2.remap(dy, xi.astype(np.float32)[None], yi.astype(np.float32)[None],
                        cv2.INTER_LINEAR)[0]
        y = points + np.stack([ddx, ddy], axis=1)
    return y


def _skin_mask(lm: np.ndarray, shape: tuple[int, int], iod: float) -> np.ndarray:
    """Soft mask (H×W float32) of the face and neck skin, for tone and texture changes."""
    h, w = shape
    m = np.zeros((h, w), np.uint8)
    hull = cv2.convexHull(lm[list(L.FACE_OVAL), :2].astype(np.float32)).astype(np.int32)
    cv2.fillConvexPoly(m, hull, 255)
    chin = lm[L.CHIN, :2]
    neck_w = 0.55 * iod
    pts = np.array([[chin[0] - neck_w, chin[1] - 0.3 * iod], [chin[0] + neck_w, chin[1] - 0.3 * iod],
                    [chin[0] + neck_w, chin[1] + 0.8 * iod], [chin[0] - neck_w, chin[1] + 0.8 * iod]])
    cv2.fillConvexPoly(m, pts.astype(np.int32), 255)
    for eye in (L.EYE_L, L.EYE_R):  # keep eye whites and irises untouched
        e = cv2.convexHull(lm[list(eye), :2].astype(np.float32)).astype(np.int32)
        cv2.fillConvexPoly(m, e, 0)
    k = max(3, int(0.12 * iod) | 1)
    return cv2.GaussianBlur(m.astype(np.float32) / 255.0, (k * 2 + 1, k * 2 + 1), 0)


def _apply_skin(color: np.ndarray, skin: np.ndarray, ident: Identity, iod: float) -> np.ndarray:
    """Change skin tone (CIELAB) and texture inside the soft ``skin`` mask."""
    rng = np.random.default_rng(_name_seed(ident.name))
    lab = cv2.cvtColor(color, cv2.COLOR_RGB2LAB).astype(np.float32)
    new = lab.copy()
    new[..., 0] = lab[..., 0] * ident.skin_gain
    new[..., 1] += ident.skin_ab[0]
    new[..., 2] += ident.skin_ab[1]
    h, w = skin.shape
    if ident.texture == "freckles":
        spots = np.zeros((h, w), np.float32)
        n = int(0.25 * iod * iod / 10)
        xs = rng.uniform(0, w, n)
        ys = rng.uniform(0, h, n)
        rs = rng.uniform(0.6, 1.6, n)
        for x, y, r in zip(xs, ys, rs, strict=True):
            cv2.circle(spots, (int(x), int(y)), int(round(r)), float(rng.uniform(8, 18)), -1)
        new[..., 0] -= cv2.GaussianBlur(spots, (3, 3), 0)
        new[..., 2] += 0.3 * spots
    elif ident.texture == "grain":
        g = rng.normal(0.0, 1.0, (h // 2 + 1, w // 2 + 1)).astype(np.float32)
        g = cv2.resize(g, (w, h), interpolation=cv2.INTER_LINEAR)[:h, :w]
        new[..., 0] += 7.0 * g
    elif ident.texture == "smooth":
        sm = cv2.bilateralFilter(color, 7, 30, 5)
        new = cv2.cvtColor(sm, cv2.COLOR_RGB2LAB).astype(np.float32)
        new[..., 0] *= ident.skin_gain
        new[..., 1] += ident.skin_ab[0]
        new[..., 2] += ident.skin_ab[1]
    elif ident.texture == "sharp":
        blur = cv2.GaussianBlur(lab[..., 0], (0, 0), 1.5)
        new[..., 0] += 0.8 * (lab[..., 0] - blur) * ident.skin_gain
    elif ident.texture != "none":
        raise ValueError(f"unknown texture {ident.texture!r}")
    mixed = lab + (new - lab) * skin[..., None]
    return cv2.cvtColor(np.clip(mixed, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def _name_seed(name: str) -> int:
    """A stable integer from a name (Python's hash() is salted per process)."""
    return int.from_bytes(name.encode("utf-8")[:8].ljust(8, b"\0"), "little") % (2**32)


def _background(ident: Identity, shape: tuple[int, int], intr: Intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """A static room wall: colour with soft shading and a few panels, and its depth plane."""
    h, w = shape
    rng = np.random.default_rng(_name_seed(ident.name) + 17)
    base = np.array(ident.background, np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    shade = 1.0 + 0.12 * (xx / w - 0.5) * rng.choice([-1, 1]) - 0.10 * (yy / h - 0.5)
    img = base[None, None, :] * shade[..., None]
    low = cv2.resize(rng.normal(0, 1, (6, 8)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    img += 6.0 * low[..., None]
    for _ in range(3):  # picture frames / door panels
        x0, y0 = rng.uniform(0, w * 0.85), rng.uniform(0, h * 0.7)
        pw, ph = rng.uniform(0.08, 0.25) * w, rng.uniform(0.1, 0.35) * h
        col = np.clip(base * rng.uniform(0.5, 1.3) + rng.normal(0, 20, 3), 0, 255)
        cv2.rectangle(img, (int(x0), int(y0)), (int(x0 + pw), int(y0 + ph)), col.tolist(), -1)
        cv2.rectangle(img, (int(x0), int(y0)), (int(x0 + pw), int(y0 + ph)),
                      (base * 0.4).tolist(), max(1, w // 320))
    color = np.clip(img, 0, 255).astype(np.uint8)
    # a slightly slanted wall: depth varies by up to ±8 % across the frame
    gx, gy = rng.uniform(-0.08, 0.08, 2)
    depth = ident.wall_mm * (1.0 + gx * (xx - intr.ppx) / w + gy * (yy - intr.ppy) / h)
    return color, depth.astype(np.float32)


def _face_depth(lm: np.ndarray, alpha: np.ndarray, iod: float, face_mm: float,
                nose_depth_mm: float, fx: float) -> np.ndarray:
    """Depth (mm) of the person layer: the landmark surface inside the face oval, a smooth
    fall-off around the head, and the body behind the face."""
    from scipy.interpolate import griddata

    h, w = alpha.shape
    z = lm[:, 2].copy()
    cheeks = z[list(L.CHEEKS)].mean()
    prominence = cheeks - z[L.NOSE_TIP]
    z_mm = (z - cheeks) * (nose_depth_mm / max(prominence, 1e-6))  # 0 at the cheeks
    step = 2
    ys, xs = np.mgrid[0:h:step, 0:w:step]
    pts = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float64)
    lin = griddata(lm[:, :2], z_mm, pts, method="linear").reshape(xs.shape)
    near = griddata(lm[:, :2], z_mm, pts, method="nearest").reshape(xs.shape)
    inside = np.isfinite(lin)
    surf = np.where(inside, lin, near).astype(np.float32)
    # distance from the face hull -> the head curves away (up to ~9 cm behind the cheeks)
    dist = cv2.distanceTransform((~inside).astype(np.uint8), cv2.DIST_L2, 5) * step
    falloff = 90.0 * (1.0 - np.exp(-dist / (0.45 * iod)))
    coarse = surf + falloff.astype(np.float32)
    coarse = cv2.GaussianBlur(coarse, (0, 0), 1.0)
    full = cv2.resize(coarse, (xs.shape[1] * step, xs.shape[0] * step),
                      interpolation=cv2.INTER_LINEAR)[:h, :w]
    return (face_mm + full).astype(np.float32)


@functools.lru_cache(maxsize=16)
def build_template(ident: Identity, width: int = 640, height: int = 480,
                   hfov_deg: float = 69.0) -> FaceTemplate:
    """Render ``ident`` neutral into a ``width``×``height`` frame (cached per process)."""
    if width < 64 or height < 48:
        raise ValueError(f"frame must be at least 64×48, got {width}×{height}")
    intr = Intrinsics.from_fov(width, height, hfov_deg)
    k = width / REFERENCE_WIDTH
    photo, lm_src, mask_src = source_data(ident.photo, ident.mirror)
    # similarity from the photo to the frame: face height -> ident.face_height_px, nose placed
    # slightly above the frame centre, eye line levelled
    ex, _ = L.face_axes(lm_src)
    roll = np.arctan2(ex[1], ex[0])
    s = ident.face_height_px * k / L.face_height(lm_src)
    c, sn = np.cos(-roll) * s, np.sin(-roll) * s
    nose_src = lm_src[L.NOSE_TIP, :2]
    nose_dst = np.array([width / 2 + ident.offset_px[0] * k, height * 0.46 + ident.offset_px[1] * k])
    A = np.array([[c, -sn, 0.0], [sn, c, 0.0]])
    A[:, 2] = nose_dst - A[:, :2] @ nose_src
    lm0 = np.empty_like(lm_src)
    lm0[:, :2] = lm_src[:, :2] @ A[:, :2].T + A[:, 2]
    lm0[:, 2] = lm_src[:, 2] * s
    iod = L.interocular(lm0)
    # identity warp (backward map in frame coordinates)
    idx, shifts = _identity_shifts(lm0, ident, k)
    anchors_dst = lm0[idx, :2] + shifts
    dx, dy = _smooth_warp(anchors_dst, shifts, 0.3 * iod, (height, width))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    qx, qy = xx - dx, yy - dy  # frame-space positions before the identity warp
    Ai = cv2.invertAffineTransform(A)
    mx = (Ai[0, 0] * qx + Ai[0, 1] * qy + Ai[0, 2]).astype(np.float32)
    my = (Ai[1, 0] * qx + Ai[1, 1] * qy + Ai[1, 2]).astype(np.float32)
    color = cv2.remap(photo, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.remap(mask_src, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    lm = lm0.copy()
    lm[:, :2] = _fixed_point(lm0[:, :2], dx, dy)
    lm[:, 2] = lm0[:, 2] * (L.interocular(lm) / iod)
    iod = L.interocular(lm)
    skin = _skin_mask(lm, (height, width), iod)
    color = _apply_skin(color, skin, ident, iod)
    face_mm = intr.fx * FACE_HEIGHT_M * 1000.0 / (ident.face_height_px * k)
    depth = _face_depth(lm, alpha, iod, face_mm, ident.nose_depth_mm, intr.fx)
    bg_color, bg_depth = _background(ident, (height, width), intr)
    alpha = np.clip((alpha - 0.15) / 0.7, 0.0, 1.0).astype(np.float32)
    for arr in (color, alpha, depth, bg_color, bg_depth):
        arr.setflags(write=False)
    return FaceTemplate(ident, color, alpha, lm, depth, bg_color, bg_depth, intr, float(face_mm),
                        lm[L.NOSE_TIP, :2].copy())


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    print(build_source_data())
