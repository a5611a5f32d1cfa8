"""Synthetic datasets in the CAS(ME)^3 part A layout.

:func:`write_dataset` writes::

    <out>/data/part_A/spNO.<n>/<video>/color/<frame>.jpg    colour, frames numbered from 1
    <out>/data/part_A/spNO.<n>/<video>/depth/<frame>.png    16-bit PNG, millimetres, 0 = none
    <out>/annotations/part_A_expressions.xlsx   sheet "AU+Emotion": Subject, Filename, Onset,
                                                Apex, Offset, AU, Expression type, Objective
                                                class; sheet "eye blink": Subject, Filename,
                                                Onset, Offset
    <out>/annotations/part_A_ME_labels.xlsx     sheet "label": Subject, Filename, Onset, Apex,
                                                Offset, AU, Objective class, emotion
    <out>/annotations/intervals.csv             the same expressions as an interval file
    <out>/annotations/simulation.json           seeds, identities and settings used

Values follow the real annotation files: subjects ``spNO.<n>``, videos ``a``, ``b``, ...,
frame numbers (1-based, equal to the frame file names) and AU codes stored as text,
``Micro-expression`` / ``Macro-expression``, objective classes as Roman numerals (CASME II /
CAS(ME)^3 objective classes of the emotion prototype), emotions lower-case. In
``intervals.csv`` the frames are also the file numbers (= :class:`FolderSource` indices).
Subject ``n`` has identity ``n - 1`` (wrapping after 10), so up to 10 subjects all differ.
"""

from __future__ import annotations

import json
import os
import string
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from rt_sfamnet.errors import DatasetError
from rt_sfamnet.intervals import Interval, write_intervals
from rt_sfamnet.sim.aus import OBJECTIVE_CLASS, au_string
from rt_sfamnet.sim.script import Script, generate_script, script_intervals

EXPRESSION_COLUMNS = ("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Expression type",
                      "Objective class")
ME_COLUMNS = ("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion")
BLINK_COLUMNS = ("Subject", "Filename", "Onset", "Offset")
EXPRESSIONS_FILE = "part_A_expressions.xlsx"
ME_LABELS_FILE = "part_A_ME_labels.xlsx"


def subject_name(n: int) -> str:
    """CAS(ME)^3 subject folder name for subject number ``n`` (1-based): ``spNO.<n>``."""
    return f"spNO.{n}"


