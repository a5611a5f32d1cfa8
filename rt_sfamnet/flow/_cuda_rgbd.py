"""CUDA kernels (CuPy RawModule) of the RGB-D scene flow solver, batched over N pairs.

The arithmetic mirrors :mod:`rt_sfamnet.flow._numba_rgbd` kernel by kernel (same formulas, same
float32 order of operations where it matters), so CuPy and NumPy results agree to float32
rounding amplified by the iterations (checked by ``tests/flow/test_gpu_rgbd.py`` and
``benchmarks/gpu_check.py``).

Launch schedule of one call (N pairs of H×W, L pyramid levels, ``warps`` W, ``inner`` K):

- depth fill: 1 conversion + ``fill_iterations`` 5×5 median passes + 1 fallback fill
  (a per-pair median of the valid depths, computed only when holes remain);
- pyramid: per level 3 launches (horizontal blur, vertical blur, bilinear resize) on all
  planes of all pairs at once;
- per level: 1 set-up launch, 1 flow upsampling, then W × (1 warp + K × (1 fused
  "diffusivity + edges + 3×3 system" launch + 1 SOR launch)). The SOR launch runs *all*
  ``sweeps`` red-black sweeps of one iteration: one thread block per pair, the two colours
  separated by ``__syncthreads()``, so the launch count does not grow with the sweeps.

Every launch covers the whole batch. CuPy is imported lazily (this module is only imported
when the ``cupy`` backend is used).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .pyramid import blur_kernel, pyramid_sigma

_SOURCE = r"""
#define HALF 0.5f
// A 64-bit index type of our own: NVRTC and the CPU emulation agree on it without headers.
typedef unsigned long long idx_t;

__device__ __forceinline__ float finite_or_zero(float a) {
    return (a == a && fabsf(a) <= 3.402823466e38f) ? a : 0.f;
}

__device__ __forceinline__ float bil(const float* a, int W, int x0, int y0,
                                     float w00, float w01, float w10, float w11) {
    const float* r0 = a + (idx_t)y0 * W + x0;
    const float* r1 = r0 + W;
    return w00 * r0[0] + w01 * r0[1] + w10 * r1[0] + w11 * r1[1];
}

// ------------------------------------------------------------------ depth hole filling
// One 5x5 median pass over N maps (H x W). Missing = value <= 0.
extern "C" __global__ void fill_pass(const float* __restrict__ cur, float* __restrict__ nxt,
                                     int N, int H, int W) {
    idx_t total = (idx_t)N * H * W;
    idx_t i = (idx_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= total) return;
    int x = (int)(i % W);
    int y = (int)((i / W) % H);
    idx_t base = i - (idx_t)y * W - x;
    float val = cur[i];
    if (val > 0.f) { nxt[i] = val; return; }
    float buf[25];
    int n = 0;
    for (int dy = -2; dy <= 2; ++dy) {
        int yy = y + dy;
        if (yy < 0 || yy >= H) continue;
        for (int dx = -2; dx <= 2; ++dx) {
            int xx = x + dx;
            if (xx < 0 || xx >= W) continue;
            float v = cur[base + (idx_t)yy * W + xx];
            if (v > 0.f) {
                int k = n;
                while (k > 0 && buf[k - 1] > v) { buf[k] = buf[k - 1]; --k; }
                buf[k] = v;
                ++n;
            }
        }
    }
    nxt[i] = n > 0 ? buf[(n - 1) / 2] : 0.f;
}

// ------------------------------------------------------------------ resampling
// Separable 5-tap blur with clamped borders over P planes of H x W.
extern "C" __global__ void blur_h(const float* __restrict__ src, float* __restrict__ dst,
                                  int P, int H, int W, float k0, float k1, float k2) {
    idx_t total = (idx_t)P * H * W;
    idx_t i = (idx_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= total) return;
    int x = (int)(i % W);
    const float* row = src + (i - x);
    int xm1 = max(x - 1, 0), xm2 = max(x - 2, 0);
    int xp1 = min(x + 1, W - 1), xp2 = min(x + 2, W - 1);
    dst[i] = k0 * row[x] + k1 * (row[xm1] + row[xp1]) + k2 * (row[xm2] + row[xp2]);
}

extern "C" __global__ void blur_v(const float* __restrict__ src, float* __restrict__ dst,
                                  int P, int H, int W, float k0, float k1, float k2) {
    idx_t total = (idx_t)P * H * W;
    idx_t i = (idx_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= total) return;
    int x = (int)(i % W);
    int y = (int)((i / W) % H);
    const float* pl = src + (i - (idx_t)y * W - x);
    int ym1 = max(y - 1, 0), ym2 = max(y - 2, 0);
    int yp1 = min(y + 1, H - 1), yp2 = min(y + 2, H - 1);
    dst[i] = k0 * pl[(idx_t)y * W + x] + k1 * (pl[(idx_t)ym1 * W + x] + pl[(idx_t)yp1 * W + x])
           + k2 * (pl[(idx_t)ym2 * W + x] + pl[(idx_t)yp2 * W + x]);
}

