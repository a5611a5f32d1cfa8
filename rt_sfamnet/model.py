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

:class:`SFAMNetEnsemble` averages several such networks trained alike (different training
seeds): the mean spotting score and the mean emotion probabilities.

Inference on NumPy maps (a network plus its weights' metadata) is
:class:`rt_sfamnet.predictor.Predictor`; loading and saving weights is :mod:`rt_sfamnet.weights`.
This module needs only PyTorch and imports no other stage.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

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


class SFAMNetEnsemble(nn.Module):
    """The mean of ``K`` SFAMNets trained alike (the same recipe with different seeds).

    One network's score and emotion on a real face change with its training seed
    (docs/real-faces.md); the mean of a few seeds does not depend on one draw.

    Args:
        members: ``K >= 2`` networks with the same number of emotions.
        gains: ``K`` positive input gains: member ``k`` sees ``x * gains[k]`` (its own training
            input scale divided by the ensemble's, so every member gets the inputs it was
            trained on). Default: all 1.

    ``forward(u, v, w)`` as :class:`SFAMNet`: ``spot`` ``N x 1`` is the mean of the members'
    scores; ``logits`` ``N x C`` is the log of the mean of the members' softmax probabilities,
    so ``softmax(logits)`` is that mean. The state_dict holds ``members.<k>.<release key>``
    and ``gains``.
    """

    def __init__(self, members: list[SFAMNet], gains: list[float] | None = None) -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least 2 networks, found {len(members)}")
        emotions = {int(m.emotions) for m in members}
        if len(emotions) != 1:
            raise ValueError(f"ensemble members must have the same number of emotions, "
                             f"found {sorted(emotions)}")
        gains = [1.0] * len(members) if gains is None else [float(g) for g in gains]
        if len(gains) != len(members) or not all(g > 0 and g < float("inf") for g in gains):
            raise ValueError(f"gains must be {len(members)} positive finite numbers, found {gains}")
        self.emotions = emotions.pop()
        self.num_classes = self.emotions + 1
        self.members = nn.ModuleList(members)
        self.register_buffer("gains", torch.tensor(gains, dtype=torch.float32))

    def forward(
        self, u: torch.Tensor, v: torch.Tensor, w: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        spot_sum = prob_sum = None
        for k, member in enumerate(self.members):  # sums in member order: the same on any CPU
            g = self.gains[k]
            s, logits = member(u * g, v * g, w * g)
            p = torch.softmax(logits, dim=1)
            spot_sum = s if spot_sum is None else spot_sum + s
            prob_sum = p if prob_sum is None else prob_sum + p
        n = float(len(self.members))
        mean_probs = prob_sum / n
        return spot_sum / n, torch.log(mean_probs.clamp_min(torch.finfo(mean_probs.dtype).tiny))


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (the unused bn weights included, as the release counts)."""
    return sum(p.numel() for p in model.parameters())
