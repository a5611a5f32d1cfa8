"""The output folder of a headless run: one run at a time, never a mix of two runs.

Design (``docs/realtime.md``, "Output folder"):

- **Lock.** A run holds an exclusive ``flock`` on ``DIR/.rt-sfamnet.lock`` from before the
  engine starts until its files are final. The kernel drops the lock when the process ends
  for any reason (crash, ``kill -9``), so a lock never outlives its run; the file itself is
  removed at the end of a clean run and a leftover one is harmless. A second run into a
  busy folder is refused with :class:`~rt_sfamnet.errors.OutputError` naming the process
  that holds it, before any work is done.
- **Clear on start.** Under the lock, the result files of a previous run (``frames.csv``,
  ``events.csv``, ``events.json``, ``summary.json``) and temporary files left by a killed
  writer are deleted before the first new file is written, so the folder holds one run's
  files only: a finished folder is replaced whole, never mixed, and an old ``summary.json``
  never sits next to new partial files. Other files in the folder are left alone.
- **Clear errors.** A folder that cannot be created or written (a path under a regular file,
  under ``/proc``, a read-only filesystem) is an ``OutputError`` on one line.

Writing into a temporary sibling folder and swapping it in at the end was not chosen: the
files are meant to be followed while the run goes on (``tail -f DIR/frames.csv``), and a
folder swap is not atomic either.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from pathlib import Path

from rt_sfamnet.errors import OutputError

LOCK_NAME = ".rt-sfamnet.lock"
RESULT_FILES = ("frames.csv", "events.csv", "events.json", "summary.json")


def _describe(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


class OutputFolder:
    """Exclusive use of a run's output folder (a context manager).

    Args:
        path: the folder (created with its parents if missing).
        results: file names a run writes there (deleted on entry).
    """

    def __init__(self, path: str | Path, results: tuple[str, ...] = RESULT_FILES) -> None:
        self.path = Path(path)
        self.results = tuple(results)
        self._fd: int | None = None

    @property
    def lock_path(self) -> Path:
        return self.path / LOCK_NAME

    def __enter__(self) -> OutputFolder:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        """Create the folder, take the lock, delete the previous run's files.

        Raises:
            OutputError: the folder cannot be created or written, or another run holds it.
        """
        if self.path.exists() and not self.path.is_dir():
            raise OutputError(f"--out {self.path} exists and is not a folder")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"--out {self.path}: cannot create the output folder "
                              f"({_describe(exc)})") from None
        self._fd = self._lock()
        try:
            self._clear()
        except BaseException:
            self.release()
            raise

    def _lock(self) -> int:
        import fcntl

        while True:
            try:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise OutputError(f"--out {self.path}: cannot write into the output folder "
                                  f"({_describe(exc)})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = _read_holder(fd)
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EACCES):
                    raise OutputError(
                        f"--out {self.path} is in use by another run{holder}; wait for it to "
                        f"finish or choose another folder") from None
                raise OutputError(f"--out {self.path}: cannot lock the output folder "
                                  f"({_describe(exc)})") from None
            # the previous holder may have removed the file between our open and our lock:
            # then we hold a lock on a deleted file and must lock the new one instead
            try:
                same = os.stat(self.lock_path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n"
                     .encode())
        except OSError as exc:
            os.close(fd)
            raise OutputError(f"--out {self.path}: cannot write into the output folder "
                              f"({_describe(exc)})") from None
        return fd

    def _clear(self) -> None:
        doomed = [self.path / n for n in self.results]
        doomed += [p for n in self.results for p in self.path.glob(f".{n}.*.tmp")]
        for p in doomed:
            try:
                p.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise OutputError(f"--out {self.path}: cannot write the results: {p.name} of "
                                  f"a previous run cannot be removed ({_describe(exc)})") from None

    def release(self) -> None:
        """Remove the lock file and drop the lock (safe to call twice)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            self.lock_path.unlink()  # while still locked: no other run holds this file
        os.close(fd)


def _read_holder(fd: int) -> str:
    """`` (pid N since ...)`` from a lock file, or ``""``."""
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    return f" ({text})" if text else ""
