"""RGB-D scene flow on CuPy against the NumPy/Numba path.

Two kinds of tests:

- ``@pytest.mark.gpu``: the real CuPy backend on a CUDA device (skipped without one).
- ``test_cuda_kernels_emulated_*``: the *same CUDA C source* compiled for the CPU with a small
  shim (``__global__`` → plain function, a sequential loop over blocks and threads, and thread
  blocks that synchronise run with one thread so the red-black colours stay ordered), driven by
  the real :func:`rt_sfamnet.flow._cuda_rgbd.rgbd_flow_batch_cuda` with NumPy standing in for
  CuPy's array functions. It checks the kernels' arithmetic and indexing where no GPU is
  available; it needs a C++ compiler and is skipped when CuPy is really installed (then the GPU
  tests run instead).

Tolerances: the two paths do the same float32 arithmetic in a possibly different order (Numba
is compiled with fastmath), amplified a little by the iterations; we accept 0.01 px mean
end-point difference, 0.02 mm mean |Δw| and 0.1 px / 0.2 mm maxima.
"""

from __future__ import annotations

import ctypes
import importlib.util
import re
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest

from rt_sfamnet.flow import _cuda_rgbd
from rt_sfamnet.flow.rgbd import moved_rgbd_pair, rgbd_flow, rgbd_flow_batch, rgbd_params


def _pairs(n: int = 3, size: int = 64):
    fns = [
        lambda x, y: (0.9, -0.6, 2.0),
        lambda x, y: (-(y - 31.5) * 0.02, (x - 31.5) * 0.02, 0.0),
        lambda x, y: (1.2 * np.sin(x / 12.0), 0.8 * np.cos(y / 15.0),
                      3.0 * np.exp(-((x - 32) ** 2 + (y - 30) ** 2) / 120.0)),
    ]
    out = [moved_rgbd_pair(fns[i % len(fns)], size, seed=i) for i in range(n)]
    I0 = np.stack([o[0] for o in out])
    Z0 = np.stack([o[1] for o in out])
    I1 = np.stack([o[2] for o in out])
    Z1 = np.stack([o[3] for o in out])
    Z0[0, 10:14, 20:26] = 0  # a hole, to exercise the depth filling
    Z1[1, :, :3] = 0
    return I0, Z0, I1, Z1


def _compare(a: np.ndarray, b: np.ndarray) -> dict:
    epe = np.sqrt(((a[..., :2] - b[..., :2]) ** 2).sum(-1))
    dw = np.abs(a[..., 2] - b[..., 2])
    return {"epe_mean": float(epe.mean()), "epe_max": float(epe.max()),
            "w_mean": float(dw.mean()), "w_max": float(dw.max())}


def _assert_close(stats: dict) -> None:
    assert stats["epe_mean"] < 0.01, stats
    assert stats["w_mean"] < 0.02, stats
    assert stats["epe_max"] < 0.1, stats
    assert stats["w_max"] < 0.2, stats


# ---------------------------------------------------------------------------------------------
# Real GPU
# ---------------------------------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.parametrize("preset", ["live", "full"])
def test_cupy_matches_numpy(preset):
    import cupy as cp

    I0, Z0, I1, Z1 = _pairs()
    ref = rgbd_flow_batch(I0, Z0, I1, Z1, 150.0, 150.0, 31.5, 31.5, backend="numpy",
                          preset=preset, workers=1)
    gpu = rgbd_flow_batch(cp.asarray(I0), cp.asarray(Z0), cp.asarray(I1), cp.asarray(Z1),
                          150.0, 150.0, 31.5, 31.5, backend="cupy", preset=preset)
    assert isinstance(gpu, cp.ndarray)
    _assert_close(_compare(ref, gpu.get()))


