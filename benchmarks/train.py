"""Time of one LOSO training fold with the release settings (batch 1024, Adam 1e-4).

The fold's training set has the size of a CAS(ME)^3 part A fold (default 6000 samples:
~2100 positive spotting samples, ~840 ground-truth samples and as many negatives), made of
synthetic maps, so no dataset is needed. The data are moved to the device once; every step
indexes and augments on the device (see ``rt_sfamnet.training.train_model``).

Besides the trainer itself (``current``), ``--variants grouped`` times one optimiser step of
an experimental forward pass that computes the three streams as grouped convolutions (the
same network and parameters), in the same process, for comparison. The JSON also gives the
network's FLOPs per step and the ceiling they imply on this CPU (the step time at the
machine's measured single-precision matrix-multiply rate).

Usage::

    python benchmarks/train.py [--steps 1000] [--samples 6000] [--devices cpu cuda]
                               [--threads 1] [--variants current grouped]

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


def flops_per_sample() -> int:
    """Forward multiply-adds x 2 of one sample (convolutions and linear layers)."""
    px = 42 * 42
    stream = px * (3 * 25 + 3 * 3 * 25 + 2 * 49 + 3)  # conv1, conv2, spatial gate, shortcut
    heads = 2 * (14 * 14 * 9 * 8 * 25) + 392 * (1 + 5)
    return 2 * (3 * stream + heads)


def matmul_gflops(threads: int) -> float:
    """Measured float32 matrix-multiply rate (GFLOP/s) at ``threads`` threads."""
    import torch

    torch.set_num_threads(threads)
    a = torch.randn(1024, 1024)
    torch.mm(a, a)
    best = 1e9
    for _ in range(5):
        t0 = time.perf_counter()
        torch.mm(a, a)
        best = min(best, time.perf_counter() - t0)
    return 2 * 1024**3 / best / 1e9


def _grouped_features(m, x):
    """The three streams of ``SFAMNet`` m as grouped convolutions; x ``(N, 3, 42, 42)``."""
    import torch
    from torch.nn import functional as F

    b = [m.c1[0], m.c2[0], m.c3[0]]
    w1 = torch.cat([s.conv1.weight for s in b])
    w2 = torch.cat([s.conv2.weight for s in b])
    wd = torch.cat([s.downsample[0].weight for s in b])
    ws = torch.cat([s.cbam.SpatialGate.spatial.conv.weight for s in b])
    W1 = torch.stack([s.cbam.ChannelGate.mlp[1].weight for s in b])
    b1 = torch.stack([s.cbam.ChannelGate.mlp[1].bias for s in b])
    W2 = torch.stack([s.cbam.ChannelGate.mlp[3].weight for s in b])
    b2 = torch.stack([s.cbam.ChannelGate.mlp[3].bias for s in b])
    n = x.shape[0]
    o = F.conv2d(F.relu(F.conv2d(x, w1, padding=2, groups=3)), w2, padding=2, groups=3)
    o = o.view(n, 3, 3, 42, 42)
    z = torch.stack((o.mean((3, 4)), o.amax((3, 4))))
    h = F.relu(torch.einsum("ansc,shc->ansh", z, W1) + b1)
    g = torch.einsum("ansh,sch->ansc", h, W2) + b2
    o = o * torch.sigmoid(g[0] + g[1])[..., None, None]
    pooled = torch.stack((o.amax(2), o.mean(2)), dim=2).view(n, 6, 42, 42)
    o = o * torch.sigmoid(F.conv2d(pooled, ws, padding=3, groups=3))[:, :, None]
    return F.max_pool2d(F.relu(o.reshape(n, 9, 42, 42) + F.conv2d(x, wd, groups=3)), 3, 3)


def grouped_step_seconds(data, batch: int, threads: int, steps: int) -> float:
    """Seconds per optimiser step of the grouped-convolution forward (CPU)."""
    import torch
    from torch.nn import functional as F

    from rt_sfamnet.model import SFAMNet

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    m = SFAMNet(4)
    opt = torch.optim.Adam(m.parameters(), lr=1e-4)
    x = torch.from_numpy(data[0][:batch])
    ys = torch.from_numpy(data[1][:batch])
    times = []
    for _ in range(steps + 1):
        t0 = time.perf_counter()
        f = _grouped_features(m, x)
        s = torch.sigmoid(m.fc_spot(F.max_pool2d(m.conv1(f), 3, 2, 1).flatten(1)))
        lg = m.fc_recog(F.max_pool2d(m.conv2(f), 3, 2, 1).flatten(1))
        loss = ((s[:, 0] - ys) ** 2).mean() + lg.logsumexp(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return float(np.mean(times[1:]))


def main() -> None:
    import torch

    from rt_sfamnet.training import TrainConfig, train_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=6000)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--devices", nargs="+", default=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--variants", nargs="+", default=["current"],
                    choices=("current", "grouped"))
    args = ap.parse_args()
    data = fold_data(args.samples)
    gflop_step = flops_per_sample() * 3 * args.batch_size / 1e9  # forward + backward ~ 3x
    rate = matmul_gflops(args.threads)
    out = {"benchmark": "train_fold", "samples": args.samples, "batch_size": args.batch_size,
           "steps": args.steps, "torch": torch.__version__, "cpu": platform.processor() or
           platform.machine(), "cpu_count": os.cpu_count(),
           "gflop_per_step": round(gflop_step, 2), "matmul_gflops": round(rate, 1),
           "ceiling_s_per_step": round(gflop_step / rate, 4),
           "load_avg_1min": round(os.getloadavg()[0], 2), "results": {}}
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
        if dev == "cpu" and "grouped" in args.variants:
            g = grouped_step_seconds(data, args.batch_size, args.threads, min(args.steps, 5))
            out["results"]["cpu_grouped"] = {"seconds_per_step": round(g, 5),
                                             "speedup_vs_current": round(per_step / g, 3)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
