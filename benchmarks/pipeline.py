"""Benchmark of the real-time engine on a recording: paced in real time and as fast as possible.

Prints one JSON object. For each mode it reports input frames/s, scheduled / scored / dropped
samples, latency (frame arrival -> published score) p50/p95/max, the per-stage times and
whether the issue's targets are met:

- CPU, ``--realtime`` at frame_skip 2: every scheduled sample scored (no drops), p95 <= 150 ms;
  as fast as possible: >= 30 input frames/s.
- GPU (``--device cuda``, frame_skip 1): p95 <= 50 ms at 30 FPS; >= 150 input frames/s.

Usage::

    python benchmarks/pipeline.py [--source recordings/demo.db3] [--modes realtime,afap]
        [--weights FILE] [--device auto|cpu|cuda] [--frame-skip N] [--repeat-afap N]
        [--attention off|on|both] [--backend auto|sdk|rosbags]

``--attention on`` does what the GUI's attention overlay does: after every poll the newest
scored sample is offered to a latest-only :class:`rt_sfamnet.attention.AttentionWorker`
(CBAM gates + Grad-CAM on its own thread); ``both`` runs each mode with it off, then on,
back to back (the maps are kept in both runs, as the GUI keeps them).

``--backend`` picks the recording reader (``auto``: the SDK where pyrealsense2 imports, as
``analyze`` does; ``rosbags`` decodes only the frames a scheduled window uses). The report
gives ``frames_decoded``: recording frames whose pixels were decoded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def default_source() -> str:
    for name in ("demo.db3", "demo.bag", "clip.db3", "clip.bag"):
        p = REPO / "recordings" / name
        if p.exists():
            return str(p)
    return "sim:seed=1,duration=30"


def _count_decodes():
    """Count the recording frames whose pixels are loaded from now on (with the SDK backend
    the SDK has decoded every frame anyway); returns a function reading the count."""
    import dataclasses

    from rt_sfamnet.sources.realsense.playback import PlaybackSource

    count = [0]
    original = getattr(PlaybackSource, "_frame", None)
    if original is None:  # an older checkout: frames decoded eagerly
        return lambda: None

    def counting(self, ix, px):
        def load(inner=px.load):
            count[0] += 1
            return inner()

        return original(self, ix, dataclasses.replace(px, load=load))

    PlaybackSource._frame = counting
    return lambda: count[0]


def run_once(source_spec: str, realtime: bool, args: argparse.Namespace, predictor,
             attention: bool = False) -> dict:
    from rt_sfamnet.pipeline import Engine, EngineConfig
    from rt_sfamnet.sources import make_source

    options = {}
    if Path(source_spec).suffix.lower() in (".db3", ".bag") and args.backend != "auto":
        options["backend"] = args.backend
    src = make_source(source_spec, **options)
    decoded = _count_decodes()
    cfg = EngineConfig(realtime=realtime, frame_skip=args.frame_skip, device=args.device,
                       keep_maps=args.attention != "off", weights=args.weights)
    worker = None
    if attention:  # the GUI's overlay: the newest scored sample of each poll, latest only
        from rt_sfamnet.attention import AttentionProbe, AttentionWorker

        worker = AttentionWorker(AttentionProbe.from_predictor(predictor), lambda k, a: None)
    # the engine resolves the weights' spotting values itself, as analyze and the GUI do
    engine = Engine(src, cfg, predictor=predictor)
    lat: list[float] = []
    rows = scored = 0
    events: list = []
    load0 = os.getloadavg()[0]
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    engine.start()
    error = None
    try:
        while True:
            u = engine.poll()
            rows += len(u.results)
            for r in u.results:
                if r.score is not None:
                    scored += 1
                    lat.append(r.latency_ms)
            events += u.intervals
            newest = [r for r in u.results if r.maps is not None]
            if worker is not None and newest:
                worker.offer(newest[-1].frame, newest[-1].maps)
            if u.error is not None:
                error = f"{type(u.error).__name__}: {u.error}"
                break
            if u.finished:
                break
            if args.max_seconds and time.perf_counter() - t0 > args.max_seconds:
                break
            time.sleep(0.02)
    finally:
        engine.stop()
        if worker is not None:
            worker.close()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0  # every thread of the process, the SDK's included
    st = engine.stats()
    arr = np.asarray(lat) if lat else np.asarray([np.nan])
    p50, p95 = (float(v) for v in np.percentile(arr, [50, 95]))
    out = {
        "mode": "realtime" if realtime else "afap",
        "source": st.source,
        "backend": st.backend,
        "frame_skip": engine.frame_skip,
        "k_sw": st.k_sw,
        "frames_in": st.frames_in,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),  # CPU time of the whole process (all threads)
        "input_fps": round(st.frames_in / wall, 2),
        "x_real_time": round(st.frames_in / wall / engine.fps, 2),
        "cpu_ms_per_frame": round(cpu / max(st.frames_in, 1) * 1e3, 2),
        "load_average_1min": [round(load0, 2), round(os.getloadavg()[0], 2)],
        "samples_scheduled": rows,
        "samples_scored": scored,
        "samples_no_face": st.samples_no_face,
        "samples_dropped": st.dropped.get("samples", 0),
        "frames_dropped": st.dropped.get("frames", 0),
        "latency_ms_p50": round(p50, 2),
        "latency_ms_p95": round(p95, 2),
        "latency_ms_max": round(float(np.nanmax(arr)), 2),
        "stage_ms": {k: [round(v[0], 2), round(v[1], 2)] for k, v in st.stage_ms.items()},
        "batch_size_mean": round(st.batch_size_mean, 2),
        "frames_decoded": decoded(),
        "events": len(events),
        "event_list": [[iv.onset, iv.offset, iv.type, iv.emotion] for iv in events],
        "error": error,
        "attention": None if worker is None else {"computed": worker.computed,
                                                  "replaced": worker.replaced},
    }
    gt = engine.ground_truth
    if gt and error is None:
        from rt_sfamnet.intervals import Interval
        from rt_sfamnet.metrics import evaluate_intervals

        subject, video = gt[0].subject, gt[0].video
        pred = [Interval(subject, video, iv.onset, iv.apex, iv.offset, iv.type,
                         iv.emotion if iv.type == "micro" else "") for iv in events]
        m = evaluate_intervals(gt, pred, len(engine.class_names) - 1, protocol="megc")
        out["spotting_f1"] = {k: round(m[k]["f1"], 4) for k in ("micro", "macro", "overall")}
        out["spotting_counts"] = {k: {c: m[k][c] for c in ("tp", "fp", "fn")}
                                  for k in ("micro", "macro")}
        out["analysis"] = {k: round(float(v), 4) for k, v in m["analysis"].items()}
    gpu = st.backend == "cuda"
    if realtime:
        budget = 50.0 if gpu else 150.0
        out["target"] = f"no dropped samples and p95 <= {budget:.0f} ms"
        out["target_met"] = bool(out["samples_dropped"] == 0 and out["frames_dropped"] == 0
                                 and p95 <= budget)
    else:
        need = 150.0 if gpu else 30.0
        out["target"] = f">= {need:.0f} input frames/s"
        out["target_met"] = bool(out["input_fps"] >= need)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default=None, help="recording / sim spec (default: the demo)")
    ap.add_argument("--modes", default="realtime,afap")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--frame-skip", type=int, default=None)
    ap.add_argument("--backend", default="auto", choices=("auto", "sdk", "rosbags"),
                    help="recording reader")
    ap.add_argument("--max-seconds", type=float, default=None, help="cut each run after this")
    ap.add_argument("--attention", default="off", choices=("off", "on", "both"),
                    help="the GUI's attention overlay on the newest sample (both: off, then on)")
    ap.add_argument("--json", action="store_true", help="accepted; output is always JSON")
    args = ap.parse_args(argv)

    import torch

    from rt_sfamnet.predictor import Predictor

    source = args.source or default_source()
    device = None if args.device == "auto" else args.device
    try:
        predictor = Predictor.from_file(args.weights, device=device,
                                        threads=1 if not torch.cuda.is_available() else None)
        weights = args.weights or "default"
    except Exception as exc:  # no default weights yet: an untrained network times the same
        from rt_sfamnet.model import SFAMNet
        from rt_sfamnet.weights import WeightsMeta

        torch.manual_seed(0)
        predictor = Predictor(SFAMNet(4), WeightsMeta(emotions=4), device=device, threads=1)
        weights = f"untrained (seed 0): {exc}"
    overlay = {"off": (False,), "on": (True,), "both": (False, True)}[args.attention]
    runs = [run_once(source, m.strip() == "realtime", args, predictor, attention=a)
            for m in args.modes.split(",") if m.strip() for a in overlay]
    report = {
        "benchmark": "pipeline",
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cuda": torch.cuda.is_available(),
        },
        "source": source,
        "weights": weights,
        "runs": runs,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
