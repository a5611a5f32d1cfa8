"""Playback through rosbags without the SDK (rt_sfamnet.sources.realsense.rosbag and .align):
frames identical to pyrealsense2's for registered depth, a stated tolerance for unaligned
depth, and a whole analysis with pyrealsense2 unavailable."""

from __future__ import annotations

import dataclasses
import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rt_sfamnet.errors import RecordingError, SourceError
from rt_sfamnet.sources.realsense.playback import PlaybackSource, playback_source

REPO = Path(__file__).resolve().parents[3]
CLIP = REPO / "recordings" / "clip.db3"
BLOCK_SDK = "import sys; sys.modules['pyrealsense2'] = None; "


def _sdk_frames(path: Path) -> tuple[list, object]:
    pytest.importorskip("pyrealsense2")
    with PlaybackSource(path, backend="sdk").open() as s:
        return list(s), s.intrinsics


def _assert_same(a, b) -> None:
    assert (a.index, a.timestamp, a.meta) == (b.index, b.timestamp, b.meta)
    assert a.intrinsics == b.intrinsics
    assert np.array_equal(a.color, b.color) and a.color.dtype == b.color.dtype == np.uint8
    assert np.array_equal(a.depth, b.depth) and a.depth.dtype == b.depth.dtype == np.uint16


@pytest.mark.parametrize("name", ["clip", "recording", "camera_clip"])
def test_registered_recordings_give_the_sdks_frames(name, request):
    path = CLIP if name == "clip" else request.getfixturevalue(name)
    sdk, sdk_intr = _sdk_frames(path)
    with PlaybackSource(path, backend="rosbags").open() as s:
        ours = list(s)
        assert s.registered and s.intrinsics == sdk_intr
        assert len(sdk) == len(ours) and s.frame_count == ours[-1].index + 1
        if name == "clip":
            assert s.fps == 30.0 and s.ground_truth and s.ground_truth[0].video == "clip"
    for a, b in zip(sdk, ours, strict=True):
        _assert_same(a, b)


def test_seek_gives_the_same_frames_as_playing_through():
    with PlaybackSource(CLIP, backend="rosbags").open() as s:
        whole = list(s)
        s.seek(37)
        tail = list(s)
        with pytest.raises(SourceError, match="past the end"):
            s.seek(60)
    assert [f.index for f in tail] == list(range(37, 60))
    for a, b in zip(whole[37:], tail, strict=True):
        _assert_same(a, b)


def test_unaligned_depth_within_the_stated_tolerance(tmp_path):
    """Depth intrinsics unlike colour's (as a camera records): NumPy alignment vs rs.align.

    Tolerance (stated in rt_sfamnet.sources.realsense.align): >= 99 % of pixels identical,
    depth present/absent differing on <= 0.1 %, and every differing pixel holds the SDK's
    value of a pixel at most one pixel away (footprint edges shifted by one pixel)."""
    pytest.importorskip("pyrealsense2")
    from rt_sfamnet.sim import make_renderer
    from rt_sfamnet.sources.realsense import write_recording

    r = make_renderer(3, None, 320, 240, 30.0, 1.0)
    frames = list(itertools.islice(r.frames(), 4))
    ci = frames[0].intrinsics
    di = dataclasses.replace(ci, fx=ci.fx * 0.93, fy=ci.fy * 0.93, ppx=ci.ppx + 4.5,
                             ppy=ci.ppy - 2.25)
    path = tmp_path / "unaligned.db3"
    write_recording(frames, path, depth_intrinsics=di)
    sdk, _ = _sdk_frames(path)
    with PlaybackSource(path, backend="rosbags").open() as s:
        assert not s.registered
        ours = list(s)
    for a, b in zip(sdk, ours, strict=True):
        assert np.array_equal(a.color, b.color)
        da, db = a.depth.astype(np.int64), b.depth.astype(np.int64)
        assert (da == db).mean() >= 0.99
        assert ((da > 0) != (db > 0)).mean() <= 0.001
        ys, xs = np.nonzero(da != db)
        pad = np.pad(da, 1, constant_values=-1)
        near = np.stack([pad[ys + 1 + dy, xs + 1 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
        assert ys.size == 0 or (near == db[ys, xs]).any(axis=0).mean() >= 0.99


def _reference_align(depth, di, ci, rot, tr, unit):
    """librealsense's align_images loop for z16, transcribed pixel by pixel (float32)."""
    f = np.float32
    out = np.zeros((ci.height, ci.width), np.int64)

    def corner(x, y, z):
        px, py = (f(x) - f(di.ppx)) / f(di.fx) * z, (f(y) - f(di.ppy)) / f(di.fy) * z
        q = [rot[i][0] * px + rot[i][1] * py + rot[i][2] * z + tr[i] for i in range(3)]
        u, v = q[0] / q[2], q[1] / q[2]
        k1, k2, p1, p2, k3 = (f(c) for c in ci.coeffs)
        r2 = u * u + v * v
        g = f(1) + k1 * r2 + k2 * r2 * r2 + k3 * r2 * r2 * r2
        u, v = u * g, v * g
        u, v = u + f(2) * p1 * u * v + p2 * (r2 + f(2) * u * u), v + f(2) * p2 * u * v + p1 * (
            r2 + f(2) * v * v)
        return int(u * f(ci.fx) + f(ci.ppx) + f(0.5)), int(v * f(ci.fy) + f(ci.ppy) + f(0.5))

    for y in range(di.height):
        for x in range(di.width):
            if not depth[y, x]:
                continue
            z = f(depth[y, x]) * f(unit)
            x0, y0 = corner(x - 0.5, y - 0.5, z)
            x1, y1 = corner(x + 0.5, y + 0.5, z)
            if x1 < 0 or y1 < 0 or x0 >= ci.width or y0 >= ci.height:
                continue
            for yy in range(max(y0, 0), min(y1, ci.height - 1) + 1):
                for xx in range(max(x0, 0), min(x1, ci.width - 1) + 1):
                    o = out[yy, xx]
                    out[yy, xx] = min(o, int(depth[y, x])) if o else int(depth[y, x])
    return out.astype(np.uint16)


def test_numpy_alignment_is_the_reference_loop():
    from rt_sfamnet.frames import Intrinsics
    from rt_sfamnet.sources.realsense.align import align_depth_to_color

    di = Intrinsics(16, 12, 14.0, 14.5, 7.3, 5.9, "brown_conrady", (0.0,) * 5)
    ci = Intrinsics(20, 15, 19.0, 18.5, 10.1, 7.2, "inverse_brown_conrady",
                    (0.05, -0.02, 0.001, 0.002, 0.0))
    a = 0.05
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]],
                   np.float32)
    tr = np.array([0.015, -0.002, 0.001], np.float32)
    depth = np.random.default_rng(0).integers(400, 2500, (12, 16)).astype(np.uint16)
    depth[3:6, 4:9] = 0
    got = align_depth_to_color(depth, di, ci, rot, tr, depth_unit_m=0.001)
    assert np.array_equal(got, _reference_align(depth, di, ci, rot, tr, 0.001))
    assert got.any() and (got == 0).any()


