"""Training settings (:class:`TrainConfig`, release defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np


@dataclass
class TrainConfig:
    """Training settings (release defaults).

    Attributes:
        emotions: 4 or 7 emotion classes (+ neutral).
        steps: optimiser steps per fold.
        batch_size: samples per step.
        lr: Adam learning rate.
        lam: weight of the spotting MSE; ``1 - lam`` weighs the CE.
        neg_ratio: negatives kept per positive or recognition sample.
        aug_min, aug_max, aug_step: the multiplicative augmentation grid (0.90..1.10 by 0.01);
            ``aug_min = aug_max = 1`` switches it off.
        input_scale: multiplies the cached maps before the network; None picks a robust
            ``1 / std`` of the valid spotting maps of the cache (:func:`auto_input_scale`);
            recorded in the weights (times the extraction's own scale).
        clip: after scaling, clamp the maps to ``[-clip, clip]`` (None: no clamp). Scene-flow
            ``w`` has values of hundreds of millimetres at the face silhouette (depth
            edges); a clamp keeps them from dominating. Recorded in the weights' provenance
            as ``input_clip``; inference must apply the same clamp.
        mode: ``"scratch"`` or ``"finetune"`` (needs ``finetune_from``; 7 classes).
        finetune_from: a 4-class run folder whose fold models initialise this run.
        seed: seeds sampling, augmentation and initialisation (per fold, with the subject).
        device: ``"auto"`` (CUDA if available), ``"cpu"`` or ``"cuda"``.
        spotting: SpottingConfig overrides for evaluation (``frame_skip`` comes from the cache).
        threads: torch CPU threads (None: leave torch's setting), set inside every fold
            (also in Ray workers), so results do not depend on where a fold ran.
        init_weights: a weights file (``rt_sfamnet.weights`` format) every fold and the final
            model start from, all layers trainable (unlike ``finetune_from``).
        release_exact: reproduce the release's loop exactly: ``steps + 1`` optimiser updates
            (its counter stops at ``steps + 1``), validation = the test subject's positives +
            as many negatives without GT samples, and input scale 1 (unless given).
        mae_labels: ``"none"`` (the release: only micro-expressions are positive; what
            ``release_exact`` needs), ``"rise"`` (macro-expressions' rise samples positive
            too) or ``"phases"`` (rise and the second half of the decline;
            :func:`rt_sfamnet.datasets.labels.pseudo_labels`). The network is the same.
        neutral_recognition: what the recognition loss does with samples labelled
            ``neutral`` (no expression): ``"ignore"`` (the release: CE weight 0) or
            ``"uniform"`` (a cross-entropy towards equal probabilities of the emotion
            classes: a face that shows no expression carries no emotion, so the emotion
            probabilities of still faces, blinks, talking and head motion stay flat instead
            of whatever the untrained head gives).
    """

    emotions: int = 4
    steps: int = 1000
    batch_size: int = 1024
    lr: float = 1e-4
    lam: float = 0.9
    neg_ratio: float = 1.0
    aug_min: float = 0.90
    aug_max: float = 1.10
    aug_step: float = 0.01
    input_scale: float | None = None
    clip: float | None = None
    mode: Literal["scratch", "finetune"] = "scratch"
    finetune_from: str | None = None
    seed: int = 0
    device: str = "auto"
    spotting: dict[str, Any] = field(default_factory=dict)
    threads: int | None = 1
    init_weights: str | None = None
    release_exact: bool = False
    mae_labels: Literal["none", "rise", "phases"] = "none"
    neutral_recognition: Literal["ignore", "uniform"] = "ignore"

    def __post_init__(self) -> None:
        if self.emotions not in (4, 7):
            raise ValueError(f"emotions must be 4 or 7, found {self.emotions}")
        if self.steps < 0 or self.batch_size < 1:
            raise ValueError("steps must be >= 0 and batch_size >= 1")
        if not 0.0 <= self.lam <= 1.0:
            raise ValueError(f"lam must be in [0, 1], found {self.lam}")
        if self.mode == "finetune" and not self.finetune_from:
            raise ValueError("mode 'finetune' needs finetune_from (a 4-class run folder)")
        if self.mae_labels not in ("none", "rise", "phases"):
            raise ValueError(f"mae_labels must be 'none', 'rise' or 'phases', found {self.mae_labels!r}")
        if self.release_exact and self.mae_labels != "none":
            raise ValueError("release_exact trains on the release's ME-only labels (mae_labels 'none')")
        if self.neutral_recognition not in ("ignore", "uniform"):
            raise ValueError(f"neutral_recognition must be 'ignore' or 'uniform', found "
                             f"{self.neutral_recognition!r}")
        if self.release_exact and self.neutral_recognition != "ignore":
            raise ValueError("release_exact trains the release's recognition loss "
                             "(neutral_recognition 'ignore')")
        if self.mode == "finetune" and self.init_weights:
            raise ValueError("init_weights and finetune_from exclude each other")

    @property
    def updates(self) -> int:
        """Optimiser updates per fold (``steps + 1`` with ``release_exact``)."""
        return self.steps + 1 if self.release_exact and self.steps > 0 else self.steps

    def aug_factors(self) -> np.ndarray:
        """The augmentation grid, float32 (21 values by default)."""
        n = int(round((self.aug_max - self.aug_min) / self.aug_step)) + 1 if self.aug_step > 0 else 1
        return np.round(self.aug_min + self.aug_step * np.arange(max(n, 1)), 6).astype(np.float32)
