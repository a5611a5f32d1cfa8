"""Simulator throughput on this machine (prints JSON).

- ``render_fps``: 640×480 frames rendered per second (colour, D415-like depth, meta),
  after the one-off template and field set-up (``setup_s``);
- ``render_fps_per_cpu_s``: the same per second of this process's CPU time (robust to other
  load on the machine; OpenCV may use a second core, which lowers it);
- ``render_fps_320``: the same at 320×240;
- ``recording_write_fps``: frames per second through
  :func:`rt_sfamnet.sources.realsense.write_recording` (rendering included, compressed .db3);
- ``dataset_write_fps``: frames per second written as JPEG + 16-bit PNG by one process.

Usage: ``python benchmarks/simulator.py [--frames N]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=150, help="frames per measurement")
    args = ap.parse_args()
    from rt_sfamnet.sim import make_renderer
    from rt_sfamnet.sim.dataset import VideoJob, write_video

    n = args.frames
    out: dict = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                 "frames": n,
                 "load_average_1min_before": round(os.getloadavg()[0], 2)}
    t0 = time.perf_counter()
    r = make_renderer(seed=1, identity=0, width=640, height=480, duration_s=n / 30 + 1)
    out["setup_s"] = round(time.perf_counter() - t0, 3)
    r.render(0)
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(n):
        r.render(i)
    out["render_fps"] = round(n / (time.perf_counter() - t0), 1)
    # frames per second of this process's CPU time: less sensitive to other load on the machine
    out["render_fps_per_cpu_s"] = round(n / (time.process_time() - c0), 1)
    r2 = make_renderer(seed=1, identity=0, width=320, height=240, duration_s=n / 30 + 1)
    r2.render(0)
    t0 = time.perf_counter()
    for i in range(n):
        r2.render(i)
    out["render_fps_320"] = round(n / (time.perf_counter() - t0), 1)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            from rt_sfamnet.sources.realsense import write_recording

            path = Path(tmp) / "bench.db3"
            t0 = time.perf_counter()
            k = write_recording(r.frames(0, n), path, fps=30)
            dt = time.perf_counter() - t0
            out["recording_write_fps"] = round(k / dt, 1)
            out["recording_mb_per_frame"] = round(path.stat().st_size / k / 1e6, 3)
        except ImportError as exc:  # pyrealsense2 missing
            out["recording_write_fps"] = None
            out["recording_error"] = str(exc)
        job = VideoJob(tmp, 1, 0, 1, 0, n / 30, 640, 480, 30.0, 92, 0.6)
        t0 = time.perf_counter()
        k = write_video(job)
        out["dataset_write_fps"] = round(k / (time.perf_counter() - t0), 1)
    out["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
