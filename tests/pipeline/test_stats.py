"""Rate and latency windows (rt_sfamnet.pipeline.stats)."""

from __future__ import annotations

import pytest

from rt_sfamnet.pipeline.stats import LatencyWindow, RateMeter, percentiles_ms


def test_rate_and_latency_windows():
    r = RateMeter(window_s=2.0)
    for i in range(61):
        r.tick(now=10.0 + i / 30.0)  # 30 events/s for 2 s
    assert r.rate(now=12.0) == pytest.approx(30.0, rel=0.05)
    assert r.rate(now=20.0) == 0.0  # nothing in the last 2 s
    w = LatencyWindow(maxlen=100)
    for v in range(1, 201):
        w.add(float(v))
    p50, p95 = w.percentiles()  # only the last 100 values (101..200)
    assert p50 == pytest.approx(150.5) and p95 == pytest.approx(195.05)
    assert percentiles_ms([]) == (None, None)
    assert percentiles_ms([10.0, float("nan"), 30.0])[0] == pytest.approx(20.0)
