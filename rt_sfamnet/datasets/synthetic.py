"""Synthetic datasets.

Two levels:

- :func:`write_synthetic_dataset` / :func:`load_synthetic`: a full synthetic dataset made by
  the RGB-D face simulator (:func:`rt_sfamnet.sim.dataset.write_dataset`) in the CAS(ME)^3
  part A layout, read by the same loader as the real data
  (:func:`rt_sfamnet.datasets.casme3.load_dataset`).
- :func:`write_map_cache`: a feature cache filled with synthetic *flow maps* directly (no
  images, no flow): smooth motion blobs whose layout depends on the emotion, on top of
  noise. It exercises labelling, sampling, training and evaluation in seconds (tests) and
  has the size of a real CAS(ME)^3 fold for the training benchmark.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.datasets.cache import FeatureCache, VideoFeatures
from rt_sfamnet.datasets.casme3 import Dataset, load_dataset
from rt_sfamnet.datasets.labels import gt_samples, sample_frames
from rt_sfamnet.emotions import EMOTIONS7
from rt_sfamnet.intervals import Interval


def write_synthetic_dataset(out: str | Path, subjects: int, seed: int = 0, **options: Any) -> Path:
    """Simulate a dataset of ``subjects`` subjects into ``out`` (see the simulator's docs)."""
    from rt_sfamnet.sim.dataset import write_dataset

    write_dataset(out, subjects, seed, **options)
    return Path(out)


def load_synthetic(root: str | Path) -> Dataset:
    """A simulated dataset, read exactly like CAS(ME)^3 (``name = "synthetic"``)."""
    return load_dataset(root, name="synthetic")


# ---------------------------------------------------------------------------------------------
# synthetic flow maps


def _blob(cy: float, cx: float, sigma: float = 4.0) -> np.ndarray:
    y, x = np.mgrid[0:42, 0:42].astype(np.float32)
    return np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * sigma**2)).astype(np.float32)


#: emotion -> (blob centre row, col, u, v, w): where the face moves and how (pixel / mm units).
_PATTERNS: dict[str, list[tuple[float, float, float, float, float]]] = {
    "happy": [(30, 12, -0.6, -0.5, 0.3), (30, 30, 0.6, -0.5, 0.3)],
    "surprise": [(10, 13, 0.0, -0.8, 0.2), (10, 29, 0.0, -0.8, 0.2)],
    "disgust": [(22, 21, 0.0, -0.6, 0.6)],
    "sad": [(33, 14, 0.0, 0.6, -0.2), (33, 28, 0.0, 0.6, -0.2)],
    "anger": [(12, 17, 0.5, 0.4, 0.2), (12, 25, -0.5, 0.4, 0.2)],
    "fear": [(12, 21, 0.0, -0.6, 0.0), (34, 21, 0.0, 0.0, -0.6)],
    "others": [(36, 21, 0.0, 0.0, 0.6)],
}


def emotion_map(emotion: str, amplitude: float = 1.0) -> np.ndarray:
    """The (3, 42, 42) float32 motion pattern of an emotion at peak (u, v, w)."""
    out = np.zeros((3, 42, 42), np.float32)
    for cy, cx, u, v, w in _PATTERNS[emotion]:
        b = _blob(cy, cx)
        out[0] += u * b
        out[1] += v * b
        out[2] += w * b
    return out * amplitude


