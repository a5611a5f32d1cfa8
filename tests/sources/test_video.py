"""VideoSource on videos written here with PyAV (every container the CLI accepts, a
variable frame rate, truncated copies) and on the shared real clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rt_sfamnet.errors import SourceError
from rt_sfamnet.sources import make_source
from rt_sfamnet.sources.video import VideoSource, median_rate
from tests.sources.video_helpers import (
    VFR_MS,
    H,
    W,
    container_truth,
    image,
    truncated_copy,
    write_video,
)

pytest.importorskip("av")


@pytest.mark.parametrize(("suffix", "codec"), [("mp4", "libx264"), ("mov", "libx264"),
                                               ("mkv", "libx264"), ("webm", "libvpx-vp9"),
                                               ("avi", "mpeg4")])
def test_every_container_gives_true_timestamps_and_the_median_rate(tmp_path: Path, suffix,
                                                                   codec) -> None:
    path = write_video(tmp_path / f"clip.{suffix}", VFR_MS, codec)
    src = make_source(path)
    assert isinstance(src, VideoSource) and not src.has_depth and not src.live
    with src:
        assert src.fps == pytest.approx(1000 / 33)  # median gap 33 ms, not the mean (32.6)
        assert src.intrinsics is not None and (src.intrinsics.width, src.intrinsics.height) == (W, H)
        frames = list(src)
    assert [f.index for f in frames] == list(range(len(VFR_MS)))
    assert [f.timestamp for f in frames] == pytest.approx([t / 1000 for t in VFR_MS], abs=1e-6)
    for i in (0, 7, 19):
        f = frames[i]
        assert f.color.shape == (H, W, 3) and f.color.dtype == np.uint8
        assert f.depth.shape == (H, W) and not f.depth.any()
        tol = 15.0 if codec == "mpeg4" else 4.0  # lossy codecs; BGR order: off by ~50
        assert np.abs(f.color.astype(int) - image(i)).mean() < tol


def test_median_rate_ignores_order_and_duplicates() -> None:
    assert median_rate([0.1, 0.0, 0.2, 0.2, 0.35]) == pytest.approx(10.0)
    assert median_rate([1.0]) is None and median_rate([]) is None


def test_seek_restarts_at_the_frame(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.mp4", VFR_MS)
    with VideoSource(path) as src:
        it = iter(src)
        assert next(it).index == 0
        src.seek(12)
        f = next(it)
        assert (f.index, f.timestamp) == (12, pytest.approx(0.378))
        assert [g.index for g in it] == list(range(13, 20))
        with pytest.raises(SourceError, match="outside 0..19"):
            src.seek(20)


@pytest.mark.parametrize(("suffix", "options", "where"), [
    ("mp4", None, "cannot be opened as a video: damaged, truncated"),  # index at the end: lost
    ("mp4", {"movflags": "faststart"}, r"decoding failed at frame \d+"),  # frames lost
    ("mkv", None, r"decoding failed at frame \d+, after 0\.\d+ s"),
])
def test_truncated_video_is_one_clear_error_naming_the_file(tmp_path: Path, suffix, options,
                                                            where) -> None:
    whole = write_video(tmp_path / f"whole.{suffix}", [33 * i for i in range(60)],
                        options=options)
    cut = truncated_copy(whole, tmp_path / f"cut.{suffix}", keep=0.5)
    with pytest.raises(SourceError, match=where) as info:
        with VideoSource(cut) as src:
            frames = [f.index for f in src]
            assert len(frames) < 60
    message = str(info.value)
    assert str(cut) in message and "\n" not in message


def test_not_a_video_and_missing_file(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("hello")
    with pytest.raises(SourceError, match="notes.mp4: cannot be opened as a video"):
        VideoSource(fake).open()
    with pytest.raises(SourceError, match="not found"):
        VideoSource(tmp_path / "gone.mov").open()


def test_noface_face_mov_keeps_its_variable_timing(real_faces_dir: Path) -> None:
    """OpenCV reports 26.5 fps for this clip; its gaps run 15-42 ms with a median of 41.7."""
    path = real_faces_dir / "noface_face.mov"
    if not path.is_file():
        pytest.skip("noface_face.mov is missing")
    times, end = container_truth(path)
    with VideoSource(path) as src:
        assert src.fps == pytest.approx(1 / 0.041666, rel=1e-3)
        assert src.frame_count == 169
        got = [f.timestamp for f in src]
    assert got == pytest.approx(times, abs=1e-9)
    gaps = np.diff(got)
    assert gaps.min() < 0.016 and gaps.max() > 0.041  # truly variable
    assert end - got[-1] < 1 / src.fps + 1e-6
