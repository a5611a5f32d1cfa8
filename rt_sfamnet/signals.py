"""SIGINT, SIGTERM and SIGHUP end a command the same way: results flushed, exit 128 + signal.

``kill``, ``timeout``, systemd and ``docker stop`` send SIGTERM; closing the terminal sends
SIGHUP; Ctrl-C sends SIGINT. Inside :func:`stop_on_signals` the first of them only sets an
event, which the headless runner checks between polls (so no exception lands in the middle
of writing a row): the run ends with ``"status": "interrupted"`` and whole files. A second
signal raises KeyboardInterrupt at once (for a run that does not stop). Afterwards the
command raises :class:`Interrupted`, and the CLI exits with ``128 + signum`` (130 for
Ctrl-C, 143 for SIGTERM, 129 for SIGHUP).
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