@pytest.mark.gpu
def test_cupy_single_equals_batch_and_returns_numpy_for_numpy_inputs():
    I0, Z0, I1, Z1 = _pairs()
    batch = rgbd_flow_batch(I0, Z0, I1, Z1, 150.0, 150.0, 31.5, 31.5, backend="cupy",
                            preset="live")
    one = rgbd_flow(I0[1], Z0[1], I1[1], Z1[1], 150.0, 150.0, 31.5, 31.5, backend="cupy",
                    preset="live")
    assert isinstance(one, np.ndarray) and one.shape == (64, 64, 3)
    assert np.abs(batch[1] - one).max() < 1e-4


@pytest.mark.gpu
def test_cupy_degenerate_inputs_are_finite():
    img = np.full((32, 32, 3), 128, np.uint8)
    z = np.zeros((32, 32), np.uint16)
    out = rgbd_flow(img, z, img, z, 100.0, 100.0, 15.5, 15.5, backend="cupy")
    assert np.isfinite(out).all()
    assert np.abs(out).max() < 1e-3


# ---------------------------------------------------------------------------------------------
# CPU emulation of the CUDA source
# ---------------------------------------------------------------------------------------------

_SHIM = r"""
#include <cmath>
#include <cstddef>
#include <algorithm>
using std::min; using std::max;
struct emu_dim3 { unsigned int x, y, z; };
static emu_dim3 threadIdx, blockIdx, blockDim, gridDim;
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__
#define __syncthreads() ((void)0)
"""

_KERNEL_RE = re.compile(r'extern "C" __global__ void (\w+)\(([^)]*)\)', re.S)


def _emulator_source(src: str) -> str:
    wrappers = []
    for name, params in _KERNEL_RE.findall(src):
        names = [re.split(r"[\s*]+", p.strip())[-1] for p in params.split(",")]
        wrappers.append(
            f'extern "C" void launch_{name}(unsigned gx, unsigned bx, {params}) {{\n'
            f"  blockDim.x = bx; gridDim.x = gx;\n"
            f"  for (unsigned b = 0; b < gx; ++b) {{ blockIdx.x = b;\n"
            f"    for (unsigned t = 0; t < bx; ++t) {{ threadIdx.x = t; "
            f"{name}({', '.join(names)}); }} }}\n}}\n")
    return _SHIM + src + "\n" + "\n".join(wrappers)


class _EmuKernel:
    def __init__(self, lib, name: str, synchronising: bool):
        self.fn = getattr(lib, f"launch_{name}")
        self.fn.restype = None
        self.synchronising = synchronising

    def __call__(self, grid, block, args):
        conv = []
        keep = []
        for a in args:
            if isinstance(a, np.ndarray):
                assert a.flags.c_contiguous, "kernel arguments must be C-contiguous"
                keep.append(a)
                conv.append(ctypes.c_void_p(a.ctypes.data))
            elif isinstance(a, np.int32):
                conv.append(ctypes.c_int(int(a)))
            elif isinstance(a, np.float32):
                conv.append(ctypes.c_float(float(a)))
            elif isinstance(a, np.float64):
                conv.append(ctypes.c_double(float(a)))
            else:
                raise TypeError(f"unexpected kernel argument type {type(a)}")
        gx = int(grid[0])
        # A block that synchronises runs as one thread: the kernel loops over all its pixels
        # in order, which keeps the red-black colours separated exactly as __syncthreads does.
        bx = 1 if self.synchronising else int(block[0])
        self.fn(ctypes.c_uint(gx), ctypes.c_uint(bx), *conv)


class _EmuModule:
    def __init__(self, lib, src: str):
        self.lib = lib
        self.bodies = {}
        for m in _KERNEL_RE.finditer(src):
            start = m.end()
            nxt = src.find('extern "C"', start)
            self.bodies[m.group(1)] = src[start: nxt if nxt >= 0 else len(src)]

    def get_function(self, name: str):
        return _EmuKernel(self.lib, name, "__syncthreads" in self.bodies[name])


