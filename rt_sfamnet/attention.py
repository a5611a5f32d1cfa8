"""Where SFAMNet looks: CBAM spatial attention and Grad-CAM, on demand (torch only).

Two kinds of map, all ``42 x 42`` (the input maps' grid) and float32:

- **CBAM spatial attention** (:func:`spatial_attention`): each stream's residual block ends
  with a CBAM module whose spatial gate multiplies the features by
  ``sigmoid(conv7x7([max_c, mean_c]))``. That sigmoid, one ``42 x 42`` map in ``[0, 1]`` per
  stream (u, v, w), is read with a forward hook on ``cK.0.cbam.SpatialGate.spatial``. It
  is the network's own attention and is not rescaled (0.5 = neutral gate).
- **Grad-CAM** (Selvaraju et al. 2017; paper Fig. 7, "before and after the streams are
  concatenated") of two targets: the spotting score (the logit of ``fc_spot``, before the
  sigmoid, so a saturated score still has gradients) and an emotion (the logit of the
  predicted class unless one is named). For feature maps ``A`` (``K x H x W``) and the
  target ``y``: ``alpha_k = mean_ij dy/dA_kij``, ``cam = relu(sum_k alpha_k A_k)``.

  - *before* the concatenation: ``A`` = each stream's residual-CBAM block output
    (``3 x 42 x 42``, before its max-pool), one map per stream; the three are normalised
    together (divided by their common maximum) so the streams' strengths compare;
  - *after*: ``A`` = the concatenated ``9 x 14 x 14`` map that feeds both heads, upsampled
    bilinearly to ``42 x 42`` (``align_corners=False``), then divided by its maximum.

  A map whose maximum is 0 (no positive evidence) stays all zeros.

An ensemble (:class:`~rt_sfamnet.model.SFAMNetEnsemble`) is explained member by member, each
on the inputs it sees and for the ensemble's class; the maps are the members' mean (the
Grad-CAM maps normalised again), the score and probabilities the ensemble's.

Nothing here runs per sample by itself: the engine never calls it. Callers compute the maps
for what is shown or written (the newest sample while the GUI overlay is on, an event's apex
when it is reviewed or exported), each call one forward and two backward passes of a
7,249-parameter network (about a millisecond on a CPU).

:class:`AttentionProbe` wraps a private copy of a network (hooks on a copy never fire in
another thread's inference) and returns :class:`AttentionMaps`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from rt_sfamnet.model import MAP_SIZE, SFAMNet, SFAMNetEnsemble

__all__ = [
    "STREAMS",
    "AttentionMaps",
    "AttentionProbe",
    "AttentionWorker",
    "compute_attention",
    "grad_cam",
    "normalise_max",
    "spatial_attention",
    "upsample",
]

STREAMS = ("u", "v", "w")
"""The network's three streams in input order (``c1``, ``c2``, ``c3``)."""

_BLOCKS = ("c1", "c2", "c3")


@dataclass(frozen=True)
class AttentionMaps:
    """The attention of one sample.

    Attributes:
        spatial: ``3 x 42 x 42`` float32 in [0, 1]: each stream's CBAM spatial gate (sigmoid).
        spot_streams: ``3 x 42 x 42`` float32 in [0, 1]: Grad-CAM of the spotting logit on
            each stream's block output (before the concatenation), normalised together.
        spot_concat: ``42 x 42`` float32 in [0, 1]: Grad-CAM of the spotting logit on the
            concatenated ``9 x 14 x 14`` features, upsampled.
        emotion_streams, emotion_concat: the same for the emotion logit ``emotion``.
        emotion: index of the class whose logit was explained (the argmax unless given).
        score: the spotting score (sigmoid) of the sample. probs: ``(C,)`` float32 softmax.
    """

    spatial: np.ndarray
    spot_streams: np.ndarray
    spot_concat: np.ndarray
    emotion_streams: np.ndarray
    emotion_concat: np.ndarray
    emotion: int
    score: float
    probs: np.ndarray

    def as_arrays(self) -> dict[str, np.ndarray]:
        """The five maps by name (for ``np.savez`` and reports)."""
        return {"spatial": self.spatial, "spot_streams": self.spot_streams,
                "spot_concat": self.spot_concat, "emotion_streams": self.emotion_streams,
                "emotion_concat": self.emotion_concat}


# ------------------------------------------------------------------------------ maths


