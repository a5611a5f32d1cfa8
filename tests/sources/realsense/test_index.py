"""Recording files: the ground-truth sidecar name, the file checks, the CDR string decoder,
the one frame index (numbering, pairing, seek positions) on the test clip and a holed copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from rt_sfamnet.errors import RecordingError, SourceError
from rt_sfamnet.sources.realsense.index import (
    RecordingIndex,
    _cdr_string,
    _check_recording_file,
    ground_truth_path,
)
from tests.recording_edits import holed_copy

CLIP = Path(__file__).resolve().parents[3] / "recordings" / "clip.db3"


def test_ground_truth_path() -> None:
    assert ground_truth_path("x/demo.db3") == Path("x/demo.gt.csv")
    assert ground_truth_path("demo.bag") == Path("demo.gt.csv")


def test_cdr_string_little_and_big_endian() -> None:
    text = b"Frame number=7;timestamp=12.5"
    little = b"\x00\x01\x00\x00" + len(text).to_bytes(4, "little") + text + b"\x00"
    big = b"\x00\x00\x00\x00" + len(text).to_bytes(4, "big") + text
    assert _cdr_string(little) == _cdr_string(big) == text.decode()
    assert _cdr_string(b"\x00\x01") == ""


def test_index_of_the_clip() -> None:
    ix = RecordingIndex(CLIP)
    ix.close()
    assert len(ix) == len(ix.depth) == 60 and ix.frame_count == 60 and ix.fps == 30.0
    assert ix.nominal == list(range(60)) and ix.pair == list(range(60)) and all(ix.depth_ok)
    assert ix.registered and ix.color.intrinsics == ix.depth.intrinsics
    assert ix.color.times == sorted(ix.color.times) and ix.start_ns <= ix.color.times[0]
    assert ix.rank_of(0) == 0 and ix.rank_of(59) == 59
    assert ix.color.rank(ix.color.numbers[7], ix.color.stamps_ms[7]) == 7
    assert ix.color.rank(ix.color.numbers[7], ix.color.stamps_ms[7] + 5.0) is None  # not 7's
    assert ix.depth.rank(10_000, 0.0) is None
    with pytest.raises(SourceError, match="past the end: the recording has 60 frames"):
        ix.rank_of(60)
    with pytest.raises(SourceError, match=">= 0"):
        ix.rank_of(-1)


def test_index_of_a_holed_copy(tmp_path: Path) -> None:
    """Colour frames 20..31 lost, depth 40..44 lost: numbers keep their times, seeks go to
    the next frame, colour without depth of its moment is not paired."""
    path = holed_copy(CLIP, tmp_path / "holes.db3", "Color", range(20, 32))
    from tests.recording_edits import drop_frames

    drop_frames(path, "Depth", range(40, 45))
    ix = RecordingIndex(path)
    ix.close()
    assert len(ix) == 48 and ix.frame_count == 60
    assert ix.nominal == list(range(20)) + list(range(32, 60))
    assert ix.rank_of(25) == ix.rank_of(32) == 20
    lost = [ix.nominal[i] for i, ok in enumerate(ix.depth_ok) if not ok]
    assert lost == list(range(40, 45))


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
