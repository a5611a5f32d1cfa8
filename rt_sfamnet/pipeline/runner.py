"""The headless run: an :class:`~rt_sfamnet.pipeline.Engine` into an output folder.

``rt-sfamnet analyze`` and :func:`rt_sfamnet.analyze` both call :func:`run_headless`, so the
command line and the library give the same results from the same inputs. Into ``out`` it
writes, as results arrive:

- ``frames.csv`` — one row per scheduled sample (:class:`~.writers.FrameCsvWriter`);
- ``events.csv`` / ``events.json`` — the spotted intervals (:class:`~.writers.EventWriter`);
  the columns of both are defined in :mod:`~.results`;
- ``summary.json`` — counts, rates, latencies, settings and, with ground truth, the MEGC
  metrics of the analysed span; written when the run starts, rewritten every few seconds
  while running and finalised when the run ends for any reason (end of the source,
  ``seconds`` reached, interrupt, ``stop`` set by a signal handler, error).

The folder is locked for the run and the previous run's files are removed first
(:class:`~rt_sfamnet.pipeline.outdir.OutputFolder`): two runs never mix their files.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rt_sfamnet.errors import ConfigError, OutputError

__all__ = ["RunOptions", "RunResult", "run_headless", "build_summary", "human_summary"]

SUMMARY_EVERY_S = 5.0
POLL_S = 0.05


@dataclass
class RunOptions:
    """Settings of one headless run.

    Attributes:
        out: the output folder (created if missing).
        seconds: analyse the first this many seconds of input, by the frames' timestamps
            (:class:`~rt_sfamnet.sources.limited.LimitedSource`; None: until the source ends).
        gt: ground-truth intervals overriding the source's own (None: the source's).
        protocol: ``"megc"`` or ``"sfamnet"`` (evaluation with ground truth).
        progress: show a progress bar on a terminal (file sources).
        weights: the weights path as the user gave it (for the summary), or None.
        video: the video name for events without ground truth (None: the source's stem).
        gt_video: which video of a multi-video ``gt`` the source is (``VIDEO`` or
            ``SUBJECT/VIDEO``; None: the one named like ``video``).
        stop: an event that ends the run like Ctrl-C when set (``"status": "interrupted"``),
            e.g. from a SIGTERM handler; None: only the end of the source, ``seconds`` or an
            error end it.
    """

    out: Path
    seconds: float | None = None
    gt: list | None = None
    protocol: str = "megc"
    progress: bool = True
    weights: str | None = None
    video: str | None = None
    gt_video: str | None = None
    stop: threading.Event | None = None

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        if self.seconds is not None and not 0 < self.seconds < math.inf:  # rejects NaN too
            raise ConfigError(f"seconds must be a finite number > 0, found {self.seconds}")
        if self.protocol not in ("megc", "sfamnet"):
            raise ConfigError(f"protocol must be 'megc' or 'sfamnet', found {self.protocol!r}")


@dataclass
class RunResult:
    """What a headless run produced: the final summary and the error that ended it, if any."""

    summary: dict[str, Any]
    error: BaseException | None = None
    out: Path = field(default_factory=Path)


def evaluate_events(gt: list, intervals: list, emotions: int, protocol: str,
                    span: tuple[int | None, int | None] = (None, None)) -> dict[str, Any]:
    """MEGC (or the release's) spotting and analysis metrics of the run's intervals.

    ``span``: the analysed frames ``(first, last)`` (inclusive, None: open); ground truth is
    cut to it first (:func:`~rt_sfamnet.pipeline.truth.clip_to_span`), so a run stopped
    early is not charged with misses it never saw.
    """
    from rt_sfamnet.metrics import evaluate_intervals
    from rt_sfamnet.pipeline.truth import clip_to_span

    inside, outside, cut = clip_to_span(gt, *span)
    result = evaluate_intervals(inside, intervals, emotions, protocol=protocol)
    return {"protocol": protocol, "ground_truth_intervals": len(inside),
            "span": list(span), "ground_truth_outside_span": outside,
            "ground_truth_cut_to_span": cut, **result}


def build_summary(engine: Any, meta: dict[str, Any], events: Any, status: str,
                  error: BaseException | None, wall_s: float, metrics: dict | None,
                  weights: str | None) -> dict[str, Any]:
    """The ``summary.json`` object (see ``docs/realtime.md`` for the fields)."""
    from rt_sfamnet.pipeline.inputs import run_labels
    from rt_sfamnet.pipeline.stats import percentiles_ms
    from rt_sfamnet.pipeline.writers import run_identity

    st = engine.stats()
    gaps = meta.get("gaps")  # the rows' gap runs (writers.GapLog): agree with frames.csv
    p50, p95 = percentiles_ms(meta["latencies"])
    counts = {"micro": 0, "macro": 0}
    for e in events.events:
        counts[e["type"]] = counts.get(e["type"], 0) + 1
    counts["total"] = len(events.events)
    wall = max(wall_s, 1e-9)
    s = engine.settings
    out: dict[str, Any] = {
        "status": status,
        "error": None if error is None else f"{type(error).__name__}: {error}",
        "source": st.source,
        "fps": engine.fps,
        "frames_in": st.frames_in,
        "frames_analyzed": st.frames_analyzed,
        "frames_dropped": st.dropped.get("frames", 0) + st.dropped.get("source", 0),
        "input_fps": st.frames_in / wall,
        "analyzed_per_s": st.frames_analyzed / wall,
        "latency_ms_p50": p50,
        "latency_ms_p95": p95,
        "backend": st.backend,
        "events": counts,
        "wall_s": wall_s,
        "realtime": bool(engine.config.realtime or engine.live),
        "frame_skip": s.frame_skip,
        "k_sw": s.k_sw,
        "samples_scheduled": meta["rows"],
        "samples_no_face": st.samples_no_face,
        "samples_dropped": st.dropped.get("samples", 0),
        "frames_skipped": st.frames_skipped,
        "frames_empty_depth": st.frames_empty_depth,
        "dropped": st.dropped,
        "gaps": [dict(g) for g in gaps.entries] if gaps is not None else [],
        "gap_samples": gaps.counts() if gaps is not None else {},
        "stage_ms": {k: {"p50": v[0], "p95": v[1]} for k, v in st.stage_ms.items()},
        "batch_size_mean": st.batch_size_mean,
        "class_names": list(engine.class_names),
        **run_identity(engine, weights),  # version, source_path, weights, weights_sha256
        **run_labels(engine),  # depth, input, training_data, zero_depth_experiment, warnings
        "features": {"mode": s.features.mode, "input_scale": s.features.input_scale,
                     "input_clip": s.input_clip},
        "spotting": dataclasses.asdict(s.spotting),
        "spotting_from_weights": s.spotting_from_weights,
    }
    if metrics is not None:
        out["metrics"] = metrics
    return out


def f1_text(m: dict[str, Any]) -> str:
    """``"0.67 (1 TP / 0 FP / 1 FN)"``, or ``"n/a (no intervals of this type in the ground
    truth or the events)"`` when TP, FP and FN are all 0 (F1 is undefined, not 0)."""
    tp, fp, fn = int(m.get("tp", 0)), int(m.get("fp", 0)), int(m.get("fn", 0))
    if tp == fp == fn == 0:
        return "n/a (none in the ground truth or the events)"
    return f"{float(m['f1']):.2f} ({tp} TP / {fp} FP / {fn} FN)"


def human_summary(summary: dict[str, Any], out: Path) -> str:
    """A few lines for a person at the terminal (``--json`` prints the whole summary)."""
    ev = summary.get("events") or {}

    def ms(key: str) -> str:  # None when no window was scored
        v = summary.get(key)
        return "n/a" if v is None else f"{v:.0f} ms"

    lines = [
        f"analysed {summary.get('frames_analyzed', 0)} windows of {summary.get('frames_in', 0)} "
        f"frames ({summary.get('input_fps', 0.0):.1f} frames/s in, latency p50 "
        f"{ms('latency_ms_p50')} / p95 {ms('latency_ms_p95')}, "
        f"{summary.get('frames_dropped', 0)} frames dropped, backend {summary.get('backend')})",
        f"spotted {ev.get('micro', 0)} micro- and {ev.get('macro', 0)} macro-expressions",
    ]
    metrics = summary.get("metrics") or {}
    if "micro" in metrics:
        parts = [f"{k} F1 {f1_text(metrics[k])}" for k in ("micro", "macro", "overall")]
        lines.append(f"against the ground truth ({metrics.get('protocol', 'megc')}): "
                     + "; ".join(parts))
    gaps = summary.get("gap_samples") or {}
    if gaps:
        lines.append("gaps (windows without a score): " + ", ".join(
            f"{n} {reason}" for reason, n in sorted(gaps.items())) + " (summary.json 'gaps')")
    lines.append(f"results: {out}/frames.csv, events.csv, events.json, summary.json")
    return "\n".join(lines)


class _Outputs:
    """The run's three writers and what the summary needs from the stream."""

    def __init__(self, engine: Any, opts: RunOptions, gt: list | None) -> None:
        from rt_sfamnet.pipeline.results import subject_video
        from rt_sfamnet.pipeline.writers import EventWriter, FrameCsvWriter, source_label

        out = opts.out
        subject, video = subject_video(getattr(engine.source, "name", ""), gt, opts.video)
        self.frames = FrameCsvWriter(out / "frames.csv", engine.class_names,
                                     source=source_label(engine.source))
        try:
            self.events = EventWriter(out / "events.csv", out / "events.json", subject, video,
                                      engine.fps)
        except BaseException:
            self.frames.close()
            raise
        self.meta: dict[str, Any] = {"latencies": [], "rows": 0, "first_frame": None,
                                     "last_frame": None, "finished": False,
                                     "gaps": self.frames.gaps}
        self.seen_in = 0

    def consume(self, update: Any, bar: Any) -> None:
        self.frames.add_results(update.results)
        self.frames.add_curves(update.curves)
        self.frames.flush()
        self.events.add(update.intervals)
        self.meta["rows"] += len(update.results)
        if update.results:
            if self.meta["first_frame"] is None:
                self.meta["first_frame"] = update.results[0].frame
            self.meta["last_frame"] = update.results[-1].frame
        self.meta["finished"] = self.meta["finished"] or bool(update.finished)
        self.meta["latencies"].extend(r.latency_ms for r in update.results if r.score is not None)
        if bar is not None:
            bar.update(update.stats.frames_in - self.seen_in)
        self.seen_in = update.stats.frames_in

    def close(self) -> None:
        try:
            self.frames.close()
        finally:
            self.events.close()

    def span(self, k_sw: int, cut: bool) -> tuple[int | None, int | None]:
        """The analysed frames: from the first sample to the last frame of the last window
        (open-ended when the whole source was read; empty when nothing was analysed).
        ``cut``: the stream was ended by ``seconds`` before the source's end."""
        first, last = self.meta["first_frame"], self.meta["last_frame"]
        if first is None:
            return (0, -1)
        return (first, None if self.meta["finished"] and not cut else last + k_sw)


def _open_outputs(engine: Any, opts: RunOptions, gt: list | None) -> _Outputs:
    """The writers, or an OutputError naming the folder; the engine is stopped on failure."""
    try:
        return _Outputs(engine, opts, gt)
    except BaseException as exc:
        engine.stop()
        if isinstance(exc, OSError):
            raise OutputError(f"--out {opts.out}: cannot write the results ({exc})") from None
        raise


def _progress_bar(engine: Any, opts: RunOptions) -> Any:
    if not opts.progress or engine.live:
        return None
    from tqdm import tqdm

    return tqdm(total=engine.source.frame_count, unit="frame", desc="analyze", file=sys.stderr,
                leave=False, disable=None)


def _loop(engine: Any, outputs: _Outputs, opts: RunOptions, bar: Any, t_start: float
          ) -> tuple[str, BaseException | None]:
    """Poll the engine until the source ends, ``seconds`` is reached or an error."""
    from rt_sfamnet.pipeline.writers import write_json_atomic

    last_summary = time.perf_counter()
    while True:
        update = engine.poll()
        outputs.consume(update, bar)
        if update.error is not None:
            return "error", update.error
        if update.finished:
            return "complete", None
        if opts.stop is not None and opts.stop.is_set():
            return "interrupted", None
        now = time.perf_counter()
        if now - last_summary > SUMMARY_EVERY_S:
            write_json_atomic(opts.out / "summary.json", build_summary(
                engine, outputs.meta, outputs.events, "running", None, now - t_start, None,
                opts.weights))
            last_summary = now
        time.sleep(POLL_S)


def run_headless(engine: Any, opts: RunOptions) -> RunResult:
    """Start ``engine`` (not yet started), write its results into ``opts.out`` and stop it.

    The output folder is locked and cleared first (a busy or unwritable folder raises
    OutputError before the engine starts). Ctrl-C (KeyboardInterrupt) or ``opts.stop`` end
    the run like the end of the source: what was read is analysed, the files are finalised
    with ``"status": "interrupted"`` (then a KeyboardInterrupt propagates). Errors of the
    source or a worker end the run with ``"status": "error"`` and are returned in
    :attr:`RunResult.error`.

    Returns:
        A :class:`RunResult` with the final summary (also in ``summary.json``).
    """
    from rt_sfamnet.pipeline.outdir import OutputFolder
    from rt_sfamnet.pipeline.results import subject_video
    from rt_sfamnet.pipeline.truth import select_video

    folder = OutputFolder(opts.out)
    try:
        gt = None
        if opts.gt is not None:
            video = subject_video(getattr(engine.source, "name", ""), None, opts.video)[1]
            gt = select_video(opts.gt, opts.gt_video or video, "the ground truth (--gt)")
        folder.acquire()
    except BaseException:
        engine.stop()
        raise
    try:
        return _run_locked(engine, opts, gt)
    finally:
        folder.release()


def _run_locked(engine: Any, opts: RunOptions, gt: list | None) -> RunResult:
    from rt_sfamnet.pipeline.writers import write_json_atomic
    from rt_sfamnet.sources.limited import LimitedSource

    limited = None
    if opts.seconds is not None:  # the stream ends there: every frame read is analysed
        engine.source = limited = LimitedSource(engine.source, opts.seconds)
    engine.start()
    try:
        if gt is None:
            gt = engine.ground_truth
    except BaseException:
        engine.stop()
        raise
    outputs = _open_outputs(engine, opts, gt)
    status, error = "interrupted", None
    t_start = time.perf_counter()
    bar = _progress_bar(engine, opts)
    try:
        write_json_atomic(opts.out / "summary.json", build_summary(
            engine, outputs.meta, outputs.events, "running", None, 0.0, None, opts.weights))
        status, error = _loop(engine, outputs, opts, bar, t_start)
    finally:
        wall = time.perf_counter() - t_start
        try:
            engine.stop()
            outputs.consume(engine.poll(), bar)  # results published while stopping
            if error is None and engine.error is not None:
                error, status = engine.error, "error"
        finally:
            if bar is not None:
                bar.close()
            outputs.close()
            metrics = None
            if gt:
                try:
                    metrics = evaluate_events(gt, outputs.events.intervals(),
                                              len(engine.class_names) - 1, opts.protocol,
                                              outputs.span(engine.k_sw,
                                                           bool(limited and limited.cut)))
                except Exception as exc:  # noqa: BLE001 - metrics must not lose the summary
                    metrics = {"error": f"{type(exc).__name__}: {exc}"}
            summary = build_summary(engine, outputs.meta, outputs.events, status, error, wall,
                                    metrics, opts.weights)
            write_json_atomic(opts.out / "summary.json", summary)
    return RunResult(summary, error, opts.out)