def grad_cam(features: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
    """Grad-CAM of feature maps and their gradients.

    Args:
        features, grads: ``N x K x H x W`` (same shape, float).

    Returns:
        ``N x H x W``: ``relu(sum_k mean_ij(grads_k) * features_k)``.
    """
    if features.shape != grads.shape or features.dim() != 4:
        raise ValueError(f"features and grads must be the same N x K x H x W, found "
                         f"{tuple(features.shape)} and {tuple(grads.shape)}")
    alpha = grads.mean(dim=(2, 3), keepdim=True)
    return F.relu((alpha * features).sum(dim=1))


def upsample(maps: torch.Tensor, size: int = MAP_SIZE) -> torch.Tensor:
    """``N x H x W`` -> ``N x size x size``, bilinear (``align_corners=False``)."""
    if maps.dim() != 3:
        raise ValueError(f"maps must be N x H x W, found {tuple(maps.shape)}")
    if maps.shape[-2:] == (size, size):
        return maps
    return F.interpolate(maps[:, None], size=(size, size), mode="bilinear",
                         align_corners=False)[:, 0]


def normalise_max(maps: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Divide by the maximum over ``axes`` (kept positive: maps are >= 0); a zero maximum
    leaves zeros. Returns float32 in [0, 1]."""
    arr = np.maximum(np.asarray(maps, dtype=np.float32), 0.0)
    top = arr.max(axis=axes, keepdims=True)
    out = np.divide(arr, top, out=np.zeros_like(arr), where=top > 0)
    return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)


# ------------------------------------------------------------------------------ hooks


def _as_batch(maps: np.ndarray) -> tuple[torch.Tensor, bool]:
    """``3 x 42 x 42`` or ``N x 3 x 42 x 42`` float -> a float32 tensor ``N x 3 x 42 x 42``."""
    arr = np.asarray(maps)
    single = arr.ndim == 3
    if single:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[1:] != (3, MAP_SIZE, MAP_SIZE):
        raise ValueError(f"maps must be 3 x {MAP_SIZE} x {MAP_SIZE} or N x 3 x {MAP_SIZE} x "
                         f"{MAP_SIZE}, found shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"maps must be floating point, found dtype {arr.dtype}")
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)), single


class _Taps:
    """Forward hooks on a network that keep what attention needs from one forward pass."""

    def __init__(self, model: SFAMNet) -> None:
        self.store: dict[str, torch.Tensor] = {}
        self.handles = []
        for k, name in enumerate(_BLOCKS):
            block = getattr(model, name)[0]
            self.handles.append(block.cbam.SpatialGate.spatial.register_forward_hook(
                self._keep(f"gate{k}")))
            self.handles.append(block.register_forward_hook(self._keep(f"block{k}")))
        self.handles.append(model.conv1.register_forward_pre_hook(self._keep_input("concat")))
        self.handles.append(model.fc_spot.register_forward_hook(self._keep("spot_logit")))

    def _keep(self, key: str) -> Any:
        def hook(_module: Any, _inputs: Any, output: torch.Tensor) -> None:
            self.store[key] = output
        return hook

    def _keep_input(self, key: str) -> Any:
        def hook(_module: Any, inputs: tuple[torch.Tensor, ...]) -> None:
            self.store[key] = inputs[0]
        return hook

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []


def spatial_attention(model: SFAMNet | SFAMNetEnsemble, maps: np.ndarray) -> np.ndarray:
    """The CBAM spatial gates of ``model`` for ``maps``.

    Args:
        model: an :class:`~rt_sfamnet.model.SFAMNet` (hooks are added and removed again).
        maps: ``3 x 42 x 42`` or ``N x 3 x 42 x 42`` float network inputs (u, v, w).

    Returns:
        float32 ``3 x 42 x 42`` (or ``N x 3 x 42 x 42``) in [0, 1], stream order u, v, w.
    """
    x, single = _as_batch(maps)
    if isinstance(model, SFAMNetEnsemble):
        gates = [spatial_attention(m, _member_input(model, k, x)) for k, m in enumerate(model.members)]
        out = np.mean(np.stack(gates), axis=0).astype(np.float32)
        return out[0] if single else out
    taps = _Taps(model)
    try:
        with torch.no_grad():
            model(x[:, 0:1], x[:, 1:2], x[:, 2:3])
            gates = torch.cat([torch.sigmoid(taps.store[f"gate{k}"]) for k in range(3)], dim=1)
    finally:
        taps.remove()
    out = gates.float().cpu().numpy()
    return out[0] if single else out


def _explain(model: SFAMNet, taps: _Taps, x: torch.Tensor, emotion: int | None
             ) -> dict[str, Any]:
    """One forward pass and two gradients through ``taps``; torch results per sample."""
    x = x.detach().requires_grad_(True)  # graphs exist even for a network without grads
    with torch.enable_grad():
        spot, logits = model(x[:, 0:1], x[:, 1:2], x[:, 2:3])
        st = taps.store
        feats = [st["block0"], st["block1"], st["block2"], st["concat"]]
        if emotion is None:
            target = logits.argmax(dim=1)
        else:
            _check_class(emotion, logits.shape[1])
            target = torch.full((x.shape[0],), int(emotion), dtype=torch.long)
        emo_logit = logits.gather(1, target[:, None]).sum()
        g_spot = torch.autograd.grad(st["spot_logit"].sum(), feats, retain_graph=True)
        g_emo = torch.autograd.grad(emo_logit, feats)
    gates = torch.cat([torch.sigmoid(st[f"gate{k}"]) for k in range(3)], dim=1)
    out = {"spatial": gates.detach(), "emotion": target, "score": spot.detach()[:, 0],
           "probs": torch.softmax(logits.detach(), dim=1)}
    for name, grads in (("spot", g_spot), ("emotion_maps", g_emo)):
        pairs = zip(feats[:3], grads[:3], strict=True)
        streams = torch.stack([grad_cam(f.detach(), g) for f, g in pairs],
                              dim=1)
        out[name] = (streams, upsample(grad_cam(feats[3].detach(), grads[3])))
    return out


def compute_attention(model: SFAMNet | SFAMNetEnsemble, maps: np.ndarray, emotion: int | None = None
                      ) -> list[AttentionMaps]:
    """CBAM spatial attention and Grad-CAM (spotting, emotion) of each sample of ``maps``.

    Args:
        model: an :class:`~rt_sfamnet.model.SFAMNet` in eval mode (hooks are added and removed;
            parameter gradients are not touched). Use :class:`AttentionProbe` to keep other
            threads' forward passes away from the hooks.
        maps: ``3 x 42 x 42`` or ``N x 3 x 42 x 42`` float network inputs (u, v, w; scaled and
            clamped as the network receives them).
        emotion: the class index whose logit Grad-CAM explains; None: each sample's argmax.

    Returns:
        One :class:`AttentionMaps` per sample.
    """
    x, _single = _as_batch(maps)
    if isinstance(model, SFAMNetEnsemble):
        return _ensemble_attention(model, x, emotion)
    taps = _Taps(model)
    try:
        raw = _explain(model, taps, x, emotion)
    finally:
        taps.remove()
    spatial = raw["spatial"].float().cpu().numpy()
    s_streams, s_concat = (t.float().cpu().numpy() for t in raw["spot"])
    e_streams, e_concat = (t.float().cpu().numpy() for t in raw["emotion_maps"])
    result = []
    for n in range(x.shape[0]):
        result.append(AttentionMaps(
            spatial=spatial[n].astype(np.float32),
            spot_streams=normalise_max(s_streams[n], (0, 1, 2)),
            spot_concat=normalise_max(s_concat[n], (0, 1)),
            emotion_streams=normalise_max(e_streams[n], (0, 1, 2)),
            emotion_concat=normalise_max(e_concat[n], (0, 1)),
            emotion=int(raw["emotion"][n]),
            score=float(raw["score"][n]),
            probs=raw["probs"][n].float().cpu().numpy().astype(np.float32),
        ))
    return result


def _member_input(model: SFAMNetEnsemble, k: int, x: torch.Tensor) -> np.ndarray:
    """What member ``k`` of an ensemble sees of the inputs ``x`` (N x 3 x 42 x 42)."""
    return (x * model.gains[k].to(x.dtype)).numpy()


def _check_class(emotion: int | None, classes: int) -> None:
    if emotion is not None and not 0 <= int(emotion) < classes:
        raise ValueError(f"emotion must be a class index in [0, {classes}), found {emotion!r}")


def _ensemble_attention(model: SFAMNetEnsemble, x: torch.Tensor, emotion: int | None
                        ) -> list[AttentionMaps]:
    """Each member's maps for the ensemble's class, averaged over the members."""
    with torch.no_grad():
        spot, logits = model(x[:, 0:1], x[:, 1:2], x[:, 2:3])
    _check_class(emotion, logits.shape[1])
    targets = logits.argmax(dim=1) if emotion is None else torch.full((x.shape[0],), int(emotion))
    probs = torch.softmax(logits, dim=1).float().numpy()
    result = []
    for n in range(x.shape[0]):
        per = [compute_attention(m, _member_input(model, k, x[n:n + 1]), int(targets[n]))[0]
               for k, m in enumerate(model.members)]

        def mean(name: str, _per: list[AttentionMaps] = per) -> np.ndarray:
            return np.mean(np.stack([getattr(a, name) for a in _per]), axis=0)

        result.append(AttentionMaps(
            spatial=mean("spatial").astype(np.float32),
            spot_streams=normalise_max(mean("spot_streams"), (0, 1, 2)),
            spot_concat=normalise_max(mean("spot_concat"), (0, 1)),
            emotion_streams=normalise_max(mean("emotion_streams"), (0, 1, 2)),
            emotion_concat=normalise_max(mean("emotion_concat"), (0, 1)),
            emotion=int(targets[n]), score=float(spot[n, 0]), probs=probs[n].astype(np.float32)))
    return result


class AttentionProbe:
    """Attention of one network, safe beside that network's inference thread.

    Args:
        model: the :class:`~rt_sfamnet.model.SFAMNet` to explain; a private CPU copy in eval
            mode is made once (7,249 parameters), so hooks never fire in another thread and
            the original is never modified.
        class_names: the recognition classes (``Predictor.class_names``), for :meth:`label`.

    ``probe(maps)`` -> :class:`AttentionMaps` for one ``3 x 42 x 42`` float sample.
    """

    def __init__(self, model: SFAMNet | SFAMNetEnsemble, class_names: tuple[str, ...] | None = None) -> None:
        self.model = copy.deepcopy(model).to("cpu").eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.class_names = tuple(class_names) if class_names is not None else None

    @classmethod
    def from_predictor(cls, predictor: Any) -> AttentionProbe:
        """A probe of a :class:`~rt_sfamnet.predictor.Predictor`'s network."""
        return cls(predictor.model, tuple(predictor.class_names))

    def __call__(self, maps: np.ndarray, emotion: int | None = None) -> AttentionMaps:
        arr = np.asarray(maps)
        if arr.shape != (3, MAP_SIZE, MAP_SIZE):
            raise ValueError(f"maps must be 3 x {MAP_SIZE} x {MAP_SIZE}, found shape {arr.shape}")
        return compute_attention(self.model, arr, emotion)[0]

    def label(self, maps: AttentionMaps) -> str:
        """The class name Grad-CAM explained (its index when no names were given)."""
        if self.class_names is None:
            return str(maps.emotion)
        return self.class_names[maps.emotion]


class AttentionWorker:
    """Attention of the newest offered sample, on one background thread (latest only).

    :meth:`offer` never blocks: it replaces the sample waiting (if any) with the new one, so
    at most one computation runs and one waits, whatever the offer rate. Used by the GUI's
    live overlay (the newest sample while the overlay is on) and ``benchmarks/pipeline.py
    --attention``.

    The overlay must not slow the analysis down: computations start at most every
    ``min_interval_s`` (an overlay needs a few updates a second, not one per sample), so
    the worker costs at most ~5 x 3.4 ms of CPU a second (``benchmarks/attention.py``).
    (A lower thread priority was tried and dropped: a descheduled thread holding the GIL
    would stall the engine's threads; it measured no better.)

    Args:
        probe: an :class:`AttentionProbe`.
        on_done: called on the worker thread with ``(key, AttentionMaps)`` after each
            computation (``key``: whatever the caller offered with the maps, e.g. the
            frame result).
        min_interval_s: the least time between the starts of two computations (s).
    """

    def __init__(self, probe: AttentionProbe, on_done: Any, min_interval_s: float = 0.2
                 ) -> None:
        import threading

        if not min_interval_s >= 0:
            raise ValueError(f"min_interval_s must be >= 0, found {min_interval_s!r}")
        self.probe = probe
        self.on_done = on_done
        self.min_interval_s = float(min_interval_s)
        self.computed = 0
        self.replaced = 0  # offers replaced by a newer one before they were computed
        self._cond = threading.Condition()
        self._pending: tuple[Any, np.ndarray, int | None] | None = None
        self._closed = False
        self._busy = False
        self._thread = threading.Thread(target=self._loop, name="rt-sfamnet-attention",
                                        daemon=True)
        self._thread.start()

    def offer(self, key: Any, maps: np.ndarray, emotion: int | None = None) -> None:
        """Queue ``maps`` (``3 x 42 x 42``) for attention, replacing a waiting offer."""
        with self._cond:
            if self._pending is not None:
                self.replaced += 1
            self._pending = (key, maps, emotion)
            self._cond.notify()

    def idle(self) -> bool:
        """Nothing waiting and nothing running."""
        with self._cond:
            return self._pending is None and not self._busy

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout)

    def _loop(self) -> None:
        import time

        start = -float("inf")
        while True:
            with self._cond:
                while not self._closed and (
                        self._pending is None
                        or time.monotonic() < start + self.min_interval_s):
                    wait = start + self.min_interval_s - time.monotonic()
                    self._cond.wait(wait if self._pending is not None and wait > 0 else None)
                if self._closed:
                    return
                start = time.monotonic()
                key, maps, emotion = self._pending
                self._pending = None
                self._busy = True
            try:
                result = self.probe(maps, emotion)
                self.computed += 1
                self.on_done(key, result)
            except Exception:  # noqa: BLE001 - an overlay never stops the analysis
                pass
            finally:
                with self._cond:
                    self._busy = False