def write_map_cache(path: str | Path, subjects: int = 4, videos: int = 3, frames: int = 600,
                    me_per_video: int = 3, seed: int = 0, noise: float = 0.08,
                    frame_skip: int = 2, k_sw: int = 6, float16: bool = False,
                    emotions: tuple[str, ...] = EMOTIONS7, rise: tuple[int, int] = (4, 8),
                    fall: tuple[int, int] = (5, 10), macro_amplitude: float = 0.0
                    ) -> FeatureCache:
    """Fill a feature cache with synthetic flow maps and annotations.

    Each video has ``me_per_video`` micro-expressions (onset->apex ``rise`` frames,
    apex->offset ``fall`` frames, both ranges inclusive; emotions drawn from ``emotions``) and
    one macro-expression (onset->apex 10, apex->offset 30 frames) whose motion is an
    emotion pattern times ``macro_amplitude`` (0: no motion). Sample ``i``
    (frames ``fs*i`` -> ``fs*i + k_sw``) holds the emotion's pattern scaled by how much the
    expression intensity (a triangle onset->apex->offset) changes over the window, plus
    Gaussian noise of std ``noise``. Deterministic in ``seed``.

    Returns:
        The cache (``meta.json`` with ``dataset = "synthetic-maps"``).
    """
    rng = np.random.default_rng(seed)
    cache = FeatureCache(path)
    cache.init({"dataset": "synthetic-maps", "root": "", "flow": "hybrid",
                "frame_skip": frame_skip, "k_sw": k_sw, "fps": 30.0, "float16": float16,
                "input_scale": 1.0, "features": {"generator": "write_map_cache",
                                                 "seed": seed, "noise": noise}}, resume=False)
    starts = sample_frames(frames, frame_skip, k_sw)
    for s in range(1, subjects + 1):
        subject = f"spNO.{s}"
        gain = float(rng.uniform(0.8, 1.25))
        for vi in range(videos):
            video = "abcdefghijklm"[vi % 13] + ("" if vi < 13 else str(vi // 13))
            intensity = np.zeros(frames + 1, np.float32)
            emo_at = np.zeros(frames + 1, np.int64) - 1
            ivs: list[Interval] = []
            slots = np.linspace(60, frames - 60, me_per_video + 1).astype(int)
            for m in range(me_per_video):
                on = int(rng.integers(slots[m], max(slots[m] + 1, slots[m + 1] - 30 - fall[1])))
                ap = on + int(rng.integers(rise[0], rise[1] + 1))
                off = min(ap + int(rng.integers(fall[0], fall[1] + 1)), frames - 1)
                emo = str(emotions[rng.integers(len(emotions))])
                t = np.arange(on, off + 1)
                tri = np.where(t <= ap, (t - on) / max(ap - on, 1), (off - t) / max(off - ap, 1))
                intensity[on : off + 1] = tri.astype(np.float32)
                emo_at[on : off + 1] = emotions.index(emo)
                ivs.append(Interval(subject, video, on, ap, off, "micro", emo))
            mo = int(rng.integers(5, 15))
            ivs.append(Interval(subject, video, mo, mo + 10, mo + 40, "macro", ""))
            macro_int = np.zeros(frames + 1, np.float32)
            t = np.arange(mo, mo + 41)
            macro_int[mo : mo + 41] = np.where(t <= mo + 10, (t - mo) / 10, (mo + 40 - t) / 30)
            macro_pat = emotion_map(str(emotions[rng.integers(len(emotions))]), macro_amplitude)
            ivs.sort(key=lambda iv: iv.onset)
            maps = rng.normal(0.0, noise, (len(starts), 3, 42, 42)).astype(np.float32)
            for i, f in enumerate(starts):
                d = intensity[f + k_sw] - intensity[f]
                e = emo_at[f + k_sw] if emo_at[f + k_sw] >= 0 else emo_at[f]
                if e >= 0 and abs(d) > 1e-6:
                    maps[i] += gain * d * emotion_map(emotions[e])
                if macro_amplitude:
                    maps[i] += gain * (macro_int[f + k_sw] - macro_int[f]) * macro_pat
            gts = gt_samples(ivs, frames)
            gmaps = rng.normal(0.0, noise, (len(gts), 3, 42, 42)).astype(np.float32)
            for j, g in enumerate(gts):
                d = intensity[g.apex] - intensity[g.onset]
                gmaps[j] += gain * d * emotion_map(g.emotion)
            cache.write(VideoFeatures(subject, video, maps, starts, np.ones(len(starts), bool),
                                      gmaps, gts, ivs, frames), float16)
    return cache
