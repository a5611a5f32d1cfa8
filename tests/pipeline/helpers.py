"""Helpers of the pipeline tests: sources that replay or alter simulator frames, a slow predictor."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from rt_sfamnet.errors import RecordingError
from rt_sfamnet.sources.base import Source


def sim(duration: float = 3.0, seed: int = 1):
    from rt_sfamnet.sources.simulated import SimulatedSource

    return SimulatedSource(seed=seed, duration_s=duration)


class ListSource(Source):
    """Replays frames rendered once by the real simulator (fast, so tests control timing)."""

    def __init__(self, frames, fps=30.0, name="simulator replay"):
        self.frames, self.fps, self.name = frames, fps, name
        self.opened = 0

    def open(self):
        self.opened += 1
        return self

    def close(self):
        pass

    @property
    def frame_count(self):
        return len(self.frames)

    def __iter__(self):
        yield from self.frames


class FaultySource(Source):
    """A real source whose frames are altered: no face (grey colour), no depth, a failure."""

    def __init__(self, inner: Source, blank=(), zero_depth=(), fail_at=None, live=False,
                 delay_s=0.0):
        self.inner = inner
        self.name = f"faulty {inner.name}"
        self.fps = inner.fps
        self.live = live
        self.blank, self.zero_depth = set(blank), set(zero_depth)
        self.fail_at, self.delay_s = fail_at, delay_s
        self.closed = 0

    def open(self):
        self.inner.open()
        return self

    def close(self):
        self.closed += 1
        self.inner.close()

    @property
    def frame_count(self):
        return self.inner.frame_count

    @property
    def ground_truth(self):
        return self.inner.ground_truth

    def __iter__(self):
        for f in self.inner:
            if self.fail_at is not None and f.index >= self.fail_at:
                raise RecordingError(f"recording truncated: no frame after {f.index - 1}")
            if f.index in self.blank:
                f = dataclasses.replace(f, color=np.full_like(f.color, 128))
            if f.index in self.zero_depth:
                f = dataclasses.replace(f, depth=np.zeros_like(f.depth))
            if self.delay_s:
                time.sleep(self.delay_s)
            yield f


class SlowPredictor:
    """The real predictor, delayed (a slow machine) or failing on a given call."""

    def __init__(self, inner, delay_s=0.0, fail_on_call=None):
        self.inner, self.delay_s, self.fail_on_call = inner, delay_s, fail_on_call
        self.class_names = inner.class_names
        self.meta = inner.meta
        self.calls = 0

    def predict(self, maps):
        self.calls += 1
        if self.fail_on_call is not None and self.calls >= self.fail_on_call:
            raise RuntimeError("simulated inference failure")
        time.sleep(self.delay_s)
        return self.inner.predict(maps)


def run_engine(engine, timeout=60.0, on_update=None):
    """Start, poll until finished or error, stop; returns (results, intervals, curves, last)."""
    results, intervals = [], []
    curves = {"micro": [], "macro": []}
    engine.start()
    t0 = time.monotonic()
    last = None
    try:
        while time.monotonic() - t0 < timeout:
            u = engine.poll()
            results += u.results
            intervals += u.intervals
            for k in curves:
                curves[k] += u.curves[k]
            last = u
            if on_update is not None:
                on_update(engine, u, results)
            if u.finished or u.error is not None:
                break
            time.sleep(0.02)
        else:
            pytest.fail("engine did not finish in time")
    finally:
        engine.stop()
    u = engine.poll()
    results += u.results
    intervals += u.intervals
    return results, intervals, curves, last


