"""Recording files: the ground-truth sidecar name, the file checks, the CDR string decoder."""

from __future__ import annotations

from pathlib import Path

import pytest

from rt_sfamnet.errors import RecordingError
from rt_sfamnet.sources.realsense.index import (
    _cdr_string,
    _check_recording_file,
    _recording_index,
    ground_truth_path,
)


def test_ground_truth_path() -> None:
    assert ground_truth_path("x/demo.db3") == Path("x/demo.gt.csv")
    assert ground_truth_path("demo.bag") == Path("demo.gt.csv")


def test_cdr_string_little_and_big_endian() -> None:
    text = b"Frame number=7;timestamp=12.5"
    little = b"\x00\x01\x00\x00" + len(text).to_bytes(4, "little") + text + b"\x00"
    big = b"\x00\x00\x00\x00" + len(text).to_bytes(4, "big") + text
    assert _cdr_string(little) == _cdr_string(big) == text.decode()
    assert _cdr_string(b"\x00\x01") == ""


def test_bag_files_have_no_index(tmp_path: Path) -> None:
    assert _recording_index(tmp_path / "old.bag") is None


def test_file_checks(tmp_path: Path) -> None:
    folder = tmp_path / "dir.db3"
    folder.mkdir()
    with pytest.raises(RecordingError, match="is not a file"):
        _check_recording_file(folder)
    other = tmp_path / "x.mp4"
    other.write_bytes(b"0" * 32)
    with pytest.raises(RecordingError, match="expected a .db3 or .bag recording, found '.mp4'"):
        _check_recording_file(other)
    good = tmp_path / "ok.db3"
    good.write_bytes(b"SQLite format 3\x00" + b"\x00" * 84)
    _check_recording_file(good)  # the header is right: no error
