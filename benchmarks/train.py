"""Time of one LOSO training fold with the release settings (batch 1024, Adam 1e-4).

The fold's training set has the size of a CAS(ME)^3 part A fold (default 6000 samples:
~2100 positive spotting samples, ~840 ground-truth samples and as many negatives), made of
synthetic maps, so no dataset is needed. The data are moved to the device once; every step
indexes and augments on the device (see ``rt_sfamnet.training.train_model``).

Usage::

    python benchmarks/train.py [--steps 1000] [--samples 6000] [--devices cpu cuda]

Prints one JSON object: per device the measured seconds, seconds per step and the time
projected for the release's 1000 steps (when fewer steps were run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np


def fold_data(n: int, emotions: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    maps = rng.normal(0.0, 1.0, (n, 3, 42, 42)).astype(np.float32)
    spot = (rng.random(n) < 0.5).astype(np.float32)
    cls = np.where(spot > 0, rng.integers(0, emotions, n), emotions).astype(np.int64)
    return maps, spot, cls


def main() -> None:
    import torch

    from rt_sfamnet.training import TrainConfig, train_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=6000)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--devices", nargs="+", default=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: fastest here)")
    args = ap.parse_args()
    data = fold_data(args.samples)
    out = {"benchmark": "train_fold", "samples": args.samples, "batch_size": args.batch_size,
           "steps": args.steps, "torch": torch.__version__, "cpu": platform.processor() or
           platform.machine(), "cpu_count": os.cpu_count(), "results": {}}
    for dev in args.devices:
        if dev == "cuda" and not torch.cuda.is_available():
            out["results"][dev] = "unavailable"
            continue
        cfg = TrainConfig(steps=args.steps, batch_size=args.batch_size, device=dev,
                          threads=args.threads)
        # warm-up (kernel selection, allocator) with a few steps
        train_model(data, TrainConfig(steps=3, batch_size=args.batch_size, device=dev,
                                      threads=args.threads), 1.0, seed=0)
        t0 = time.perf_counter()
        _, info = train_model(data, cfg, 1.0, seed=0)
        wall = time.perf_counter() - t0
        per_step = info["seconds"] / max(args.steps, 1)
        out["results"][dev] = {
            "seconds_train_loop": round(info["seconds"], 3),
            "seconds_total": round(wall, 3),
            "seconds_per_step": round(per_step, 5),
            "projected_1000_steps_s": round(per_step * 1000, 2),
            "threads": torch.get_num_threads(),
            "device_name": (torch.cuda.get_device_name(0) if dev == "cuda" else "cpu"),
            "loss_last50": info["loss"],
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