// Bilinear resize of P planes h x w -> ho x wo (pixel centres aligned). Plane p is
// multiplied by s0, s1 or s2 according to (p / group) % period (period 1: s0 for all).
extern "C" __global__ void resize_bilinear(const float* __restrict__ src, float* __restrict__ dst,
                                           int P, int h, int w, int ho, int wo, int group,
                                           int period, float s0, float s1, float s2) {
    idx_t total = (idx_t)P * ho * wo;
    idx_t i = (idx_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= total) return;
    int x = (int)(i % wo);
    int y = (int)((i / wo) % ho);
    idx_t p = i / ((idx_t)ho * wo);
    const float* a = src + p * (idx_t)h * w;
    float ry = (float)h / (float)ho;
    float rx = (float)w / (float)wo;
    float sy = ((float)y + 0.5f) * ry - 0.5f;
    sy = fminf(fmaxf(sy, 0.f), (float)(h - 1));
    int y0 = h > 1 ? min((int)sy, h - 2) : 0;
    float fy = sy - (float)y0;
    int y1 = h > 1 ? y0 + 1 : 0;
    float sx = ((float)x + 0.5f) * rx - 0.5f;
    sx = fminf(fmaxf(sx, 0.f), (float)(w - 1));
    int x0 = w > 1 ? min((int)sx, w - 2) : 0;
    float fx = sx - (float)x0;
    int x1 = w > 1 ? x0 + 1 : 0;
    float top = a[(idx_t)y0 * w + x0] * (1.f - fx) + a[(idx_t)y0 * w + x1] * fx;
    float bot = a[(idx_t)y1 * w + x0] * (1.f - fx) + a[(idx_t)y1 * w + x1] * fx;
    int k = (int)((p / (idx_t)group) % (idx_t)period);
    float s = k == 0 ? s0 : (k == 1 ? s1 : s2);
    dst[i] = (top * (1.f - fy) + bot * fy) * s;
}

// ------------------------------------------------------------------ level set-up
// i0, i1: N x C x H x W; z0, z1, m0: N x H x W; fx..cy: N base intrinsics, sx/sy level scale.
// d0: N x 2C x H x W; d1: N x 5C x H x W; z1d: N x 2 x H x W; aux: N x 5 x H x W.
extern "C" __global__ void level_setup(
        const float* __restrict__ i0, const float* __restrict__ i1,
        const float* __restrict__ z0, const float* __restrict__ z1,
        const float* __restrict__ m0,
        const double* __restrict__ bfx, const double* __restrict__ bfy,
        const double* __restrict__ bcx, const double* __restrict__ bcy,
        double sxs, double sys_, int N, int C, int H, int W,
        float sig0, float sig2, float kappa_eq, float edge_color, float edge_depth,
        float edge_floor,
        float* __restrict__ d0, float* __restrict__ d1, float* __restrict__ z1d,
        float* __restrict__ aux) {
    idx_t HW = (idx_t)H * W;
    idx_t total = (idx_t)N * HW;
    idx_t i = (idx_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= total) return;
    int x = (int)(i % W);
    int y = (int)((i / W) % H);
    int n = (int)(i / HW);
    float fx = (float)(bfx[n] * sxs);
    float fy = (float)(bfy[n] * sys_);
    float cx = (float)((bcx[n] + 0.5) * sxs - 0.5);
    float cy = (float)((bcy[n] + 0.5) * sys_ - 0.5);
    int ym = max(y - 1, 0), yp = min(y + 1, H - 1);
    int xm = max(x - 1, 0), xp = min(x + 1, W - 1);
    idx_t pix = (idx_t)y * W + x;
    float gsum = 0.f;
    for (int c = 0; c < C; ++c) {
        const float* a0 = i0 + ((idx_t)n * C + c) * HW;
        const float* a1 = i1 + ((idx_t)n * C + c) * HW;
        float a0x = HALF * (a0[(idx_t)y * W + xp] - a0[(idx_t)y * W + xm]);
        float a0y = HALF * (a0[(idx_t)yp * W + x] - a0[(idx_t)ym * W + x]);
        d0[((idx_t)n * 2 * C + 2 * c) * HW + pix] = a0x;
        d0[((idx_t)n * 2 * C + 2 * c + 1) * HW + pix] = a0y;
        gsum += a0x * a0x + a0y * a0y;
        float ctr = a1[pix];
        idx_t o = ((idx_t)n * 5 * C + 5 * c) * HW + pix;
        d1[o] = HALF * (a1[(idx_t)y * W + xp] - a1[(idx_t)y * W + xm]);
        d1[o + HW] = HALF * (a1[(idx_t)yp * W + x] - a1[(idx_t)ym * W + x]);
        d1[o + 2 * HW] = a1[(idx_t)y * W + xp] - 2.f * ctr + a1[(idx_t)y * W + xm];
        d1[o + 3 * HW] = 0.25f * (a1[(idx_t)yp * W + xp] - a1[(idx_t)yp * W + xm]
                                  - a1[(idx_t)ym * W + xp] + a1[(idx_t)ym * W + xm]);
        d1[o + 4 * HW] = a1[(idx_t)yp * W + x] - 2.f * ctr + a1[(idx_t)ym * W + x];
    }
    const float* Z0 = z0 + (idx_t)n * HW;
    const float* Z1 = z1 + (idx_t)n * HW;
    z1d[((idx_t)n * 2) * HW + pix] = HALF * (Z1[(idx_t)y * W + xp] - Z1[(idx_t)y * W + xm]);
    z1d[((idx_t)n * 2 + 1) * HW + pix] = HALF * (Z1[(idx_t)yp * W + x] - Z1[(idx_t)ym * W + x]);
    float gzx = HALF * (Z0[(idx_t)y * W + xp] - Z0[(idx_t)y * W + xm]);
    float gzy = HALF * (Z0[(idx_t)yp * W + x] - Z0[(idx_t)ym * W + x]);
    float gmag = sqrtf(gsum / (float)C);
    float gc = expf(-edge_color * gmag);
    if (gc < edge_floor) gc = edge_floor;
    float q = (gzx * gzx + gzy * gzy) / (edge_depth * edge_depth);
    q = q * m0[(idx_t)n * HW + pix];
    float zz = Z0[pix];
    idx_t ao = ((idx_t)n * 5) * HW + pix;
    aux[ao] = gc / (1.f + q);
    aux[ao + HW] = (fx * fy) / (zz * zz);
    aux[ao + 2 * HW] = ((float)x - cx) / zz;
    aux[ao + 3 * HW] = ((float)y - cy) / zz;
    float zm = zz * 0.001f;
    aux[ao + 4 * HW] = kappa_eq / (sig0 + sig2 * zm * zm);
}

