"""Benchmark of the SFAMNet forward pass and the spotting post-processing (CPU unless asked).

Prints one JSON object:

- ``forward``: milliseconds per call of :meth:`rt_sfamnet.predictor.Predictor.predict` for a batch
  of 1 (the live path; target <= 2 ms on the CPU) and of 1,024 samples (training / offline),
  with 1 and with all torch threads, oneDNN convolutions off (the Predictor's default) and on
  (median, p95 and min over repeats; min is the least disturbed by other processes), and the
  per-sample cost;
- ``spotting``: offline :func:`rt_sfamnet.spotting.spot` cost per sample on a 98 s video at
  frame_skip 2 (1,470 samples, the CAS(ME)^3 average), and :class:`StreamingSpotter` cost per
  pushed sample (mean and p99 of ``push``).

Usage::

    python benchmarks/model.py [--device cpu|cuda] [--repeats N] [--emotions 4|7]
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

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _stats(times_s: list[float]) -> dict:
    a = np.asarray(times_s) * 1e3
    return {"median_ms": round(float(np.median(a)), 4), "p95_ms": round(float(np.percentile(a, 95)), 4),
            "min_ms": round(float(a.min()), 4)}


def bench_forward(device: str, repeats: int, emotions: int) -> dict:
    import torch

    from rt_sfamnet.model import SFAMNet
    from rt_sfamnet.predictor import Predictor
    from rt_sfamnet.weights import WeightsMeta

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    out = {}
    default_threads = torch.get_num_threads()
    onednn_modes = (False, True) if device == "cpu" else (True,)
    for threads, onednn in [(t, o) for t in sorted({1, default_threads}) for o in onednn_modes]:
        pred = Predictor(SFAMNet(emotions), WeightsMeta(emotions=emotions), device=device,
                         onednn=onednn)
        torch.set_num_threads(threads)
        row = {}
        for batch, reps in ((1, repeats), (1024, max(3, repeats // 400))):
            maps = (rng.standard_normal((batch, 3, 42, 42)) * 0.01).astype(np.float32)
            for _ in range(20 if batch == 1 else 1):
                pred.predict(maps)
            if device == "cuda":
                torch.cuda.synchronize()
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                pred.predict(maps)  # includes the copy back to NumPy (synchronises)
                times.append(time.perf_counter() - t0)
            s = _stats(times)
            s["per_sample_us"] = round(s["median_ms"] * 1e3 / batch, 3)
            s["repeats"] = reps
            row[f"batch_{batch}"] = s
        out[f"threads_{threads}" + ("" if device != "cpu" else f"_onednn_{'on' if onednn else 'off'}")] = row
    torch.set_num_threads(default_threads)
    return out


def bench_spotting(repeats: int) -> dict:
    from rt_sfamnet.spotting import SpottingConfig, StreamingSpotter, spot

    rng = np.random.default_rng(1)
    n = 1470
    s = 0.08 * rng.random(n)
    for c in rng.integers(0, n, 12):  # a dozen expressions of various widths
        w = int(rng.integers(5, 40))
        lo, hi = max(0, c - w // 2), min(n, c + w // 2 + 1)
        s[lo:hi] = np.maximum(s[lo:hi], rng.uniform(0.6, 1.0))
    labels = [str(x) for x in rng.choice(["negative", "positive", "surprise", "others"], n)]
    cfg = SpottingConfig(video_threshold=None)
    found = spot(s, labels, cfg)
    times = []
    for _ in range(max(5, repeats // 50)):
        t0 = time.perf_counter()
        spot(s, labels, cfg)
        times.append(time.perf_counter() - t0)
    offline = _stats(times)
    offline["per_sample_us"] = round(offline["median_ms"] * 1e3 / n, 3)
    push_times = []
    for _ in range(3):
        sp = StreamingSpotter(cfg)
        for x, lab in zip(s, labels, strict=False):
            t0 = time.perf_counter()
            sp.push(x, lab)
            push_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        sp.finish()
        finish_ms = (time.perf_counter() - t0) * 1e3
    a = np.asarray(push_times) * 1e6
    return {
        "samples": n,
        "intervals": len(found),
        "offline_video": offline,
        "streaming_push": {"mean_us": round(float(a.mean()), 2),
                           "median_us": round(float(np.median(a)), 2),
                           "p99_us": round(float(np.percentile(a, 99)), 2),
                           "max_us": round(float(a.max()), 2)},
        "streaming_finish_ms": round(finish_ms, 3),
        "latency_samples": StreamingSpotter(cfg).latency_by_type(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--repeats", type=int, default=2000, help="batch-1 forward repeats")
    ap.add_argument("--emotions", type=int, default=4, choices=(4, 7))
    args = ap.parse_args(argv)
    import torch

    result = {
        "benchmark": "model",
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "cpus": os.cpu_count(), "torch": torch.__version__,
                    "torch_threads_default": torch.get_num_threads()},
        "device": args.device,
        "forward": bench_forward(args.device, args.repeats, args.emotions),
        "spotting": bench_spotting(args.repeats),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
