"""GPU kernels of TV-L1 optical flow (CuPy ``RawModule``, plain CUDA C, float32).

Launch plan for N pairs of H x W images and L pyramid levels (all pairs in every launch):

- ``tvl1_resize``: one launch per coarser level builds the image pyramid of I0 and I1
  together (2N images), and one launch per level upsamples the flow (u1, u2, u3 together,
  rescaled by the level size ratio).
- ``tvl1_scale``: one launch per level does all of that level's work: every warp, median
  filter, inner iteration and the early-stopping test. Block ``b`` owns pair ``b`` and loops
  over its pixels; phases that read neighbours written by other threads are separated by
  ``__syncthreads()``. The stopping error is reduced over the block (warp shuffles, then one
  partial per warp in shared memory that every thread sums in the same order, so every thread
  takes the same branch).

So a 5-level OpenCV-default solve is 4 + 5 + 4 launches plus a few CuPy element-wise ops,
whatever the number of iterations, and N pairs fill N blocks (one per streaming multiprocessor
or more). The per-pixel maths is that of :mod:`rt_sfamnet.flow._numba_tvl1`, step for step.

The source is plain C (no templates, no CUDA-only headers) so that it also builds as C++ for
a CPU emulation of the block (tests/flow/test_gpu_tvl1.py runs it with one POSIX thread per
CUDA thread and a barrier for ``__syncthreads``), and compiles with ``nvcc`` where available.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .backend import Backend, median_network

#: Threads per block of ``tvl1_scale`` (also its ``__launch_bounds__``).
MAX_THREADS = 1024
#: Workspace arrays per pair (N x H x W floats each) used by ``tvl1_scale``.
N_WORK = 12
#: Pairs per launch schedule; larger batches run in chunks (bounds the workspace to
#: 12 x 1024 x H x W floats, 0.8 GB at 128 x 128).
MAX_PAIRS = 1024

_KERNELS = r"""
#define TVL1_BIG_ERROR 1e30f
#define TVL1_GRAD_IS_ZERO 1e-10f

