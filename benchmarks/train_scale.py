"""Peak memory of one LOSO fold against the size of the feature cache.

Writes a cache in the real format (``rt_sfamnet.datasets.cache``, format 2) with random maps
and CAS(ME)^3-like label rates (per subject: ~9 micro-expressions, one GT sample each, and
~34 macro-expressions, spread over 13 videos), then runs one short fold
(``rt-sfamnet train --subjects 1 --steps 2``, batch 1024, evaluation on the held-out subject
included) in a child process and reads the child's peak RSS.

Usage::

    python benchmarks/train_scale.py --subjects 20 --samples-per-subject 19000 --float16 \\
        --dir scale20 --json

Prints one JSON line: ``subjects``, ``samples``, ``cache_bytes``, ``peak_rss_mb``,
``write_seconds``, ``fold_seconds``. The cache is deleted afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

VIDEOS = 13
ME_PER_SUBJECT = 9
MAE_PER_SUBJECT = 34
EMOTIONS = ("disgust", "surprise", "others", "fear", "anger", "sad", "happy")


def _intervals(rng, subject: str, video: str, n_frames: int, n_me: int, n_mae: int):
    from rt_sfamnet.intervals import Interval

    out = []
    for kind, n, rise, fall in (("micro", n_me, (6, 14), (6, 14)),
                                ("macro", n_mae, (10, 30), (15, 60))):
        for _ in range(n):
            on = int(rng.integers(10, max(11, n_frames - 100)))
            ap = on + int(rng.integers(*rise))
            off = min(ap + int(rng.integers(*fall)), n_frames - 1)
            emo = str(EMOTIONS[rng.integers(len(EMOTIONS))]) if kind == "micro" else ""
            out.append(Interval(subject, video, on, ap, off, kind, emo))
    return sorted(out, key=lambda iv: iv.onset)


def write_cache(path: Path, subjects: int, samples: int, float16: bool, seed: int = 0) -> float:
    """Fill ``path`` with ``subjects`` x ``samples`` random spotting samples; seconds taken."""
    from rt_sfamnet.datasets.cache import FeatureCache, VideoFeatures
    from rt_sfamnet.datasets.labels import gt_samples, sample_frames

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    dt = np.float16 if float16 else np.float32
    pool = rng.standard_normal(1 << 22, dtype=np.float32)
    pool = np.tile(pool.astype(dt), 2)  # 2^23 values; maps are random slices of it
    cache = FeatureCache(path)
    cache.init({"dataset": "train-scale", "root": "", "flow": "hybrid", "frame_skip": 2,
                "k_sw": 6, "fps": 30.0, "float16": float16, "input_scale": 1.0,
                "features": {"generator": "benchmarks/train_scale.py"}}, resume=False)
    per_video = np.full(VIDEOS, samples // VIDEOS)
    per_video[: samples % VIDEOS] += 1
    row = 3 * 42 * 42
    for s in range(1, subjects + 1):
        me = np.bincount(rng.integers(0, VIDEOS, ME_PER_SUBJECT), minlength=VIDEOS)
        mae = np.bincount(rng.integers(0, VIDEOS, MAE_PER_SUBJECT), minlength=VIDEOS)
        for v in range(VIDEOS):
            n = int(per_video[v])
            n_frames = 2 * n + 6
            name = "abcdefghijklm"[v]
            ivs = _intervals(rng, f"spNO.{s}", name, n_frames, int(me[v]), int(mae[v]))
            gts = gt_samples(ivs, n_frames)
            take = (n + len(gts)) * row
            off = int(rng.integers(0, len(pool) - take))
            flat = pool[off : off + take]
            maps = flat[: n * row].reshape(n, 3, 42, 42)
            gmaps = flat[n * row :].reshape(len(gts), 3, 42, 42)
            cache.write(VideoFeatures(f"spNO.{s}", name, maps, sample_frames(n_frames, 2, 6),
                                      np.ones(n, bool), gmaps, gts, ivs, n_frames), float16)
    return time.perf_counter() - t0


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, required=True)
    ap.add_argument("--samples-per-subject", type=int, required=True)
    ap.add_argument("--float16", action="store_true")
    ap.add_argument("--dir", required=True, help="where the cache and the run go")
    ap.add_argument("--json", action="store_true", help="print only the JSON line")
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep the cache")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse a cache kept in DIR by an earlier --keep run (same arguments)")
    args = ap.parse_args()
    root = Path(args.dir)
    cache = root / "cache"
    reuse = args.reuse and (cache / "meta.json").is_file()
    if root.exists() and not reuse:
        shutil.rmtree(root)
    shutil.rmtree(root / "run", ignore_errors=True)
    try:
        write_s = 0.0 if reuse else write_cache(cache, args.subjects, args.samples_per_subject,
                                                args.float16)
        cmd = [sys.executable, "-m", "rt_sfamnet.cli", "train", "--cache", str(cache),
               "--out", str(root / "run"), "--subjects", "1", "--steps", str(args.steps),
               "--batch-size", "1024", "--threads", "1", "--no-progress", "--plot-videos", "0"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        fold_s = time.perf_counter() - t0
        if proc.returncode != 0:
            sys.exit(f"train failed ({proc.returncode}): {proc.stderr[-2000:]}")
        out = {"benchmark": "train_scale", "subjects": args.subjects,
               "samples": args.subjects * args.samples_per_subject, "float16": args.float16,
               "cache_bytes": du(cache),
               "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
                                    / 1024, 1),
               "write_seconds": round(write_s, 1), "fold_seconds": round(fold_s, 1),
               "steps": args.steps, "cpu_count": os.cpu_count()}
    finally:
        if not args.keep and root.exists():
            shutil.rmtree(root)
    print(json.dumps(out))
    if not args.json:
        print(proc.stderr, file=sys.stderr)


if __name__ == "__main__":
    main()
