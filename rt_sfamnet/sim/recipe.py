"""Deterministic simulation recipes (TOML): a seed, a face, and an expression script.

Example (``recordings/demo_recipe.toml``)::

    seed = 2026
    identity = "ava"          # name or index of rt_sfamnet.sim.faces.IDENTITIES
    width = 640
    height = 480
    fps = 30
    duration_s = 40.0
    blinks = true             # unlabelled blinks drawn from the seed
    head_motion = 1.0         # scale of head drift and jitter

    [[expression]]
    type = "micro"            # "micro" | "macro"
    emotion = "happy"         # one of rt_sfamnet.emotions.EMOTIONS7
    onset_s = 2.0
    rise_s = 0.15             # onset -> apex (optional: drawn from the seed)
    fall_s = 0.2              # apex -> offset, after the hold (optional)
    hold_s = 0.0              # time at apex (optional)
    amplitude_px = 1.8        # peak skin displacement, pixels of a 640-wide frame (optional)
    aus = { "6" = 0.6, "12" = 1.0 }   # optional: override the emotion's AU prototype

With no ``[[expression]]`` tables the script is drawn at random from the seed
(:func:`rt_sfamnet.sim.script.generate_script`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.config import config_from_mapping, load_toml
from rt_sfamnet.errors import ConfigError
from rt_sfamnet.sim.script import (
    MACRO_DURATION_S,
    MICRO_MAX_S,
    MICRO_ONSET_APEX_S,
    Expression,
    HeadMotion,
    Script,
    generate_script,
    make_expression,
    place_blinks,
)


@dataclass
class RecipeExpression:
    """One ``[[expression]]`` table of a recipe (times in seconds)."""

    type: str = "micro"
    emotion: str = "happy"
    onset_s: float = 1.0
    rise_s: float | None = None
    hold_s: float | None = None
    fall_s: float | None = None
    amplitude_px: float | None = None
    aus: dict[str, float] | None = None


@dataclass
class Recipe:
    """A whole simulation recipe (see the module docstring)."""

    seed: int = 0
    identity: int | str | None = None
    width: int = 640
    height: int = 480
    fps: float = 30.0
    duration_s: float = 20.0
    blinks: bool = True
    head_motion: float = 1.0
    micro_fraction: float = 0.6
    expression: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n_frames(self) -> int:
        return int(round(self.duration_s * self.fps))


def load_recipe(path: str | Path) -> Recipe:
    """Read a recipe TOML file (unknown keys raise :class:`~rt_sfamnet.errors.ConfigError`)."""
    data = load_toml(path)
    recipe = config_from_mapping(Recipe, data, str(path))
    for i, e in enumerate(recipe.expression):
        config_from_mapping(RecipeExpression, e, f"{path} expression[{i}]")
    return recipe


def _frames(seconds: float, fps: float) -> int:
    return int(round(seconds * fps))


def script_from_recipe(recipe: Recipe) -> Script:
    """The :class:`~rt_sfamnet.sim.script.Script` a recipe describes (deterministic)."""
    n = recipe.n_frames
    fps = recipe.fps
    if n < 2:
        raise ConfigError(f"recipe duration_s {recipe.duration_s} gives fewer than 2 frames")
    if not recipe.expression:
        s = generate_script(recipe.seed, n, fps, micro_fraction=recipe.micro_fraction,
                            blinks=recipe.blinks)
        s.motion = _motion(recipe)
        return s
    rng = np.random.default_rng([int(recipe.seed), 4321])
    exprs: list[Expression] = []
    for i, table in enumerate(recipe.expression):
        re = config_from_mapping(RecipeExpression, table, f"expression[{i}]")
        onset = _frames(re.onset_s, fps)
        base = make_expression(rng, re.type, re.emotion, onset, fps, re.amplitude_px)
        rise = base.apex - base.onset if re.rise_s is None else max(1, _frames(re.rise_s, fps))
        hold = (base.hold_end or base.apex) - base.apex if re.hold_s is None else _frames(re.hold_s, fps)
        fall = base.offset - (base.hold_end or base.apex) if re.fall_s is None else max(1, _frames(re.fall_s, fps))
        if re.type == "micro" and re.hold_s is None:
            # a drawn hold is shortened so that given rise/fall times keep the total < 0.5 s
            hold = max(0, min(hold, math.ceil(MICRO_MAX_S * fps) - 2 - rise - fall))
        apex = onset + rise
        e = Expression(re.type, re.emotion, onset, apex, apex + hold + fall, base.amplitude_px,
                       dict(re.aus) if re.aus else base.aus, hold_end=apex + hold)
        total_s = (e.offset - e.onset) / fps
        if e.type == "micro" and not (
            MICRO_ONSET_APEX_S[0] <= rise / fps <= MICRO_ONSET_APEX_S[1] and total_s < MICRO_MAX_S
        ):
            raise ConfigError(
                f"expression[{i}]: a micro-expression needs onset->apex in {MICRO_ONSET_APEX_S} s "
                f"and a total under {MICRO_MAX_S} s, found {rise / fps:.3f} s and {total_s:.3f} s"
            )
        if e.type == "macro" and not (MACRO_DURATION_S[0] <= total_s <= MACRO_DURATION_S[1]):
            raise ConfigError(
                f"expression[{i}]: a macro-expression lasts {MACRO_DURATION_S} s, found "
                f"{total_s:.3f} s"
            )
        exprs.append(e)
    exprs.sort(key=lambda e: e.onset)
    for a, b in zip(exprs, exprs[1:], strict=False):
        if b.onset <= a.offset:
            raise ConfigError(
                f"expressions overlap: {a.type} {a.emotion} ends at frame {a.offset}, "
                f"{b.type} {b.emotion} starts at frame {b.onset}"
            )
    busy = [(e.onset, e.offset) for e in exprs]
    blinks = place_blinks(rng, n, fps, busy) if recipe.blinks else []
    return Script(n, fps, exprs, blinks, _motion(recipe))


def _motion(recipe: Recipe) -> HeadMotion:
    m = recipe.head_motion
    if m < 0:
        raise ConfigError(f"head_motion must be >= 0, found {m}")
    base = HeadMotion(seed=recipe.seed)
    return HeadMotion(seed=recipe.seed, drift_px=base.drift_px * m, roll_deg=base.roll_deg * m,
                      dz_mm=base.dz_mm * m, jitter_px=base.jitter_px * m)
