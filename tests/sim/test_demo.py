"""The demo recipe and its committed ground truth; the test clip; recordings round trip."""

from __future__ import annotations

import numpy as np
import pytest

from rt_sfamnet.intervals import read_intervals
from rt_sfamnet.sim import demo
from rt_sfamnet.sim.recipe import load_recipe, script_from_recipe


def _key(ivs):
    return [(i.subject, i.video, i.onset, i.apex, i.offset, i.type, i.emotion) for i in ivs]


def test_committed_demo_ground_truth_matches_the_recipe(repo_root):
    rec = repo_root / "recordings"
    committed = read_intervals(rec / demo.DEMO_GT)
    assert _key(committed) == _key(demo.recipe_intervals(rec / demo.DEMO_RECIPE, "demo"))
    types = [i.type for i in committed]
    assert types.count("micro") >= 3 and types.count("macro") >= 2
    rc = load_recipe(rec / demo.DEMO_RECIPE)
    assert (rc.width, rc.height) == (640, 480) and 30 <= rc.duration_s <= 60


def test_clip_plays_back_with_ground_truth(repo_root):
    pytest.importorskip("pyrealsense2")
    from rt_sfamnet.sim import make_renderer
    from rt_sfamnet.sources.realsense import PlaybackSource

    rec = repo_root / "recordings"
    clip = rec / demo.CLIP_NAME
    assert clip.stat().st_size < 15e6
    rc = load_recipe(rec / demo.CLIP_RECIPE)
    script = script_from_recipe(rc)
    with PlaybackSource(clip) as src:
        gt = src.ground_truth
        frames = list(src)
    assert len(frames) == script.n_frames
    assert _key(gt) == _key(demo.recipe_intervals(rec / demo.CLIP_RECIPE, "clip"))
    r = make_renderer(rc.seed, rc.identity, rc.width, rc.height, rc.fps, script=script)
    for i in (0, gt[0].apex, len(frames) - 1):
        color, depth, _ = r.render(i)
        assert np.array_equal(frames[i].color, color)  # the clip is exactly the recipe
        assert np.array_equal(frames[i].depth, depth)
    ts = [f.timestamp for f in frames]
    assert np.allclose(np.diff(ts), 1 / 30, atol=1e-4)


def test_write_sim_recording_round_trip(tmp_path):
    pytest.importorskip("pyrealsense2")
    from rt_sfamnet.sim import make_renderer
    from rt_sfamnet.sources.realsense import PlaybackSource, ground_truth_path

    out = tmp_path / "s.db3"
    n = demo.write_sim_recording(out, seed=4, identity=1, seconds=1.0, width=160, height=120)
    assert n == 30 and ground_truth_path(out).is_file()
    assert not list(tmp_path.glob("*.part*"))
    r = make_renderer(4, 1, 160, 120, 30.0, 1.0)
    with PlaybackSource(out) as src:
        frames = list(src)
        assert src.intrinsics.fx == pytest.approx(r.intrinsics.fx, rel=1e-5)
    assert [f.index for f in frames] == list(range(30))
    assert np.array_equal(frames[17].depth, r.render(17)[1])


def test_ensure_demo_recording_uses_existing_file(tmp_path, repo_root):
    # an existing recording with its ground truth is returned as it is (no regeneration)
    (tmp_path / demo.DEMO_RECIPE).write_text((repo_root / "recordings" / demo.DEMO_RECIPE).read_text())
    target = tmp_path / "demo.db3"
    target.write_bytes(b"x")
    (tmp_path / "demo.gt.csv").write_text("subject,video,onset,apex,offset,type,emotion\n")
    assert demo.ensure_demo_recording(target) == target
    assert target.read_bytes() == b"x"


def test_ensure_demo_recording_generates(tmp_path, monkeypatch):
    pytest.importorskip("pyrealsense2")
    from rt_sfamnet.sources.realsense import PlaybackSource

    # a short recipe beside the target stands in for the 45 s demo
    (tmp_path / demo.DEMO_RECIPE).write_text(
        'seed = 3\nidentity = 1\nwidth = 160\nheight = 120\nduration_s = 1.0\n'
        '[[expression]]\ntype = "micro"\nemotion = "sad"\nonset_s = 0.3\n')
    target = demo.ensure_demo_recording(tmp_path / "demo.db3")
    assert target.is_file() and (tmp_path / "demo.gt.csv").is_file()
    with PlaybackSource(target) as src:
        assert src.frame_count == 30
        assert [i.emotion for i in src.ground_truth] == ["sad"]
