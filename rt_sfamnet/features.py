"""A pair of RGB-D frames → the 3×42×42 input maps of SFAMNet.

Pipeline (one pair, frames t0 and t1, both cut with the *same* face box):

1. :func:`crop_frame`: the square box (from :class:`rt_sfamnet.face.FaceTracker`) is cut from
   the frame, padded by edge replication where it leaves the frame, and resized to
   ``crop_size`` (128): colour with area averaging, grey from that colour, depth with a k×k
   median of the valid samples in each output pixel's footprint (``depth_resize="median"``)
   or nearest neighbour (``"nearest"``), so depth values stay true millimetres. The
   intrinsics are mapped to the crop (``f' = f · s``, ``c' = (c − x0 + ½) · s − ½`` with
   ``s = crop_size / box size``).
2. Flows: TV-L1 on the grey crops (:func:`rt_sfamnet.flow.tvl1`, preset ``tvl1_preset``) for
   the optical components O, RGB-D scene flow on colour + depth
   (:func:`rt_sfamnet.flow.rgbd_flow`, preset ``rgbd_preset``) for the scene components S.
3. Global-motion removal: the mean of each component over the ``nose_patch``×``nose_patch``
   patch (11×11) centred on the nose tip of frame t0 (rounded, moved inside the crop if
   needed) is subtracted from that component everywhere (u, v and w alike).
   Scene-flow ``w`` cleaning (``hybrid`` and ``scene``; :func:`clean_scene_w`): ``w`` is set
   to 0 where the depth of either crop is missing, where the 3×3 depth range of either crop
   exceeds ``w_edge_mm`` (the face silhouette, hair, glasses rims: a one-pixel shift there
   reads as hundreds of millimetres of "motion"), and where the t0 depth is more than
   ``w_face_mm`` from the median depth of the nose patch (background, shoulders); what is
   left is clamped to ``±w_max_mm`` (facial skin moves a few millimetres). This is done
   before and again after the nose-motion removal, so the maps stay bounded.
4. Components are area-averaged to ``map_size``×``map_size`` (42×42; the same weights as
   OpenCV's ``INTER_AREA``) and multiplied by ``input_scale``.

Modes (channel order = the network's u, v, w streams): ``optical`` = (O_u, O_v, O_ε) with the
optical strain ``ε = sqrt(u_x² + v_y² + ½ (u_y + v_x)²)`` (central differences of the
nose-corrected flow, crop pixels), ``scene`` = (S_u, S_v, S_w), ``hybrid`` = (O_u, O_v, S_w)
(default, the paper's best). Units: crop pixels for u, v (and ε is dimensionless), millimetres
for S_w, all times ``input_scale`` (1.0 = raw units; any other value must be recorded with the
weights that were trained on it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from rt_sfamnet.config import config_from_mapping
from rt_sfamnet.face import CropBox, FaceObservation, to_crop_coords
from rt_sfamnet.frames import RGBDFrame

__all__ = [
    "Crop",
    "DEPTH_MODES",
    "FLOW_MODES",
    "FeatureConfig",
    "area_matrix",
    "clean_scene_w",
    "crop_frame",
    "crop_arrays",
    "optical_strain",
    "pair_maps",
    "pair_maps_batch",
    "register_crop",
    "remove_nose_motion",
    "similarity_fit",
    "resize_area",
    "w_valid_mask",
]

FLOW_MODES = ("hybrid", "scene", "optical")
"""The feature (flow) modes, the default first: ``hybrid`` (O_u, O_v, S_w), ``scene`` (S_u,
S_v, S_w), ``optical`` (O_u, O_v, O_strain). The one list: weights metadata, the command
line and the app's menu read it."""

DEPTH_MODES = ("scene", "hybrid")
"""The modes whose maps use depth (a window without depth is a ``missing_depth`` gap)."""
REGISTRATIONS = ("none", "landmarks")
#: registration warps only when the stable landmarks moved by more than this (RMS, crop
#: pixels): below it, MediaPipe's landmark jitter (~0.5 px) would add more motion than the
#: warp removes, and the nose patch's mean removal handles small shifts.
REGISTER_MIN_PX = 1.0
#: MediaPipe face-mesh points that expressions, blinks and speech barely move: forehead (10,
#: 151, 9, 8), nose bridge and tip (168, 6, 197, 195, 5, 4, 1), the eyes' corners (33, 133,
#: 362, 263) and the face's sides at eye level (234, 454, 127, 356).
STABLE_LANDMARKS = (10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 33, 133, 362, 263, 234, 454, 127,
                    356)


