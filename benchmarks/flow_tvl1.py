"""Benchmark: TV-L1 optical flow (ours, NumPy/Numba and CuPy) against OpenCV's DualTVL1.

Prints one JSON object. On a 128 x 128 textured pair with a known sub-pixel motion it times,
interleaved so that both see the same machine load:

- ours with OpenCV's defaults (preset "opencv") and with the "live" preset, one pair per call;
- OpenCV ``cv2.optflow.DualTVL1OpticalFlow`` (same defaults) with its default thread count and
  with one thread;
- ours batched on the CPU (pairs per second, all cores);
- on a CUDA GPU (when CuPy finds one): single-pair and batched timings of both presets.

Also reports each solver's end-point error (EPE, px, pixels >= 10 px from the border) on the
pair, and the speed ratio OpenCV / ours.

Usage: ``python benchmarks/flow_tvl1.py [--n 30] [--size 128] [--batch 16] [--quick]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rt_sfamnet.flow.backend import cuda_available  # noqa: E402
from rt_sfamnet.flow.tvl1 import moved_pair, time_tvl1, tvl1, tvl1_with_iterations  # noqa: E402


def _stats(seconds: list[float]) -> dict:
    ms = np.asarray(seconds) * 1e3
    return {"ms_median": round(float(np.median(ms)), 3), "ms_p95": round(float(np.percentile(ms, 95)), 3),
            "ms_min": round(float(ms.min()), 3), "n": int(ms.size)}


def _epe(flow: np.ndarray, truth: np.ndarray, border: int = 10) -> float:
    d = (flow - truth)[border:-border, border:-border]
    return round(float(np.hypot(d[..., 0], d[..., 1]).mean()), 4)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=30, help="timed calls of our solver per setting")
    ap.add_argument("--n-opencv", type=int, default=8, help="timed calls of OpenCV per setting")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16, help="pairs per batched CPU call")
    ap.add_argument("--quick", action="store_true", help="few repetitions (smoke test)")
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.n_opencv, args.batch = 3, 2, 4

    import cv2  # noqa: PLC0415

    I0, I1, truth = moved_pair(lambda x, y: (0.7 + 0 * x, -0.4 + 0 * y), size=args.size, seed=0)
    u0 = np.round(I0 * 255).astype(np.uint8)
    u1 = np.round(I1 * 255).astype(np.uint8)

    # warm up (Numba compiles or loads its cache)
    tvl1(u0, u1, backend="numpy", preset="live")
    tvl1(u0, u1, backend="numpy", preset="opencv")

    default_threads = cv2.getNumThreads()
    solver = cv2.optflow.DualTVL1OpticalFlow_create()
    t_ours = {"opencv": [], "live": []}
    t_cv = {"default": [], "1": []}
    flows = {}
    for i in range(max(args.n, args.n_opencv)):
        for preset in ("opencv", "live"):
            if i < args.n:
                t = time.perf_counter()
                flows[preset] = tvl1(u0, u1, backend="numpy", preset=preset)
                t_ours[preset].append(time.perf_counter() - t)
        if i < args.n_opencv:
            for key, threads in (("default", default_threads), ("1", 1)):
                cv2.setNumThreads(threads)
                t = time.perf_counter()
                flows["cv2"] = solver.calc(u0, u1, None)
                t_cv[key].append(time.perf_counter() - t)
            cv2.setNumThreads(default_threads)

    _, it_def = tvl1_with_iterations(u0[None], u1[None], backend="numpy", preset="opencv")
    _, it_live = tvl1_with_iterations(u0[None], u1[None], backend="numpy", preset="live")
    ours_def = _stats(t_ours["opencv"])
    ours_live = _stats(t_ours["live"])
    cv_def = _stats(t_cv["default"])
    cv_one = _stats(t_cv["1"])
    result = {
        "benchmark": "flow_tvl1",
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "python": platform.python_version(), "opencv": cv2.__version__,
                    "opencv_default_threads": default_threads},
        "size": args.size,
        "motion_px": [0.7, -0.4],
        "cpu": {
            "ours_opencv_defaults": {**ours_def, "epe_px": _epe(flows["opencv"], truth),
                                     "inner_iterations": int(it_def[0])},
            "ours_live": {**ours_live, "epe_px": _epe(flows["live"], truth),
                          "inner_iterations": int(it_live[0])},
            "opencv_dualtvl1_default_threads": {**cv_def, "epe_px": _epe(flows["cv2"], truth)},
            "opencv_dualtvl1_1_thread": cv_one,
            "speedup_vs_opencv_default_threads": round(cv_def["ms_median"] / ours_def["ms_median"], 2),
            "speedup_vs_opencv_1_thread": round(cv_one["ms_median"] / ours_def["ms_median"], 2),
            "batched_live": time_tvl1("numpy", n=max(2, args.n // 5), size=args.size,
                                      batch=args.batch, preset="live", warmup=1),
            "batched_opencv_defaults": time_tvl1("numpy", n=max(2, args.n // 10),
                                                 size=args.size, batch=args.batch,
                                                 preset="opencv", warmup=1),
        },
    }
    if cuda_available():
        gpu = {}
        for preset in ("live", "opencv"):
            gpu[f"{preset}_single"] = time_tvl1("cupy", n=args.n, size=args.size, batch=1,
                                                preset=preset)
            for batch in (64, 256):
                gpu[f"{preset}_batch{batch}"] = time_tvl1("cupy", n=max(3, args.n // 5),
                                                          size=args.size, batch=batch,
                                                          preset=preset)
        f_gpu = tvl1(u0, u1, backend="cupy", preset="opencv")
        gpu["epe_px_opencv_defaults"] = _epe(f_gpu, truth)
        gpu["max_abs_diff_vs_cpu_px"] = float(np.abs(f_gpu - flows["opencv"]).max())
        result["gpu"] = gpu
    else:
        result["gpu"] = None
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