// ------------------------------------------------------------------ warp / linearise
// lin: N x (8C + 5) x H x W (entries as in _numba_rgbd). u, v: N x H x W; their values are
// also copied to u0, v0 (the point the data terms are linearised at).
extern "C" __global__ void warp_linearise(
        const float* __restrict__ i0, const float* __restrict__ i1,
        const float* __restrict__ d0, const float* __restrict__ d1,
        const float* __restrict__ z0, const float* __restrict__ z1,
        const float* __restrict__ z1d, const float* __restrict__ m0,
        const float* __restrict__ m1, const float* __restrict__ aux,
        const float* __restrict__ u, const float* __restrict__ v,
        int N, int C, int H, int W, float depth_weight, float missing_weight,
        float* __restrict__ lin, float* __restrict__ u0, float* __restrict__ v0) {
    idx_t HW = (idx_t)H * W;
    idx_t total = (idx_t)N * HW;
    idx_t i = (idx_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= total) return;
    int x = (int)(i % W);
    int y = (int)((i / W) % H);
    int n = (int)(i / HW);
    idx_t pix = (idx_t)y * W + x;
    int K = 8 * C + 5;
    float* L = lin + (idx_t)n * K * HW + pix;
    float uu = u[i], vv = v[i];
    u0[i] = uu;  // the linearisation point of this warp
    v0[i] = vv;
    float sx = (float)x + uu;
    float sy = (float)y + vv;
    float occ = 1.f;
    if (sx < 0.f || sx > (float)(W - 1) || sy < 0.f || sy > (float)(H - 1)) occ = 0.f;
    sx = fminf(fmaxf(sx, 0.f), (float)(W - 1));
    sy = fminf(fmaxf(sy, 0.f), (float)(H - 1));
    int x0 = min((int)sx, W - 2);
    int y0 = min((int)sy, H - 2);
    float ax = sx - (float)x0;
    float ay = sy - (float)y0;
    float w00 = (1.f - ax) * (1.f - ay);
    float w01 = ax * (1.f - ay);
    float w10 = (1.f - ax) * ay;
    float w11 = ax * ay;
    for (int c = 0; c < C; ++c) {
        const float* a1 = i1 + ((idx_t)n * C + c) * HW;
        const float* D1 = d1 + ((idx_t)n * 5 * C + 5 * c) * HW;
        float i1w = bil(a1, W, x0, y0, w00, w01, w10, w11);
        float i1x = bil(D1, W, x0, y0, w00, w01, w10, w11);
        float i1y = bil(D1 + HW, W, x0, y0, w00, w01, w10, w11);
        float ixx = bil(D1 + 2 * HW, W, x0, y0, w00, w01, w10, w11);
        float ixy = bil(D1 + 3 * HW, W, x0, y0, w00, w01, w10, w11);
        float iyy = bil(D1 + 4 * HW, W, x0, y0, w00, w01, w10, w11);
        float a0x = d0[((idx_t)n * 2 * C + 2 * c) * HW + pix];
        float a0y = d0[((idx_t)n * 2 * C + 2 * c + 1) * HW + pix];
        float* o = L + (idx_t)(8 * c) * HW;
        o[0] = HALF * (i1x + a0x);
        o[HW] = HALF * (i1y + a0y);
        o[2 * HW] = i1w - i0[((idx_t)n * C + c) * HW + pix];
        o[3 * HW] = ixx;
        o[4 * HW] = ixy;
        o[5 * HW] = iyy;
        o[6 * HW] = i1x - a0x;
        o[7 * HW] = i1y - a0y;
    }
    const float* Z1 = z1 + (idx_t)n * HW;
    const float* ZD = z1d + (idx_t)n * 2 * HW;
    float z1w = bil(Z1, W, x0, y0, w00, w01, w10, w11);
    float zx = bil(ZD, W, x0, y0, w00, w01, w10, w11);
    float zy = bil(ZD + HW, W, x0, y0, w00, w01, w10, w11);
    float m1w = bil(m1 + (idx_t)n * HW, W, x0, y0, w00, w01, w10, w11);
    float val = missing_weight + (1.f - missing_weight) * m0[i] * m1w;
    float kap = aux[((idx_t)n * 5 + 4) * HW + pix];
    float* b = L + (idx_t)(8 * C) * HW;
    b[0] = zx;
    b[HW] = zy;
    b[2 * HW] = z1w - z0[i];
    b[3 * HW] = occ;
    b[4 * HW] = depth_weight * val * kap * kap;
}

