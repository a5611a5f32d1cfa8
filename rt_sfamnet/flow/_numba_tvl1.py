"""CPU kernels of TV-L1 optical flow (Numba, float32).

The whole coarse-to-fine solve of one pair runs inside :func:`solve_pair` (no Python between
iterations). It releases the GIL, so batches run pairs on several Python threads at once
(:func:`rt_sfamnet.flow.tvl1.tvl1_batch`). The maths is described in
:mod:`rt_sfamnet.flow.tvl1`; the CUDA kernels in :mod:`rt_sfamnet.flow._cuda_tvl1` follow the
same steps in the same order.

Array conventions: images are H x W float32 in [0, 255]; flows u1 (x, pixels), u2 (y,
pixels), u3 (illumination, only used when gamma > 0). The dual variables ``p`` are stored
with one leading row and column of zeros, shape (H + 1) x (W + 1), so that the backward
differences of the divergence need no branches.

Exact by construction: the kernels are compiled without fast-math flags, so each float32
operation is rounded as written (no reassociation, no FMA contraction, no approximate
reciprocals), and results are bit-identical whatever the SIMD level, FMA support, Numba cache
state or thread count (tests/flow/test_determinism.py). The one reduction (the squared flow
change of a primal step, which decides when to stop) goes through a row buffer summed in a
fixed order by :func:`_row_sum`, so the per-pixel loops still vectorise. The CUDA kernels sum
that change in another order (a block reduction), so GPU and CPU agree to float32 rounding.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# No fast-math flags: every operation is one IEEE float32 operation in the order written, so
# the result does not depend on the SIMD width, FMA availability or cache state
# (tests/flow/test_determinism.py). Reductions are written so that loops vectorise without
# reassociation (see :func:`_row_sum`).
FASTMATH = False

GRAD_IS_ZERO = np.float32(1e-10)
BIG_ERROR = 1e30


@njit(cache=True, fastmath=FASTMATH, error_model="numpy", nogil=True)
def resize_bilinear(src, dst, mult):
    """``dst[:] = mult * bilinear resize of src`` (pixel-centre aligned, border clamped).

    Args:
        src: h x w float32.
        dst: H x W float32 (written).
        mult: float32 factor applied to the result (flow rescaling), 1 for images.
    """
    h, w = src.shape
    H, W = dst.shape
    sy = np.float32(h / H)
    sx = np.float32(w / W)
    x0s = np.empty(W, np.int64)
    x1s = np.empty(W, np.int64)
    txs = np.empty(W, np.float32)
    for x in range(W):
        fx = (np.float32(x) + np.float32(0.5)) * sx - np.float32(0.5)
        if fx < 0:
            fx = np.float32(0.0)
        if fx > w - 1:
            fx = np.float32(w - 1)
        i = int(fx)
        if i > w - 1:
            i = w - 1
        x0s[x] = i
        x1s[x] = i + 1 if i + 1 < w else w - 1
        txs[x] = fx - np.float32(i)
    for y in range(H):
        fy = (np.float32(y) + np.float32(0.5)) * sy - np.float32(0.5)
        if fy < 0:
            fy = np.float32(0.0)
        if fy > h - 1:
            fy = np.float32(h - 1)
        j = int(fy)
        if j > h - 1:
            j = h - 1
        j1 = j + 1 if j + 1 < h else h - 1
        ty = fy - np.float32(j)
        for x in range(W):
            a = src[j, x0s[x]]
            b = src[j, x1s[x]]
            c = src[j1, x0s[x]]
            d = src[j1, x1s[x]]
            tx = txs[x]
            top = a + (b - a) * tx
            bot = c + (d - c) * tx
            dst[y, x] = mult * (top + (bot - top) * ty)


@njit(cache=True, fastmath=FASTMATH, error_model="numpy", inline="always", nogil=True)
def _cubic_weights(t):
    """Catmull-Rom (Keys, a = -0.5) weights of taps -1, 0, 1, 2 at fractional offset t,
    and their derivatives with respect to t."""
    w0 = ((np.float32(-0.5) * t + np.float32(1.0)) * t - np.float32(0.5)) * t
    w1 = (np.float32(1.5) * t - np.float32(2.5)) * t * t + np.float32(1.0)
    w2 = ((np.float32(-1.5) * t + np.float32(2.0)) * t + np.float32(0.5)) * t
    w3 = (np.float32(0.5) * t - np.float32(0.5)) * t * t
    d0 = (np.float32(-1.5) * t + np.float32(2.0)) * t - np.float32(0.5)
    d1 = (np.float32(4.5) * t - np.float32(5.0)) * t
    d2 = (np.float32(-4.5) * t + np.float32(4.0)) * t + np.float32(0.5)
    d3 = (np.float32(1.5) * t - np.float32(1.0)) * t
    return w0, w1, w2, w3, d0, d1, d2, d3


@njit(cache=True, fastmath=FASTMATH, error_model="numpy", nogil=True)
def warp_linearise(I0, I1, u1, u2, gamma, a1, a2, ig, rc):
    """Warp I1 by the current flow and linearise the data term.

    For each pixel, with ``(X, Y) = (x + u1, y + u2)`` and the Catmull-Rom bicubic interpolant
    ``J`` of ``I1`` (border replicated; positions clamped to one pixel outside the image):

    - ``a1, a2 = dJ/dx (X, Y), dJ/dy (X, Y)`` (the interpolant's exact derivatives, which
      are the central differences at whole-pixel positions),
    - ``ig = 1 / max(a1^2 + a2^2 + gamma^2, 1e-10)``,
    - ``rc = J(X, Y) - a1 * u1 - a2 * u2 - I0`` (so that ``rho = rc + a . u``).
    """
    h, w = I0.shape
    g2 = np.float32(gamma * gamma)
    for y in range(h):
        for x in range(w):
            X = np.float32(x) + u1[y, x]
            Y = np.float32(y) + u2[y, x]
            # finite and inside a one-pixel margin (NaN -> -1)
            X = X if X > -1.0 else np.float32(-1.0)
            X = X if X < w else np.float32(w)
            Y = Y if Y > -1.0 else np.float32(-1.0)
            Y = Y if Y < h else np.float32(h)
            ix = int(X + np.float32(2.0)) - 2  # floor, as X + 2 >= 1
            iy = int(Y + np.float32(2.0)) - 2
            wx0, wx1, wx2, wx3, dx0, dx1, dx2, dx3 = _cubic_weights(X - np.float32(ix))
            wy0, wy1, wy2, wy3, dy0, dy1, dy2, dy3 = _cubic_weights(Y - np.float32(iy))
            # tap rows iy-1 .. iy+2 and columns ix-1 .. ix+2, clamped to the image
            y0 = min(max(iy - 1, 0), h - 1)
            y1 = min(max(iy, 0), h - 1)
            y2 = min(max(iy + 1, 0), h - 1)
            y3 = min(max(iy + 2, 0), h - 1)
            x0 = min(max(ix - 1, 0), w - 1)
            x1 = min(max(ix, 0), w - 1)
            x2 = min(max(ix + 1, 0), w - 1)
            x3 = min(max(ix + 2, 0), w - 1)
            r0 = wx0 * I1[y0, x0] + wx1 * I1[y0, x1] + wx2 * I1[y0, x2] + wx3 * I1[y0, x3]
            r1 = wx0 * I1[y1, x0] + wx1 * I1[y1, x1] + wx2 * I1[y1, x2] + wx3 * I1[y1, x3]
            r2 = wx0 * I1[y2, x0] + wx1 * I1[y2, x1] + wx2 * I1[y2, x2] + wx3 * I1[y2, x3]
            r3 = wx0 * I1[y3, x0] + wx1 * I1[y3, x1] + wx2 * I1[y3, x2] + wx3 * I1[y3, x3]
            q0 = dx0 * I1[y0, x0] + dx1 * I1[y0, x1] + dx2 * I1[y0, x2] + dx3 * I1[y0, x3]
            q1 = dx0 * I1[y1, x0] + dx1 * I1[y1, x1] + dx2 * I1[y1, x2] + dx3 * I1[y1, x3]
            q2 = dx0 * I1[y2, x0] + dx1 * I1[y2, x1] + dx2 * I1[y2, x2] + dx3 * I1[y2, x3]
            q3 = dx0 * I1[y3, x0] + dx1 * I1[y3, x1] + dx2 * I1[y3, x2] + dx3 * I1[y3, x3]
            s = wy0 * r0 + wy1 * r1 + wy2 * r2 + wy3 * r3
            sx = wy0 * q0 + wy1 * q1 + wy2 * q2 + wy3 * q3
            sy = dy0 * r0 + dy1 * r1 + dy2 * r2 + dy3 * r3
            a1[y, x] = sx
            a2[y, x] = sy
            g = sx * sx + sy * sy + g2
            ig[y, x] = np.float32(1.0) / (g if g > GRAD_IS_ZERO else GRAD_IS_ZERO)
            rc[y, x] = s - sx * u1[y, x] - sy * u2[y, x] - I0[y, x]


@njit(cache=True, fastmath=FASTMATH, error_model="numpy", nogil=True)
def _median3_rows(pad, u):
    """Median of each 3 x 3 window of ``pad`` into ``u`` (24 compare-exchanges;
    generated from ``backend.median_network(9)``)."""
    h, w = u.shape
    for y in range(h):
        r0 = pad[y + 0]
        r1 = pad[y + 1]
        r2 = pad[y + 2]
        for x in range(w):
            v0 = r0[x]
            v1 = r0[x + 1]
            v2 = r0[x + 2]
            v3 = r1[x]
            v4 = r1[x + 1]
            v5 = r1[x + 2]
            v6 = r2[x]
            v7 = r2[x + 1]
            v8 = r2[x + 2]
            v0, v1 = min(v0, v1), max(v0, v1)
            v2, v3 = min(v2, v3), max(v2, v3)
            v4, v5 = min(v4, v5), max(v4, v5)
            v6, v7 = min(v6, v7), max(v6, v7)
            v0, v2 = min(v0, v2), max(v0, v2)
            v1, v3 = min(v1, v3), max(v1, v3)
            v4, v6 = min(v4, v6), max(v4, v6)
            v5, v7 = min(v5, v7), max(v5, v7)
            v1, v2 = min(v1, v2), max(v1, v2)
            v5, v6 = min(v5, v6), max(v5, v6)
            v0, v4 = min(v0, v4), max(v0, v4)
            v1, v5 = min(v1, v5), max(v1, v5)
            v2, v6 = min(v2, v6), max(v2, v6)
            v3, v7 = min(v3, v7), max(v3, v7)
            v2, v4 = min(v2, v4), max(v2, v4)
            v3, v5 = min(v3, v5), max(v3, v5)
            v1, v2 = min(v1, v2), max(v1, v2)
            v3, v4 = min(v3, v4), max(v3, v4)
            v5, v6 = min(v5, v6), max(v5, v6)
            v0, v8 = min(v0, v8), max(v0, v8)
            v4, v8 = min(v4, v8), max(v4, v8)
            v2, v4 = min(v2, v4), max(v2, v4)
            v3, v5 = min(v3, v5), max(v3, v5)
            v3, v4 = min(v3, v4), max(v3, v4)
            u[y, x] = v4


@njit(cache=True, fastmath=FASTMATH, error_model="numpy", nogil=True)
def _median5_rows(pad, u):
    """Median of each 5 x 5 window of ``pad`` into ``u`` (113 compare-exchanges;
    generated from ``backend.median_network(25)``)."""
    h, w = u.shape
    for y in range(h):
        r0 = pad[y + 0]
        r1 = pad[y + 1]
        r2 = pad[y + 2]
        r3 = pad[y + 3]
        r4 = pad[y + 4]
        for x in range(w):
            v0 = r0[x]
            v1 = r0[x + 1]
            v2 = r0[x + 2]
            v3 = r0[x + 3]
            v4 = r0[x + 4]
            v5 = r1[x]
            v6 = r1[x + 1]
            v7 = r1[x + 2]
            v8 = r1[x + 3]
            v9 = r1[x + 4]
            v10 = r2[x]
            v11 = r2[x + 1]
            v12 = r2[x + 2]
            v13 = r2[x + 3]
            v14 = r2[x + 4]
            v15 = r3[x]
            v16 = r3[x + 1]
            v17 = r3[x + 2]
            v18 = r3[x + 3]
            v19 = r3[x + 4]
            v20 = r4[x]
            v21 = r4[x + 1]
            v22 = r4[x + 2]
            v23 = r4[x + 3]
            v24 = r4[x + 4]
            v0, v1 = min(v0, v1), max(v0, v1)
            v2, v3 = min(v2, v3), max(v2, v3)
            v4, v5 = min(v4, v5), max(v4, v5)
            v6, v7 = min(v6, v7), max(v6, v7)
            v8, v9 = min(v8, v9), max(v8, v9)
            v10, v11 = min(v10, v11), max(v10, v11)
            v12, v13 = min(v12, v13), max(v12, v13)
            v14, v15 = min(v14, v15), max(v14, v15)
            v16, v17 = min(v16, v17), max(v16, v17)
            v18, v19 = min(v18, v19), max(v18, v19)
            v20, v21 = min(v20, v21), max(v20, v21)
            v22, v23 = min(v22, v23), max(v22, v23)
            v0, v2 = min(v0, v2), max(v0, v2)
            v1, v3 = min(v1, v3), max(v1, v3)
            v4, v6 = min(v4, v6), max(v4, v6)
            v5, v7 = min(v5, v7), max(v5, v7)
            v8, v10 = min(v8, v10), max(v8, v10)
            v9, v11 = min(v9, v11), max(v9, v11)
            v12, v14 = min(v12, v14), max(v12, v14)
            v13, v15 = min(v13, v15), max(v13, v15)
            v16, v18 = min(v16, v18), max(v16, v18)
            v17, v19 = min(v17, v19), max(v17, v19)
            v20, v22 = min(v20, v22), max(v20, v22)
            v21, v23 = min(v21, v23), max(v21, v23)
            v1, v2 = min(v1, v2), max(v1, v2)
            v5, v6 = min(v5, v6), max(v5, v6)
            v9, v10 = min(v9, v10), max(v9, v10)
            v13, v14 = min(v13, v14), max(v13, v14)
            v17, v18 = min(v17, v18), max(v17, v18)
            v21, v22 = min(v21, v22), max(v21, v22)
            v0, v4 = min(v0, v4), max(v0, v4)
            v1, v5 = min(v1, v5), max(v1, v5)
            v2, v6 = min(v2, v6), max(v2, v6)
            v3, v7 = min(v3, v7), max(v3, v7)
            v8, v12 = min(v8, v12), max(v8, v12)
            v9, v13 = min(v9, v13), max(v9, v13)
            v10, v14 = min(v10, v14), max(v10, v14)
            v11, v15 = min(v11, v15), max(v11, v15)
            v16, v20 = min(v16, v20), max(v16, v20)
            v17, v21 = min(v17, v21), max(v17, v21)
            v18, v22 = min(v18, v22), max(v18, v22)
            v19, v23 = min(v19, v23), max(v19, v23)
            v2, v4 = min(v2, v4), max(v2, v4)
            v3, v5 = min(v3, v5), max(v3, v5)
            v10, v12 = min(v10, v12), max(v10, v12)
            v11, v13 = min(v11, v13), max(v11, v13)
            v18, v20 = min(v18, v20), max(v18, v20)
            v19, v21 = min(v19, v21), max(v19, v21)
            v1, v2 = min(v1, v2), max(v1, v2)
            v3, v4 = min(v3, v4), max(v3, v4)
            v5, v6 = min(v5, v6), max(v5, v6)
            v9, v10 = min(v9, v10), max(v9, v10)
            v11, v12 = min(v11, v12), max(v11, v12)
            v13, v14 = min(v13, v14), max(v13, v14)
            v17, v18 = min(v17, v18), max(v17, v18)
            v19, v20 = min(v19, v20), max(v19, v20)
            v21, v22 = min(v21, v22), max(v21, v22)
            v0, v8 = min(v0, v8), max(v0, v8)
            v1, v9 = min(v1, v9), max(v1, v9)
            v2, v10 = min(v2, v10), max(v2, v10)
            v3, v11 = min(v3, v11), max(v3, v11)
            v4, v12 = min(v4, v12), max(v4, v12)
            v5, v13 = min(v5, v13), max(v5, v13)
            v6, v14 = min(v6, v14), max(v6, v14)
            v7, v15 = min(v7, v15), max(v7, v15)
            v16, v24 = min(v16, v24), max(v16, v24)
            v4, v8 = min(v4, v8), max(v4, v8)
            v5, v9 = min(v5, v9), max(v5, v9)
            v6, v10 = min(v6, v10), max(v6, v10)
            v7, v11 = min(v7, v11), max(v7, v11)
            v20, v24 = min(v20, v24), max(v20, v24)
            v2, v4 = min(v2, v4), max(v2, v4)
            v3, v5 = min(v3, v5), max(v3, v5)
            v6, v8 = min(v6, v8), max(v6, v8)
            v7, v9 = min(v7, v9), max(v7, v9)
            v10, v12 = min(v10, v12), max(v10, v12)
            v11, v13 = min(v11, v13), max(v11, v13)
            v18, v20 = min(v18, v20), max(v18, v20)
            v19, v21 = min(v19, v21), max(v19, v21)
            v22, v24 = min(v22, v24), max(v22, v24)
            v1, v2 = min(v1, v2), max(v1, v2)
            v3, v4 = min(v3, v4), max(v3, v4)
            v5, v6 = min(v5, v6), max(v5, v6)
            v7, v8 = min(v7, v8), max(v7, v8)
            v9, v10 = min(v9, v10), max(v9, v10)
            v11, v12 = min(v11, v12), max(v11, v12)
            v13, v14 = min(v13, v14), max(v13, v14)
            v17, v18 = min(v17, v18), max(v17, v18)
            v19, v20 = min(v19, v20), max(v19, v20)
            v21, v22 = min(v21, v22), max(v21, v22)
            v23, v24 = min(v23, v24), max(v23, v24)
            v0, v16 = min(v0, v16), max(v0, v16)
            v1, v17 = min(v1, v17), max(v1, v17)
            v2, v18 = min(v2, v18), max(v2, v18)
            v3, v19 = min(v3, v19), max(v3, v19)
            v4, v20 = min(v4, v20), max(v4, v20)
            v5, v21 = min(v5, v21), max(v5, v21)
            v6, v22 = min(v6, v22), max(v6, v22)
            v7, v23 = min(v7, v23), max(v7, v23)
            v8, v24 = min(v8, v24), max(v8, v24)
            v8, v16 = min(v8, v16), max(v8, v16)
            v9, v17 = min(v9, v17), max(v9, v17)
            v10, v18 = min(v10, v18), max(v10, v18)
            v11, v19 = min(v11, v19), max(v11, v19)
            v12, v20 = min(v12, v20), max(v12, v20)
            v13, v21 = min(v13, v21), max(v13, v21)
            v6, v10 = min(v6, v10), max(v6, v10)
            v7, v11 = min(v7, v11), max(v7, v11)
            v12, v16 = min(v12, v16), max(v12, v16)
            v13, v17 = min(v13, v17), max(v13, v17)
            v10, v12 = min(v10, v12), max(v10, v12)
            v11, v13 = min(v11, v13), max(v11, v13)
            v11, v12 = min(v11, v12), max(v11, v12)
            u[y, x] = v12


@njit(cache=True, fastmath=FASTMATH, error_model="numpy", nogil=True)
def median_filter(u, pad, k):
    """In-place k x k median (k = 3 or 5) of ``u``, border replicated.

    Args:
        u: h x w float32 (filtered in place).
        pad: (h + k - 1) x (w + k - 1) float32 scratch.
        k: 3 or 5 (OpenCV's ``medianBlur`` on float images supports the same).
    """
    h, w = u.shape
    r = k // 2
    for y in range(h + 2 * r):
        sy = y - r
        sy = 0 if sy < 0 else (h - 1 if sy > h - 1 else sy)
        for x in range(w + 2 * r):
            sx = x - r
            sx = 0 if sx < 0 else (w - 1 if sx > w - 1 else sx)
            pad[y, x] = u[sy, sx]
    if k == 3:
        _median3_rows(pad, u)
    else:
        _median5_rows(pad, u)


@njit(cache=True, fastmath=FASTMATH, error_model="numpy", inline="always", nogil=True)
def _row_sum(row):
    """float32 sum of ``row`` in a fixed order: eight interleaved partial sums (lane ``i``
    takes elements ``i, i + 8, ...``), added pairwise at the end, then the tail in order.

    The order is written out, so it does not depend on how the loop is vectorised."""
    n = row.shape[0]
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = np.float32(0.0)
    m = n - n % 8
    for i in range(0, m, 8):
        s0 += row[i]
        s1 += row[i + 1]
        s2 += row[i + 2]
        s3 += row[i + 3]
        s4 += row[i + 4]
        s5 += row[i + 5]
        s6 += row[i + 6]
        s7 += row[i + 7]
    s = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    for i in range(m, n):
        s += row[i]
    return s


@njit(cache=True, fastmath=FASTMATH, error_model="numpy", nogil=True)
def primal_step(u1, u2, a1, a2, ig, rc, p11, p12, p21, p22, lt, theta):
    """Thresholding (v) and primal (u) update, in place; returns sum of squared u changes.

    ``rho = rc + a1 u1 + a2 u2``; ``v = u + clip(-rho / |a|^2, -lt, lt) a``;
    ``u_new = v + theta div p`` (backward differences; ``p`` padded, see module docstring).
    """
    h, w = u1.shape
    err = 0.0
    row = np.empty(w, np.float32)
    for y in range(h):
        for x in range(w):
            d1 = p11[y + 1, x + 1] - p11[y + 1, x] + p12[y + 1, x + 1] - p12[y, x + 1]
            d2 = p21[y + 1, x + 1] - p21[y + 1, x] + p22[y + 1, x + 1] - p22[y, x + 1]
            uo1 = u1[y, x]
            uo2 = u2[y, x]
            A1 = a1[y, x]
            A2 = a2[y, x]
            rho = rc[y, x] + A1 * uo1 + A2 * uo2
            f = -rho * ig[y, x]
            f = lt if f > lt else f
            f = -lt if f < -lt else f
            un1 = uo1 + f * A1 + theta * d1
            un2 = uo2 + f * A2 + theta * d2
            e1 = un1 - uo1
            e2 = un2 - uo2
            row[x] = e1 * e1 + e2 * e2
            u1[y, x] = un1
            u2[y, x] = un2
        err += _row_sum(row)
    return err


@njit(cache=True, fastmath=FASTMATH, error_model="numpy", nogil=True)
def primal_step3(u1, u2, u3, a1, a2, ig, rc, p11, p12, p21, p22, p31, p32, lt, theta, gamma):
    """:func:`primal_step` with the illumination term ``gamma * u3`` (gamma > 0)."""
    h, w = u1.shape
    err = 0.0
    row = np.empty(w, np.float32)
    for y in range(h):
        for x in range(w):
            d1 = p11[y + 1, x + 1] - p11[y + 1, x] + p12[y + 1, x + 1] - p12[y, x + 1]
            d2 = p21[y + 1, x + 1] - p21[y + 1, x] + p22[y + 1, x + 1] - p22[y, x + 1]
            d3 = p31[y + 1, x + 1] - p31[y + 1, x] + p32[y + 1, x + 1] - p32[y, x + 1]
            uo1 = u1[y, x]
            uo2 = u2[y, x]
            uo3 = u3[y, x]
            A1 = a1[y, x]
            A2 = a2[y, x]
            rho = rc[y, x] + A1 * uo1 + A2 * uo2 + gamma * uo3
            f = -rho * ig[y, x]
            f = lt if f > lt else f
            f = -lt if f < -lt else f
            un1 = uo1 + f * A1 + theta * d1
            un2 = uo2 + f * A2 + theta * d2
            un3 = uo3 + f * gamma + theta * d3
            e1 = un1 - uo1
            e2 = un2 - uo2
            e3 = un3 - uo3
            row[x] = e1 * e1 + e2 * e2 + e3 * e3
            u1[y, x] = un1
            u2[y, x] = un2
            u3[y, x] = un3
        err += _row_sum(row)
    return err


@njit(cache=True, fastmath=FASTMATH, error_model="numpy", nogil=True)
def dual_step(u, pa, pb, taut):
    """Dual update of one flow component: ``p = (p + taut grad u) / (1 + taut |grad u|)``.

    Forward differences, zero on the last column (x) and last row (y); ``pa`` holds the x
    component, ``pb`` the y component, both padded (see module docstring).
    """
    h, w = u.shape
    for y in range(h):
        yn = y + 1 if y < h - 1 else y
        for x in range(w - 1):
            ux = u[y, x + 1] - u[y, x]
            uy = u[yn, x] - u[y, x]
            ng = np.float32(1.0) + taut * np.sqrt(ux * ux + uy * uy)
            pa[y + 1, x + 1] = (pa[y + 1, x + 1] + taut * ux) / ng
            pb[y + 1, x + 1] = (pb[y + 1, x + 1] + taut * uy) / ng
        x = w - 1
        uy = u[yn, x] - u[y, x]
        ng = np.float32(1.0) + taut * np.sqrt(uy * uy)
        pa[y + 1, x + 1] = pa[y + 1, x + 1] / ng
        pb[y + 1, x + 1] = (pb[y + 1, x + 1] + taut * uy) / ng


@njit(cache=True, fastmath=FASTMATH, error_model="numpy", nogil=True)
def one_scale(I0, I1, u1, u2, u3, tau, lam, theta, gamma, warps, outer, inner, epsilon, median):
    """TV-L1 at one pyramid level, updating ``u1, u2, u3`` in place.

    Args:
        I0, I1: h x w float32 images (0-255), C-contiguous.
        u1, u2, u3: h x w float32 flow (in: initial estimate; out: result).
        median: window of the median filter (1: none, 3 or 5).

    Returns:
        The number of inner iterations run (all warps together).
    """
    h, w = I0.shape
    ws = np.empty((4, h, w), np.float32)
    a1 = ws[0]
    a2 = ws[1]
    ig = ws[2]
    rc = ws[3]
    pw = np.zeros((6, h + 1, w + 1), np.float32)
    p11 = pw[0]
    p12 = pw[1]
    p21 = pw[2]
    p22 = pw[3]
    p31 = pw[4]
    p32 = pw[5]
    k = median if median > 1 else 1
    padv = np.empty((h + k - 1, w + k - 1), np.float32)
    lt = np.float32(lam * theta)
    taut = np.float32(tau / theta)
    th = np.float32(theta)
    gm = np.float32(gamma)
    use_gamma = gamma > 0.0
    scaled_eps = epsilon * epsilon * h * w
    iters = 0
    for _warp in range(warps):
        warp_linearise(I0, I1, u1, u2, gm, a1, a2, ig, rc)
        err = BIG_ERROR
        n_outer = 0
        while err > scaled_eps and n_outer < outer:
            if median > 1:
                median_filter(u1, padv, median)
                median_filter(u2, padv, median)
            n_inner = 0
            while err > scaled_eps and n_inner < inner:
                if use_gamma:
                    err = primal_step3(u1, u2, u3, a1, a2, ig, rc, p11, p12, p21, p22,
                                       p31, p32, lt, th, gm)
                else:
                    err = primal_step(u1, u2, a1, a2, ig, rc, p11, p12, p21, p22, lt, th)
                dual_step(u1, p11, p12, taut)
                dual_step(u2, p21, p22, taut)
                if use_gamma:
                    dual_step(u3, p31, p32, taut)
                n_inner += 1
                iters += 1
            n_outer += 1
    return iters


@njit(cache=True, fastmath=FASTMATH, error_model="numpy", nogil=True)
def solve_pair(I0, I1, out, hs, ws_, tau, lam, theta, gamma, warps, outer, inner,
               epsilon, median):
    """Coarse-to-fine TV-L1 of one pair.

    Args:
        I0, I1: H x W float32 images (0-255), C-contiguous, H = hs[0], W = ws_[0].
        out: H x W x 2 float32 (written: u, v in pixels).
        hs, ws_: int64 pyramid level sizes, finest first.
        (others): see :class:`rt_sfamnet.flow.tvl1.TVL1Params`.

    Returns:
        The number of inner iterations run (all levels).
    """
    L = hs.shape[0]
    H = hs[0]
    W = ws_[0]
    P0 = np.empty((L, H, W), np.float32)
    P1 = np.empty((L, H, W), np.float32)
    P0[0] = I0
    P1[0] = I1
    for s in range(1, L):
        resize_bilinear(P0[s - 1, : hs[s - 1], : ws_[s - 1]], P0[s, : hs[s], : ws_[s]],
                        np.float32(1.0))
        resize_bilinear(P1[s - 1, : hs[s - 1], : ws_[s - 1]], P1[s, : hs[s], : ws_[s]],
                        np.float32(1.0))
    h = hs[L - 1]
    w = ws_[L - 1]
    U = np.zeros((3, h, w), np.float32)
    iters = 0
    for s in range(L - 1, -1, -1):
        h = hs[s]
        w = ws_[s]
        I0s = np.ascontiguousarray(P0[s, :h, :w])
        I1s = np.ascontiguousarray(P1[s, :h, :w])
        iters += one_scale(I0s, I1s, U[0], U[1], U[2], tau, lam, theta, gamma, warps, outer, inner, epsilon, median)
        if s > 0:
            H2 = hs[s - 1]
            W2 = ws_[s - 1]
            V = np.empty((3, H2, W2), np.float32)
            resize_bilinear(U[0], V[0], np.float32(W2 / w))
            resize_bilinear(U[1], V[1], np.float32(H2 / h))
            resize_bilinear(U[2], V[2], np.float32(1.0))
            U = V
    for y in range(H):
        for x in range(W):
            out[y, x, 0] = U[0, y, x]
            out[y, x, 1] = U[1, y, x]
    return iters