__device__ __forceinline__ int tvl1_clampi(int v, int lo, int hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* Catmull-Rom (Keys a = -0.5) weights of taps -1..2 at offset t, and their derivatives. */
__device__ __forceinline__ void tvl1_cubic(float t, float* wv, float* dv)
{
    wv[0] = ((-0.5f * t + 1.0f) * t - 0.5f) * t;
    wv[1] = (1.5f * t - 2.5f) * t * t + 1.0f;
    wv[2] = ((-1.5f * t + 2.0f) * t + 0.5f) * t;
    wv[3] = (0.5f * t - 0.5f) * t * t;
    dv[0] = (-1.5f * t + 2.0f) * t - 0.5f;
    dv[1] = (4.5f * t - 5.0f) * t;
    dv[2] = (-4.5f * t + 4.0f) * t + 0.5f;
    dv[3] = (1.5f * t - 1.0f) * t;
}

extern "C" {

/* Bilinear resize (pixel centres aligned, border clamped) of nimg images h x w -> H x W.
   Image i is multiplied by m0, m1 or m2 for i / per == 0, 1, 2 (flow rescaling). */
__global__ void tvl1_resize(const float* src, float* dst, int nimg, int h, int w, int H, int W,
                            int per, float m0, float m1, float m2)
{
    const long long total = (long long)nimg * H * W;
    const float sy = (float)((double)h / (double)H);
    const float sx = (float)((double)w / (double)W);
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        const int x = (int)(i % W);
        const long long t = i / W;
        const int y = (int)(t % H);
        const int img = (int)(t / H);
        float fy = ((float)y + 0.5f) * sy - 0.5f;
        float fx = ((float)x + 0.5f) * sx - 0.5f;
        fy = fy < 0.0f ? 0.0f : fy;
        fy = fy > (float)(h - 1) ? (float)(h - 1) : fy;
        fx = fx < 0.0f ? 0.0f : fx;
        fx = fx > (float)(w - 1) ? (float)(w - 1) : fx;
        const int j = tvl1_clampi((int)fy, 0, h - 1);
        const int k = tvl1_clampi((int)fx, 0, w - 1);
        const int j1 = j + 1 < h ? j + 1 : h - 1;
        const int k1 = k + 1 < w ? k + 1 : w - 1;
        const float ty = fy - (float)j;
        const float tx = fx - (float)k;
        const float* s = src + (long long)img * h * w;
        const float a = s[j * w + k], b = s[j * w + k1], c = s[j1 * w + k], d = s[j1 * w + k1];
        const float top = a + (b - a) * tx;
        const float bot = c + (d - c) * tx;
        const int comp = img / per;
        const float m = comp == 0 ? m0 : (comp == 1 ? m1 : m2);
        dst[i] = m * (top + (bot - top) * ty);
    }
}

/* One pyramid level of TV-L1 for n pairs; block b solves pair b.
   I0, I1: n x h x w (0-255). U: 3 x n x h x w flow (u1, u2, u3), in and out.
   work: N_WORK x n x h x w scratch. iters: n counters (inner iterations are added).
   lt = lambda * theta and taut = tau / theta (rounded to float once, on the host).
   Needs blockDim.x a multiple of 32, at most 1024. */
__global__ void __launch_bounds__(1024)
tvl1_scale(const float* I0all, const float* I1all, float* U, float* work, int* iters,
           int n, int h, int w, float lt, float taut, float theta, float gamma,
           int warps, int outer, int inner, float epsilon, int median)
{
    __shared__ float part[32];
    const int b = blockIdx.x;
    if (b >= n) return;
    const int hw = h * w;
    const long long plane = (long long)n * hw;
    const long long off = (long long)b * hw;
    const float* I0 = I0all + off;
    const float* I1 = I1all + off;
    float* u1 = U + off;
    float* u2 = U + plane + off;
    float* u3 = U + 2 * plane + off;
    float* a1 = work + 0 * plane + off;
    float* a2 = work + 1 * plane + off;
    float* ig = work + 2 * plane + off;
    float* rc = work + 3 * plane + off;
    float* p11 = work + 4 * plane + off;
    float* p12 = work + 5 * plane + off;
    float* p21 = work + 6 * plane + off;
    float* p22 = work + 7 * plane + off;
    float* p31 = work + 8 * plane + off;
    float* p32 = work + 9 * plane + off;
    float* t1 = work + 10 * plane + off;
    float* t2 = work + 11 * plane + off;

    const int tid = threadIdx.x;
    const int nthr = blockDim.x;
    const int lane = tid & 31;
    const int wid = tid >> 5;
    const int nwarps = (nthr + 31) >> 5;
    const float g2 = gamma * gamma;
    const int use_gamma = gamma > 0.0f;
    const double scaled_eps = (double)epsilon * (double)epsilon * (double)hw;
    int count = 0;

    for (int i = tid; i < hw; i += nthr) {
        p11[i] = 0.0f; p12[i] = 0.0f; p21[i] = 0.0f; p22[i] = 0.0f; p31[i] = 0.0f; p32[i] = 0.0f;
    }
    __syncthreads();

    for (int wp = 0; wp < warps; ++wp) {
        /* warp I1 by the flow and linearise the data term (own pixels only) */
        for (int i = tid; i < hw; i += nthr) {
            const int y = i / w;
            const int x = i - y * w;
            float X = (float)x + u1[i];
            float Y = (float)y + u2[i];
            X = X > -1.0f ? X : -1.0f;
            X = X < (float)w ? X : (float)w;
            Y = Y > -1.0f ? Y : -1.0f;
            Y = Y < (float)h ? Y : (float)h;
            const int ix = (int)(X + 2.0f) - 2;
            const int iy = (int)(Y + 2.0f) - 2;
            float wx[4], dx[4], wy[4], dy[4];
            tvl1_cubic(X - (float)ix, wx, dx);
            tvl1_cubic(Y - (float)iy, wy, dy);
            const int x0 = tvl1_clampi(ix - 1, 0, w - 1);
            const int x1 = tvl1_clampi(ix, 0, w - 1);
            const int x2 = tvl1_clampi(ix + 1, 0, w - 1);
            const int x3 = tvl1_clampi(ix + 2, 0, w - 1);
            float s = 0.0f, sx = 0.0f, sy = 0.0f;
            for (int k = 0; k < 4; ++k) {
                const float* row = I1 + tvl1_clampi(iy - 1 + k, 0, h - 1) * w;
                const float v0 = row[x0], v1 = row[x1], v2 = row[x2], v3 = row[x3];
                const float r = wx[0] * v0 + wx[1] * v1 + wx[2] * v2 + wx[3] * v3;
                const float q = dx[0] * v0 + dx[1] * v1 + dx[2] * v2 + dx[3] * v3;
                s += wy[k] * r;
                sx += wy[k] * q;
                sy += dy[k] * r;
            }
            a1[i] = sx;
            a2[i] = sy;
            const float g = sx * sx + sy * sy + g2;
            ig[i] = 1.0f / (g > TVL1_GRAD_IS_ZERO ? g : TVL1_GRAD_IS_ZERO);
            rc[i] = s - sx * u1[i] - sy * u2[i] - I0[i];
        }
        /* (the steps below read a1..rc at their own pixels only: no barrier needed) */

        double err = TVL1_BIG_ERROR;
        for (int no = 0; no < outer && err > scaled_eps; ++no) {
            if (median > 1) {
                for (int i = tid; i < hw; i += nthr) {
                    const int y = i / w;
                    const int x = i - y * w;
                    t1[i] = tvl1_median(u1, x, y, h, w, median);
                    t2[i] = tvl1_median(u2, x, y, h, w, median);
                }
                __syncthreads();  /* every window read before u is overwritten */
                for (int i = tid; i < hw; i += nthr) {
                    u1[i] = t1[i];
                    u2[i] = t2[i];
                }
                /* the primal step reads u at its own pixels: no barrier needed here */
            }
            for (int ni = 0; ni < inner && err > scaled_eps; ++ni) {
                /* primal step: thresholding and u = v + theta div p (p read at i, i-1, i-w) */
                float e = 0.0f;
                for (int i = tid; i < hw; i += nthr) {
                    const int y = i / w;
                    const int x = i - y * w;
                    const float d1 = p11[i] - (x > 0 ? p11[i - 1] : 0.0f)
                                   + p12[i] - (y > 0 ? p12[i - w] : 0.0f);
                    const float d2 = p21[i] - (x > 0 ? p21[i - 1] : 0.0f)
                                   + p22[i] - (y > 0 ? p22[i - w] : 0.0f);
                    const float uo1 = u1[i];
                    const float uo2 = u2[i];
                    const float A1 = a1[i];
                    const float A2 = a2[i];
                    float rho = rc[i] + A1 * uo1 + A2 * uo2;
                    float uo3 = 0.0f;
                    if (use_gamma) {
                        uo3 = u3[i];
                        rho += gamma * uo3;
                    }
                    float f = -rho * ig[i];
                    f = f > lt ? lt : f;
                    f = f < -lt ? -lt : f;
                    const float un1 = uo1 + f * A1 + theta * d1;
                    const float un2 = uo2 + f * A2 + theta * d2;
                    const float e1 = un1 - uo1;
                    const float e2 = un2 - uo2;
                    e += e1 * e1 + e2 * e2;
                    u1[i] = un1;
                    u2[i] = un2;
                    if (use_gamma) {
                        const float d3 = p31[i] - (x > 0 ? p31[i - 1] : 0.0f)
                                       + p32[i] - (y > 0 ? p32[i - w] : 0.0f);
                        const float un3 = uo3 + f * gamma + theta * d3;
                        const float e3 = un3 - uo3;
                        e += e3 * e3;
                        u3[i] = un3;
                    }
                }
                /* block sum of e: warp shuffle, one partial per warp */
                for (int o = 16; o > 0; o >>= 1) e += __shfl_down_sync(0xffffffffu, e, o);
                if (lane == 0) part[wid] = e;
                __syncthreads();  /* u and the partials complete */
                double total = 0.0;
                for (int k = 0; k < nwarps; ++k) total += (double)part[k];

                /* dual step: p = (p + taut grad u) / (1 + taut |grad u|) (u read at i, i+1, i+w) */
                for (int i = tid; i < hw; i += nthr) {
                    const int y = i / w;
                    const int x = i - y * w;
                    const int right = x < w - 1;
                    const int down = y < h - 1;
                    float c = u1[i];
                    float ux = right ? u1[i + 1] - c : 0.0f;
                    float uy = down ? u1[i + w] - c : 0.0f;
                    float ng = 1.0f + taut * sqrtf(ux * ux + uy * uy);
                    p11[i] = (p11[i] + taut * ux) / ng;
                    p12[i] = (p12[i] + taut * uy) / ng;
                    c = u2[i];
                    ux = right ? u2[i + 1] - c : 0.0f;
                    uy = down ? u2[i + w] - c : 0.0f;
                    ng = 1.0f + taut * sqrtf(ux * ux + uy * uy);
                    p21[i] = (p21[i] + taut * ux) / ng;
                    p22[i] = (p22[i] + taut * uy) / ng;
                    if (use_gamma) {
                        c = u3[i];
                        ux = right ? u3[i + 1] - c : 0.0f;
                        uy = down ? u3[i + w] - c : 0.0f;
                        ng = 1.0f + taut * sqrtf(ux * ux + uy * uy);
                        p31[i] = (p31[i] + taut * ux) / ng;
                        p32[i] = (p32[i] + taut * uy) / ng;
                    }
                }
                __syncthreads();  /* p complete, partials read, before the next step */
                err = total;
                ++count;
            }
        }
    }
    if (tid == 0) iters[b] += count;
}

}  /* extern "C" */
"""


def _median_function(k: int) -> str:
    """C source of ``tvl1_median{k}``: the k x k median around (x, y), border replicated."""
    net = median_network(k * k)
    r = k // 2
    lines = [
        f"__device__ __forceinline__ float tvl1_median{k}(const float* u, int x, int y, int h, int w)",
        "{",
    ]
    def at(var: str, off: int) -> str:
        return var if off == 0 else f"{var} {'+' if off > 0 else '-'} {abs(off)}"

    for dy in range(k):
        lines.append(f"    const float* r{dy} = u + tvl1_clampi({at('y', dy - r)}, 0, h - 1) * w;")
    for dx in range(k):
        lines.append(f"    const int c{dx} = tvl1_clampi({at('x', dx - r)}, 0, w - 1);")
    for dy in range(k):
        vals = ", ".join(f"v{dy * k + dx} = r{dy}[c{dx}]" for dx in range(k))
        lines.append(f"    float {vals};")
    lines.append("    float lo;")
    for a, b in net:
        lines.append(f"    lo = fminf(v{a}, v{b}); v{b} = fmaxf(v{a}, v{b}); v{a} = lo;")
    lines.append(f"    return v{(k * k) // 2};")
    lines.append("}")
    return "\n".join(lines)


@functools.lru_cache(maxsize=1)
def cuda_source() -> str:
    """The complete CUDA C source (median networks for 3 and 5 generated, then the kernels)."""
    head, rest = _KERNELS.split('extern "C" {', 1)
    dispatch = "\n".join(
        [
            "__device__ __forceinline__ float tvl1_median(const float* u, int x, int y, int h,"
            " int w, int k)",
            "{",
            "    if (k == 3) return tvl1_median3(u, x, y, h, w);",
            "    return tvl1_median5(u, x, y, h, w);",
            "}",
        ]
    )
    meds = "\n\n".join(_median_function(k) for k in (3, 5))
    return head + meds + "\n\n" + dispatch + '\n\nextern "C" {' + rest


@functools.lru_cache(maxsize=8)
def _module(device: int):
    import cupy  # noqa: PLC0415

    with cupy.cuda.Device(device):
        return cupy.RawModule(code=cuda_source())


def _threads_for(hw: int) -> int:
    return int(min(MAX_THREADS, max(32, ((hw + 31) // 32) * 32)))


def solve(I0: Any, I1: Any, p: Any, sizes: list[tuple[int, int]], backend: Backend
          ) -> tuple[Any, Any]:
    """Coarse-to-fine TV-L1 of N pairs on the GPU.

    Args:
        I0, I1: N x H x W float32 CuPy arrays (0-255), C-contiguous, on ``backend``'s device.
        p: :class:`~rt_sfamnet.flow.tvl1.TVL1Params`.
        sizes: pyramid level sizes, finest first (``sizes[0] == (H, W)``).

    Returns:
        ``(flow, iters)``: N x H x W x 2 float32 and N int32 inner-iteration counts (CuPy).
    """
    xp = backend.xp
    mod = _module(backend.device)

    def launch(name: str, grid: tuple, block: tuple, args: tuple) -> None:
        mod.get_function(name)(grid, block, args)

    n = I0.shape[0]
    if n <= MAX_PAIRS:
        return run_schedule(xp, launch, I0, I1, p, sizes)
    parts = [run_schedule(xp, launch, I0[i:i + MAX_PAIRS], I1[i:i + MAX_PAIRS], p, sizes)
             for i in range(0, n, MAX_PAIRS)]
    return xp.concatenate([f for f, _ in parts]), xp.concatenate([it for _, it in parts])


def run_schedule(xp: Any, launch: Any, I0: Any, I1: Any, p: Any,
                 sizes: list[tuple[int, int]]) -> tuple[Any, Any]:
    """The launch schedule of :func:`solve`, for any array module and kernel launcher.

    ``launch(name, grid, block, args)`` runs kernel ``name`` of :func:`cuda_source`; CuPy's
    ``RawModule`` on the GPU, or a CPU emulation in the tests (with NumPy arrays).
    """
    n, H, W = I0.shape
    i32, f32 = np.int32, np.float32

    def resize(src: Any, nimg: int, h: int, w: int, h2: int, w2: int, per: int,
               m: tuple[float, float, float]) -> Any:
        dst = xp.empty((nimg, h2, w2), dtype=xp.float32)
        total = nimg * h2 * w2
        threads = 256
        blocks = int(min((total + threads - 1) // threads, 65535))
        launch("tvl1_resize", (blocks,), (threads,),
               (src, dst, i32(nimg), i32(h), i32(w), i32(h2), i32(w2), i32(per),
                f32(m[0]), f32(m[1]), f32(m[2])))
        return dst

    levels = [xp.ascontiguousarray(xp.concatenate([I0, I1], axis=0))]
    for s in range(1, len(sizes)):
        (h, w), (h2, w2) = sizes[s - 1], sizes[s]
        levels.append(resize(levels[-1], 2 * n, h, w, h2, w2, 2 * n, (1.0, 1.0, 1.0)))

    work = xp.empty(N_WORK * n * H * W, dtype=xp.float32)
    iters = xp.zeros(n, dtype=xp.int32)
    hc, wc = sizes[-1]
    U = xp.zeros((3 * n, hc, wc), dtype=xp.float32)
    for s in range(len(sizes) - 1, -1, -1):
        h, w = sizes[s]
        lev = levels[s]
        launch("tvl1_scale", (n,), (_threads_for(h * w),),
               (lev[:n], lev[n:], U, work, iters, i32(n), i32(h), i32(w),
                f32(p.lambda_ * p.theta), f32(p.tau / p.theta), f32(p.theta), f32(p.gamma),
                i32(p.warps), i32(p.outer_iterations), i32(p.inner_iterations),
                f32(p.epsilon), i32(p.median_filtering)))
        if s > 0:
            h2, w2 = sizes[s - 1]
            U = resize(U, 3 * n, h, w, h2, w2, n, (w2 / w, h2 / h, 1.0))
    U = U.reshape(3, n, H, W)
    flow = xp.stack([U[0], U[1]], axis=-1)
    return flow, iters
