"""A damaged recording ends in one RecordingError naming the file and where reading stopped,
on the SDK-free path too (rosbags + SQLite), and libpng prints nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rt_sfamnet.errors import RecordingError
from rt_sfamnet.sources.realsense.damage import guard_frames, stopped_at
from rt_sfamnet.sources.realsense.playback import PlaybackSource


def test_stopped_at_words_the_start_too():
    assert stopped_at(-1, 60) == "before its first frame (none of 60 read)"
    assert stopped_at(52, 60) == "after frame 52 of 60 (frames are numbered from 0)"
    assert stopped_at(-1, None) == "before its first frame (none read)"


def test_guard_names_the_file_and_the_last_frame_read():
    from types import SimpleNamespace

    def frames():
        yield SimpleNamespace(index=4)
        yield SimpleNamespace(index=5)
        raise OSError(5, "Input/output error")

    got = []
    with pytest.raises(RecordingError) as info:
        for f in guard_frames(frames(), "rec.db3", 10, start=4):
            got.append(f.index)
    assert got == [4, 5]
    assert str(info.value) == ("rec.db3: damaged recording: reading stopped after frame 5 of 10 "
                               "(frames are numbered from 0) (OSError: [Errno 5] Input/output "
                               "error)")


def _damaged_copies(recording: Path, tmp_path: Path):
    data = recording.read_bytes()
    for k, frac in enumerate(np.linspace(0.05, 0.97, 24)):
        b = bytearray(data)
        at = int(len(b) * frac)
        b[at:at + 2048] = bytes(range(256)) * 8
        p = tmp_path / f"damaged{k}.db3"
        p.write_bytes(bytes(b))
        yield p


def test_every_damaged_copy_ends_in_one_recording_error_naming_it(recording, tmp_path, capfd):
    outcomes = {"open": 0, "midway": 0, "whole": 0}
    for p in _damaged_copies(recording, tmp_path):
        try:
            src = PlaybackSource(p, backend="rosbags").open()
        except RecordingError as exc:
            assert str(exc).startswith(f"{p}: ") and "\n" not in str(exc)
            outcomes["open"] += 1
            continue
        last, total = -1, src.frame_count
        try:
            with src:
                for f in src:
                    last = f.index
        except RecordingError as exc:
            msg = str(exc)
            assert msg.startswith(f"{p}: ") and "\n" not in msg
            assert stopped_at(last, total) in msg
            outcomes["midway"] += 1
        else:
            outcomes["whole"] += 1
    assert outcomes["midway"] >= 1, outcomes  # the case of the issue: fails while playing
    assert "libpng" not in capfd.readouterr().err
