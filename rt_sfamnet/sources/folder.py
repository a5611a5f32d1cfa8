"""Frame folders (CAS(ME)^3, CASME II, SAMM, SMIC, MMEW) as a :class:`~rt_sfamnet.sources.Source`.

A video folder holds numbered image files. The frame number of a file is the trailing
integer of its stem: ``46.jpg``, ``img46.jpg``, ``reg_img46.jpg``, ``046.bmp`` and
``006_1_0046.jpg`` are all file number 46 (files without one are ignored). Colour frames are
``.jpg``/``.jpeg``/``.bmp``/``.tif``/``.tiff`` or 8-bit ``.png``; a 16-bit single-channel
``.png`` is a depth frame (millimetres). Accepted layouts of the folder ``path`` given to
:class:`FolderSource`:

* ``path/color/<n>.jpg`` and ``path/depth/<n>.png`` (the official CAS(ME)^3 layout);
* ``path/color/<n>.jpg`` and ``path/<n>.png`` (distributions without the inner ``depth/``);
* ``path/<n>.jpg`` and ``path/<n>.png`` side by side;
* split top folders: ``.../RGB/spNO.1/a/<n>.jpg`` beside ``.../depth/spNO.1/a/<n>.png``
  (``path`` is the colour folder; the depth folder is found by replacing the ancestor named
  ``RGB``/``color``/``colour`` with ``depth``);
* colour frames only (CASME II ``img46.jpg``, SAMM, SMIC, MMEW): an RGB-only source
  (``has_depth = False``, all-zero depth).

Frame numbers (the project's one convention, ``docs/DESIGN.md``): frames are 0-based
everywhere, in every source and every interval file. Dataset files are numbered from 1
(CAS(ME)^3, CASME II, SAMM, SMIC, MMEW and ``rt-sfamnet simulate --dataset``), so by default
(``index="file"``) a frame's ``index`` is its file number − 1, exactly as the release reads
CAS(ME)^3 (annotation frame ``n`` is frame ``n - 1``); a folder with a file numbered 0 is
numbered from 0 and its index is the file number. ``index="position"`` gives the 0-based
rank in the folder instead. ``timestamp = index / fps``; ``fps`` (``--fps``) is the
dataset's rate (CAS(ME)^3 30, CASME II 200, SAMM 200, SMIC-HS 100, MMEW 90).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from rt_sfamnet.errors import SourceError
from rt_sfamnet.frames import Intrinsics, RGBDFrame
from rt_sfamnet.sources.base import Source

__all__ = ["FolderSource", "find_frame_folders", "frame_number", "png_is_depth"]

_COLOR_DIRS = ("color", "colour", "rgb")
_DEPTH_DIRS = ("depth",)
COLOR_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
D415_COLOR_HFOV_DEG = 69.0
_TRAILING = re.compile(r"(\d+)$")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def frame_number(name: str) -> int | None:
    """The trailing integer of a file name's stem (``"reg_img046.jpg"`` -> 46), or None."""
    m = _TRAILING.search(Path(name).stem)
    return int(m.group(1)) if m else None


