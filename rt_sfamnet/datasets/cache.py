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
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.datasets.labels import GTSample, pseudo_labels
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
