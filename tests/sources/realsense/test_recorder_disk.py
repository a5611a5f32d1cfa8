"""A disk that refuses the recorder's writes fails the recording within about a second of
the first write that did not land, not after the 60-s stall timeout."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from rt_sfamnet.errors import RecordingError
from rt_sfamnet.sources.realsense import recorder


def test_disk_refuses_reports_a_failed_probe_write(tmp_path, monkeypatch):
    assert recorder.disk_refuses(tmp_path) is None
    real_write = os.write

    def full(fd, data):
        if fd > 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full)
    exc = recorder.disk_refuses(tmp_path)
    assert isinstance(exc, OSError) and exc.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []  # the probe file is removed


def test_a_stalled_recorder_on_a_full_disk_fails_at_once(tmp_path: Path, monkeypatch):
    """The recorder wrote nothing (no .db3 yet) and the disk refuses: RecordingError naming
    the target, long before ``_WRITE_STALL_S``."""
    monkeypatch.setattr(recorder, "_DISK_CHECK_S", 0.0)
    monkeypatch.setattr(recorder, "_WRITE_STALL_S", 1e9)  # only the disk check can end it
    monkeypatch.setattr(recorder, "disk_refuses",
                        lambda folder: OSError(errno.ENOSPC, "No space left on device"))
    progress = recorder._WriteProgress(tmp_path / "x.part.db3", tmp_path / "x.db3")
    with pytest.raises(RecordingError) as info:
        progress.wait_backlog(list(range(20)), 0)
    assert str(info.value) == f"cannot write the recording {tmp_path / 'x.db3'}: No space left " \
                              "on device"
    with pytest.raises(RecordingError, match="No space left on device"):
        progress.wait_written({"Color": 3, "Depth": 3})


def test_a_healthy_disk_is_not_blamed(tmp_path: Path, monkeypatch):
    calls = []
    monkeypatch.setattr(recorder, "_DISK_CHECK_S", 0.0)
    monkeypatch.setattr(recorder, "_WRITE_STALL_S", 0.0)
    real = recorder.disk_refuses
    monkeypatch.setattr(recorder, "disk_refuses", lambda f: calls.append(f) or real(f))
    progress = recorder._WriteProgress(tmp_path / "x.part.db3")
    with pytest.raises(RecordingError, match="the recorder stopped writing after 0 of 5"):
        progress.wait_backlog(list(range(5)), 0)
    assert calls == [tmp_path]
