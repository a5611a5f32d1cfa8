"""Attention maps: CBAM spatial gates and Grad-CAM, checked on networks computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rt_sfamnet.attention import (
    AttentionProbe,
    compute_attention,
    grad_cam,
    normalise_max,
    spatial_attention,
    upsample,
)
from rt_sfamnet.model import SFAMNet


def _random_maps(n: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.5, (n, 3, 42, 42)).astype(np.float32)


def test_zero_spatial_gate_is_one_half_everywhere():
    torch.manual_seed(0)
    m = SFAMNet(4).eval()
    with torch.no_grad():
        for name in ("c1", "c2", "c3"):
            getattr(m, name)[0].cbam.SpatialGate.spatial.conv.weight.zero_()
    gates = spatial_attention(m, _random_maps(2))
    assert gates.shape == (2, 3, 42, 42) and gates.dtype == np.float32
    assert np.all(gates == np.float32(0.5))
    assert not any(mod._forward_hooks for mod in m.modules())  # hooks removed


def test_spatial_gate_matches_a_hand_computed_gate():
    """One tap at the centre of the 7x7 kernel on the channel max: gate = sigmoid(w * max_c)."""
    torch.manual_seed(1)
    m = SFAMNet(4).eval()
    maps = _random_maps(1, seed=3)[0]
    with torch.no_grad():
        conv = m.c2[0].cbam.SpatialGate.spatial.conv
        conv.weight.zero_()
        conv.weight[0, 0, 3, 3] = 2.0
        block = m.c2[0]
        v = torch.from_numpy(maps[1:2][None])
        out = block.cbam.ChannelGate(block.conv2(torch.relu(block.conv1(v))))
        expected = torch.sigmoid(2.0 * out.amax(dim=1))[0].numpy()
    gates = spatial_attention(m, maps)
    assert gates.shape == (3, 42, 42)
    np.testing.assert_allclose(gates[1], expected, rtol=0, atol=1e-6)


def _pixel_network() -> SFAMNet:
    """Each stream passes relu(x) through (conv2 = 0 makes the CBAM output 0, the 1x1 shortcut
    is 1); the spotting head reads channel 0 of the concatenation (u) through the centre tap of
    conv1 and all-positive fc weights; the emotion head reads channel 3 (v) with class 1 and
    negative weights for class 0."""
    m = SFAMNet(4).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.zero_()
        for name in ("c1", "c2", "c3"):
            getattr(m, name)[0].downsample[0].weight.fill_(1.0)
        m.conv1.weight[0, 0, 2, 2] = 1.0
        m.fc_spot.weight[0, :49] = 1.0
        m.conv2.weight[0, 3, 2, 2] = 1.0
        m.fc_recog.weight[1, :49] = 1.0
        m.fc_recog.weight[0, :49] = -1.0
    return m


def test_grad_cam_highlights_the_pixel_that_drives_the_head():
    m = _pixel_network()
    maps = np.zeros((3, 42, 42), np.float32)
    maps[0, 10, 31] = 2.0  # u: drives the spotting head
    maps[1, 25, 4] = 3.0   # v: drives the emotion head
    att = AttentionProbe(m, ("a", "b", "c", "d", "neutral"))(maps)
    # before the concatenation: the stream's block output is relu(x) at 42x42
    assert att.spot_streams.shape == (3, 42, 42) and att.spot_streams.dtype == np.float32
    assert np.unravel_index(att.spot_streams[0].argmax(), (42, 42)) == (10, 31)
    assert att.spot_streams[0, 10, 31] == 1.0
    assert np.count_nonzero(att.spot_streams) == 1  # v, w do not reach the spotting head
    assert att.emotion == 1
    assert np.count_nonzero(att.emotion_streams) == 1 and att.emotion_streams[1, 25, 4] == 1.0
    # after: the pooled 14x14 pixel (3, 10) upsampled: its 3x3 block peaks
    assert att.spot_concat.shape == (42, 42)
    r, c = np.unravel_index(att.spot_concat.argmax(), (42, 42))
    assert 9 <= r <= 11 and 30 <= c <= 32 and att.spot_concat.max() == 1.0
    r, c = np.unravel_index(att.emotion_concat.argmax(), (42, 42))
    assert 24 <= r <= 26 and 3 <= c <= 5
    assert att.spot_concat[0:6, :].max() == 0.0  # far rows see nothing


def test_grad_cam_of_a_class_with_negative_evidence_is_zero():
    m = _pixel_network()
    maps = np.zeros((3, 42, 42), np.float32)
    maps[1, 25, 4] = 3.0
    att = compute_attention(m, maps, emotion=0)[0]  # class 0 weighs v negatively
    assert att.emotion == 0
    assert not att.emotion_streams.any() and not att.emotion_concat.any()
    with pytest.raises(ValueError, match="class index"):
        compute_attention(m, maps, emotion=5)


def test_grad_cam_formula_by_hand():
    feats = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[4.0, 0.0], [0.0, 0.0]]]])
    grads = torch.tensor([[[[1.0, 1.0], [1.0, 1.0]], [[-4.0, 0.0], [0.0, 0.0]]]])
    # alpha = (1, -1): cam = relu(f0 - f1) = [[0, 2], [3, 4]]
    cam = grad_cam(feats, grads)
    assert cam.tolist() == [[[0.0, 2.0], [3.0, 4.0]]]
    with pytest.raises(ValueError):
        grad_cam(feats, grads[:, :1])


def test_normalise_and_upsample():
    arr = np.array([[[0.0, 2.0], [1.0, 4.0]], [[0.0, 0.0], [0.0, 0.0]]], np.float32)
    out = normalise_max(arr, (1, 2))
    assert out[0].tolist() == [[0.0, 0.5], [0.25, 1.0]] and not out[1].any()
    up = upsample(torch.ones(2, 14, 14))
    assert tuple(up.shape) == (2, 42, 42) and torch.allclose(up, torch.ones(2, 42, 42))


def test_probe_leaves_the_network_untouched_and_checks_shapes():
    torch.manual_seed(2)
    m = SFAMNet(7).eval()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    probe = AttentionProbe(m)
    maps = _random_maps(1, seed=5)[0]
    att = probe(maps)
    for k, v in m.state_dict().items():
        assert torch.equal(v, before[k])
    assert not any(mod._forward_hooks for mod in m.modules())
    assert all(p.grad is None for p in m.parameters())
    with torch.no_grad():
        spot, logits = m(*(torch.from_numpy(maps[i:i + 1][None]) for i in range(3)))
    assert att.score == pytest.approx(float(spot[0, 0]), abs=1e-6)
    assert att.emotion == int(logits.argmax())
    assert att.probs.shape == (8,) and att.probs.sum() == pytest.approx(1.0, abs=1e-5)
    for arr in att.as_arrays().values():
        assert arr.dtype == np.float32 and arr.min() >= 0.0 and arr.max() <= 1.0
    assert probe.label(att) == str(att.emotion)
    with pytest.raises(ValueError, match="3 x 42 x 42"):
        probe(maps[:2])
    with pytest.raises(ValueError, match="floating point"):
        spatial_attention(m, np.zeros((3, 42, 42), np.int32))


def test_worker_computes_the_newest_offer_only():
    import threading

    from rt_sfamnet.attention import AttentionWorker

    torch.manual_seed(3)
    probe = AttentionProbe(SFAMNet(4).eval())
    started, gate, last = threading.Event(), threading.Event(), threading.Event()
    done: list = []

    def on_done(key, att):
        done.append((key, att))
        started.set()
        if key == "k3":
            last.set()
        gate.wait(10)  # hold the worker so that later offers queue up

    worker = AttentionWorker(probe, on_done)
    maps = _random_maps(4, seed=9)
    try:
        worker.offer("first", maps[0])
        assert started.wait(30)
        for k in range(1, 4):  # while "first" is held, each offer replaces the waiting one
            worker.offer(f"k{k}", maps[k])
        gate.set()
        assert last.wait(30)
    finally:
        gate.set()
        worker.close()
    assert [key for key, _ in done] == ["first", "k3"]
    assert worker.computed == 2 and worker.replaced == 2 and worker.idle()
    np.testing.assert_array_equal(done[1][1].spatial, probe(maps[3]).spatial)


def test_ensemble_attention_is_the_members_mean_for_the_ensembles_class():
    from rt_sfamnet.model import SFAMNetEnsemble

    torch.manual_seed(4)
    a, b = SFAMNet(4).eval(), SFAMNet(4).eval()
    ens = SFAMNetEnsemble([a, b], [1.0, 0.5]).eval()
    x = np.random.default_rng(1).normal(size=(3, 42, 42)).astype(np.float32)
    got = compute_attention(ens, x)[0]
    with torch.no_grad():
        s, logits = ens(*(torch.from_numpy(x)[None, i : i + 1] for i in range(3)))
    cls = int(logits.argmax())
    ma = compute_attention(a, x, cls)[0]
    mb = compute_attention(b, 0.5 * x, cls)[0]
    assert got.emotion == cls and got.score == pytest.approx(float(s))
    np.testing.assert_allclose(got.spatial, (ma.spatial + mb.spatial) / 2, atol=1e-6)
    np.testing.assert_allclose(got.spot_concat,
                               normalise_max((ma.spot_concat + mb.spot_concat) / 2, (0, 1)),
                               atol=1e-6)
    np.testing.assert_allclose(spatial_attention(ens, x), got.spatial, atol=1e-6)
    with pytest.raises(ValueError, match="class index"):
        compute_attention(ens, x, 9)
