"""Logging for rt-sfamnet: the ``rt_sfamnet`` logger, ``-v``/``-q``, and quiet native libraries.

- :data:`LOGGER` (``logging.getLogger("rt_sfamnet")``) is the parent of every module's logger.
  :func:`configure` gives it one stderr handler at a verbosity level: ``-q`` errors only,
  default warnings, ``-v`` info, ``-vv`` debug. A library user (notebook) configures logging
  the usual way instead; nothing is installed on import.
- MediaPipe, absl and TFLite write 4–5 lines to file descriptor 2 from C++ on every run
  (``W0000 00:00:… inference_feedback_manager.cc:114] …``, ``INFO: Created TensorFlow Lite
  XNNPACK delegate for CPU.``), which ``GLOG_minloglevel`` and ``TF_CPP_MIN_LOG_LEVEL`` do
  not silence. :func:`install_native_filter` redirects descriptor 2 into a pipe read by a
  small child process that drops the lines matching :data:`NATIVE_NOISE` (glog-style *info*
  and *warning* lines from ``.cc``/``.h`` files and the two TFLite/absl banners) and copies
  everything else through. Python's own ``sys.stderr`` (tracebacks, logging, tqdm, the CLI's
  messages) is re-pointed at the original stderr, so it never passes the filter at all; a
  native error (``E…``) or fatal line (``F…``, ``Check failed``) passes, and so does the
  output of a native crash (the child outlives the process and drains the pipe).
  ``RT_SFAMNET_NATIVE_LOGS=1`` or ``-vv`` turns the filter off.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import subprocess
import sys
from dataclasses import dataclass

LOGGER = logging.getLogger("rt_sfamnet")

NATIVE_NOISE = (
    # glog / absl: I (info) and W (warning) lines from C++ sources; E and F lines pass
    r"^[IW]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w./+-]+\.(?:cc|cpp|h):\d+\] ",
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$",
    r"^INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.$",
    r"^INFO: Initialized TensorFlow Lite runtime\.$",
)
"""Regular expressions of the native lines :func:`install_native_filter` drops."""

_NOISE_RE = re.compile("|".join(f"(?:{p})" for p in NATIVE_NOISE))

_CHILD = r"""
import re, sys
noise = re.compile(sys.argv[1])
out = sys.stdout.buffer
for raw in sys.stdin.buffer:
    if noise.match(raw.decode("utf-8", "replace").rstrip("\r\n")):
        continue
    out.write(raw)
    out.flush()
"""

_HANDLER_MARK = "_rt_sfamnet_cli_handler"


def is_native_noise(line: str) -> bool:
    """True when ``line`` (without its newline) is one of the known native log lines."""
    return _NOISE_RE.match(line.rstrip("\r\n")) is not None


def level_for(verbose: int, quiet: bool) -> int:
    """``-q`` -> ERROR, default WARNING, ``-v`` -> INFO, ``-vv`` -> DEBUG."""
    if quiet:
        return logging.ERROR
    return {0: logging.WARNING, 1: logging.INFO}.get(int(verbose), logging.DEBUG)


def configure(verbose: int = 0, quiet: bool = False) -> int:
    """Give :data:`LOGGER` one stderr handler at the level of ``-v``/``-q``; returns the level.

    Calling it again replaces the handler (no duplicated lines). Messages read
    ``rt-sfamnet: <message>``, with the level and logger name from ``-v`` on.
    """
    level = level_for(verbose, quiet)
    for h in list(LOGGER.handlers):
        if getattr(h, _HANDLER_MARK, False):
            LOGGER.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    fmt = "rt-sfamnet: %(message)s" if level >= logging.WARNING else \
        "rt-sfamnet %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(logging.Formatter(fmt))
    LOGGER.addHandler(handler)
    LOGGER.setLevel(level)
    LOGGER.propagate = False
    return level


@dataclass
class NativeFilter:
    """A running filter: the child process and the descriptor of the original stderr."""

    proc: subprocess.Popen
    saved_fd: int

    def close(self, timeout: float = 2.0) -> None:
        """Put the original stderr back on descriptor 2 and let the child drain and exit."""
        if self.proc.poll() is not None and self.saved_fd < 0:
            return
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        if self.saved_fd >= 0:
            os.dup2(self.saved_fd, 2)  # closes our end of the pipe held on descriptor 2
            self.saved_fd = -1
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:  # a child process of ours still holds the pipe
            pass


def install_native_filter() -> NativeFilter | None:
    """Filter the known native log lines out of file descriptor 2 for this process.

    Returns the running filter (closed automatically at exit), or None when
    ``RT_SFAMNET_NATIVE_LOGS`` is set or the filter cannot start (then nothing changes).
    """
    if os.environ.get("RT_SFAMNET_NATIVE_LOGS"):
        return None
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        return None
    r, w = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-S", "-u", "-c", _CHILD, _NOISE_RE.pattern],
            stdin=r, stdout=saved, stderr=saved, close_fds=True,
        )
    except OSError:
        os.close(r)
        os.close(w)
        os.close(saved)
        return None
    os.close(r)
    os.dup2(w, 2)
    os.close(w)
    # Python's own messages go straight to the original stderr, never through the filter.
    sys.stderr = open(saved, "w", buffering=1, encoding=getattr(sys.stderr, "encoding", None)
                      or "utf-8", errors="backslashreplace", closefd=False)
    filt = NativeFilter(proc, saved)
    atexit.register(filt.close)
    return filt
