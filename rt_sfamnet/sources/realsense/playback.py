"""Playback of RealSense recordings: :class:`PlaybackSource`.

What pyrealsense2 2.59 plays (checked on this version, see the tests): ``.db3`` (rosbag2
SQLite) files and the ROS1 ``.bag`` files written by librealsense < 2.58 (a ``.bag`` is
recognised by its ``#ROSBAG V2.0`` header).

How playback works: the file is loaded as a playback device (``context.load_device``, the
device ``config.enable_device_from_file`` would give a pipeline) in non-real-time mode
(``playback.set_real_time(False)``); its colour and depth sensors deliver every frame to a
callback that waits while the consumer is behind. The pipeline's syncer is not used: after a
seek it pairs new colour frames with stale depth frames and can lose frames, and sensors that
start one after the other can miss the first frame, which this module avoids.

Frame numbering: frame ``index`` comes from the colour frame's timestamp,
``round((t - t0) * fps / 1000)`` (:func:`.index.nominal_indices`), so frames lost from a
recording leave their numbers unused: the engine records them as ``missing_color`` gaps and
every later frame keeps the number of its time. ``.db3`` files are indexed exactly
(:mod:`.index`); for ROS1 ``.bag`` files :attr:`PlaybackSource.frame_count` is estimated from
the file's duration until the end has been played, and seeks go by time.

Missing depth: a colour frame is paired with the nearest depth frame only when that one is
less than :data:`.index.DEPTH_MATCH_PERIODS` frame periods away; otherwise its depth is all zero and
``meta["gap"]`` is ``"missing_depth"`` (old depth is never reused).
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
from rt_sfamnet.frames import Intrinsics, RGBDFrame
from rt_sfamnet.intervals import Interval, read_intervals
from rt_sfamnet.pacing import Pacer
from rt_sfamnet.queues import BoundedQueue
from rt_sfamnet.sources.base import Source
from rt_sfamnet.sources.realsense.damage import stopped_at
from rt_sfamnet.sources.realsense.index import (
    DEPTH_MATCH_PERIODS,
    RecordingControls,
    _check_recording_file,
    _recording_index,
    _StreamIndex,
    check_speed,
    ground_truth_path,
    nominal_indices,
)
from rt_sfamnet.sources.realsense.sdk import (
    _DEPTH_UNITS_M,
    _FramesetConverter,
    _load_recording,
    _rs,
)


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


class PlaybackSource(RecordingControls, Source):
    """Plays a RealSense recording (``.db3`` or ROS1 ``.bag``) through pyrealsense2.

    The SDK's playback device runs in non-real-time mode (``playback.set_real_time(False)``)
    and hands every colour and depth frame to a callback that waits while the bounded queue
    is full, so iteration runs as fast as the consumer reads and never loses a frame. Colour
    frames are paired with the depth frame nearest in time (exactly the same timestamp in
    files from :func:`write_recording`) and depth is aligned to colour with ``rs.align``
    (built once) unless it is stored registered already. With ``realtime=True`` frames are
    paced by their recorded timestamps (times ``1 / speed``, with
    :meth:`rt_sfamnet.pacing.Pacer.wait_time`); pacing by frame timestamps,
    rather than the SDK's capture clock, also gives the right speed for files written faster
    than real time.

    Frames: ``color`` H×W×3 uint8 RGB, ``depth`` H×W uint16 mm aligned to colour,
    ``timestamp`` the colour frame's timestamp in seconds, ``index`` the colour frame's rank
    in the file (see the module doc), ``meta`` ``{"frame_number", "depth_timestamp"}``.

    Args:
        path: a ``.db3`` or ``.bag`` file.
        realtime: pace frames at the recorded rate (else as fast as possible).
        speed: pacing factor for ``realtime`` (2.0 = twice real time).
        stall_timeout_s: raise RecordingError if no frame comes for this long while the
            SDK has not reported the end (a damaged file must never hang).
        queue_size: SDK frames buffered between the SDK thread and the consumer.
    """

    seekable = True
    live = False

    def __init__(
        self,
        path: str | Path,
        realtime: bool = False,
        speed: float = 1.0,
        stall_timeout_s: float = 5.0,
        queue_size: int = 8,
    ) -> None:
        self.path = Path(path)
        self.name = f"recording {self.path.name}"
        self.realtime = bool(realtime)
        check_speed(speed)
        self.stall_timeout_s = float(stall_timeout_s)
        self.fps = 30.0
        self._pacer = Pacer(self.fps, float(speed))
        self._lock = threading.Lock()
        self._queue = BoundedQueue(max(2, int(queue_size)), "playback")
        self._player: _Player | None = None
        self._conv: _FramesetConverter | None = None
        self._color_idx: _StreamIndex | None = None
        self._depth_idx: _StreamIndex | None = None
        self._first_color_number: int | None = None
        self._first_color_ts: float | None = None
        self._nominal: list[int] | None = None  # .db3: frame index of each colour rank
        self._frame_count: int | None = None
        self._gt: list[Interval] | None = None
        self._next_index = 0
        self._pending_seek: int | None = None
        self._opened = False
        self._colors: list[tuple[int, Any]] = []
        self._depths: list[Any] = []
        self._ended = False
        self._end_time = 0.0
        self._settling = True
        self._target = 0
        self._seek_start = 0

    # -- Source interface ---------------------------------------------------------------------

    def open(self) -> PlaybackSource:
        if self._opened:
            return self
        _check_recording_file(self.path)
        index = _recording_index(self.path)
        if index is not None:
            self._color_idx, self._depth_idx = index
            self._frame_count = len(self._color_idx)
        gt = ground_truth_path(self.path)
        self._gt = read_intervals(gt) if gt.exists() else None
        try:
            self._restart(0)
            player = self._player
            assert player is not None
            self._conv = _FramesetConverter(player.color_sp, player.depth_sp, player.depth_scale)
            self.fps = player.fps
            if self._color_idx is not None:
                self._nominal = nominal_indices(self._color_idx.timestamps_ms, self.fps)
                self._frame_count = self._nominal[-1] + 1
            if self._color_idx is None:
                # .bag: frame counts come from the duration; indices from the first colour
                # frame number, which is learned from the first frame.
                self._frame_count = int(round(player.duration_s * self.fps)) + 1
                self._learn_first_number()
                self._restart(0)
        except BaseException:
            self._stop_player()
            raise
        self._next_index = 0
        self._opened = True
        return self

    def close(self) -> None:
        self._stop_player()
        self._opened = False

    @property
    def intrinsics(self) -> Intrinsics | None:
        return self._conv.intrinsics if self._conv is not None else None

    @property
    def frame_count(self) -> int | None:
        return self._frame_count

    def _is_open(self) -> bool:
        return self._opened

    @property
    def registered(self) -> bool:
        """True if depth is stored already aligned to colour (``rs.align`` is skipped)."""
        return bool(self._conv and self._conv.registered)

    def seek(self, index: int) -> None:
        """Continue iteration at colour frame ``index`` (0-based).

        Safe to call from another thread while a loop iterates: the iterating thread
        re-positions the SDK before its next frame.
        """
        index = int(index)
        if index < 0:
            raise SourceError(f"seek index must be >= 0, found {index}")
        if self._nominal is not None:
            rank = bisect_left(self._nominal, index)  # a frame lost from the file: the next
            if rank >= len(self._nominal):
                raise SourceError(f"seek index {index} is past the end: the recording has "
                                  f"{self._frame_count} frames")
            index = rank
        with self._lock:
            self._pending_seek = index

    def __iter__(self) -> Iterator[RGBDFrame]:
        if not self._opened:
            raise SourceError(f"{self.name}: open() the source before iterating")
        while True:
            frame = self._next_frame()
            if frame is None:
                return
            yield frame

    # -- internals ----------------------------------------------------------------------------

    def _stop_player(self) -> None:
        player, self._player = self._player, None
        if player is not None:
            player.stop()
        self._queue.clear()  # drop what the old run left (and the SDK frames it holds)
        self._colors.clear()
        self._depths.clear()

    def _seek_ns(self, start: int) -> int:
        if start <= 0:
            return 0
        if self._color_idx is not None and self._depth_idx is not None:
            ns = self._color_idx.capture_ns[start]
            j = bisect_left(self._depth_idx.capture_ns, ns)
            if j > 0:
                ns = min(ns, self._depth_idx.capture_ns[j - 1])
            return max(0, ns - 1000)
        return int(start / self.fps * 1e9)

    def _restart(self, target: int, margin: int = 4) -> None:
        """(Re)start the SDK playback a few frames before ``target``."""
        self._stop_player()
        start = max(0, target - margin)
        self._player = _Player(self.path, self._queue, self._seek_ns(start))
        self._target, self._seek_start = target, start
        self._settling = True
        self._ended = False

    def _learn_first_number(self) -> None:
        deadline = time.monotonic() + self.stall_timeout_s
        while time.monotonic() < deadline:
            items = self._queue.get_many(1, timeout=0.1)
            if not items:
                continue
            _, f = items[0]
            if f is _END:
                break
            if self._is_color(f):
                self._first_color_number = int(f.get_frame_number())
                self._first_color_ts = float(f.get_timestamp())
                return
        raise RecordingError(f"{self.path}: no colour frame found in the recording")

    @staticmethod
    def _is_color(f: Any) -> bool:
        rs = _rs()
        return f.get_profile().stream_type() == rs.stream.color

    def _index_of(self, c: Any) -> int | None:
        number, ts = int(c.get_frame_number()), float(c.get_timestamp())
        if self._color_idx is not None:
            return self._color_idx.lookup(number, ts)
        assert self._first_color_ts is not None  # .bag: the number of its time
        return int(round((ts - self._first_color_ts) * self.fps / 1000.0))

    def _next_frame(self) -> RGBDFrame | None:
        last_item = time.monotonic()
        while True:
            with self._lock:
                pending, self._pending_seek = self._pending_seek, None
            if pending is not None:
                self._restart(pending)
                self._next_index = pending
                self._pacer.reset()
                last_item = time.monotonic()
            if self._player is None:
                return None  # finished; seek() to play again
            frame = self._emit(final=self._ended)
            if frame is not None:
                if self.realtime:
                    self._pacer.wait_time(frame.timestamp)
                return frame
            if self._ended:
                incomplete = (self._color_idx is not None
                              and self._next_index < len(self._color_idx))
                # Frames still on their way after the SDK's end notice get a moment to come.
                if not incomplete or time.monotonic() - self._end_time > _END_GRACE_S:
                    self._finish()
                    return None
            items = self._queue.get_many(1, timeout=0.05)
            if not items:
                if time.monotonic() - last_item > self.stall_timeout_s:
                    raise RecordingError(
                        f"{self.path}: no frame for {self.stall_timeout_s:.0f} s after frame "
                        f"{self._next_index - 1}: damaged recording?"
                    )
                continue
            player, f = items[0]
            if player is not self._player:
                continue
            last_item = time.monotonic()
            if f is _END:
                self._ended = True
                self._end_time = time.monotonic()
                continue
            if not self._is_color(f):
                self._depths.append(f)
                if len(self._depths) > 16:
                    del self._depths[0]
                continue
            idx = self._index_of(f)
            if idx is None or idx < self._next_index:
                continue  # before the seek target
            if self._settling:
                if idx > self._target and self._seek_start > 0:
                    # The SDK's seek landed past the target: start further back.
                    self._restart(self._target, margin=4 * (self._target - self._seek_start + 1))
                    last_item = time.monotonic()
                    continue
                self._settling = False
            self._colors.append((idx, f))

    def _emit(self, final: bool) -> RGBDFrame | None:
        """The oldest pending colour frame with its nearest depth frame, once that is known."""
        if not self._colors:
            return None
        idx, c = self._colors[0]
        cts = float(c.get_timestamp())
        depths = self._depths
        # The nearest depth is known once a depth frame at or after the colour frame's time
        # has arrived (frames come in capture order), or at the end of the file.
        if not final and len(self._colors) <= 8 and not any(
            float(d.get_timestamp()) >= cts - 1e-3 for d in depths
        ):
            return None
        del self._colors[0]
        conv = self._conv
        assert conv is not None
        meta: dict[str, Any] = {"frame_number": int(c.get_frame_number())}
        best = None
        if depths:
            best = min(range(len(depths)), key=lambda k: abs(float(depths[k].get_timestamp()) - cts))
            del depths[:best]  # older depth frames are of no use to later colour frames
            best = 0
            if abs(float(depths[0].get_timestamp()) - cts) > DEPTH_MATCH_PERIODS * 1e3 / self.fps:
                best = None  # the nearest depth is of another moment: never reuse it
        if best is not None:
            d = depths[best]
            color, depth = conv.convert_pair(c, d)
            meta["depth_timestamp"] = float(d.get_timestamp()) / 1000.0
        else:  # no depth for this frame in the file
            color = conv.color_copy(c)
            depth = np.zeros(color.shape[:2], np.uint16)
            meta.update(depth_timestamp=float("nan"), gap="missing_depth")
        self._next_index = idx + 1
        return RGBDFrame(
            color=color,
            depth=depth,
            timestamp=cts / 1000.0,
            index=idx if self._nominal is None else self._nominal[idx],
            intrinsics=conv.intrinsics,
            meta=meta,
        )

    def _finish(self) -> None:
        self._stop_player()
        if self._color_idx is None and self._next_index > 0:
            self._frame_count = self._next_index  # the estimate, now known exactly
        if self._color_idx is not None and self._next_index < len(self._color_idx):
            raise RecordingError(
                f"{self.path}: playback stopped "
                f"{stopped_at(self._next_index - 1, len(self._color_idx))}: truncated or damaged "
                "recording"
            )