@dataclass
class FeatureConfig:
    """Settings of the feature extraction (see the module docstring).

    Attributes:
        mode: ``"hybrid"`` (O_u, O_v, S_w), ``"scene"`` (S_u, S_v, S_w) or ``"optical"``
            (O_u, O_v, O_ε).
        crop_size: side of the face crop in pixels (the flows' resolution).
        map_size: side of the output maps.
        nose_patch: side (crop pixels) of the nose patch whose mean flow is removed.
        tvl1_preset: preset of :func:`rt_sfamnet.flow.tvl1` (``"live"`` or ``"opencv"``).
        rgbd_preset: preset of :func:`rt_sfamnet.flow.rgbd_flow` (``"live"`` or ``"full"``).
        backend: flow backend (``None``: CuPy when a GPU is usable, ``"numpy"``, ``"cupy"``).
        input_scale: factor applied to the final maps (1.0 = raw units).
        depth_resize: ``"median"`` or ``"nearest"`` resampling of the depth crop.
        tvl1_params: overrides of :class:`rt_sfamnet.flow.TVL1Params` fields.
        rgbd_params: overrides of :class:`rt_sfamnet.flow.rgbd.RGBDParams` fields.
        w_max_mm: bound on ``|S_w|`` in millimetres (``None``: no clamp). Default 20 mm:
            facial skin moves a few millimetres, larger values are depth-edge artefacts.
        w_edge_mm: ``S_w`` is zeroed where the 3×3 depth range of either crop exceeds this
            (millimetres; ``None``: off). Default 30 mm.
        w_face_mm: ``S_w`` is zeroed where the t0 depth is farther than this from the median
            depth of the nose patch (millimetres; ``None``: off). Default 100 mm.
        Depth-missing pixels (0 in either crop) are always zeroed unless all three are
        ``None`` (the raw scene flow of earlier versions).
        registration: head-motion compensation before the flow: ``"none"`` (the release:
            only the nose patch's mean flow is removed afterwards) or ``"landmarks"`` (the
            second crop is warped onto the first by the similarity transform that best maps
            its stable face landmarks onto the first frame's, :func:`register_crop`).
    """

    mode: Literal["optical", "scene", "hybrid"] = "hybrid"
    crop_size: int = 128
    map_size: int = 42
    nose_patch: int = 11
    tvl1_preset: str = "live"
    rgbd_preset: str = "live"
    backend: str | None = None
    input_scale: float = 1.0
    depth_resize: Literal["median", "nearest"] = "median"
    tvl1_params: dict[str, Any] = field(default_factory=dict)
    rgbd_params: dict[str, Any] = field(default_factory=dict)
    w_max_mm: float | None = 20.0
    w_edge_mm: float | None = 30.0
    w_face_mm: float | None = 100.0
    registration: Literal["none", "landmarks"] = "none"

    def __post_init__(self) -> None:
        for name in ("w_max_mm", "w_edge_mm", "w_face_mm"):
            val = getattr(self, name)
            if val is not None and not float(val) > 0:
                raise ValueError(f"{name} must be > 0 millimetres or None, found {val!r}")
        if self.mode not in FLOW_MODES:
            raise ValueError(f"mode must be one of {list(FLOW_MODES)}, found {self.mode!r}")
        if self.crop_size < 16:
            raise ValueError(f"crop_size must be >= 16, found {self.crop_size}")
        if not 1 <= self.map_size <= self.crop_size:
            raise ValueError(f"map_size must be in [1, crop_size], found {self.map_size}")
        if not 1 <= self.nose_patch <= self.crop_size:
            raise ValueError(f"nose_patch must be in [1, crop_size], found {self.nose_patch}")
        if self.registration not in REGISTRATIONS:
            raise ValueError(f"registration must be one of {list(REGISTRATIONS)}, found "
                             f"{self.registration!r}")
        if self.depth_resize not in ("median", "nearest"):
            raise ValueError(f"depth_resize must be 'median' or 'nearest', found "
                             f"{self.depth_resize!r}")

    @classmethod
    def from_mapping(cls, mapping: dict | None) -> FeatureConfig:
        """From a TOML table; unknown keys raise ConfigError."""
        return config_from_mapping(cls, mapping, "features")


