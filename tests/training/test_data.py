"""A fold's data read lazily: only sampled rows, float16 storage with float32 compute, the
input-scale statistic from the training subjects only."""

from __future__ import annotations

import numpy as np
import pytest

from rt_sfamnet.datasets.synthetic import write_map_cache
from rt_sfamnet.training import auto_input_scale, load_subject, sample_fold
from rt_sfamnet.training.data import SubjectData


@pytest.fixture(scope="module")
def caches(tmp_path_factory):
    root = tmp_path_factory.mktemp("c")
    kw = dict(subjects=3, videos=2, frames=120, me_per_video=2, seed=4)
    return (write_map_cache(root / "f32", **kw), write_map_cache(root / "f16", float16=True, **kw))


def test_subject_data_holds_labels_not_maps(caches):
    c32, _ = caches
    sd = load_subject(c32, "spNO.2", 4)
    assert isinstance(sd, SubjectData) and not hasattr(sd, "maps")
    assert sd.spot.dtype == np.float32 and sd.cls.dtype == np.int64 and sd.valid.dtype == bool
    # rows in any order come back as float32, equal to the stored video rows
    a = c32.load("spNO.2", "a")
    n_a = len(a.frames)
    idx = np.array([n_a + 3, 1, n_a - 1, 0])
    rows = sd.rows(idx)
    b = c32.load("spNO.2", "b")
    want = np.stack([b.maps[3], a.maps[1], a.maps[n_a - 1], a.maps[0]])
    assert rows.dtype == np.float32 and np.array_equal(rows, want)
    assert np.array_equal(sd.gt_maps()[: len(a.gt)], np.asarray(a.gt_maps))


def test_float16_storage_float32_compute(caches):
    c32, c16 = caches
    s32 = [load_subject(c32, s, 4) for s in c32.subjects]
    s16 = [load_subject(c16, s, 4) for s in c16.subjects]
    m32, sp32, cl32 = sample_fold(s32, np.random.default_rng(0))
    m16, sp16, cl16 = sample_fold(s16, np.random.default_rng(0))
    assert m16.dtype == np.float32  # compute is float32
    assert np.array_equal(sp16, sp32) and np.array_equal(cl16, cl32)  # the same rows
    assert np.array_equal(m16, m32.astype(np.float16).astype(np.float32))


def test_release_validation_set_has_no_gt_and_as_many_negatives(caches):
    c32, _ = caches
    sd = load_subject(c32, "spNO.1", 4)
    maps, spot, cls = sample_fold([sd], np.random.default_rng(0), with_gt=False)
    n_pos = int((sd.valid & (sd.spot > 0.5)).sum())
    assert len(maps) == 2 * n_pos and int((spot > 0.5).sum()) == n_pos


def test_input_scale_ignores_the_held_out_subject(tmp_path):
    kw = dict(subjects=3, videos=1, frames=120, me_per_video=2, seed=5)
    a = write_map_cache(tmp_path / "a", **kw)
    b = write_map_cache(tmp_path / "b", **kw)
    # subject 1 of cache b gets maps 100x larger
    v = b.load("spNO.1", "a", mmap=False)
    v.maps = np.asarray(v.maps) * 100
    b.remove("spNO.1", "a")
    b.write(v)
    train = ["spNO.2", "spNO.3"]
    sa = auto_input_scale([load_subject(a, s, 4) for s in train], max_rows=50, seed=1)
    sb = auto_input_scale([load_subject(b, s, 4) for s in train], max_rows=50, seed=1)
    assert sa == sb and sa > 0
    all_b = auto_input_scale([load_subject(b, s, 4) for s in b.subjects], max_rows=50, seed=1)
    assert all_b < sa / 2  # the big subject, once included, changes it


def test_input_scale_is_robust_inverse_std(caches):
    c32, _ = caches
    subs = [load_subject(c32, s, 4) for s in ("spNO.1", "spNO.2")]
    x = np.concatenate([sd.rows(np.flatnonzero(sd.valid)) for sd in subs])
    lim = np.percentile(np.abs(x), 99.5)
    want = 1.0 / np.std(np.clip(x, -lim, lim).astype(np.float64))
    got = auto_input_scale(subs, max_rows=10**6, seed=0)  # every row
    assert got == pytest.approx(want, rel=1e-6)


def test_float16_training_set_gives_the_float32_result(caches):
    import torch

    from rt_sfamnet.training import TrainConfig, train_model

    _, c16 = caches
    subs = [load_subject(c16, s, 4) for s in c16.subjects]
    half = sample_fold(subs, np.random.default_rng(0), dtype=np.float16)
    full = sample_fold(subs, np.random.default_rng(0))
    assert half[0].dtype == np.float16 and half[0].nbytes * 2 == full[0].nbytes
    cfg = TrainConfig(steps=3, batch_size=16, threads=1, clip=2.0)
    a, ia = train_model(half, cfg, 3.0, seed=1, val=half)
    b, ib = train_model(full, cfg, 3.0, seed=1, val=full)
    sa, sb = a.state_dict(), b.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa) and ia["val_loss"] == ib["val_loss"]
