"""API arguments are checked on entry: one ArgumentError naming the argument, never a
silently truncated value or an exception from deep inside the run."""

from __future__ import annotations

from pathlib import Path

import pytest

import rt_sfamnet
from rt_sfamnet.api_args import RULES, check_arguments
from rt_sfamnet.errors import ArgumentError, ConfigError, RtSfamnetError

BAD = [
    ({"source": 123}, "source", "found 123 (int)"),
    ({"source": ""}, "source", "found '' (str)"),
    ({"seconds": "10"}, "seconds", "found '10' (str)"),
    ({"seconds": float("nan")}, "seconds", "finite number > 0"),
    ({"seconds": -1}, "seconds", "found -1 (int)"),
    ({"seconds": True}, "seconds", "found True (bool)"),
    ({"spot": [1, 2]}, "spot", "the item 1 (int) is not 'KEY=VALUE'"),
    ({"spot": "k_micro=2"}, "spot", "put it in a list"),
    ({"spot": {1: 2}}, "spot", "keys must be strings"),
    ({"spot": 3}, "spot", "found 3 (int)"),
    ({"spot": (x for x in ["k_micro=2"])}, "spot", "(generator)"),
    ({"frame_skip": 1.5}, "frame_skip", "found 1.5 (float)"),
    ({"frame_skip": 0}, "frame_skip", "integer >= 1"),
    ({"frame_skip": "2"}, "frame_skip", "found '2' (str)"),
    ({"emotions": 5}, "emotions", "one of 4, 7"),
    ({"device": "gpu"}, "device", "one of 'auto', 'cpu', 'cuda'"),
    ({"progress": "no"}, "progress", "True or False"),
    ({"realtime": 1}, "realtime", "True or False"),
    ({"weights": 7}, "weights", "a file path"),
    ({"out": ["o"]}, "out", "a file path"),
]


@pytest.mark.parametrize(("kwargs", "name", "words"), BAD)
def test_a_wrong_argument_is_one_clear_error_before_anything_runs(kwargs, name, words):
    args = {"source": "sim", **kwargs}
    with pytest.raises(ArgumentError) as info:
        rt_sfamnet.analyze(**args)
    msg = str(info.value)
    assert msg.startswith(f"analyze({name}=...): expected ") and words in msg
    assert "\n" not in msg
    assert isinstance(info.value, RtSfamnetError) and isinstance(info.value, TypeError)
    assert isinstance(info.value, ConfigError)  # as range errors were before


@pytest.mark.parametrize("kwargs", [
    {"source": "sim"}, {"source": Path("x.db3")}, {"spot": {"k_micro": 2}},
    {"spot": ["k_micro=2", "k_macro=3"]}, {"spot": ("k_micro=2",)}, {"seconds": 2},
    {"seconds": 0.5}, {"frame_skip": 3}, {"emotions": 7}, {"device": "cpu"},
    {"weights": None}, {"out": Path("o")}, {"realtime": True},
])
def test_good_arguments_pass(kwargs):
    check_arguments("analyze", {"source": "sim", **kwargs})


def test_a_source_object_passes_and_unknown_names_are_not_checked():
    from rt_sfamnet.sources.simulated import SimulatedSource

    check_arguments("analyze", {"source": SimulatedSource.from_spec("sim"), "other": object()})


def test_every_argument_of_analyze_has_a_rule():
    import inspect

    names = set(inspect.signature(rt_sfamnet.analyze).parameters)
    assert names - set(RULES) == set()


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"protocol": "MEGC"}, "one of 'megc', 'sfamnet'"),
    ({"camera": "exposure=8000"}, "put it in a list"),
    ({"speed": 0}, "a finite number > 0"),
    ({"record": 5}, "a file path"),
    ({"release_spotting": "yes"}, "True or False"),
])
def test_rules_of_the_cli_options_the_api_takes(kwargs, words):
    with pytest.raises(ArgumentError, match=words.replace("(", r"\(")):
        check_arguments("analyze", {"source": "sim", **kwargs})