@dataclass
class Crop:
    """One frame's face crop.

    Attributes:
        grey: S×S uint8. color: S×S×3 uint8 RGB. depth: S×S uint16 mm (0 = missing).
            (NumPy arrays, or CuPy arrays already on the GPU: both are accepted by
            :func:`pair_maps` and :func:`pair_maps_batch`.)
        fx, fy, cx, cy: intrinsics of the crop (pixels).
        nose_xy: (x, y) of the nose tip in crop pixels.
        box: the frame box the crop was cut from (None when built by hand).
    """

    grey: np.ndarray
    color: np.ndarray
    depth: np.ndarray
    fx: float
    fy: float
    cx: float
    cy: float
    nose_xy: tuple[float, float]
    box: CropBox | None = None

    def __post_init__(self) -> None:
        g, c, d = self.grey, self.color, self.depth
        if g.ndim != 2 or g.dtype != np.uint8 or g.shape[0] != g.shape[1]:
            raise ValueError(f"Crop.grey must be S×S uint8, found {g.shape} {g.dtype}")
        s = g.shape[0]
        if c.shape != (s, s, 3) or c.dtype != np.uint8:
            raise ValueError(f"Crop.color must be {s}×{s}×3 uint8, found {c.shape} {c.dtype}")
        if d.shape != (s, s) or d.dtype != np.uint16:
            raise ValueError(f"Crop.depth must be {s}×{s} uint16 mm, found {d.shape} {d.dtype}")

    @property
    def size(self) -> int:
        return int(self.grey.shape[0])

    @classmethod
    def from_arrays(cls, color: np.ndarray, depth: np.ndarray, fx: float, fy: float, cx: float,
                    cy: float, nose_xy: tuple[float, float]) -> Crop:
        """A crop from an S×S×3 uint8 colour image and S×S uint16 depth (grey is derived)."""
        import cv2  # noqa: PLC0415

        color = np.ascontiguousarray(color)
        grey = cv2.cvtColor(color, cv2.COLOR_RGB2GRAY)
        return cls(grey, color, np.ascontiguousarray(depth), float(fx), float(fy), float(cx),
                   float(cy), (float(nose_xy[0]), float(nose_xy[1])))


# ---------------------------------------------------------------------------------------------
# Cropping
# ---------------------------------------------------------------------------------------------


def crop_arrays(color: np.ndarray, depth: np.ndarray, box: CropBox, size: int = 128,
                depth_resize: str = "median") -> tuple[np.ndarray, np.ndarray]:
    """Cut ``box`` from an H×W×3 uint8 image and its H×W uint16 depth; resize to size×size.

    Colour: edge-replicated outside the frame, area-averaged (or bilinear when enlarging).
    Depth: see the module docstring; 0 (missing) outside the frame.
    """
    import cv2  # noqa: PLC0415

    from rt_sfamnet.flow import _numba_rgbd  # noqa: PLC0415

    if color.ndim != 3 or color.shape[2] != 3 or color.dtype != np.uint8:
        raise ValueError(f"color must be H×W×3 uint8, found {color.shape} {color.dtype}")
    if depth.shape != color.shape[:2] or depth.dtype != np.uint16:
        raise ValueError(f"depth must be H×W uint16 aligned to color, found {depth.shape} "
                         f"{depth.dtype}")
    if box.size < 2:
        raise ValueError(f"crop box must be at least 2 px, found {box.size}")
    h, w = depth.shape
    xa, ya = max(box.x0, 0), max(box.y0, 0)
    xb, yb = min(box.x1, w), min(box.y1, h)
    if xa >= xb or ya >= yb:
        raise ValueError(f"crop box {box} does not overlap the {w}×{h} frame")
    part = color[ya:yb, xa:xb]
    if (xa, ya, xb, yb) != (box.x0, box.y0, box.x1, box.y1):
        part = cv2.copyMakeBorder(part, ya - box.y0, box.y1 - yb, xa - box.x0, box.x1 - xb,
                                  cv2.BORDER_REPLICATE)
    interp = cv2.INTER_AREA if box.size >= size else cv2.INTER_LINEAR
    col = cv2.resize(np.ascontiguousarray(part), (size, size), interpolation=interp)
    k = 1 if depth_resize == "nearest" else int(min(3, max(1, np.ceil(box.size / size))))
    dep = np.empty((size, size), np.uint16)
    _numba_rgbd.crop_depth(np.ascontiguousarray(depth), np.int64(box.x0), np.int64(box.y0),
                           np.int64(box.size), np.int64(size), np.int64(k), dep)
    return col, dep