// ------------------------------------------------------------------ lagged-diffusivity system
__device__ __forceinline__ float phi_at(const float* U, const float* V, const float* Wz,
                                        const float* g, const float* s2, int H, int W,
                                        int y, int x, float alpha, float eps_s2) {
    int yp = min(y + 1, H - 1), xp = min(x + 1, W - 1);
    idx_t p = (idx_t)y * W + x;
    float c_u = U[p], c_v = V[p], c_w = Wz[p];
    float ux = U[(idx_t)y * W + xp] - c_u;
    float uy = U[(idx_t)yp * W + x] - c_u;
    float vx = V[(idx_t)y * W + xp] - c_v;
    float vy = V[(idx_t)yp * W + x] - c_v;
    float wx = Wz[(idx_t)y * W + xp] - c_w;
    float wy = Wz[(idx_t)yp * W + x] - c_w;
    float s = ux * ux + uy * uy + vx * vx + vy * vy + s2[p] * (wx * wx + wy * wy);
    return alpha * g[p] * HALF / sqrtf(s + eps_s2);
}

// sys: N x 13 x H x W (layout as in _numba_rgbd.build_system).
extern "C" __global__ void build_system(
        const float* __restrict__ lin, const float* __restrict__ aux,
        const float* __restrict__ u0, const float* __restrict__ v0,
        const float* __restrict__ u, const float* __restrict__ v, const float* __restrict__ w,
        int N, int C, int H, int W, float grad_weight, float eps, float alpha, float eps_s,
        float gamma, float* __restrict__ sys) {
    idx_t HW = (idx_t)H * W;
    idx_t total = (idx_t)N * HW;
    idx_t i = (idx_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= total) return;
    int x = (int)(i % W);
    int y = (int)((i / W) % H);
    int n = (int)(i / HW);
    idx_t pix = (idx_t)y * W + x;
    float eps2 = eps * eps;
    float eps_s2 = eps_s * eps_s;
    const float* U = u + (idx_t)n * HW;
    const float* V = v + (idx_t)n * HW;
    const float* Wz = w + (idx_t)n * HW;
    const float* A = aux + (idx_t)n * 5 * HW;
    const float* g = A;
    const float* s2 = A + HW;
    float* S = sys + (idx_t)n * 13 * HW + pix;

    float ph = phi_at(U, V, Wz, g, s2, H, W, y, x, alpha, eps_s2);
    float eh = 0.f, ehw = 0.f, ev = 0.f, evw = 0.f;
    if (x < W - 1) {
        float pr = phi_at(U, V, Wz, g, s2, H, W, y, x + 1, alpha, eps_s2);
        eh = HALF * (ph + pr);
        ehw = eh * HALF * (s2[pix] + s2[pix + 1]);
    }
    if (y < H - 1) {
        float pd = phi_at(U, V, Wz, g, s2, H, W, y + 1, x, alpha, eps_s2);
        ev = HALF * (ph + pd);
        evw = ev * HALF * (s2[pix] + s2[pix + W]);
    }
    float dd = eh + ev;
    float ddw = ehw + evw;
    if (x > 0) {
        float pl = phi_at(U, V, Wz, g, s2, H, W, y, x - 1, alpha, eps_s2);
        float el = HALF * (pl + ph);
        dd += el;
        ddw += el * HALF * (s2[pix - 1] + s2[pix]);
    }
    if (y > 0) {
        float pu = phi_at(U, V, Wz, g, s2, H, W, y - 1, x, alpha, eps_s2);
        float eu = HALF * (pu + ph);
        dd += eu;
        ddw += eu * HALF * (s2[pix - W] + s2[pix]);
    }
    S[9 * HW] = eh;
    S[10 * HW] = ev;
    S[11 * HW] = ehw;
    S[12 * HW] = evw;

    const float* L = lin + (idx_t)n * (8 * C + 5) * HW + pix;
    float uu0 = u0[i], vv0 = v0[i];
    float du = U[pix] - uu0;
    float dv = V[pix] - vv0;
    float occ = L[(idx_t)(8 * C + 3) * HW];
    float a11 = 0.f, a12 = 0.f, a13 = 0.f, a22 = 0.f, a23 = 0.f, a33 = 0.f;
    float b1 = 0.f, b2 = 0.f, b3 = 0.f, gacc = 0.f;
    for (int c = 0; c < C; ++c) {
        const float* o = L + (idx_t)(8 * c) * HW;
        float ix = o[0], iy = o[HW], it = o[2 * HW];
        float r = it + ix * du + iy * dv;
        float pc = occ * HALF / sqrtf(r * r + eps2);
        float t = it - ix * uu0 - iy * vv0;
        a11 += pc * ix * ix;
        a12 += pc * ix * iy;
        a22 += pc * iy * iy;
        b1 -= pc * ix * t;
        b2 -= pc * iy * t;
        float rx = o[6 * HW] + o[3 * HW] * du + o[4 * HW] * dv;
        float ry = o[7 * HW] + o[4 * HW] * du + o[5 * HW] * dv;
        gacc += rx * rx + ry * ry;
    }
    if (grad_weight > 0.f) {
        float pg = grad_weight * occ * HALF / sqrtf(gacc + eps2);
        for (int c = 0; c < C; ++c) {
            const float* o = L + (idx_t)(8 * c) * HW;
            float ixx = o[3 * HW], ixy = o[4 * HW], iyy = o[5 * HW];
            float tx = o[6 * HW] - ixx * uu0 - ixy * vv0;
            float ty = o[7 * HW] - ixy * uu0 - iyy * vv0;
            a11 += pg * (ixx * ixx + ixy * ixy);
            a12 += pg * (ixx * ixy + ixy * iyy);
            a22 += pg * (ixy * ixy + iyy * iyy);
            b1 -= pg * (ixx * tx + ixy * ty);
            b2 -= pg * (ixy * tx + iyy * ty);
        }
    }
    const float* B = L + (idx_t)(8 * C) * HW;
    float zx = B[0], zy = B[HW];
    float tz = B[2 * HW] - zx * uu0 - zy * vv0;
    float wz = B[4 * HW] * occ;
    float kap = A[4 * HW + pix];
    float rz = (zx * U[pix] + zy * V[pix] - Wz[pix] + tz) * kap;
    float pz = wz * HALF / sqrtf(rz * rz + eps2);
    a11 += pz * zx * zx;
    a12 += pz * zx * zy;
    a13 -= pz * zx;
    a22 += pz * zy * zy;
    a23 -= pz * zy;
    a33 += pz;
    b1 -= pz * zx * tz;
    b2 -= pz * zy * tz;
    b3 += pz * tz;
    float pax = A[2 * HW + pix], pay = A[3 * HW + pix];
    a11 += gamma;
    a22 += gamma;
    a13 += gamma * pax;
    a23 += gamma * pay;
    a33 += gamma * (pax * pax + pay * pay + s2[pix]);
    float m11 = a11 + dd, m22 = a22 + dd, m33 = a33 + ddw;
    float c11 = m22 * m33 - a23 * a23;
    float c12 = a13 * a23 - a12 * m33;
    float c13 = a12 * a23 - a13 * m22;
    float c22 = m11 * m33 - a13 * a13;
    float c23 = a12 * a13 - m11 * a23;
    float c33 = m11 * m22 - a12 * a12;
    float det = m11 * c11 + a12 * c12 + a13 * c13;
    float inv = det > 1e-30f ? 1.f / det : 0.f;
    S[0] = c11 * inv;
    S[HW] = c12 * inv;
    S[2 * HW] = c13 * inv;
    S[3 * HW] = c22 * inv;
    S[4 * HW] = c23 * inv;
    S[5 * HW] = c33 * inv;
    S[6 * HW] = b1;
    S[7 * HW] = b2;
    S[8 * HW] = b3;
}

