"""Small on-disk datasets in the CAS(ME)^3 part A layout for the dataset tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

EXPR_HEADER = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Expression type",
               "Objective class"]
LABEL_HEADER = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class",
                "emotion"]


def write_tables(folder: Path, expressions: list[tuple], labels: list[tuple]) -> None:
    """Write the two annotation tables as .xlsx (rows as in the real files, 1-based frames)."""
    import openpyxl

    folder.mkdir(parents=True, exist_ok=True)
    for name, header, rows in (("part_A_expressions.xlsx", EXPR_HEADER, expressions),
                               ("part_A_ME_labels.xlsx", LABEL_HEADER, labels)):
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(header)
        for r in rows:
            ws.append(list(r))
        wb.save(folder / name)


def write_frames(video_dir: Path, numbers, size=(32, 24), depth_dir: Path | None = None,
                 color_sub: str = "color") -> None:
    """Numbered JPEG colour frames and 16-bit PNG depth frames."""
    cdir = video_dir / color_sub if color_sub else video_dir
    ddir = depth_dir if depth_dir is not None else video_dir / "depth"
    cdir.mkdir(parents=True, exist_ok=True)
    ddir.mkdir(parents=True, exist_ok=True)
    w, h = size
    for n in numbers:
        img = np.full((h, w, 3), (n * 7) % 255, np.uint8)
        cv2.imwrite(str(cdir / f"{n}.jpg"), img)
        cv2.imwrite(str(ddir / f"{n}.png"), np.full((h, w), 600 + n, np.uint16))


def label_level_extract_video(video, fcfg, frame_skip, k_sw, batch=32, tracker=None,
                              intrinsics=None, progress=None, min_depth_fraction=None):
    """:func:`rt_sfamnet.datasets.extract.extract_video` without the flow: the real sample
    schedule and ground-truth samples of the video's labels, zero maps. Tests put it in
    place of the real one (``monkeypatch``) to exercise the label and index level of
    extraction (what the cache keeps, redoes, moves) in milliseconds."""
    from rt_sfamnet.datasets.cache import MAP_SHAPE, VideoFeatures
    from rt_sfamnet.datasets.labels import gt_samples, sample_frames

    starts = sample_frames(video.n_frames, frame_skip, k_sw)
    gts = gt_samples(video.intervals, video.n_frames)
    return VideoFeatures(video.subject, video.video, np.zeros((len(starts),) + MAP_SHAPE,
                                                              np.float32),
                         starts, np.ones(len(starts), bool),
                         np.zeros((len(gts),) + MAP_SHAPE, np.float32), gts,
                         list(video.intervals), video.n_frames)
