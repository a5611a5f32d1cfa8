"""Typed configuration: one dataclass per stage, loaded from mappings or TOML.

Unknown keys are errors (:class:`~rt_sfamnet.errors.ConfigError`), so a typo in a config
file never silently falls back to a default.

Example::

    @dataclass
    class SpottingConfig:
        frame_skip: int = 2

    cfg = config_from_mapping(SpottingConfig, {"frame_skip": 1})
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from rt_sfamnet.errors import ConfigError

T = TypeVar("T")

_SCALARS = (bool, int, float, str)


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    """Check (and lightly coerce: int -> float) ``value`` against a type annotation."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            if arg is type(None) and value is None:
                return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError:
                pass
        raise ConfigError(f"{where}: expected {annotation}, found {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: expected one of {list(args)}, found {value!r}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, found {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{where}: expected {len(args)} values, found {len(value)}")
            return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=False)))
        inner = args[0] if args else Any
        out = [_coerce(v, inner, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a table, found {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(annotation):
        if isinstance(value, annotation):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a table, found {value!r}")
        return config_from_mapping(annotation, value, where)
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, found {value!r}")
        return float(value)
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, found {value!r}")
        return value
    if annotation in _SCALARS:
        if not isinstance(value, annotation):
            raise ConfigError(f"{where}: expected {annotation.__name__}, found {value!r}")
        return value
    return value


def config_from_mapping(cls: type[T], mapping: Mapping[str, Any] | None, where: str = "") -> T:
    """Build dataclass ``cls`` from ``mapping``; unknown keys and wrong types raise ConfigError.

    Args:
        cls: a dataclass type whose fields all have defaults.
        mapping: key/value pairs (e.g. one TOML table); ``None`` gives the defaults.
        where: a prefix for error messages (e.g. ``"spotting"`` or a file name).
    """
    if mapping is None:
        return cls()
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{where or cls.__name__}: expected a table, found {mapping!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(mapping) - fields)
    if unknown:
        raise ConfigError(
            f"{where or cls.__name__}: unknown key(s) {unknown}; expected some of {sorted(fields)}"
        )
    kwargs = {
        key: _coerce(value, hints[key], f"{where + '.' if where else ''}{key}")
        for key, value in mapping.items()
    }
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where or cls.__name__}: {exc}") from None


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """The inverse of :func:`config_from_mapping` (plain dicts, lists and scalars)."""
    return dataclasses.asdict(cfg)


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, raising ConfigError with the file name and position on bad syntax."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {p} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML ({exc})") from None


def load_config(cls: type[T], path: str | Path | None, section: str | None = None) -> T:
    """Load dataclass ``cls`` from ``[section]`` of a TOML file (the whole file if None)."""
    if path is None:
        return cls()
    data: Any = load_toml(path)
    if section is not None:
        data = data.get(section, {})
    return config_from_mapping(cls, data, f"{path}" + (f" [{section}]" if section else ""))


def parse_overrides(items: list[str], option: str = "--spot") -> dict[str, Any]:
    """Command-line ``KEY=VALUE`` items -> a mapping for :func:`config_from_mapping`.

    ``["k_micro=2", "variant=paper"]`` -> ``{"k_micro": 2, "variant": "paper"}``: values are
    read as JSON when they parse (numbers, ``true``, ``null``), else kept as stripped text.
    A malformed item raises ConfigError naming ``option``.
    """
    import json

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option} expects KEY=VALUE, found {item!r}")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value.strip()
    return out
