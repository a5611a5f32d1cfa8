"""CAS(ME)^3-style frame folders: finding the videos under a root, and :class:`Video` records.

``.../spNO.<id>/<video>/color/<n>.jpg`` and ``.../spNO.<id>/<video>/depth/<n>.png``
(16-bit, millimetres), or split top folders (``RGB/spNO.1/a/<n>.jpg`` beside
``depth/spNO.1/a/<n>.png``), or no inner ``color``/``depth`` folders at all: anything
under the root is searched (to a bounded depth) for ``spNO.<id>`` folders.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rt_sfamnet.datasets.subjects import SUBJECT_RE, subject_id, subject_sort_key
from rt_sfamnet.errors import DatasetError
from rt_sfamnet.frames import Intrinsics, RGBDFrame
from rt_sfamnet.intervals import Interval

__all__ = ["CASME3_FPS", "CASME3_SIZE", "Video", "discover_videos"]

#: Frame rate of CAS(ME)^3 part A (RealSense D415).
CASME3_FPS = 30.0
#: Colour resolution of CAS(ME)^3 part A.
CASME3_SIZE = (1280, 720)

_MAX_DEPTH = 7


@dataclass
class Video:
    """One video of the dataset: where its frames are and what it shows.

    Attributes:
        subject, video: names as in the annotations (``"spNO.1"``, ``"a"``).
        color_dir: folder of ``<n>.jpg`` colour frames.
        depth_dir: folder of ``<n>.png`` 16-bit depth frames (mm); None if not found.
        numbers: sorted colour frame numbers as in the file names (frame ``i`` of the video,
            0-based, is file ``numbers[i]``).
        depth_numbers: sorted depth frame numbers.
        intervals: the video's annotated expressions, 0-based frames.
        fps: frame rate.
    """

    subject: str
    video: str
    color_dir: Path
    depth_dir: Path | None
    numbers: list[int]
    depth_numbers: list[int] = field(default_factory=list)
    intervals: list[Interval] = field(default_factory=list)
    fps: float = CASME3_FPS

    @property
    def key(self) -> tuple[str, str]:
        return (self.subject, self.video)

    @property
    def n_frames(self) -> int:
        return len(self.numbers)

    def problems(self) -> list[str]:
        """Human-readable problems: gaps in the numbering, missing depth, GT past the end."""
        out: list[str] = []
        name = f"{self.subject}/{self.video}"
        if not self.numbers:
            return [f"{name}: no colour frames in {self.color_dir}"]
        first, last = self.numbers[0], self.numbers[-1]
        if last - first + 1 != len(self.numbers):
            have = set(self.numbers)
            gaps = [n for n in range(first, last + 1) if n not in have]
            out.append(f"{name}: {len(gaps)} colour frame(s) missing in {self.color_dir} "
                       f"(first: {gaps[:5]})")
        if self.depth_dir is None:
            out.append(f"{name}: no depth folder found")
        else:
            missing = sorted(set(self.numbers) - set(self.depth_numbers))
            if missing:
                out.append(f"{name}: {len(missing)} depth frame(s) missing in {self.depth_dir} "
                           f"(first: {missing[:5]})")
        for iv in self.intervals:
            if iv.offset >= len(self.numbers):
                out.append(f"{name}: annotated {iv.type} {iv.onset}-{iv.offset} (0-based) ends "
                           f"after the last frame ({len(self.numbers) - 1})")
        return out

    def read_frame(self, i: int, intrinsics: Intrinsics | None = None) -> RGBDFrame:
        """Frame ``i`` (0-based) as an :class:`RGBDFrame` (colour RGB, depth uint16 mm)."""

        from rt_sfamnet.images import read_jpeg, read_png

        n = self.numbers[i]
        cpath = self.color_dir / f"{n}.jpg"
        bgr = read_jpeg(cpath, DatasetError)
        color = np.ascontiguousarray(bgr[:, :, ::-1])
        depth = None
        if self.depth_dir is not None:
            dpath = self.depth_dir / f"{n}.png"
            if dpath.is_file():
                depth = read_png(dpath, DatasetError)
                if depth.ndim != 2 or depth.dtype != np.uint16:
                    found = f"{depth.dtype} {depth.shape}"
                    raise DatasetError(f"{dpath}: expected a 16-bit single-channel PNG "
                                       f"(millimetres), found {found}")
                if depth.shape != color.shape[:2]:
                    raise DatasetError(f"{dpath}: depth is {depth.shape[1]}x{depth.shape[0]} "
                                       f"but colour {cpath.name} is {color.shape[1]}x"
                                       f"{color.shape[0]}; expected aligned frames")
        if depth is None:
            depth = np.zeros(color.shape[:2], np.uint16)
        if intrinsics is None:
            intrinsics = Intrinsics.from_fov(color.shape[1], color.shape[0])
        return RGBDFrame(color, depth, i / self.fps, i, intrinsics, {"file_number": n})

    def frames(self, start: int = 0, stop: int | None = None,
               intrinsics: Intrinsics | None = None) -> Iterator[RGBDFrame]:
        stop = self.n_frames if stop is None else min(stop, self.n_frames)
        for i in range(start, stop):
            yield self.read_frame(i, intrinsics)


def _numbered(folder: Path, suffix: str) -> list[int]:
    out = []
    try:
        with os.scandir(folder) as it:
            for e in it:
                name = e.name
                if name.lower().endswith(suffix):
                    stem = name[: -len(suffix)]
                    if stem.isdigit():
                        out.append(int(stem))
    except OSError:
        return []
    return sorted(out)


def _subject_dirs(root: Path) -> Iterator[Path]:
    """Every ``spNO.<n>`` folder under ``root`` (not descending into them), bounded depth."""
    stack = [(root, 0)]
    while stack:
        d, depth = stack.pop()
        if SUBJECT_RE.match(d.name):
            yield d
            continue
        if depth >= _MAX_DEPTH:
            continue
        try:
            with os.scandir(d) as it:
                children = sorted(Path(e.path) for e in it if e.is_dir())
        except OSError:
            continue
        stack.extend((c, depth + 1) for c in reversed(children))


def _frame_dir(video_dir: Path, kind: str) -> tuple[Path | None, list[int]]:
    """The folder of numbered ``.jpg`` (kind 'color') or ``.png`` (kind 'depth') frames."""
    suffix = ".jpg" if kind == "color" else ".png"
    names = ("color", "rgb", "colour") if kind == "color" else ("depth",)
    for sub in names:
        for cand in (video_dir / sub, video_dir / sub.upper(), video_dir / sub.capitalize()):
            if cand.is_dir():
                nums = _numbered(cand, suffix)
                if nums:
                    return cand, nums
    nums = _numbered(video_dir, suffix)
    if nums:
        return video_dir, nums
    return None, []


def discover_videos(root: str | Path) -> list[Video]:
    """Find every video folder under ``root`` (any top-level folder names).

    A video is ``<...>/spNO.<n>/<video>/`` with numbered colour frames (``<n>.jpg``) in
    ``color/`` or directly inside; depth frames (``<n>.png``) in ``depth/``, directly inside,
    or in a parallel tree (e.g. ``RGB/spNO.1/a`` beside ``depth/spNO.1/a``).

    Returns:
        Videos sorted by subject number and video name, without intervals.

    Raises:
        DatasetError: ``root`` is not a folder or holds no video.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset root {root} does not exist or is not a folder")
    colour: dict[tuple[str, str], tuple[Path, list[int]]] = {}
    depth: dict[tuple[str, str], tuple[Path, list[int]]] = {}
    for sdir in _subject_dirs(root):
        subject = subject_id(sdir.name)
        try:
            vdirs = sorted(p for p in sdir.iterdir() if p.is_dir())
        except OSError:
            continue
        for vdir in vdirs:
            key = (subject, vdir.name.lower())
            cdir, cnums = _frame_dir(vdir, "color")
            ddir, dnums = _frame_dir(vdir, "depth")
            if cdir is not None and key not in colour:
                colour[key] = (cdir, cnums)
            if ddir is not None and key not in depth:
                depth[key] = (ddir, dnums)
    if not colour:
        raise DatasetError(
            f"{root}: found no video folders; expected .../spNO.<id>/<video>/color/<n>.jpg "
            f"(and .../depth/<n>.png)"
        )
    videos = []
    for key in sorted(colour, key=lambda k: (subject_sort_key(k[0]), k[1])):
        cdir, cnums = colour[key]
        ddir, dnums = depth.get(key, (None, []))
        videos.append(Video(key[0], key[1], cdir, ddir, cnums, dnums))
    return videos