def crop_frame(frame: RGBDFrame, obs: FaceObservation, size: int = 128,
               depth_resize: str = "median") -> Crop:
    """The face crop of ``frame`` cut with ``obs.box`` (use one observation for both frames of
    a pair). Intrinsics and the nose tip are mapped to crop pixels."""
    box = obs.box
    col, dep = crop_arrays(frame.color, frame.depth, box, size, depth_resize)
    import cv2  # noqa: PLC0415

    grey = cv2.cvtColor(col, cv2.COLOR_RGB2GRAY)
    intr = frame.intrinsics
    s = size / box.size
    nose = to_crop_coords(np.array([obs.nose_xy], np.float32), box, size)[0]
    return Crop(grey=grey, color=col, depth=dep, fx=intr.fx * s, fy=intr.fy * s,
                cx=(intr.ppx - box.x0 + 0.5) * s - 0.5, cy=(intr.ppy - box.y0 + 0.5) * s - 0.5,
                nose_xy=(float(nose[0]), float(nose[1])), box=box)


def _fsum_col(a: np.ndarray) -> float:
    """Sum of a 1-D float64 array in a fixed order (correctly rounded: no SIMD or BLAS
    dependence)."""
    return math.fsum(a.tolist())


def similarity_fit(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2×3 similarity (rotation, uniform scale, translation) that maps ``src`` onto
    ``dst`` in the least-squares sense.

    Args:
        src, dst: N×2 points (N >= 2), any float dtype, the same units (pixels).
    Returns:
        2×3 float64 ``[[a, -b, tx], [b, a, ty]]`` with ``dst ≈ M[:, :2] @ src + M[:, 2]``.
        Closed form (no SVD, no BLAS): every sum is correctly rounded, so the result is the
        same on every CPU.
    """
    p = np.asarray(src, np.float64)
    q = np.asarray(dst, np.float64)
    if p.ndim != 2 or p.shape[1] != 2 or p.shape != q.shape or p.shape[0] < 2:
        raise ValueError(f"similarity_fit expects two N×2 point sets (N >= 2), found "
                         f"{p.shape} and {q.shape}")
    n = p.shape[0]
    mp = np.array([_fsum_col(p[:, 0]), _fsum_col(p[:, 1])]) / n
    mq = np.array([_fsum_col(q[:, 0]), _fsum_col(q[:, 1])]) / n
    pc, qc = p - mp, q - mq
    den = _fsum_col(pc[:, 0] * pc[:, 0]) + _fsum_col(pc[:, 1] * pc[:, 1])
    if not den > 0:
        return np.array([[1.0, 0.0, mq[0] - mp[0]], [0.0, 1.0, mq[1] - mp[1]]])
    a = (_fsum_col(pc[:, 0] * qc[:, 0]) + _fsum_col(pc[:, 1] * qc[:, 1])) / den
    b = (_fsum_col(pc[:, 0] * qc[:, 1]) - _fsum_col(pc[:, 1] * qc[:, 0])) / den
    tx = mq[0] - (a * mp[0] - b * mp[1])
    ty = mq[1] - (b * mp[0] + a * mp[1])
    return np.array([[a, -b, tx], [b, a, ty]])


def register_crop(crop: Crop, start_landmarks: np.ndarray, end_landmarks: np.ndarray,
                  box: CropBox) -> Crop:
    """The end frame's crop warped onto the start frame's face (head-motion compensation).

    Both crops are cut with the start frame's ``box``; the head may have turned, moved or
    leant in between. The similarity transform that maps the end frame's
    :data:`STABLE_LANDMARKS` onto the start frame's (both in crop pixels) is applied to the
    end crop: colour and grey bilinear, depth nearest (millimetres stay true), borders
    replicated. What is left is the motion of the face's skin relative to its rigid parts.
    When the landmarks moved less than :data:`REGISTER_MIN_PX` (RMS) the crop is returned
    as it is.

    Args:
        crop: the end frame's :class:`Crop` (S×S). start_landmarks, end_landmarks: 468×≥2
            frame pixels. box: the start frame's crop box.
    Returns:
        A new :class:`Crop` with the same intrinsics and nose position.
    """
    import cv2  # noqa: PLC0415

    idx = list(STABLE_LANDMARKS)
    s = crop.size
    a = to_crop_coords(np.asarray(start_landmarks)[idx, :2], box, s)
    b = to_crop_coords(np.asarray(end_landmarks)[idx, :2], box, s)
    m = similarity_fit(b, a).astype(np.float64)
    moved = b @ m[:, :2].T + m[:, 2] - b
    if math.sqrt(math.fsum((moved * moved).ravel().tolist()) / len(idx)) < REGISTER_MIN_PX:
        return crop  # a still head: landmark jitter would add more motion than it removes
    flags = cv2.INTER_LINEAR
    col = cv2.warpAffine(crop.color, m, (s, s), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    grey = cv2.warpAffine(crop.grey, m, (s, s), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    dep = cv2.warpAffine(crop.depth, m, (s, s), flags=cv2.INTER_NEAREST,
                         borderMode=cv2.BORDER_REPLICATE)
    return Crop(grey=grey, color=col, depth=dep, fx=crop.fx, fy=crop.fy, cx=crop.cx,
                cy=crop.cy, nose_xy=crop.nose_xy, box=crop.box)


# ---------------------------------------------------------------------------------------------
# Maps (array-module generic: NumPy or CuPy arrays)
# ---------------------------------------------------------------------------------------------


def area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """n_out×n_in float32 weights of area averaging (OpenCV ``INTER_AREA`` when shrinking).

    Output pixel i averages the source interval ``[i r, (i + 1) r)``, ``r = n_in / n_out``,
    each source pixel weighted by its overlap.
    """
    if n_out > n_in:
        raise ValueError(f"area_matrix shrinks only, found {n_in} -> {n_out}")
    r = n_in / n_out
    m = np.zeros((n_out, n_in), np.float64)
    for i in range(n_out):
        a, b = i * r, (i + 1) * r
        for j in range(int(np.floor(a)), min(int(np.ceil(b)), n_in)):
            m[i, j] = max(0.0, min(b, j + 1) - max(a, j))
    m /= r
    return m.astype(np.float32)


def _xp(a: Any):
    from rt_sfamnet.flow.backend import get_array_module  # noqa: PLC0415

    return get_array_module(a)


def nose_window(nose_xy: tuple[float, float], crop_size: int, patch: int) -> tuple[int, int]:
    """Top-left (x, y) of the patch×patch nose window, moved inside the crop if needed."""
    h = patch // 2
    x = int(round(float(nose_xy[0]))) - h
    y = int(round(float(nose_xy[1]))) - h
    x = min(max(x, 0), crop_size - patch)
    y = min(max(y, 0), crop_size - patch)
    return x, y


def remove_nose_motion(flow: Any, nose_xy: Sequence[tuple[float, float]] | tuple[float, float],
                       patch: int = 11) -> Any:
    """Subtract each component's mean over the nose patch.

    Args:
        flow: S×S×C or N×S×S×C (NumPy or CuPy). nose_xy: one (x, y) or N of them (crop px).

    Returns:
        A new array of the same shape and module.
    """
    xp = _xp(flow)
    if flow.ndim not in (3, 4) or flow.shape[-3] != flow.shape[-2]:
        raise ValueError(f"remove_nose_motion expects S×S×C or N×S×S×C flow, found {flow.shape}")
    single = flow.ndim == 3
    f = flow[None] if single else flow
    n, s = f.shape[0], f.shape[1]
    if not 1 <= patch <= s:
        raise ValueError(f"remove_nose_motion: patch must be in [1, {s}] (the crop size), "
                         f"found {patch}")
    noses = [nose_xy] if single else list(nose_xy)
    if len(noses) != n:
        raise ValueError(f"remove_nose_motion: {n} flows but {len(noses)} nose positions")
    corners = np.array([nose_window(nz, s, patch) for nz in noses], np.int64)  # (N, 2) x, y
    ar = np.arange(patch)
    ys = corners[:, 1, None] + ar[None, :]
    xs = corners[:, 0, None] + ar[None, :]
    ni = np.arange(n)[:, None, None]
    ys_d, xs_d, ni_d = (xp.asarray(a) for a in (ys, xs, ni))
    patches = f[ni_d, ys_d[:, :, None], xs_d[:, None, :]]  # (N, P, P, C)
    means = patches.mean(axis=(1, 2), dtype=xp.float32)
    out = (f - means[:, None, None, :]).astype(xp.float32)
    return out[0] if single else out


def optical_strain(u: Any, v: Any) -> Any:
    """``sqrt(u_x² + v_y² + ½ (u_y + v_x)²)`` with central differences (one-sided at the
    borders) on the last two axes (…×H×W, NumPy or CuPy)."""
    xp = _xp(u)
    if u.shape != v.shape or u.ndim < 2 or min(u.shape[-2:]) < 2:
        raise ValueError(f"optical_strain expects u and v of one shape …×H×W (H, W >= 2), "
                         f"found {u.shape} and {v.shape}")
    uy, ux = xp.gradient(u, axis=(-2, -1))
    vy, vx = xp.gradient(v, axis=(-2, -1))
    return xp.sqrt(ux * ux + vy * vy + 0.5 * (uy + vx) ** 2).astype(xp.float32)


_AREA_CACHE: dict[tuple, Any] = {}


def _area_weights(xp: Any, n_in: int, n_out: int) -> tuple[Any, Any]:
    """:func:`area_matrix` as taps on the array module's side, made once per size (and
    device): ``idx`` (n_out×K int64 source indices) and ``w`` (n_out×K float32 weights, 0 for
    padding) of the K = most non-zero weights of a row."""
    dev = None if xp is np else xp.cuda.Device().id
    key = (xp.__name__, dev, n_in, n_out)
    taps = _AREA_CACHE.get(key)
    if taps is None:
        m = area_matrix(n_in, n_out)
        nz = [np.flatnonzero(row) for row in m]
        k = max(len(j) for j in nz)
        idx = np.array([np.pad(j, (0, k - len(j)), mode="edge") for j in nz], np.int64)
        w = np.where(np.arange(k)[None] < np.array([len(j) for j in nz])[:, None],
                     np.take_along_axis(m, idx, axis=1), 0).astype(np.float32)
        taps = (xp.asarray(idx), xp.asarray(w))
        _AREA_CACHE[key] = taps
    return taps


def resize_area(maps: Any, size: int) -> Any:
    """…×S×S → …×size×size by area averaging (:func:`area_matrix`), rows then columns.

    Each output sums its few taps in a fixed order (no BLAS: a matrix product's summation
    order depends on the BLAS kernel, so on the CPU), float32 throughout.
    """
    xp = _xp(maps)
    s = maps.shape[-1]
    if maps.shape[-2] != s:
        raise ValueError(f"resize_area expects square maps, found {maps.shape}")
    idx, w = _area_weights(xp, s, size)
    a = maps.astype(xp.float32, copy=False)
    t = w[:, 0, None] * a[..., idx[:, 0], :]
    for k in range(1, idx.shape[1]):
        t = t + w[:, k, None] * a[..., idx[:, k], :]
    out = w[:, 0] * t[..., idx[:, 0]]
    for k in range(1, idx.shape[1]):
        out = out + w[:, k] * t[..., idx[:, k]]
    return out.astype(xp.float32, copy=False)


def _local_range(d: Any) -> Any:
    """N×S×S depth → N×S×S (max − min) over each pixel's 3×3 neighbourhood (edge-replicated)."""
    xp = _xp(d)
    s = d.shape[-1]
    p = xp.pad(d, ((0, 0), (1, 1), (1, 1)), mode="edge")
    views = [p[:, dy:dy + s, dx:dx + s] for dy in range(3) for dx in range(3)]
    hi = views[0]
    lo = views[0]
    for v in views[1:]:
        hi = xp.maximum(hi, v)
        lo = xp.minimum(lo, v)
    return hi - lo