def test_damaged_recording_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.db3"
    data = CLIP.read_bytes()
    bad.write_bytes(data[: len(data) // 3])
    with pytest.raises(RecordingError):
        PlaybackSource(bad, backend="rosbags").open()
    text = tmp_path / "text.db3"
    text.write_text("not a recording")
    with pytest.raises(RecordingError, match="SQLite"):
        PlaybackSource(text, backend="rosbags").open()


def test_playback_source_uses_the_sdk_where_it_imports():
    pytest.importorskip("pyrealsense2")
    assert playback_source(CLIP).backend == "sdk"


def _run_without_sdk(code: str, cwd: Path) -> subprocess.CompletedProcess:
    # this checkout's package, whichever one is installed
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")]))}
    return subprocess.run([sys.executable, "-c", BLOCK_SDK + code], capture_output=True,
                          text=True, cwd=cwd, timeout=600, env=env)


def test_make_source_without_pyrealsense2_uses_rosbags(tmp_path):
    res = _run_without_sdk(
        "from rt_sfamnet.sources import make_source; "
        f"s = make_source({str(CLIP)!r}); print(s.backend); s.open(); "
        "print(s.frame_count); import rt_sfamnet.sources.realsense.playback as p; "
        "print(p.__name__)", tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["rosbags", "60",
                                  "rt_sfamnet.sources.realsense.playback"]
    blocked = _run_without_sdk("import pyrealsense2", tmp_path)
    assert blocked.returncode != 0 and "pyrealsense2 halted" in blocked.stderr  # blocked


@pytest.mark.slow
def test_analyze_without_pyrealsense2_finds_the_same_events(tmp_path):
    from rt_sfamnet.cli import main

    # the bundled weights' micro threshold (0.5) misses the clip's flat-topped micro-expression
    spot = ["--spot", "micro_threshold=0.3"]
    assert main(["analyze", str(CLIP), "--out", str(tmp_path / "sdk"), "--no-progress",
                 *spot]) == 0
    shutil.rmtree(tmp_path / "sdk" / "frames.csv", ignore_errors=True)
    res = _run_without_sdk(
        "from rt_sfamnet.cli import main; "
        f"sys.exit(main(['analyze', {str(CLIP)!r}, '--out', 'nosdk', '--no-progress', "
        f"'--spot', 'micro_threshold=0.3']))",
        tmp_path)
    assert res.returncode == 0, res.stderr
    a = (tmp_path / "sdk" / "events.csv").read_text().splitlines()
    b = (tmp_path / "nosdk" / "events.csv").read_text().splitlines()
    assert len(a) == len(b) >= 2  # header + the clip's micro-expression
    # identical rows, confidence included: the same frames, and flow kernels whose results
    # do not depend on how or where they were compiled
    assert a == b
