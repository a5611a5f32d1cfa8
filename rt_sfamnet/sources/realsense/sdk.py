"""pyrealsense2 access, SDK frame conversion and intrinsics.

pyrealsense2 is imported lazily (:func:`_rs`), so importing this module needs NumPy alone.

- :func:`intrinsics_from_rs` / :func:`intrinsics_to_rs`: ``pyrealsense2.intrinsics`` <->
  :class:`~rt_sfamnet.frames.Intrinsics` (a recording gives them back as the SDK stores
  them, float32).
- :class:`_FramesetConverter`: aligns depth to colour and copies frames out of the SDK
  (colour H×W×3 uint8 RGB, depth H×W uint16 mm).
- :func:`_load_recording`: a recording file as an SDK playback device.
- :class:`SdkReader`: the SDK backend of :class:`~rt_sfamnet.sources.realsense.reader.
  RecordingReader` (a recording played by the SDK's playback device; pixels copied at once).
"""

from __future__ import annotations

import datetime
import threading
import time
from bisect import bisect_left
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.errors import RecordingError, SourceError
from rt_sfamnet.frames import Intrinsics
from rt_sfamnet.queues import BoundedQueue
from rt_sfamnet.sources.realsense.damage import stopped_at
from rt_sfamnet.sources.realsense.index import (
    RecordingIndex,
    _check_db3,
    _check_recording_file,
)
from rt_sfamnet.sources.realsense.reader import RecordedPixels, RecordingReader

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



# --------------------------------------------------------------------------------------------
# the SDK backend of RecordingReader


class _Player:
    """One run of the SDK's playback of a file, from a start position, into a queue.

    Loads the file as a playback device in a fresh ``rs.context`` with real-time mode off,
    opens its colour and depth sensors, seeks, and starts them with a callback that keeps
    each SDK frame (``frame.keep()``) and puts ``(player, frame)`` into ``out`` with a
    blocking put (:meth:`~rt_sfamnet.queues.BoundedQueue.put_wait`). In non-real-time mode
    the SDK waits for the callback, so a slow consumer slows the playback down instead of
    losing frames, and memory stays bounded by the queue.
    ``(player, _END)`` follows the last frame. :meth:`stop` releases everything; a
    callback blocked on the full queue gives up within 0.1 s once stopped.
    """

    def __init__(self, path: Path, out: BoundedQueue, seek_ns: int = 0) -> None:
        rs = _rs()
        self._q = out
        self.cancelled = threading.Event()
        self._sensors: list[Any] = []
        self._playing = False
        self.ctx = rs.context()
        self.device = _load_recording(self.ctx, path)
        try:
            self._setup(rs, path, seek_ns)
        except BaseException:
            self.stop()
            raise

    def _setup(self, rs: Any, path: Path, seek_ns: int) -> None:
        pb = self.device.as_playback()
        pb.set_real_time(False)
        self.playback = pb
        picked: dict[str, tuple[int, Any, Any]] = {}
        sensors = list(self.device.query_sensors())
        for si, sensor in enumerate(sensors):
            for sp in sensor.get_stream_profiles():
                st = sp.stream_type()
                key = "color" if st == rs.stream.color else "depth" if st == rs.stream.depth else ""
                if key and key not in picked:
                    picked[key] = (si, sensor, sp.as_video_stream_profile())
        if set(picked) != {"color", "depth"}:
            raise RecordingError(
                f"{path}: expected a colour and a depth stream in the recording, found "
                f"{sorted(picked) or 'neither'}"
            )
        self.color_sp = picked["color"][2]
        self.depth_sp = picked["depth"][2]
        try:
            self.depth_scale = float(picked["depth"][1].as_depth_sensor().get_depth_scale())
        except RuntimeError:
            self.depth_scale = _DEPTH_UNITS_M
        self.fps = float(self.color_sp.fps())
        self.duration_s = pb.get_duration().total_seconds()
        pb.set_status_changed_callback(self._on_status)
        by_sensor: dict[int, tuple[Any, list[Any]]] = {}
        for si, sensor, sp in picked.values():
            by_sensor.setdefault(si, (sensor, []))[1].append(sp)
        for sensor, profiles in by_sensor.values():
            sensor.open(profiles if len(profiles) > 1 else profiles[0])
            self._sensors.append(sensor)
        if seek_ns > 0:
            # (pause() before the sensors start would reset the position to the beginning.)
            # A sensor started a moment after the other may miss the first frames read: the
            # caller seeks a few frames early and checks where playback landed.
            pb.seek(datetime.timedelta(microseconds=seek_ns / 1000.0))
            for sensor in self._sensors:
                sensor.start(self._on_frame)
        else:
            # From the start: start every sensor while paused, so none misses frame 0.
            pb.pause()
            for sensor in self._sensors:
                sensor.start(self._on_frame)
            pb.resume()

    def _put(self, item: Any) -> None:
        if not self.cancelled.is_set():
            self._q.put_wait((self, item), self.cancelled, poll_s=0.1)

    def _on_frame(self, frame: Any) -> None:
        if self.cancelled.is_set():
            return
        self._playing = True
        frame.keep()
        self._put(frame)

    def _on_status(self, status: Any) -> None:
        rs = _rs()
        if status == rs.playback_status.playing:
            self._playing = True
        elif status == rs.playback_status.stopped and self._playing:
            self._put(_END)

    def stop(self) -> None:
        self.cancelled.set()
        for sensor in self._sensors:
            try:
                sensor.stop()
            except RuntimeError:
                pass
        for sensor in self._sensors:
            try:
                sensor.close()
            except RuntimeError:
                pass
        self._sensors = []
        self.device = None
        self.playback = None
        self.ctx = None


