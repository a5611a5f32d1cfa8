"""rt_sfamnet.pacing.Pacer on a virtual clock: when each frame is released, re-anchoring,
speed changes and stopping. Nothing sleeps for real; times are the virtual clock's."""

from __future__ import annotations

import threading

import pytest

from rt_sfamnet.pacing import MAX_BEHIND_S, SLICE_S, Pacer
from tests.virtual_clock import VirtualClock


def make(fps: float = 8.0, speed: float = 1.0, stop: threading.Event | None = None):
    clock = VirtualClock()
    return Pacer(fps, speed, stop, clock=clock, sleep=clock.sleep), clock


def test_first_frame_anchors_then_frames_are_due_at_fps():
    p, clock = make(fps=8.0)
    p.wait(5)  # anchors: released at once
    assert clock.sleeps == []
    p.wait(6)
    assert clock.now == pytest.approx(100.125)
    assert max(clock.sleeps) <= SLICE_S and len(clock.sleeps) == 7  # 0.125 s in 20 ms slices
    p.wait(9)  # due 3/8 s after the anchor
    assert clock.now == pytest.approx(100.0 + 4 / 8)
    p.wait(9)  # already due: no sleep
    assert len(clock.sleeps) == 7 + 19


def test_speed_scales_the_schedule_and_set_speed_reanchors():
    p, clock = make(fps=10.0, speed=2.0)
    p.wait(0)
    p.wait(4)  # 4 frames at 20 frames/s
    assert clock.now == pytest.approx(100.2)
    p.set_speed(0.5)
    assert p.speed == 0.5
    n = len(clock.sleeps)
    p.wait(5)  # re-anchored: released at once
    assert len(clock.sleeps) == n
    p.wait(6)  # one frame at 5 frames/s
    assert clock.now == pytest.approx(100.4)


def test_far_behind_reanchors_instead_of_bursting():
    p, clock = make(fps=10.0)
    p.wait(0)
    clock.now += 2.0  # the consumer stalled for 2 s: frames 1..20 are late
    p.wait(1)
    assert clock.sleeps == []  # late frame released at once, and becomes the anchor
    t = clock.now
    p.wait(2)  # due 0.1 s after the new anchor, not 2 s in the past
    assert clock.now == pytest.approx(t + 0.1)


def test_a_little_behind_keeps_the_schedule():
    p, clock = make(fps=10.0)
    p.wait(0)
    clock.now += 0.5  # frame 1 (due at 100.1) is 0.4 s late: within MAX_BEHIND_S
    assert 0.4 < MAX_BEHIND_S
    p.wait(1)
    assert clock.sleeps == []
    p.wait(6)  # still on the original schedule: due at 100.6, now 100.5
    assert clock.now == pytest.approx(100.6)


def test_reset_reanchors_at_the_next_wait():
    p, clock = make(fps=10.0)
    p.wait(0)
    p.reset()
    p.wait(50)  # after a seek: released at once
    assert clock.sleeps == []
    p.wait(51)
    assert clock.now == pytest.approx(100.1)


def test_wait_time_follows_frame_timestamps():
    p, clock = make(fps=30.0, speed=2.0)
    stamps = [7.0, 7.1, 7.3, 7.35]  # irregular spacing, seconds
    released = []
    for ts in stamps:
        p.wait_time(ts)
        released.append(clock.now)
    assert released == pytest.approx([100.0, 100.05, 100.15, 100.175])


def test_stop_ends_a_wait_early():
    stop = threading.Event()
    p, clock = make(fps=1.0, stop=stop)
    p.wait(0)
    clock.on_sleep = stop.set  # stopped during the first slice
    p.wait(1)  # due 1 s later
    assert clock.sleeps == [SLICE_S]
    p.wait(2)  # stop still set: returns without sleeping
    assert clock.sleeps == [SLICE_S]


@pytest.mark.parametrize(("fps", "speed"), [(0, 1), (-1, 1), (float("inf"), 1), (30, 0),
                                            (30, -2), (30, float("nan"))])
def test_bad_rates_are_rejected(fps, speed):
    with pytest.raises(ValueError, match="positive and finite"):
        Pacer(fps, speed)


def test_bad_speed_change_is_rejected_and_keeps_the_old_speed():
    p = Pacer(30.0)
    with pytest.raises(ValueError):
        p.set_speed(0.0)
    assert p.speed == 1.0