@pytest.fixture(scope="module")
def emulated_cupy(tmp_path_factory):
    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("CuPy is installed: the real GPU tests cover the kernels")
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler to emulate the CUDA kernels")
    src = _cuda_rgbd.source()
    d = tmp_path_factory.mktemp("cuda_emu")
    (d / "k.cpp").write_text(_emulator_source(src))
    lib_path = d / "k.so"
    subprocess.run([cxx, "-O2", "-shared", "-fPIC", "-std=c++14", "-o", str(lib_path),
                    str(d / "k.cpp")], check=True, capture_output=True)
    lib = ctypes.CDLL(str(lib_path))
    module = _EmuModule(lib, src)

    fake = types.ModuleType("cupy")
    fake.__getattr__ = lambda name: getattr(np, name)  # type: ignore[attr-defined]
    fake.RawModule = lambda code, options=(): module  # type: ignore[attr-defined]
    fake.cuda = types.SimpleNamespace(Device=_FakeDevice)
    return fake


class _FakeDevice:
    """``cupy.cuda.Device`` stand-in: has an ``id`` and is a (no-op) context manager."""

    def __init__(self, *args) -> None:
        self.id = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> bool:
        return False


@pytest.fixture
def with_emulated_cupy(emulated_cupy, monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", emulated_cupy)
    monkeypatch.setattr(_cuda_rgbd, "_MODULES", {})
    yield


@pytest.mark.parametrize("preset", ["live", "full"])
def test_cuda_kernels_emulated_match_numba(with_emulated_cupy, preset):
    I0, Z0, I1, Z1 = _pairs()
    p = rgbd_params(preset)
    emu = _cuda_rgbd.rgbd_flow_batch_cuda(I0, Z0, I1, Z1, 150.0, 150.0, 31.5, 31.5, p)
    assert emu.shape == (3, 64, 64, 3) and emu.dtype == np.float32
    ref = rgbd_flow_batch(I0, Z0, I1, Z1, 150.0, 150.0, 31.5, 31.5, backend="numpy",
                          preset=preset, workers=1)
    _assert_close(_compare(ref, np.asarray(emu)))


def test_cuda_kernels_emulated_degenerate(with_emulated_cupy):
    img = np.full((2, 24, 24), 77, np.uint8)
    z = np.zeros((2, 24, 24), np.uint16)
    out = np.asarray(_cuda_rgbd.rgbd_flow_batch_cuda(img, z, img, z, 90.0, 90.0, 11.5, 11.5,
                                                     rgbd_params("full")))
    assert np.isfinite(out).all()
    assert np.abs(out).max() < 1e-3


def test_cupy_backend_dispatch_is_the_batched_kernel_call(with_emulated_cupy, emulated_cupy):
    """rgbd_flow / rgbd_flow_batch on the ``cupy`` backend (emulated) return exactly what the
    batched kernel driver returns: the dispatch adds checks and moves data, never arithmetic."""
    from rt_sfamnet.flow.backend import Backend

    be = Backend("cupy", emulated_cupy, 0)
    I0, Z0, I1, Z1 = _pairs(2, 32)
    p = rgbd_params("live")
    direct = np.asarray(_cuda_rgbd.rgbd_flow_batch_cuda(I0, Z0, I1, Z1, 90.0, [91.0, 92.0],
                                                        15.5, 15.5, p))
    batch = rgbd_flow_batch(I0, Z0, I1, Z1, 90.0, [91.0, 92.0], 15.5, 15.5, backend=be,
                            preset="live")
    assert isinstance(batch, np.ndarray) and batch.shape == (2, 32, 32, 3)
    np.testing.assert_array_equal(batch, direct)
    one = rgbd_flow(I0[1], Z0[1], I1[1], Z1[1], 90.0, 92.0, 15.5, 15.5, backend=be,
                    preset="live")
    direct_one = np.asarray(_cuda_rgbd.rgbd_flow_batch_cuda(I0[1:], Z0[1:], I1[1:], Z1[1:],
                                                            90.0, 92.0, 15.5, 15.5, p))[0]
    np.testing.assert_array_equal(one, direct_one)
    with pytest.raises(ValueError, match="^rgbd_flow: Z1 must be a depth map"):
        rgbd_flow(I0[0], Z0[0], I1[0], Z1[0, :-1], 90.0, 92.0, 15.5, 15.5, backend=be)