_END = object()


_END_GRACE_S = 0.5


class SdkReader(RecordingReader):
    """Plays a recording through pyrealsense2 for :class:`RecordingReader`.

    The SDK's playback device runs in non-real-time mode and hands every colour and depth
    frame to a callback that waits while the bounded queue is full (:class:`_Player`), so it
    runs as fast as the consumer reads and never loses a frame. Each frame is identified by
    its frame number and timestamp in the file's :class:`RecordingIndex`, paired with the
    index's depth frame, and copied (depth aligned with ``rs.align`` unless stored
    registered) before the next is read: no SDK frame outlives :meth:`pixels`' step.

    Args:
        path: a ``.db3`` or ``.bag`` file.
        stall_timeout_s: raise RecordingError if no frame comes for this long while the SDK
            has not reported the end (a damaged file must never hang).
        queue_size: SDK frames buffered between the SDK thread and the consumer.
    """

    backend = "sdk"

    def __init__(self, path: str | Path, stall_timeout_s: float = 5.0,
                 queue_size: int = 8) -> None:
        super().__init__(path)
        self.stall_timeout_s = float(stall_timeout_s)
        self._queue = BoundedQueue(max(2, int(queue_size)), "playback")
        self._player: _Player | None = None
        self._fresh = False  # the player started by open() has delivered nothing yet
        self._conv: _FramesetConverter | None = None
        self._stream = 0  # number of the newest pixels() iterator: only it owns the player
        self._swap = threading.Lock()

    def open(self) -> RecordingIndex:
        if self.index is not None:
            return self.index
        _check_recording_file(self.path)
        if self.path.suffix.lower() == ".db3":
            _check_db3(self.path)
        try:
            self._restart(0)  # the SDK must play the file: its error names the fault
            player = self._player
            assert player is not None
            self._conv = _FramesetConverter(player.color_sp, player.depth_sp, player.depth_scale)
            index = RecordingIndex(self.path)
        except BaseException:
            self._stop_player()
            raise
        index.close()  # the SDK reads the images; the index keeps its lists
        self.index, self._fresh = index, True
        return index

    def close(self) -> None:
        self._stop_player()
        self.index = None

    @property
    def intrinsics(self) -> Intrinsics:
        assert self._conv is not None
        return self._conv.intrinsics

    @property
    def registered(self) -> bool:
        return bool(self._conv and self._conv.registered)

    # -- the SDK's playback ----------------------------------------------------------------

    def _stop_player(self) -> None:
        with self._swap:  # close() and a finished iterator may both stop it
            player, self._player = self._player, None
        if player is not None:
            player.stop()
        self._queue.clear()  # drop what the old run left (and the SDK frames it holds)

    def _seek_ns(self, start: int) -> int:
        """Where the SDK seeks for colour rank ``start`` (ns from the file's start): just
        before that colour frame and the depth frame before it."""
        ix = self.index
        if start <= 0 or ix is None:
            return 0
        ns = ix.color.times[start]
        j = bisect_left(ix.depth.times, ns)
        if j > 0:
            ns = min(ns, ix.depth.times[j - 1])
        return max(0, ns - ix.start_ns - 1000)

    def _restart(self, target: int, margin: int = 4) -> int:
        """(Re)start the SDK playback a few frames before ``target``; returns where."""
        self._stop_player()
        start = max(0, target - margin)
        self._player = _Player(self.path, self._queue, self._seek_ns(start))
        self._fresh = False
        return start

    def pixels(self, start: int) -> Iterator[RecordedPixels]:
        ix = self.index
        assert ix is not None, "open() the reader first"
        self._stream += 1
        mine = self._stream
        if not (start == 0 and self._fresh):
            seek_start = self._restart(start)
        else:
            seek_start, self._fresh = 0, False
        try:
            yield from self._play(ix, start, seek_start)
        finally:
            if self._stream == mine:  # an iterator left behind must not stop a newer one's
                self._stop_player()

    def _play(self, ix: RecordingIndex, want: int, seek_start: int) -> Iterator[RecordedPixels]:
        rs = _rs()
        colors: dict[int, Any] = {}  # colour rank -> SDK frame, ranks >= want
        depths: dict[int, Any] = {}  # depth rank -> SDK frame
        settling, ended, end_time = True, False, 0.0
        last_item = time.monotonic()
        while want < len(ix):
            if colors:
                want = min(colors)  # colour frames come in order: a smaller rank was lost
                j = ix.pair[want]
                d = depths.get(j) if ix.depth_ok[want] else None
                # wait for the paired depth frame unless it cannot come any more
                if d is not None or not ix.depth_ok[want] or ended or len(colors) > 8:
                    yield self._copy(want, colors.pop(want), d)
                    want += 1
                    for k in [k for k in depths if k < ix.pair[min(want, len(ix) - 1)]]:
                        del depths[k]
                    continue
            if ended and time.monotonic() - end_time > _END_GRACE_S:
                raise RecordingError(
                    f"{self.path}: playback stopped {stopped_at(want - 1, len(ix))}: "
                    "truncated or damaged recording")
            items = self._queue.get_many(1, timeout=0.05)
            if not items:
                if not ended and time.monotonic() - last_item > self.stall_timeout_s:
                    raise RecordingError(
                        f"{self.path}: no frame for {self.stall_timeout_s:.0f} s after frame "
                        f"{want - 1}: damaged recording?")
                continue
            player, f = items[0]
            if player is not self._player:
                continue
            last_item = time.monotonic()
            if f is _END:
                ended, end_time = True, time.monotonic()
                continue
            is_color = f.get_profile().stream_type() == rs.stream.color
            stream = ix.color if is_color else ix.depth
            r = stream.rank(int(f.get_frame_number()), float(f.get_timestamp()))
            if r is None:
                continue
            if not is_color:
                if r >= ix.pair[want]:  # older depth pairs with no colour frame still due
                    depths[r] = f
                continue
            if r < want:
                continue  # before the seek target
            if settling and r > want and seek_start > 0:
                # The SDK's seek landed past the target: start further back.
                seek_start = self._restart(want, margin=4 * (want - seek_start + 1))
                colors.clear()
                depths.clear()
                last_item = time.monotonic()
                continue
            settling = False
            colors[r] = f
        # Every frame is out: wait for the SDK's end notice before the sensors are stopped
        # (stopping them while the SDK ends its playback aborts librealsense).
        deadline = time.monotonic() + self.stall_timeout_s
        while not ended and time.monotonic() < deadline:
            items = self._queue.get_many(1, timeout=0.05)
            ended = bool(items) and items[0][0] is self._player and items[0][1] is _END

    def _copy(self, rank: int, c: Any, d: Any | None) -> RecordedPixels:
        """Copy one colour frame (and its depth, aligned) out of the SDK."""
        conv = self._conv
        assert conv is not None
        if d is not None:
            color, depth = conv.convert_pair(c, d)
        else:
            color = conv.color_copy(c)
            depth = np.zeros(color.shape[:2], np.uint16)
        pixels = (color, depth)
        return RecordedPixels(rank, d is not None, lambda: pixels)
