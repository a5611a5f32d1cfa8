"""Webcams (``webcam:0``, ``webcam:/dev/video2``) as a :class:`~rt_sfamnet.sources.Source`.

Read with OpenCV's ``VideoCapture`` (V4L2 on Linux, the system's camera API elsewhere): it
is the capture API OpenCV keeps working across platforms, and cv2 is already a dependency
(opencv-contrib-python, through mediapipe). The same class opens anything VideoCapture opens,
a video file too: that is how the tests run this code path without a camera.

Timing: a frame's ``timestamp`` is the capture clock, ``CAP_PROP_POS_MSEC`` (the driver's
buffer time on V4L2), when it increases from frame to frame over the first
:data:`PROBE_FRAMES` frames; otherwise the monotonic clock when the frame was grabbed.
:meth:`WebcamSource.open` reads those first frames (they are delivered first, not lost) and
sets :attr:`~WebcamSource.fps` to ``1 / median interval`` of their timestamps: the rate a
camera promises is often not the one it delivers (low light lengthens exposures).

Frames are RGB uint8 with all-zero depth (``has_depth = False``), ``index`` 0-based in
capture order.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.errors import SourceError
from rt_sfamnet.frames import Intrinsics, RGBDFrame
from rt_sfamnet.sources.base import Source
from rt_sfamnet.sources.video import median_rate

__all__ = ["PROBE_FRAMES", "WebcamSource", "parse_webcam_spec"]

#: Frames read by ``open()`` to learn the clock and the median frame interval.
PROBE_FRAMES = 10
#: Horizontal field of view assumed for a webcam (degrees; typical webcams: 60-78).
WEBCAM_HFOV_DEG = 69.0


def parse_webcam_spec(text: str) -> int | str:
    """``"webcam"`` / ``"webcam:0"`` -> 0; ``"webcam:/dev/video2"`` -> the path."""
    rest = text.partition(":")[2].strip()
    if not rest:
        return 0
    return int(rest) if rest.isdigit() else rest


class _QuietOpenCV:
    """OpenCV's own warnings off while a device is probed (one clear line is ours)."""

    def __enter__(self) -> None:
        import cv2

        self._level = cv2.getLogLevel()
        cv2.setLogLevel(0)  # LOG_LEVEL_SILENT

    def __exit__(self, *exc: object) -> None:
        import cv2

        cv2.setLogLevel(self._level)


class WebcamSource(Source):
    """A webcam (or anything OpenCV's VideoCapture opens), live by default.

    Args:
        device: a camera number (``0`` = ``/dev/video0`` on Linux) or a device path; a path to
            a regular file opens that file through the same code (tests, no camera).
        live: frames are dropped, not waited for, when the analysis is slow; default: True
            for a camera, False for a regular file.

    Raises:
        SourceError: no such device, the device cannot be opened, or it delivers no frames.
    """

    seekable = False
    has_depth = False

    def __init__(self, device: int | str = 0, live: bool | None = None) -> None:
        self.device = device
        is_file = isinstance(device, str) and Path(device).is_file()
        self.live = (not is_file) if live is None else bool(live)
        self.name = f"webcam {device}"
        self.fps = 30.0
        self._cap: Any = None
        self._probe: deque[RGBDFrame] = deque()
        self._use_clock = False  # True: CAP_PROP_POS_MSEC; False: the monotonic clock
        self._index = 0
        self._last_t: float | None = None
        self._intrinsics: Intrinsics | None = None
        self._frames: int | None = None
        self._is_file = is_file

    def _check_device(self) -> None:
        dev = self.device
        if isinstance(dev, int) and sys.platform.startswith("linux"):
            node = Path(f"/dev/video{dev}")
            if not node.exists():
                have = sorted(str(p) for p in Path("/dev").glob("video*"))
                raise SourceError(f"webcam {dev}: no such device: {node} does not exist "
                                  f"(video devices found: {', '.join(have) or 'none'})")
        elif isinstance(dev, str) and not Path(dev).exists():
            raise SourceError(f"webcam {dev}: no such device: expected a camera number "
                              "(webcam:0) or an existing device path (webcam:/dev/video0)")

    def open(self) -> WebcamSource:
        if self._cap is not None:
            return self
        import cv2

        self._check_device()
        with _QuietOpenCV():
            cap = cv2.VideoCapture(self.device)
            if not cap.isOpened():
                cap.release()
                raise SourceError(f"webcam {self.device}: the device exists but cannot be "
                                  "opened (in use by another program, or not a camera?)")
        self._cap, self._index, self._probe, self._last_t = cap, 0, deque(), None
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self._frames = count if self._is_file and count > 0 else None
        raw: list[tuple[np.ndarray, float, float]] = []
        for _ in range(PROBE_FRAMES):
            got = self._grab()
            if got is None:
                break
            raw.append(got)
        if not raw:
            self.close()
            raise SourceError(f"webcam {self.device}: opened, but it delivered no frame")
        clock = [r[1] for r in raw]
        self._use_clock = all(b > a for a, b in zip(clock, clock[1:], strict=False)) and clock[-1] > 0
        times = clock if self._use_clock else [r[2] for r in raw]
        nominal = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = median_rate(times) or (nominal if nominal > 0 else 30.0)
        h, w = raw[0][0].shape[:2]
        self._intrinsics = Intrinsics.from_fov(w, h, WEBCAM_HFOV_DEG)
        for bgr, cam_t, mono_t in raw:
            self._probe.append(self._frame(bgr, cam_t if self._use_clock else mono_t))
        return self

    def close(self) -> None:
        if self._cap is not None:
            try:
                self._cap.release()
            finally:
                self._cap = None

    @property
    def intrinsics(self) -> Intrinsics | None:
        return self._intrinsics

    @property
    def frame_count(self) -> int | None:
        return self._frames

    def __iter__(self) -> Iterator[RGBDFrame]:
        if self._cap is None:
            raise SourceError(f"{self.name}: open() the source before iterating")
        while self._probe:
            yield self._probe.popleft()
        while self._cap is not None:
            got = self._grab()
            if got is None:
                if self.live and self._cap is not None:
                    raise SourceError(f"webcam {self.device}: stopped delivering frames after "
                                      f"frame {self._index - 1} (unplugged?)")
                return
            bgr, cam_t, mono_t = got
            yield self._frame(bgr, cam_t if self._use_clock else mono_t)

    # -- internals ----------------------------------------------------------------------------

    def _grab(self) -> tuple[np.ndarray, float, float] | None:
        """(BGR image, capture clock s, monotonic clock s) of the next frame, or None."""
        import cv2

        cap = self._cap
        if cap is None:
            return None
        ok, bgr = cap.read()
        mono = time.monotonic()
        if not ok or bgr is None:
            return None
        return bgr, float(cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0) / 1000.0, mono

    def _frame(self, bgr: np.ndarray, t: float) -> RGBDFrame:
        if bgr.ndim == 2:
            bgr = np.repeat(bgr[:, :, None], 3, axis=2)
        color = np.ascontiguousarray(bgr[:, :, 2::-1])
        h, w = color.shape[:2]
        intr = self._intrinsics
        if intr is None or (intr.width, intr.height) != (w, h):
            intr = Intrinsics.from_fov(w, h, WEBCAM_HFOV_DEG)
        if self._last_t is not None and t <= self._last_t:  # a clock that stalls: keep order
            t = self._last_t + 1.0 / self.fps
        self._last_t = t
        frame = RGBDFrame(color, np.zeros((h, w), np.uint16), t, self._index, intr, {})
        self._index += 1
        return frame
