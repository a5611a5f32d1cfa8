"""The engine's outputs behind one lock (rt_sfamnet.pipeline.outbox)."""

from __future__ import annotations

from rt_sfamnet.pipeline.outbox import Outbox


def test_outbox_bounds_results_and_curves_and_hands_out_once():
    box = Outbox(limit=3)
    assert box.publish([1, 2], ["iv"], {"micro": [(0, 0.1)], "macro": []}) == 0
    assert box.publish([3, 4, 5], [], {"micro": [(i, 0.0) for i in range(30)], "macro": []}) == 2
    new = box.take()
    assert new["results"] == [3, 4, 5] and new["intervals"] == ["iv"]
    assert len(new["curves"]["micro"]) == 24  # 8 * limit newest values
    assert new["curves"]["micro"][-1] == (29, 0.0) and new["reset"] is False
    assert box.take()["results"] == [] and len(box) == 0


def test_outbox_first_error_wins_restart_and_finish():
    box = Outbox(limit=10)
    first, second = RuntimeError("a"), RuntimeError("b")
    assert box.set_error(first) and not box.set_error(second)
    box.publish([1], ["x"], {"micro": [], "macro": []})
    box.restart(True)
    new = box.take()
    assert new["results"] == [] and new["intervals"] == [] and new["reset"] is True
    assert new["error"] is first
    box.set_observation("obs", 12)
    box.finish(second)
    new = box.take()
    assert new["finished"] and new["error"] is first
    assert (new["observation"], new["observation_frame"]) == ("obs", 12)
