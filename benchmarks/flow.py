"""Benchmark: SFAMNet input maps on the CPU (crop + TV-L1 + RGB-D scene flow + maps).

Prints one JSON object with:

- ``pipeline``: wall-clock (and process CPU) time of the live path for one pair of 640×480
  RGB-D frames: both face crops (256 px box → 128×128), TV-L1 ``live``, RGB-D flow ``live``,
  nose-motion removal and 42×42 maps, for each mode (``hybrid`` is the default and the target:
  median ≤ 40 ms on the 2-core development machine), plus each stage alone;
- ``batch``: :func:`rt_sfamnet.features.pair_maps_batch` throughput on the CPU (pairs/s);
- ``accuracy``: mean end-point error (px) and mean |w error| (mm) of the RGB-D flow presets
  (``live`` vs ``full``) and of TV-L1 (``live`` vs ``opencv``) on synthetic 128×128 pairs with
  known motion (translation, rotation, smooth field up to 3 px, local brow/cheek motion);
- ``tvl1_vs_opencv``: our TV-L1 with OpenCV's defaults against ``cv2.optflow``'s DualTVL1 on
  the same pair (times and ratio), via :func:`rt_sfamnet.flow.tvl1.time_tvl1`;
- ``machine``: CPU count and load average (other processes slow the wall-clock numbers; the
  process CPU times are less sensitive to that).

Usage: ``python benchmarks/flow.py [--n 40] [--quick]``
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

from rt_sfamnet.face import CropBox, FaceObservation  # noqa: E402
from rt_sfamnet.features import FeatureConfig, crop_frame, pair_maps, pair_maps_batch  # noqa: E402
from rt_sfamnet.flow import rgbd_flow, tvl1  # noqa: E402
from rt_sfamnet.flow.rgbd import moved_rgbd_pair  # noqa: E402
from rt_sfamnet.frames import Intrinsics, RGBDFrame  # noqa: E402

CASES = {
    "translation": lambda x, y: (1.3, -0.7, 2.0),
    "rotation": lambda x, y: (-(y - 63.5) * 0.02, (x - 63.5) * 0.02, 0.0),
    "smooth": lambda x, y: (3.0 * np.sin(x / 20.0) * np.cos(y / 25.0), 1.5 * np.cos(x / 30.0),
                            3.0 * np.exp(-((x - 64) ** 2 + (y - 64) ** 2) / 800.0)),
    "local": lambda x, y: (0 * x, -1.0 * np.exp(-((x - 64) ** 2 + (y - 35) ** 2) / 200.0),
                           4.0 * np.exp(-((x - 40) ** 2 + (y - 80) ** 2) / 150.0)),
}


def _stats(wall: list[float], cpu: list[float] | None = None) -> dict:
    ms = np.asarray(wall) * 1e3
    out = {"ms_median": round(float(np.median(ms)), 3),
           "ms_p95": round(float(np.percentile(ms, 95)), 3),
           "ms_min": round(float(ms.min()), 3), "n": int(ms.size)}
    if cpu is not None:
        out["cpu_ms_median"] = round(float(np.median(np.asarray(cpu) * 1e3)), 3)
    return out


def _time(fn, n: int, warmup: int = 2) -> dict:
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return _stats(wall, cpu)


def _frames(size_box: int = 256):
    """Two 640×480 RGB-D frames with a synthetic textured face scene inside a 256 px box."""
    I0, Z0, I1, Z1, _ = moved_rgbd_pair(
        lambda x, y: (0.6 + 0 * x, 0.3 - 0.8 * np.exp(-((x - 128) ** 2 + (y - 60) ** 2) / 600.0),
                      1.0 + 2.0 * np.exp(-((x - 70) ** 2 + (y - 180) ** 2) / 500.0)),
        size_box, seed=7)
    intr = Intrinsics(640, 480, 615.0, 615.0, 319.5, 239.5)
    frames = []
    for img, z in ((I0, Z0), (I1, Z1)):
        color = np.full((480, 640, 3), 60, np.uint8)
        depth = np.zeros((480, 640), np.uint16)
        color[100:100 + size_box, 200:200 + size_box] = img
        depth[100:100 + size_box, 200:200 + size_box] = z
        frames.append(RGBDFrame(color=color, depth=depth, timestamp=0.0, index=0,
                                intrinsics=intr))
    obs = FaceObservation(landmarks=np.zeros((468, 3), np.float32),
                          box=CropBox(200, 100, size_box), nose_xy=(328.0, 238.0))
    return frames[0], frames[1], obs


def _accuracy() -> dict:
    res: dict = {"rgbd": {}, "tvl1": {}}
    inner = (slice(8, -8), slice(8, -8))
    for preset in ("live", "full"):
        rows = {}
        for name, fn in CASES.items():
            I0, Z0, I1, Z1, gt = moved_rgbd_pair(fn, 128, seed=1)
            fl = rgbd_flow(I0, Z0, I1, Z1, 300.0, 300.0, 63.5, 63.5, backend="numpy",
                           preset=preset)
            epe = np.sqrt(((fl[..., :2] - gt[..., :2]) ** 2).sum(-1))[inner].mean()
            werr = np.abs(fl[..., 2] - gt[..., 2])[inner].mean()
            rows[name] = {"epe_px": round(float(epe), 4), "w_err_mm": round(float(werr), 4)}
        res["rgbd"][preset] = rows
    for preset in ("live", "opencv"):
        rows = {}
        for name, fn in CASES.items():
            I0, _, I1, _, gt = moved_rgbd_pair(fn, 128, seed=1)
            g0 = I0.mean(axis=2).round().astype(np.uint8)
            g1 = I1.mean(axis=2).round().astype(np.uint8)
            fl = tvl1(g0, g1, backend="numpy", preset=preset)
            epe = np.sqrt(((fl - gt[..., :2]) ** 2).sum(-1))[inner].mean()
            rows[name] = {"epe_px": round(float(epe), 4)}
        res["tvl1"][preset] = rows
    return res


def _tvl1_vs_opencv(n: int) -> dict:
    import importlib  # noqa: PLC0415

    import cv2  # noqa: PLC0415

    tvl1_mod = importlib.import_module("rt_sfamnet.flow.tvl1")  # the module, not the function

    out: dict = {}
    timer = getattr(tvl1_mod, "time_tvl1", None)
    if timer is not None:
        out["ours_opencv_preset"] = timer(backend="numpy", n=n, preset="opencv")
        out["ours_live_preset"] = timer(backend="numpy", n=n, preset="live")
    I0, I1, _ = tvl1_mod.moved_pair(lambda x, y: (0.6 + 0 * x, -0.4 + 0 * y), size=128, seed=3)
    a0 = (I0 * 255).round().astype(np.uint8)
    a1 = (I1 * 255).round().astype(np.uint8)
    solver = cv2.optflow.DualTVL1OpticalFlow_create()
    out["opencv_dualtvl1"] = _time(lambda: solver.calc(a0, a1, None), n, warmup=1)
    if "ours_opencv_preset" in out:
        out["ratio_opencv_over_ours"] = round(
            out["opencv_dualtvl1"]["ms_median"] / out["ours_opencv_preset"]["ms_median"], 3)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40, help="timed calls per setting")
    ap.add_argument("--batch", type=int, default=16, help="pairs per batched call")
    ap.add_argument("--quick", action="store_true", help="few repetitions (smoke test)")
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.batch = 3, 4

    f0, f1, obs = _frames()
    result: dict = {
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": os.cpu_count(), "load_avg_start": [round(x, 2) for x in os.getloadavg()]},
        "pipeline": {}, "stages": {},
    }
    for mode in ("hybrid", "scene", "optical"):
        cfg = FeatureConfig(mode=mode, backend="numpy")

        def run(cfg=cfg):
            c0 = crop_frame(f0, obs, cfg.crop_size)
            c1 = crop_frame(f1, obs, cfg.crop_size)
            return pair_maps(c0, c1, cfg)

        result["pipeline"][mode] = _time(run, args.n)
    c0 = crop_frame(f0, obs, 128)
    c1 = crop_frame(f1, obs, 128)
    st = result["stages"]
    st["crop_two_frames"] = _time(lambda: (crop_frame(f0, obs, 128), crop_frame(f1, obs, 128)),
                                  args.n)
    st["tvl1_live"] = _time(lambda: tvl1(c0.grey, c1.grey, backend="numpy", preset="live"),
                            args.n)
    st["rgbd_live"] = _time(lambda: rgbd_flow(c0.color, c0.depth, c1.color, c1.depth, c0.fx,
                                              c0.fy, c0.cx, c0.cy, backend="numpy",
                                              preset="live"), args.n)
    st["rgbd_full"] = _time(lambda: rgbd_flow(c0.color, c0.depth, c1.color, c1.depth, c0.fx,
                                              c0.fy, c0.cx, c0.cy, backend="numpy",
                                              preset="full"), max(3, args.n // 4))
    cfg = FeatureConfig(mode="hybrid", backend="numpy")
    c0s, c1s = [c0] * args.batch, [c1] * args.batch
    b = _time(lambda: pair_maps_batch(c0s, c1s, cfg), max(3, args.n // 8), warmup=1)
    b["pairs_per_s"] = round(args.batch / (b["ms_median"] / 1e3), 1)
    b["batch"] = args.batch
    result["batch"] = {"hybrid_cpu": b}
    result["accuracy"] = _accuracy()
    result["tvl1_vs_opencv"] = _tvl1_vs_opencv(max(3, args.n // 5))
    result["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    result["target"] = {"hybrid_ms_median_max": 40.0,
                        "met": result["pipeline"]["hybrid"]["ms_median"] <= 40.0}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
