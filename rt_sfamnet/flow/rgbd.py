"""RGB-D scene flow: the energy of Herbst, Ren and Fox (ICRA 2013), solved coarse-to-fine.

Given two aligned colour + depth frames, :func:`rgbd_flow` returns per pixel of frame 0 the
image motion ``(u, v)`` in pixels and the depth change ``w`` in millimetres, so that the
point seen at ``(x, y)`` with depth ``Z0(x, y)`` is seen at ``(x + u, y + v)`` with depth
``Z0(x, y) + w`` in frame 1.

Energy (summed over the pixels of frame 0; ψ(s²) = sqrt(s² + ε²) is the robust penalty)::

    E = Σ_c ψ((I1c(x+u) − I0c(x))²)                           colour constancy, per channel
      + β Σ ψ(Σ_c |∇I1c(x+u) − ∇I0c(x)|²)                     gradient constancy
      + λ ρ(x) ψ((κ(Z0) · (Z1(x+u) − Z0(x) − w))²)            depth constancy
      + α g(x) ψ(|∇u|² + |∇v|² + (f/Z0)² |∇w|²)                edge-aware smoothness
      + γ |(f/Z0) · ΔX(u, v, w)|²                              magnitude prior

Units and weights:

- Intensities are in [0, 1]; ``u, v`` in pixels; ``w`` and depths in millimetres.
- ``f = sqrt(fx fy)`` in pixels, so ``f / Z0`` is pixels per millimetre at the depth of the
  pixel: ``(f/Z0) |∇w|`` is the gradient of the pixel displacement a lateral motion of size
  ``w`` would cause, which makes the three smoothness terms commensurate (this is the
  "f² weight" of Herbst et al. written for ``w`` in mm and ``u, v`` in px).
- ``κ(Z) = kappa / σ_z(Z)`` with the sensor noise model ``σ_z(Z) = sigma_z0 + sigma_z2 (Z /
  1 m)²`` mm: a depth residual of one noise standard deviation costs as much as an intensity
  residual of ``kappa`` (default 0.01, about 2.5 grey levels). ρ = 1 where both depths were
  measured, ``missing_weight`` where either was missing (holes are median-filled first).
- ``ΔX`` is the linearised 3-D displacement; ``(f/Z0) ΔX = (u + w (x−cx)/Z0, v + w (y−cy)/Z0,
  f w / Z0)`` in pixels, so the prior penalises motion in pixel-equivalent units.
- ``g = max(edge_floor, exp(−edge_color |∇I0|)) / (1 + (|∇Z0| / edge_depth)²)`` lowers the
  smoothness across colour edges and across depth discontinuities (``edge_depth`` in mm/px).

Solver: Gaussian pyramid with ratio ``pyramid_ratio`` (0.75) down to ``min_size`` pixels;
at each level ``warps`` re-linearisations of the data terms at the current flow (bilinear
warping of frame 1 and its derivatives), ``inner`` lagged-diffusivity iterations (the robust
weights and the diffusivity are frozen, giving a linear system), each followed by ``sweeps``
red-black sweeps of point-block SOR (the 3×3 system of (u, v, w) at each pixel is solved
exactly, then over-relaxed by ``omega``). The flow is bilinearly upsampled between levels
(``u, v`` scaled by the size ratio, ``w`` kept in mm).

Backends: ``"numpy"`` runs Numba kernels (:mod:`._numba_rgbd`), one thread per pair of a
batch; ``"cupy"`` runs the same arithmetic as CUDA kernels (:mod:`._cuda_rgbd`), batching pairs
in one launch. :func:`rgbd_flow` and :func:`rgbd_flow_batch` share one dispatch (as
:func:`rt_sfamnet.flow.tvl1.tvl1`): inputs are checked once on either side, moved to the
backend's side when needed, solved as a batch, and returned on the side they came from.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from rt_sfamnet.config import config_from_mapping
from rt_sfamnet.errors import ConfigError

from .backend import get_array_module, get_backend, to_numpy
from .checks import check_dtype, check_same_shape, check_shape
from .pyramid import blur_kernel, level_intrinsics, pyramid_sigma, pyramid_sizes

__all__ = [
    "RGBDParams",
    "RGBD_PRESETS",
    "face_like_depth",
    "moved_rgbd_pair",
    "rgbd_flow",
    "rgbd_flow_batch",
    "rgbd_params",
]


@dataclass(frozen=True)
class RGBDParams:
    """Parameters of :func:`rgbd_flow` (see the module docstring for the energy).

    Attributes:
        alpha: smoothness weight α.
        grad_weight: gradient-constancy weight β (0 disables the term).
        depth_weight: depth-constancy weight λ.
        kappa: intensity-equivalent of one depth noise standard deviation.
        gamma: magnitude-prior weight γ (per px²).
        eps: ε of the data penalties (intensity units).
        eps_smooth: ε of the smoothness penalty (px / px).
        sigma_z0, sigma_z2: depth noise model σ_z(Z) = sigma_z0 + sigma_z2 (Z / 1 m)², in mm.
        missing_weight: depth weight ρ where a depth value was missing (filled).
        edge_color: decay of the smoothness weight with the colour gradient (per unit/px).
        edge_depth: depth gradient (mm/px) at which the smoothness weight halves.
        edge_floor: lower bound of the colour edge factor.
        color: use the three colour channels (False: their mean, faster).
        pyramid_ratio: size ratio between pyramid levels (0 < r < 1).
        min_size: the coarsest level's smaller side is at least this many pixels.
        max_levels: cap on the number of levels (0: no cap).
        finest_level: the pyramid level the solve stops at (0: full resolution; 1: the first
            coarser level, ...); the result is bilinearly upsampled to the input size. The
            ``live`` preset uses 1: the maps are 42×42, so detail finer than the 96×96 level
            of a 128×128 crop does not reach them.
        warps, inner, sweeps: warps per level, lagged-diffusivity iterations per warp,
            red-black SOR sweeps per iteration.
        omega: SOR over-relaxation factor (0 < ω < 2).
        presmooth: σ (px) of a Gaussian applied to the input images first (0: none).
        fill_iterations: 5×5 median passes used to fill depth holes.
        default_depth_mm: depth assumed where a map has no valid pixel at all.
    """

    alpha: float = 0.02
    grad_weight: float = 0.5
    depth_weight: float = 1.0
    kappa: float = 0.01
    gamma: float = 1e-5
    eps: float = 0.001
    eps_smooth: float = 0.001
    sigma_z0: float = 0.5
    sigma_z2: float = 1.5
    missing_weight: float = 0.05
    edge_color: float = 5.0
    edge_depth: float = 20.0
    edge_floor: float = 0.1
    color: bool = True
    pyramid_ratio: float = 0.75
    min_size: int = 16
    max_levels: int = 0
    finest_level: int = 0
    warps: int = 3
    inner: int = 2
    sweeps: int = 10
    omega: float = 1.8
    presmooth: float = 0.0
    fill_iterations: int = 8
    default_depth_mm: float = 600.0

    def __post_init__(self) -> None:
        if not 0.0 < self.pyramid_ratio < 1.0:
            raise ValueError(f"pyramid_ratio must be in (0, 1), found {self.pyramid_ratio}")
        if not 0.0 < self.omega < 2.0:
            raise ValueError(f"omega must be in (0, 2), found {self.omega}")
        for name in ("warps", "inner", "sweeps", "min_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, found {getattr(self, name)}")
        for name in ("alpha", "eps", "eps_smooth", "edge_depth", "sigma_z0"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, found {getattr(self, name)}")
        for name in ("grad_weight", "depth_weight", "kappa", "gamma", "sigma_z2",
                     "missing_weight", "edge_color", "edge_floor", "presmooth", "max_levels",
                     "fill_iterations", "finest_level"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, found {getattr(self, name)}")

    def level_sizes(self, height: int, width: int) -> list[tuple[int, int]]:
        """Pyramid level sizes ``(H, W)``, finest first: ratio ``pyramid_ratio``, coarser
        levels at least ``max(min_size, 4)`` px, at most ``max_levels`` levels (0: no cap)
        (:func:`~rt_sfamnet.flow.pyramid.pyramid_sizes`)."""
        return pyramid_sizes(height, width, self.pyramid_ratio, max(self.min_size, 4),
                             self.max_levels or None)


#: Named parameter sets. ``full``: the accurate default. ``live``: tuned for 128×128 face
#: crops with sub-pixel to few-pixel motions under the real-time budget: grey channel, four
#: levels (128, 96, 72, 54) of which the finest is skipped (solved at 96×96, upsampled),
#: 2 warps × 2 lagged iterations × 6 sweeps. Accuracy of both is in docs/benchmarks/flow.md.
RGBD_PRESETS: dict[str, RGBDParams] = {
    "full": RGBDParams(),
    "live": RGBDParams(color=False, min_size=24, max_levels=4, finest_level=1, warps=2,
                       inner=2, sweeps=6, omega=1.7),
}


def rgbd_params(preset: str | RGBDParams | None = "full", **overrides: Any) -> RGBDParams:
    """The parameters of ``preset`` with ``overrides`` applied (unknown keys raise ConfigError)."""
    if isinstance(preset, RGBDParams):
        base = preset
    else:
        name = "full" if preset is None else preset
        if name not in RGBD_PRESETS:
            raise ConfigError(f"rgbd preset: expected one of {sorted(RGBD_PRESETS)}, found {name!r}")
        base = RGBD_PRESETS[name]
    if not overrides:
        return base
    checked = config_from_mapping(RGBDParams, overrides, "rgbd_flow")
    try:
        return replace(base, **{k: getattr(checked, k) for k in overrides})
    except ValueError as exc:
        raise ConfigError(f"rgbd_flow: {exc}") from None


# ---------------------------------------------------------------------------------------------
# Input checks and preparation
# ---------------------------------------------------------------------------------------------


def _check_inputs(I0: Any, Z0: Any, I1: Any, Z1: Any, batched: bool) -> int:
    """Check the shapes and dtypes of the four inputs (NumPy or CuPy); returns N (1 unbatched)."""
    where = "rgbd_flow_batch" if batched else "rgbd_flow"
    lead = "N " if batched else ""
    image, depth = f"{lead}H W | {lead}H W 3", f"{lead}H W"
    what_i = "grey or RGB images" if batched else "a grey or RGB image"
    what_z = "depth maps (uint16 mm)" if batched else "a depth map (uint16 mm)"
    dims = check_shape(I0, image, "I0", where, what=what_i)
    check_shape(I1, image, "I1", where, what=what_i)
    for name, z in (("Z0", Z0), ("Z1", Z1)):
        check_shape(z, depth, name, where, what=what_z)
    if batched:
        ns = {name: a.shape[0] for name, a in (("I0s", I0), ("Z0s", Z0), ("I1s", I1), ("Z1s", Z1))}
        if len(set(ns.values())) != 1:
            raise ValueError(f"{where}: batch sizes differ: "
                             + ", ".join(f"{k} {v}" for k, v in ns.items()))
        if dims["N"] == 0:
            raise ValueError(f"{where}: expected at least one pair, found 0")
    check_same_shape(I0, I1, ("I0", "I1"), where)
    for name, z in (("Z0", Z0), ("Z1", Z1)):
        check_shape(z, depth, name, where, dims=dims, what=what_z)
    if min(dims["H"], dims["W"]) < 4:
        raise ValueError(f"{where}: needs images of at least 4 x 4 pixels, found "
                         f"{dims['H']} x {dims['W']}")
    for name, a in (("I0", I0), ("I1", I1)):
        check_dtype(a, ("uint8", "f"), name, where, "uint8 (or float in [0, 1])")
    for name, z in (("Z0", Z0), ("Z1", Z1)):
        check_dtype(z, ("uint16", "u", "i", "f"), name, where, "uint16 millimetres")
    return dims.get("N", 1)


def _as_image(img: np.ndarray) -> np.ndarray:
    """(C, H, W) float32 in [0, 1] from a checked H×W or H×W×3 uint8 (or float) image."""
    a = img[None] if img.ndim == 2 else np.moveaxis(img, 2, 0)
    if a.dtype == np.uint8:
        out = a.astype(np.float32) * np.float32(1.0 / 255.0)
    else:
        out = np.nan_to_num(a.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    return np.ascontiguousarray(out)


def _as_depth(z: np.ndarray) -> np.ndarray:
    """H×W uint16 mm (0 = missing) from a checked uint16 or numeric map (≤0 / NaN = missing)."""
    if z.dtype == np.uint16:
        return np.ascontiguousarray(z)
    f = np.nan_to_num(z.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    return np.ascontiguousarray(np.clip(np.rint(f), 0, 65535).astype(np.uint16))


def _grey(i: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(i.mean(axis=0, keepdims=True, dtype=np.float32))


# ---------------------------------------------------------------------------------------------
# CPU (Numba) driver
# ---------------------------------------------------------------------------------------------


def _upsample_flow(K, u, v, wz, h: int, w: int):
    """Resize (u, v, w) to h×w with the Numba kernels: u, v scale with the image (px), w (mm)
    does not."""
    f32 = np.float32
    ph, pw = u.shape
    nu = np.empty((h, w), f32)
    nv = np.empty((h, w), f32)
    nw = np.empty((h, w), f32)
    K.resize_bilinear(u, nu, f32(w / pw))
    K.resize_bilinear(v, nv, f32(h / ph))
    K.resize_bilinear(wz, nw, f32(1.0))
    return nu, nv, nw


def _numba_pair(a0, z0u, a1, z1u, fx, fy, cx, cy, p: RGBDParams) -> np.ndarray:
    from rt_sfamnet.flow import _numba_rgbd as K

    f32 = np.float32
    if not p.color and a0.shape[0] > 1:
        a0, a1 = _grey(a0), _grey(a1)
    c_n, h, w = a0.shape
    if p.presmooth > 0:
        k = blur_kernel(p.presmooth)
        s0, s1 = np.empty_like(a0), np.empty_like(a1)
        for c in range(c_n):
            K.blur5(a0[c], k, s0[c])
            K.blur5(a1[c], k, s1[c])
        a0, a1 = s0, s1
    # depth: fill holes, remember validity
    z0 = np.empty((h, w), f32)
    z1 = np.empty((h, w), f32)
    m0 = np.empty((h, w), f32)
    m1 = np.empty((h, w), f32)
    K.fill_depth(z0u, z0, m0, np.int64(p.fill_iterations), f32(p.default_depth_mm))
    K.fill_depth(z1u, z1, m1, np.int64(p.fill_iterations), f32(p.default_depth_mm))

    sizes = p.level_sizes(h, w)
    kern = blur_kernel(pyramid_sigma(p.pyramid_ratio))
    levels = [(a0, a1, z0, z1, m0, m1)]
    for lh, lw in sizes[1:]:
        prev = levels[-1]
        nxt = []
        for arr in prev:
            if arr.ndim == 3:
                out = np.empty((arr.shape[0], lh, lw), f32)
                for c in range(arr.shape[0]):
                    tmp = np.empty_like(arr[c])
                    K.blur5(arr[c], kern, tmp)
                    K.resize_bilinear(tmp, out[c], f32(1.0))
            else:
                tmp = np.empty_like(arr)
                K.blur5(arr, kern, tmp)
                out = np.empty((lh, lw), f32)
                K.resize_bilinear(tmp, out, f32(1.0))
            nxt.append(out)
        levels.append(tuple(nxt))

    u = v = wz = None
    finest = min(p.finest_level, len(sizes) - 1)
    for li in range(len(sizes) - 1, finest - 1, -1):
        lh, lw = sizes[li]
        i0, i1, lz0, lz1, lm0, lm1 = levels[li]
        if u is None:
            u = np.zeros((lh, lw), f32)
            v = np.zeros((lh, lw), f32)
            wz = np.zeros((lh, lw), f32)
        else:
            u, v, wz = _upsample_flow(K, u, v, wz, lh, lw)
        lfx, lfy, lcx, lcy = level_intrinsics(fx, fy, cx, cy, h, w, lh, lw)
        src1 = np.empty((lh, lw, 6 * c_n + 4), f32)
        pix0 = np.empty((lh, lw, 3 * c_n + 7), f32)
        K.level_setup(i0, i1, lz0, lz1, lm0, lm1, f32(lfx), f32(lfy), f32(lcx), f32(lcy),
                      f32(p.sigma_z0), f32(p.sigma_z2), f32(p.kappa), f32(p.edge_color),
                      f32(p.edge_depth), f32(p.edge_floor), src1, pix0)
        K.solve_level(src1, pix0, np.int64(c_n), u, v, wz, np.int64(p.warps),
                      np.int64(p.inner), np.int64(p.sweeps), f32(p.omega),
                      f32(p.depth_weight), f32(p.missing_weight), f32(p.grad_weight),
                      f32(p.eps), f32(p.alpha), f32(p.eps_smooth), f32(p.gamma))
    if finest > 0:
        u, v, wz = _upsample_flow(K, u, v, wz, h, w)
    out = np.stack([u, v, wz], axis=-1)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32, copy=False)


# ---------------------------------------------------------------------------------------------
# Dispatch and public API
# ---------------------------------------------------------------------------------------------


def _per_pair(value: Any, n: int, name: str, where: str) -> np.ndarray:
    arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)) if np.ndim(value) == 0 \
        else np.asarray(value, dtype=np.float64)
    if arr.shape != (n,):
        raise ValueError(f"{where}: {name} must be a scalar or {n} values, found shape "
                         f"{arr.shape}")
    return arr


def _solve_numpy(I0s, Z0s, I1s, Z1s, fxs, fys, cxs, cys, p: RGBDParams,
                 workers: int | None) -> np.ndarray:
    """N pairs on the CPU, spread over ``workers`` threads (the Numba kernels release the GIL)."""
    n = I0s.shape[0]

    def one(i: int) -> np.ndarray:
        a0, a1 = _as_image(I0s[i]), _as_image(I1s[i])
        z0, z1 = _as_depth(Z0s[i]), _as_depth(Z1s[i])
        return _numba_pair(a0, z0, a1, z1, fxs[i], fys[i], cxs[i], cys[i], p)

    nw = workers or os.cpu_count() or 1
    if nw <= 1 or n == 1:
        return np.stack([one(i) for i in range(n)])
    with ThreadPoolExecutor(max_workers=min(nw, n)) as ex:
        return np.stack(list(ex.map(one, range(n))))


def _solve_cupy(I0s, Z0s, I1s, Z1s, fxs, fys, cxs, cys, p: RGBDParams) -> Any:
    """N pairs on the current CUDA device, all in the same kernel launches (CuPy out)."""
    from . import _cuda_rgbd  # noqa: PLC0415 (imports CuPy)

    return _cuda_rgbd.rgbd_flow_batch_cuda(I0s, Z0s, I1s, Z1s, fxs, fys, cxs, cys, p)


def _run(arrays: tuple, intrinsics: tuple, backend: Any, preset: Any, params: dict,
         batched: bool, workers: int | None = None) -> Any:
    """The common path of :func:`rgbd_flow` and :func:`rgbd_flow_batch`."""
    where = "rgbd_flow_batch" if batched else "rgbd_flow"
    p = rgbd_params(preset, **params)
    be = get_backend(backend)
    on_gpu = [get_array_module(a) is not np for a in arrays]
    arrays = tuple(a if gpu else np.asarray(a) for a, gpu in zip(arrays, on_gpu, strict=True))
    n = _check_inputs(*arrays, batched=batched)
    intr = tuple(_per_pair(v, n, name, where)
                 for v, name in zip(intrinsics, ("fx", "fy", "cx", "cy"), strict=True))
    input_on_gpu = any(on_gpu)
    if input_on_gpu and not be.is_gpu:
        arrays = tuple(to_numpy(a) for a in arrays)
    if not batched:
        arrays = tuple(a[None] for a in arrays)
    with be.device_context():
        if be.is_gpu:
            out = _solve_cupy(*arrays, *intr, p)
        else:
            out = _solve_numpy(*arrays, *intr, p, workers)
        if not batched:
            out = out[0]
        if be.is_gpu and not input_on_gpu:
            out = to_numpy(out)
        elif not be.is_gpu and input_on_gpu:
            import cupy  # noqa: PLC0415

            out = cupy.asarray(out)
    return out


def rgbd_flow(I0, Z0, I1, Z1, fx: float, fy: float, cx: float, cy: float,
              backend: Any = None, preset: str | RGBDParams | None = "full",
              **params: Any):
    """Scene flow from frame 0 to frame 1.

    Args:
        I0, I1: H×W grey or H×W×3 RGB images, uint8 (float in [0, 1] accepted), both of one
            shape (H, W >= 4); NumPy or CuPy arrays.
        Z0, Z1: H×W depth, uint16 millimetres, 0 = missing (aligned to the images; other
            number types are rounded, NaN and values <= 0 count as missing).
        fx, fy, cx, cy: pinhole intrinsics of these images, pixels.
        backend: ``"numpy"`` (Numba on the CPU), ``"cupy"`` (CUDA) or None (CuPy when a GPU
            is usable).
        preset: ``"full"`` (default), ``"live"`` or an :class:`RGBDParams`.
        **params: overrides of :class:`RGBDParams` fields.

    Returns:
        H×W×3 float32 ``(u, v, w)``: u, v in pixels (frame-0 pixel to its position in frame
        1), w the depth change in millimetres. Never NaN. A NumPy array, or a CuPy array
        when the inputs were CuPy arrays.

    Raises:
        ValueError: wrong shapes or dtypes. ConfigError: unknown preset/parameter or backend.
    """
    return _run((I0, Z0, I1, Z1), (fx, fy, cx, cy), backend, preset, params, batched=False)


def rgbd_flow_batch(I0s, Z0s, I1s, Z1s, fx, fy, cx, cy, backend: Any = None,
                    preset: str | RGBDParams | None = "full", workers: int | None = None,
                    **params: Any):
    """Scene flows of N pairs (offline extraction).

    Args:
        I0s, I1s: N×H×W or N×H×W×3 uint8 images. Z0s, Z1s: N×H×W uint16 mm (N >= 1).
        fx, fy, cx, cy: scalars or length-N arrays (pixels).
        backend: as :func:`rgbd_flow`. On CuPy all N pairs are solved by the same kernel
            launches; on the CPU the pairs are spread over ``workers`` threads (default: the
            number of CPUs; the Numba kernels release the GIL).
        preset, params: as :func:`rgbd_flow`.

    Returns:
        N×H×W×3 float32 ``(u, v, w)`` (px, px, mm); NumPy, or CuPy for CuPy inputs. Pair ``i``
        equals ``rgbd_flow`` of that pair on the same backend.
    """
    return _run((I0s, Z0s, I1s, Z1s), (fx, fy, cx, cy), backend, preset, params,
                batched=True, workers=workers)


def param_names() -> list[str]:
    """Names of the :class:`RGBDParams` fields (the keyword overrides rgbd_flow accepts)."""
    return [f.name for f in fields(RGBDParams)]


# ---------------------------------------------------------------------------------------------
# Synthetic test pairs (tests, benchmarks, GPU checks)
# ---------------------------------------------------------------------------------------------


def _texture_fn(seed: int, n: int = 40):
    rng = np.random.default_rng(seed)
    comps = []
    for _ in range(3):
        k = rng.uniform(0.03, 0.35, n)
        th = rng.uniform(0, 2 * np.pi, n)
        comps.append((k * np.cos(th), k * np.sin(th), rng.uniform(0, 2 * np.pi, n),
                      rng.uniform(0.5, 1.0, n) / np.sqrt(n)))

    def tex(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = []
        for kx, ky, ph, a in comps:
            s = np.zeros_like(x, dtype=np.float64)
            for i in range(len(kx)):
                s += a[i] * np.sin(kx[i] * x + ky[i] * y + ph[i])
            out.append(np.clip(0.5 + 0.35 * s, 0.0, 1.0))
        return np.stack(out, axis=-1)

    return tex


def face_like_depth(x: np.ndarray, y: np.ndarray, size: int, base_mm: float = 600.0
                    ) -> np.ndarray:
    """A smooth face-like depth surface (mm) on a size×size grid: a 40 mm dome and a nose."""
    c = (size - 1) / 2.0
    r2 = ((x - c) / (0.45 * size)) ** 2 + ((y - c) / (0.55 * size)) ** 2
    nose = np.exp(-(((x - c) / (0.08 * size)) ** 2 + ((y - c - 0.04 * size) / (0.15 * size)) ** 2))
    return base_mm - 40.0 * np.exp(-1.5 * r2) - 15.0 * nose


def moved_rgbd_pair(flow_fn, size: int = 128, seed: int = 0, base_mm: float = 600.0):
    """A textured RGB-D pair with a known scene flow.

    Args:
        flow_fn: ``(x, y) -> (u, v, w)`` on float64 pixel grids of frame 0: image motion in
            pixels and depth change in mm (arrays or scalars).
        size: S (images are S×S).

    Returns:
        ``(I0, Z0, I1, Z1, flow)``: S×S×3 uint8 colour, S×S uint16 depth (mm) of both frames
        (a smooth random colour texture on :func:`face_like_depth`), and the S×S×3 float32
        true flow. Frame 1 is built exactly: ``I1(x + u, y + v) = I0(x, y)`` and ``Z1(x + u,
        y + v) = Z0(x, y) + w`` (inverse motion by fixed-point iteration, texture and depth
        evaluated analytically, then rounded to uint8 / whole mm).
    """
    tex = _texture_fn(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)

    def fl(x, y):
        u, v, w = flow_fn(x, y)
        return (np.broadcast_to(u, x.shape), np.broadcast_to(v, x.shape),
                np.broadcast_to(w, x.shape))

    u, v, w = fl(xx, yy)
    qx, qy = xx.copy(), yy.copy()
    for _ in range(40):
        fu, fv, _ = fl(qx, qy)
        qx, qy = xx - fu, yy - fv
    I0 = tex(xx, yy)
    I1 = tex(qx, qy)
    Z0 = face_like_depth(xx, yy, size, base_mm)
    Z1 = face_like_depth(qx, qy, size, base_mm) + fl(qx, qy)[2]

    def u8(a):
        return np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)

    def z16(a):
        return np.clip(np.rint(a), 0, 65535).astype(np.uint16)

    flow = np.stack([u, v, w], axis=-1).astype(np.float32)
    return u8(I0), z16(Z0), u8(I1), z16(Z1), flow
