"""Numba kernels of the RGB-D scene flow solver (CPU path of :mod:`rt_sfamnet.flow.rgbd`).

Every kernel works on float32 C-contiguous arrays (channels first, ``(C, H, W)`` for images,
``(H, W)`` for single maps) and does its arithmetic in float32. They are compiled lazily on
first use and cached on disk (``cache=True``); they release the GIL (``nogil=True``) so the
batched driver can run pairs on several threads.

The CUDA kernels in :mod:`rt_sfamnet.flow._cuda_rgbd` implement the same arithmetic in the
same order (red-black ordering makes the sweep result independent of the visiting order within
one colour), so both paths agree to float32 rounding.

No fast-math: every float32 operation is rounded as written (no reassociation, no FMA
contraction, no approximate reciprocal square roots), so the results are bit-identical
whatever the SIMD level, FMA support, Numba cache state or thread count
(tests/flow/test_determinism.py). All sums run in the order written in the source, and the
only transcendental function (the edge weight's exp) is :func:`exp_f32`, not the C library's.

Layout of the per-pixel linearisation ``lin`` (``(H, W, K)`` here, ``(N, K, H, W)`` planes
on the GPU; ``K = 8 C + 5``): entries ``8c + 0..7`` = ``Ix, Iy, It, Ixx, Ixy, Iyy, Ixt, Iyt``
of channel ``c`` (colour and gradient constancy linearised at the warp point), then ``Zx, Zy,
Zt`` (depth constancy, mm), ``occ`` (1 inside the frame after warping, else 0) and ``wz`` (the
depth data weight ``depth_weight * validity * kappa**2``, 1/mm²). The CPU kernels keep their
per-pixel quantities interleaved (one cache line per pixel); the GPU kernels keep planes.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_JIT = {"cache": True, "nogil": True, "fastmath": False, "error_model": "numpy"}


# ---------------------------------------------------------------------------------------------
# exp without the C library
# ---------------------------------------------------------------------------------------------

_INV_FACT = (1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0,
             1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0)


@njit(**_JIT, inline="always")
def exp_f32(x: np.float32) -> np.float32:
    """``exp(x)`` for ``x <= 0`` rounded to float32, from + and * only (float64 inside).

    The C library's ``expf`` has CPU-specific variants (glibc picks an FMA build where the
    CPU has FMA), which may round differently; this one gives the same bits everywhere.
    ``x = k ln2 + r`` (Cody-Waite, |r| <= ln2 / 2), degree-10 Taylor polynomial of ``exp(r)``
    (truncation < 3e-13 relative), scaled by ``2^k`` (exact). Equals NumPy's float64 ``exp``
    rounded to float32 on 2 million points of [-110, 0].
    """
    xd = np.float64(x)
    if not xd > -104.0:  # below the smallest float32 denormal (or NaN)
        return np.float32(0.0) if xd == xd else x
    k = math.floor(xd * 1.4426950408889634 + 0.5)
    r = (xd - k * 0.6931471803691238) - k * 1.9082149292705877e-10
    p = 1.0 / 3628800.0
    for c in _INV_FACT:
        p = p * r + c
    return np.float32(math.ldexp(p, k))


# ---------------------------------------------------------------------------------------------
# Depth hole filling
# ---------------------------------------------------------------------------------------------


@njit(**_JIT)
def fill_depth(z: np.ndarray, out: np.ndarray, valid: np.ndarray, max_iter: np.int64,
               default_mm: np.float32) -> None:
    """Median-fill the zeros of ``z`` (H×W uint16 mm) into ``out`` (H×W float32 mm).

    Each pass gives every missing pixel with at least one valid pixel in its 5×5 window the
    median (lower median for even counts) of those valid values; passes repeat until nothing
    is missing or ``max_iter`` is reached. What is still missing then gets the median of all
    valid pixels, or ``default_mm`` when the whole map is zero. ``valid`` (float32) receives
    1 where ``z`` had a measurement and 0 elsewhere.
    """
    h, w = z.shape
    cur = np.empty((h, w), np.float32)
    nxt = np.empty((h, w), np.float32)
    n_valid = 0
    for y in range(h):
        for x in range(w):
            d = np.float32(z[y, x])
            cur[y, x] = d
            if d > 0:
                valid[y, x] = np.float32(1.0)
                n_valid += 1
            else:
                valid[y, x] = np.float32(0.0)
    buf = np.empty(25, np.float32)
    missing = h * w - n_valid
    it = 0
    while missing > 0 and it < max_iter and n_valid > 0:
        it += 1
        missing = 0
        for y in range(h):
            for x in range(w):
                if cur[y, x] > 0:
                    nxt[y, x] = cur[y, x]
                    continue
                n = 0
                for dy in range(-2, 3):
                    yy = y + dy
                    if yy < 0 or yy >= h:
                        continue
                    for dx in range(-2, 3):
                        xx = x + dx
                        if xx < 0 or xx >= w:
                            continue
                        val = cur[yy, xx]
                        if val > 0:
                            # insertion sort into buf[0:n]
                            k = n
                            while k > 0 and buf[k - 1] > val:
                                buf[k] = buf[k - 1]
                                k -= 1
                            buf[k] = val
                            n += 1
                if n > 0:
                    nxt[y, x] = buf[(n - 1) // 2]
                else:
                    nxt[y, x] = np.float32(0.0)
                    missing += 1
        cur, nxt = nxt, cur
    fill = default_mm
    if missing > 0 and n_valid > 0:
        vals = np.empty(n_valid, np.float32)
        k = 0
        for y in range(h):
            for x in range(w):
                if z[y, x] > 0:
                    vals[k] = np.float32(z[y, x])
                    k += 1
        vals.sort()
        fill = vals[(n_valid - 1) // 2]
    for y in range(h):
        for x in range(w):
            v = cur[y, x]
            out[y, x] = v if v > 0 else fill


# ---------------------------------------------------------------------------------------------
# Resampling
# ---------------------------------------------------------------------------------------------


@njit(**_JIT)
def blur5(src: np.ndarray, k: np.ndarray, out: np.ndarray) -> None:
    """Separable 5-tap blur (weights ``k[0..2]`` = centre, ±1, ±2) with clamped borders."""
    h, w = src.shape
    tmp = np.empty((h, w), np.float32)
    k0, k1, k2 = k[0], k[1], k[2]
    for y in range(h):
        for x in range(w):
            xm1 = max(x - 1, 0)
            xm2 = max(x - 2, 0)
            xp1 = min(x + 1, w - 1)
            xp2 = min(x + 2, w - 1)
            tmp[y, x] = k0 * src[y, x] + k1 * (src[y, xm1] + src[y, xp1]) + k2 * (
                src[y, xm2] + src[y, xp2])
    for y in range(h):
        ym1 = max(y - 1, 0)
        ym2 = max(y - 2, 0)
        yp1 = min(y + 1, h - 1)
        yp2 = min(y + 2, h - 1)
        for x in range(w):
            out[y, x] = k0 * tmp[y, x] + k1 * (tmp[ym1, x] + tmp[yp1, x]) + k2 * (
                tmp[ym2, x] + tmp[yp2, x])


@njit(**_JIT)
def resize_bilinear(src: np.ndarray, out: np.ndarray, scale: np.float32) -> None:
    """Bilinear resampling of ``src`` (h×w) to ``out`` (H×W), pixel centres aligned.

    Output values are multiplied by ``scale`` (used to rescale flow components).
    """
    h, w = src.shape
    ho, wo = out.shape
    ry = np.float32(h) / np.float32(ho)
    rx = np.float32(w) / np.float32(wo)
    for y in range(ho):
        sy = (np.float32(y) + np.float32(0.5)) * ry - np.float32(0.5)
        sy = min(max(sy, np.float32(0.0)), np.float32(h - 1))
        y0 = min(int(sy), h - 2) if h > 1 else 0
        fy = sy - np.float32(y0)
        y1 = y0 + 1 if h > 1 else 0
        for x in range(wo):
            sx = (np.float32(x) + np.float32(0.5)) * rx - np.float32(0.5)
            sx = min(max(sx, np.float32(0.0)), np.float32(w - 1))
            x0 = min(int(sx), w - 2) if w > 1 else 0
            fx = sx - np.float32(x0)
            x1 = x0 + 1 if w > 1 else 0
            top = src[y0, x0] * (np.float32(1.0) - fx) + src[y0, x1] * fx
            bot = src[y1, x0] * (np.float32(1.0) - fx) + src[y1, x1] * fx
            out[y, x] = (top * (np.float32(1.0) - fy) + bot * fy) * scale


# ---------------------------------------------------------------------------------------------
# Per-level set-up: derivatives, edge weights, depth normalisation (pixel-interleaved)
# ---------------------------------------------------------------------------------------------


@njit(**_JIT)
def level_setup(i0: np.ndarray, i1: np.ndarray, z0: np.ndarray, z1: np.ndarray,
                m0: np.ndarray, m1: np.ndarray, fx: np.float32, fy: np.float32,
                cx: np.float32, cy: np.float32, sig0: np.float32, sig2: np.float32,
                kappa_eq: np.float32, edge_color: np.float32, edge_depth: np.float32,
                edge_floor: np.float32, src1: np.ndarray, pix0: np.ndarray) -> None:
    """Per-pixel quantities of one pyramid level, interleaved per pixel.

    Args:
        i0, i1: (C, H, W) float32 intensities in [0, 1].
        z0, z1: (H, W) float32 hole-filled depth, mm. m0, m1: (H, W) depth validity.
        fx, fy, cx, cy: intrinsics at this level (pixels).
        sig0, sig2: depth noise model sigma_z(z) = sig0 + sig2 * (z / 1000 mm)^2, in mm.
        kappa_eq: intensity-equivalent of one depth noise standard deviation.
        edge_color, edge_depth, edge_floor: edge-aware smoothness weight
            g = max(floor, exp(-edge_color |grad I0|)) / (1 + (|grad Z0| / edge_depth)^2).
    Outputs:
        src1: (H, W, 6C + 4) what frame 1 contributes at a warped position: per channel
            I1, I1x, I1y, I1xx, I1xy, I1yy, then Z1, Z1x, Z1y (mm, mm/px) and M1.
        pix0: (H, W, 3C + 7) per channel I0, I0x, I0y, then Z0, M0, g, s2 = f^2 / Z0^2
            (f^2 = fx fy), ax = (x - cx) / Z0, ay = (y - cy) / Z0, kappa = kappa_eq /
            sigma_z(Z0) (1/mm).

    (The CUDA kernels keep the same quantities in planes, which suits coalesced access; on
    the CPU one cache line per pixel avoids cache-set conflicts between many 2^k-sized planes.)
    """
    c_n, h, w = i0.shape
    half = np.float32(0.5)
    two = np.float32(2.0)
    fm2 = fx * fy
    b1 = 6 * c_n
    b0 = 3 * c_n
    for y in range(h):
        ym = max(y - 1, 0)
        yp = min(y + 1, h - 1)
        for x in range(w):
            xm = max(x - 1, 0)
            xp = min(x + 1, w - 1)
            s1 = src1[y, x]
            p0 = pix0[y, x]
            gsum = np.float32(0.0)
            for c in range(c_n):
                a0x = half * (i0[c, y, xp] - i0[c, y, xm])
                a0y = half * (i0[c, yp, x] - i0[c, ym, x])
                p0[3 * c] = i0[c, y, x]
                p0[3 * c + 1] = a0x
                p0[3 * c + 2] = a0y
                gsum += a0x * a0x + a0y * a0y
                ctr = i1[c, y, x]
                o = 6 * c
                s1[o] = ctr
                s1[o + 1] = half * (i1[c, y, xp] - i1[c, y, xm])
                s1[o + 2] = half * (i1[c, yp, x] - i1[c, ym, x])
                s1[o + 3] = i1[c, y, xp] - two * ctr + i1[c, y, xm]
                s1[o + 4] = np.float32(0.25) * (
                    i1[c, yp, xp] - i1[c, yp, xm] - i1[c, ym, xp] + i1[c, ym, xm])
                s1[o + 5] = i1[c, yp, x] - two * ctr + i1[c, ym, x]
            s1[b1] = z1[y, x]
            s1[b1 + 1] = half * (z1[y, xp] - z1[y, xm])
            s1[b1 + 2] = half * (z1[yp, x] - z1[ym, x])
            s1[b1 + 3] = m1[y, x]
            gzx = half * (z0[y, xp] - z0[y, xm])
            gzy = half * (z0[yp, x] - z0[ym, x])
            gmag = math.sqrt(gsum / np.float32(c_n))
            gc = exp_f32(-edge_color * gmag)
            if gc < edge_floor:
                gc = edge_floor
            q = (gzx * gzx + gzy * gzy) / (edge_depth * edge_depth)
            # depth edges only count where frame 0 measured the depth
            q = q * m0[y, x]
            zz = z0[y, x]
            zm = zz * np.float32(0.001)
            p0[b0] = zz
            p0[b0 + 1] = m0[y, x]
            p0[b0 + 2] = np.float32(gc / (np.float32(1.0) + q))
            p0[b0 + 3] = fm2 / (zz * zz)
            p0[b0 + 4] = (np.float32(x) - cx) / zz
            p0[b0 + 5] = (np.float32(y) - cy) / zz
            p0[b0 + 6] = kappa_eq / (sig0 + sig2 * zm * zm)


# ---------------------------------------------------------------------------------------------
# Warp: linearise the data terms at the current flow
# ---------------------------------------------------------------------------------------------


@njit(**_JIT)
def warp_linearise(src1: np.ndarray, pix0: np.ndarray, c_n: np.int64, u: np.ndarray,
                   v: np.ndarray, depth_weight: np.float32, missing_weight: np.float32,
                   lin: np.ndarray) -> None:
    """Fill ``lin`` (H, W, 8C + 5) (see the module docstring) at the flow ``(u, v)`` (px)."""
    h, w, nq = src1.shape
    one = np.float32(1.0)
    base = 8 * c_n
    b1 = 6 * c_n
    b0 = 3 * c_n
    samp = np.empty(nq, np.float32)
    for y in range(h):
        for x in range(w):
            sx = np.float32(x) + u[y, x]
            sy = np.float32(y) + v[y, x]
            occ = one
            if sx < 0 or sx > np.float32(w - 1) or sy < 0 or sy > np.float32(h - 1):
                occ = np.float32(0.0)
            sx = min(max(sx, np.float32(0.0)), np.float32(w - 1))
            sy = min(max(sy, np.float32(0.0)), np.float32(h - 1))
            x0 = min(int(sx), w - 2)
            y0 = min(int(sy), h - 2)
            ax = sx - np.float32(x0)
            ay = sy - np.float32(y0)
            w00 = (one - ax) * (one - ay)
            w01 = ax * (one - ay)
            w10 = (one - ax) * ay
            w11 = ax * ay
            q00 = src1[y0, x0]
            q01 = src1[y0, x0 + 1]
            q10 = src1[y0 + 1, x0]
            q11 = src1[y0 + 1, x0 + 1]
            for k in range(nq):
                samp[k] = w00 * q00[k] + w01 * q01[k] + w10 * q10[k] + w11 * q11[k]
            p0 = pix0[y, x]
            out = lin[y, x]
            for c in range(c_n):
                i1w = samp[6 * c]
                i1x = samp[6 * c + 1]
                i1y = samp[6 * c + 2]
                a0x = p0[3 * c + 1]
                a0y = p0[3 * c + 2]
                o = 8 * c
                out[o] = np.float32(0.5) * (i1x + a0x)
                out[o + 1] = np.float32(0.5) * (i1y + a0y)
                out[o + 2] = i1w - p0[3 * c]
                out[o + 3] = samp[6 * c + 3]
                out[o + 4] = samp[6 * c + 4]
                out[o + 5] = samp[6 * c + 5]
                out[o + 6] = i1x - a0x
                out[o + 7] = i1y - a0y
            val = missing_weight + (one - missing_weight) * p0[b0 + 1] * samp[b1 + 3]
            kap = p0[b0 + 6]
            out[base] = samp[b1 + 1]
            out[base + 1] = samp[b1 + 2]
            out[base + 2] = samp[b1] - p0[b0]
            out[base + 3] = occ
            out[base + 4] = depth_weight * val * kap * kap


# ---------------------------------------------------------------------------------------------
# Lagged-diffusivity step: data weights, diffusivities, per-pixel 3x3 inverse
# ---------------------------------------------------------------------------------------------


@njit(**_JIT)
def build_system(lin: np.ndarray, pix0: np.ndarray, u0: np.ndarray, v0: np.ndarray,
                 u: np.ndarray, v: np.ndarray, w: np.ndarray, c_n: np.int64,
                 grad_weight: np.float32, eps: np.float32, alpha: np.float32,
                 eps_s: np.float32, gamma: np.float32, sys: np.ndarray,
                 phi: np.ndarray) -> None:
    """Linearised Euler-Lagrange system of one lagged-diffusivity iteration.

    ``sys`` (H, W, 13) receives per pixel: 0..5 the symmetric inverse of
    M = A + diag(D, D, Dw) (entries 11, 12, 13, 22, 23, 33), 6..8 the right-hand side b
    (data + prior part), 9..12 the edge weights to the right and below for (u, v) and for w.
    ``phi`` (H, W) is a work array for the smoothness diffusivity.
    """
    h, w_ = u.shape
    half = np.float32(0.5)
    eps2 = eps * eps
    eps_s2 = eps_s * eps_s
    base = 8 * c_n
    b0 = 3 * c_n
    # diffusivity alpha * g * psi'(|grad u|^2 + |grad v|^2 + s2 |grad w|^2)
    for y in range(h):
        yp = min(y + 1, h - 1)
        for x in range(w_):
            xp = min(x + 1, w_ - 1)
            ux = u[y, xp] - u[y, x]
            uy = u[yp, x] - u[y, x]
            vx = v[y, xp] - v[y, x]
            vy = v[yp, x] - v[y, x]
            wx = w[y, xp] - w[y, x]
            wy = w[yp, x] - w[y, x]
            s = ux * ux + uy * uy + vx * vx + vy * vy + pix0[y, x, b0 + 3] * (wx * wx + wy * wy)
            phi[y, x] = alpha * pix0[y, x, b0 + 2] * half / math.sqrt(s + eps_s2)
    for y in range(h):
        for x in range(w_):
            so = sys[y, x]
            s2c = pix0[y, x, b0 + 3]
            # edge weights (to the right / below); zero across the border
            if x < w_ - 1:
                eh = half * (phi[y, x] + phi[y, x + 1])
                ehw = eh * half * (s2c + pix0[y, x + 1, b0 + 3])
            else:
                eh = np.float32(0.0)
                ehw = np.float32(0.0)
            if y < h - 1:
                ev = half * (phi[y, x] + phi[y + 1, x])
                evw = ev * half * (s2c + pix0[y + 1, x, b0 + 3])
            else:
                ev = np.float32(0.0)
                evw = np.float32(0.0)
            so[9] = eh
            so[10] = ev
            so[11] = ehw
            so[12] = evw
            dd = eh + ev
            ddw = ehw + evw
            if x > 0:
                dd += sys[y, x - 1, 9]
                ddw += sys[y, x - 1, 11]
            if y > 0:
                dd += sys[y - 1, x, 10]
                ddw += sys[y - 1, x, 12]

            li = lin[y, x]
            p0 = pix0[y, x]
            uu0 = u0[y, x]
            vv0 = v0[y, x]
            du = u[y, x] - uu0
            dv = v[y, x] - vv0
            occ = li[base + 3]
            a11 = np.float32(0.0)
            a12 = np.float32(0.0)
            a13 = np.float32(0.0)
            a22 = np.float32(0.0)
            a23 = np.float32(0.0)
            a33 = np.float32(0.0)
            b1 = np.float32(0.0)
            b2 = np.float32(0.0)
            b3 = np.float32(0.0)
            gacc = np.float32(0.0)
            for c in range(c_n):
                o = 8 * c
                ix = li[o]
                iy = li[o + 1]
                it = li[o + 2]
                r = it + ix * du + iy * dv
                pc = occ * half / math.sqrt(r * r + eps2)
                t = it - ix * uu0 - iy * vv0
                a11 += pc * ix * ix
                a12 += pc * ix * iy
                a22 += pc * iy * iy
                b1 -= pc * ix * t
                b2 -= pc * iy * t
                rx = li[o + 6] + li[o + 3] * du + li[o + 4] * dv
                ry = li[o + 7] + li[o + 4] * du + li[o + 5] * dv
                gacc += rx * rx + ry * ry
            if grad_weight > 0:
                pg = grad_weight * occ * half / math.sqrt(gacc + eps2)
                for c in range(c_n):
                    o = 8 * c
                    ixx = li[o + 3]
                    ixy = li[o + 4]
                    iyy = li[o + 5]
                    tx = li[o + 6] - ixx * uu0 - ixy * vv0
                    ty = li[o + 7] - ixy * uu0 - iyy * vv0
                    a11 += pg * (ixx * ixx + ixy * ixy)
                    a12 += pg * (ixx * ixy + ixy * iyy)
                    a22 += pg * (ixy * ixy + iyy * iyy)
                    b1 -= pg * (ixx * tx + ixy * ty)
                    b2 -= pg * (ixy * tx + iyy * ty)
            # depth constancy: r_mm = Zx u + Zy v - w + tz
            zx = li[base]
            zy = li[base + 1]
            tz = li[base + 2] - zx * uu0 - zy * vv0
            wz = li[base + 4] * occ
            kap = p0[b0 + 6]
            rz = (zx * u[y, x] + zy * v[y, x] - w[y, x] + tz) * kap
            pz = wz * half / math.sqrt(rz * rz + eps2)
            a11 += pz * zx * zx
            a12 += pz * zx * zy
            a13 -= pz * zx
            a22 += pz * zy * zy
            a23 -= pz * zy
            a33 += pz
            b1 -= pz * zx * tz
            b2 -= pz * zy * tz
            b3 += pz * tz
            # magnitude prior gamma |(f/Z) * 3-D motion|^2 (linearised, in px^2)
            pax = p0[b0 + 4]
            pay = p0[b0 + 5]
            a11 += gamma
            a22 += gamma
            a13 += gamma * pax
            a23 += gamma * pay
            a33 += gamma * (pax * pax + pay * pay + s2c)
            m11 = a11 + dd
            m22 = a22 + dd
            m33 = a33 + ddw
            c11 = m22 * m33 - a23 * a23
            c12 = a13 * a23 - a12 * m33
            c13 = a12 * a23 - a13 * m22
            c22 = m11 * m33 - a13 * a13
            c23 = a12 * a13 - m11 * a23
            c33 = m11 * m22 - a12 * a12
            det = m11 * c11 + a12 * c12 + a13 * c13
            if det > np.float32(1e-30):
                inv = np.float32(1.0) / det
            else:
                inv = np.float32(0.0)
            so[0] = c11 * inv
            so[1] = c12 * inv
            so[2] = c13 * inv
            so[3] = c22 * inv
            so[4] = c23 * inv
            so[5] = c33 * inv
            so[6] = b1
            so[7] = b2
            so[8] = b3


# ---------------------------------------------------------------------------------------------
# Red-black block SOR
# ---------------------------------------------------------------------------------------------


@njit(**_JIT)
def sor_sweeps(sys: np.ndarray, u: np.ndarray, v: np.ndarray, w: np.ndarray,
               n_sweeps: np.int64, omega: np.float32) -> None:
    """``n_sweeps`` red-black sweeps of point-block SOR on (M - N) x = b (in place).

    ``sys`` is (H, W, 13) as written by :func:`build_system`.
    """
    h, w_ = u.shape
    for _ in range(n_sweeps):
        for colour in range(2):
            for y in range(h):
                x = (y + colour) & 1
                while x < w_:
                    s = sys[y, x]
                    r1 = s[6]
                    r2 = s[7]
                    r3 = s[8]
                    e = s[9]
                    if e != 0:
                        r1 += e * u[y, x + 1]
                        r2 += e * v[y, x + 1]
                        r3 += s[11] * w[y, x + 1]
                    e = s[10]
                    if e != 0:
                        r1 += e * u[y + 1, x]
                        r2 += e * v[y + 1, x]
                        r3 += s[12] * w[y + 1, x]
                    if x > 0:
                        sl = sys[y, x - 1]
                        e = sl[9]
                        r1 += e * u[y, x - 1]
                        r2 += e * v[y, x - 1]
                        r3 += sl[11] * w[y, x - 1]
                    if y > 0:
                        su = sys[y - 1, x]
                        e = su[10]
                        r1 += e * u[y - 1, x]
                        r2 += e * v[y - 1, x]
                        r3 += su[12] * w[y - 1, x]
                    nu = s[0] * r1 + s[1] * r2 + s[2] * r3
                    nv = s[1] * r1 + s[3] * r2 + s[4] * r3
                    nw = s[2] * r1 + s[4] * r2 + s[5] * r3
                    u[y, x] += omega * (nu - u[y, x])
                    v[y, x] += omega * (nv - v[y, x])
                    w[y, x] += omega * (nw - w[y, x])
                    x += 2


@njit(**_JIT)
def solve_level(src1: np.ndarray, pix0: np.ndarray, c_n: np.int64, u: np.ndarray,
                v: np.ndarray, w: np.ndarray, n_warps: np.int64, n_inner: np.int64,
                n_sweeps: np.int64, omega: np.float32, depth_weight: np.float32,
                missing_weight: np.float32, grad_weight: np.float32, eps: np.float32,
                alpha: np.float32, eps_s: np.float32, gamma: np.float32) -> None:
    """All warps of one pyramid level (u, v, w updated in place)."""
    h, w_ = u.shape
    lin = np.empty((h, w_, 8 * c_n + 5), np.float32)
    sys = np.empty((h, w_, 13), np.float32)
    phi = np.empty((h, w_), np.float32)
    u0 = np.empty((h, w_), np.float32)
    v0 = np.empty((h, w_), np.float32)
    for _ in range(n_warps):
        u0[:, :] = u
        v0[:, :] = v
        warp_linearise(src1, pix0, c_n, u, v, depth_weight, missing_weight, lin)
        for _k in range(n_inner):
            build_system(lin, pix0, u0, v0, u, v, w, c_n, grad_weight, eps, alpha, eps_s,
                         gamma, sys, phi)
            sor_sweeps(sys, u, v, w, n_sweeps, omega)


# ---------------------------------------------------------------------------------------------
# Depth crop (used by rt_sfamnet.features)
# ---------------------------------------------------------------------------------------------


@njit(**_JIT)
def crop_depth(depth: np.ndarray, x0: np.int64, y0: np.int64, box: np.int64, size: np.int64,
               k: np.int64, out: np.ndarray) -> None:
    """Resample the square ``[x0, x0+box) × [y0, y0+box)`` of ``depth`` (H×W uint16 mm) to
    ``out`` (size×size uint16) keeping millimetre values.

    Each output pixel looks at a k×k grid of nearest source pixels inside its footprint and
    takes the (lower) median of the non-zero ones inside the frame; 0 when there are none.
    ``k = 1`` is plain nearest-neighbour sampling.
    """
    h, w = depth.shape
    r = np.float64(box) / np.float64(size)
    buf = np.empty(k * k, np.uint16)
    for i in range(size):
        for j in range(size):
            n = 0
            for a in range(k):
                sy = int(math.floor(y0 + (i + (a + 0.5) / k) * r))
                if sy < 0 or sy >= h:
                    continue
                for b in range(k):
                    sx = int(math.floor(x0 + (j + (b + 0.5) / k) * r))
                    if sx < 0 or sx >= w:
                        continue
                    val = depth[sy, sx]
                    if val > 0:
                        m = n
                        while m > 0 and buf[m - 1] > val:
                            buf[m] = buf[m - 1]
                            m -= 1
                        buf[m] = val
                        n += 1
            out[i, j] = buf[(n - 1) // 2] if n > 0 else np.uint16(0)
