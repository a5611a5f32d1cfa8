"""The feature cache: per-video flow maps and labels on disk, written atomically, resumable.

Layout::

    <cache>/meta.json                       extraction settings (flow mode, frame_skip, ...)
    <cache>/videos/<subject>/<video>.npz    one file per finished video

Each ``.npz`` holds

- ``maps``: ``(N, 3, 42, 42)`` float16 or float32, spotting sample ``i`` = flow between
  frames ``frames[i]`` and ``frames[i] + k_sw`` (0-based), streams in network order (u, v, w);
  units: crop pixels (mm for scene ``w``) times the extraction ``input_scale``;
- ``frames``: ``(N,)`` int64 first frame of each sample; ``valid``: ``(N,)`` bool (a face was
  known for the sample; invalid samples hold zeros);
- ``gt_maps``: ``(M, 3, 42, 42)`` the onset -> apex flow of each labelled micro-expression,
  with ``gt_onset``, ``gt_apex`` ``(M,)`` int64 and ``gt_emotion`` ``(M,)`` str (7-class names);
- ``intervals``: JSON text of every annotated interval of the video (0-based frames);
- ``n_frames``: frames in the video.

A video file appears only once complete (written to ``<video>.npz.partial`` and renamed), so
an interrupted extraction keeps its finished videos and redoes the partial one.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.datasets.labels import GTSample, gt_samples, pseudo_labels, sample_frames
from rt_sfamnet.errors import DatasetError
from rt_sfamnet.intervals import Interval

CACHE_VERSION = 1
MAP_SHAPE = (3, 42, 42)

#: meta.json keys that must agree for an existing cache to be resumed.
RESUME_KEYS = ("version", "dataset", "flow", "frame_skip", "k_sw", "float16", "features")


@dataclass
class VideoFeatures:
    """One video's cached features (see the module docstring for shapes and units)."""

    subject: str
    video: str
    maps: np.ndarray
    frames: np.ndarray
    valid: np.ndarray
    gt_maps: np.ndarray
    gt: list[GTSample]
    intervals: list[Interval]
    n_frames: int

    def labels(self, frame_skip: int) -> tuple[np.ndarray, list[str]]:
        """Pseudo-labels ``(spot (N,) float32, emotion names)`` of the spotting samples."""
        return pseudo_labels(len(self.frames), self.intervals, frame_skip)


def _intervals_to_json(intervals: Iterable[Interval]) -> str:
    return json.dumps([
        {"subject": iv.subject, "video": iv.video, "onset": iv.onset, "apex": iv.apex,
         "offset": iv.offset, "type": iv.type, "emotion": iv.emotion, "extra": iv.extra}
        for iv in intervals
    ])


def _intervals_from_json(text: str) -> list[Interval]:
    return [Interval(**d) for d in json.loads(text)]


