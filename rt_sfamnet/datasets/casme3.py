"""CAS(ME)^3 part A: annotation files, frame-folder discovery and :class:`Video` records.

The same code reads the real distribution and the synthetic datasets written by
:func:`rt_sfamnet.sim.dataset.write_dataset` (same layout, same annotation columns).

The code is split by responsibility; this module joins the parts into a :class:`Dataset` and
re-exports their public names:

- :mod:`rt_sfamnet.datasets.annotations`: the two annotation tables (expression table and ME
  label table), read and joined into :class:`Annotations`;
- :mod:`rt_sfamnet.datasets.folders`: frame-folder discovery and :class:`Video` records;
- :mod:`rt_sfamnet.datasets.subjects`: subject names (``spNO.<n>``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rt_sfamnet.datasets.annotations import (
    Annotations,
    find_annotation_files,
    find_annotations_under,
    read_annotations,
)
from rt_sfamnet.datasets.folders import CASME3_FPS, CASME3_SIZE, Video, discover_videos
from rt_sfamnet.datasets.subjects import subject_id, subject_number, subject_sort_key
from rt_sfamnet.errors import DatasetError
from rt_sfamnet.frames import Intrinsics
from rt_sfamnet.intervals import Interval

__all__ = [
    "CASME3_FPS",
    "CASME3_SIZE",
    "Annotations",
    "Dataset",
    "Video",
    "discover_videos",
    "find_annotation_files",
    "find_annotations_under",
    "load_dataset",
    "read_annotations",
    "restrict",
    "subject_id",
    "subject_number",
    "subject_sort_key",
]


@dataclass
class Dataset:
    """A CAS(ME)^3-style dataset: its videos (with intervals) and annotations.

    Attributes:
        root: the dataset folder.
        videos: every video found on disk, sorted, each with its intervals.
        annotations: the joined annotation tables.
        missing_videos: annotated (subject, video) pairs with no folder on disk.
        intrinsics: colour intrinsics if the dataset ships them (``intrinsics.json``), else None.
        name: ``"casme3"`` or ``"synthetic"``.
    """

    root: Path
    videos: list[Video]
    annotations: Annotations
    missing_videos: list[tuple[str, str]] = field(default_factory=list)
    intrinsics: Intrinsics | None = None
    name: str = "casme3"

    @property
    def subjects(self) -> list[str]:
        return sorted({v.subject for v in self.videos}, key=subject_sort_key)

    def problems(self) -> list[str]:
        out = [f"{s}/{v}: annotated but no frame folder found" for s, v in self.missing_videos]
        for v in self.videos:
            out.extend(v.problems())
        return out

    def check(self) -> None:
        """Raise DatasetError listing every problem (missing videos or frames) if any."""
        probs = self.problems()
        if probs:
            shown = "; ".join(probs[:12])
            more = f"; ... and {len(probs) - 12} more" if len(probs) > 12 else ""
            raise DatasetError(f"{self.root}: {len(probs)} problem(s) in the dataset: "
                               f"{shown}{more}")

    def stats(self) -> dict[str, Any]:
        """Counts like :meth:`Annotations.stats` over the videos on disk, plus frame totals."""
        keys = {v.key for v in self.videos}
        ivs = [iv for iv in self.annotations.intervals if (iv.subject, iv.video) in keys]
        sub = Annotations(ivs)
        st = sub.stats()
        st["subjects"] = len(self.subjects)
        st["videos"] = len(self.videos)
        st["frames"] = int(sum(v.n_frames for v in self.videos))
        st["missing_videos"] = len(self.missing_videos)
        return st


def _read_intrinsics(root: Path) -> Intrinsics | None:
    for cand in (root / "intrinsics.json", root / "annotations" / "intrinsics.json"):
        if cand.is_file():
            try:
                d = json.loads(cand.read_text())
                if "coeffs" in d:
                    d["coeffs"] = tuple(d["coeffs"])
                return Intrinsics(**d)
            except (ValueError, TypeError) as exc:
                raise DatasetError(f"{cand}: expected Intrinsics fields (width, height, fx, fy, "
                                   f"ppx, ppy[, model, coeffs]) ({exc})") from None
    return None


def _read_fps(root: Path, ann_dir: Path) -> float:
    """The frame rate: ``simulation.json`` of a synthetic dataset, else 30 (CAS(ME)^3)."""
    for cand in (ann_dir / "simulation.json", root / "annotations" / "simulation.json"):
        if cand.is_file():
            try:
                fps = float(json.loads(cand.read_text()).get("fps", CASME3_FPS))
            except (ValueError, TypeError, AttributeError):
                raise DatasetError(f"{cand}: not valid JSON with a numeric 'fps'") from None
            if fps > 0:
                return fps
    return CASME3_FPS


def load_dataset(root: str | Path, annotations: str | Path | None = None,
                 name: str = "casme3") -> Dataset:
    """Discover the videos under ``root`` and attach the annotations.

    Args:
        root: the dataset folder (any layout :func:`discover_videos` understands).
        annotations: the folder of the annotation tables; None searches ``root``.
        name: recorded in :attr:`Dataset.name`.

    Raises:
        DatasetError: no videos, or no annotation tables.
    """
    root = Path(root)
    videos = discover_videos(root)
    ann_dir = Path(annotations) if annotations is not None else find_annotations_under(root)
    ann = read_annotations(ann_dir)
    if name == "synthetic":  # the simulator writes a MaE's prototype emotion as its objective class
        from rt_sfamnet.sim.aus import OBJECTIVE_CLASS

        proto = {cls: emo for emo, cls in OBJECTIVE_CLASS.items()}
        for iv in ann.intervals:
            if iv.type == "macro" and iv.extra.get("objective_class") in proto:
                iv.extra["prototype"] = proto[iv.extra["objective_class"]]
    by_video: dict[tuple[str, str], list[Interval]] = {}
    for iv in ann.intervals:
        by_video.setdefault((iv.subject, iv.video), []).append(iv)
    on_disk = {v.key for v in videos}
    fps = _read_fps(root, ann_dir)
    for v in videos:
        v.intervals = by_video.get(v.key, [])
        v.fps = fps
    missing = [k for k in ann.videos if k not in on_disk]
    return Dataset(root, videos, ann, missing, _read_intrinsics(root), name)


def restrict(dataset: Dataset, subjects: Iterable[str] | None) -> Dataset:
    """A copy of ``dataset`` with only ``subjects`` (names or numbers); None keeps all."""
    if subjects is None:
        return dataset
    wanted = {subject_id(s) for s in subjects}
    unknown = wanted - set(dataset.subjects)
    if unknown:
        raise DatasetError(f"subject(s) {sorted(unknown, key=subject_sort_key)} not in the "
                           f"dataset; it has {dataset.subjects}")
    videos = [v for v in dataset.videos if v.subject in wanted]
    missing = [k for k in dataset.missing_videos if k[0] in wanted]
    return Dataset(dataset.root, videos, dataset.annotations, missing, dataset.intrinsics,
                   dataset.name)