def w_valid_mask(d0: Any, d1: Any, noses: Sequence[tuple[float, float]],
                 config: FeatureConfig) -> Any:
    """N×S×S bool: where ``S_w`` is trusted (see :func:`clean_scene_w`).

    Args:
        d0, d1: N×S×S depth crops (uint16 millimetres, 0 = missing; NumPy or CuPy).
        noses: N (x, y) nose positions in crop pixels (for the face depth).
    """
    xp = _xp(d0)
    a = d0.astype(xp.float32)
    b = d1.astype(xp.float32)
    valid = (a > 0) & (b > 0)
    if config.w_edge_mm is not None:
        edge = float(config.w_edge_mm)
        # a missing sample next to a valid one is a discontinuity too: fill it with +inf-like
        big = xp.float32(65535.0)
        a_f = xp.where(a > 0, a, big)
        b_f = xp.where(b > 0, b, big)
        valid &= (_local_range(a_f) <= edge) & (_local_range(b_f) <= edge)
    if config.w_face_mm is not None:
        from rt_sfamnet.flow.backend import to_numpy  # noqa: PLC0415

        n, s = a.shape[0], a.shape[-1]
        if len(noses) != n:
            raise ValueError(f"w_valid_mask: {n} depth pairs but {len(noses)} nose positions")
        patch = min(config.nose_patch, s)
        ref = np.zeros(n, np.float32)
        a_np = to_numpy(a)
        for i, nz in enumerate(noses):
            x, y = nose_window(nz, s, patch)
            vals = a_np[i, y:y + patch, x:x + patch]
            vals = vals[vals > 0]
            ref[i] = float(np.median(vals)) if vals.size else np.nan
        ref_d = xp.asarray(ref)[:, None, None]
        near = xp.abs(a - ref_d) <= xp.float32(config.w_face_mm)
        # no valid depth at the nose: nothing to compare with, keep the other rules only
        valid &= near | xp.isnan(ref_d)
    return valid


