"""Reading JPEG and PNG frames without accepting damaged files, and without libpng's noise.

libjpeg (through OpenCV) decodes a truncated JPEG with only a warning on stderr ("Premature
end of JPEG file") and fills the missing part with grey, which would be analysed as a real
frame. :func:`read_jpeg` checks the file's structure first: it must start with the JPEG
start-of-image marker (``FF D8``) and end with the end-of-image marker (``FF D9``; trailing
zero padding allowed). Damage inside the compressed data of a complete file (flipped bits)
cannot be told apart from image content by this check.

libpng (through OpenCV) prints its own line on stderr ("libpng error: bad adaptive filter
value") for a damaged PNG before OpenCV returns None. :func:`check_png` therefore walks the
PNG's chunks first and verifies every chunk's CRC-32 (about 0.3 ms for a 640×480 depth
frame): a truncated file, a flipped bit or a missing end chunk is refused with a message
naming the file and the chunk, and only a structurally sound PNG reaches the decoder.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from rt_sfamnet.errors import RtSfamnetError


def read_jpeg(path: str | Path, error: type[RtSfamnetError]) -> np.ndarray:
    """The JPEG at ``path`` as an (H, W, 3) uint8 BGR array.

    Raises ``error`` (e.g. SourceError, DatasetError) naming the file when it cannot be read,
    is not a JPEG, is truncated or cannot be decoded.
    """
    import cv2

    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise error(f"{p}: cannot read the JPEG image ({exc.strerror or exc})") from None
    if data[:2] != b"\xff\xd8":
        raise error(f"{p}: cannot be read as a JPEG image (expected the marker FF D8 at the start, found "
                    f"{data[:2].hex(' ').upper() or 'an empty file'})")
    if data.rstrip(b"\x00")[-2:] != b"\xff\xd9":
        raise error(f"{p}: truncated or damaged JPEG image (no end-of-image marker FF D9 at the "
                    f"end of its {len(data)} bytes)")
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise error(f"{p}: damaged JPEG image (the decoder refused it)")
    return bgr


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def check_png(data: bytes) -> str | None:
    """None when ``data`` is a whole PNG whose chunks all match their CRC-32, else what is
    wrong ("truncated in chunk IDAT at byte 1234 of 5000")."""
    if data[:8] != PNG_SIGNATURE:
        return (f"not a PNG image (expected the PNG signature at the start, found "
                f"{data[:8].hex(' ').upper() or 'an empty file'})")
    pos, first = 8, True
    while True:
        if pos + 8 > len(data):
            return f"truncated PNG image (no end chunk IEND in its {len(data)} bytes)"
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        name = kind.decode("latin-1")
        end = pos + 12 + length
        if end > len(data):
            return (f"truncated PNG image (chunk {name!r} at byte {pos} needs {length} bytes, "
                    f"the file has {len(data)})")
        if first and kind != b"IHDR":
            return f"damaged PNG image (expected the header chunk IHDR first, found {name!r})"
        (crc,) = struct.unpack(">I", data[end - 4:end])
        if zlib.crc32(data[pos + 4:end - 4]) != crc:
            return f"damaged PNG image (chunk {name!r} at byte {pos} does not match its CRC-32)"
        if kind == b"IEND":
            return None
        pos, first = end, False


def decode_png(data: bytes, where: str, error: type[RtSfamnetError]) -> np.ndarray:
    """A PNG held in ``data`` decoded as stored (16-bit depth stays uint16; colour is BGR).

    Raises ``error`` starting with ``where`` (the file, or the recording and frame) when the
    PNG is damaged; libpng never gets to print anything for such a file.
    """
    import cv2

    problem = check_png(data)
    if problem is not None:
        raise error(f"{where}: {problem}")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:  # pragma: no cover - sound chunks that libpng still refuses
        raise error(f"{where}: damaged PNG image (the decoder refused it)")
    return img


def read_png(path: str | Path, error: type[RtSfamnetError]) -> np.ndarray:
    """The PNG at ``path`` as stored (e.g. an (H, W) uint16 depth frame in millimetres).

    Raises ``error`` naming the file when it cannot be read, is not a PNG or is damaged.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise error(f"{p}: cannot read the PNG image ({exc.strerror or exc})") from None
    return decode_png(data, str(p), error)
