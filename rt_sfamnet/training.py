"""Leave-one-subject-out training and evaluation of SFAMNet from a feature cache (§3, §5).

Per fold (test subject ``s``), as in the authors' release:

- training set: every positive spotting sample of the other subjects, ``neg_ratio x
  (#positive + #recognition)`` randomly chosen negatives, and every ground-truth recognition
  sample (onset -> apex) of the other subjects; validation = the same sampling of ``s``;
- augmentation: each sample, each time it is drawn, is multiplied by one factor from
  {0.90, 0.91, ..., 1.10} (the same for u, v, w);
- loss = ``lam * MSE(spot) + (1 - lam) * CE(logits)``, CE weighted by sklearn-"balanced"
  weights ``n / (k * count_c)`` over the ``k`` non-neutral classes present in the training
  labels, weight 0 for neutral (and for absent classes);
- Adam (lr 1e-4), batches of 1024 from shuffled epochs, 1000 optimiser steps;
- 7 classes either from scratch (release) or fine-tuned from the 4-class fold model with the
  shared streams and the spotting head frozen (paper).

The fold's data live on the training device for the whole fold; batches are indexed and
augmented there, and the loss is read back once per fold.

Evaluation runs the fold model over every spotting sample of the test subject, spots
intervals (:func:`rt_sfamnet.spotting.spot`), and scores them against the annotations with
both protocols (:func:`rt_sfamnet.metrics.evaluate_intervals`); recognition is scored on the
test subject's ground-truth samples. Results are pooled over folds by summing counts.

Run folder layout::

    RUN/config.json                training + cache settings (a resumed run must match)
    RUN/folds/<subject>.safetensors  fold model (rt_sfamnet.weights format)
    RUN/folds/<subject>.json         fold result (written last: its presence = fold done)
    RUN/results.json               pooled metrics + per-fold table
    RUN/plots/*.png                confusion matrices, score curves
    RUN/final.safetensors          (optional) model trained on every subject
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rt_sfamnet.datasets.cache import FeatureCache, atomic_write_json
from rt_sfamnet.datasets.casme3 import subject_id, subject_number, subject_sort_key
from rt_sfamnet.datasets.labels import class_indices
from rt_sfamnet.emotions import emotion_names, to_class
from rt_sfamnet.errors import DatasetError, RtSfamnetError
from rt_sfamnet.intervals import Interval


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
        threads: torch CPU threads (None: leave torch's setting). One thread is the fastest
            for this network's 1-9 channel convolutions on small CPUs (9x faster than two on
            a loaded 2-core machine), hence the default.
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

    def __post_init__(self) -> None:
        if self.emotions not in (4, 7):
            raise ValueError(f"emotions must be 4 or 7, found {self.emotions}")
        if self.steps < 0 or self.batch_size < 1:
            raise ValueError("steps must be >= 0 and batch_size >= 1")
        if not 0.0 <= self.lam <= 1.0:
            raise ValueError(f"lam must be in [0, 1], found {self.lam}")
        if self.mode == "finetune" and not self.finetune_from:
            raise ValueError("mode 'finetune' needs finetune_from (a 4-class run folder)")

    def aug_factors(self) -> np.ndarray:
        """The augmentation grid, float32 (21 values by default)."""
        n = int(round((self.aug_max - self.aug_min) / self.aug_step)) + 1 if self.aug_step > 0 else 1
        return np.round(self.aug_min + self.aug_step * np.arange(max(n, 1)), 6).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# data


@dataclass
class SubjectData:
    """One subject's samples, maps as float32 numpy (unscaled).

    Attributes:
        maps: ``(N, 3, 42, 42)`` spotting maps; ``spot`` ``(N,)`` float32 targets;
            ``cls`` ``(N,)`` int64 class indices; ``valid`` ``(N,)`` bool.
        video_slices: video name -> slice into the spotting arrays.
        gt_maps, gt_cls: ``(M, 3, 42, 42)`` and ``(M,)`` ground-truth recognition samples.
        gt_videos: ``(M,)`` video of each GT sample.
        intervals: every annotated interval of the subject's videos (0-based frames).
    """

    subject: str
    maps: np.ndarray
    spot: np.ndarray
    cls: np.ndarray
    valid: np.ndarray
    video_slices: dict[str, slice]
    gt_maps: np.ndarray
    gt_cls: np.ndarray
    gt_videos: list[str]
    intervals: list[Interval]
    n_frames: dict[str, int]


def load_subject(cache: FeatureCache, subject: str, emotions: int) -> SubjectData:
    """Read one subject's videos from the cache and label them for ``emotions`` classes."""
    fs = int(cache.meta["frame_skip"])
    keys = [k for k in cache.keys() if k[0] == subject]
    if not keys:
        raise DatasetError(f"subject {subject} has no videos in the cache {cache.path}")
    maps, spot, names, valid, gmaps, gnames, gvid, ivs = [], [], [], [], [], [], [], []
    slices: dict[str, slice] = {}
    n_frames: dict[str, int] = {}
    pos = 0
    for _, video in keys:
        vf = cache.load(subject, video)
        s, nm = vf.labels(fs)
        maps.append(vf.maps.astype(np.float32))
        spot.append(s)
        names.extend(nm)
        valid.append(vf.valid)
        slices[video] = slice(pos, pos + len(s))
        pos += len(s)
        gmaps.append(vf.gt_maps.astype(np.float32))
        gnames.extend(g.emotion for g in vf.gt)
        gvid.extend([video] * len(vf.gt))
        ivs.extend(vf.intervals)
        n_frames[video] = vf.n_frames
    empty = np.zeros((0, 3, 42, 42), np.float32)
    return SubjectData(
        subject,
        np.concatenate(maps) if maps else empty,
        np.concatenate(spot).astype(np.float32),
        class_indices(names, emotions),
        np.concatenate(valid).astype(bool),
        slices,
        np.concatenate(gmaps) if gmaps else empty,
        class_indices(gnames, emotions),
        gvid,
        ivs,
        n_frames,
    )