// ------------------------------------------------------------------ red-black block SOR
// One thread block per pair; all sweeps of one lagged iteration in one launch.
extern "C" __global__ void sor_sweeps(const float* __restrict__ sys, float* u, float* v,
                                      float* w, int H, int W, int sweeps, float omega) {
    idx_t HW = (idx_t)H * W;
    int n = blockIdx.x;
    const float* S = sys + (idx_t)n * 13 * HW;
    float* U = u + (idx_t)n * HW;
    float* V = v + (idx_t)n * HW;
    float* Wz = w + (idx_t)n * HW;
    int Wh = (W + 1) / 2;
    int count = H * Wh;
    for (int s = 0; s < sweeps; ++s) {
        for (int colour = 0; colour < 2; ++colour) {
            for (int k = threadIdx.x; k < count; k += blockDim.x) {
                int y = k / Wh;
                int x = 2 * (k - y * Wh) + ((y + colour) & 1);
                if (x >= W) continue;
                idx_t p = (idx_t)y * W + x;
                float r1 = S[6 * HW + p], r2 = S[7 * HW + p], r3 = S[8 * HW + p];
                float e = S[9 * HW + p];
                if (e != 0.f) {
                    r1 += e * U[p + 1];
                    r2 += e * V[p + 1];
                    r3 += S[11 * HW + p] * Wz[p + 1];
                }
                e = S[10 * HW + p];
                if (e != 0.f) {
                    r1 += e * U[p + W];
                    r2 += e * V[p + W];
                    r3 += S[12 * HW + p] * Wz[p + W];
                }
                if (x > 0) {
                    e = S[9 * HW + p - 1];
                    r1 += e * U[p - 1];
                    r2 += e * V[p - 1];
                    r3 += S[11 * HW + p - 1] * Wz[p - 1];
                }
                if (y > 0) {
                    e = S[10 * HW + p - W];
                    r1 += e * U[p - W];
                    r2 += e * V[p - W];
                    r3 += S[12 * HW + p - W] * Wz[p - W];
                }
                float i11 = S[p], i12 = S[HW + p], i13 = S[2 * HW + p];
                float i22 = S[3 * HW + p], i23 = S[4 * HW + p], i33 = S[5 * HW + p];
                float nu = i11 * r1 + i12 * r2 + i13 * r3;
                float nv = i12 * r1 + i22 * r2 + i23 * r3;
                float nw = i13 * r1 + i23 * r2 + i33 * r3;
                float cu = U[p], cv = V[p], cw = Wz[p];
                U[p] = cu + omega * (nu - cu);
                V[p] = cv + omega * (nv - cv);
                Wz[p] = cw + omega * (nw - cw);
            }
            __syncthreads();
        }
    }
}

