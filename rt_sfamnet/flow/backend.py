"""Array-module selection for the flow solvers, and small image helpers shared by them.

A :class:`Backend` names an array module: ``"numpy"`` (CPU; the solvers' hot loops run as
Numba kernels) or ``"cupy"`` (one CUDA GPU; hot loops run as CUDA kernels). CuPy is imported
lazily, the first time the ``"cupy"`` backend is asked for, so this module imports with NumPy
alone.

Selection (:func:`get_backend`):

- ``None`` / ``"auto"``: CuPy when a CUDA GPU is usable (:func:`cuda_available`), else NumPy.
  The environment variable ``RT_SFAMNET_BACKEND`` (``numpy`` / ``cupy`` / ``auto``) overrides
  the automatic choice.
- ``"numpy"`` / ``"cpu"``: NumPy.
- ``"cupy"`` / ``"cuda"`` / ``"cuda:<n>"``: CuPy on device ``n`` (0 by default); a
  :class:`~rt_sfamnet.errors.ConfigError` when CuPy or a GPU is missing.

The helpers below (:func:`resize_bilinear`, :func:`warp_bilinear`, :func:`centered_gradient`,
:func:`median_filter`) take and return arrays of either module and work on the last two axes,
so they apply to one image (H x W) or a stack (... x H x W). They are plain vectorised array
code (reference implementations and glue); the solvers' inner loops use their own fused
kernels. Pyramid level sizes are :func:`rt_sfamnet.flow.pyramid.pyramid_sizes`.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from rt_sfamnet.errors import ConfigError

ENV_VAR = "RT_SFAMNET_BACKEND"


@functools.lru_cache(maxsize=1)
def cuda_available() -> bool:
    """True when CuPy imports and at least one CUDA device can run a kernel (cached)."""
    try:
        import cupy  # noqa: PLC0415 (lazy on purpose)

        if cupy.cuda.runtime.getDeviceCount() < 1:
            return False
        # A tiny computation proves that the driver, runtime and NVRTC all work.
        return int((cupy.arange(4, dtype=cupy.float32) * 2).sum().get()) == 12
    except Exception:
        return False


@dataclass(frozen=True)
class Backend:
    """An array module and a device.

    Attributes:
        name: ``"numpy"`` or ``"cupy"``.
        xp: the module (``numpy`` or ``cupy``).
        device: the CUDA device index for ``"cupy"``, ``None`` for ``"numpy"``.
    """

    name: str
    xp: ModuleType
    device: int | None = None

    @property
    def is_gpu(self) -> bool:
        return self.name == "cupy"

    def asarray(self, a: Any, dtype: Any = None) -> Any:
        """``a`` as an array of this backend (copied to/from the GPU when needed)."""
        if self.is_gpu:
            with self.xp.cuda.Device(self.device):
                return self.xp.asarray(a, dtype=dtype)
        if not isinstance(a, np.ndarray) and hasattr(a, "get"):
            a = a.get()
        return np.asarray(a, dtype=dtype)

    def to_numpy(self, a: Any) -> np.ndarray:
        """``a`` as a NumPy array (a device-to-host copy for CuPy arrays)."""
        return to_numpy(a)

    def synchronize(self) -> None:
        """Wait for queued GPU work (no-op for NumPy); use before timing."""
        if self.is_gpu:
            with self.xp.cuda.Device(self.device):
                self.xp.cuda.get_current_stream().synchronize()

    def device_context(self):
        """A context manager selecting this backend's device (a no-op for NumPy)."""
        if self.is_gpu:
            return self.xp.cuda.Device(self.device)
        return _NullContext()


class _NullContext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


NUMPY = Backend("numpy", np, None)


def _parse(name: str) -> tuple[str, int | None]:
    key = name.strip().lower()
    if key in ("auto", ""):
        return "auto", None
    if key in ("numpy", "cpu", "np"):
        return "numpy", None
    if key in ("cupy", "cuda", "gpu", "cp"):
        return "cupy", 0
    if key.startswith("cuda:") or key.startswith("cupy:"):
        try:
            return "cupy", int(key.split(":", 1)[1])
        except ValueError:
            pass
    raise ConfigError(
        f"flow backend: expected 'auto', 'numpy', 'cupy' or 'cuda:<n>', found {name!r}"
    )