def balanced_class_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """sklearn-"balanced" CE weights over the non-neutral classes present; neutral 0.

    ``w_c = n / (k * count_c)`` with ``n`` the number of non-neutral labels and ``k`` the
    number of non-neutral classes present; absent classes and neutral (the last class) get 0.

    Args:
        labels: ``(N,)`` int class indices in ``[0, n_classes)``.
        n_classes: C, including neutral.

    Returns:
        ``(n_classes,)`` float32.
    """
    labels = np.asarray(labels, np.int64)
    w = np.zeros(n_classes, np.float32)
    nn = labels[labels != n_classes - 1]
    if nn.size == 0:
        return w
    counts = np.bincount(nn, minlength=n_classes)[: n_classes - 1]
    present = counts > 0
    k = int(present.sum())
    w[: n_classes - 1][present] = nn.size / (k * counts[present])
    return w


def sample_fold(subjects: Sequence[SubjectData], rng: np.random.Generator, neg_ratio: float = 1.0
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The release's per-fold sampling of the given subjects.

    Keeps every valid positive spotting sample, ``round(neg_ratio * (#positive + #GT))``
    random valid negatives (all if fewer), and every GT recognition sample.

    Returns:
        ``maps (N, 3, 42, 42) float32, spot (N,) float32, cls (N,) int64``.
    """
    maps, spot, cls = [], [], []
    pos_parts, neg_idx, n_gt = [], [], 0
    offset = 0
    for sd in subjects:
        ok = sd.valid
        pos_parts.append(offset + np.flatnonzero(ok & (sd.spot > 0.5)))
        neg_idx.append(offset + np.flatnonzero(ok & (sd.spot <= 0.5)))
        n_gt += len(sd.gt_cls)
        offset += len(sd.spot)
    all_maps = [sd.maps for sd in subjects]
    all_spot = np.concatenate([sd.spot for sd in subjects]) if subjects else np.zeros(0, np.float32)
    all_cls = np.concatenate([sd.cls for sd in subjects]) if subjects else np.zeros(0, np.int64)
    pos = np.concatenate(pos_parts) if pos_parts else np.zeros(0, np.int64)
    neg = np.concatenate(neg_idx) if neg_idx else np.zeros(0, np.int64)
    n_neg = min(len(neg), int(round(neg_ratio * (len(pos) + n_gt))))
    chosen = np.sort(rng.choice(neg, size=n_neg, replace=False)) if n_neg else neg[:0]
    idx = np.concatenate([pos, chosen]).astype(np.int64)
    stacked = np.concatenate(all_maps) if all_maps else np.zeros((0, 3, 42, 42), np.float32)
    maps.append(stacked[idx])
    spot.append(all_spot[idx])
    cls.append(all_cls[idx])
    for sd in subjects:
        maps.append(sd.gt_maps)
        spot.append(np.ones(len(sd.gt_cls), np.float32))
        cls.append(sd.gt_cls)
    return (np.concatenate(maps).astype(np.float32), np.concatenate(spot).astype(np.float32),
            np.concatenate(cls).astype(np.int64))


def auto_input_scale(subjects: Sequence[SubjectData], max_rows: int = 20000, seed: int = 0) -> float:
    """A robust ``1 / std`` of the valid spotting maps (at most ``max_rows`` random rows).

    Values are clamped at the 99.5th percentile of ``|x|`` before the std, so that the rare
    huge scene-flow ``w`` values at depth edges do not set the scale.
    """
    rows = [sd.maps[sd.valid] for sd in subjects]
    x = np.concatenate(rows) if rows else np.zeros((0, 3, 42, 42), np.float32)
    if len(x) > max_rows:
        x = x[np.random.default_rng(seed).choice(len(x), max_rows, replace=False)]
    if x.size:
        lim = float(np.percentile(np.abs(x), 99.5))
        sd = float(np.std(np.clip(x, -lim, lim)))
    else:
        sd = 0.0
    if not np.isfinite(sd) or sd <= 0:
        return 1.0
    return float(1.0 / sd)


# ---------------------------------------------------------------------------------------------
# the optimisation


def resolve_device(device: str):
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise RtSfamnetError("device 'cuda' requested but torch sees no CUDA device")
    return torch.device(device)


def fold_seed(seed: int, subject: str | None) -> int:
    """A 63-bit seed from the run seed and the fold's subject (folds are independent)."""
    n = subject_number(subject) if subject is not None else 0
    ss = np.random.SeedSequence([int(seed), int(n) & 0xFFFFFFFF, 0 if subject else 1])
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(16))


RECOGNITION_PREFIXES = ("conv2.", "fc_recog.")


def init_from(model, path: str | Path) -> list[str]:
    """Copy every same-named, same-shaped tensor of the 4-class model at ``path`` into
    ``model`` and freeze everything except the recognition head (``conv2``, ``fc_recog``).

    Returns:
        Names of the parameters left trainable.
    """
    from rt_sfamnet.weights import load_weights

    src, _meta = load_weights(path)
    src_sd = src.state_dict()
    own = model.state_dict()
    for k, v in src_sd.items():
        if k in own and own[k].shape == v.shape:
            own[k] = v.clone()
    model.load_state_dict(own)
    trainable = []
    for name, p in model.named_parameters():
        keep = name.startswith(RECOGNITION_PREFIXES)
        p.requires_grad_(keep)
        if keep:
            trainable.append(name)
    return trainable


def train_model(train: tuple[np.ndarray, np.ndarray, np.ndarray], cfg: TrainConfig,
                input_scale: float, seed: int, init: str | Path | None = None,
                val: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None):
    """Train one SFAMNet on ``train = (maps, spot, cls)``; returns ``(model, info)``.

    ``maps`` are unscaled; they are moved to the device once, scaled by ``input_scale``;
    each step draws the next slice of a shuffled permutation (a new one per epoch) and
    multiplies each sample by a random factor of :meth:`TrainConfig.aug_factors`. ``info``
    holds ``loss`` (mean of the last 50 steps), ``val_loss``, ``class_weights``, ``n_train``,
    ``seconds``, ``device``.
    """
    import torch

    from rt_sfamnet.model import SFAMNet

    maps, spot, cls = train
    if maps.ndim != 4 or maps.shape[1:] != (3, 42, 42):
        raise ValueError(f"maps must be (N, 3, 42, 42), found {maps.shape}")
    if not (len(maps) == len(spot) == len(cls)):
        raise ValueError("maps, spot and cls must have the same length")
    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
    device = resolve_device(cfg.device)
    C = len(emotion_names(cfg.emotions))
    if len(cls) and (cls.min() < 0 or cls.max() >= C):
        raise ValueError(f"class indices must be in [0, {C}), found {cls.min()}..{cls.max()}")
    torch.manual_seed(seed & 0xFFFFFFFFFFFF)
    model = SFAMNet(emotions=cfg.emotions)
    if init is not None:
        init_from(model, init)
    # channels-last runs the 3-channel convolutions' backward ~3x faster on the CPU
    fmt = torch.channels_last
    model.to(device=device, memory_format=fmt).train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg.lr)
    w = torch.from_numpy(balanced_class_weights(cls, C)).to(device)
    t0 = time.perf_counter()
    N = len(maps)
    X = _prep(torch.from_numpy(np.ascontiguousarray(maps, np.float32)).to(device),
              input_scale, cfg.clip).contiguous(memory_format=fmt)
    ys = torch.from_numpy(spot.astype(np.float32)).to(device)
    yc = torch.from_numpy(cls.astype(np.int64)).to(device)
    fac = torch.from_numpy(cfg.aug_factors()).to(device)
    gen = torch.Generator(device=device)
    gen.manual_seed(seed & 0xFFFFFFFFFFFF)
    B = min(cfg.batch_size, max(N, 1))
    losses = torch.zeros(max(cfg.steps, 1), device=device)
    perm = None
    pos = N
    for step in range(cfg.steps if N else 0):
        if pos >= N:
            perm = torch.randperm(N, generator=gen, device=device)
            pos = 0
        idx = perm[pos : pos + B]
        pos += B
        k = torch.randint(0, len(fac), (idx.shape[0],), generator=gen, device=device)
        xb = (X[idx] * fac[k].view(-1, 1, 1, 1)).contiguous(memory_format=fmt)
        loss = _loss(model, xb, ys[idx], yc[idx], w, cfg.lam)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses[step] = loss.detach()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    n_last = min(50, cfg.steps) if N else 0
    info: dict[str, Any] = {
        "loss": float(losses[cfg.steps - n_last : cfg.steps].mean()) if n_last else None,
        "n_train": int(N),
        "n_train_positive": int((spot > 0.5).sum()),
        "class_weights": [float(x) for x in w.cpu()],
        "seconds": seconds,
        "device": str(device),
        "steps": cfg.steps,
    }
    if val is not None and len(val[0]):
        model.eval()
        with torch.no_grad():
            Xv = _prep(torch.from_numpy(val[0]).to(device), input_scale, cfg.clip)
            info["val_loss"] = float(_loss(model, Xv, torch.from_numpy(val[1]).to(device),
                                           torch.from_numpy(val[2]).to(device), w, cfg.lam))
    model.eval()
    model.to(device="cpu", memory_format=torch.contiguous_format)
    return model, info


def _prep(x, input_scale: float, clip: float | None):
    """Scale (and clamp) a tensor of maps as the network is fed."""
    x = x * float(input_scale)
    return x.clamp(-float(clip), float(clip)) if clip is not None else x


def _loss(model, xb, ys, yc, w, lam: float):
    import torch

    spot, logits = model(xb[:, 0:1], xb[:, 1:2], xb[:, 2:3])
    mse = torch.mean((spot.reshape(-1) - ys) ** 2)
    logp = torch.log_softmax(logits, dim=1)
    nll = -logp.gather(1, yc.view(-1, 1)).reshape(-1)
    wi = w[yc]
    ce = (wi * nll).sum() / wi.sum().clamp_min(1e-12)
    return lam * mse + (1.0 - lam) * ce


def predict(model, maps: np.ndarray, input_scale: float, batch: int = 4096,
            clip: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(scores (N,) float32, logits (N, C) float32)`` of unscaled maps, on the CPU."""
    import torch

    model.eval()
    outs_s, outs_l = [], []
    with torch.no_grad():
        for i in range(0, len(maps), batch):
            x = _prep(torch.from_numpy(np.ascontiguousarray(maps[i : i + batch], np.float32)),
                      input_scale, clip)
            s, lg = model(x[:, 0:1], x[:, 1:2], x[:, 2:3])
            outs_s.append(s.reshape(-1).numpy())
            outs_l.append(lg.numpy())
    if not outs_s:
        C = model(*(torch.zeros(1, 1, 42, 42),) * 3)[1].shape[1]
        return np.zeros(0, np.float32), np.zeros((0, C), np.float32)
    return np.concatenate(outs_s).astype(np.float32), np.concatenate(outs_l).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# evaluation


def _spotting_config(frame_skip: int, overrides: dict[str, Any], fps: float = 30.0):
    from rt_sfamnet.config import config_from_mapping
    from rt_sfamnet.spotting import SpottingConfig

    return config_from_mapping(SpottingConfig, {"fps": float(fps), **overrides,
                                                "frame_skip": frame_skip}, "spotting")


def _gt_for_emotions(intervals: Sequence[Interval], emotions: int) -> list[Interval]:
    out = []
    for iv in intervals:
        emo = to_class(iv.emotion, emotions) if (iv.type == "micro" and iv.emotion) else ""
        out.append(Interval(iv.subject, iv.video, iv.onset, iv.apex, iv.offset, iv.type, emo))
    return out


def evaluate_subject(model, sd: SubjectData, cfg: TrainConfig, input_scale: float,
                     frame_skip: int, fps: float = 30.0) -> dict[str, Any]:
    """Spot and recognise on one subject; returns predictions, scores and raw results."""
    from rt_sfamnet.spotting import spot

    names = emotion_names(cfg.emotions)
    scfg = _spotting_config(frame_skip, cfg.spotting, fps)
    scores, logits = predict(model, sd.maps, input_scale, clip=cfg.clip)
    scores = np.where(sd.valid, scores, 0.0).astype(np.float32)
    labels_idx = logits.argmax(1) if len(logits) else np.zeros(0, np.int64)
    preds: list[Interval] = []
    curves: dict[str, list[float]] = {}
    for video, sl in sd.video_slices.items():
        sc = scores[sl]
        lab = [names[i] for i in labels_idx[sl]]
        curves[video] = [round(float(x), 5) for x in sc]
        for si in spot(sc, lab, scfg):
            preds.append(si.to_interval(sd.subject, video))
    g_scores, g_logits = predict(model, sd.gt_maps, input_scale, clip=cfg.clip)
    g_pred = g_logits.argmax(1) if len(g_logits) else np.zeros(0, np.int64)
    return {
        "predictions": preds,
        "scores": curves,
        "gt": _gt_for_emotions(sd.intervals, cfg.emotions),
        "recognition": {"y_true": [int(x) for x in sd.gt_cls], "y_pred": [int(x) for x in g_pred],
                        "videos": list(sd.gt_videos)},
    }


def score_results(gt: list[Interval], preds: list[Interval], y_true: Sequence[int],
                  y_pred: Sequence[int], emotions: int) -> dict[str, Any]:
    """Spotting (both protocols) and GT-sample recognition metrics."""
    from rt_sfamnet.metrics import evaluate_intervals, recognition_metrics

    names = emotion_names(emotions)
    out: dict[str, Any] = {}
    for protocol in ("megc", "sfamnet"):
        out[protocol] = _jsonable(evaluate_intervals(gt, preds, emotions, protocol=protocol))
    out["recognition"] = _jsonable(recognition_metrics([int(i) for i in y_true],
                                                       [int(i) for i in y_pred], list(names)))
    return out


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return v if np.isfinite(v) else 0.0
    return x


def _iv_dict(iv: Interval) -> dict[str, Any]:
    return {"subject": iv.subject, "video": iv.video, "onset": iv.onset, "apex": iv.apex,
            "offset": iv.offset, "type": iv.type, "emotion": iv.emotion, "extra": iv.extra}


def _iv_from(d: dict[str, Any]) -> Interval:
    return Interval(**d)


# ---------------------------------------------------------------------------------------------
# runs


def _portable(x: Any) -> Any:
    """Absolute paths in provenance cut to their last component (weights files get shared)."""
    import os

    if isinstance(x, dict):
        return {k: _portable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_portable(v) for v in x]
    if isinstance(x, str) and " " not in x and os.path.isabs(x):
        return Path(x).name
    return x


def _weights_meta(cfg: TrainConfig, cache_meta: dict[str, Any], input_scale: float,
                  provenance: dict[str, Any]):
    from rt_sfamnet.weights import WeightsMeta

    total = float(cache_meta.get("input_scale", 1.0)) * float(input_scale)
    provenance = _portable(provenance)
    if cfg.clip is not None:
        provenance = {**provenance, "input_clip": float(cfg.clip)}
    return WeightsMeta(emotions=cfg.emotions, flow_mode=cache_meta.get("flow", "hybrid"),
                       input_scale=total, frame_skip=int(cache_meta["frame_skip"]),
                       provenance=provenance)


class Run:
    """A LOSO run folder (see the module docstring).

    Args:
        cache: the feature cache.
        out: the run folder.
        cfg: training settings.
        log: called with one-line progress messages.
    """

    def __init__(self, cache: FeatureCache | str | Path, out: str | Path, cfg: TrainConfig,
                 log: Callable[[str], None] | None = None):
        self.cache = cache if isinstance(cache, FeatureCache) else FeatureCache(cache)
        self.out = Path(out)
        self.cfg = cfg
        self.log = log or (lambda _m: None)
        self.meta = self.cache.meta
        self.frame_skip = int(self.meta["frame_skip"])
        self._data: dict[str, SubjectData] = {}

    # -- data -----------------------------------------------------------------------------
    @property
    def subjects(self) -> list[str]:
        return self.cache.subjects

    def data(self, subject: str) -> SubjectData:
        if subject not in self._data:
            self._data[subject] = load_subject(self.cache, subject, self.cfg.emotions)
        return self._data[subject]

    def input_scale(self) -> float:
        if self.cfg.input_scale is not None:
            return float(self.cfg.input_scale)
        cfg_path = self.out / "config.json"
        if cfg_path.is_file():
            import json

            saved = json.loads(cfg_path.read_text()).get("input_scale")
            if saved:
                return float(saved)
        return auto_input_scale([self.data(s) for s in self.subjects], seed=self.cfg.seed)

    def _check_config(self, input_scale: float) -> None:
        import json

        want = {"train": _jsonable(asdict(self.cfg)), "cache": str(self.cache.path),
                "cache_meta": self.meta, "input_scale": input_scale}
        p = self.out / "config.json"
        if p.is_file():
            have = json.loads(p.read_text())
            keys = [k for k in ("emotions", "steps", "batch_size", "lr", "lam", "neg_ratio", "clip",
                                "aug_min", "aug_max", "aug_step", "mode", "seed")
                    if have.get("train", {}).get(k) != want["train"].get(k)]
            if keys:
                raise RtSfamnetError(
                    f"{self.out} holds a run with other settings ({', '.join(keys)}); use "
                    f"another --out folder")
        else:
            atomic_write_json(p, want)

    def fold_done(self, subject: str) -> bool:
        return (self.out / "folds" / f"{subject}.json").is_file()

    # -- folds ------------------------------------------------------------------------------
    def run_fold(self, subject: str, input_scale: float) -> dict[str, Any]:
        """Train, save and evaluate the fold that holds out ``subject``."""
        cfg = self.cfg
        others = [self.data(s) for s in self.subjects if s != subject]
        test = self.data(subject)
        seed = fold_seed(cfg.seed, subject)
        rng = np.random.default_rng(seed)
        train = sample_fold(others, rng, cfg.neg_ratio)
        val = sample_fold([test], np.random.default_rng(seed + 1), cfg.neg_ratio)
        init = None
        if cfg.mode == "finetune":
            init = Path(cfg.finetune_from) / "folds" / f"{subject}.safetensors"
            if not init.is_file():
                raise RtSfamnetError(f"fine-tuning needs the 4-class fold model {init}; train "
                                     f"the 4-class run first")
        model, info = train_model(train, cfg, input_scale, seed, init=init, val=val)
        ev = evaluate_subject(model, test, cfg, input_scale, self.frame_skip,
                              float(self.meta.get("fps", 30.0)))
        metrics = score_results(ev["gt"], ev["predictions"], ev["recognition"]["y_true"],
                                ev["recognition"]["y_pred"], cfg.emotions)
        from rt_sfamnet.weights import save_weights

        (self.out / "folds").mkdir(parents=True, exist_ok=True)
        prov = {"fold": subject, "seed": cfg.seed, "train": _jsonable(asdict(cfg)),
                "cache": self.cache.path.name}
        save_weights(model, self.out / "folds" / f"{subject}.safetensors",
                     _weights_meta(cfg, self.meta, input_scale, prov))
        result = {
            "subject": subject,
            "train": info,
            "metrics": metrics,
            "predictions": [_iv_dict(iv) for iv in ev["predictions"]],
            "gt": [_iv_dict(iv) for iv in ev["gt"]],
            "recognition": ev["recognition"],
            "scores": ev["scores"],
        }
        atomic_write_json(self.out / "folds" / f"{subject}.json", _jsonable(result))
        return result

    def run(self, subjects: Sequence[str] | None = None, plots: bool = True,
            plot_videos: int = 4) -> dict[str, Any]:
        """Train and evaluate every (or the given) fold, resuming finished ones; pool results."""
        import json

        all_subjects = self.subjects
        if len(all_subjects) < 2:
            raise DatasetError(f"LOSO needs at least 2 subjects; the cache has {all_subjects}")
        folds = all_subjects if not subjects else [subject_id(s) for s in subjects]
        unknown = [s for s in folds if s not in all_subjects]
        if unknown:
            raise DatasetError(f"subject(s) {unknown} not in the cache; it has {all_subjects}")
        self.out.mkdir(parents=True, exist_ok=True)
        scale = self.input_scale()
        self._check_config(scale)
        for i, s in enumerate(folds):
            if self.fold_done(s):
                self.log(f"fold {i + 1}/{len(folds)} {s}: done earlier, kept")
                continue
            t0 = time.perf_counter()
            r = self.run_fold(s, scale)
            m = r["metrics"]
            self.log(
                f"fold {i + 1}/{len(folds)} {s}: loss {r['train']['loss']:.4f} "
                f"ME F1 {m['megc']['micro']['f1']:.3f} UF1 {m['recognition'].get('uf1', 0):.3f} "
                f"({time.perf_counter() - t0:.1f} s)")
        results = [json.loads((self.out / "folds" / f"{s}.json").read_text()) for s in folds]
        pooled = pool_results(results, self.cfg.emotions)
        summary = {"folds": [s for s in folds], "input_scale": scale,
                   "weights_input_scale": float(self.meta.get("input_scale", 1.0)) * scale,
                   "pooled": pooled,
                   "per_fold": {r["subject"]: {
                       "micro_f1": r["metrics"]["megc"]["micro"]["f1"],
                       "macro_f1": r["metrics"]["megc"]["macro"]["f1"],
                       "uf1": r["metrics"]["recognition"].get("uf1", 0.0),
                       "uar": r["metrics"]["recognition"].get("uar", 0.0),
                       "seconds": r["train"]["seconds"]} for r in results},
                   "seconds_per_fold": float(np.mean([r["train"]["seconds"] for r in results])),
                   "train": _jsonable(asdict(self.cfg)),
                   "cache_meta": self.meta}
        if plots:
            summary["plots"] = write_plots(self.out / "plots", results, pooled, self.cfg.emotions,
                                           self.frame_skip, self.cfg.spotting, plot_videos,
                                           float(self.meta.get("fps", 30.0)))
        atomic_write_json(self.out / "results.json", _jsonable(summary))
        return summary

    def train_final(self, path: str | Path | None = None, provenance: dict[str, Any] | None = None
                    ) -> Path:
        """Train one model on every subject of the cache (no held-out fold) and save it."""
        cfg = self.cfg
        scale = self.input_scale()
        self.out.mkdir(parents=True, exist_ok=True)
        self._check_config(scale)
        seed = fold_seed(cfg.seed, None)
        train = sample_fold([self.data(s) for s in self.subjects], np.random.default_rng(seed),
                            cfg.neg_ratio)
        init = None
        if cfg.mode == "finetune":
            init = Path(cfg.finetune_from) / "final.safetensors"
            if not init.is_file():
                raise RtSfamnetError(f"fine-tuning needs {init}; train the 4-class final model "
                                     f"first (--final)")
        model, info = train_model(train, cfg, scale, seed, init=init)
        from rt_sfamnet.weights import save_weights

        p = Path(path) if path is not None else self.out / "final.safetensors"
        prov = {"fold": None, "subjects": self.subjects, "seed": cfg.seed,
                "train": _jsonable(asdict(cfg)), "train_info": _jsonable(info),
                **(provenance or {})}
        save_weights(model, p, _weights_meta(cfg, self.meta, scale, prov))
        self.log(f"final model on {len(self.subjects)} subjects: loss {info['loss']:.4f} "
                 f"({info['seconds']:.1f} s) -> {p}")
        return p


def pool_results(results: Sequence[dict[str, Any]], emotions: int) -> dict[str, Any]:
    """Pool fold results: all GT and predictions (both protocols) and all GT-sample labels."""
    gt, preds, yt, yp = [], [], [], []
    for r in sorted(results, key=lambda r: subject_sort_key(r["subject"])):
        gt.extend(_iv_from(d) for d in r["gt"])
        preds.extend(_iv_from(d) for d in r["predictions"])
        yt.extend(r["recognition"]["y_true"])
        yp.extend(r["recognition"]["y_pred"])
    return score_results(gt, preds, yt, yp, emotions)


def write_plots(folder: Path, results: Sequence[dict[str, Any]], pooled: dict[str, Any],
                emotions: int, frame_skip: int, spotting: dict[str, Any], n_videos: int = 4,
                fps: float = 30.0) -> list[str]:
    """Confusion matrix of the pooled GT-sample recognition, and score curves of the first
    ``n_videos`` videos with micro-expressions. Returns the files written."""
    from rt_sfamnet import reports

    folder.mkdir(parents=True, exist_ok=True)
    names = list(emotion_names(emotions)[:-1])
    yt, yp = [], []
    for r in results:
        yt.extend(r["recognition"]["y_true"])
        yp.extend(r["recognition"]["y_pred"])
    files = []
    C = len(names) + 1
    cm = np.zeros((C, C), np.int64)
    for a, b in zip(yt, yp, strict=True):
        cm[a, b] += 1
    p = folder / f"confusion_{emotions}emo.png"
    reports.plot_confusion(cm[:-1, :], names, list(emotion_names(emotions)), p,
                           title=f"Recognition, {emotions} classes (LOSO, GT onset-apex samples)")
    files.append(str(p))
    scfg = _spotting_config(frame_skip, spotting, fps)
    shown = 0
    for r in sorted(results, key=lambda r: subject_sort_key(r["subject"])):
        for video, curve in r["scores"].items():
            if shown >= n_videos:
                break
            gt = [_iv_from(d) for d in r["gt"] if d["video"] == video]
            if not any(iv.type == "micro" for iv in gt):
                continue
            pred = [_iv_from(d) for d in r["predictions"] if d["video"] == video]
            p = folder / f"scores_{r['subject']}_{video}.png"
            reports.plot_scores(np.asarray(curve, np.float32), frame_skip, gt, pred, p,
                                title=f"{r['subject']} / {video}", spotting=scfg)
            files.append(str(p))
            shown += 1
    return files
