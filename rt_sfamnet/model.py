"""SFAMNet (Liong et al., Neurocomputing 2024) in the layout of the authors' release.

The module tree and parameter names follow the release exactly, so that the official
checkpoints (pickled state_dicts, 77 keys) load with ``strict=True``. Forward pass, per
stream ``cK.0`` (one residual block on a 1-channel 42x42 map)::

    out = relu(conv1(x))                 # 5x5, 1->3, pad 2, no bias
    out = conv2(out)                     # 5x5, 3->3, pad 2, no bias
    out = cbam(out)                      # channel gate, then spatial gate
    out = relu(out + downsample(x))      # 1x1, 1->3, no bias

``bn1``, ``bn2`` and the spatial gate's ``bn`` are present (the checkpoints hold them) but are
NOT applied, exactly like the release. Each stream is max-pooled (3, stride 3) to 3x14x14;
the three streams are concatenated (u, v, w order) to 9x14x14 and feed two heads:

- spotting: ``conv1`` 5x5 9->8 (bias) -> MaxPool(3, stride 2, pad 1) -> 8x7x7 -> flatten
  (392) -> ``fc_spot`` -> sigmoid: one score in [0, 1] per sample;
- recognition: ``conv2`` (same shape) -> same pool -> flatten -> ``fc_recog`` -> ``C`` logits,
  ``C = emotions + 1`` (neutral last; see :mod:`rt_sfamnet.emotions`).

7,249 parameters for ``emotions=4`` (the bn parameters included).

:class:`Predictor` wraps a network and its :class:`~rt_sfamnet.weights.WeightsMeta` for
inference on NumPy maps (the shape the feature stage produces).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rt_sfamnet.emotions import emotion_names

if TYPE_CHECKING:  # pragma: no cover
    from rt_sfamnet.weights import WeightsMeta

MAP_SIZE = 42
"""Side of each input map in pixels."""


class BasicConv(nn.Module):
    """Conv + BatchNorm holder of the spatial gate; only the conv is applied (release)."""

    def __init__(self, in_planes: int, out_planes: int, kernel_size: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            in_planes, out_planes, kernel_size, stride=1, padding=(kernel_size - 1) // 2, bias=False
        )
        self.bn = nn.BatchNorm2d(out_planes)  # in the checkpoints, never applied

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class ChannelGate(nn.Module):
    """CBAM channel attention: shared MLP on global avg- and max-pooled features."""

    def __init__(self, channels: int, reduction: int = 3) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        # Keys mlp.1 and mlp.3 as in the release: Flatten, Linear, ReLU, Linear.
        self.mlp = nn.Sequential(
            nn.Flatten(), nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = self.mlp(F.adaptive_avg_pool2d(x, 1))
        mx = self.mlp(F.adaptive_max_pool2d(x, 1))
        scale = torch.sigmoid(avg + mx)
        return x * scale[:, :, None, None]


class SpatialGate(nn.Module):
    """CBAM spatial attention: [max, mean] over channels -> 7x7 conv -> sigmoid."""

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        self.spatial = BasicConv(2, 1, kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat(
            (torch.amax(x, dim=1, keepdim=True), torch.mean(x, dim=1, keepdim=True)), dim=1
        )
        return x * torch.sigmoid(self.spatial(pooled))


class CBAM(nn.Module):
    """Channel gate followed by spatial gate (key names as in the release)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.ChannelGate = ChannelGate(channels)
        self.SpatialGate = SpatialGate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.SpatialGate(self.ChannelGate(x))


class ResidualCBAMBlock(nn.Module):
    """One stream block: conv-relu-conv-CBAM plus a 1x1 shortcut (bn1/bn2 unused, release)."""

    def __init__(self, in_planes: int = 1, planes: int = 3) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 5, padding=2, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)  # in the checkpoints, never applied
        self.conv2 = nn.Conv2d(planes, planes, 5, padding=2, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)  # in the checkpoints, never applied
        self.downsample = nn.Sequential(nn.Conv2d(in_planes, planes, 1, bias=False))
        self.cbam = CBAM(planes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.conv1(x))
        out = self.conv2(out)
        out = self.cbam(out)
        return F.relu(out + self.downsample(x))


