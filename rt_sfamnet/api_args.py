"""Checking the arguments of the notebook API (:func:`rt_sfamnet.analyze`) on entry.

Python does not check types, so without this ``analyze(frame_skip=1.5)`` ran with 1, a string
``spot="k_micro=2"`` was read character by character, and ``analyze(123)`` or
``seconds="10"`` ended in an AttributeError or TypeError deep inside the run. Every argument
is checked here, before anything is opened, against one table (:data:`RULES`); a wrong one is
an :class:`~rt_sfamnet.errors.ArgumentError` naming the argument, what was expected and what
was found. Use::

    def analyze(source, ..., seconds=None, ...):
        check_arguments("analyze", locals())

Arguments without a rule are not checked (a new option gets its rule here).
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Mapping
from typing import Any

from rt_sfamnet.errors import ArgumentError

__all__ = ["RULES", "check_arguments"]

DEVICES = ("auto", "cpu", "cuda")


def _found(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _path(value: Any, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if isinstance(value, (str, os.PathLike)) and str(os.fspath(value)).strip():
        return None
    return "a file path (str or pathlib.Path)" + (" or None" if optional else "")


def _source(value: Any) -> str | None:
    from rt_sfamnet.sources.base import Source

    if isinstance(value, Source) or _path(value, optional=False) is None:
        return None
    return "'camera', 'sim', a recording or folder path (str or pathlib.Path), or a Source"


def _number(value: Any, positive: bool = True, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    ok = (isinstance(value, numbers.Real) and not isinstance(value, bool)
          and math.isfinite(float(value)) and (float(value) > 0 or not positive))
    return None if ok else ("a finite number > 0" + (" or None" if optional else ""))


def _integer(choices: tuple[int, ...] | None = None, minimum: int = 1) -> Callable[[Any], Any]:
    def check(value: Any) -> str | None:
        if value is None:
            return None
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        if ok and choices is not None:
            ok = int(value) in choices
        elif ok:
            ok = int(value) >= minimum
        if ok:
            return None
        want = f"one of {', '.join(map(str, choices))}" if choices else f"an integer >= {minimum}"
        return f"{want} or None"
    return check


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "True or False"


def _text(choices: tuple[str, ...] | None = None, optional: bool = False
          ) -> Callable[[Any], Any]:
    def check(value: Any) -> str | None:
        if value is None and optional:
            return None
        if isinstance(value, str) and (choices is None or value in choices):
            return None
        want = f"one of {', '.join(map(repr, choices))}" if choices else "a string"
        return want + (" or None" if optional else "")
    return check


def _key_values(example: str) -> Callable[[Any], str | None]:
    """A mapping or a list of ``"KEY=VALUE"`` strings (as the CLI's repeatable option)."""
    key, _, val = example.partition("=")
    want = (f"a mapping such as {{{key!r}: {val}}} or a list of 'KEY=VALUE' strings such as "
            f"[{example!r}], or None")

    def check(value: Any) -> str | None:
        return _pairs(value, want)
    return check


def _pairs(value: Any, want: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        return want + " (a single string would be read character by character: put it in a list)"
    if isinstance(value, Mapping):
        return None if all(isinstance(k, str) for k in value) else want + " (keys must be strings)"
    if not isinstance(value, (list, tuple)):  # never consume a caller's generator here
        return want
    bad = [x for x in value if not (isinstance(x, str) and "=" in x)]
    return None if not bad else f"{want} (the item {_found(bad[0])} is not 'KEY=VALUE')"


RULES: dict[str, Callable[[Any], str | None]] = {
    "source": _source,
    "weights": _path,
    "spot": _key_values("k_micro=2"),
    "camera": _key_values("exposure=8000"),
    "protocol": _text(("megc", "sfamnet")),
    "flow_mode": _text(optional=True),
    "seconds": _number,
    "progress": _flag,
    "out": _path,
    "gt": _path,
    "gt_video": _text(optional=True),
    "record": _path,
    "emotions": _integer(choices=(4, 7)),
    "frame_skip": _integer(minimum=1),
    "device": _text(DEVICES),
    "realtime": _flag,
    "speed": _number,
    "release_spotting": _flag,
    "weights_spotting": _flag,
    "zero_depth_experiment": _flag,
    "overwrite": _flag,
    "fps": _number,
}
"""What each API argument must be: a check returning None when the value is fine, else the
words for what was expected."""


def check_arguments(function: str, arguments: Mapping[str, Any]) -> None:
    """Check ``arguments`` (a function's ``locals()`` at entry) against :data:`RULES`.

    Raises:
        ArgumentError: the first argument (in the function's order) that breaks its rule,
        as ``"analyze(seconds=...): expected a finite number > 0 or None, found '10' (str)"``.
    """
    for name, value in arguments.items():
        rule = RULES.get(name)
        want = rule(value) if rule is not None else None
        if want is not None:
            raise ArgumentError(f"{function}({name}=...): expected {want}, found {_found(value)}")