// ------------------------------------------------------------------ output
// flow planes N x 3 x H x W -> N x H x W x 3, NaN/inf -> 0.
extern "C" __global__ void pack_output(const float* __restrict__ u, const float* __restrict__ v,
                                       const float* __restrict__ w, float* __restrict__ out,
                                       int N, int H, int W) {
    idx_t total = (idx_t)N * H * W;
    idx_t i = (idx_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= total) return;
    float a = u[i], b = v[i], c = w[i];
    out[3 * i] = finite_or_zero(a);
    out[3 * i + 1] = finite_or_zero(b);
    out[3 * i + 2] = finite_or_zero(c);
}
"""

_MODULES: dict[int, Any] = {}
_THREADS = 256
_SOR_THREADS = 1024


def source() -> str:
    """The CUDA C source of the kernels (for inspection and offline compilation checks)."""
    return _SOURCE


class _Kernels:
    """The compiled module of one device, with its kernel handles looked up once."""

    def __init__(self, module: Any) -> None:
        self._module = module
        self._functions: dict[str, Any] = {}

    def get_function(self, name: str) -> Any:
        fn = self._functions.get(name)
        if fn is None:
            fn = self._module.get_function(name)
            self._functions[name] = fn
        return fn


def _module() -> _Kernels:
    import cupy as cp  # noqa: PLC0415

    dev = cp.cuda.Device().id
    mod = _MODULES.get(dev)
    if mod is None:
        mod = _Kernels(cp.RawModule(code=_SOURCE, options=("--std=c++14",)))
        _MODULES[dev] = mod
    return mod


def _grid(total: int) -> tuple[int]:
    return ((total + _THREADS - 1) // _THREADS,)


def _prepare_images(images: Any, name: str, color: bool):
    """N×H×W or N×H×W×3 (uint8 or float in [0, 1]) → N×C×H×W float32 (C = 3 or 1)."""
    import cupy as cp  # noqa: PLC0415

    a = cp.asarray(images)
    if a.ndim == 3:
        a = a[:, None]
    elif a.ndim == 4 and a.shape[3] == 3:
        a = cp.moveaxis(a, 3, 1)
    else:
        raise ValueError(f"{name}: expected N×H×W grey or N×H×W×3 RGB images, found shape "
                         f"{a.shape}")
    if a.dtype == cp.uint8:
        f = a.astype(cp.float32) * cp.float32(1.0 / 255.0)
    elif a.dtype.kind == "f":
        f = cp.nan_to_num(a.astype(cp.float32), nan=0.0, posinf=1.0, neginf=0.0)
    else:
        raise ValueError(f"{name}: expected uint8 (or float in [0, 1]), found dtype {a.dtype}")
    if not color and f.shape[1] > 1:
        f = f.mean(axis=1, keepdims=True, dtype=cp.float32)
    return cp.ascontiguousarray(f)


def _prepare_depth(Z: Any, name: str):
    import cupy as cp  # noqa: PLC0415

    a = cp.asarray(Z)
    if a.ndim != 3:
        raise ValueError(f"{name}: expected N×H×W depth maps (uint16 mm), found shape {a.shape}")
    if a.dtype == cp.uint16:
        return cp.ascontiguousarray(a)
    if a.dtype.kind not in "uif":
        raise ValueError(f"{name}: expected uint16 millimetres, found dtype {a.dtype}")
    f = cp.nan_to_num(a.astype(cp.float64), nan=0.0, posinf=0.0, neginf=0.0)
    return cp.ascontiguousarray(cp.clip(cp.rint(f), 0, 65535).astype(cp.uint16))


def _fill_depth(z16, iterations: int, default_mm: float):
    """(filled float32 N×H×W, valid float32 N×H×W), as _numba_rgbd.fill_depth per map."""
    import cupy as cp  # noqa: PLC0415

    mod = _module()
    n, h, w = z16.shape
    cur = z16.astype(cp.float32)
    valid = (z16 > 0).astype(cp.float32)
    nxt = cp.empty_like(cur)
    k = mod.get_function("fill_pass")
    total = n * h * w
    for _ in range(iterations):
        k(_grid(total), (_THREADS,), (cur, nxt, np.int32(n), np.int32(h), np.int32(w)))
        cur, nxt = nxt, cur
    if bool((cur <= 0).any()):
        flat = z16.reshape(n, -1)
        n_valid = (flat > 0).sum(axis=1)
        srt = cp.sort(cp.where(flat > 0, flat.astype(cp.int32), 1 << 30), axis=1)
        idx = cp.maximum((n_valid - 1) // 2, 0)
        med = cp.take_along_axis(srt, idx[:, None], axis=1)[:, 0].astype(cp.float32)
        fill = cp.where(n_valid > 0, med, cp.float32(default_mm))
        cur = cp.where(cur > 0, cur, fill[:, None, None]).astype(cp.float32)
    return cp.ascontiguousarray(cur), valid


def rgbd_flow_batch_cuda(I0s: Any, Z0s: Any, I1s: Any, Z1s: Any, fx: Any, fy: Any, cx: Any,
                         cy: Any, p: Any):
    """Scene flows of N pairs on the current CUDA device.

    Args:
        I0s, I1s: N×H×W or N×H×W×3 images (uint8 or float in [0, 1]); Z0s, Z1s: N×H×W uint16
            mm; fx, fy, cx, cy: scalars or N values; p: an ``RGBDParams`` (its
            ``level_sizes`` gives the pyramid).

    Returns:
        CuPy N×H×W×3 float32 ``(u, v, w)`` (px, px, mm).
    """
    import cupy as cp  # noqa: PLC0415

    mod = _module()
    a0 = _prepare_images(I0s, "I0s", p.color)
    a1 = _prepare_images(I1s, "I1s", p.color)
    z0u = _prepare_depth(Z0s, "Z0s")
    z1u = _prepare_depth(Z1s, "Z1s")
    if a0.shape != a1.shape:
        raise ValueError(f"I0s {a0.shape} and I1s {a1.shape} must have the same shape")
    n, c_n, h, w = a0.shape
    if z0u.shape != (n, h, w) or z1u.shape != (n, h, w):
        raise ValueError(f"Z0s {z0u.shape} and Z1s {z1u.shape} must be {(n, h, w)}")
    if min(h, w) < 4:
        raise ValueError(f"rgbd_flow needs images of at least 4×4 pixels, found {(h, w)}")

    def per_pair(val, name):
        arr = np.broadcast_to(np.asarray(val, np.float64), (n,)) if np.ndim(val) == 0 \
            else np.asarray(val, np.float64)
        if arr.shape != (n,):
            raise ValueError(f"{name}: expected a scalar or {n} values, found {arr.shape}")
        return cp.asarray(np.ascontiguousarray(arr))

    bfx, bfy, bcx, bcy = (per_pair(v_, nm) for v_, nm in ((fx, "fx"), (fy, "fy"), (cx, "cx"),
                                                           (cy, "cy")))
    if p.presmooth > 0:
        k = blur_kernel(p.presmooth)
        a0 = _blur(mod, a0, k)
        a1 = _blur(mod, a1, k)
    z0, m0 = _fill_depth(z0u, p.fill_iterations, p.default_depth_mm)
    z1, m1 = _fill_depth(z1u, p.fill_iterations, p.default_depth_mm)

    sizes = p.level_sizes(h, w)
    kern = blur_kernel(pyramid_sigma(p.pyramid_ratio))
    # all per-level input planes of a pair stacked: i0 (C), i1 (C), z0, z1, m0, m1
    planes = cp.concatenate([a0, a1, z0[:, None], z1[:, None], m0[:, None], m1[:, None]], axis=1)
    levels = [planes]
    for lh, lw in sizes[1:]:
        prev = levels[-1]
        blurred = _blur(mod, prev, kern)
        levels.append(_resize(mod, blurred, lh, lw, 1, (1.0, 1.0, 1.0), group=1))

    f32 = np.float32
    flow = None
    finest = min(p.finest_level, len(sizes) - 1)
    for li in range(len(sizes) - 1, finest - 1, -1):
        lh, lw = sizes[li]
        pl = levels[li]
        i0 = cp.ascontiguousarray(pl[:, :c_n])
        i1 = cp.ascontiguousarray(pl[:, c_n:2 * c_n])
        lz0 = cp.ascontiguousarray(pl[:, 2 * c_n])
        lz1 = cp.ascontiguousarray(pl[:, 2 * c_n + 1])
        lm0 = cp.ascontiguousarray(pl[:, 2 * c_n + 2])
        lm1 = cp.ascontiguousarray(pl[:, 2 * c_n + 3])
        # flow planes (3, N, h, w): u, v, w of all pairs, each a contiguous N x h x w block
        if flow is None:
            flow = cp.zeros((3, n, lh, lw), cp.float32)
        else:
            ph_, pw_ = flow.shape[2:]
            flow = _resize(mod, flow, lh, lw, 3, (lw / pw_, lh / ph_, 1.0), group=n)
        u, v, wz = flow[0], flow[1], flow[2]
        total = n * lh * lw
        d0 = cp.empty((n, 2 * c_n, lh, lw), cp.float32)
        d1 = cp.empty((n, 5 * c_n, lh, lw), cp.float32)
        z1d = cp.empty((n, 2, lh, lw), cp.float32)
        aux = cp.empty((n, 5, lh, lw), cp.float32)
        mod.get_function("level_setup")(
            _grid(total), (_THREADS,),
            (i0, i1, lz0, lz1, lm0, bfx, bfy, bcx, bcy, np.float64(lw / w), np.float64(lh / h),
             np.int32(n), np.int32(c_n), np.int32(lh), np.int32(lw), f32(p.sigma_z0),
             f32(p.sigma_z2), f32(p.kappa), f32(p.edge_color), f32(p.edge_depth),
             f32(p.edge_floor), d0, d1, z1d, aux))
        lin = cp.empty((n, 8 * c_n + 5, lh, lw), cp.float32)
        sys = cp.empty((n, 13, lh, lw), cp.float32)
        u0 = cp.empty_like(u)
        v0 = cp.empty_like(v)
        for _ in range(p.warps):
            mod.get_function("warp_linearise")(
                _grid(total), (_THREADS,),
                (i0, i1, d0, d1, lz0, lz1, z1d, lm0, lm1, aux, u, v, np.int32(n),
                 np.int32(c_n), np.int32(lh), np.int32(lw), f32(p.depth_weight),
                 f32(p.missing_weight), lin, u0, v0))
            for _k in range(p.inner):
                mod.get_function("build_system")(
                    _grid(total), (_THREADS,),
                    (lin, aux, u0, v0, u, v, wz, np.int32(n), np.int32(c_n), np.int32(lh),
                     np.int32(lw), f32(p.grad_weight), f32(p.eps), f32(p.alpha),
                     f32(p.eps_smooth), f32(p.gamma), sys))
                mod.get_function("sor_sweeps")(
                    (n,), (_SOR_THREADS,),
                    (sys, u, v, wz, np.int32(lh), np.int32(lw), np.int32(p.sweeps),
                     f32(p.omega)))
    if finest > 0:
        ph_, pw_ = flow.shape[2:]
        flow = _resize(mod, flow, h, w, 3, (w / pw_, h / ph_, 1.0), group=n)
    out = cp.empty((n, h, w, 3), cp.float32)
    mod.get_function("pack_output")(
        _grid(n * h * w), (_THREADS,),
        (flow[0], flow[1], flow[2], out, np.int32(n), np.int32(h), np.int32(w)))
    return out


def _blur(mod, planes, k: np.ndarray):
    """Blur every plane of an N×P×H×W float32 stack (separable 5 taps)."""
    import cupy as cp  # noqa: PLC0415

    planes = cp.ascontiguousarray(planes)
    n, pp, h, w = planes.shape
    tmp = cp.empty_like(planes)
    out = cp.empty_like(planes)
    total = n * pp * h * w
    args = (np.int32(n * pp), np.int32(h), np.int32(w), np.float32(k[0]), np.float32(k[1]),
            np.float32(k[2]))
    mod.get_function("blur_h")(_grid(total), (_THREADS,), (planes, tmp) + args)
    mod.get_function("blur_v")(_grid(total), (_THREADS,), (tmp, out) + args)
    return out


def _resize(mod, planes, ho: int, wo: int, period: int, scales: tuple[float, float, float],
            group: int = 1):
    """Bilinear resize of an A×B×h×w stack of planes; plane p (in C order over A×B) is scaled
    by ``scales[(p // group) % period]``."""
    import cupy as cp  # noqa: PLC0415

    planes = cp.ascontiguousarray(planes)
    a, b, h, w = planes.shape
    out = cp.empty((a, b, ho, wo), cp.float32)
    total = a * b * ho * wo
    mod.get_function("resize_bilinear")(
        _grid(total), (_THREADS,),
        (planes, out, np.int32(a * b), np.int32(h), np.int32(w), np.int32(ho), np.int32(wo),
         np.int32(group), np.int32(period), np.float32(scales[0]), np.float32(scales[1]),
         np.float32(scales[2])))
    return out
