"""Frame folders in the CAS(ME)^3 part A layout, as a :class:`~rt_sfamnet.sources.Source`.

One video folder holds colour frames ``<n>.jpg`` and 16-bit depth frames ``<n>.png`` with
unpadded integer names. Accepted layouts of the folder ``path`` given to
:class:`FolderSource`:

* ``path/color/<n>.jpg`` and ``path/depth/<n>.png`` (the official layout);
* ``path/color/<n>.jpg`` and ``path/<n>.png`` (distributions without the inner ``depth/``);
* ``path/<n>.jpg`` and ``path/<n>.png`` side by side;
* split top folders: ``.../RGB/spNO.1/a/<n>.jpg`` beside ``.../depth/spNO.1/a/<n>.png``
  (``path`` is the colour folder; the depth folder is found by replacing the ancestor named
  ``RGB``/``color``/``colour`` with ``depth``).

Frames are sorted by their number. By default (``index="file"``) ``RGBDFrame.index`` is the
file number and ``timestamp = number / fps``; with ``index="position"`` the index is the
0-based rank in the folder (``timestamp = rank / fps``), which matches 0-based intervals
(annotation frame ``n`` -> ``n - 1``) when the numbering starts at 1 without gaps.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from rt_sfamnet.errors import SourceError
from rt_sfamnet.frames import Intrinsics, RGBDFrame
from rt_sfamnet.sources.base import Source

__all__ = ["FolderSource", "find_frame_folders"]

_COLOR_DIRS = ("color", "colour", "rgb")
_DEPTH_DIRS = ("depth",)
D415_COLOR_HFOV_DEG = 69.0


def _numbered(folder: Path, suffix: str) -> dict[int, Path]:
    """``{number: path}`` of the files ``<number><suffix>`` (case-insensitive suffix)."""
    out: dict[int, Path] = {}
    try:
        with os.scandir(folder) as it:
            for e in it:
                name = e.name
                if name.lower().endswith(suffix) and e.is_file():
                    stem = name[: -len(suffix)]
                    if stem.isdigit():
                        out[int(stem)] = Path(e.path)
    except OSError:
        return {}
    return out


def _subdir(folder: Path, names: tuple[str, ...]) -> Path | None:
    try:
        children = {p.name.lower(): p for p in folder.iterdir() if p.is_dir()}
    except OSError:
        return None
    for n in names:
        if n in children:
            return children[n]
    return None


def find_frame_folders(path: str | Path) -> tuple[Path, dict[int, Path], Path | None, dict[int, Path]]:
    """Locate the colour and depth frames of one video folder.

    Returns:
        ``(color_dir, {n: jpg}, depth_dir or None, {n: png})``.

    Raises:
        SourceError: ``path`` is not a folder or holds no numbered ``.jpg`` frames.
    """
    root = Path(path)
    if not root.is_dir():
        raise SourceError(f"frame folder {root} does not exist or is not a folder")
    cdir = _subdir(root, _COLOR_DIRS)
    colors = _numbered(cdir, ".jpg") if cdir is not None else {}
    if not colors:
        cdir, colors = root, _numbered(root, ".jpg")
    if not colors:
        raise SourceError(
            f"{root}: no colour frames found: expected color/<n>.jpg (or <n>.jpg) with "
            "integer names"
        )
    ddir = _subdir(root, _DEPTH_DIRS)
    depths = _numbered(ddir, ".png") if ddir is not None else {}
    if not depths:
        ddir, depths = root, _numbered(root, ".png")
    if not depths:
        ddir, depths = None, {}
        # Split trees: <top>/RGB/<...>/<video> beside <top>/depth/<...>/<video>.
        parts = cdir.resolve().parts
        for i in range(len(parts) - 1, 0, -1):
            if parts[i].lower() in _COLOR_DIRS:
                parent = Path(*parts[:i])
                twin = _subdir(parent, _DEPTH_DIRS)
                if twin is not None:
                    cand = twin.joinpath(*parts[i + 1 :])
                    found = _numbered(cand, ".png")
                    if found:
                        ddir, depths = cand, found
                        break
    return cdir, colors, ddir, depths


class FolderSource(Source):
    """One CAS(ME)^3-style video folder, read frame by frame (``seekable``).

    Frames: ``color`` H×W×3 uint8 RGB (from the JPEG), ``depth`` H×W uint16 mm (the PNG
    value × ``depth_scale_mm``, rounded, saturated at 65535), ``index`` the file number (or
    the rank, see the module doc), ``timestamp`` ``index / fps`` seconds, ``meta``
    ``{"file_number": n}``.

    Args:
        path: the video folder (see the module doc for the layouts found).
        fps: frame rate of the video (CAS(ME)^3: 30).
        depth_scale_mm: millimetres per PNG depth unit (the D415 default unit is 1 mm).
        intrinsics: colour intrinsics; default: an ideal D415 colour camera at the image
            size (``Intrinsics.from_fov(w, h, 69)``).
        index: ``"file"`` (index = file number) or ``"position"`` (0-based rank).
        allow_gaps: accept gaps in the numbering (else a missing number is an error).

    Raises:
        SourceError: missing folder, no frames, a depth frame missing for a colour frame (or
            the reverse), gaps in the numbering, images of different sizes or an 8-bit depth
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
        if ddir is None:
            raise SourceError(
                f"{self.path}: no depth frames found: expected depth/<n>.png (16-bit, mm) "
                f"beside the colour frames in {cdir}"
            )
        only_c = sorted(set(colors) - set(depths))
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
                f"{numbers[-1]} (first {gaps[:5]}); pass allow_gaps=True to play it anyway"
            )
        self.color_dir, self.depth_dir = cdir, ddir
        self._numbers, self._colors, self._depths = numbers, colors, depths
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
        """Continue at the frame whose ``index`` (file number or rank) is ``index``."""
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
            self._pos = self._numbers.index(index)
        except ValueError:
            raise SourceError(
                f"{self.name}: no frame number {index} (frames {self._numbers[0]}.."
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
        import cv2

        from rt_sfamnet.images import read_jpeg

        n = self._numbers[pos]
        cpath, dpath = self._colors[n], self._depths[n]
        bgr = read_jpeg(cpath, SourceError)
        raw = cv2.imread(str(dpath), cv2.IMREAD_UNCHANGED)
        if raw is None:
            raise SourceError(f"{dpath}: cannot be read as a PNG image")
        if raw.ndim != 2 or raw.dtype != np.uint16:
            raise SourceError(
                f"{dpath}: expected a 16-bit single-channel depth PNG, found "
                f"{raw.dtype} with shape {raw.shape}"
            )
        if raw.shape != bgr.shape[:2]:
            raise SourceError(
                f"frame {n}: depth {dpath.name} is {raw.shape[1]}x{raw.shape[0]} but colour "
                f"{cpath.name} is {bgr.shape[1]}x{bgr.shape[0]}"
            )
        if self._shape is not None and raw.shape != self._shape:
            raise SourceError(
                f"frame {n}: size {raw.shape[1]}x{raw.shape[0]} differs from the first frame's "
                f"{self._shape[1]}x{self._shape[0]}"
            )
        if self.depth_scale_mm == 1.0:
            depth = raw
        else:
            depth = np.clip(np.rint(raw * self.depth_scale_mm), 0, 65535).astype(np.uint16)
        color = np.ascontiguousarray(bgr[:, :, ::-1])
        index = n if self.index_mode == "file" else pos
        intr = self._intrinsics or Intrinsics.from_fov(bgr.shape[1], bgr.shape[0],
                                                       D415_COLOR_HFOV_DEG)
        return RGBDFrame(color, depth, index / self.fps, index, intr, {"file_number": n})
