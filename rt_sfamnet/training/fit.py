"""The optimisation of one model (:func:`train_model`), its loss and batched prediction."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.datasets.casme3 import subject_number
from rt_sfamnet.emotions import emotion_names
from rt_sfamnet.errors import RtSfamnetError
from rt_sfamnet.training.config import TrainConfig
from rt_sfamnet.training.data import balanced_class_weights


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

    src = _single_network(load_weights(path)[0], path)
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


def _single_network(model, path: str | Path):
    """``model`` if it is one SFAMNet; an ensemble file cannot seed a training run."""
    from rt_sfamnet.model import SFAMNetEnsemble

    if isinstance(model, SFAMNetEnsemble):
        raise RtSfamnetError(f"{path} holds an ensemble of {len(model.members)} networks; "
                             f"training starts from one network (give one member's file, e.g. "
                             f"a run's final.safetensors)")
    return model


def load_init_weights(model, path: str | Path) -> None:
    """Copy every parameter of the weights file ``path`` into ``model`` (all stay trainable).

    Raises:
        RtSfamnetError: the file's emotions differ from the model's.
    """
    from rt_sfamnet.weights import load_weights

    src, meta = load_weights(path)
    src = _single_network(src, path)
    _check_emotions(meta.emotions, model.emotions, path)
    model.load_state_dict(src.state_dict())


def _check_emotions(found: int, wanted: int, path: str | Path) -> None:
    if found != wanted:
        raise RtSfamnetError(f"--init-weights {path} has {found} emotion classes; "
                             f"this run trains {wanted}")


def evaluation_model(cfg: TrainConfig):
    """``--steps 0 --init-weights FILE``: the file's network as it is (an ensemble too)."""
    from rt_sfamnet.weights import load_weights

    model, meta = load_weights(cfg.init_weights)
    _check_emotions(meta.emotions, cfg.emotions, cfg.init_weights)
    return model


def new_model(cfg: TrainConfig, seed: int, init: str | Path | None = None):
    """A fresh SFAMNet seeded by ``seed``: from ``init`` (fine-tuning: only the recognition
    head trainable), else from ``cfg.init_weights`` (all trainable; with no updates, the
    file's network as it is, so an ensemble can be evaluated), else random."""
    import torch

    from rt_sfamnet.model import SFAMNet

    if init is None and cfg.init_weights and cfg.updates == 0:
        return evaluation_model(cfg)
    torch.manual_seed(seed & 0xFFFFFFFFFFFF)
    model = SFAMNet(emotions=cfg.emotions)
    if init is not None:
        init_from(model, init)
    elif cfg.init_weights:
        load_init_weights(model, cfg.init_weights)
    return model


def _check_train(train, C: int) -> None:
    maps, spot, cls = train
    if maps.ndim != 4 or maps.shape[1:] != (3, 42, 42):
        raise ValueError(f"maps must be (N, 3, 42, 42), found {maps.shape}")
    if maps.dtype not in (np.float16, np.float32):
        raise ValueError(f"maps must be float16 or float32, found {maps.dtype}")
    if not (len(maps) == len(spot) == len(cls)):
        raise ValueError("maps, spot and cls must have the same length")
    if len(cls) and (cls.min() < 0 or cls.max() >= C):
        raise ValueError(f"class indices must be in [0, {C}), found {cls.min()}..{cls.max()}")


