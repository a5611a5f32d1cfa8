"""Record while analysing: :class:`RecordingTee` passes a source's frames on and writes them.

``rt-sfamnet analyze camera --record session.db3`` and the app's Record toggle wrap the
source in a :class:`RecordingTee`. Iteration is unchanged (the engine, the live view and the
analysis see every frame as before); while a recording is on, each frame is also handed to
a writer thread that streams it into a ``.db3`` file through
:func:`~rt_sfamnet.sources.realsense.recorder.write_recording` (a real librealsense
recording, played back by ``analyze``/``gui`` and the RealSense Viewer).
:meth:`RecordingTee.start_recording` / :meth:`RecordingTee.stop_recording` may be called
from any thread, any number of times (one file each).

Frames a live source delivers faster than the writer stores them wait in a bounded queue;
when it is full the oldest waiting frame is dropped from the *recording* (never from the
analysis) and counted in :attr:`RecordingTee.record_dropped`. File sources wait for the writer
instead, so their recordings are complete.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rt_sfamnet.errors import RecordingError, SourceError
from rt_sfamnet.frames import RGBDFrame
from rt_sfamnet.queues import BoundedQueue, Control
from rt_sfamnet.sources.base import Source, SourceWrapper


class _End(Control):
    """Closes a writer's frame stream (a control item: never dropped, never waits)."""


_END = _End()


class _Writer:
    """One recording: a queue and the thread running ``write_recording`` on it."""

    def __init__(self, path: Path, fps: float, queue_size: int, compress: bool) -> None:
        self.path = path
        self.queue = BoundedQueue(queue_size, "record")
        self.stop_event = threading.Event()
        self.frames = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(fps, compress),
                                       name=f"record {path.name}", daemon=True)
        self.thread.start()

    def _frames(self) -> Iterator[RGBDFrame]:
        while True:
            items = self.queue.get_many(1, timeout=0.1)
            if not items:
                continue
            if isinstance(items[0], _End):
                return
            yield items[0]

    def _run(self, fps: float, compress: bool) -> None:
        from rt_sfamnet.sources.realsense.recorder import write_recording

        try:
            self.frames = write_recording(self._frames(), self.path, fps=fps, compress=compress)
        except BaseException as exc:  # noqa: BLE001 - reported by stop_recording
            self.error = exc
            self.queue.clear()

    def put(self, frame: RGBDFrame, wait: bool) -> bool:
        if self.error is not None or not self.thread.is_alive():
            return False
        if wait:
            return self.queue.put_wait(frame, self.stop_event)
        return self.queue.put_drop_oldest(frame) == 0

    def finish(self, timeout: float | None) -> None:
        self.queue.put_drop_oldest(_END)
        self.thread.join(timeout)


def same_file(a: str | Path, b: str | Path) -> bool:
    """True when two paths name one file (through symlinks, ``..``, relative paths or hard
    links); False when either does not exist as a file."""
    import os

    pa, pb = Path(a), Path(b)
    try:
        if pa.resolve() == pb.resolve():
            return True
        return pa.is_file() and pb.is_file() and os.path.samefile(pa, pb)
    except OSError:
        return False


def check_record_target(path: str | Path, source: str | Path | None = None,
                        overwrite: bool = False) -> Path:
    """The rules for a file to record to (``analyze --record``, the app's Record toggle).

    The recording being read (``source``) is never a target, even with ``overwrite``; any
    other existing file is refused unless ``overwrite``. Paths are compared after resolving
    symlinks and relative parts.

    Raises:
        RecordingError: the target is the source, or exists and ``overwrite`` is False.
    """
    from rt_sfamnet.sources.realsense.recorder import _check_db3_target

    target = Path(path)
    if source is not None and same_file(target, source):
        raise RecordingError(f"cannot record to {target}: it is the recording being read "
                             f"({source}); choose another file")
    if target.exists() or target.is_symlink():
        if target.is_dir():
            raise RecordingError(f"cannot record to {target}: it is a folder")
        if not overwrite:
            review = target.with_name(target.stem + ".annotations.csv")
            note = (f" (its review {review.name} would then describe another recording)"
                    if review.exists() else "")
            raise RecordingError(f"cannot record to {target}: the file exists{note}; choose "
                                 f"another file, or pass --overwrite to replace it")
    _check_db3_target(target)
    return target


