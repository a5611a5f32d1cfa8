"""Benchmark: is the desktop app smooth while the engine runs on the CPU?

Opens the main window (offscreen unless a display is set) on a source, lets the real engine
run, and measures on the GUI thread:

- the redraw timer: ticks per second (``redraw_hz``, target >= 25) and the interval between
  ticks (p50 / p95 / max, ms);
- the time each tick spends pulling ``engine.poll()`` and drawing (``draw_ms``);
- stalls: a 5 ms probe timer records every gap in the event loop; ``max_stall_ms`` is the
  longest time the GUI thread did not run its event loop (target <= 50 ms), and
  ``stalls_over_50ms`` counts them;
- what the engine did meanwhile (input fps, analysed/s, latency, drops, frames drawn).

Only the steady state counts: measuring starts ``--warmup`` seconds after the engine has
started. Prints one JSON object.

Usage::

    python benchmarks/gui.py [--source sim] [--seconds 20] [--weights FILE] [--json-out F]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _schedstat() -> tuple[float, float] | None:
    """(seconds on a CPU, seconds waiting for a CPU) of the calling thread (Linux), or None."""
    try:
        with open("/proc/thread-self/schedstat") as fh:
            run_ns, wait_ns, _ = fh.read().split()
        return int(run_ns) / 1e9, int(wait_ns) / 1e9
    except (OSError, ValueError):
        return None


def _pct(values, q) -> float | None:
    arr = np.asarray(values, dtype=np.float64)
    return None if arr.size == 0 else round(float(np.percentile(arr, q)), 2)


class _Feeder:
    """Feeds the window EngineUpdates at 30 fps without an engine (``--fed``)."""

    def __init__(self, window) -> None:
        from PySide6.QtCore import Qt, QTimer

        from rt_sfamnet.face import CropBox, FaceObservation
        from tests.ui.helpers import make_frame, make_results

        self.window = window
        self.make_results = make_results
        rng = np.random.default_rng(0)
        lm = np.zeros((468, 3), np.float32)
        lm[:, 0] = rng.uniform(230, 410, 468)
        lm[:, 1] = rng.uniform(150, 330, 468)
        self.obs = FaceObservation(landmarks=lm, box=CropBox(220, 140, 200), nose_xy=(320.0, 240.0))
        self.frames = [make_frame(i, 640, 480) for i in range(30)]
        self.index = 0
        self.times: list[tuple[float, float]] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(33)
        self.timer.timeout.connect(self.feed)
        self.window.fps = 30.0
        self.window.plot.set_thresholds(0.576, 0.576)

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def feed(self) -> None:
        from rt_sfamnet.pipeline import EngineStats, EngineUpdate

        t0 = time.perf_counter()
        i = self.index
        self.index += 1
        frame = self.frames[i % len(self.frames)]
        frame.index = i
        results = self.make_results([i - 6]) if i % 2 == 0 and i >= 6 else []
        curves = {"micro": [(i - 30, 0.4)] if i % 2 == 0 and i >= 30 else [],
                  "macro": [(i - 40, 0.4)] if i % 2 == 0 and i >= 40 else []}
        self.window.apply_update(EngineUpdate(
            frame=frame, observation=self.obs, results=results, intervals=[],
            stats=EngineStats(input_fps=30.0, analyzed_per_s=15.0), curves=curves,
            observation_frame=i - i % 2))
        if self.window.record_ticks:
            self.times.append((t0, time.perf_counter()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="sim", help="source spec (default: sim)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0,
                        help="seconds after the engine started that are not measured")
    parser.add_argument("--weights", default=None, help="weights file (default weights if "
                        "present, else a freshly initialised network)")
    parser.add_argument("--size", default="1440x900", help="window size")
    parser.add_argument("--no-maps", action="store_true", help="hide the input maps")
    parser.add_argument("--no-depth", action="store_true", help="hide the depth view")
    parser.add_argument("--fed", action="store_true",
                        help="no engine: feed the window synthetic 640x480 updates at 30 fps "
                        "(the cost of drawing alone)")
    parser.add_argument("--json-out", default=None, help="also write the JSON here")
    args = parser.parse_args(argv)

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import tempfile

    from PySide6.QtCore import QEventLoop, Qt, QTimer

    from ui.app import MainWindow, _ensure_app
    from ui.settings import AppSettings

    weights = args.weights
    tmp = tempfile.TemporaryDirectory()
    if weights is None:
        sys.path.insert(0, str(REPO))
        from tests.ui.helpers import weights_for_tests

        weights = weights_for_tests(Path(tmp.name))

    _ensure_app()
    window = MainWindow(AppSettings(Path(tmp.name) / "settings.ini"), weights=weights)
    w, h = (int(v) for v in args.size.split("x"))
    window.resize(w, h)
    if args.no_maps:
        window.act_maps.trigger()
    if args.no_depth:
        window.act_depth.trigger()
    window.show()
    if args.fed:
        feeder = _Feeder(window)
    else:
        window.open_source(args.source)

    gaps: list[float] = []
    waits: list[float] = []  # of each gap: ms the GUI thread waited for a CPU (run queue)
    last = {"t": None, "wait": None}

    def probe() -> None:
        now = time.perf_counter()
        st = _schedstat()
        wait = None if st is None else st[1]
        if last["t"] is not None and window.record_ticks:
            gaps.append((now - last["t"]) * 1e3)
            if wait is not None and last["wait"] is not None:
                waits.append((wait - last["wait"]) * 1e3)
        last["t"], last["wait"] = now, wait

    probe_timer = QTimer()
    probe_timer.setTimerType(Qt.TimerType.PreciseTimer)
    probe_timer.setInterval(5)
    probe_timer.timeout.connect(probe)
    probe_timer.start()

    def run_for(seconds: float, until=None) -> None:
        """Run Qt's event loop for ``seconds`` (or until ``until()`` is true)."""
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        check = QTimer()
        if until is not None:
            check.timeout.connect(lambda: until() and loop.quit())
            check.start(20)
        loop.exec()
        check.stop()

    # wait for the engine (generating the demo or loading weights may take a while)
    run_for(180.0, until=lambda: not window.opening)
    if args.fed:
        feeder.start()
    elif window.engine is None:
        print(json.dumps({"error": window.banner.text() or "the source did not open"}))
        window.close()
        return 2
    run_for(args.warmup)
    frames0 = window.video.frames_drawn
    window.tick_times.clear()
    gc_pauses: list[tuple[int, float]] = []
    gc_start: dict[str, float] = {}

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            gc_start["t"] = time.perf_counter()
        elif "t" in gc_start:
            gc_pauses.append((info["generation"], (time.perf_counter() - gc_start["t"]) * 1e3))

    gc.callbacks.append(on_gc)
    window.record_ticks = True
    sched0 = _schedstat()
    t_start = time.perf_counter()
    run_for(args.seconds)
    window.record_ticks = False
    elapsed = time.perf_counter() - t_start
    sched1 = _schedstat()
    gc.callbacks.remove(on_gc)
    ticks = feeder.times if args.fed else window.tick_times
    starts = np.array([t[0] for t in ticks])
    draw_ms = [(b - a) * 1e3 for a, b in ticks]
    intervals = np.diff(starts) * 1e3 if starts.size > 1 else np.zeros(0)
    stats = window.engine.stats() if window.engine is not None else None
    if args.fed:
        feeder.stop()
    out = {
        "benchmark": "gui",
        "source": "fed (synthetic updates, no engine)" if args.fed else args.source,
        "window": args.size,
        "platform": os.environ.get("QT_QPA_PLATFORM") or "display",
        "panels": {"depth": not args.no_depth, "maps": not args.no_maps},
        "seconds": round(elapsed, 2),
        "redraw_hz": round(len(ticks) / elapsed, 2),
        "tick_interval_ms": {"p50": _pct(intervals, 50), "p95": _pct(intervals, 95),
                             "max": _pct(intervals, 100)},
        "draw_ms": {"p50": _pct(draw_ms, 50), "p95": _pct(draw_ms, 95),
                    "max": _pct(draw_ms, 100)},
        "max_stall_ms": _pct(gaps, 100),
        "stall_p99_ms": _pct(gaps, 99),
        "stalls_over_50ms": int(sum(g > 50.0 for g in gaps)),
        # the same, minus the time the GUI thread sat in the run queue waiting for a CPU that
        # other threads (this process's engine, or other programs) were using
        "max_stall_own_ms": (None if len(waits) != len(gaps) or not gaps else
                             round(max(g - w for g, w in zip(gaps, waits, strict=True)), 2)),
        "stalls_over_50ms_own": (None if len(waits) != len(gaps) else
                                 int(sum(g - w > 50.0 for g, w in zip(gaps, waits, strict=True)))),
        "gui_thread_cpu_s": (None if sched0 is None or sched1 is None
                             else round(sched1[0] - sched0[0], 2)),
        "gui_thread_runqueue_wait_s": (None if sched0 is None or sched1 is None
                                       else round(sched1[1] - sched0[1], 2)),
        "gc_collections": {str(g): sum(1 for gg, _ in gc_pauses if gg == g) for g in range(3)},
        "gc_pause_max_ms": _pct([d for _, d in gc_pauses], 100),
        "video_fps_drawn": round((window.video.frames_drawn - frames0) / elapsed, 2),
        "engine": None if stats is None else {
            "backend": stats.backend,
            "input_fps": round(stats.input_fps, 2),
            "analyzed_per_s": round(stats.analyzed_per_s, 2),
            "latency_ms_p50": round(stats.latency_ms_p50, 1),
            "latency_ms_p95": round(stats.latency_ms_p95, 1),
            "dropped": stats.dropped,
        },
        "cpu_count": os.cpu_count(),
        "load_avg_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "error": window.banner.text() if window.banner.kind == "error" else None,
    }
    probe_timer.stop()
    window.close()
    text = json.dumps(out, indent=2)
    print(text)
    if args.json_out:
        Path(args.json_out).write_text(text + "\n")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