def png_is_depth(path: str | Path) -> bool:
    """True for a 16-bit single-channel (greyscale) PNG, read from its header only."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(26)
    except OSError:
        return False
    # signature (8), IHDR length + type (8), width, height (8), bit depth, colour type
    return (len(head) == 26 and head[:8] == _PNG_SIGNATURE and head[12:16] == b"IHDR"
            and head[24] == 16 and head[25] == 0)


def _numbered(folder: Path, depth_dir: bool = False) -> tuple[dict[int, Path], dict[int, Path]]:
    """``({n: colour file}, {n: depth file})`` of the numbered images in ``folder``.

    In a ``depth`` folder (``depth_dir``) every PNG is a depth frame (an 8-bit one is then
    refused when read); elsewhere a PNG is depth when its header says 16-bit greyscale.

    Raises:
        SourceError: two colour (or two depth) files with the same number.
    """
    colors: dict[int, Path] = {}
    depths: dict[int, Path] = {}
    try:
        with os.scandir(folder) as it:
            entries = sorted((e.name, e.path) for e in it if e.is_file())
    except OSError:
        return {}, {}
    for name, path in entries:
        suffix = os.path.splitext(name)[1].lower()
        if suffix not in COLOR_SUFFIXES:
            continue
        n = frame_number(name)
        if n is None:
            continue
        is_depth = suffix == ".png" and (depth_dir or png_is_depth(path))
        target = depths if is_depth else colors
        if n in target:
            kind = "depth" if target is depths else "colour"
            raise SourceError(f"{folder}: two {kind} frames numbered {n}: "
                              f"{target[n].name} and {name}; expected one file per number")
        target[n] = Path(path)
    return colors, depths


def _subdir(folder: Path, names: tuple[str, ...]) -> Path | None:
    try:
        children = {p.name.lower(): p for p in folder.iterdir() if p.is_dir()}
    except OSError:
        return None
    for n in names:
        if n in children:
            return children[n]
    return None


def _split_tree_depth(cdir: Path) -> tuple[Path | None, dict[int, Path]]:
    """Split trees: ``<top>/RGB/<...>/<video>`` beside ``<top>/depth/<...>/<video>``."""
    parts = cdir.resolve().parts
    for i in range(len(parts) - 1, 0, -1):
        if parts[i].lower() in _COLOR_DIRS:
            twin = _subdir(Path(*parts[:i]), _DEPTH_DIRS)
            if twin is not None:
                cand = twin.joinpath(*parts[i + 1 :])
                found = _numbered(cand, depth_dir=True)[1]
                if found:
                    return cand, found
    return None, {}


def find_frame_folders(path: str | Path) -> tuple[Path, dict[int, Path], Path | None, dict[int, Path]]:
    """Locate the colour and depth frames of one video folder.

    Returns:
        ``(color_dir, {n: colour file}, depth_dir or None, {n: depth png})``; no depth
        (``None, {}``) for an RGB-only folder.

    Raises:
        SourceError: ``path`` is not a folder or holds no numbered colour frames.
    """
    root = Path(path)
    if not root.is_dir():
        raise SourceError(f"frame folder {root} does not exist or is not a folder")
    root_colors, root_depths = _numbered(root)
    cdir = _subdir(root, _COLOR_DIRS)
    colors, depths_in_cdir = _numbered(cdir) if cdir is not None else ({}, {})
    if not colors:
        cdir, colors, depths_in_cdir = root, root_colors, root_depths
    if not colors:
        raise SourceError(
            f"{root}: no colour frames found: expected numbered images such as color/1.jpg, "
            "1.jpg, img1.jpg or 001.bmp (the frame number is the stem's trailing integer)"
        )
    ddir = _subdir(root, _DEPTH_DIRS)
    depths = _numbered(ddir, depth_dir=True)[1] if ddir is not None else {}
    if not depths:
        ddir, depths = (root, root_depths) if root_depths else (cdir, depths_in_cdir)
    if not depths:
        ddir, depths = _split_tree_depth(cdir)
    return cdir, colors, ddir, depths


class FolderSource(Source):
    """One video folder of numbered frames, read frame by frame (``seekable``).

    Frames: ``color`` H×W×3 uint8 RGB, ``depth`` H×W uint16 mm (the PNG value ×
    ``depth_scale_mm``, rounded, saturated at 65535; zeros in an RGB-only folder), ``index``
    the file number − 1 (0-based; or the rank, see the module doc), ``timestamp`` ``index /
    fps`` seconds, ``meta`` ``{"file_number": n}``.

    Args:
        path: the video folder (see the module doc for the layouts found).
        fps: frame rate of the video (CAS(ME)^3: 30; CASME II and SAMM: 200).
        depth_scale_mm: millimetres per PNG depth unit (the D415 default unit is 1 mm).
        intrinsics: colour intrinsics; default: an ideal D415 colour camera at the image
            size (``Intrinsics.from_fov(w, h, 69)``).
        index: ``"file"`` (index = file number − 1, or the file number in a folder numbered
            from 0) or ``"position"`` (0-based rank).
        allow_gaps: accept gaps in the numbering (else a missing number is an error).

    Raises:
        SourceError: missing folder, no frames, a depth frame missing for a colour frame (or
            the reverse) in a folder with depth, gaps in the numbering, images of different sizes or an 8-bit depth
            PNG.
    """

    seekable = True
    live = False

    def __init__(
        self,
        path: str | Path,
        fps: float = 30,
        depth_scale_mm: float = 1.0,
        intrinsics: Intrinsics | None = None,
        index: str = "file",
        allow_gaps: bool = False,
    ) -> None:
        if not fps > 0:
            raise SourceError(f"fps must be > 0, found {fps}")
        if not depth_scale_mm > 0:
            raise SourceError(f"depth_scale_mm must be > 0, found {depth_scale_mm}")
        if index not in ("file", "position"):
            raise SourceError(f"index must be 'file' or 'position', found {index!r}")
        self.path = Path(path)
        self.name = f"folder {self.path.name}"
        self.fps = float(fps)
        self.depth_scale_mm = float(depth_scale_mm)
        self.index_mode = index
        self.allow_gaps = bool(allow_gaps)
        self._given_intrinsics = intrinsics
        self._intrinsics: Intrinsics | None = intrinsics
        self._numbers: list[int] = []
        self._colors: dict[int, Path] = {}
        self._depths: dict[int, Path] = {}
        self._base = 1  # the file number of frame 0 (0 in a folder numbered from 0)
        self._pos = 0
        self._opened = False
        self.color_dir: Path | None = None
        self.depth_dir: Path | None = None
        self._shape: tuple[int, int] | None = None

    # -- Source interface ---------------------------------------------------------------------

    def open(self) -> FolderSource:
        if self._opened:
            return self
        cdir, colors, ddir, depths = find_frame_folders(self.path)
        only_c = [] if ddir is None else sorted(set(colors) - set(depths))
        only_d = sorted(set(depths) - set(colors))
        if only_c or only_d:
            parts = []
            if only_c:
                parts.append(f"{len(only_c)} colour frame(s) without depth (first {only_c[:5]})")
            if only_d:
                parts.append(f"{len(only_d)} depth frame(s) without colour (first {only_d[:5]})")
            raise SourceError(
                f"{self.path}: colour frames in {cdir} and depth frames in {ddir} do not match: "
                + "; ".join(parts)
            )
        numbers = sorted(colors)
        if not self.allow_gaps and numbers[-1] - numbers[0] + 1 != len(numbers):
            have = set(numbers)
            gaps = [n for n in range(numbers[0], numbers[-1] + 1) if n not in have]
            raise SourceError(
                f"{self.path}: {len(gaps)} frame number(s) missing between {numbers[0]} and "
                f"{numbers[-1]} (first {gaps[:5]}); add the missing frames or number the files "
                f"without gaps (in Python, FolderSource(path, allow_gaps=True) plays it anyway)"
            )
        self.color_dir, self.depth_dir = cdir, ddir
        self._numbers, self._colors, self._depths = numbers, colors, depths
        self._base = 0 if numbers[0] == 0 else 1  # dataset files are numbered from 1
        self._pos = 0
        self._shape = None
        first = self._read(0)
        if self._given_intrinsics is None:
            h, w = first.shape
            self._intrinsics = Intrinsics.from_fov(w, h, D415_COLOR_HFOV_DEG)
        elif (self._given_intrinsics.width, self._given_intrinsics.height) != (
            first.shape[1],
            first.shape[0],
        ):
            g = self._given_intrinsics
            raise SourceError(
                f"{self.path}: intrinsics are for {g.width}x{g.height}, frames are "
                f"{first.shape[1]}x{first.shape[0]}"
            )
        self._shape = first.shape
        self._opened = True
        return self

    def close(self) -> None:
        self._opened = False

    @property
    def intrinsics(self) -> Intrinsics | None:
        return self._intrinsics

    @property
    def frame_count(self) -> int | None:
        return len(self._numbers) if self._numbers else None

    @property
    def has_depth(self) -> bool:
        """False when the folder holds no depth frames (looked up before :meth:`open`; a
        folder that cannot be read counts as RGB-D, and :meth:`open` reports it)."""
        if self._opened:
            return self.depth_dir is not None
        try:
            return find_frame_folders(self.path)[2] is not None
        except SourceError:
            return True

    @property
    def numbers(self) -> list[int]:
        """The file numbers in play order (available after :meth:`open`)."""
        return list(self._numbers)

    def seek(self, index: int) -> None:
        """Continue at the frame whose ``index`` (file number − 1, or rank) is ``index``."""
        if not self._opened:
            raise SourceError(f"{self.name}: open() the source before seeking")
        index = int(index)
        if self.index_mode == "position":
            if not 0 <= index < len(self._numbers):
                raise SourceError(
                    f"{self.name}: seek index {index} outside 0..{len(self._numbers) - 1}"
                )
            self._pos = index
            return
        try:
            self._pos = self._numbers.index(index + self._base)
        except ValueError:
            raise SourceError(
                f"{self.name}: no frame {index} (frames {self._numbers[0] - self._base}.."
                f"{self._numbers[-1] - self._base}, files {self._numbers[0]}.."
                f"{self._numbers[-1]})"
            ) from None

    def __iter__(self) -> Iterator[RGBDFrame]:
        if not self._opened:
            raise SourceError(f"{self.name}: open() the source before iterating")
        while self._pos < len(self._numbers):
            frame = self._read(self._pos)
            self._pos += 1
            yield frame

    # -- internals ----------------------------------------------------------------------------

    def _read(self, pos: int) -> RGBDFrame:
        n = self._numbers[pos]
        cpath = self._colors[n]
        bgr = _read_color(cpath)
        if self._shape is not None and bgr.shape[:2] != self._shape:
            raise SourceError(
                f"frame {n}: size {bgr.shape[1]}x{bgr.shape[0]} ({cpath.name}) differs from "
                f"the first frame's {self._shape[1]}x{self._shape[0]}"
            )
        if self.has_depth:
            depth = self._read_depth(n, cpath, bgr.shape[:2])
        else:
            depth = np.zeros(bgr.shape[:2], np.uint16)
        color = np.ascontiguousarray(bgr[:, :, ::-1])
        index = n - self._base if self.index_mode == "file" else pos
        intr = self._intrinsics or Intrinsics.from_fov(bgr.shape[1], bgr.shape[0],
                                                       D415_COLOR_HFOV_DEG)
        return RGBDFrame(color, depth, index / self.fps, index, intr, {"file_number": n})

    def _read_depth(self, n: int, cpath: Path, shape: tuple[int, ...]) -> np.ndarray:
        from rt_sfamnet.images import read_png

        dpath = self._depths[n]
        raw = read_png(dpath, SourceError)  # every chunk's CRC checked: libpng never prints
        if raw.ndim != 2 or raw.dtype != np.uint16:
            raise SourceError(
                f"{dpath}: expected a 16-bit single-channel depth PNG, found "
                f"{raw.dtype} with shape {raw.shape}"
            )
        if raw.shape != shape:
            raise SourceError(
                f"frame {n}: depth {dpath.name} is {raw.shape[1]}x{raw.shape[0]} but colour "
                f"{cpath.name} is {shape[1]}x{shape[0]}"
            )
        if self.depth_scale_mm == 1.0:
            return raw
        return np.clip(np.rint(raw * self.depth_scale_mm), 0, 65535).astype(np.uint16)


def _read_color(path: Path) -> np.ndarray:
    """A colour frame as (H, W, 3) uint8 BGR (JPEGs checked for truncation)."""
    import cv2

    from rt_sfamnet.images import read_jpeg, read_png

    if path.suffix.lower() in (".jpg", ".jpeg"):
        return read_jpeg(path, SourceError)
    if path.suffix.lower() == ".png":
        img = read_png(path, SourceError)
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        return img[:, :, :3] if img.dtype == np.uint8 else (img >> 8).astype(np.uint8)
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SourceError(f"{path}: cannot be read as a {path.suffix.lstrip('.').upper()} "
                          "image (damaged, or not an image)")
    return bgr
