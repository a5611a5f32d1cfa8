"""Messages name what exists: the file and frame that is damaged, and only options the
command line has."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import cv2
import numpy as np

from rt_sfamnet.cli import build_parser, main


def _folder(root: Path, numbers) -> Path:
    (root / "color").mkdir(parents=True)
    (root / "depth").mkdir()
    for n in numbers:
        img = np.full((48, 64, 3), 40 + n, np.uint8)
        cv2.imwrite(str(root / "color" / f"{n}.jpg"), img)
        cv2.imwrite(str(root / "depth" / f"{n}.png"), np.full((48, 64), 600 + n, np.uint16))
    return root


def _analyze_options() -> set[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return {o for a in sub.choices["analyze"]._actions for o in a.option_strings}


def _run(source: Path, weights: Path, out: Path, capfd) -> tuple[int, list[str]]:
    rc = main(["analyze", str(source), "--out", str(out), "--weights", str(weights),
               "--no-progress", "--device", "cpu"])
    err = [ln for ln in capfd.readouterr().err.splitlines() if ln.strip()]
    return rc, err


def test_a_gap_in_a_frame_folder_names_no_option_the_cli_lacks(tmp_path, weights_file, capfd):
    folder = _folder(tmp_path / "v", [1, 2, 3, 5, 6])
    rc, err = _run(folder, weights_file, tmp_path / "out", capfd)
    line = [ln for ln in err if "error:" in ln]
    assert rc == 2 and len(line) == 1, err
    assert "1 frame number(s) missing between 1 and 6 (first [4])" in line[0]
    named = set(re.findall(r"(?<![\w-])--[a-z][\w-]*", line[0]))
    assert named <= _analyze_options()
    assert "pass allow_gaps=True" not in line[0]  # a Python argument is named as Python
    assert "FolderSource(path, allow_gaps=True)" in line[0]


def test_a_damaged_depth_frame_names_the_file_and_libpng_stays_quiet(tmp_path, weights_file,
                                                                      capfd):
    folder = _folder(tmp_path / "v", range(1, 13))
    png = folder / "depth" / "9.png"
    b = bytearray(png.read_bytes())
    b[len(b) // 2] ^= 0xFF
    png.write_bytes(bytes(b))
    rc, err = _run(folder, weights_file, tmp_path / "out", capfd)
    assert rc == 2
    errors = [ln for ln in err if "error:" in ln]
    assert len(errors) == 1 and f"{png}: damaged PNG image" in errors[0], err
    assert not any("libpng" in ln or "Traceback" in ln for ln in err), err
    shutil.rmtree(folder)