class RecordingTee(SourceWrapper):
    """A source that also records its frames to ``.db3`` files on request.

    Args:
        inner: the source to pass on (camera, recording, simulator, folder).
        record: start recording to this file at :meth:`open` (``--record``), or None.
        overwrite: ``record`` may replace an existing file (never the source itself).
        queue_size: frames waiting for the writer (live sources drop the oldest beyond it).
        compress: PNG-compress the recorded frames (smaller files, slower writer).

    Attributes:
        record_dropped: frames left out of recordings because the writer was behind (live
            only; not ``dropped``, which the engine reads as the source's own drops).
        recorded: frames written by the recordings finished so far; files: their paths.
        error: the failure of a recording finished by :meth:`close`, if any.
    """

    def __init__(self, inner: Source, record: str | Path | None = None, queue_size: int = 64,
                 compress: bool = True, overwrite: bool = False) -> None:
        super().__init__(inner)
        self.name = inner.name
        self.seekable = inner.seekable
        self.live = inner.live
        self.realtime = inner.realtime
        self.path = getattr(inner, "path", None)
        self._initial = None if record is None else Path(record)
        self._overwrite = bool(overwrite)
        self.queue_size = int(queue_size)
        self.compress = bool(compress)
        self._lock = threading.Lock()
        self._writer: _Writer | None = None
        self.record_dropped = 0
        self.recorded = 0
        self.files: list[Path] = []
        self.error: RecordingError | None = None

    # -- recording control ---------------------------------------------------------------

    @property
    def recording(self) -> Path | None:
        """The file being recorded now, or None."""
        w = self._writer
        return None if w is None else w.path

    def start_recording(self, path: str | Path, overwrite: bool = False) -> Path:
        """Start writing every following frame to ``path`` (a ``.db3`` file).

        ``path`` follows :func:`check_record_target`: never the recording being read; an
        existing file only with ``overwrite``."""
        target = check_record_target(path, self.path, overwrite)
        with self._lock:
            if self._writer is not None:
                raise SourceError(f"already recording to {self._writer.path}")
            self._writer = _Writer(target, self.inner.fps or 30.0, self.queue_size,
                                   self.compress)
        return target

    def stop_recording(self, timeout: float | None = 60.0) -> Path | None:
        """Finish the current recording (writes what is queued); returns its file.

        Raises RecordingError if the writer failed (the file is then not written).
        """
        with self._lock:
            w, self._writer = self._writer, None
        if w is None:
            return None
        w.finish(timeout)
        if w.error is not None:
            if isinstance(w.error, RecordingError) and "no frames" in str(w.error):
                return None  # stopped before the first frame: nothing to keep
            raise RecordingError(f"recording {w.path} failed: {w.error}") from w.error
        self.recorded += w.frames
        self.files.append(w.path)
        return w.path

    # -- Source interface ------------------------------------------------------------------

    def open(self) -> RecordingTee:
        self.inner.open()
        if self._initial is not None and self._writer is None and not self.files:
            self.start_recording(self._initial, self._overwrite)
        return self

    def close(self) -> None:
        """Finish the recording and close the source; a failed recording is kept in
        :attr:`error` (closing never raises for it)."""
        try:
            self.stop_recording()
        except RecordingError as exc:
            self.error = exc
        finally:
            self.inner.close()

    def __iter__(self) -> Iterator[RGBDFrame]:
        for frame in self.inner:
            w = self._writer
            if w is not None and not w.put(frame, wait=not self.live):
                self.record_dropped += 1
            yield frame

    def seek(self, index: int) -> None:
        self.inner.seek(index)

    def __getattr__(self, name: str) -> Any:  # speed, registered, set_options, ...
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)
