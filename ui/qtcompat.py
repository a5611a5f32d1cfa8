"""Work-arounds for bugs of the Qt binding, applied once when :mod:`ui` is imported.

PySide6 6.12.0 on CPython < 3.12 hands out ``None`` and ``True`` without taking a reference
to them: every call of a Qt method that returns nothing (``setText``, ``setVisible``,
``processEvents`` ... about a hundred per redraw of this app) drops one reference of
``None``, and ``SignalInstance.emit()`` (pyqtgraph emits several per redraw) drops one of
``True``. Once a count reaches zero the interpreter aborts with "Fatal Python error:
none_dealloc" / "bool_dealloc" — at exit, or mid-run after a minute of drawing. CPython 3.12
made these singletons immortal (a reference count so large it never reaches zero), which is
what the binding now assumes. On older CPython, :func:`apply_workarounds` detects each leak
with a few test calls and gives the affected singletons the same kind of very large count;
nothing else changes, and a correct binding is left alone.
"""

from __future__ import annotations

import ctypes
import platform
import sys

#: Added to a leaking singleton's reference count (2**40 drops would take years at a million
#: Qt calls per second).
_EXTRA_REFS = 1 << 40

_applied: tuple[str, ...] | None = None


def _drops(obj: object, call, n: int = 8) -> bool:
    """True if ``n`` calls of ``call()`` lose at least ``n`` references of ``obj``."""
    before = sys.getrefcount(obj)
    for _ in range(n):
        call()
    return sys.getrefcount(obj) <= before - n


def leaking_singletons() -> tuple[str, ...]:
    """Names of the singletons (``"None"``, ``"True"``) this binding loses references of."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        sig = Signal()

    probe = _Probe()
    out = []
    if _drops(None, lambda: probe.setObjectName("probe")):
        out.append("None")
    if _drops(True, probe.sig.emit):
        out.append("True")
    return tuple(out)


def _immortalise(obj: object) -> None:
    ctypes.c_ssize_t.from_address(id(obj)).value += _EXTRA_REFS


def apply_workarounds() -> tuple[str, ...]:
    """Apply the work-arounds this binding needs (idempotent); returns what was patched."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = ()
    if platform.python_implementation() != "CPython" or sys.version_info >= (3, 12):
        return _applied
    leaks = leaking_singletons()
    if "None" in leaks:
        _immortalise(None)
    if "True" in leaks:
        _immortalise(True)
        _immortalise(False)
    _applied = leaks
    return _applied
