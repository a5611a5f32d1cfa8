"""FolderSource on small CAS(ME)^3- and CASME II-style folders written here (and on a simulated
dataset). Frames are 0-based: file n is frame n - 1 (docs/DESIGN.md, frame numbers)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from rt_sfamnet.errors import SourceError
from rt_sfamnet.frames import Intrinsics
from rt_sfamnet.sources import open_source
from rt_sfamnet.sources.folder import FolderSource

W, H = 64, 48


def color_of(n: int) -> np.ndarray:
    """Smooth RGB image (JPEG keeps it within a few levels); red grows with n."""
    yy, xx = np.mgrid[0:H, 0:W]
    img = np.dstack([np.full((H, W), 40 + 10 * n), 2 * xx + 40, 3 * yy + 20])
    return img.astype(np.uint8)


def depth_of(n: int) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    d = (500 + 7 * xx + 3 * yy + 100 * n).astype(np.uint16)
    d[0, 0] = 0
    d[-1, -1] = 65000
    return d


def write_video(folder: Path, numbers, color_dir="color", depth_dir="depth") -> Path:
    cdir = folder / color_dir if color_dir else folder
    ddir = folder / depth_dir if depth_dir else folder
    cdir.mkdir(parents=True, exist_ok=True)
    ddir.mkdir(parents=True, exist_ok=True)
    for n in numbers:
        assert cv2.imwrite(str(cdir / f"{n}.jpg"), cv2.cvtColor(color_of(n), cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 98])
        assert cv2.imwrite(str(ddir / f"{n}.png"), depth_of(n))
    return folder


def test_reads_frames_in_numeric_order_with_file_number_index(tmp_path: Path) -> None:
    folder = write_video(tmp_path / "spNO.1" / "a", range(1, 13))
    with FolderSource(folder, fps=30) as src:
        assert src.frame_count == 12 and src.seekable and not src.live
        assert src.intrinsics == Intrinsics.from_fov(W, H, 69.0)
        frames = list(src)
    assert [f.index for f in frames] == list(range(0, 12))  # 10 after 9, not after 1
    for f in frames:
        n = f.index + 1  # the file number
        assert f.timestamp == pytest.approx(f.index / 30.0)
        assert f.meta["file_number"] == n
        np.testing.assert_array_equal(f.depth, depth_of(n))
        assert f.depth.dtype == np.uint16 and f.color.shape == (H, W, 3)
        err = np.abs(f.color.astype(int) - color_of(n)).mean()
        assert err < 2.0  # RGB order kept (BGR would be off by tens of levels)
        assert f.intrinsics == Intrinsics.from_fov(W, H, 69.0)


def test_position_index_fps_and_depth_scale(tmp_path: Path) -> None:
    folder = write_video(tmp_path / "v", [5, 6, 7])
    with FolderSource(folder, fps=10, depth_scale_mm=0.5, index="position") as src:
        frames = list(src)
    assert [f.index for f in frames] == [0, 1, 2]
    assert [f.timestamp for f in frames] == pytest.approx([0.0, 0.1, 0.2])
    assert [f.meta["file_number"] for f in frames] == [5, 6, 7]
    expect = np.clip(np.rint(depth_of(6) * 0.5), 0, 65535).astype(np.uint16)
    np.testing.assert_array_equal(frames[1].depth, expect)


def test_seek(tmp_path: Path) -> None:
    folder = write_video(tmp_path / "v", range(1, 8))
    with FolderSource(folder) as src:
        src.seek(4)
        it = iter(src)
        f = next(it)
        assert (f.index, f.meta["file_number"]) == (4, 5)
        src.seek(2)
        assert [f.index for f in it] == [2, 3, 4, 5, 6]
        with pytest.raises(SourceError, match=r"no frame 99 \(frames 0..6, files 1..7\)"):
            src.seek(99)
    with FolderSource(folder, index="position") as src:
        src.seek(6)
        assert [f.index for f in src] == [6]
        with pytest.raises(SourceError, match="outside 0..6"):
            src.seek(7)


def test_given_intrinsics(tmp_path: Path) -> None:
    folder = write_video(tmp_path / "v", [1, 2])
    intr = Intrinsics(W, H, 50.0, 51.0, 31.0, 23.0)
    with FolderSource(folder, intrinsics=intr) as src:
        assert src.intrinsics == intr
        assert all(f.intrinsics == intr for f in src)
    with pytest.raises(SourceError, match="intrinsics are for 640x480"):
        FolderSource(folder, intrinsics=Intrinsics.from_fov(640, 480)).open()


def test_layout_without_inner_depth_folder(tmp_path: Path) -> None:
    folder = tmp_path / "v"
    write_video(folder, [1, 2, 3], color_dir="color", depth_dir="")
    with FolderSource(folder) as src:
        assert src.depth_dir == folder
        frames = list(src)
    assert [f.index for f in frames] == [0, 1, 2]
    np.testing.assert_array_equal(frames[2].depth, depth_of(3))


def test_layout_flat_and_split_trees(tmp_path: Path) -> None:
    flat = write_video(tmp_path / "flat", [1, 2], color_dir="", depth_dir="")
    with FolderSource(flat) as src:
        assert [f.index for f in src] == [0, 1]
    # RGB/spNO.1/a/<n>.jpg beside depth/spNO.1/a/<n>.png
    top = tmp_path / "casme"
    rgb = top / "RGB" / "spNO.1" / "a"
    write_video(rgb, [1, 2, 3], color_dir="", depth_dir="../../../depth/spNO.1/a")
    for p in (top / "RGB" / "spNO.1" / "a").glob("*.png"):
        p.unlink()
    with FolderSource(rgb) as src:
        assert src.depth_dir is not None and src.depth_dir.parts[-3:] == ("depth", "spNO.1", "a")
        frames = list(src)
    assert [f.index for f in frames] == [0, 1, 2]
    np.testing.assert_array_equal(frames[0].depth, depth_of(1))


def test_factory_opens_folders(tmp_path: Path) -> None:
    folder = write_video(tmp_path / "v", [1, 2])
    with open_source(folder, fps=25) as src:
        assert isinstance(src, FolderSource)
        assert src.fps == 25.0
        assert [f.index for f in src] == [0, 1]


# -- errors --------------------------------------------------------------------------------


def test_missing_or_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        FolderSource(tmp_path / "nope").open()
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no colour frames"):
        FolderSource(tmp_path / "empty").open()


def test_no_depth_is_an_rgb_only_source(tmp_path: Path) -> None:
    folder = write_video(tmp_path / "v", [1, 2])
    for p in (folder / "depth").iterdir():
        p.unlink()
    with FolderSource(folder) as src:
        assert not src.has_depth and src.depth_dir is None
        frames = list(src)
    assert [f.index for f in frames] == [0, 1]
    assert all(not f.depth.any() and f.depth.dtype == np.uint16 for f in frames)


def test_mismatched_frames(tmp_path: Path) -> None:
    folder = write_video(tmp_path / "v", [1, 2, 3, 4])
    (folder / "depth" / "3.png").unlink()
    (folder / "color" / "1.jpg").unlink()
    with pytest.raises(SourceError, match=r"1 colour frame\(s\) without depth \(first \[3\]\).*"
                                          r"1 depth frame\(s\) without colour \(first \[1\]\)"):
        FolderSource(folder).open()


def test_gaps(tmp_path: Path) -> None:
    folder = write_video(tmp_path / "v", [1, 2, 5, 6])
    with pytest.raises(SourceError, match=r"2 frame number\(s\) missing .*\[3, 4\]"):
        FolderSource(folder).open()
    with FolderSource(folder, allow_gaps=True) as src:
        assert [f.index for f in src] == [0, 1, 4, 5]


def test_bad_depth_images(tmp_path: Path) -> None:
    folder = write_video(tmp_path / "v", [1, 2])
    cv2.imwrite(str(folder / "depth" / "2.png"), (depth_of(2) // 256).astype(np.uint8))
    with FolderSource(folder) as src:
        it = iter(src)
        next(it)
        with pytest.raises(SourceError, match="16-bit single-channel"):
            next(it)
    cv2.imwrite(str(folder / "depth" / "2.png"), np.zeros((H, W + 2), np.uint16))
    with FolderSource(folder) as src:
        with pytest.raises(SourceError, match="depth 2.png is 66x48 but colour 2.jpg is 64x48"):
            list(src)
    (folder / "color" / "1.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(SourceError, match="cannot be read as a JPEG"):
        FolderSource(folder).open()


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="fps"):
        FolderSource(tmp_path, fps=0)
    with pytest.raises(SourceError, match="depth_scale_mm"):
        FolderSource(tmp_path, depth_scale_mm=-1)
    with pytest.raises(SourceError, match="'file' or 'position'"):
        FolderSource(tmp_path, index="rank")
    with pytest.raises(SourceError, match="open"):
        list(FolderSource(tmp_path))


def test_simulated_dataset_video(tmp_path: Path) -> None:
    """The folder source reads a video of the simulator's CAS(ME)^3-style dataset."""
    dataset = pytest.importorskip("rt_sfamnet.sim.dataset")
    dataset.write_dataset(tmp_path / "ds", subjects=1, videos_per_subject=1, seconds=0.2,
                          width=160, height=120, workers=1)
    folder = tmp_path / "ds" / "data" / "part_A" / "spNO.1" / "a"
    with FolderSource(folder) as src:
        frames = list(src)
        assert src.intrinsics == Intrinsics.from_fov(160, 120, 69.0)
    assert [f.index for f in frames] == list(range(len(frames)))  # file n is frame n - 1
    assert len(frames) == 6
    for f in frames:
        assert f.color.shape == (120, 160, 3)
        assert f.depth.dtype == np.uint16
        valid = f.depth[f.depth > 0]
        assert valid.size > 0.5 * f.depth.size
        assert 300 < np.median(valid) < 3000  # a face 0.5-0.8 m away in front of a background
        np.testing.assert_array_equal(
            f.depth, dataset.dataset_depth_mm(folder / "depth" / f"{f.index + 1}.png"))


