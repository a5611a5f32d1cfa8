"""Frame types shared by every stage: :class:`Intrinsics`, :class:`RGBDFrame` and
:class:`LazyRGBDFrame` (pixels decoded on first access)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of the colour camera (depth is aligned to colour).

    Attributes:
        width, height: image size in pixels.
        fx, fy: focal lengths in pixels.
        ppx, ppy: principal point in pixels.
        model: distortion model name as librealsense reports it (``"none"``,
            ``"brown_conrady"``, ``"inverse_brown_conrady"`` ...).
        coeffs: the five distortion coefficients.
    """

    width: int
    height: int
    fx: float
    fy: float
    ppx: float
    ppy: float
    model: str = "none"
    coeffs: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)

    @classmethod
    def from_fov(cls, width: int, height: int, hfov_deg: float = 69.0) -> Intrinsics:
        """Ideal pinhole intrinsics with square pixels and a centred principal point."""
        fx = (width / 2.0) / np.tan(np.deg2rad(hfov_deg) / 2.0)
        return cls(width, height, float(fx), float(fx), (width - 1) / 2.0, (height - 1) / 2.0)

    def scaled(self, sx: float, sy: float | None = None) -> Intrinsics:
        """Intrinsics of the image resized by ``sx`` (and ``sy``) in each direction."""
        sy = sx if sy is None else sy
        return replace(
            self,
            width=int(round(self.width * sx)),
            height=int(round(self.height * sy)),
            fx=self.fx * sx,
            fy=self.fy * sy,
            ppx=(self.ppx + 0.5) * sx - 0.5,
            ppy=(self.ppy + 0.5) * sy - 0.5,
        )


@dataclass
class RGBDFrame:
    """One aligned colour + depth frame, owned by Python (never an SDK buffer).

    Attributes:
        color: H×W×3 uint8, RGB order.
        depth: H×W uint16, millimetres, aligned to ``color``; 0 means no depth.
        timestamp: seconds; monotonic within a stream (not necessarily starting at 0).
        index: frame number within the stream, 0-based.
        intrinsics: the colour camera's intrinsics (valid for ``depth`` too).
        meta: free-form extras (e.g. the simulator's ground-truth AU activations).
    """

    color: np.ndarray
    depth: np.ndarray
    timestamp: float
    index: int
    intrinsics: Intrinsics
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_pixels(self.color, self.depth)

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) in pixels."""
        return self.color.shape[0], self.color.shape[1]


def _check_pixels(c: np.ndarray, d: np.ndarray) -> None:
    """Shapes and dtypes of a frame's pixels (see :class:`RGBDFrame`); ValueError if wrong."""
    if c.ndim != 3 or c.shape[2] != 3 or c.dtype != np.uint8:
        raise ValueError(f"color must be H×W×3 uint8, got {c.shape} {c.dtype}")
    if d.ndim != 2 or d.dtype != np.uint16:
        raise ValueError(f"depth must be H×W uint16 (mm), got {d.shape} {d.dtype}")
    if d.shape != c.shape[:2]:
        raise ValueError(f"depth {d.shape} is not aligned to color {c.shape[:2]}")


class LazyRGBDFrame(RGBDFrame):
    """An :class:`RGBDFrame` whose ``color`` and ``depth`` are decoded on first access.

    A recording's frames are read as the file's bytes and decoded only when a stage touches
    their pixels, so frames no scheduled window uses cost no decoding. Decoding runs once
    (thread-safe: the first thread to ask decodes, the others wait for it) and holds no SDK
    object: ``load`` works from the file's bytes.

    Args:
        load: ``() -> (color, depth)`` with the shapes and dtypes of :class:`RGBDFrame`.
        shape: (height, width) in pixels, known without decoding.
        timestamp, index, intrinsics, meta: as in :class:`RGBDFrame`.
    """

    def __init__(self, load: Callable[[], tuple[np.ndarray, np.ndarray]],
                 shape: tuple[int, int], timestamp: float, index: int,
                 intrinsics: Intrinsics, meta: dict | None = None) -> None:
        self._load: Callable[[], tuple[np.ndarray, np.ndarray]] | None = load
        self._pixels: tuple[np.ndarray, np.ndarray] | None = None
        self._lock = threading.Lock()
        self._shape = (int(shape[0]), int(shape[1]))
        self.timestamp = timestamp
        self.index = index
        self.intrinsics = intrinsics
        self.meta = {} if meta is None else meta

    def _decoded(self) -> tuple[np.ndarray, np.ndarray]:
        pixels = self._pixels
        if pixels is None:
            with self._lock:
                if self._pixels is None:
                    assert self._load is not None
                    c, d = self._load()
                    _check_pixels(c, d)
                    if c.shape[:2] != self._shape:
                        raise ValueError(f"decoded frame is {c.shape[:2]}, expected "
                                         f"{self._shape}")
                    self._pixels, self._load = (c, d), None  # the bytes are no longer needed
                pixels = self._pixels
        return pixels

    @property  # type: ignore[override]
    def color(self) -> np.ndarray:  # type: ignore[override]
        return self._decoded()[0]

    @property  # type: ignore[override]
    def depth(self) -> np.ndarray:  # type: ignore[override]
        return self._decoded()[1]

    def __reduce__(self) -> tuple:
        """Pickled (and copied) as the plain :class:`RGBDFrame` it decodes to."""
        return (RGBDFrame, (self.color, self.depth, self.timestamp, self.index,
                            self.intrinsics, self.meta))

    @property
    def decoded(self) -> bool:
        """True once the pixels have been decoded."""
        return self._pixels is not None

    @property
    def shape(self) -> tuple[int, int]:
        return self._shape
