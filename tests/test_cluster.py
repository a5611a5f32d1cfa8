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
