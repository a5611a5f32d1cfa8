"""SIGINT, SIGTERM and SIGHUP end a command the same way: results flushed, exit 128 + signal.

``kill``, ``timeout``, systemd and ``docker stop`` send SIGTERM; closing the terminal sends
SIGHUP; Ctrl-C sends SIGINT. Inside :func:`stop_on_signals` the first of them only sets an
event, which the headless runner checks between polls (so no exception lands in the middle
of writing a row): the run ends with ``"status": "interrupted"`` and whole files. A second
signal raises KeyboardInterrupt at once (for a run that does not stop). Afterwards the
command raises :class:`Interrupted`, and the CLI exits with ``128 + signum`` (130 for
Ctrl-C, 143 for SIGTERM, 129 for SIGHUP).

Commands whose every file is written atomically (``extract``, ``train``: a video or a fold is
renamed into place only when complete) need no flush: inside :func:`interrupt_on_signals`
the first signal raises :class:`Interrupted` at once, the ``finally`` blocks remove the
temporary files, and the CLI prints ``interrupted (SIGTERM)`` and exits 143. Ray replaces
the SIGTERM handler when it starts (with one that ends in a native crash dump), so
:func:`keep_handlers` puts ours back around ``ray.init``.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """The command was stopped by ``signum`` after finishing its files."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[dict[str, int]]:
    """Set ``stop`` on the first SIGINT/SIGTERM/SIGHUP while the block runs.

    Yields a dict that gets ``"signum"`` when a signal arrived. Outside the main thread
    (where Python cannot install handlers) it does nothing. The previous handlers are
    restored on exit.
    """
    got: dict[str, int] = {}
    if threading.current_thread() is not threading.main_thread():
        yield got
        return

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            raise Interrupted(signum)  # a second signal: stop now
        got["signum"] = signum
        stop.set()

    previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    try:
        yield got
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def interrupt_on_signals() -> Iterator[None]:
    """Raise :class:`Interrupted` at the first SIGINT/SIGTERM/SIGHUP while the block runs.

    For work that is safe to stop anywhere (atomic files); see the module docstring. Outside
    the main thread it does nothing. The previous handlers are restored on exit. A library
    that turns the exception into a plain KeyboardInterrupt (Ray's ``ray.wait`` does) still
    ends in ``Interrupted`` with the signal that arrived.
    """
    if not _in_main_thread():
        yield
        return
    got: list[int] = []

    def handler(signum: int, frame: object) -> None:
        got.append(signum)
        raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    try:
        yield
    except KeyboardInterrupt as exc:
        if got and not isinstance(exc, Interrupted):
            raise Interrupted(got[0]) from None
        raise
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@contextlib.contextmanager
def keep_handlers() -> Iterator[None]:
    """Restore the SIGINT/SIGTERM/SIGHUP handlers of before the block when it ends (a
    library such as Ray that installs its own when it starts)."""
    if not _in_main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, h in previous.items():
            if h is not None:
                signal.signal(s, h)
