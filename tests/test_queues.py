"""The bounded queue: drop-oldest and wait policies (rt_sfamnet.queues)."""

from __future__ import annotations

import threading

from rt_sfamnet.queues import BoundedQueue, Control


class _Marker(Control):
    pass


def test_drop_oldest_queue_drops_oldest_data_never_controls():
    q = BoundedQueue(3)
    m = _Marker()
    assert q.put_drop_oldest(m) == 0
    for i in range(3):
        assert q.put_drop_oldest(i) == 0
    assert q.put_drop_oldest(3) == 1  # 0 is dropped, the marker stays
    assert q.put_drop_oldest(4) == 1  # 1 is dropped
    assert q.dropped == 2
    assert q.get_many(10, 0.1) == [m]  # a control item ends a batch
    assert q.get_many(10, 0.1) == [2, 3, 4]
    assert q.get_many(10, 0.01) == []


def test_put_wait_backpressure_and_stop():
    q = BoundedQueue(1)
    stop = threading.Event()
    assert q.put_wait("a", stop)
    returned: list = []
    producer = threading.Thread(target=lambda: returned.append(q.put_wait("b", stop)))
    producer.start()
    assert q.wait_until(lambda: q.waiting == 1, timeout=30)  # the producer is blocked
    assert returned == [] and len(q) == 1  # ... and "b" is not in the queue
    assert q.get_many(1, 1.0) == ["a"]  # taking "a" lets it through
    producer.join()
    assert returned == [True] and q.waiting == 0 and q.dropped == 0
    stop.set()
    assert q.put_wait("c", stop) is False  # full and stopping: gives up, drops nothing
    assert q.get_many(5, 0.1) == ["b"]
    assert q.clear() == 0
