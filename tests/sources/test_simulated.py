"""``"sim"`` as a Source: spec parsing, ground truth, determinism, meta, seek."""

from __future__ import annotations

import numpy as np
import pytest

from rt_sfamnet.errors import SourceError
from rt_sfamnet.sources import make_source, open_source
from rt_sfamnet.sources.simulated import SimulatedSource


def test_from_spec():
    s = SimulatedSource.from_spec("sim:seed=3,identity=2,duration=20")
    assert (s.seed, s.identity, s.duration_s) == (3, 2, 20.0)
    assert s.frame_count == 600 and s.fps == 30.0
    s = SimulatedSource.from_spec("sim:identity=grace,width=320,height=240,fps=15,duration=2")
    assert s.identity == "grace" and s.frame_count == 30
    assert s.intrinsics.width == 320
    d = SimulatedSource.from_spec("sim")
    assert d.seed == 0 and d.duration_s == 60.0
    assert isinstance(make_source("sim:seed=1"), SimulatedSource)
    assert make_source("sim:seed=1", duration_s=2.0).frame_count == 60
    with pytest.raises(SourceError, match="unknown key"):
        SimulatedSource.from_spec("sim:colour=red")
    with pytest.raises(SourceError, match="key=value"):
        SimulatedSource.from_spec("sim:seed")
    with pytest.raises(SourceError, match="bad value"):
        SimulatedSource.from_spec("sim:seed=x")
    with pytest.raises(SourceError):
        SimulatedSource(width=10, height=10)


@pytest.mark.parametrize("spec", ["sim:duration=inf", "sim:fps=inf"])
def test_infinite_duration_or_fps_is_a_source_error(spec):
    with pytest.raises(SourceError, match="finite"):
        SimulatedSource.from_spec(spec).open()


def test_ground_truth_before_iteration_and_meta():
    src = SimulatedSource(seed=4, identity=1, width=160, height=120, duration_s=8.0)
    gt = src.ground_truth
    assert gt and all(iv.subject == "sim" and iv.video == "seed4" for iv in gt)
    with src:
        frames = list(src)
    assert len(frames) == 240
    assert [f.index for f in frames] == list(range(240))
    assert np.allclose([f.timestamp for f in frames], np.arange(240) / 30.0)
    first = gt[0]
    apex = frames[first.apex]
    assert apex.meta["au"] and max(apex.meta["au"].values()) > 0.5
    assert frames[first.onset].meta["au"] == {} and frames[first.offset].meta["au"] == {}
    assert all(set(f.meta) >= {"au", "blink"} for f in frames)
    assert all(0.0 <= f.meta["blink"] <= 1.0 for f in frames)
    assert frames[0].intrinsics == src.intrinsics


def test_deterministic_for_a_seed_and_seekable():
    def grab(seed):
        with open_source(f"sim:seed={seed},width=160,height=120,duration=1") as s:
            return list(s)

    a, b, c = grab(9), grab(9), grab(10)
    assert all(np.array_equal(x.color, y.color) and np.array_equal(x.depth, y.depth)
               for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[5].depth, c[5].depth)
    with open_source("sim:seed=9,width=160,height=120,duration=1") as s:
        assert s.seekable
        s.seek(20)
        rest = list(s)
        with pytest.raises(SourceError, match="seek"):
            s.seek(30)
    assert rest[0].index == 20 and len(rest) == 10
    assert np.array_equal(rest[0].color, a[20].color)


def test_realtime_option_and_recipe(repo_root):
    s = SimulatedSource.from_spec("sim:realtime=1,duration=1,width=160,height=120")
    assert s.realtime and s.live  # the engine paces it like a camera; it never waits itself
    assert not hasattr(s, "_pacer")
    with s:
        n = sum(1 for _ in s)
    assert n == 30
    r = SimulatedSource(recipe=repo_root / "recordings" / "clip_recipe.toml")
    assert (r.width, r.height, r.seed) == (320, 240, 7)
    assert [iv.emotion for iv in r.ground_truth] == ["happy"]