def train_model(train: tuple[np.ndarray, np.ndarray, np.ndarray], cfg: TrainConfig,
                input_scale: float, seed: int, init: str | Path | None = None,
                val: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None):
    """Train one SFAMNet on ``train = (maps, spot, cls)``; returns ``(model, info)``.

    ``maps`` (float32 or float16, unscaled) are moved to the device once as they are; each
    batch is cast to float32 and scaled by ``input_scale`` (and clamped) when drawn;
    each of the :attr:`TrainConfig.updates` steps draws the next slice of a shuffled
    permutation (a new one per epoch) and multiplies each sample by a random factor of
    :meth:`TrainConfig.aug_factors`. ``info`` holds ``loss`` (mean of the last 50 steps),
    ``val_loss``, ``class_weights``, ``n_train``, ``seconds``, ``device``, ``steps``.
    """
    import torch

    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
    C = len(emotion_names(cfg.emotions))
    _check_train(train, C)
    maps, spot, cls = train
    device = resolve_device(cfg.device)
    # channels-last runs the 3-channel convolutions' backward ~3x faster on the CPU
    fmt = torch.channels_last
    model = new_model(cfg, seed, init).to(device=device, memory_format=fmt).train()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=cfg.lr)
    w = torch.from_numpy(balanced_class_weights(cls, C)).to(device)
    t0 = time.perf_counter()
    N, steps = len(maps), cfg.updates
    # the training set as given (float16 stays float16); batches are cast to float32,
    # scaled and made channels-last as they are drawn
    X = torch.from_numpy(np.ascontiguousarray(maps)).to(device)
    ys = torch.from_numpy(spot.astype(np.float32)).to(device)
    yc = torch.from_numpy(cls.astype(np.int64)).to(device)
    fac = torch.from_numpy(cfg.aug_factors()).to(device)
    gen = torch.Generator(device=device)
    gen.manual_seed(seed & 0xFFFFFFFFFFFF)
    B = min(cfg.batch_size, max(N, 1))
    losses = torch.zeros(max(steps, 1), device=device)
    perm, pos = None, N
    for step in range(steps if N else 0):
        if pos >= N:
            perm, pos = torch.randperm(N, generator=gen, device=device), 0
        idx = perm[pos : pos + B]
        pos += B
        k = torch.randint(0, len(fac), (idx.shape[0],), generator=gen, device=device)
        xb = (_prep(X[idx].float(), input_scale, cfg.clip) * fac[k].view(-1, 1, 1, 1)
              ).contiguous(memory_format=fmt)
        loss = _loss(model, xb, ys[idx], yc[idx], w, cfg.lam,
                     cfg.neutral_recognition == "uniform")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses[step] = loss.detach()
    if device.type == "cuda":
        torch.cuda.synchronize()
    n_last = min(50, steps) if N else 0
    info: dict[str, Any] = {
        "loss": float(losses[steps - n_last : steps].mean()) if n_last else None,
        "n_train": int(N), "n_train_positive": int((spot > 0.5).sum()),
        "class_weights": [float(x) for x in w.cpu()], "seconds": time.perf_counter() - t0,
        "device": str(device), "steps": steps,
    }
    if val is not None and len(val[0]):
        info["val_loss"] = _val_loss(model, val, device, input_scale, cfg, w)
    model.eval()
    model.to(device="cpu", memory_format=torch.contiguous_format)
    return model, info


def _val_loss(model, val, device, input_scale: float, cfg: TrainConfig, w) -> float:
    import torch

    model.eval()
    with torch.no_grad():
        Xv = _prep(torch.from_numpy(val[0]).to(device).float(), input_scale, cfg.clip)
        return float(_loss(model, Xv, torch.from_numpy(val[1]).to(device),
                           torch.from_numpy(val[2]).to(device), w, cfg.lam))


def _prep(x, input_scale: float, clip: float | None):
    """Scale (and clamp) a tensor of maps as the network is fed."""
    x = x * float(input_scale)
    return x.clamp_(-float(clip), float(clip)) if clip is not None else x


def _loss(model, xb, ys, yc, w, lam: float, neutral_uniform: bool = False):
    spot, logits = model(xb[:, 0:1], xb[:, 1:2], xb[:, 2:3])
    return loss_from_outputs(spot, logits, ys, yc, w, lam, neutral_uniform)


def loss_from_outputs(spot, logits, ys, yc, w, lam: float, neutral_uniform: bool = False):
    """``lam · MSE(spot, ys) + (1 − lam) · CE`` (the release's loss, torch tensors).

    Args:
        spot: N×1 or N scores after the sigmoid. logits: N×C (neutral last). ys: N float
            targets in [0, 1]. yc: N int64 classes. w: C class weights of the CE (the
            release: balanced over the emotions, 0 for neutral).
        neutral_uniform: also pull the samples of class ``C − 1`` (neutral) towards equal
            probabilities of the emotion classes: ``mean_k(−log p_k)`` over the emotions,
            averaged over those samples, added to the CE.
    Returns:
        A 0-d tensor.
    """
    import torch

    mse = torch.mean((spot.reshape(-1) - ys) ** 2)
    logp = torch.log_softmax(logits, dim=1)
    nll = -logp.gather(1, yc.view(-1, 1)).reshape(-1)
    wi = w[yc]
    ce = (wi * nll).sum() / wi.sum().clamp_min(1e-12)
    if neutral_uniform:
        neutral = yc == logits.shape[1] - 1
        if bool(neutral.any()):
            ce = ce + (-logp[neutral, :-1].mean(dim=1)).mean()
    return lam * mse + (1.0 - lam) * ce


def predict(model, maps: np.ndarray, input_scale: float, batch: int = 1024,
            clip: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(scores (N,) float32, logits (N, C) float32)`` of unscaled maps, computed on the
    model's device (batches of ``batch`` maps)."""
    import torch

    model.eval()
    dev = next(model.parameters()).device
    outs_s, outs_l = [], []
    with torch.no_grad():
        for i in range(0, len(maps), batch):
            x = _prep(torch.from_numpy(np.ascontiguousarray(maps[i : i + batch], np.float32))
                      .to(dev), input_scale, clip)
            s, lg = model(x[:, 0:1], x[:, 1:2], x[:, 2:3])
            outs_s.append(s.reshape(-1).cpu().numpy())
            outs_l.append(lg.cpu().numpy())
    if not outs_s:
        C = model(*(torch.zeros(1, 1, 42, 42, device=dev),) * 3)[1].shape[1]
        return np.zeros(0, np.float32), np.zeros((0, C), np.float32)
    return np.concatenate(outs_s).astype(np.float32), np.concatenate(outs_l).astype(np.float32)
