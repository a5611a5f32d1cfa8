"""What the engine takes and gives: :class:`EngineConfig`, :class:`FrameResult`, :class:`EngineUpdate`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rt_sfamnet.errors import ConfigError
from rt_sfamnet.face import FaceConfig, FaceObservation
from rt_sfamnet.features import FeatureConfig
from rt_sfamnet.frames import RGBDFrame
from rt_sfamnet.pipeline.stages import MIN_DEPTH_FRACTION
from rt_sfamnet.pipeline.stats import EngineStats
from rt_sfamnet.spotting import SpottedInterval, SpottingConfig

__all__ = ["EngineConfig", "EngineUpdate", "FrameResult"]


@dataclass
class EngineConfig:
    """Configuration of :class:`Engine`.

    Attributes:
        frame_skip: a sample every ``frame_skip`` frames; None: the weights' (2) on the CPU,
            1 on CUDA.
        k_sw: frames between the two frames of a pair; None: ``round(0.2 * fps)``.
        realtime: pace file sources at their fps x ``speed`` (and drop, not wait, when the
            engine falls behind). Live sources are always real time.
        speed: playback speed factor for ``realtime`` file sources (> 0).
        queue_size: capacity of each queue between threads (frames / samples).
        max_batch: the most samples per network call.
        results_buffer: published results kept for :meth:`Engine.poll` (older ones are
            dropped and counted in ``dropped["results"]`` when nobody polls).
        keep_maps: attach the 3x42x42 input maps to each :class:`FrameResult`.
        min_depth_fraction: a face box with less valid (non-zero) depth than this fraction
            counts as an empty-depth frame.
        features: flow/feature settings: a mapping of :class:`~rt_sfamnet.features.FeatureConfig`
            values applied over the weights' ``flow_mode`` and ``input_scale`` (e.g.
            ``{"mode": "scene"}``), or a complete ``FeatureConfig`` used as it is.
        spotting: streaming spotter settings: a mapping of
            :class:`~rt_sfamnet.spotting.SpottingConfig` values applied over the weights'
            spotting values (``--spot KEY=VALUE``), or a complete ``SpottingConfig`` used as it
            is. Its ``frame_skip`` and ``fps`` are always the engine's.
        weights_spotting: start from the spotting values stored in the weights (False: from
            the release's values).
        face: face tracker settings.
        weights: a weights file; None: the default weights (ignored when a predictor is
            passed to :class:`Engine`).
        emotions: 4 or 7; needed for official ``.pkl`` weights (ours carry it).
        input_clip: clamp the maps to ``[-input_clip, input_clip]`` before the network;
            None: the weights' own ``provenance["input_clip"]`` (weights trained on clamped
            maps record it), else no clamp; 0 switches the clamp off.
        device: ``"auto"`` (CUDA when PyTorch and CuPy see a GPU), ``"cpu"`` or ``"cuda"``.
        zero_depth_experiment: allow depth-trained weights (or a depth flow mode) on a source
            without depth, feeding w = 0, as an experiment recorded in ``summary.json``;
            refused otherwise (:func:`~rt_sfamnet.pipeline.settings.resolve_settings`).
    """

    frame_skip: int | None = None
    k_sw: int | None = None
    realtime: bool = False
    speed: float = 1.0
    queue_size: int = 8
    max_batch: int = 32
    results_buffer: int = 2048
    keep_maps: bool = True
    min_depth_fraction: float = MIN_DEPTH_FRACTION
    features: FeatureConfig | Mapping[str, Any] | None = None
    spotting: SpottingConfig | Mapping[str, Any] | None = None
    weights_spotting: bool = True
    face: FaceConfig = field(default_factory=FaceConfig)
    weights: str | None = None
    emotions: int | None = None
    device: str = "auto"
    input_clip: float | None = None
    zero_depth_experiment: bool = False

    def __post_init__(self) -> None:
        if self.frame_skip is not None and self.frame_skip < 1:
            raise ConfigError(f"frame_skip must be >= 1, found {self.frame_skip}")
        if self.k_sw is not None and self.k_sw < 1:
            raise ConfigError(f"k_sw must be >= 1, found {self.k_sw}")
        if not self.speed > 0:
            raise ConfigError(f"speed must be > 0, found {self.speed}")
        if self.queue_size < 1 or self.max_batch < 1 or self.results_buffer < 1:
            raise ConfigError("queue_size, max_batch and results_buffer must be >= 1")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"device must be 'auto', 'cpu' or 'cuda', found {self.device!r}")
        # unknown or ill-typed keys fail here, before any model is loaded
        from rt_sfamnet.config import config_from_mapping

        if isinstance(self.spotting, Mapping):
            config_from_mapping(SpottingConfig, dict(self.spotting), "spotting")
        if isinstance(self.features, Mapping):
            config_from_mapping(FeatureConfig, dict(self.features), "features")


@dataclass
class FrameResult:
    """The engine's output for one scheduled sample (one analysed frame).

    Attributes:
        frame: index of the first frame of the window (the frame the score belongs to).
        timestamp: that frame's timestamp in seconds (source clock).
        face_found: a face was found in both frames of the window.
        score: spotting score in [0, 1], or None for a gap (no face, dropped frame).
        micro_smoothed, macro_smoothed: the smoothed curves at this frame; None here because
            they become final a few samples later (see :attr:`EngineUpdate.curves`).
        probs: class probabilities, shape (C,) float32 in the order of
            :attr:`Engine.class_names`, or None for a gap.
        label: predicted class name (argmax of ``probs``) or None.
        latency_ms: from the arrival of the window's last frame to publication, ms.
        maps: the network input, 3x42x42 float32 (None for a gap or ``keep_maps=False``).
        sample: sample number since the last start/seek.
        depth_ok: both face boxes held depth (see ``min_depth_fraction``).
        reason: why the score is missing (the ``gap`` column of ``frames.csv``,
            :data:`rt_sfamnet.pipeline.writers.GAP_COLUMN`): ``""``, ``"no_face"``,
            ``"dropped"``, ``"missing_color"`` or ``"missing_depth"``.
        box: ``(x0, y0, size)`` of the face crop box of the window's first frame (square,
            frame pixels), or None without a face there.
    """

    frame: int
    timestamp: float
    face_found: bool
    score: float | None
    micro_smoothed: float | None
    macro_smoothed: float | None
    probs: np.ndarray | None
    label: str | None
    latency_ms: float
    maps: np.ndarray | None = None
    sample: int = 0
    depth_ok: bool = True
    reason: str = ""
    box: tuple[int, int, int] | None = None


@dataclass
class EngineUpdate:
    """Everything new since the previous :meth:`Engine.poll`.

    Attributes:
        frame: the latest captured frame (for display) or None.
        observation: the latest face observation (of frame ``observation_frame``) or None.
        results: new :class:`FrameResult` objects in frame order.
        intervals: intervals that became final, in frames of the stream.
        stats: a statistics snapshot.
        error: a worker's (or the source's) failure; the engine has stopped.
        finished: the end of a finite source was reached and everything was flushed (also
            True after an error, once the engine has stopped).
        curves: newly final smoothed values: ``{"micro": [(frame, value)], "macro": [...]}``.
        observation_frame: index of the frame ``observation`` belongs to (-1 if none).
        reset: a seek (or the restart of a live source at :meth:`Engine.resume`) was
            processed since the previous poll (results before it are gone).
    """

    frame: RGBDFrame | None
    observation: FaceObservation | None
    results: list[FrameResult]
    intervals: list[SpottedInterval]
    stats: EngineStats
    error: BaseException | None = None
    finished: bool = False
    curves: dict[str, list[tuple[int, float]]] = field(
        default_factory=lambda: {"micro": [], "macro": []}
    )
    observation_frame: int = -1
    reset: bool = False
