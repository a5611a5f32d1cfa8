"""The live Intel RealSense D415: :class:`CameraSource` and :func:`record_camera`.

A recording can stand in for the camera (``CameraSource(recording=...)``: played in real
time by the SDK through the same pipeline, callback, alignment and dropping queue), so the
camera code path is tested without a camera.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from rt_sfamnet.errors import CameraDisconnectedError, CameraNotFoundError, SourceError
from rt_sfamnet.frames import Intrinsics, RGBDFrame
from rt_sfamnet.queues import BoundedQueue
from rt_sfamnet.sources.base import Source
from rt_sfamnet.sources.realsense.index import _check_recording_file
from rt_sfamnet.sources.realsense.recorder import _check_db3_target, _WriteProgress
from rt_sfamnet.sources.realsense.sdk import _FramesetConverter, _load_recording, _rs

#: (width, height) pairs the D415 colour and depth streams both offer at 30 FPS.
CAMERA_MODES = ((640, 480), (1280, 720))


def _check_mode(width: int, height: int) -> None:
    if (width, height) not in CAMERA_MODES:
        raise SourceError(
            f"camera mode {width}x{height} not supported: expected one of "
            f"{', '.join(f'{w}x{h}' for w, h in CAMERA_MODES)}"
        )


class CameraSource(Source):
    """A live Intel RealSense D415 (colour rgb8 + depth z16, depth aligned to colour, mm).

    The SDK delivers framesets into a callback that aligns them (``rs.align`` built once),
    copies colour and depth into NumPy arrays at once, and puts the frame into a bounded
    queue (:class:`rt_sfamnet.queues.BoundedQueue`, :meth:`put_drop_oldest
    <rt_sfamnet.queues.BoundedQueue.put_drop_oldest>`) that drops its oldest frame when full
    (:attr:`dropped` counts them), so the SDK is never blocked by a slow consumer.

    Frames: ``timestamp`` is the camera's frame timestamp in seconds (made strictly
    increasing), ``index`` counts framesets delivered by the SDK, ``meta``
    ``{"frame_number", "arrival"}`` (``arrival`` = ``time.monotonic()`` when the SDK
    delivered the frame, for latency measurement). Frames the queue dropped leave gaps in
    ``index``; the first frame after such a gap carries ``meta["dropped_before"]`` = the
    number dropped (the analysis files them as ``dropped``, not as holes of the stream).

    Errors: :class:`CameraNotFoundError` at :meth:`open` when no camera (or not the one with
    ``serial``) is connected; :class:`CameraDisconnectedError` during iteration when no
    frame comes for ``frame_timeout_s`` (``first_frame_timeout_s`` for the first) or the
    device is removed.

    ``recording``: play this recording in real time in place of the camera, through the
    same pipeline, callback, alignment and dropping queue (for tests and demos without a
    camera). Its end looks like an unplugged camera: frames stop coming.
    """

    live = True
    seekable = False

    def __init__(
        self,
        width: int = 640,
        height: int = 480,
        fps: int = 30,
        serial: str | None = None,
        queue_size: int = 8,
        frame_timeout_s: float = 2.0,
        first_frame_timeout_s: float = 5.0,
        recording: str | Path | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        _check_mode(width, height)
        if fps not in (6, 15, 30):
            raise SourceError(f"camera fps must be 6, 15 or 30, found {fps}")
        self.width, self.height, self.fps = int(width), int(height), float(fps)
        self.serial = serial
        self.recording = None if recording is None else Path(recording)
        from rt_sfamnet.sources.realsense.options import parse_camera_options

        self.options = parse_camera_options(options)  # --camera KEY=VALUE, checked here
        self.name = f"D415 {width}x{height}@{fps}"
        self._device: Any = None
        self.queue = BoundedQueue(queue_size, "camera")
        self.frame_timeout_s = float(frame_timeout_s)
        self.first_frame_timeout_s = float(first_frame_timeout_s)
        self._pipe: Any = None
        self._ctx: Any = None
        self._conv: _FramesetConverter | None = None
        self._error: BaseException | None = None
        self._removed = threading.Event()
        self._count = 0
        self._last_ts = -math.inf
        self._intrinsics: Intrinsics | None = None

    @property
    def dropped(self) -> int:
        """Frames thrown away because the consumer was slower than the camera."""
        return self.queue.dropped

    @property
    def intrinsics(self) -> Intrinsics | None:
        return self._intrinsics

    def open(self) -> CameraSource:
        if self._pipe is not None:
            return self
        rs = _rs()
        self._ctx = rs.context()
        self._removed.clear()
        if self.recording is None:
            serial = _find_camera(self.serial)
            device = next(
                (d for d in self._ctx.query_devices()
                 if d.get_info(rs.camera_info.serial_number) == serial),
                None,
            )
            if device is None:
                raise CameraNotFoundError(f"camera {serial} disappeared before it was opened")
        else:
            # A recording played in real time stands in for the camera (tests and demos).
            _check_recording_file(self.recording)
            device = _load_recording(self._ctx, self.recording)
            device.as_playback().set_real_time(True)
            serial = device.get_info(rs.camera_info.serial_number)
        self._device = device
        if self.options and self.recording is None:  # a recording's options are fixed
            try:
                self.set_options(self.options)
            except BaseException:
                self._device = None
                raise

        def on_devices_changed(info: Any) -> None:
            try:
                if self._device is not None and info.was_removed(self._device):
                    self._removed.set()
            except RuntimeError:
                pass

        self._ctx.set_devices_changed_callback(on_devices_changed)
        pipe = rs.pipeline(self._ctx)
        cfg = rs.config()
        cfg.enable_device(serial)
        cfg.enable_stream(rs.stream.color, self.width, self.height, rs.format.rgb8, int(self.fps))
        cfg.enable_stream(rs.stream.depth, self.width, self.height, rs.format.z16, int(self.fps))
        what = f"camera {serial}" if self.recording is None else f"recording {self.recording}"
        try:
            resolved = cfg.resolve(rs.pipeline_wrapper(pipe))
        except RuntimeError as exc:
            self._device = None
            raise CameraNotFoundError(
                f"{what} cannot stream colour rgb8 + depth z16 at "
                f"{self.width}x{self.height}@{int(self.fps)}"
                + (" (is it a D415 on USB 3?)" if self.recording is None else "")
                + f": {exc}"
            ) from None
        # Built before streaming starts, so the callback handles the very first frames.
        self._conv = _FramesetConverter.from_pipeline_profile(resolved)
        self._count = 0
        self._last_ts = -math.inf
        try:
            pipe.start(cfg, self._on_frameset)
        except RuntimeError as exc:
            self._device = None
            self._conv = None
            raise CameraNotFoundError(f"cannot start {what}: {exc}") from None
        self._pipe = pipe
        self._intrinsics = self._conv.intrinsics
        return self

    def set_options(self, options: Mapping[str, Any]) -> dict[str, float]:
        """Set camera controls (exposure, laser power, visual preset...; see
        :mod:`rt_sfamnet.sources.realsense.options`) on the open camera, also while it
        streams; returns the values read back."""
        from rt_sfamnet.sources.realsense.options import (
            apply_camera_options,
            parse_camera_options,
        )

        if self._device is None:
            raise SourceError(f"{self.name}: open() the camera before setting its options")
        return apply_camera_options(self._device, parse_camera_options(options))

    def get_options(self) -> dict[str, float]:
        """The camera controls' current values (those the camera has)."""
        from rt_sfamnet.sources.realsense.options import read_camera_options

        if self._device is None:
            raise SourceError(f"{self.name}: open() the camera before reading its options")
        return read_camera_options(self._device)

    def _on_frameset(self, frame: Any) -> None:
        """SDK callback thread: align, copy out, enqueue (never blocks, never raises)."""
        try:
            conv = self._conv
            if conv is None or not frame.is_frameset():
                return
            out = conv.convert(frame.as_frameset())
            if out is None:
                return
            c, _, color, depth = out
            ts = float(c.get_timestamp()) / 1000.0
            if ts <= self._last_ts:
                ts = self._last_ts + 1e-6
            self._last_ts = ts
            idx = self._count
            self._count += 1
            self.queue.put_drop_oldest(
                RGBDFrame(color, depth, ts, idx, conv.intrinsics,
                          {"frame_number": int(c.get_frame_number()),
                           "arrival": time.monotonic()})
            )
        except BaseException as exc:  # surfaced to the consumer by __iter__
            self._error = exc

    def __iter__(self) -> Iterator[RGBDFrame]:
        if self._pipe is None:
            raise SourceError(f"{self.name}: open() the source before iterating")
        last = time.monotonic()
        got_any = False
        prev = -1  # index of the previous frame handed out
        while True:
            if self._error is not None:
                err, self._error = self._error, None
                raise SourceError(f"camera frame processing failed: {err}") from err
            if self._removed.is_set():
                raise CameraDisconnectedError(
                    "the camera was disconnected while streaming (device removed)"
                )
            items = self.queue.get_many(1, timeout=0.1)
            if not items:
                limit = self.frame_timeout_s if got_any else self.first_frame_timeout_s
                if time.monotonic() - last > limit:
                    raise CameraDisconnectedError(
                        f"no frame from the camera for {limit:.1f} s (after "
                        f"{self._count} frames): unplugged or USB reset?"
                    )
                continue
            (frame,) = items
            if got_any and frame.index > prev + 1:  # numbered before the queue dropped them
                frame.meta["dropped_before"] = frame.index - prev - 1
            prev = frame.index
            got_any = True
            last = time.monotonic()
            yield frame

    def close(self) -> None:
        pipe, self._pipe = self._pipe, None
        try:
            if pipe is not None:
                pipe.stop()
        except RuntimeError:
            pass
        finally:
            self._conv = None
            self.queue.clear()
            self._device = None
            self._ctx = None


