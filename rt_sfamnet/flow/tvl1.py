"""TV-L1 optical flow (Zach, Pock, Bischof 2007; dual formulation), NumPy/Numba or CuPy/CUDA.

Model. For a flow ``u = (u1, u2)`` from ``I0`` to ``I1`` (pixels; x right, y down) the energy
is ``sum |grad u1| + |grad u2| + lambda |I1(x + u) - I0(x)|``. It is solved coarse to fine on
an image pyramid; at each level the data term is linearised around the current flow
(``warps`` times), and the linearised problem is solved by the alternating scheme of the
paper with an auxiliary field ``v`` coupled to ``u`` by ``1 / (2 theta) |u - v|^2``:

- thresholding step: with ``I1w``, ``grad I1w`` the warped image and gradient at the
  linearisation point ``u0``, ``rho = I1w + grad I1w . (u - u0) - I0`` and
  ``v = u + clip(-rho / |grad I1w|^2, -lambda theta, lambda theta) grad I1w``;
- primal step: ``u = v + theta div p``;
- dual step (Chambolle's projection): ``p = (p + tau / theta grad u) / (1 + tau / theta |grad u|)``.

Iterations are counted as in OpenCV's ``DualTVL1OpticalFlow``: at every level and for each of
``warps`` warps, up to ``outer_iterations`` rounds of {``median_filtering`` x
``median_filtering`` median filter of the flow, then up to ``inner_iterations`` steps}; a warp
stops early once a step changes the flow by ``sum |du|^2 <= epsilon^2 * (pixels of the level)``.
The optional illumination term ``gamma`` (OpenCV's) adds a third unknown ``u3`` with data term
``rho + gamma u3``. Intensities are on OpenCV's 0-255 scale: uint8 images are used as they are
and float images in [0, 1] are multiplied by 255, so ``lambda`` means the same as in OpenCV.

Implementation details (differences from OpenCV are in interpolation only): pyramid levels
are bilinear resizes by ``scale_step`` (sizes rounded, levels below ``min_size`` pixels
dropped, as OpenCV); warping samples the Catmull-Rom bicubic interpolant of ``I1`` and its
exact derivatives (equal to central differences at whole pixels) with replicated borders;
flows are upsampled bilinearly and rescaled by the exact size ratio of the two levels. On
textured test pairs the end-point error is lower than OpenCV's (docs/benchmarks/flow_tvl1.md).

Backends. ``backend="numpy"`` runs the whole solve of a pair inside one Numba function
(:mod:`rt_sfamnet.flow._numba_tvl1`); ``tvl1_batch`` runs pairs on one thread per CPU core.
``backend="cupy"`` runs one CUDA kernel per pyramid level that does every warp and iteration
of that level for all pairs at once (one thread block per pair;
:mod:`rt_sfamnet.flow._cuda_tvl1`), plus one launch per level for the pyramid and the flow
upsampling. The result is returned on the side where the input was: NumPy arrays in give
NumPy arrays out (also when computed on the GPU), CuPy arrays in give CuPy arrays out.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from rt_sfamnet.config import config_from_mapping
from rt_sfamnet.errors import ConfigError

from .backend import Backend, get_array_module, get_backend, to_numpy
from .checks import check_dtype, check_same_shape, check_shape
from .pyramid import pyramid_sizes


@dataclass
class TVL1Params:
    """Parameters of :func:`tvl1` (the defaults are OpenCV ``DualTVL1OpticalFlow``'s).

    Attributes:
        tau: time step of the dual update (stable for tau <= 0.25).
        lambda_: weight of the data term (OpenCV's ``lambda``; intensities on a 0-255 scale).
        theta: coupling of u and v.
        nscales: number of pyramid levels (fewer when a level would be below ``min_size``).
        scale_step: size ratio between consecutive levels (0 < scale_step < 1).
        warps: linearisations of the data term per level.
        epsilon: stopping threshold on the root-mean-square flow change of one step (pixels).
        inner_iterations: steps per round.
        outer_iterations: rounds (each preceded by the median filter) per warp.
        median_filtering: window of the median filter applied to the flow (1: none, 3 or 5, as
            OpenCV's ``medianBlur`` on float images).
        gamma: weight of the illumination-change unknown (0: none).
        min_size: smallest height or width of a pyramid level (pixels).
    """

    tau: float = 0.25
    lambda_: float = 0.15
    theta: float = 0.3
    nscales: int = 5
    scale_step: float = 0.8
    warps: int = 5
    epsilon: float = 0.01
    inner_iterations: int = 30
    outer_iterations: int = 10
    median_filtering: int = 5
    gamma: float = 0.0
    min_size: int = 16

    def __post_init__(self) -> None:
        def bad(name: str, expected: str) -> ConfigError:
            return ConfigError(f"tvl1.{name}: expected {expected}, found {getattr(self, name)!r}")

        for name in ("tau", "lambda_", "theta"):
            if not float(getattr(self, name)) > 0:
                raise bad(name, "a positive number")
        if not 0.0 < float(self.scale_step) < 1.0:
            raise bad("scale_step", "0 < scale_step < 1")
        if not float(self.epsilon) >= 0:
            raise bad("epsilon", "a number >= 0")
        if not float(self.gamma) >= 0:
            raise bad("gamma", "a number >= 0")
        for name in ("nscales", "warps", "inner_iterations", "outer_iterations", "min_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise bad(name, "an integer >= 1")
        m = self.median_filtering
        if isinstance(m, bool) or not isinstance(m, int) or m not in (1, 3, 5):
            raise bad("median_filtering", "1 (off), 3 or 5")

    def replace(self, **changes: Any) -> TVL1Params:
        """A copy with some fields changed (unknown names raise ConfigError)."""
        return config_from_mapping(TVL1Params, {**dataclasses.asdict(self), **changes}, "tvl1")

    def level_sizes(self, height: int, width: int) -> list[tuple[int, int]]:
        """Pyramid level sizes ``(H, W)``, finest first: at most ``nscales`` levels, coarser
        levels at least ``min_size`` px (:func:`~rt_sfamnet.flow.pyramid.pyramid_sizes`)."""
        return pyramid_sizes(height, width, self.scale_step, self.min_size, self.nscales)


#: Named parameter sets. ``"opencv"``: OpenCV's defaults. ``"live"``: tuned for the small
#: motions (below ~3 px) of 128 x 128 face crops at video rate: 3 levels, 3 warps, at most
#: 2 x 10 steps per warp, 3 x 3 median; see docs/benchmarks/flow_tvl1.md for its accuracy
#: and speed against ``"opencv"``.
PRESETS: dict[str, TVL1Params] = {
    "opencv": TVL1Params(),
    "live": TVL1Params(nscales=3, warps=3, inner_iterations=10, outer_iterations=2,
                       median_filtering=3),
}


def resolve_params(preset: str | TVL1Params | None = "opencv", **overrides: Any) -> TVL1Params:
    """The parameters of ``preset`` (a name in :data:`PRESETS` or a TVL1Params) with overrides.

    ``lambda`` is accepted as a synonym of ``lambda_``.
    """
    if preset is None:
        preset = "opencv"
    if isinstance(preset, TVL1Params):
        base = preset
    elif isinstance(preset, str) and preset in PRESETS:
        base = PRESETS[preset]
    else:
        raise ConfigError(f"tvl1 preset: expected one of {sorted(PRESETS)}, found {preset!r}")
    if "lambda" in overrides:
        overrides["lambda_"] = overrides.pop("lambda")
    return base.replace(**overrides) if overrides else base


# ----------------------------------------------------------------------------------------
# Input checks
# ----------------------------------------------------------------------------------------


def _check_pair(I0: Any, I1: Any, batched: bool) -> float:
    """Check shapes and dtypes (NumPy or CuPy arrays); returns the factor to the 0-255 scale."""
    where = "tvl1_batch" if batched else "tvl1"
    spec, what = ("N H W", "grey images") if batched else ("H W", "a grey image")
    for name, img in (("I0", I0), ("I1", I1)):
        check_shape(img, spec, name, where, what=what)
    check_same_shape(I0, I1, ("I0", "I1"), where)
    if I0.shape[-1] < 2 or I0.shape[-2] < 2:
        raise ValueError(f"{where}: images must be at least 2 x 2 pixels, found {I0.shape}")
    if batched and I0.shape[0] < 1:
        raise ValueError(f"{where}: expected at least one pair, found N = 0")
    u8 = []
    for name, img in (("I0", I0), ("I1", I1)):
        dtype = check_dtype(img, ("uint8", "f"), name, where, "uint8 or float in [0, 1]")
        u8.append(dtype == np.uint8)
    if u8[0] != u8[1]:
        raise ValueError(f"{where}: I0 and I1 must have the same dtype (both uint8 or both "
                         f"float), found {I0.dtype} and {I1.dtype}")
    return 1.0 if u8[0] else 255.0


def _prepare(xp: Any, img: Any, scale: float) -> Any:
    """float32 C-contiguous copy on 0-255, NaN/inf replaced by 0.

    Float images are scaled in float64 so that ``I / 255`` gives back exactly ``I``.
    """
    if scale != 1.0:
        a = (xp.asarray(img, dtype=xp.float64) * scale).astype(xp.float32)
        if not bool(xp.isfinite(a).all()):
            a = xp.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
    else:
        a = xp.asarray(img, dtype=xp.float32)
    return xp.ascontiguousarray(a)


# ----------------------------------------------------------------------------------------
# Solvers
# ----------------------------------------------------------------------------------------


def _numba_args(p: TVL1Params, sizes: list[tuple[int, int]]) -> tuple:
    hs = np.asarray([s[0] for s in sizes], dtype=np.int64)
    ws = np.asarray([s[1] for s in sizes], dtype=np.int64)
    return (hs, ws, float(p.tau), float(p.lambda_), float(p.theta), float(p.gamma),
            int(p.warps), int(p.outer_iterations), int(p.inner_iterations),
            float(p.epsilon), int(p.median_filtering))


def _solve_numpy(I0: np.ndarray, I1: np.ndarray, p: TVL1Params) -> tuple[np.ndarray, np.ndarray]:
    """N x H x W float32 (0-255) -> (N x H x W x 2 flows, N inner-iteration counts).

    Pairs run on a pool of ``os.cpu_count()`` threads (the Numba solver releases the GIL).
    """
    from . import _numba_tvl1 as nb  # noqa: PLC0415 (compiles/loads the kernels on first use)

    n, h, w = I0.shape
    args = _numba_args(p, p.level_sizes(h, w))
    out = np.empty((n, h, w, 2), np.float32)
    iters = np.zeros(n, np.int64)

    def one(i: int) -> None:
        iters[i] = nb.solve_pair(I0[i], I1[i], out[i], *args)

    if n == 1 or _cpu_workers() == 1:
        for i in range(n):
            one(i)
    else:
        list(_pool().map(one, range(n)))
    return out, iters


def _cpu_workers() -> int:
    return max(1, os.cpu_count() or 1)


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=_cpu_workers(), thread_name_prefix="tvl1")
        return _POOL


def _solve_cupy(I0: Any, I1: Any, p: TVL1Params, backend: Backend) -> tuple[Any, Any]:
    from . import _cuda_tvl1  # noqa: PLC0415

    n, h, w = I0.shape
    return _cuda_tvl1.solve(I0, I1, p, p.level_sizes(h, w), backend)


def _run(I0: Any, I1: Any, backend: Any, preset: Any, params: TVL1Params | None,
         overrides: dict, batched: bool, return_iterations: bool = False):
    p = resolve_params(params if params is not None else preset, **overrides)
    scale = _check_pair(I0, I1, batched)
    be = get_backend(backend)
    input_on_gpu = get_array_module(I0) is not np or get_array_module(I1) is not np
    if input_on_gpu and not be.is_gpu:
        I0, I1 = to_numpy(I0), to_numpy(I1)
    with be.device_context():
        a0 = _prepare(be.xp, I0, scale)
        a1 = _prepare(be.xp, I1, scale)
        if not batched:
            a0 = a0[None]
            a1 = a1[None]
        if be.is_gpu:
            flow, iters = _solve_cupy(a0, a1, p, be)
        else:
            flow, iters = _solve_numpy(a0, a1, p)
        if not batched:
            flow = flow[0]
        if be.is_gpu and not input_on_gpu:
            flow = flow.get()
            iters = iters.get()
        elif not be.is_gpu and input_on_gpu:
            import cupy  # noqa: PLC0415

            flow = cupy.asarray(flow)
    if return_iterations:
        return flow, iters
    return flow


def tvl1(I0: Any, I1: Any, backend: str | Backend | None = None, preset: str = "opencv",
         params: TVL1Params | None = None, **overrides: Any) -> Any:
    """Dense TV-L1 optical flow from ``I0`` to ``I1``.

    Args:
        I0, I1: H x W grey images (H, W >= 2), both uint8 (0-255) or both float in [0, 1]
            (NumPy or CuPy arrays). NaN/inf pixels are treated as 0.
        backend: ``"numpy"``, ``"cupy"``, a :class:`~rt_sfamnet.flow.backend.Backend`, or
            ``None`` (CuPy when a GPU is usable, else NumPy).
        preset: ``"opencv"`` (OpenCV's defaults) or ``"live"`` (fast, for small motions).
        params: a full :class:`TVL1Params` (replaces ``preset``).
        **overrides: single fields of :class:`TVL1Params` (e.g. ``warps=3``; ``lambda_`` or
            ``lambda``).

    Returns:
        H x W x 2 float32 flow ``(u, v)`` in pixels: I0(x, y) matches I1(x + u, y + v).
        NumPy when the inputs were NumPy arrays, CuPy when they were CuPy arrays.

    Raises:
        ValueError: wrong shapes or dtypes. ConfigError: unknown preset/parameter or backend.
    """
    return _run(I0, I1, backend, preset, params, overrides, batched=False)


def tvl1_batch(I0s: Any, I1s: Any, backend: str | Backend | None = None, preset: str = "opencv",
               params: TVL1Params | None = None, **overrides: Any) -> Any:
    """TV-L1 flows of N pairs at once (see :func:`tvl1`).

    Args:
        I0s, I1s: N x H x W grey images (uint8, or float in [0, 1]).

    Returns:
        N x H x W x 2 float32 flows in pixels. On the CPU the pairs run in parallel, one
        thread per core (the Numba solver releases the GIL); on the GPU all pairs run in the
        same kernel launches.
    """
    return _run(I0s, I1s, backend, preset, params, overrides, batched=True)


def tvl1_with_iterations(I0s: Any, I1s: Any, backend: Any = None, preset: str = "opencv",
                         params: TVL1Params | None = None, **overrides: Any):
    """:func:`tvl1_batch` that also returns the N inner-iteration counts (diagnostics)."""
    return _run(I0s, I1s, backend, preset, params, overrides, batched=True,
                return_iterations=True)


# ----------------------------------------------------------------------------------------
# Test images and timing
# ----------------------------------------------------------------------------------------


def textured_image(size: int | tuple[int, int], seed: int = 0, sigma: float = 2.0,
                   margin: int = 0) -> np.ndarray:
    """A smooth random texture (Gaussian-filtered white noise), float64 in [0, 1].

    Args:
        size: S or (H, W) of the returned image (plus ``2 * margin`` on each axis).
        sigma: the Gaussian's standard deviation in pixels (feature size).
    """
    from scipy.ndimage import gaussian_filter  # noqa: PLC0415

    h, w = (size, size) if isinstance(size, int) else size
    rng = np.random.default_rng(seed)
    tex = gaussian_filter(rng.standard_normal((h + 2 * margin, w + 2 * margin)), sigma,
                          mode="wrap")
    tex -= tex.min()
    return tex / max(float(tex.max()), 1e-12)


def moved_pair(flow_fn, size: int = 128, seed: int = 0, sigma: float = 2.0
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A textured pair with a known flow.

    Args:
        flow_fn: ``(x, y) -> (u, v)`` on pixel grids (float64 arrays), the true flow from I0 to
            I1 in pixels.
        size: S (images are S x S).

    Returns:
        ``(I0, I1, flow)``: float32 images in [0, 1] and the S x S x 2 float32 true flow, with
        ``I1(x + u(x), y + v(x)) = I0(x)`` (I1 is built by sampling the texture at the inverse
        motion, found by fixed-point iteration, with cubic splines).
    """
    from scipy.ndimage import map_coordinates  # noqa: PLC0415

    m = 16
    tex = textured_image(size, seed=seed, sigma=sigma, margin=m)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    u, v = flow_fn(xx, yy)
    u = np.broadcast_to(u, xx.shape)
    v = np.broadcast_to(v, xx.shape)
    I0 = map_coordinates(tex, [yy + m, xx + m], order=3, mode="mirror")
    # I1(q) = I0(q - u(p)) where q = p + u(p): solve p = q - u(p) by fixed-point iteration.
    px, py = xx.copy(), yy.copy()
    for _ in range(30):
        uu, vv = flow_fn(px, py)
        px, py = xx - uu, yy - vv
    I1 = map_coordinates(tex, [py + m, px + m], order=3, mode="mirror")
    lo = min(I0.min(), I1.min())
    hi = max(I0.max(), I1.max())
    I0 = (I0 - lo) / (hi - lo)
    I1 = (I1 - lo) / (hi - lo)
    flow = np.stack([u, v], axis=-1).astype(np.float32)
    return I0.astype(np.float32), I1.astype(np.float32), flow


def time_tvl1(backend: Any = None, n: int = 20, size: int = 128, batch: int = 1,
              preset: str = "live", warmup: int = 2, **overrides: Any) -> dict:
    """Time :func:`tvl1` (``batch == 1``) or :func:`tvl1_batch` on textured uint8 pairs.

    The pairs (a sub-pixel translation) are made once and put on the backend before timing;
    GPU work is synchronised inside each timed call. Returns a JSON-ready dict: backend,
    device, preset, size, batch, n, ``ms_median``/``ms_p95``/``ms_min`` per call,
    ``pairs_per_s`` (from the median), ``iterations`` (mean inner iterations per pair).
    """
    be = get_backend(backend)
    I0, I1, _ = moved_pair(lambda x, y: (0.6 + 0 * x, -0.4 + 0 * y), size=size, seed=3)
    a0 = np.ascontiguousarray(np.repeat((I0 * 255).round().astype(np.uint8)[None], batch, 0))
    a1 = np.ascontiguousarray(np.repeat((I1 * 255).round().astype(np.uint8)[None], batch, 0))
    with be.device_context():
        d0, d1 = be.asarray(a0), be.asarray(a1)
        times = []
        iters = None
        for i in range(warmup + n):
            be.synchronize()
            t = time.perf_counter()
            if batch == 1:
                tvl1(d0[0], d1[0], backend=be, preset=preset, **overrides)
            else:
                tvl1_batch(d0, d1, backend=be, preset=preset, **overrides)
            be.synchronize()
            if i >= warmup:
                times.append(time.perf_counter() - t)
        _, iters = tvl1_with_iterations(d0[:1], d1[:1], backend=be, preset=preset, **overrides)
    ms = np.asarray(times) * 1e3
    device = "cpu"
    if be.is_gpu:
        props = be.xp.cuda.runtime.getDeviceProperties(be.device)
        device = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    return {
        "backend": be.name,
        "device": device,
        "preset": preset,
        "size": size,
        "batch": batch,
        "n": n,
        "ms_median": float(np.median(ms)),
        "ms_p95": float(np.percentile(ms, 95)),
        "ms_min": float(ms.min()),
        "pairs_per_s": float(batch / (np.median(ms) / 1e3)),
        "iterations": float(np.mean(np.asarray(iters.get() if hasattr(iters, "get") else iters))),
    }
