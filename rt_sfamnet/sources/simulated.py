"""``"sim"``: the synthetic RGB-D face camera as a :class:`~rt_sfamnet.sources.base.Source`.

Frames come from :mod:`rt_sfamnet.sim` (real face photographs animated by scripted action
units, D415-like depth). The stream is deterministic for a seed, its ground truth is known
before iteration (subject ``"sim"``, video ``"seed<seed>"``, 0-based frames), and each frame's
``meta`` holds ``{"au": {"AU12": 0.8, ...}, "blink": 0.0}``.

Spec strings: ``"sim"`` or ``"sim:seed=3,identity=2,duration=20"``; keys ``seed``,
``identity`` (index or name), ``duration`` (seconds), ``width``, ``height``, ``fps``,
``realtime`` (0/1), ``recipe`` (path of a recipe TOML).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rt_sfamnet.errors import SourceError
from rt_sfamnet.frames import Intrinsics, RGBDFrame
from rt_sfamnet.intervals import Interval
from rt_sfamnet.sources.base import Source

_SPEC_KEYS = {
    "seed": ("seed", int),
    "identity": ("identity", str),
    "duration": ("duration_s", float),
    "duration_s": ("duration_s", float),
    "width": ("width", int),
    "height": ("height", int),
    "fps": ("fps", float),
    "realtime": ("realtime", lambda v: v.strip().lower() in ("1", "true", "yes", "on")),
    "recipe": ("recipe", str),
}


class SimulatedSource(Source):
    """A simulated RGB-D camera.

    Args:
        seed: seed of the expression script and the sensor noise.
        identity: face index or name (:data:`rt_sfamnet.sim.faces.IDENTITIES`); None picks
            one from the seed.
        width, height: frame size in pixels.
        fps: frame rate.
        duration_s: length of the stream in seconds.
        script: a :class:`rt_sfamnet.sim.script.Script` to play instead of a random one.
        realtime: stand for a camera: ``live`` and ``realtime`` are True, so the engine
            releases frames at ``fps`` (the source itself never waits).
        recipe: path of a recipe TOML (:mod:`rt_sfamnet.sim.recipe`); it sets everything
            except ``realtime``.
        render: :class:`rt_sfamnet.sim.render.RenderConfig` options.
    """

    seekable = True

    def __init__(self, seed: int = 0, identity: int | str | None = None, width: int = 640,
                 height: int = 480, fps: float = 30.0, duration_s: float = 60.0,
                 script: Any = None, realtime: bool = False, recipe: str | Path | None = None,
                 render: Any = None) -> None:
        if recipe is not None:
            from rt_sfamnet.sim.recipe import load_recipe

            rc = load_recipe(recipe)
            seed, identity, width, height, fps = rc.seed, rc.identity, rc.width, rc.height, rc.fps
            duration_s = rc.duration_s
            self._recipe = rc
        else:
            self._recipe = None
        if isinstance(identity, str) and identity.strip().lstrip("-").isdigit():
            identity = int(identity)
        if width < 64 or height < 48:
            raise SourceError(f"sim: frame size must be at least 64x48, found {width}x{height}")
        if not 0 < fps < float("inf"):
            raise SourceError(f"sim: fps must be positive and finite, found {fps}")
        if not duration_s < float("inf"):
            raise SourceError(f"sim: duration must be finite, found {duration_s} s")
        if script is None and not duration_s * fps >= 1:
            raise SourceError(f"sim: duration must give at least one frame, found {duration_s} s")
        self.seed = int(seed)
        self.identity = identity
        self.width, self.height = int(width), int(height)
        self.fps = float(fps)
        self.duration_s = float(duration_s)
        self.realtime = bool(realtime)
        self.live = self.realtime
        self._script = script
        self._render_config = render
        self._renderer: Any = None
        self._pos = 0
        self.name = f"simulator (seed {self.seed})"

    @classmethod
    def from_spec(cls, spec: str = "sim", **options: Any) -> SimulatedSource:
        """Build from ``"sim"`` or ``"sim:key=value,..."``; ``options`` override the spec."""
        text = str(spec).strip()
        if text != "sim" and not text.startswith("sim:"):
            raise SourceError(f"expected a simulator spec 'sim' or 'sim:key=value,...', found {spec!r}")
        kwargs: dict[str, Any] = {}
        body = text[4:] if text.startswith("sim:") else ""
        for part in filter(None, (p.strip() for p in body.split(","))):
            if "=" not in part:
                raise SourceError(f"sim spec {spec!r}: expected key=value, found {part!r}")
            key, value = (s.strip() for s in part.split("=", 1))
            if key not in _SPEC_KEYS:
                raise SourceError(
                    f"sim spec {spec!r}: unknown key {key!r}; expected one of {sorted(_SPEC_KEYS)}"
                )
            name, conv = _SPEC_KEYS[key]
            try:
                kwargs[name] = conv(value)
            except ValueError:
                raise SourceError(f"sim spec {spec!r}: bad value {value!r} for {key!r}") from None
        kwargs.update(options)
        return cls(**kwargs)

    # -- building -------------------------------------------------------------------------

    def _build(self) -> Any:
        if self._renderer is None:
            from rt_sfamnet.sim import make_renderer

            script = self._script
            if script is None and self._recipe is not None:
                from rt_sfamnet.sim.recipe import script_from_recipe

                script = script_from_recipe(self._recipe)
            try:
                self._renderer = make_renderer(self.seed, self.identity, self.width, self.height,
                                               self.fps, self.duration_s, script,
                                               self._render_config)
            except ValueError as exc:
                raise SourceError(f"sim: {exc}") from None
        return self._renderer

    @property
    def script(self) -> Any:
        """The :class:`rt_sfamnet.sim.script.Script` being played."""
        return self._build().script

    @property
    def renderer(self) -> Any:
        """The :class:`rt_sfamnet.sim.render.Renderer` behind this source."""
        return self._build()

    # -- Source interface -------------------------------------------------------------------

    def open(self) -> SimulatedSource:
        self._build()
        self._pos = 0
        return self

    def close(self) -> None:
        pass

    @property
    def intrinsics(self) -> Intrinsics | None:
        return self._build().intrinsics

    @property
    def frame_count(self) -> int | None:
        return self._build().n_frames

    @property
    def ground_truth(self) -> list[Interval] | None:
        from rt_sfamnet.sim.script import script_intervals

        return script_intervals(self._build().script, "sim", f"seed{self.seed}")

    def seek(self, index: int) -> None:
        n = self._build().n_frames
        if not 0 <= index < n:
            raise SourceError(f"sim: cannot seek to frame {index}; expected 0..{n - 1}")
        self._pos = int(index)

    def __iter__(self) -> Iterator[RGBDFrame]:
        r = self._build()
        while self._pos < r.n_frames:
            i = self._pos
            frame = r.frame(i)
            self._pos = i + 1
            yield frame