def connected_cameras() -> list[tuple[str, str]]:
    """``(serial number, name)`` of each connected RealSense device (``[]`` for none).

    Raises SourceError without pyrealsense2 and CameraNotFoundError if the SDK cannot list
    devices.
    """
    rs = _rs()
    try:
        devices = list(rs.context().query_devices())
    except RuntimeError as exc:
        raise CameraNotFoundError(f"cannot list RealSense devices: {exc}") from None
    found = []
    for dev in devices:
        try:
            found.append((dev.get_info(rs.camera_info.serial_number),
                          dev.get_info(rs.camera_info.name)))
        except RuntimeError:
            continue
    return found


def _find_camera(serial: str | None) -> str:
    """Serial number of the camera to use; CameraNotFoundError (fast) if there is none."""
    found = connected_cameras()
    if not found:
        raise CameraNotFoundError(
            "no RealSense camera found: expected an Intel RealSense D415 connected over USB 3 "
            "(check the cable, and that no other program uses it)"
        )
    if serial is None:
        return found[0][0]
    for s, _ in found:
        if s == serial:
            return s
    raise CameraNotFoundError(
        f"no RealSense camera with serial {serial!r}: found "
        + ", ".join(f"{n} ({s})" for s, n in found)
    )


def record_camera(
    path: str | Path,
    seconds: float,
    width: int = 640,
    height: int = 480,
    fps: int = 30,
    on_frame: Callable[[int], None] | None = None,
) -> int:
    """Record the live camera (colour rgb8 + depth z16, as the camera sends them) to ``.db3``.

    Returns the number of framesets recorded. ``on_frame(n)`` is called after each one.
    Raises CameraNotFoundError without a camera (quickly, before anything is written) and
    CameraDisconnectedError if frames stop coming.
    """
    rs = _rs()
    out = Path(path)
    _check_db3_target(out)
    if seconds <= 0:
        raise SourceError(f"recording length must be > 0 s, found {seconds}")
    _check_mode(width, height)
    serial = _find_camera(None)
    pipe = rs.pipeline()
    cfg = rs.config()
    cfg.enable_device(serial)
    cfg.enable_stream(rs.stream.color, width, height, rs.format.rgb8, fps)
    cfg.enable_stream(rs.stream.depth, width, height, rs.format.z16, fps)
    cfg.enable_record_to_file(str(out))
    try:
        pipe.start(cfg)
    except RuntimeError as exc:
        raise CameraNotFoundError(f"cannot start camera {serial}: {exc}") from None
    n = 0
    seen: dict[str, int] = {}
    progress = _WriteProgress(out)
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ok, fs = pipe.try_wait_for_frames(5000 if n == 0 else 2000)
            if not ok:
                raise CameraDisconnectedError(
                    f"no frame from the camera for {5 if n == 0 else 2} s while recording "
                    f"(after {n} frames): unplugged or USB reset?"
                )
            c, d = fs.get_color_frame(), fs.get_depth_frame()
            if c:
                seen["Color"] = int(c.get_frame_number())
            if d:
                seen["Depth"] = int(d.get_frame_number())
            n += 1
            if on_frame is not None:
                on_frame(n)
        # The recorder writes in its own thread and drops what is still queued when the
        # pipeline stops: wait until it has written the last frames seen.
        progress.wait_written(seen)
    finally:
        progress.close()
        try:
            pipe.stop()
        except RuntimeError:
            pass
    return n