def atomic_write_json(path: str | Path, data: Any) -> None:
    """Write JSON through a temporary file renamed into place."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".partial")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=_json_default))
    os.replace(tmp, p)


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o)}")


class FeatureCache:
    """A feature cache folder (see the module docstring).

    Args:
        path: the cache folder.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    # -- metadata ----------------------------------------------------------------------------
    @property
    def meta_path(self) -> Path:
        return self.path / "meta.json"

    def exists(self) -> bool:
        return self.meta_path.is_file()

    @property
    def meta(self) -> dict[str, Any]:
        if not self.meta_path.is_file():
            raise DatasetError(f"{self.path} is not a feature cache (no meta.json); run "
                               f"`rt-sfamnet extract` first")
        try:
            return json.loads(self.meta_path.read_text())
        except ValueError as exc:
            raise DatasetError(f"{self.meta_path}: not valid JSON ({exc})") from None

    def init(self, meta: dict[str, Any], resume: bool = True) -> None:
        """Create the cache or check that an existing one was made with the same settings.

        Also removes ``.partial`` files left by an interrupted run.

        Raises:
            DatasetError: the cache exists with different settings (name them).
        """
        meta = {"version": CACHE_VERSION, **meta}
        if self.exists():
            old = self.meta
            diff = [k for k in RESUME_KEYS if json.dumps(old.get(k), sort_keys=True,
                                                         default=_json_default)
                    != json.dumps(meta.get(k), sort_keys=True, default=_json_default)]
            if diff:
                raise DatasetError(
                    f"{self.path} holds features made with other settings ({', '.join(diff)}: "
                    f"{[old.get(k) for k in diff]} there, {[meta.get(k) for k in diff]} now); "
                    f"use another --cache folder"
                )
            if not resume:
                for p in self.video_files():
                    p.unlink()
        self.path.mkdir(parents=True, exist_ok=True)
        for p in self.path.rglob("*.partial"):
            p.unlink()
        atomic_write_json(self.meta_path, meta)

    # -- videos ------------------------------------------------------------------------------
    def video_path(self, subject: str, video: str) -> Path:
        return self.path / "videos" / subject / f"{video}.npz"

    def video_files(self) -> list[Path]:
        d = self.path / "videos"
        return sorted(d.glob("*/*.npz")) if d.is_dir() else []

    def has(self, subject: str, video: str) -> bool:
        return self.video_path(subject, video).is_file()

    def keys(self) -> list[tuple[str, str]]:
        """``(subject, video)`` of every finished video, sorted by subject number and video."""
        from rt_sfamnet.datasets.casme3 import subject_sort_key

        keys = [(p.parent.name, p.stem) for p in self.video_files()]
        return sorted(keys, key=lambda k: (subject_sort_key(k[0]), k[1]))

    @property
    def subjects(self) -> list[str]:
        from rt_sfamnet.datasets.casme3 import subject_sort_key

        return sorted({k[0] for k in self.keys()}, key=subject_sort_key)

    def write(self, feats: VideoFeatures, float16: bool = False) -> Path:
        """Write one video atomically (``.partial`` then rename)."""
        _check_maps(feats.maps, "maps")
        _check_maps(feats.gt_maps, "gt_maps")
        dt = np.float16 if float16 else np.float32
        p = self.video_path(feats.subject, feats.video)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".partial")
        with tmp.open("wb") as fh:
            np.savez(
                fh,
                maps=feats.maps.astype(dt),
                frames=np.asarray(feats.frames, np.int64),
                valid=np.asarray(feats.valid, bool),
                gt_maps=feats.gt_maps.astype(dt),
                gt_onset=np.asarray([g.onset for g in feats.gt], np.int64),
                gt_apex=np.asarray([g.apex for g in feats.gt], np.int64),
                gt_emotion=np.asarray([g.emotion for g in feats.gt], dtype="<U16"),
                intervals=np.asarray(_intervals_to_json(feats.intervals)),
                n_frames=np.asarray(int(feats.n_frames), np.int64),
            )
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
        return p

    def load(self, subject: str, video: str) -> VideoFeatures:
        """Read one video (maps as stored: float16 or float32)."""
        p = self.video_path(subject, video)
        if not p.is_file():
            raise DatasetError(f"{p}: not in the cache (extract it first)")
        try:
            with np.load(p, allow_pickle=False) as z:
                gt = [GTSample(int(o), int(a), str(e))
                      for o, a, e in zip(z["gt_onset"], z["gt_apex"], z["gt_emotion"], strict=True)]
                return VideoFeatures(
                    subject, video, z["maps"], z["frames"], z["valid"], z["gt_maps"], gt,
                    _intervals_from_json(str(z["intervals"])), int(z["n_frames"]),
                )
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise DatasetError(f"{p}: a broken cache file ({exc}); delete it and extract "
                               f"again") from None


def _check_maps(a: np.ndarray, name: str) -> None:
    if a.ndim != 4 or a.shape[1:] != MAP_SHAPE:
        raise ValueError(f"{name} must be (N, 3, 42, 42), found {a.shape}")


# ---------------------------------------------------------------------------------------------
# extraction


