"""Shape and dtype checks for the entry points of the flow solvers.

Modelled on kornia's ``KORNIA_CHECK_SHAPE``: a shape is written as a string of dimension
names, ``"N H W"`` or ``"H W 3"``; a number must match exactly, a name binds to the size
found and must match wherever it appears again (in the same call, or in ``dims`` bound by an
earlier call); ``"|"`` separates alternatives (``"H W | H W 3"``). Every failure raises one
:class:`ValueError` naming the function, the argument, what was expected and what was found::

    dims = check_shape(I0, "H W | H W 3", "I0", "rgbd_flow", what="a grey or RGB image")
    check_shape(Z0, "H W", "Z0", "rgbd_flow", dims=dims, what="a depth map (uint16 mm)")
    check_dtype(I0, ("uint8", "f"), "I0", "rgbd_flow")

They read only ``.shape`` and ``.dtype``, so they work on NumPy and CuPy arrays alike and never
copy data between devices. NumPy only; no other module of the package is imported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = ["check_dtype", "check_same_shape", "check_shape"]

_KIND_NAMES = {"f": "float", "u": "unsigned integer", "i": "signed integer", "b": "bool",
               "c": "complex"}


def _shape_of(x: Any, name: str, where: str) -> tuple[int, ...]:
    shape = getattr(x, "shape", None)
    if shape is None:
        raise ValueError(f"{where}: {name} must be an array, found {type(x).__name__}")
    return tuple(int(s) for s in shape)


def _match(shape: tuple[int, ...], dims: list[str], bound: dict[str, int]) -> dict[str, int] | None:
    if len(shape) != len(dims):
        return None
    out = dict(bound)
    for size, dim in zip(shape, dims, strict=True):
        if dim.isdigit():
            if size != int(dim):
                return None
        elif dim != "*":
            if out.setdefault(dim, size) != size:
                return None
    return out


def check_shape(x: Any, spec: str, name: str, where: str, dims: Mapping[str, int] | None = None,
                what: str = "an array") -> dict[str, int]:
    """Check that ``x.shape`` matches ``spec``.

    Args:
        x: an array (anything with ``.shape``).
        spec: dimension names separated by spaces (``"N H W"``): a number is an exact size,
            ``*`` any size, a name any size that is the same wherever the name appears;
            alternatives are separated by ``|``.
        name: the argument's name (``"I0"``), for the message.
        where: the function's name (``"tvl1"``), for the message.
        dims: sizes already bound to names (e.g. the return value of a previous check).
        what: what ``x`` is (``"a grey image"``), for the message.

    Returns:
        ``dims`` plus the sizes bound by the first alternative that matched.

    Raises:
        ValueError: ``<where>: <name> must be <what> of shape <spec> [with H = .., ...], found
        shape (...)``.
    """
    shape = _shape_of(x, name, where)
    bound = dict(dims or {})
    alternatives = [alt.split() for alt in spec.split("|")]
    for alt in alternatives:
        out = _match(shape, alt, bound)
        if out is not None:
            return out
    expected = " or ".join(" x ".join(alt) for alt in alternatives)
    used = {d for alt in alternatives for d in alt}
    known = ", ".join(f"{k} = {v}" for k, v in bound.items() if k in used)
    if known:
        expected += f" with {known}"
    raise ValueError(f"{where}: {name} must be {what} of shape {expected}, found shape {shape}")


def check_same_shape(a: Any, b: Any, names: tuple[str, str], where: str) -> None:
    """Raise ValueError unless ``a`` and ``b`` have one shape."""
    sa, sb = _shape_of(a, names[0], where), _shape_of(b, names[1], where)
    if sa != sb:
        raise ValueError(f"{where}: {names[0]} and {names[1]} must have the same shape, found "
                         f"{sa} and {sb}")


def _describe(allowed: Iterable[str]) -> str:
    return " or ".join(_KIND_NAMES.get(a, a) for a in allowed)


def check_dtype(x: Any, allowed: Iterable[str], name: str, where: str,
                expected: str | None = None) -> np.dtype:
    """Check that ``x.dtype`` is one of ``allowed``.

    Args:
        x: an array (anything with ``.dtype``).
        allowed: dtype names (``"uint8"``, ``"uint16"``) or one-letter dtype kinds (``"f"``
            any float, ``"u"`` / ``"i"`` any unsigned / signed integer, ``"b"`` bool).
        name, where: the argument's and the function's names, for the message.
        expected: the message's description of the allowed dtypes (default: built from
            ``allowed``, e.g. ``"uint8 or float"``).

    Returns:
        The dtype found.

    Raises:
        ValueError: ``<where>: <name> must be <expected>, found dtype <dtype>``.
    """
    allowed = tuple(allowed)
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        raise ValueError(f"{where}: {name} must be an array, found {type(x).__name__}")
    dtype = np.dtype(dtype)
    for a in allowed:
        if (dtype.kind == a) if len(a) == 1 else (dtype == np.dtype(a)):
            return dtype
    raise ValueError(f"{where}: {name} must be {expected or _describe(allowed)}, found dtype "
                     f"{dtype}")
