"""The SDK-free recording backend: :class:`RosbagReader` (``rosbags``, OpenCV, NumPy).

It streams a recording's image messages in time order through the ``rosbags`` reader of the
file's :class:`~rt_sfamnet.sources.realsense.index.RecordingIndex` and hands each colour rank
on as the file's bytes; decoding (PNG or raw, depth units, alignment) runs only when a stage
touches the frame's pixels (:class:`~rt_sfamnet.frames.LazyRGBDFrame`), so headless analysis
never decodes the frames no scheduled window uses.

Frames equal the SDK's: colour H×W×3 uint8 RGB, depth H×W uint16 millimetres, colour paired
with the depth frame nearest in time. Depth stored registered to colour (same intrinsics,
identity extrinsics: simulated recordings) is used as it is and is bit-identical to the
SDK's; other depth goes through
:func:`~rt_sfamnet.sources.realsense.align.align_depth_to_color` (see its tolerance).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import numpy as np

from rt_sfamnet.errors import RecordingError
from rt_sfamnet.frames import Intrinsics
from rt_sfamnet.images import PNG_SIGNATURE, decode_png
from rt_sfamnet.sources.realsense.index import RecordingIndex
from rt_sfamnet.sources.realsense.reader import RecordedPixels, RecordingReader


def decode_image(msg: Any, kind: str) -> np.ndarray:
    """A ``sensor_msgs`` (Compressed)Image -> colour H×W×3 uint8 RGB or depth H×W uint16.

    Compressed images hold a PNG (``"rgb8; png compressed bgr8"``; depth ``"16UC1;
    compressedDepth png"`` with its 12-byte header); raw images are ``rgb8``/``bgr8``/
    ``16UC1``/``mono16``.
    """
    import cv2

    fmt = str(getattr(msg, "format", ""))
    data = np.frombuffer(bytes(msg.data), np.uint8)
    if fmt or not hasattr(msg, "encoding"):
        if "compressedDepth" in fmt:
            data = data[12:]
        if data[:8].tobytes() == PNG_SIGNATURE:  # chunks' CRCs checked: libpng never prints
            img = decode_png(data.tobytes(), f"{kind} image", RecordingError)
        else:
            img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        if img is None:
            raise RecordingError(f"cannot decode a {kind} image ({fmt!r})")
        if kind == "color":  # the PNG holds true colours; OpenCV hands them back as BGR
            if img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8:
                return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)  # a channel swap, 20x a NumPy copy
            return np.ascontiguousarray(img[:, :, ::-1]) if img.ndim == 3 else np.repeat(
                img[:, :, None], 3, axis=2)
        return img.astype(np.uint16, copy=False)
    enc = str(msg.encoding).lower()
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    if kind == "depth":
        dt = np.dtype(">u2" if msg.is_bigendian else "<u2")
        return np.frombuffer(data.tobytes(), dt).reshape(h, step // 2)[:, :w].astype(np.uint16)
    img = data.reshape(h, step)[:, : w * 3].reshape(h, w, 3)
    return np.ascontiguousarray(img[:, :, ::-1] if enc == "bgr8" else img)


def _decode_pair(ix: RecordingIndex, cmsg: tuple[Any, bytes],
                 dmsg: tuple[Any, bytes] | None) -> tuple[np.ndarray, np.ndarray]:
    """The file's bytes of one colour (and depth) message -> (colour RGB, depth mm aligned)."""
    c, raw = cmsg
    if dmsg is None:
        color = decode_image(ix.deserialize(raw, c.msgtype), "color")
        return color, np.zeros(color.shape[:2], np.uint16)
    dc, draw = dmsg
    # depth on the helper thread while colour decodes here (OpenCV releases the GIL), so a
    # frame's decoding holds up the stage that touched it for the longer of the two only
    depth = _helper().submit(lambda: _depth_mm(ix, decode_image(
        ix.deserialize(draw, dc.msgtype), "depth")))
    color = decode_image(ix.deserialize(raw, c.msgtype), "color")
    return color, depth.result()


_HELPER: ThreadPoolExecutor | None = None
_HELPER_LOCK = threading.Lock()


def _helper() -> ThreadPoolExecutor:
    """One daemon thread shared by every recording, made on first use."""
    global _HELPER
    with _HELPER_LOCK:
        if _HELPER is None:
            _HELPER = ThreadPoolExecutor(1, thread_name_prefix="rt-sfamnet-decode")
        return _HELPER


def _depth_mm(ix: RecordingIndex, raw: np.ndarray) -> np.ndarray:
    mm_per_unit = ix.depth_unit_m * 1000.0
    if abs(mm_per_unit - 1.0) < 1e-6:
        depth = raw.astype(np.uint16, copy=True)
    else:
        depth = np.clip(np.rint(raw * mm_per_unit), 0, 65535).astype(np.uint16)
    if ix.registered:
        return depth
    from rt_sfamnet.sources.realsense.align import align_depth_to_color

    return align_depth_to_color(depth, ix.depth.intrinsics, ix.color.intrinsics,
                                ix.rotation, ix.translation_m, depth_unit_m=0.001)


class RosbagReader(RecordingReader):
    """Reads a RealSense recording with ``rosbags``; decodes lazily (see the module doc)."""

    backend = "rosbags"

    def open(self) -> RecordingIndex:
        if self.index is None:
            self.index = RecordingIndex(self.path)
        return self.index

    def close(self) -> None:
        index, self.index = self.index, None
        if index is not None:
            index.close()

    @property
    def intrinsics(self) -> Intrinsics:
        assert self.index is not None and self.index.color.intrinsics is not None
        return self.index.color.intrinsics

    @property
    def registered(self) -> bool:
        return bool(self.index and self.index.registered)

    def pixels(self, start: int) -> Iterator[RecordedPixels]:
        ix = self.index
        assert ix is not None, "open() the reader first"
        if start >= len(ix):
            return
        color_at = {t: i for i, t in enumerate(ix.color.times)}
        depth_at = {t: j for j, t in enumerate(ix.depth.times)}
        first_depth = min(ix.pair[start:], default=0)
        t0 = min(ix.color.times[start], ix.depth.times[first_depth])
        depths: dict[int, tuple[Any, bytes]] = {}  # depth rank -> message, kept until paired
        colors: list[tuple[int, tuple[Any, bytes]]] = []
        for c, t, raw in ix.reader.messages(connections=[ix.color.data, ix.depth.data],
                                            start=t0):
            if c.id == ix.depth.data.id:
                j = depth_at.get(int(t))
                if j is not None:
                    depths[j] = (c, raw)
            else:
                i = color_at.get(int(t))
                if i is not None and i >= start:
                    colors.append((i, (c, raw)))
            while colors and (ix.pair[colors[0][0]] in depths or not ix.depth_ok[colors[0][0]]):
                i, cmsg = colors.pop(0)
                yield self._pixels(i, cmsg, depths.get(ix.pair[i]))
                keep = ix.pair[colors[0][0]] if colors else ix.pair[min(i + 1, len(ix) - 1)]
                for j in [j for j in depths if j < keep]:
                    del depths[j]
        for i, cmsg in colors:  # depth never came (damaged tail): colour with empty depth
            yield self._pixels(i, cmsg, depths.get(ix.pair[i]))

    def _pixels(self, i: int, cmsg: tuple[Any, bytes], dmsg: tuple[Any, bytes] | None
                ) -> RecordedPixels:
        ix = self.index
        assert ix is not None
        if not ix.depth_ok[i]:  # never the depth of another moment
            dmsg = None
        return RecordedPixels(i, dmsg is not None, partial(_decode_pair, ix, cmsg, dmsg))


__all__ = ["RosbagReader", "decode_image"]
