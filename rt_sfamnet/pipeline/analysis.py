"""The options of one analysis, built once for every entry point.

:class:`AnalysisOptions` holds every analysis option of ``rt-sfamnet analyze`` (one field per
option; :data:`CLI_FIELDS` maps the two whose names differ) and turns them into what runs an
analysis: :meth:`~AnalysisOptions.engine_config` (the
:class:`~rt_sfamnet.pipeline.EngineConfig`, settings resolved against the weights later by
:func:`~rt_sfamnet.pipeline.settings.resolve_settings`), :meth:`~AnalysisOptions.open_source`
(``--camera``, ``--record``) and :meth:`~AnalysisOptions.run_options`. :func:`run_analysis`
runs one source into one folder.

The command (:mod:`rt_sfamnet.commands.analyze`, :meth:`AnalysisOptions.from_args`), the
notebook API (:func:`rt_sfamnet.analyze`, keyword arguments of the same names), the desktop
app (``ui/session.py``, over its base config) and ``rt-sfamnet gui``'s headless fallback all
build their engine through this one class, so an option cannot be known to one and missing
from another (``tests/test_api.py`` enumerates the command's options).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rt_sfamnet.errors import ConfigError

__all__ = ["AnalysisOptions", "CLI_FIELDS", "CLI_ONLY", "run_analysis"]

#: ``rt-sfamnet analyze`` options whose field has another name: ``--no-progress`` -> progress.
CLI_FIELDS = {"no_progress": "progress"}

#: ``rt-sfamnet analyze`` arguments that are not options of an analysis: the sources and the
#: output folder are the API's ``source`` and ``out``; ``--json`` prints the summary;
#: ``--attention`` and ``--report`` write files from the finished folder
#: (:mod:`rt_sfamnet.report`; the API's ``rt_sfamnet.attention_at``).
CLI_ONLY = ("source", "out", "json", "attention", "report")


@dataclass
class AnalysisOptions:
    """Every option of an analysis (the command's names; see ``rt-sfamnet analyze --help``).

    Attributes:
        weights: weights file; None: the bundled default weights.
        emotions: 4 or 7, the classes of an official ``.pkl`` checkpoint.
        flow_mode: ``"hybrid"``, ``"scene"`` or ``"optical"``; None: the weights' own mode.
        zero_depth_experiment: allow depth-trained weights on a source without depth (w = 0),
            labelled as an experiment in the summary (``--zero-depth-experiment``).
        frame_skip: a sample every N frames; None: the weights' (2) on the CPU, 1 on CUDA.
        spot: spotting values over the weights' (``{"k_micro": 2}`` or ``["k_micro=2"]``).
        release_spotting: start from the release's spotting values, not the weights'.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        realtime: pace file sources at their frame rate (drop, not wait, when slow).
        speed: pacing factor with ``realtime`` (> 0).
        seconds: analyse the first this many seconds of input (None: until the end).
        gt: a ground-truth interval CSV overriding the source's own.
        gt_video: the video of a several-video ``gt`` (``VIDEO`` or ``SUBJECT/VIDEO``).
        protocol: ``"megc"`` or ``"sfamnet"`` (evaluation with ground truth).
        record: also record the source's frames to this ``.db3`` file (an existing file is
            refused unless ``overwrite``; the source itself always).
        overwrite: let ``record`` replace an existing file (``--overwrite``).
        camera: camera controls (``["exposure=8000"]`` or ``{"exposure": 8000}``; a camera
            source only).
        fps: the frame rate of a frame folder (``--fps``; default 30); refused for sources
            with their own timestamps (videos, webcams, recordings).
        progress: a progress bar on a terminal.
    """

    weights: str | None = None
    emotions: int | None = None
    flow_mode: str | None = None
    zero_depth_experiment: bool = False
    frame_skip: int | None = None
    spot: Mapping[str, Any] | Iterable[str] | None = None
    release_spotting: bool = False
    device: str = "auto"
    realtime: bool = False
    speed: float = 1.0
    seconds: float | None = None
    gt: str | None = None
    gt_video: str | None = None
    protocol: str = "megc"
    record: str | None = None
    overwrite: bool = False
    camera: Mapping[str, Any] | Iterable[str] | None = None
    fps: float | None = None
    progress: bool = True
    _spot: dict[str, Any] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        from rt_sfamnet.config import config_from_mapping, parse_overrides
        from rt_sfamnet.features import FLOW_MODES
        from rt_sfamnet.spotting import SpottingConfig

        if self.gt_video and not self.gt:
            raise ConfigError(f"--gt-video {self.gt_video!r} chooses a video of a --gt file, but "
                              f"no --gt was given; give --gt FILE too, or leave out --gt-video")
        if self.overwrite and not self.record:
            raise ConfigError("--overwrite lets --record replace a file: give --record FILE too")

        spot = self.spot
        if spot is None:
            self._spot = {}
        elif isinstance(spot, Mapping):
            self._spot = dict(spot)
        elif isinstance(spot, str):
            self._spot = parse_overrides([spot])
        else:
            self._spot = parse_overrides(list(spot))
        config_from_mapping(SpottingConfig, self._spot, "spot")  # bad keys fail before work
        if self.fps is not None and not (isinstance(self.fps, (int, float))
                                         and not isinstance(self.fps, bool)
                                         and 0 < self.fps < math.inf):
            raise ConfigError(f"fps must be a finite number > 0, found {self.fps!r}")
        if self.flow_mode is not None and self.flow_mode not in FLOW_MODES:
            raise ConfigError(f"flow_mode must be one of {', '.join(FLOW_MODES)}, "
                              f"found {self.flow_mode!r}")
        if self.emotions is not None and self.emotions not in (4, 7):
            raise ConfigError(f"emotions must be 4 or 7, found {self.emotions!r}")
        if not (isinstance(self.speed, (int, float)) and 0 < self.speed < math.inf):
            raise ConfigError(f"speed must be a finite number > 0, found {self.speed!r}")
        if isinstance(self.camera, str):
            self.camera = [self.camera]

    @property
    def spotting(self) -> dict[str, Any]:
        """``spot`` as a mapping of :class:`~rt_sfamnet.spotting.SpottingConfig` values."""
        return dict(self._spot)

    @classmethod
    def from_args(cls, args: Any) -> AnalysisOptions:
        """The options of parsed ``rt-sfamnet analyze`` arguments (an argparse Namespace)."""
        values = {}
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            cli = next((k for k, v in CLI_FIELDS.items() if v == f.name), f.name)
            if hasattr(args, cli):
                values[f.name] = getattr(args, cli)
        if "progress" in values:  # --no-progress
            values["progress"] = not values["progress"] and not getattr(args, "quiet", False)
        return cls(**values)

    def engine_config(self, base: Any | None = None) -> Any:
        """The :class:`~rt_sfamnet.pipeline.EngineConfig` of these options.

        Args:
            base: a config whose other values are kept (the app's); its ``weights``,
                ``emotions``, ``frame_skip``, ``device`` and feature mode are kept where
                these options leave them unset. None: the headless defaults (no maps kept).
        """
        from rt_sfamnet.pipeline.types import EngineConfig

        base = EngineConfig(keep_maps=False) if base is None else base
        features = base.features
        if self.flow_mode:
            if dataclasses.is_dataclass(features):
                features = dataclasses.replace(features, mode=self.flow_mode)
            else:
                features = {**dict(features or {}), "mode": self.flow_mode}
        return dataclasses.replace(
            base,
            weights=str(self.weights) if self.weights else base.weights,
            emotions=self.emotions or base.emotions,
            frame_skip=self.frame_skip if self.frame_skip is not None else base.frame_skip,
            device=self.device if self.device != "auto" else base.device,
            realtime=bool(self.realtime),
            speed=float(self.speed),
            spotting=self.spotting,
            weights_spotting=not self.release_spotting,
            features=features,
            zero_depth_experiment=bool(self.zero_depth_experiment),
        )

    def open_source(self, source: Any) -> Any:
        """The source to analyse: a spec (``make_source``, with ``camera`` controls) or an
        unopened :class:`~rt_sfamnet.sources.base.Source`; wrapped to record when ``record``."""
        from rt_sfamnet.sources import make_source

        if isinstance(source, (str, Path)):
            spec = str(source)
            kwargs: dict[str, Any] = {}
            if self.camera:
                if not (spec == "camera" or spec.startswith("camera:")):
                    raise ConfigError(f"--camera sets camera controls: expected a 'camera' "
                                      f"source, found {spec!r}")
                kwargs["options"] = (dict(self.camera) if isinstance(self.camera, Mapping)
                                     else list(self.camera))
            if self.fps is not None:
                kwargs["fps"] = float(self.fps)
            src = make_source(spec, **kwargs)
        else:
            if self.fps is not None:
                raise ConfigError("fps sets the rate of a source given by name (a frame "
                                  f"folder); set it on the {type(source).__name__} itself")
            if self.camera:
                raise ConfigError("camera controls apply to a source given by name ('camera'), "
                                  f"found a {type(source).__name__} object")
            src = source
        if self.record:
            from rt_sfamnet.sources.realsense.tee import RecordingTee

            src = RecordingTee(src, str(self.record), overwrite=bool(self.overwrite))
        return src

    def run_options(self, out: str | Path, video: str | None = None, stop: Any = None) -> Any:
        """The runner's :class:`~rt_sfamnet.pipeline.runner.RunOptions` for one folder."""
        from rt_sfamnet.annotations import read_ground_truth
        from rt_sfamnet.pipeline.runner import RunOptions

        return RunOptions(out=Path(out), seconds=self.seconds, protocol=self.protocol,
                          progress=bool(self.progress),
                          weights=None if self.weights is None else str(self.weights),
                          gt=read_ground_truth(self.gt) if self.gt else None, video=video,
                          gt_video=self.gt_video, stop=stop)


def run_analysis(source: Any, out: str | Path, options: AnalysisOptions,
                 stop: Any = None) -> tuple[Any, dict[str, Any]]:
    """Analyse one source into ``out`` (a spec or an unopened Source).

    Returns:
        The runner's :class:`~rt_sfamnet.pipeline.runner.RunResult` and the summary as
        written (JSON-safe; with ``"recording": {"path", "frames", "dropped", "error"}`` when
        ``options.record``; ``error`` is the recorder's failure or None, and a failure is
        also raised after ``summary.json`` records it).

    Raises:
        RtSfamnetError: bad options or source (before any work), or the recorder failed.
    """
    import json

    from rt_sfamnet.pipeline.engine import Engine
    from rt_sfamnet.pipeline.results import video_name
    from rt_sfamnet.pipeline.runner import run_headless

    video = video_name(source) if isinstance(source, (str, Path)) else None
    opts = options.run_options(out, video, stop)
    config = options.engine_config()
    src = options.open_source(source)
    result = run_headless(Engine(src, config), opts)
    written = json.loads((Path(out) / "summary.json").read_text())  # JSON-safe (NaN -> null)
    if options.record:
        from rt_sfamnet.pipeline.writers import write_json_atomic

        src.stop_recording()  # already finished when the engine closed the source
        written["recording"] = {"path": str(Path(options.record).resolve()),
                                "frames": src.recorded, "dropped": src.record_dropped,
                                "error": None if src.error is None else str(src.error)}
        write_json_atomic(Path(out) / "summary.json", written)  # the file says it too
        if src.error is not None:
            raise src.error
    return result, written
