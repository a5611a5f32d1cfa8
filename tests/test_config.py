from dataclasses import dataclass, field
from typing import Literal

import pytest

from rt_sfamnet.config import config_from_mapping, load_config
from rt_sfamnet.errors import ConfigError


@dataclass
class Inner:
    k: int = 3


@dataclass
class Cfg:
    a: int = 1
    b: float = 0.5
    mode: Literal["x", "y"] = "x"
    name: str | None = None
    sizes: tuple[int, int] = (1, 2)
    inner: Inner = field(default_factory=Inner)


def test_defaults_and_values():
    assert config_from_mapping(Cfg, None) == Cfg()
    cfg = config_from_mapping(Cfg, {"a": 4, "b": 2, "mode": "y", "sizes": [5, 6], "inner": {"k": 9}})
    assert cfg.a == 4 and cfg.b == 2.0 and isinstance(cfg.b, float)
    assert cfg.mode == "y" and cfg.sizes == (5, 6) and cfg.inner.k == 9


@pytest.mark.parametrize(
    "mapping, fragment",
    [
        ({"c": 1}, "unknown key"),
        ({"a": "one"}, "expected an integer"),
        ({"a": True}, "expected an integer"),
        ({"mode": "z"}, "expected one of"),
        ({"sizes": [1]}, "expected 2 values"),
        ({"inner": {"q": 1}}, "unknown key"),
    ],
)
def test_bad_values_raise(mapping, fragment):
    with pytest.raises(ConfigError, match=fragment):
        config_from_mapping(Cfg, mapping)


def test_load_toml_section(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[stage]\na = 7\nb = 1.5\n")
    assert load_config(Cfg, p, "stage").a == 7
    p.write_text("[stage]\na = 7\nbogus = 1\n")
    with pytest.raises(ConfigError, match="bogus"):
        load_config(Cfg, p, "stage")
    p.write_text("[stage\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(Cfg, p, "stage")
