"""pyrealsense2 access, SDK frame conversion and intrinsics.

pyrealsense2 is imported lazily (:func:`_rs`), so importing this module needs NumPy alone.

- :func:`intrinsics_from_rs` / :func:`intrinsics_to_rs`: ``pyrealsense2.intrinsics`` <->
  :class:`~rt_sfamnet.frames.Intrinsics` (a recording gives them back as the SDK stores
  them, float32).
- :class:`_FramesetConverter`: aligns depth to colour and copies frames out of the SDK
  (colour H×W×3 uint8 RGB, depth H×W uint16 mm).
- :func:`_load_recording`: a recording file as an SDK playback device.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.errors import RecordingError, SourceError
from rt_sfamnet.frames import Intrinsics

_DEPTH_UNITS_M = 0.001  # depth units written by write_recording: 1 mm


def _rs() -> Any:
    """Import pyrealsense2, or raise SourceError naming the missing extra."""
    try:
        import pyrealsense2 as rs  # noqa: PLC0415 (lazy on purpose)
    except ImportError as exc:  # pragma: no cover - pyrealsense2 is installed here
        raise SourceError(
            "pyrealsense2 is not installed: install rt-sfamnet with the 'realsense' extra "
            f"(pip install 'rt-sfamnet[realsense]'); import failed with: {exc}"
        ) from None
    return rs


def _load_recording(ctx: Any, path: Path) -> Any:
    """Load the recording at ``path`` as a playback device of the ``rs.context`` ``ctx``.

    Raises RecordingError if pyrealsense2 cannot play the file.
    """
    try:
        return ctx.load_device(str(path))
    except RuntimeError as exc:
        raise RecordingError(f"{path}: pyrealsense2 cannot play it: {exc}") from None


# --------------------------------------------------------------------------------------------
# intrinsics conversion


def _model_name(rs: Any, model: Any) -> str:
    text = str(model)
    return text.split(".", 1)[1] if "." in text else text


def intrinsics_from_rs(ri: Any) -> Intrinsics:
    """Convert a ``pyrealsense2.intrinsics`` to :class:`~rt_sfamnet.frames.Intrinsics`."""
    rs = _rs()
    coeffs = tuple(float(c) for c in list(ri.coeffs)[:5])
    coeffs = coeffs + (0.0,) * (5 - len(coeffs))
    return Intrinsics(
        width=int(ri.width),
        height=int(ri.height),
        fx=float(ri.fx),
        fy=float(ri.fy),
        ppx=float(ri.ppx),
        ppy=float(ri.ppy),
        model=_model_name(rs, ri.model),
        coeffs=coeffs,  # type: ignore[arg-type]
    )


def intrinsics_to_rs(intr: Intrinsics) -> Any:
    """Convert :class:`~rt_sfamnet.frames.Intrinsics` to a ``pyrealsense2.intrinsics``."""
    rs = _rs()
    ri = rs.intrinsics()
    ri.width, ri.height = int(intr.width), int(intr.height)
    ri.fx, ri.fy = float(intr.fx), float(intr.fy)
    ri.ppx, ri.ppy = float(intr.ppx), float(intr.ppy)
    models = rs.distortion.__members__
    if intr.model not in models:
        raise SourceError(
            f"unknown distortion model {intr.model!r}: expected one of {sorted(models)}"
        )
    ri.model = models[intr.model]
    ri.coeffs = [float(c) for c in intr.coeffs]
    return ri


# --------------------------------------------------------------------------------------------
# frameset -> arrays


class _FramesetConverter:
    """Aligns depth to colour (``rs.align`` built once) and copies frames out of the SDK.

    ``align`` is skipped when the depth stream is already registered to colour: same size,
    same intrinsics, identity extrinsics (what :func:`write_recording` writes). Camera
    recordings and the live camera go through ``rs.align``.

    Args:
        color_sp, depth_sp: the colour and depth ``video_stream_profile``.
        depth_scale: metres per z16 unit (the depth sensor's ``get_depth_scale()``).
    """

    def __init__(self, color_sp: Any, depth_sp: Any, depth_scale: float) -> None:
        rs = _rs()
        if color_sp.format() not in (rs.format.rgb8, rs.format.bgr8):
            raise SourceError(f"expected colour format rgb8 or bgr8, found {color_sp.format()}")
        if depth_sp.format() != rs.format.z16:
            raise SourceError(f"expected depth format z16, found {depth_sp.format()}")
        self.color_bgr = color_sp.format() == rs.format.bgr8
        self.intrinsics = intrinsics_from_rs(color_sp.get_intrinsics())
        self.depth_intrinsics = intrinsics_from_rs(depth_sp.get_intrinsics())
        self.depth_scale = float(depth_scale)
        # One z16 unit is depth_scale metres; millimetres = units * depth_scale * 1000.
        self.mm_per_unit = self.depth_scale * 1000.0
        self.unit_is_mm = abs(self.mm_per_unit - 1.0) < 1e-6
        try:
            ext = depth_sp.get_extrinsics_to(color_sp)
            identity = np.allclose(np.asarray(ext.rotation), np.eye(3).ravel(), atol=1e-9) and (
                np.allclose(np.asarray(ext.translation), 0.0, atol=1e-9)
            )
        except RuntimeError:
            identity = False
        self.registered = bool(identity and self.depth_intrinsics == self.intrinsics)
        self.align = None if self.registered else rs.align(rs.stream.color)
        self._composer: Any = None
        self._composed: Any = None
        self._pending_depth: Any = None

    @classmethod
    def from_pipeline_profile(cls, profile: Any) -> _FramesetConverter:
        rs = _rs()
        color_sp = depth_sp = None
        for sp in profile.get_streams():
            st = sp.stream_type()
            if st == rs.stream.color and color_sp is None:
                color_sp = sp.as_video_stream_profile()
            elif st == rs.stream.depth and depth_sp is None:
                depth_sp = sp.as_video_stream_profile()
        if color_sp is None or depth_sp is None:
            found = sorted({str(sp.stream_type()) for sp in profile.get_streams()})
            raise SourceError(f"expected a colour and a depth stream, found {found}")
        scale = profile.get_device().first_depth_sensor().get_depth_scale()
        return cls(color_sp, depth_sp, scale)

    def color_copy(self, c: Any) -> np.ndarray:
        """A colour frame -> H×W×3 uint8 RGB copy (bgr8 streams are flipped to RGB)."""
        color = np.array(c.get_data(), dtype=np.uint8, copy=True)
        if self.color_bgr:
            color = np.ascontiguousarray(color[:, :, ::-1])
        return color

    def _copy(self, c: Any, d: Any) -> tuple[np.ndarray, np.ndarray]:
        color = self.color_copy(c)
        raw = np.asanyarray(d.get_data())
        if self.unit_is_mm:
            depth = np.array(raw, dtype=np.uint16, copy=True)
        else:
            depth = np.clip(np.rint(raw * self.mm_per_unit), 0, 65535).astype(np.uint16)
        return color, depth

    def convert(self, fs: Any) -> tuple[Any, Any, np.ndarray, np.ndarray] | None:
        """Frameset -> (colour frame, depth frame, colour copy, depth copy in mm) or None.

        The returned SDK frames are for reading numbers/timestamps only; the arrays are
        Python-owned copies.
        """
        if self.align is not None:
            fs = self.align.process(fs)
        c = fs.get_color_frame()
        d = fs.get_depth_frame()
        if not c or not d:
            return None
        color, depth = self._copy(c, d)
        return c, d, color, depth

    def convert_pair(self, c: Any, d: Any) -> tuple[np.ndarray, np.ndarray]:
        """A separate colour and depth frame -> (colour copy, depth copy aligned, in mm)."""
        if self.align is None:
            return self._copy(c, d)
        rs = _rs()
        if self._composer is None:
            # rs.align works on framesets: build one from the two frames in a processing
            # block (invoke() runs synchronously in this thread).
            self._composed = rs.frame_queue(2, keep_frames=True)

            def compose(frame: Any, source: Any) -> None:
                source.frame_ready(source.allocate_composite_frame([self._pending_depth, frame]))

            self._composer = rs.processing_block(compose)
            self._composer.start(self._composed)
        self._pending_depth = d
        try:
            self._composer.invoke(c)
        finally:
            self._pending_depth = None  # hold no SDK frame past this call
        fs = self._composed.wait_for_frame(1000).as_frameset()
        out = self.convert(fs)
        if out is None:
            raise RecordingError("rs.align returned a frameset without colour or depth")
        return out[2], out[3]