def video_name(v: int) -> str:
    """Video name for video number ``v`` (0-based): ``a``, ``b``, ... ``z``, ``aa``, ..."""
    letters = string.ascii_lowercase
    return letters[v] if v < 26 else letters[v // 26 - 1] + letters[v % 26]


def video_seed(seed: int, subject: int, video: int) -> int:
    """Seed of one video of a dataset (distinct for every subject and video)."""
    return int(seed) * 10007 + subject * 101 + video


def casme3_rows(script: Script, subject: str, filename: str) -> tuple[list[dict], list[dict], list[dict]]:
    """CAS(ME)^3-style rows of ``script``: (expressions, ME labels, eye blinks), 1-based frames.

    Each row is a dict keyed by :data:`EXPRESSION_COLUMNS`, :data:`ME_COLUMNS` or
    :data:`BLINK_COLUMNS`; values are text, as in the real annotation files.
    """
    expr, me, blinks = [], [], []
    for e in script.expressions:
        au = au_string(e.aus)
        cls = OBJECTIVE_CLASS[e.emotion]
        base = {"Subject": subject, "Filename": filename, "Onset": str(e.onset + 1),
                "Apex": str(e.apex + 1), "Offset": str(e.offset + 1), "AU": au}
        expr.append({**base, "Expression type": "Micro-expression" if e.type == "micro"
                     else "Macro-expression", "Objective class": cls})
        if e.type == "micro":
            me.append({**base, "Objective class": cls, "emotion": e.emotion})
    for b in script.blinks:
        blinks.append({"Subject": subject, "Filename": filename, "Onset": str(b.start + 1),
                       "Offset": str(b.end + 1)})
    return expr, me, blinks


def write_xlsx(path: Path, sheets: Iterable[tuple[str, tuple[str, ...], list[dict]]]) -> None:
    """Write sheets ``(title, columns, rows)`` to an .xlsx file (atomically) with openpyxl."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for title, columns, rows in sheets:
        ws = wb.create_sheet(title)
        ws.append(list(columns))
        for r in rows:
            ws.append([r[c] for c in columns])
    tmp = path.with_name(path.name + ".tmp.xlsx")
    wb.save(tmp)
    tmp.replace(path)


@dataclass
class VideoJob:
    """One video of a synthetic dataset (picklable, for worker processes)."""

    root: str
    subject: int
    video: int
    seed: int
    identity: int | str
    seconds: float
    width: int
    height: int
    fps: float
    jpeg_quality: int
    micro_fraction: float
    nuisance: bool = False


def _video_script(job: VideoJob) -> Script:
    n = int(round(job.seconds * job.fps))
    return generate_script(job.seed, n, job.fps, micro_fraction=job.micro_fraction,
                           nuisance=job.nuisance)


def write_video(job: VideoJob) -> int:
    """Render one video's frames into its ``color/`` and ``depth/`` folders; returns frames."""
    from rt_sfamnet.sim import make_renderer

    script = _video_script(job)
    r = make_renderer(job.seed, job.identity, job.width, job.height, job.fps, script=script)
    folder = Path(job.root) / subject_name(job.subject) / video_name(job.video)
    cdir, ddir = folder / "color", folder / "depth"
    cdir.mkdir(parents=True, exist_ok=True)
    ddir.mkdir(parents=True, exist_ok=True)
    jpeg = [cv2.IMWRITE_JPEG_QUALITY, int(job.jpeg_quality)]
    png = [cv2.IMWRITE_PNG_COMPRESSION, 1]
    for i in range(r.n_frames):
        color, depth, _ = r.render(i)
        name = str(i + 1)
        if not cv2.imwrite(str(cdir / f"{name}.jpg"), cv2.cvtColor(color, cv2.COLOR_RGB2BGR), jpeg):
            raise DatasetError(f"cannot write {cdir / (name + '.jpg')}")
        if not cv2.imwrite(str(ddir / f"{name}.png"), depth, png):
            raise DatasetError(f"cannot write {ddir / (name + '.png')}")
    return r.n_frames


def write_dataset(out: str | Path, subjects: int, seed: int = 0, videos_per_subject: int = 3,
                  seconds: float = 20.0, width: int = 640, height: int = 480, fps: float = 30.0,
                  jpeg_quality: int = 92, micro_fraction: float = 0.6, workers: int | None = None,
                  progress: bool = False, nuisance: bool = False) -> list[Interval]:
    """Write a synthetic dataset in the CAS(ME)^3 part A layout (see the module docstring).

    Args:
        out: output folder (created; must not already hold a dataset).
        subjects: number of subjects (``spNO.1`` .. ``spNO.<subjects>``).
        seed: dataset seed; every video gets :func:`video_seed` of it.
        videos_per_subject: videos per subject (``a``, ``b``, ...).
        seconds: length of each video.
        width, height, fps: frame format.
        jpeg_quality: JPEG quality of the colour frames.
        micro_fraction: share of micro-expressions among the scripted expressions.
        workers: processes rendering videos in parallel (default: CPU count, at most 4).
        progress: print one line per finished video.
        nuisance: realistic videos: unlabelled head moves, talking, hands, lighting drift,
            noise and compression (:mod:`rt_sfamnet.sim.nuisance`), and a new procedural
            identity (:func:`rt_sfamnet.sim.faces.procedural_identity`) for every subject.

    Returns:
        The ground-truth intervals (frames = file numbers, 1-based).

    Defaults (8 subjects × 3 videos × 20 s at 640×480) give about 14 400 frames with roughly
    5-6 expressions per video, about 60 % micro-expressions.
    """
    out = Path(out)
    if subjects < 1 or videos_per_subject < 1:
        raise DatasetError(f"need at least 1 subject and 1 video, found {subjects} and {videos_per_subject}")
    if seconds * fps < 2:
        raise DatasetError(f"videos of {seconds} s at {fps} fps have fewer than 2 frames")
    root = out / "data" / "part_A"
    ann = out / "annotations"
    if (ann / EXPRESSIONS_FILE).exists() or any(root.glob("spNO.*")) if root.is_dir() else False:
        raise DatasetError(f"{out} already holds a dataset; choose an empty folder")
    root.mkdir(parents=True, exist_ok=True)
    ann.mkdir(parents=True, exist_ok=True)
    from rt_sfamnet.sim.faces import IDENTITIES, identity

    def who(s: int) -> int | str:
        return f"proc{video_seed(seed, s, 0)}" if nuisance else (s - 1) % len(IDENTITIES)

    jobs = [VideoJob(str(root), s, v, video_seed(seed, s, v), who(s), seconds,
                     width, height, fps, jpeg_quality, micro_fraction, nuisance)
            for s in range(1, subjects + 1) for v in range(videos_per_subject)]
    n_workers = workers if workers is not None else min(4, os.cpu_count() or 1)
    if n_workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=n_workers) as ex:
            for job, n in zip(jobs, ex.map(write_video, jobs), strict=True):
                if progress:
                    print(f"{subject_name(job.subject)}/{video_name(job.video)}: {n} frames", flush=True)
    else:
        for job in jobs:
            n = write_video(job)
            if progress:
                print(f"{subject_name(job.subject)}/{video_name(job.video)}: {n} frames", flush=True)
    expr_rows, me_rows, blink_rows, intervals = [], [], [], []
    for job in jobs:
        script = _video_script(job)
        subj, vid = subject_name(job.subject), video_name(job.video)
        e, m, b = casme3_rows(script, subj, vid)
        expr_rows += e
        me_rows += m
        blink_rows += b
        intervals += script_intervals(script, subj, vid, frame_offset=1)
    write_xlsx(ann / EXPRESSIONS_FILE, [("AU+Emotion", EXPRESSION_COLUMNS, expr_rows),
                                        ("eye blink", BLINK_COLUMNS, blink_rows)])
    write_xlsx(ann / ME_LABELS_FILE, [("label", ME_COLUMNS, me_rows)])
    write_intervals(ann / "intervals.csv", intervals)
    info = {
        "generator": "rt_sfamnet.sim.dataset.write_dataset",
        "seed": seed, "subjects": subjects, "videos_per_subject": videos_per_subject,
        "seconds": seconds, "width": width, "height": height, "fps": fps,
        "frame_numbering": "1-based file names; annotation frames equal file numbers",
        "depth_units_mm": 1.0,
        "videos": [{"subject": subject_name(j.subject), "video": video_name(j.video),
                    "seed": j.seed, "identity": identity(j.identity).name} for j in jobs],
        "nuisance": nuisance,
        "source_photos": ["skimage.data.astronaut()", "matplotlib sample data grace_hopper.jpg"],
    }
    (ann / "simulation.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return intervals


def dataset_depth_mm(png_path: str | Path) -> np.ndarray:
    """Read one depth frame of a synthetic dataset (H×W uint16 millimetres)."""
    d = cv2.imread(str(png_path), cv2.IMREAD_UNCHANGED)
    if d is None or d.dtype != np.uint16 or d.ndim != 2:
        raise DatasetError(f"{png_path}: expected a 16-bit single-channel PNG")
    return d