@pytest.mark.parametrize("keep", [0.8, 0.95, "no_eoi"])
def test_truncated_jpeg_is_a_clear_error_not_a_grey_frame(tmp_path: Path, keep) -> None:
    """libjpeg decodes a cut-short JPEG with only a warning (grey fill); the source refuses
    it, naming the file, and the frames before it are delivered."""
    folder = write_video(tmp_path / "v", [1, 2, 3])
    jpg = folder / "color" / "2.jpg"
    data = jpg.read_bytes()
    jpg.write_bytes(data[:-2] if keep == "no_eoi" else data[: int(len(data) * keep)])
    assert cv2.imread(str(jpg)) is not None  # what OpenCV alone would have analysed
    with FolderSource(folder) as src:
        it = iter(src)
        assert next(it).index == 0
        with pytest.raises(SourceError, match=r"2\.jpg: truncated or damaged JPEG image"):
            next(it)


def test_jpeg_with_trailing_zero_padding_is_read(tmp_path: Path) -> None:
    folder = write_video(tmp_path / "v", [1, 2])
    jpg = folder / "color" / "2.jpg"
    jpg.write_bytes(jpg.read_bytes() + bytes(16))
    with FolderSource(folder) as src:
        assert [f.index for f in src] == [0, 1]


# -- CASME II, SAMM, SMIC, MMEW: colour frames only, names with a trailing number ------------


