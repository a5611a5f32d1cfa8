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
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rt_sfamnet.errors import InputFileError, OutputError


def output_error(what: str, path: str | Path, exc: OSError) -> OutputError:
    """An OutputError for ``exc`` raised while writing ``path`` (``what``: "interval file").

    The file the system call failed on (``exc.filename``) is named too when it is another
    path than ``path`` (a file inside an output folder).
    """
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno is None:  # numpy's "N requested and M written": a short write
        reason += " (is the disk full?)"
    inner = getattr(exc, "filename", None)
    where = f" ({inner})" if inner and str(inner) != str(path) else ""
    return OutputError(f"cannot write the {what} {path}{where}: {reason}")


@contextlib.contextmanager
def output_errors(what: str, path: str | Path) -> Iterator[None]:
    """Turn an :class:`OSError` raised in the block into an OutputError naming ``what`` and
    ``path``: a full or read-only disk, a missing permission, a path under a regular file.

    For commands that write many files into one output folder (a feature cache, a run
    folder): the block stops at the first failed write, the writers' own temporary files
    are removed by them (:func:`atomic_path`), and the user gets one line.
    """
    try:
        yield
    except OSError as exc:
        raise output_error(what, path, exc) from None


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


def read_json(path: str | Path, what: str = "JSON file", expect: type = dict,
              error: type[Exception] | None = None) -> Any:
    """The JSON value in ``path``, which must be of type ``expect`` (dict: an object).

    The one reader of the JSON files that rt-sfamnet writes itself (a cache's ``meta.json``
    and ``index.json``, a run's ``config.json`` and fold results, tuning reports), so that a
    damaged one is one clear line naming the file, never a JSONDecodeError or an
    AttributeError further on.

    Args:
        path: the file.
        what: a few words naming the file in the message ("feature cache metadata").
        expect: the type of the top-level value (``dict`` or ``list``).
        error: the exception class raised (an RtSfamnetError subclass; default
            :class:`~rt_sfamnet.errors.InputFileError`).

    Raises:
        ``error``: the file is missing, unreadable, not UTF-8, not JSON, or not of ``expect``.
    """
    err = error or InputFileError
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise err(f"{p}: the {what} is missing") from None
    except UnicodeDecodeError as exc:
        raise err(f"{p}: the {what} is damaged: expected UTF-8 JSON text, found a byte "
                  f"0x{exc.object[exc.start]:02X} at offset {exc.start}") from None
    except OSError as exc:
        raise err(f"{p}: cannot read the {what} ({exc.strerror or exc})") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        found = "an empty file" if not text.strip() else f"{exc.msg} at line {exc.lineno} " \
            f"column {exc.colno}"
        raise err(f"{p}: the {what} is damaged: expected JSON, found {found}") from None
    except ValueError as exc:  # e.g. an integer too long to convert
        raise err(f"{p}: the {what} is damaged: {exc}") from None
    if not isinstance(value, expect):
        name = {dict: "a JSON object", list: "a JSON array"}.get(expect, expect.__name__)
        raise err(f"{p}: the {what} is damaged: expected {name}, found "
                  f"{type(value).__name__}") from None
    return value
