"""Synthetic datasets in the CAS(ME)^3 part A layout."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from rt_sfamnet.errors import DatasetError
from rt_sfamnet.intervals import read_intervals
from rt_sfamnet.sim import dataset as D


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    ivs = D.write_dataset(out, subjects=2, seed=5, videos_per_subject=2, seconds=4.0,
                          width=160, height=120, workers=1)
    return out, ivs


def test_layout_and_frames(small_dataset):
    out, ivs = small_dataset
    root = out / "data" / "part_A"
    assert sorted(p.name for p in root.iterdir()) == ["spNO.1", "spNO.2"]
    for subj in ("spNO.1", "spNO.2"):
        assert sorted(p.name for p in (root / subj).iterdir()) == ["a", "b"]
        colour = root / subj / "a" / "color"
        depth = root / subj / "a" / "depth"
        names = sorted(int(p.stem) for p in colour.glob("*.jpg"))
        assert names == list(range(1, 121))  # 1-based, unpadded, no gaps
        assert sorted(int(p.stem) for p in depth.glob("*.png")) == names
        c = cv2.imread(str(colour / "1.jpg"))
        d = cv2.imread(str(depth / "1.png"), cv2.IMREAD_UNCHANGED)
        assert c.shape == (120, 160, 3)
        assert d.dtype == np.uint16 and d.shape == (120, 160)
        face = d[40:80, 60:100]
        assert 450 < np.median(face[face > 0]) < 850  # millimetres
    assert D.dataset_depth_mm(root / "spNO.1" / "b" / "depth" / "7.png").dtype == np.uint16


def test_annotation_files_have_the_real_columns(small_dataset):
    from openpyxl import load_workbook

    out, ivs = small_dataset
    ann = out / "annotations"
    wb = load_workbook(ann / D.EXPRESSIONS_FILE)
    assert wb.sheetnames == ["AU+Emotion", "eye blink"]
    rows = list(wb["AU+Emotion"].iter_rows(values_only=True))
    assert rows[0] == ("Subject", "Filename", "Onset", "Apex", "Offset", "AU",
                       "Expression type", "Objective class")
    body = rows[1:]
    assert len(body) == len(ivs) > 0
    for r in body:
        assert r[0] in ("spNO.1", "spNO.2") and r[1] in ("a", "b")
        assert 1 <= int(r[2]) < int(r[3]) < int(r[4]) <= 120
        assert r[6] in ("Micro-expression", "Macro-expression")
        assert r[7] in ("I", "II", "III", "IV", "V", "VI", "VII")
        assert all(p.isdigit() for p in r[5].split("+"))
    me = list(load_workbook(ann / D.ME_LABELS_FILE)["label"].iter_rows(values_only=True))
    assert me[0] == ("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class",
                     "emotion")
    n_micro = sum(r[6] == "Micro-expression" for r in body)
    assert len(me) - 1 == n_micro
    for r in me[1:]:
        assert r[7] == r[7].lower() and r[7] in ("disgust", "surprise", "others", "fear", "anger",
                                                  "sad", "happy")
    # the interval file says the same in 0-based frames (file n is frame n - 1)
    file_ivs = read_intervals(ann / "intervals.csv")
    assert [(i.subject, i.video, i.onset, i.apex, i.offset, i.type) for i in file_ivs] == [
        (r[0], r[1], int(r[2]) - 1, int(r[3]) - 1, int(r[4]) - 1,
         "micro" if r[6] == "Micro-expression" else "macro") for r in body]
    info = json.loads((ann / "simulation.json").read_text())
    assert info["subjects"] == 2 and len(info["videos"]) == 4
    assert info["videos"][0]["identity"] != info["videos"][2]["identity"]


def test_columns_match_the_real_annotations(reference_dir):
    """Our column names are those of the real CAS(ME)^3 part A files."""
    import xlrd
    from openpyxl import load_workbook

    ann = reference_dir / "casme3-annotations"
    book = xlrd.open_workbook(str(ann / "CAS(ME)3_part_A_v2.xls"))
    assert tuple(book.sheet_by_index(0).row_values(0)) == D.EXPRESSION_COLUMNS
    assert tuple(book.sheet_by_index(1).row_values(0)) == D.BLINK_COLUMNS
    ws = load_workbook(ann / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx").worksheets[0]
    assert next(ws.iter_rows(values_only=True))[:8] == D.ME_COLUMNS


def test_folder_source_reads_a_synthetic_video(small_dataset):
    from rt_sfamnet.sources.folder import FolderSource

    out, _ = small_dataset
    with FolderSource(out / "data" / "part_A" / "spNO.2" / "b") as src:
        frames = list(src)
    assert len(frames) == 120
    assert frames[0].index == 0 and frames[-1].index == 119  # file n is frame n - 1
    assert frames[0].depth.dtype == np.uint16


def test_refuses_to_overwrite(small_dataset):
    out, _ = small_dataset
    with pytest.raises(DatasetError, match="already holds"):
        D.write_dataset(out, subjects=1, seed=1, videos_per_subject=1, seconds=1.0)
    with pytest.raises(DatasetError):
        D.write_dataset(out / "x", subjects=0, seed=1)


def test_video_names():
    assert [D.video_name(i) for i in (0, 1, 25, 26)] == ["a", "b", "z", "aa"]
    assert D.subject_name(3) == "spNO.3"