def get_backend(name: str | Backend | None = None) -> Backend:
    """The backend called ``name`` (see the module docstring); ``None`` picks automatically."""
    if isinstance(name, Backend):
        return name
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"flow backend: expected a name or a Backend, found {name!r}")
    requested = name if name is not None else (os.environ.get(ENV_VAR) or "auto")
    kind, device = _parse(requested)
    if kind == "auto":
        kind, device = ("cupy", 0) if cuda_available() else ("numpy", None)
    if kind == "numpy":
        return NUMPY
    if not cuda_available():
        raise ConfigError(
            f"flow backend {requested!r}: needs CuPy and a CUDA GPU, "
            "found none usable (install the 'gpu' extra: cupy-cuda12x)"
        )
    import cupy  # noqa: PLC0415

    if device is None:
        device = 0
    count = cupy.cuda.runtime.getDeviceCount()
    if not 0 <= device < count:
        raise ConfigError(f"flow backend: CUDA device {device} requested, found {count} device(s)")
    return Backend("cupy", cupy, device)


def get_array_module(a: Any) -> ModuleType:
    """``cupy`` for CuPy arrays, else ``numpy`` (never imports CuPy itself)."""
    mod = type(a).__module__
    if mod.startswith("cupy"):
        import cupy  # noqa: PLC0415

        return cupy
    return np


def backend_of(a: Any) -> Backend:
    """The backend holding array ``a``."""
    xp = get_array_module(a)
    if xp is np:
        return NUMPY
    return Backend("cupy", xp, int(a.device.id))


def to_numpy(a: Any) -> np.ndarray:
    """``a`` as a NumPy array (copies CuPy arrays to the host)."""
    if isinstance(a, np.ndarray):
        return a
    if hasattr(a, "get"):
        return a.get()
    return np.asarray(a)


# ----------------------------------------------------------------------------------------
# Shared helpers (vectorised; NumPy or CuPy arrays; operate on the last two axes)
# ----------------------------------------------------------------------------------------


def _linear_taps(xp: ModuleType, n_in: int, n_out: int):
    """Source indices and weights of bilinear resampling with pixel-centre alignment."""
    pos = (xp.arange(n_out, dtype=xp.float32) + 0.5) * (n_in / n_out) - 0.5
    pos = xp.clip(pos, 0.0, n_in - 1)
    i0 = xp.floor(pos).astype(xp.int64)
    i0 = xp.minimum(i0, n_in - 1)
    i1 = xp.minimum(i0 + 1, n_in - 1)
    t = (pos - i0).astype(xp.float32)
    return i0, i1, t


def resize_bilinear(img: Any, height: int, width: int) -> Any:
    """Bilinear resize of the last two axes to ``height x width`` (float32 out).

    Pixel centres are aligned (``src = (dst + 0.5) * in / out - 0.5``, clamped to the
    image), as OpenCV's ``INTER_LINEAR``; no anti-alias filter.
    """
    xp = get_array_module(img)
    a = xp.asarray(img, dtype=xp.float32)
    if a.ndim < 2:
        raise ValueError(f"resize_bilinear: expected ... x H x W, found shape {a.shape}")
    y0, y1, ty = _linear_taps(xp, a.shape[-2], height)
    x0, x1, tx = _linear_taps(xp, a.shape[-1], width)
    top = a[..., y0, :]
    bot = a[..., y1, :]
    rows = top + (bot - top) * ty[:, None]
    left = rows[..., x0]
    right = rows[..., x1]
    return (left + (right - left) * tx).astype(xp.float32, copy=False)


