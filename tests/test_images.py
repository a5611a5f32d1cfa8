"""Damaged PNG frames are refused with a message naming the file, before libpng can print
its own line; sound ones decode exactly as OpenCV does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from rt_sfamnet.errors import DatasetError, SourceError
from rt_sfamnet.images import check_png, read_png

REPO = Path(__file__).resolve().parents[1]


def _depth_png() -> bytes:
    d = np.random.default_rng(3).integers(0, 4000, (48, 64)).astype(np.uint16)
    ok, buf = cv2.imencode(".png", d)
    assert ok
    return buf.tobytes()


def test_sound_png_decodes_like_opencv(tmp_path):
    data = _depth_png()
    p = tmp_path / "7.png"
    p.write_bytes(data)
    assert check_png(data) is None
    got = read_png(p, SourceError)
    assert got.dtype == np.uint16 and got.shape == (48, 64)
    assert np.array_equal(got, cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED))


def _damage(data: bytes, how: str) -> bytes:
    b = bytearray(data)
    if how == "flip":
        b[len(b) // 2] ^= 0xFF
    elif how == "cut":
        b = b[: len(b) // 2]
    elif how == "no_end":
        b = b[:-12]
    elif how == "text":
        b = bytearray(b"not a png at all")
    elif how == "empty":
        b = bytearray()
    return bytes(b)


@pytest.mark.parametrize(("how", "words"), [
    ("flip", "does not match its CRC-32"), ("cut", "truncated PNG image"),
    ("no_end", "no end chunk IEND"), ("text", "not a PNG image"), ("empty", "an empty file"),
])
def test_damaged_png_is_one_error_naming_the_file(tmp_path, how, words):
    p = tmp_path / "depth" / "13.png"
    p.parent.mkdir()
    p.write_bytes(_damage(_depth_png(), how))
    with pytest.raises(DatasetError) as info:
        read_png(p, DatasetError)
    assert str(info.value).startswith(f"{p}: ") and words in str(info.value)


def test_every_single_byte_flip_is_refused_or_decodes_the_same():
    data = _depth_png()
    want = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    for at in range(0, len(data), 7):
        b = bytearray(data)
        b[at] ^= 0x5A
        problem = check_png(bytes(b))
        if problem is None:  # only bytes no decoder reads can change without a CRC failing
            got = cv2.imdecode(np.frombuffer(bytes(b), np.uint8), cv2.IMREAD_UNCHANGED)
            assert got is not None and np.array_equal(got, want)


def test_libpng_prints_nothing_for_a_damaged_frame(tmp_path):
    """In a real process (libpng writes to file descriptor 2, which pytest cannot see
    through sys.stderr)."""
    p = tmp_path / "1.png"
    p.write_bytes(_damage(_depth_png(), "flip"))
    code = ("import sys; from rt_sfamnet.images import read_png; from rt_sfamnet.errors import "
            f"SourceError\ntry:\n    read_png({str(p)!r}, SourceError)\nexcept SourceError as e:"
            "\n    print(e)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"{p}: damaged PNG image") and r.stderr == ""
