"""Short simulated recordings with known expressions for the review tests (no Qt here)."""

from __future__ import annotations

from pathlib import Path

RECIPE = """seed = {seed}
identity = "{identity}"
width = 320
height = 240
fps = 30
duration_s = {seconds}
blinks = false
head_motion = 0.5
{expressions}
"""

EXPRESSION = """
[[expression]]
type = "{type}"
emotion = "{emotion}"
onset_s = {onset}
rise_s = {rise}
hold_s = {hold}
fall_s = {fall}
amplitude_px = 1.9
"""


def simulate(path: Path, identity: str, expressions, seed: int = 1,
             seconds: float = 3.0) -> Path:
    """A 320x240 recording ``path`` (.db3 with its .gt.csv) showing ``expressions``:
    ``(type, emotion, onset_s)`` each (micro: 0.17 s rise and hold, 0.1 s fall; macro 0.4,
    0.5, 0.4 s)."""
    from rt_sfamnet.sim.demo import write_sim_recording

    parts = []
    for typ, emotion, onset in expressions:
        rise, hold, fall = (0.17, 0.17, 0.1) if typ == "micro" else (0.4, 0.5, 0.4)
        parts.append(EXPRESSION.format(type=typ, emotion=emotion, onset=onset, rise=rise,
                                       hold=hold, fall=fall))
    recipe = path.with_suffix(".toml")
    recipe.write_text(RECIPE.format(seed=seed, identity=identity, seconds=seconds,
                                    expressions="".join(parts)))
    write_sim_recording(path, recipe)
    recipe.unlink()
    return path