def clean_scene_w(w: Any, d0: Any, d1: Any, noses: Sequence[tuple[float, float]],
                  config: FeatureConfig) -> Any:
    """Zero ``S_w`` where depth is missing or discontinuous, clamp it to ``±w_max_mm``.

    Args:
        w: N×S×S float32 scene-flow depth component (millimetres). d0, d1: N×S×S uint16 depth
            crops of t0 and t1 (millimetres, 0 = missing). noses: N (x, y) in crop pixels.
    Returns:
        N×S×S float32 on the same array module. With ``w_max_mm``, ``w_edge_mm`` and
        ``w_face_mm`` all ``None`` the input is returned unchanged.
    """
    if w.ndim != 3 or d0.shape != w.shape or d1.shape != w.shape:
        raise ValueError(f"clean_scene_w expects N×S×S w and depths of the same shape, found "
                         f"{w.shape}, {d0.shape}, {d1.shape}")
    if config.w_max_mm is None and config.w_edge_mm is None and config.w_face_mm is None:
        return w
    xp = _xp(w)
    valid = w_valid_mask(d0, d1, noses, config)
    out = xp.where(valid, w, xp.float32(0.0)).astype(xp.float32)
    if config.w_max_mm is not None:
        m = float(config.w_max_mm)
        out = xp.clip(out, -m, m).astype(xp.float32)
    return out