class SFAMNet(nn.Module):
    """The SFAMNet network, checkpoint-compatible with the authors' release.

    Args:
        emotions: 4 or 7 emotion classes; the recognition head has ``emotions + 1`` outputs
            (the last one is ``neutral``).

    ``forward(u, v, w)``: each input ``N x 1 x 42 x 42`` float32 (one flow component per
    stream, in the units the weights were trained with) -> ``(spot, logits)`` with ``spot``
    ``N x 1`` in [0, 1] (sigmoid) and ``logits`` ``N x (emotions + 1)`` (before softmax).
    """

    def __init__(self, emotions: int = 4) -> None:
        super().__init__()
        if emotions not in (4, 7):
            raise ValueError(f"emotions must be 4 or 7, found {emotions!r}")
        self.emotions = int(emotions)
        self.num_classes = self.emotions + 1
        self.c1 = nn.Sequential(ResidualCBAMBlock())
        self.c2 = nn.Sequential(ResidualCBAMBlock())
        self.c3 = nn.Sequential(ResidualCBAMBlock())
        self.conv1 = nn.Conv2d(9, 8, 5, padding=2)
        self.conv2 = nn.Conv2d(9, 8, 5, padding=2)
        self.fc_spot = nn.Linear(8 * 7 * 7, 1)
        self.fc_recog = nn.Linear(8 * 7 * 7, self.num_classes)

    def features(self, u: torch.Tensor, v: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """The shared network: ``N x 9 x 14 x 14`` from the three ``N x 1 x 42 x 42`` maps."""
        return torch.cat(
            (
                F.max_pool2d(self.c1(u), 3, 3),
                F.max_pool2d(self.c2(v), 3, 3),
                F.max_pool2d(self.c3(w), 3, 3),
            ),
            dim=1,
        )

    def forward(
        self, u: torch.Tensor, v: torch.Tensor, w: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        for name, t in (("u", u), ("v", v), ("w", w)):
            if t.dim() != 4 or tuple(t.shape[1:]) != (1, MAP_SIZE, MAP_SIZE):
                raise ValueError(
                    f"SFAMNet input {name} must be N x 1 x {MAP_SIZE} x {MAP_SIZE}, "
                    f"found {tuple(t.shape)}"
                )
        x = self.features(u, v, w)
        s = F.max_pool2d(self.conv1(x), 3, stride=2, padding=1).flatten(1)
        r = F.max_pool2d(self.conv2(x), 3, stride=2, padding=1).flatten(1)
        spot = torch.sigmoid(self.fc_spot(s))
        logits = self.fc_recog(r)
        return spot, logits


@contextmanager
def _onednn_disabled(disable: bool) -> Iterator[None]:
    """Switch oneDNN (mkldnn) convolutions off for the block (process-wide flag, restored)."""
    previous = torch.backends.mkldnn.enabled
    if not disable or not previous:
        yield
        return
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = previous


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (the unused bn weights included, as the release counts)."""
    return sum(p.numel() for p in model.parameters())


class Predictor:
    """Inference on NumPy maps with one network and its metadata.

    Args:
        model: an :class:`SFAMNet` (put in eval mode and moved to ``device``).
        meta: the :class:`~rt_sfamnet.weights.WeightsMeta` the weights came with. The
            Predictor does not rescale inputs: ``meta.input_scale``, ``meta.flow_mode`` and
            ``meta.frame_skip`` tell the feature stage (``FeatureConfig``) and the spotter how
            to prepare maps and read scores; the Predictor only checks that ``meta.emotions``
            matches the network and exposes the values.
        device: ``"cpu"``, ``"cuda"`` or ``None`` (CUDA when available, else CPU).
        threads: if given, ``torch.set_num_threads(threads)`` (process-wide). One thread is
            the fastest for single-sample CPU inference on small machines.
        onednn: on the CPU, whether convolutions may use oneDNN (mkldnn). ``False`` (default)
            runs ``predict`` with oneDNN switched off (``torch.backends.mkldnn.flags``, a
            process-wide flag restored afterwards): PyTorch's native kernels are faster for
            this network's 1-9 channel convolutions (see ``docs/benchmarks/model.md``).
            Outputs agree to float rounding either way.
    """

    def __init__(
        self,
        model: SFAMNet,
        meta: WeightsMeta,
        device: str | torch.device | None = None,
        threads: int | None = None,
        onednn: bool = False,
    ) -> None:
        if meta.emotions != model.emotions:
            raise ValueError(
                f"weights metadata says {meta.emotions} emotions but the network has "
                f"{model.emotions}"
            )
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if threads is not None:
            torch.set_num_threads(int(threads))
        self.device = torch.device(device)
        self.onednn = bool(onednn)
        self.model = model.to(self.device).eval()
        self.meta = meta
        self.class_names: tuple[str, ...] = emotion_names(model.emotions)

    @classmethod
    def from_file(
        cls,
        path: str | Path | None = None,
        emotions: int | None = None,
        device: str | torch.device | None = None,
        threads: int | None = None,
    ) -> Predictor:
        """Load weights (ours or an official ``.pkl``) and build a Predictor.

        ``path=None`` uses :func:`~rt_sfamnet.weights.default_weights_path` for ``emotions``
        (4 when not given); a missing default raises ``WeightsError`` saying how to get one.
        """
        from rt_sfamnet.weights import default_weights_path, load_weights

        if path is None:
            path = default_weights_path(emotions or 4, must_exist=True)
        model, meta = load_weights(path, emotions=emotions)
        return cls(model, meta, device=device, threads=threads)

    @property
    def emotions(self) -> int:
        return self.model.emotions

    @property
    def input_scale(self) -> float:
        """The factor the feature stage must apply to maps for these weights."""
        return self.meta.input_scale

    @property
    def flow_mode(self) -> str:
        return self.meta.flow_mode

    @property
    def frame_skip(self) -> int:
        return self.meta.frame_skip

    def predict(self, maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Score a batch of maps.

        Args:
            maps: ``N x 3 x 42 x 42`` float32 (channels u, v, w as the feature stage orders
                them, already multiplied by ``meta.input_scale``). Other float dtypes are
                converted.

        Returns:
            ``scores`` (N,) float32 in [0, 1] and ``probs`` (N, C) float32, the softmax of the
            logits over :attr:`class_names`.
        """
        arr = np.asarray(maps)
        if arr.ndim != 4 or arr.shape[1:] != (3, MAP_SIZE, MAP_SIZE):
            raise ValueError(
                f"maps must be N x 3 x {MAP_SIZE} x {MAP_SIZE}, found shape {arr.shape}"
            )
        if arr.shape[0] == 0:
            return np.zeros(0, np.float32), np.zeros((0, len(self.class_names)), np.float32)
        if not np.issubdtype(arr.dtype, np.floating):
            raise ValueError(f"maps must be floating point, found dtype {arr.dtype}")
        x = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
        onednn_off = self.device.type == "cpu" and not self.onednn
        with torch.inference_mode(), _onednn_disabled(onednn_off):
            x = x.to(self.device)
            spot, logits = self.model(x[:, 0:1], x[:, 1:2], x[:, 2:3])
            probs = torch.softmax(logits, dim=1)
        return (
            spot[:, 0].float().cpu().numpy().astype(np.float32, copy=False),
            probs.float().cpu().numpy().astype(np.float32, copy=False),
        )

    def predict_one(self, maps: np.ndarray) -> tuple[float, np.ndarray]:
        """One ``3 x 42 x 42`` sample -> (score, probs (C,) float32)."""
        arr = np.asarray(maps)
        if arr.shape != (3, MAP_SIZE, MAP_SIZE):
            raise ValueError(f"maps must be 3 x {MAP_SIZE} x {MAP_SIZE}, found shape {arr.shape}")
        scores, probs = self.predict(arr[None])
        return float(scores[0]), probs[0]
