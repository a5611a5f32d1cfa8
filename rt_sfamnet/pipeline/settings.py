"""One resolution of an analysis' settings: weights + user choices -> what every stage uses.

Every entry point (``rt-sfamnet analyze``, the GUI, the benchmarks, :func:`rt_sfamnet.analyze`,
a notebook that builds an :class:`~rt_sfamnet.pipeline.Engine` by hand) goes through
:func:`resolve_settings`, so the same inputs give the same behaviour everywhere. The order of
precedence, lowest first:

1. the defaults of :class:`~rt_sfamnet.features.FeatureConfig` and
   :class:`~rt_sfamnet.spotting.SpottingConfig` (the release's values);
2. what the weights record: ``flow_mode``, ``input_scale``, ``frame_skip`` and, for weights
   written by ``rt-sfamnet train``, the spotting values they were evaluated with
   (``provenance["train"]["spotting"]``) and the input clamp (``provenance["input_clip"]``);
3. the user's overrides in :class:`~rt_sfamnet.pipeline.EngineConfig` (``frame_skip``,
   ``k_sw``, ``features``, ``spotting``, ``input_clip``; ``weights_spotting=False`` skips the
   weights' spotting values, ``--release-spotting`` on the command line).

It also checks the weights against the source: a source without depth (``has_depth=False``)
refuses weights trained with depth, and a depth flow mode, since their w stream would be
zeros, unless ``EngineConfig.zero_depth_experiment`` labels the run as that experiment.

The result, :class:`Settings`, is frozen: nothing changes it after the engine has started.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rt_sfamnet.config import config_from_mapping
from rt_sfamnet.errors import ConfigError
from rt_sfamnet.features import FeatureConfig
from rt_sfamnet.spotting import SpottingConfig, spotting_changes, spotting_config

__all__ = ["Settings", "resolve_device", "resolve_settings", "weights_spotting", "k_sw_for_fps"]


@dataclass(frozen=True)
class Settings:
    """The resolved settings of one analysis.

    Attributes:
        backend: ``"cpu"`` or ``"cuda"`` (flow and network).
        fps: frames per second of the source.
        frame_skip: a sample every ``frame_skip`` frames.
        k_sw: frames between the two frames of a pair (``round(0.2 * fps)`` by default).
        features: the feature stage's configuration (mode, input scale, crop, solvers).
        spotting: the streaming spotter's configuration (``frame_skip`` and ``fps`` set).
        input_clip: clamp of the maps before the network (None: no clamp).
        spotting_from_weights: the spotting values read from the weights (for reports).
        has_depth: the source gives depth (False: RGB-only).
        zero_depth_experiment: depth-trained weights or a depth flow mode run on a source
            without depth (w = 0), allowed as a labelled experiment.
        training_data: what the weights were trained on (``provenance["training_data"]``:
            ``"synthetic"``, ``"casme3"``, ``"own-recordings"``); ``()``: not recorded.
        weights_flow_mode: the flow mode the weights were trained with (None: unknown).

    ``spotting`` is built by :func:`rt_sfamnet.spotting.spotting_config`, the one function
    that sets a spotting configuration's ``frame_skip`` and ``fps`` (LOSO evaluation and the
    tuning use it too).
    """

    backend: str
    fps: float
    frame_skip: int
    k_sw: int
    features: FeatureConfig
    spotting: SpottingConfig
    input_clip: float | None
    spotting_from_weights: dict[str, Any] = field(default_factory=dict)
    has_depth: bool = True
    zero_depth_experiment: bool = False
    training_data: tuple[str, ...] = ()
    weights_flow_mode: str | None = None

    @property
    def spotting_changed(self) -> dict[str, Any]:
        """The spotting values that differ from the release's (the weights' and the user's;
        ``frame_skip`` and ``fps`` left out): what the app and reports list as changed."""
        return spotting_changes(self.spotting)


def resolve_device(device: str) -> str:
    """``"cpu"`` or ``"cuda"`` for a device request; ``"cuda"`` needs PyTorch CUDA and CuPy."""
    if device == "cpu":
        return "cpu"
    cuda = False
    try:
        import torch

        cuda = bool(torch.cuda.is_available())
    except Exception:  # pragma: no cover - torch is a dependency
        cuda = False
    if cuda:
        try:
            import cupy

            cuda = cupy.cuda.runtime.getDeviceCount() > 0
        except Exception:
            cuda = False
    if device == "cuda" and not cuda:
        raise ConfigError(
            "device 'cuda' requested but no CUDA GPU is usable (needs PyTorch with CUDA and "
            "CuPy); use device 'auto' or 'cpu'"
        )
    return "cuda" if cuda else "cpu"


def weights_spotting(meta: Any) -> dict[str, Any]:
    """The spotting values a network was evaluated with, or ``{}`` when its weights do not say.

    Args:
        meta: a :class:`~rt_sfamnet.weights.WeightsMeta` (or anything with ``provenance``),
            or None.
    """
    prov = getattr(meta, "provenance", None) or {}
    train = prov.get("train") if isinstance(prov, dict) else None
    values = train.get("spotting") if isinstance(train, dict) else None
    return dict(values) if isinstance(values, dict) else {}


def k_sw_for_fps(fps: float) -> int:
    """The flow window in frames: ``round(0.2 * fps)`` (6 at 30 FPS), at least 1."""
    return max(1, int(round(0.2 * float(fps))))


def _features(config: Any, meta: Any, backend: str) -> FeatureConfig:
    given = config.features
    if isinstance(given, FeatureConfig):  # complete and explicit: used as it is
        return given
    values: dict[str, Any] = {}
    if meta is not None:
        values["mode"] = getattr(meta, "flow_mode", "hybrid")
        values["input_scale"] = float(getattr(meta, "input_scale", 1.0))
        values["registration"] = getattr(meta, "registration", "none")
    values["backend"] = "cupy" if backend == "cuda" else "numpy"
    values.update(dict(given or {}))
    return config_from_mapping(FeatureConfig, values, "features")


def _spotting(config: Any, meta: Any, frame_skip: int, fps: float) -> tuple[SpottingConfig, dict]:
    given = config.spotting
    from_weights = weights_spotting(meta)
    if isinstance(given, SpottingConfig):  # complete and explicit: used as it is
        values = dataclasses.asdict(given)
    else:
        values = dict(from_weights) if config.weights_spotting else {}
        values.update(dict(given or {}))
    return spotting_config(values, frame_skip, fps), from_weights  # the schedule decides


def _check_depth(meta: Any, mode: str, has_depth: bool, experiment: bool) -> bool:
    """True when the run is the zero-depth experiment; a ConfigError when depth is needed
    but the source has none and the experiment was not asked for."""
    from rt_sfamnet.features import DEPTH_MODES

    trained = getattr(meta, "flow_mode", None)
    if has_depth or (trained not in DEPTH_MODES and mode not in DEPTH_MODES):
        return False
    if experiment:
        return True
    what = (f"the weights were trained with depth (flow mode {trained!r})"
            if trained in DEPTH_MODES else f"flow mode {mode!r} needs depth")
    raise ConfigError(
        f"the source has no depth, but {what}: its w stream would be fed zeros. Expected "
        f"optical-flow weights (name no weights to get them automatically) and flow mode "
        f"'optical', or pass --zero-depth-experiment (zero_depth_experiment=True) to run it as "
        f"an experiment labelled in summary.json")


def resolve_settings(config: Any, meta: Any, backend: str, fps: float | None,
                     has_depth: bool = True) -> Settings:
    """Resolve an :class:`~rt_sfamnet.pipeline.EngineConfig` against the weights' metadata.

    Args:
        config: the user's :class:`~rt_sfamnet.pipeline.EngineConfig`.
        meta: the predictor's :class:`~rt_sfamnet.weights.WeightsMeta`, or None.
        backend: ``"cpu"`` or ``"cuda"`` (already resolved from ``config.device``).
        fps: the source's frame rate (None or 0: 30).
        has_depth: the source gives depth (``Source.has_depth``).

    Returns:
        A frozen :class:`Settings`.

    Raises:
        ConfigError: an override that does not fit its stage's configuration, or weights /
        a flow mode that need depth on a source without it (see :func:`_check_depth`).
    """
    if backend not in ("cpu", "cuda"):
        raise ConfigError(f"backend must be 'cpu' or 'cuda', found {backend!r}")
    fps = float(fps or 30.0)
    if config.frame_skip is not None:
        frame_skip = int(config.frame_skip)
    elif backend == "cuda":
        frame_skip = 1  # the GPU keeps up with a sample per frame
    else:
        frame_skip = int(getattr(meta, "frame_skip", 2) or 2)
    k_sw = int(config.k_sw) if config.k_sw is not None else k_sw_for_fps(fps)
    features = _features(config, meta, backend)
    experiment = _check_depth(meta, features.mode, bool(has_depth),
                              bool(getattr(config, "zero_depth_experiment", False)))
    spotting, from_weights = _spotting(config, meta, frame_skip, fps)
    # weights trained on clamped maps record the clamp; inference applies the same one
    if config.input_clip is None:
        prov = getattr(meta, "provenance", None) or {}
        clip = prov.get("input_clip") if isinstance(prov, Mapping) else None
    else:
        clip = config.input_clip
    return Settings(
        backend=backend,
        fps=fps,
        frame_skip=frame_skip,
        k_sw=k_sw,
        features=features,
        spotting=spotting,
        input_clip=float(clip) if clip else None,
        spotting_from_weights=from_weights,
        has_depth=bool(has_depth),
        zero_depth_experiment=experiment,
        training_data=tuple(getattr(meta, "training_data", ()) or ()),
        weights_flow_mode=getattr(meta, "flow_mode", None),
    )
