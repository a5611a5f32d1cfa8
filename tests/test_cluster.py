"""--shard K/N parsing and splitting (Slurm array jobs)."""

from __future__ import annotations

import pytest

from rt_sfamnet.cluster import parse_shard, shard_items
from rt_sfamnet.errors import RtSfamnetError


def test_parse_shard():
    assert parse_shard(None) is None
    assert parse_shard("3/10") == (3, 10) and parse_shard("1/1") == (1, 1)
    for bad in ("0/3", "4/3", "3", "a/b", "1/0", "-1/2"):
        with pytest.raises(RtSfamnetError, match="K/N"):
            parse_shard(bad)


def test_shards_partition_the_items():
    items = list(range(11))
    parts = [shard_items(items, (k, 3)) for k in (1, 2, 3)]
    assert parts == [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8]]
    assert sorted(sum(parts, [])) == items
    assert shard_items(items, None) == items


def test_a_task_error_is_raised_as_itself_and_ray_is_shut_down():
    """Ray wraps a task's exception in one whose message is the worker's whole traceback;
    ray_map raises the task's own error (one line for the CLI) and stops Ray."""
    from pathlib import Path

    ray = pytest.importorskip("ray")
    from rt_sfamnet.cluster import ray_map

    try:
        with pytest.raises(RtSfamnetError) as info:
            list(ray_map(parse_shard, [("3/2",)], workers=1, address=None))
        assert type(info.value) is RtSfamnetError
        assert str(info.value) == "--shard must be K/N with 1 <= K <= N (e.g. 3/10), found '3/2'"
        assert not ray.is_initialized()
        with pytest.raises(FileNotFoundError) as err:
            list(ray_map(Path.read_text, [(Path("/no/such/file"),)], workers=1, address=None))
        assert type(err.value) is FileNotFoundError and "\n" not in str(err.value)
    finally:
        if ray.is_initialized():
            ray.shutdown()
