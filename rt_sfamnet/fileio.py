"""Writing result files safely: atomic replacement and one-line errors.

Every file a command writes in one piece (interval CSVs, weights, JSON summaries) goes through
:func:`atomic_path`: the content is written to a temporary sibling (``.<name>.<random>.tmp``
in the same folder) that is renamed over the target only when it is complete, so a reader
never sees half a file. When anything fails the temporary file is removed, so nothing is
left behind, and an :class:`OSError` (a folder where the file should go, a read-only
filesystem, a path under a regular file or under ``/proc``) becomes an
:class:`~rt_sfamnet.errors.OutputError` naming the file and the reason on one line.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from rt_sfamnet.errors import OutputError


def output_error(what: str, path: str | Path, exc: OSError) -> OutputError:
    """An OutputError for ``exc`` raised while writing ``path`` (``what``: "interval file")."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return OutputError(f"cannot write the {what} {path}: {reason}")


def check_writable_file(path: str | Path, what: str) -> Path:
    """Refuse a target that is an existing folder before any work is done."""
    p = Path(path)
    if p.is_dir():
        raise OutputError(f"cannot write the {what} {p}: it is a folder (expected a file path)")
    return p


def _create_temp(p: Path) -> Path:
    """A new empty sibling of ``p`` (mode 0666 less the umask, like a plain ``open``)."""
    while True:
        tmp = p.with_name(f".{p.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return tmp
        except FileExistsError:  # pragma: no cover - 32 random bits
            continue


@contextlib.contextmanager
def atomic_path(path: str | Path, what: str = "file", mkdir: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` when the block ends.

    Args:
        path: the final file.
        what: a few words naming the file in error messages ("interval file").
        mkdir: create the parent folders first.

    Raises:
        OutputError: the file cannot be written (the temporary file is removed).
    """
    p = check_writable_file(path, what)
    tmp: Path | None = None
    try:
        if mkdir:
            p.parent.mkdir(parents=True, exist_ok=True)
        tmp = _create_temp(p)
        yield tmp
        os.replace(tmp, p)
        tmp = None
    except OSError as exc:
        raise output_error(what, p, exc) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()


@contextlib.contextmanager
def atomic_text(path: str | Path, what: str = "file", newline: str | None = None,
                fsync: bool = False) -> Iterator:
    """Like :func:`atomic_path` but yields a text file handle (UTF-8) open for writing."""
    with atomic_path(path, what) as tmp:
        with tmp.open("w", encoding="utf-8", newline=newline) as fh:
            yield fh
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
