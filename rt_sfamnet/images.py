"""Reading JPEG frames from disk without accepting damaged files.

libjpeg (through OpenCV) decodes a truncated JPEG with only a warning on stderr ("Premature
end of JPEG file") and fills the missing part with grey, which would be analysed as a real
frame. :func:`read_jpeg` checks the file's structure first: it must start with the JPEG
start-of-image marker (``FF D8``) and end with the end-of-image marker (``FF D9``; trailing
zero padding allowed). Damage inside the compressed data of a complete file (flipped bits)
cannot be told apart from image content by this check.
"""

from __future__ import annotations

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