def warp_bilinear(img: Any, u: Any, v: Any) -> Any:
    """``img`` sampled at ``(x + u, y + v)`` with bilinear interpolation, border replicated.

    Args:
        img: ... x H x W array.
        u, v: displacements in pixels, broadcastable to ``img``'s shape (x right, y down).

    Returns:
        float32 array of ``img``'s shape.
    """
    xp = get_array_module(img)
    a = xp.asarray(img, dtype=xp.float32)
    h, w = a.shape[-2:]
    yy, xx = xp.meshgrid(
        xp.arange(h, dtype=xp.float32), xp.arange(w, dtype=xp.float32), indexing="ij"
    )
    X = xp.clip(xx + u, 0.0, w - 1.0)
    Y = xp.clip(yy + v, 0.0, h - 1.0)
    X, Y = xp.broadcast_arrays(X, Y)
    X = xp.broadcast_to(X, a.shape)
    Y = xp.broadcast_to(Y, a.shape)
    x0 = xp.minimum(xp.floor(X).astype(xp.int64), w - 1)
    y0 = xp.minimum(xp.floor(Y).astype(xp.int64), h - 1)
    x1 = xp.minimum(x0 + 1, w - 1)
    y1 = xp.minimum(y0 + 1, h - 1)
    tx = (X - x0).astype(xp.float32)
    ty = (Y - y0).astype(xp.float32)
    flat = a.reshape(-1, h * w)
    lead = a.shape[:-2]

    def gather(yi, xi):
        idx = (yi * w + xi).reshape(-1, h * w)
        return xp.take_along_axis(flat, idx, axis=1).reshape(*lead, h, w)

    top = gather(y0, x0) * (1 - tx) + gather(y0, x1) * tx
    bot = gather(y1, x0) * (1 - tx) + gather(y1, x1) * tx
    return (top * (1 - ty) + bot * ty).astype(xp.float32, copy=False)


def centered_gradient(img: Any) -> tuple[Any, Any]:
    """Central differences ``(d/dx, d/dy)`` of the last two axes (float32).

    Interior: ``(I[x+1] - I[x-1]) / 2``; borders: ``(I[1] - I[0]) / 2`` and
    ``(I[-1] - I[-2]) / 2`` (the convention of OpenCV's TV-L1). Needs H, W >= 2.
    """
    xp = get_array_module(img)
    a = xp.asarray(img, dtype=xp.float32)
    if a.ndim < 2 or a.shape[-1] < 2 or a.shape[-2] < 2:
        raise ValueError(f"centered_gradient: expected ... x H x W with H, W >= 2, found {a.shape}")
    gx = xp.empty_like(a)
    gy = xp.empty_like(a)
    gx[..., 1:-1] = 0.5 * (a[..., 2:] - a[..., :-2])
    gx[..., 0] = 0.5 * (a[..., 1] - a[..., 0])
    gx[..., -1] = 0.5 * (a[..., -1] - a[..., -2])
    gy[..., 1:-1, :] = 0.5 * (a[..., 2:, :] - a[..., :-2, :])
    gy[..., 0, :] = 0.5 * (a[..., 1, :] - a[..., 0, :])
    gy[..., -1, :] = 0.5 * (a[..., -1, :] - a[..., -2, :])
    return gx, gy


def median_filter(img: Any, ksize: int) -> Any:
    """``ksize x ksize`` median of the last two axes, border replicated (float32 out).

    ``ksize`` must be odd; 1 returns a float32 copy.
    """
    xp = get_array_module(img)
    a = xp.asarray(img, dtype=xp.float32)
    if ksize < 1 or ksize % 2 == 0:
        raise ValueError(f"median_filter: expected an odd ksize >= 1, found {ksize}")
    if ksize == 1:
        return a.copy()
    r = ksize // 2
    h, w = a.shape[-2:]
    pad = [(0, 0)] * (a.ndim - 2) + [(r, r), (r, r)]
    p = xp.pad(a, pad, mode="edge")
    stack = xp.stack(
        [p[..., dy : dy + h, dx : dx + w] for dy in range(ksize) for dx in range(ksize)], axis=0
    )
    return xp.median(stack, axis=0).astype(xp.float32, copy=False)


# ----------------------------------------------------------------------------------------
# Sorting networks (used by the Numba and CUDA median kernels)
# ----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def median_network(count: int) -> tuple[tuple[int, int], ...]:
    """Compare-exchange pairs ``(i, j)``, ``i < j``, that leave the median of ``count`` values
    at index ``count // 2`` (``count`` odd).

    Batcher's odd-even merge sort for the next power of two, restricted to the first ``count``
    wires (exact: the missing wires act as +inf), then pruned to the comparators that the
    middle output depends on. Each exchange puts the minimum on ``i`` and the maximum on ``j``.
    """
    if count < 1 or count % 2 == 0:
        raise ValueError(f"median_network: expected an odd count, found {count}")
    n = 1
    while n < count:
        n *= 2
    pairs: list[tuple[int, int]] = []
    p = 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    pairs = [(a, b) for a, b in pairs if b < count]
    needed = {count // 2}
    kept = []
    for a, b in reversed(pairs):
        if a in needed or b in needed:
            kept.append((a, b))
            needed.update((a, b))
    return tuple(reversed(kept))