def write_named(folder: Path, names, write=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        n = int("".join(c for c in Path(name).stem if c.isdigit())[-3:])
        img = cv2.cvtColor(color_of(n % 20), cv2.COLOR_RGB2BGR)
        assert cv2.imwrite(str(folder / name), img)
    return folder


@pytest.mark.parametrize("pattern", ["img{n}.jpg", "reg_img{n}.jpg", "{n:03d}.bmp",
                                     "006_1_{n:04d}.png"])
def test_casme2_style_folder_is_rgb_only_at_the_given_rate(tmp_path: Path, pattern) -> None:
    """The frame number is the stem's trailing integer; file n is frame n - 1; --fps sets
    the timestamps; files without a number are ignored; 8-bit PNGs are colour."""
    folder = write_named(tmp_path / "EP02_01f", [pattern.format(n=n) for n in (46, 47, 48, 49)])
    (folder / "readme.jpg").write_bytes(b"not a frame")
    with open_source(folder, fps=200) as src:
        assert isinstance(src, FolderSource) and not src.has_depth and src.fps == 200.0
        frames = list(src)
    assert [f.index for f in frames] == [45, 46, 47, 48]
    assert [f.meta["file_number"] for f in frames] == [46, 47, 48, 49]
    assert [f.timestamp for f in frames] == pytest.approx([45 / 200, 46 / 200, 47 / 200,
                                                           48 / 200])
    assert all(not f.depth.any() for f in frames)
    assert np.abs(frames[1].color.astype(int) - color_of(47 % 20)).mean() < 2.0  # RGB order


def test_16_bit_png_is_depth_8_bit_png_is_colour(tmp_path: Path) -> None:
    folder = write_named(tmp_path / "v", ["img1.png", "img2.png"])
    for n in (1, 2):
        assert cv2.imwrite(str(folder / f"d{n}.png"), depth_of(n))
    with FolderSource(folder) as src:
        assert src.has_depth and src.depth_dir == folder
        frames = list(src)
    assert [f.index for f in frames] == [0, 1]
    np.testing.assert_array_equal(frames[1].depth, depth_of(2))


def test_folder_numbered_from_zero_and_duplicate_numbers(tmp_path: Path) -> None:
    folder = write_named(tmp_path / "v", ["000.jpg", "001.jpg", "002.jpg"])
    with FolderSource(folder, fps=10) as src:
        assert [(f.index, f.meta["file_number"]) for f in src] == [(0, 0), (1, 1), (2, 2)]
    write_named(folder, ["img1.jpg"])
    with pytest.raises(SourceError, match="two colour frames numbered 1: 001.jpg and img1.jpg"):
        FolderSource(folder).open()


def test_fps_is_refused_for_sources_with_their_own_timing(tmp_path: Path) -> None:
    from rt_sfamnet.sources import make_source

    with pytest.raises(SourceError, match="keeps its own timestamps"):
        make_source("webcam:0", fps=25)
    assert make_source(write_named(tmp_path / "v", ["1.jpg"]), fps=None).fps == 30.0