def _assemble(oflow: Any, sflow: Any, noses: list, config: FeatureConfig,
              depths: tuple[Any, Any] | None = None) -> Any:
    """N×S×S×2 optical and N×S×S×3 scene flows (either may be None) → N×3×m×m maps.

    ``depths``: the N×S×S t0 and t1 depth crops, for the ``S_w`` cleaning.
    """
    mode = config.mode
    if oflow is not None:
        oflow = remove_nose_motion(oflow, noses, config.nose_patch)
    if sflow is not None:
        if depths is not None:
            xp_s = _xp(sflow)
            w = clean_scene_w(sflow[..., 2], depths[0], depths[1], noses, config)
            sflow = xp_s.concatenate([sflow[..., :2], w[..., None]], axis=-1)
        sflow = remove_nose_motion(sflow, noses, config.nose_patch)
        if depths is not None:
            w = clean_scene_w(sflow[..., 2], depths[0], depths[1], noses, config)
            sflow = xp_s.concatenate([sflow[..., :2], w[..., None]], axis=-1)
    xp = _xp(oflow if oflow is not None else sflow)
    if mode == "optical":
        u, v = oflow[..., 0], oflow[..., 1]
        chans = [u, v, optical_strain(u, v)]
    elif mode == "scene":
        chans = [sflow[..., 0], sflow[..., 1], sflow[..., 2]]
    else:
        chans = [oflow[..., 0], oflow[..., 1], sflow[..., 2]]
    stack = xp.stack(chans, axis=1)  # N×3×S×S
    out = resize_area(stack, config.map_size)
    if config.input_scale != 1.0:
        out = out * xp.float32(config.input_scale)
    return xp.ascontiguousarray(out.astype(xp.float32))