@dataclass
class ExtractConfig:
    """Settings of :func:`extract_dataset`.

    Attributes:
        flow: ``"hybrid"``, ``"scene"`` or ``"optical"`` (FeatureConfig.mode).
        frame_skip: frames between spotting samples (2 in the release).
        k_sw: flow window in frames; None: ``round(0.2 * fps)`` (6 at 30 FPS).
        float16: store maps as float16 (half the disk, ~3 significant digits).
        batch: pairs per ``pair_maps_batch`` call (larger is faster on a GPU).
        features: extra FeatureConfig fields (e.g. ``{"tvl1_preset": "quality"}``).
    """

    flow: str = "hybrid"
    frame_skip: int = 2
    k_sw: int | None = None
    float16: bool = False
    batch: int = 32
    features: dict[str, Any] = field(default_factory=dict)


def feature_config(cfg: ExtractConfig):
    """The :class:`rt_sfamnet.features.FeatureConfig` used for ``cfg``."""
    from rt_sfamnet.config import config_from_mapping
    from rt_sfamnet.features import FeatureConfig

    return config_from_mapping(FeatureConfig, {"mode": cfg.flow, **cfg.features}, "features")


def extract_video(video, fcfg, frame_skip: int, k_sw: int, batch: int = 32,
                  tracker=None, intrinsics=None,
                  progress: Callable[[int], None] | None = None) -> VideoFeatures:
    """Flow maps of every spotting sample and every ground-truth sample of one video.

    Frames are read once, in order, and only those that start or end a pair. The face tracker runs on every sample's first frame;
    both frames of a pair are cropped with that frame's observation (the box stays fixed
    while the head is still). GT pairs use the latest observation at their onset. Samples
    before the first face are zeros with ``valid = False``.

    Args:
        video: a :class:`rt_sfamnet.datasets.casme3.Video`.
        fcfg: a :class:`rt_sfamnet.features.FeatureConfig`.
        frame_skip, k_sw: sampling (frames).
        batch: pairs per :func:`rt_sfamnet.features.pair_maps_batch` call.
        tracker: a :class:`rt_sfamnet.face.FaceTracker` (made and closed here if None; a
            given one is ``reset()`` first, but MediaPipe may keep tracking state).
        intrinsics: colour intrinsics of the frames (None: from a 69° field of view).
        progress: called with the number of frames read since the last call.
    """
    from rt_sfamnet.face import FaceConfig, FaceTracker
    from rt_sfamnet.features import crop_frame, pair_maps_batch

    own = tracker is None
    if own:
        tracker = FaceTracker(FaceConfig())
    else:
        tracker.reset()
    n = video.n_frames
    starts = sample_frames(n, frame_skip, k_sw)
    n_s = len(starts)
    gts = gt_samples(video.intervals, n)
    maps = np.zeros((n_s,) + MAP_SHAPE, np.float32)
    gt_maps = np.zeros((len(gts),) + MAP_SHAPE, np.float32)
    valid = np.zeros(n_s, bool)
    gt_valid = np.zeros(len(gts), bool)
    crop_size = getattr(fcfg, "crop_size", 128)

    # end frame -> pairs waiting for it: (kind 's'|'g', index, observation, crop of frame 0)
    waiting: dict[int, list[tuple[str, int, Any, Any]]] = {}
    gt_by_onset: dict[int, list[int]] = {}
    for j, g in enumerate(gts):
        gt_by_onset.setdefault(g.onset, []).append(j)
    queue: list[tuple[str, int, Any, Any]] = []  # ready pairs: (kind, idx, crop0, crop1)
    last_obs = None

    def flush() -> None:
        if not queue:
            return
        out = pair_maps_batch([q[2] for q in queue], [q[3] for q in queue], fcfg)
        for (kind, idx, _c0, _c1), m in zip(queue, out, strict=True):
            if kind == "s":
                maps[idx] = m
                valid[idx] = True
            else:
                gt_maps[idx] = m
                gt_valid[idx] = True
        queue.clear()

    # only frames that start or end a pair are decoded (every other frame at frame_skip 2)
    needed = sorted({int(f) for f in starts} | {int(f) + k_sw for f in starts}
                    | {g.onset for g in gts} | {g.apex for g in gts})
    needed = [f for f in needed if f < n]
    try:
        read = 0
        prev = -1
        for f in needed:
            frame = video.read_frame(f, intrinsics)
            read += f - prev
            prev = f
            if f % frame_skip == 0 and f + k_sw < n:
                obs = tracker.update(frame.color)
                if obs is not None:
                    last_obs = obs
                if last_obs is not None:
                    c0 = crop_frame(frame, last_obs, crop_size)
                    waiting.setdefault(f + k_sw, []).append(("s", f // frame_skip, last_obs, c0))
            for j in gt_by_onset.get(f, []):
                obs = last_obs
                if obs is None:
                    obs = tracker.update(frame.color)
                if obs is not None:
                    waiting.setdefault(gts[j].apex, []).append(("g", j, obs, crop_frame(frame, obs, crop_size)))
            for kind, idx, obs, c0 in waiting.pop(f, []):
                queue.append((kind, idx, c0, crop_frame(frame, obs, crop_size)))
            if len(queue) >= batch:
                flush()
            if progress is not None and read >= 25:
                progress(read)
                read = 0
        flush()
        read += (n - 1) - prev  # frames after the last needed one count as done
        if progress is not None and read:
            progress(read)
    finally:
        if own:
            tracker.close()
    keep_gt = [j for j in range(len(gts)) if gt_valid[j]]
    return VideoFeatures(
        video.subject, video.video, maps, starts, valid, gt_maps[keep_gt],
        [gts[j] for j in keep_gt], list(video.intervals), n,
    )


def extract_dataset(dataset, cache: FeatureCache, cfg: ExtractConfig,
                    show_progress: bool = True, resume: bool = True) -> dict[str, Any]:
    """Extract every video of ``dataset`` into ``cache`` (skipping finished videos).

    The dataset is checked first (:meth:`Dataset.check`): missing videos or frames stop the
    run before any flow is computed.

    Returns:
        ``{"videos": done now, "skipped": already cached, "samples": n, "gt_samples": m,
        "seconds": wall time}``.
    """
    import time

    from rt_sfamnet.config import config_to_dict
    from rt_sfamnet.datasets.labels import k_sw_for

    dataset.check()
    fps = dataset.videos[0].fps if dataset.videos else 30.0
    k_sw = cfg.k_sw if cfg.k_sw is not None else k_sw_for(fps)
    fcfg = feature_config(cfg)
    fdict = config_to_dict(fcfg)
    fdict.pop("backend", None)
    cache.init({
        "dataset": dataset.name,
        "root": str(dataset.root),
        "flow": cfg.flow,
        "frame_skip": cfg.frame_skip,
        "k_sw": k_sw,
        "fps": fps,
        "float16": cfg.float16,
        "input_scale": float(getattr(fcfg, "input_scale", 1.0)),
        "features": fdict,
    }, resume=resume)
    todo = [v for v in dataset.videos if not cache.has(v.subject, v.video)]
    skipped = len(dataset.videos) - len(todo)
    total = sum(v.n_frames for v in todo)
    bar = None
    if show_progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="frame", desc="extract", dynamic_ncols=True)
    t0 = time.perf_counter()
    n_s = n_g = 0
    try:
        for v in todo:
            if bar is not None:
                bar.set_postfix_str(f"{v.subject}/{v.video}")
            # a fresh tracker per video: MediaPipe's tracking state would otherwise make a
            # video's features depend on the video extracted before it (resume = same result)
            feats = extract_video(v, fcfg, cfg.frame_skip, k_sw, cfg.batch, None,
                                  dataset.intrinsics,
                                  progress=(bar.update if bar is not None else None))
            cache.write(feats, cfg.float16)
            n_s += len(feats.frames)
            n_g += len(feats.gt)
    finally:
        if bar is not None:
            bar.close()
    return {"videos": len(todo), "skipped": skipped, "samples": n_s, "gt_samples": n_g,
            "seconds": time.perf_counter() - t0}
