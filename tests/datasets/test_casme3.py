"""CAS(ME)^3 annotation parsing, joining, and frame-folder discovery."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from rt_sfamnet.cli import main
from rt_sfamnet.datasets.casme3 import (
    discover_videos,
    find_annotation_files,
    load_dataset,
    read_annotations,
    subject_id,
)
from rt_sfamnet.errors import DatasetError
from tests.datasets.helpers import write_frames, write_tables


@pytest.fixture(scope="module")
def real(reference_dir):
    return read_annotations(reference_dir / "casme3-annotations")


def test_real_annotation_counts(real):
    st = real.stats()
    # counted independently from the files: 4206 expression rows, 860 of them micro,
    # 98 subjects, 956 (subject, video) pairs; all 860 label rows join.
    assert st["subjects"] == 98
    assert st["videos"] == 956
    assert st["micro"] == 860
    assert st["macro"] == 3346
    assert st["emotions7"] == {"disgust": 250, "surprise": 187, "others": 161, "fear": 86,
                               "anger": 64, "sad": 57, "happy": 55}
    assert st["emotions4"] == {"negative": 457, "positive": 55, "surprise": 187, "others": 161}
    assert real.unlabelled_micro == [] and real.labels_without_expression == []


def test_real_rows_are_converted(real):
    # first micro-expression of the file: spNO.1 a 355 359 360, AU 5, class II, "others"
    first = real.micro[0]
    assert (first.subject, first.video, first.onset, first.apex, first.offset) == (
        "spNO.1", "a", 354, 358, 359)
    assert first.emotion == "others" and first.extra == {"au": "5", "objective_class": "II"}
    # a cell stored as a number (160.0) joins with the label file's "160"
    row = [iv for iv in real.micro if iv.subject == "spNO.149" and iv.onset == 111]
    assert len(row) == 1 and row[0].apex == 159 and row[0].emotion
    # frame 0 in the file is clamped, "J" is lower-cased
    assert any(iv.subject == "spNO.216" and iv.video == "e" and iv.onset == 0 for iv in real.micro)
    assert not any(iv.video == "J" for iv in real.intervals)
    assert Counter(iv.emotion for iv in real.micro)["others"] == 161  # "Others" x3 folded in


def test_files_found_by_header(reference_dir):
    e, lab = find_annotation_files(reference_dir / "casme3-annotations")
    assert e.suffix == ".xls" and lab.suffix == ".xlsx"


def test_dataset_stats_command_on_real_annotations(reference_dir, capsys):
    rc = main(["dataset", "stats", "--annotations", str(reference_dir / "casme3-annotations"),
               "--json"])
    assert rc == 0
    st = json.loads(capsys.readouterr().out)
    assert set(st) == {"subjects", "videos", "micro", "macro", "emotions7", "emotions4"}
    assert (st["subjects"], st["videos"], st["micro"], st["macro"]) == (98, 956, 860, 3346)
    assert sum(st["emotions4"].values()) == 860


def test_subject_id():
    assert subject_id("spNO.7") == "spNO.7"
    assert subject_id("sp NO 7") == "spNO.7"
    assert subject_id(7) == "spNO.7" and subject_id("7") == "spNO.7"


def _tiny(tmp_path, layout="nested"):
    root = tmp_path / "ds"
    write_tables(root / "annotations",
                 [("spNO.1", "a", 3, 5, 8, "12", "Micro-expression", "I"),
                  ("spNO.1", "a", 10, 14, 19, "4", "Macro-expression", "III"),
                  ("spNO.2", "b", "4", "6", "9", "1+2", "Micro-expression", "II")],
                 [("spNO.1", "a", 3, 5, 8, "12", "I", "Happy"),
                  ("spNO.2", "b", 4, 6, 9, "1+2", "II", "surprise")])
    if layout == "nested":
        write_frames(root / "data" / "part_A" / "spNO.1" / "a", range(1, 21))
        write_frames(root / "data" / "part_A" / "spNO.2" / "b", range(1, 16))
    else:  # split trees: RGB/spNO.1/a/<n>.jpg and depth/spNO.1/a/<n>.png
        for s, v, n in (("spNO.1", "a", 20), ("spNO.2", "b", 15)):
            write_frames(root / "RGB" / s / v, range(1, n + 1), color_sub="",
                         depth_dir=root / "depth" / s / v)
    return root


@pytest.mark.parametrize("layout", ["nested", "split"])
def test_discovery_and_join(tmp_path, layout):
    root = _tiny(tmp_path, layout)
    ds = load_dataset(root)
    assert [v.key for v in ds.videos] == [("spNO.1", "a"), ("spNO.2", "b")]
    assert ds.problems() == []
    a = ds.videos[0]
    assert a.n_frames == 20 and a.depth_dir is not None
    assert [(iv.type, iv.onset, iv.apex, iv.offset, iv.emotion) for iv in a.intervals] == [
        ("micro", 2, 4, 7, "happy"), ("macro", 9, 13, 18, "")]
    f = a.read_frame(3)
    assert f.color.shape == (24, 32, 3) and f.depth.dtype.name == "uint16"
    assert int(f.depth[0, 0]) == 604  # frame index 3 is file 4.png
    st = ds.stats()
    assert (st["subjects"], st["videos"], st["micro"], st["macro"], st["frames"]) == (2, 2, 2, 1, 35)
    assert st["emotions4"]["positive"] == 1 and st["emotions7"]["surprise"] == 1


def test_missing_video_and_frames_are_reported(tmp_path):
    root = _tiny(tmp_path)
    (root / "data" / "part_A" / "spNO.1" / "a" / "color" / "7.jpg").unlink()
    (root / "data" / "part_A" / "spNO.1" / "a" / "depth" / "9.png").unlink()
    import shutil

    shutil.rmtree(root / "data" / "part_A" / "spNO.2")
    write_frames(root / "data" / "part_A" / "spNO.3" / "c", range(1, 5))
    ds = load_dataset(root)
    probs = ds.problems()
    assert any("spNO.2/b: annotated but no frame folder" in p for p in probs)
    assert any("1 colour frame(s) missing" in p and "[7]" in p for p in probs)
    assert any("depth frame(s) missing" in p and "9" in p for p in probs)
    with pytest.raises(DatasetError, match="problem"):
        ds.check()


def test_stats_command_with_root(tmp_path, capsys):
    root = _tiny(tmp_path)
    assert main(["dataset", "stats", "--root", str(root), "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert (st["subjects"], st["videos"], st["micro"], st["macro"]) == (2, 2, 2, 1)


def test_bad_inputs_raise_dataset_errors(tmp_path, capsys):
    with pytest.raises(DatasetError, match="does not exist"):
        discover_videos(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no video folders"):
        discover_videos(tmp_path / "empty")
    write_tables(tmp_path / "bad", [("spNO.1", "a", "x", 5, 8, "12", "Micro-expression", "I")],
                 [("spNO.1", "a", 3, 5, 8, "12", "I", "happy")])
    with pytest.raises(DatasetError, match="row 2, column 'Onset'"):
        read_annotations(tmp_path / "bad")
    write_tables(tmp_path / "bad2", [("spNO.1", "a", 3, 5, 8, "12", "Micro-expression", "I")],
                 [("spNO.1", "a", 3, 5, 8, "12", "I", "joy")])
    with pytest.raises(DatasetError, match="column 'emotion'"):
        read_annotations(tmp_path / "bad2")
    assert main(["dataset", "stats", "--annotations", str(tmp_path / "empty")]) == 2
    assert "expected one expression table" in capsys.readouterr().err


def test_depth_png_not_16_bit_or_not_aligned_is_a_dataset_error(tmp_path):
    import cv2
    import numpy as np

    root = _tiny(tmp_path)
    ddir = root / "data" / "part_A" / "spNO.1" / "a" / "depth"
    cv2.imwrite(str(ddir / "2.png"), np.full((24, 32), 60, np.uint8))  # 8-bit: not mm
    cv2.imwrite(str(ddir / "3.png"), np.full((12, 16), 600, np.uint16))  # other size
    v = load_dataset(root).videos[0]
    with pytest.raises(DatasetError, match="16-bit"):
        v.read_frame(1)
    with pytest.raises(DatasetError, match="aligned"):
        v.read_frame(2)


def test_split_modules_are_reexported_by_casme3():
    from rt_sfamnet.datasets import annotations, casme3, folders, subjects

    for module in (annotations, folders):
        for name in module.__all__:
            assert getattr(casme3, name) is getattr(module, name), name
    assert casme3.subject_id is subjects.subject_id
    assert subjects.subject_id(3.0) == subjects.subject_id(" sp NO 3") == "spNO.3"
    assert sorted(["spNO.10", "x", "spNO.2"], key=subjects.subject_sort_key) == [
        "spNO.2", "spNO.10", "x"]