def _check_crops(c0s: Sequence[Crop], c1s: Sequence[Crop], config: FeatureConfig) -> None:
    if len(c0s) != len(c1s):
        raise ValueError(f"pair_maps_batch: {len(c0s)} first crops but {len(c1s)} second crops")
    for a, b in zip(c0s, c1s, strict=True):
        if a.size != config.crop_size or b.size != config.crop_size:
            raise ValueError(f"crops must be {config.crop_size}×{config.crop_size} "
                             f"(FeatureConfig.crop_size), found {a.size} and {b.size}")


def _flows_single(c0: Crop, c1: Crop, config: FeatureConfig, backend: Any):
    from rt_sfamnet.flow import rgbd_flow, tvl1  # noqa: PLC0415

    put = backend.asarray  # inputs go to the backend's side so the flows stay there
    oflow = sflow = None
    if config.mode in ("optical", "hybrid"):
        oflow = tvl1(put(c0.grey), put(c1.grey), backend=backend, preset=config.tvl1_preset,
                     **config.tvl1_params)
    if config.mode in DEPTH_MODES:
        sflow = rgbd_flow(put(c0.color), put(c0.depth), put(c1.color), put(c1.depth), c0.fx,
                          c0.fy, c0.cx, c0.cy, backend=backend, preset=config.rgbd_preset,
                          **config.rgbd_params)
    return oflow, sflow


def _stack(backend: Any, arrays: list) -> Any:
    """Stack crop arrays (NumPy or already on the GPU) on the backend's side."""
    xp = backend.xp
    if xp is np:
        from rt_sfamnet.flow.backend import to_numpy  # noqa: PLC0415

        return np.stack([to_numpy(a) for a in arrays])
    return xp.stack([xp.asarray(a) for a in arrays])


def pair_maps(c0: Crop, c1: Crop, config: FeatureConfig | None = None) -> np.ndarray:
    """The 3×map_size×map_size float32 maps of one pair of crops (module docstring).

    Both crops must be cut with the same box; the nose patch is taken at ``c0.nose_xy``.
    Flows run on ``config.backend``; the result is always a NumPy array.
    """
    config = config or FeatureConfig()
    _check_crops([c0], [c1], config)
    from rt_sfamnet.flow.backend import get_backend, to_numpy  # noqa: PLC0415

    be = get_backend(config.backend)
    with be.device_context():
        oflow, sflow = _flows_single(c0, c1, config, be)
        depths = None
        if sflow is not None:
            depths = (be.asarray(c0.depth)[None], be.asarray(c1.depth)[None])
        out = _assemble(None if oflow is None else oflow[None],
                        None if sflow is None else sflow[None], [c0.nose_xy], config, depths)
        return to_numpy(out[0])


def pair_maps_batch(c0s: Sequence[Crop], c1s: Sequence[Crop],
                    config: FeatureConfig | None = None) -> np.ndarray:
    """N×3×map_size×map_size float32 maps of N pairs.

    On a GPU backend all pairs go through the batched solvers (one set of kernel launches for
    the batch); on the CPU the batched solvers spread the pairs over the cores.
    """
    config = config or FeatureConfig()
    _check_crops(c0s, c1s, config)
    if len(c0s) == 0:
        return np.zeros((0, 3, config.map_size, config.map_size), np.float32)
    from rt_sfamnet.flow import rgbd_flow_batch, tvl1_batch  # noqa: PLC0415
    from rt_sfamnet.flow.backend import get_backend, to_numpy  # noqa: PLC0415

    be = get_backend(config.backend)
    with be.device_context():
        oflow = sflow = depths = None
        if config.mode in ("optical", "hybrid"):
            g0 = _stack(be, [c.grey for c in c0s])
            g1 = _stack(be, [c.grey for c in c1s])
            oflow = tvl1_batch(g0, g1, backend=be, preset=config.tvl1_preset,
                               **config.tvl1_params)
        if config.mode in DEPTH_MODES:
            col0 = _stack(be, [c.color for c in c0s])
            col1 = _stack(be, [c.color for c in c1s])
            d0 = _stack(be, [c.depth for c in c0s])
            d1 = _stack(be, [c.depth for c in c1s])
            sflow = rgbd_flow_batch(col0, d0, col1, d1, [c.fx for c in c0s],
                                    [c.fy for c in c0s], [c.cx for c in c0s],
                                    [c.cy for c in c0s], backend=be,
                                    preset=config.rgbd_preset, **config.rgbd_params)
            depths = (d0, d1)
        out = _assemble(oflow, sflow, [c.nose_xy for c in c0s], config, depths)
        return to_numpy(out)
