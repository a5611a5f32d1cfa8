"""Soak test of the real-time engine: a long simulated stream at full speed.

Runs the engine on the simulator (as fast as it renders, or paced with ``--realtime``) for
``--minutes`` of wall time, polling like the GUI does (every 33 ms), and prints one JSON
object with the resident memory over time (RSS after a warm-up minute vs at the end; target:
growth < 50 MB) and the drop/consistency checks:

- ``frames_in == frames_skipped + dropped["frames"] + frames_observed`` after the flush;
- ``samples_scheduled == frames_analyzed + samples_no_face + dropped["samples"]``;
- the results the caller received == ``samples_scheduled`` (+ results dropped unpolled);
- expected against spotted: the simulator's true expressions in the analysed frames (its
  script, repeated with the loop) against the intervals the engine published, with the MEGC
  spotting metrics, and the spotting values in force (``spotting_from_weights``).

Why a soak once spotted nothing: it built its Engine by hand, and the engine then used the
release's spotting values instead of the ones the weights were evaluated with (``analyze``
applied those); on the simulator the release's 14-frame micro box filter flattens the
network's 2-4-sample responses below the threshold (``docs/realtime.md``). The settings are
now resolved once for every caller (``rt_sfamnet.pipeline.settings``), and
``tests/pipeline/test_soak_cause.py`` pins the cause on a short simulation.

Usage::

    python benchmarks/soak.py [--minutes 20] [--seed 3] [--realtime] [--warmup-s 60]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def rss_mb() -> float:
    """Resident set size of this process in MB (from /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def looping(inner):
    """The simulator's stream played in a loop with continuing frame indices and timestamps.

    The simulator precomputes its script per frame (memory grows with ``duration_s``), so a
    long soak loops a 60-s stream instead of building a 20-minute one. ``looped_truth(k)``
    gives the true intervals of the first ``k`` loops.
    """
    from rt_sfamnet.sources.base import Source

    class LoopSource(Source):
        name = f"{inner.name}, looped"
        fps = inner.fps
        live = False
        seekable = False

        def open(self):
            inner.open()
            return self

        def close(self):
            inner.close()

        def __iter__(self):
            n = inner.frame_count
            loop = 0
            while True:
                inner.seek(0)
                for f in inner:
                    yield dataclasses.replace(f, index=f.index + loop * n,
                                              timestamp=f.timestamp + loop * n / inner.fps)
                loop += 1

    def looped_truth(loops: int) -> list:
        n = inner.frame_count
        return [dataclasses.replace(iv, onset=iv.onset + k * n, offset=iv.offset + k * n,
                                    apex=None if iv.apex is None else iv.apex + k * n)
                for k in range(loops) for iv in (inner.ground_truth or [])]

    src = LoopSource()
    src.looped_truth = looped_truth
    return src


def expected_vs_spotted(src, spotted: list, last_frame: int | None, k_sw: int) -> dict:
    """The simulator's true intervals inside the analysed frames against the spotted ones."""
    from rt_sfamnet.metrics import evaluate_intervals
    from rt_sfamnet.pipeline.truth import clip_to_span

    if last_frame is None:
        return {"expected": {"micro": 0, "macro": 0}, "spotted": {"micro": 0, "macro": 0}}
    end = last_frame + k_sw
    n = max(1, src.frame_count or 1800)
    truth, _, _ = clip_to_span(src.looped_truth(end // n + 1), 0, end)
    truth = [iv for iv in truth if iv.offset - iv.onset >= 2]  # cut to a sliver: not scorable
    truth = [dataclasses.replace(iv, subject="sim", video="soak") for iv in truth]
    pred = [iv.to_interval("sim", "soak") for iv in spotted]
    counts = {t: sum(1 for iv in truth if iv.type == t) for t in ("micro", "macro")}
    found = {t: sum(1 for iv in pred if iv.type == t) for t in ("micro", "macro")}
    m = evaluate_intervals(truth, pred, 4)
    return {"expected": counts, "spotted": found,
            "spotting_metrics": {k: m[k] for k in ("micro", "macro", "overall")}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--realtime", action="store_true")
    ap.add_argument("--warmup-s", type=float, default=60.0,
                    help="RSS growth is measured from this point on")
    ap.add_argument("--sample-s", type=float, default=10.0, help="RSS sampling period")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--json", action="store_true", help="accepted; output is always JSON")
    args = ap.parse_args(argv)

    import torch

    from rt_sfamnet.pipeline import Engine, EngineConfig
    from rt_sfamnet.predictor import Predictor
    from rt_sfamnet.sources import make_source

    try:
        predictor = Predictor.from_file(args.weights, threads=1)
        weights = args.weights or "default"
    except Exception as exc:
        from rt_sfamnet.model import SFAMNet
        from rt_sfamnet.weights import WeightsMeta

        torch.manual_seed(0)
        predictor = Predictor(SFAMNet(4), WeightsMeta(emotions=4), threads=1)
        weights = f"untrained (seed 0): {exc}"

    seconds = args.minutes * 60.0
    src = looping(make_source(f"sim:seed={args.seed},duration=60"))
    engine = Engine(src, EngineConfig(realtime=args.realtime, keep_maps=True), predictor=predictor)
    received = scored = 0
    intervals = 0
    spotted: list = []
    last_frame = None
    samples: list[dict] = []
    t0 = time.perf_counter()
    rss0 = rss_mb()
    engine.start()
    next_sample = t0
    error = None
    try:
        while True:
            u = engine.poll()
            received += len(u.results)
            scored += sum(1 for r in u.results if r.score is not None)
            intervals += len(u.intervals)
            spotted.extend(u.intervals)
            if u.results:
                last_frame = u.results[-1].frame
            if u.error is not None:
                error = f"{type(u.error).__name__}: {u.error}"
                break
            now = time.perf_counter()
            if now >= next_sample:
                st = u.stats
                samples.append({"t_s": round(now - t0, 1), "rss_mb": round(rss_mb(), 1),
                                "frames_in": st.frames_in, "input_fps": round(st.input_fps, 1),
                                "dropped": dict(st.dropped), "queues": dict(st.queue_depths)})
                next_sample += args.sample_s
            if u.finished or now - t0 >= seconds:
                break
            time.sleep(0.033)
    finally:
        engine.stop()
    wall = time.perf_counter() - t0
    last = engine.poll()  # results published while stopping
    received += len(last.results)
    scored += sum(1 for r in last.results if r.score is not None)
    intervals += len(last.intervals)
    spotted.extend(last.intervals)
    if last.results:
        last_frame = last.results[-1].frame
    st = engine.stats()
    rss_end = rss_mb()
    after_warmup = [s for s in samples if s["t_s"] >= args.warmup_s]
    rss_ref = after_warmup[0]["rss_mb"] if after_warmup else (samples[0]["rss_mb"] if samples else rss0)
    in_flight = st.frames_in - (st.frames_skipped + st.dropped["frames"] + st.frames_observed)
    report = {
        "benchmark": "soak",
        "minutes": round(wall / 60.0, 2),
        "realtime": args.realtime,
        "weights": weights,
        "backend": st.backend,
        "frames_in": st.frames_in,
        "input_fps_mean": round(st.frames_in / wall, 2),
        "samples_scheduled": st.samples_scheduled,
        "frames_analyzed": st.frames_analyzed,
        "samples_no_face": st.samples_no_face,
        "dropped": st.dropped,
        "results_received": received,
        "results_scored": scored,
        "intervals": intervals,
        "spotting_from_weights": engine.settings.spotting_from_weights,
        **expected_vs_spotted(src, spotted, last_frame, engine.k_sw),
        "rss_mb_start": round(rss0, 1),
        "rss_mb_after_warmup": rss_ref,
        "rss_mb_end": round(rss_end, 1),
        "rss_growth_mb": round(rss_end - rss_ref, 1),
        "frames_in_flight_at_stop": in_flight,
        "consistent": {
            "samples": st.samples_scheduled
            == st.frames_analyzed + st.samples_no_face + st.dropped["samples"],
            "results": received + st.dropped["results"] == st.samples_scheduled,
            "scored": scored == st.frames_analyzed,
            "frames": in_flight >= 0,
        },
        "rss_target_met": (rss_end - rss_ref) < 50.0,
        "error": error,
        "timeline": samples,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
