"""The training loss, hand-computed (rt_sfamnet.training.fit.loss_from_outputs)."""

from __future__ import annotations

import math

import pytest
import torch

from rt_sfamnet.training.fit import loss_from_outputs


def test_release_loss_and_the_uniform_neutral_term():
    # two samples, C = 3 (two emotions + neutral); logits 0 -> every probability 1/3
    spot = torch.tensor([[0.5], [0.0]])
    logits = torch.zeros(2, 3)
    ys = torch.tensor([1.0, 0.0])
    yc = torch.tensor([0, 2])  # an emotion, then neutral
    w = torch.tensor([1.0, 1.0, 0.0])  # the release: neutral weight 0
    mse = (0.25 + 0.0) / 2
    ce = math.log(3)  # only the first sample counts
    lam = 0.9
    got = loss_from_outputs(spot, logits, ys, yc, w, lam)
    assert float(got) == pytest.approx(lam * mse + (1 - lam) * ce, rel=1e-6)
    # uniform: the neutral sample adds mean(-log p_k) over the 2 emotions = log 3
    got = loss_from_outputs(spot, logits, ys, yc, w, lam, neutral_uniform=True)
    assert float(got) == pytest.approx(lam * mse + (1 - lam) * 2 * math.log(3), rel=1e-6)
    # the term is smallest when the emotions are equally likely
    skew = torch.tensor([[0.0, 0.0, 0.0], [2.0, -2.0, 0.0]])
    assert float(loss_from_outputs(spot, skew, ys, yc, w, lam, True)) > float(got)
