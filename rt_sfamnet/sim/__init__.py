"""The synthetic RGB-D face camera behind ``"sim"`` sources, simulated recordings and datasets.

Modules:

- :mod:`.faces` — identities derived from two real photographs (astronaut, Grace Hopper),
  face templates (colour, person mask, landmarks, depth surface, background);
- :mod:`.landmarks` — face-mesh landmark indices and geometry helpers;
- :mod:`.aus` — action units as landmark-anchored displacement fields, emotion prototypes;
- :mod:`.script` — expression scripts (micro/macro timing, blinks, head motion), ground truth;
- :mod:`.recipe` — deterministic TOML recipes;
- :mod:`.depth` — D415-like depth noise and holes;
- :mod:`.render` — the frame renderer;
- :mod:`.dataset` — synthetic datasets in the CAS(ME)^3 part A layout;
- :mod:`.demo` — the demo recording and the test clip.

Typical use::

    from rt_sfamnet.sim import make_renderer
    r = make_renderer(seed=3, identity=2, duration_s=20)
    for frame in r.frames():
        ...
"""

from __future__ import annotations

from rt_sfamnet.sim.render import RenderConfig, Renderer
from rt_sfamnet.sim.script import Script, generate_script, script_intervals

__all__ = ["Renderer", "RenderConfig", "Script", "generate_script", "script_intervals",
           "make_renderer"]


def make_renderer(seed: int = 0, identity: int | str | None = None, width: int = 640,
                  height: int = 480, fps: float = 30.0, duration_s: float = 60.0,
                  script: Script | None = None, config: RenderConfig | None = None) -> Renderer:
    """A :class:`Renderer` for one simulated video.

    Args:
        seed: seed of the random script (when ``script`` is None) and of the sensor noise.
        identity: index or name of a face in :data:`rt_sfamnet.sim.faces.IDENTITIES`;
            None picks ``seed % len(IDENTITIES)``.
        width, height: frame size in pixels.
        fps: frame rate.
        duration_s: length in seconds (ignored when ``script`` is given).
        script: what the face does; default :func:`generate_script` from ``seed``.
        config: rendering options.
    """
    from rt_sfamnet.sim import faces

    ident = faces.identity(seed % len(faces.IDENTITIES) if identity is None else identity)
    template = faces.build_template(ident, int(width), int(height))
    if script is None:
        n = int(round(duration_s * fps))
        if n < 1:
            raise ValueError(f"duration_s {duration_s} at {fps} fps gives no frames")
        script = generate_script(seed, n, fps)
    return Renderer(template, script, seed=seed, config=config)
