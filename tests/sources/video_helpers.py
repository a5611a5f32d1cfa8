"""Small test videos written with PyAV (real encoders, real containers)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

W, H = 64, 48


def image(i: int) -> np.ndarray:
    """Frame ``i``: a smooth gradient whose red level grows with ``i`` and a moving bar."""
    yy, xx = np.mgrid[0:H, 0:W]
    img = np.dstack([np.full((H, W), (20 + 6 * i) % 256), 2 * xx + 40, 3 * yy + 20])
    img = img.astype(np.uint8)
    img[10:20, (3 * i) % (W - 4):(3 * i) % (W - 4) + 4] = 255
    return img


def write_video(path: Path, times_ms: list[int], codec: str = "libx264",
                options: dict | None = None) -> Path:
    """A video whose frame ``i`` is presented at ``times_ms[i]`` milliseconds."""
    import av

    with av.open(str(path), "w", options=options or {}) as container:
        stream = container.add_stream(codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.time_base = Fraction(1, 1000)
        stream.codec_context.time_base = Fraction(1, 1000)
        for i, t in enumerate(times_ms):
            frame = av.VideoFrame.from_ndarray(image(i), format="rgb24")
            frame.pts, frame.time_base = int(t), Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def truncated_copy(src: Path, dst: Path, keep: float = 0.6) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst


def container_truth(path: Path) -> tuple[list[float], float]:
    """(every frame's presentation time, the stream's declared end) in seconds, from PyAV."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        times = [float(f.time) for f in c.decode(s)]
        end = float((s.start_time or 0) * s.time_base + s.duration * s.time_base)
    return times, end


#: A variable-frame-rate schedule: gaps of 15-42 ms, median 33 ms (like a phone clip).
VFR_MS = [0, 33, 66, 81, 123, 156, 189, 222, 264, 297, 330, 345, 378, 411, 453, 486, 519,
          552, 585, 618]
