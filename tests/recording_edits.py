"""Holes made in a copy of a RealSense ``.db3`` recording with sqlite, as a damaged or
lossy capture would leave them (shared by the source and command tests)."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterable
from pathlib import Path


def drop_frames(path: Path, stream: str, ranks: Iterable[int]) -> int:
    """Delete the ``stream`` (``"Color"`` or ``"Depth"``) frames of the given ranks (0-based
    order in the file): their image, metadata and camera_info messages. Returns the number of
    messages deleted."""
    con = sqlite3.connect(path)
    try:
        topics = [t for (t,) in con.execute(
            "SELECT id FROM topics WHERE name LIKE ?", (f"%/{stream}_0/image/%",))]
        (meta,) = [t for (t,) in con.execute(
            "SELECT id FROM topics WHERE name LIKE ?", (f"%/{stream}_0/image/metadata",))]
        stamps = [t for (t,) in con.execute(
            "SELECT timestamp FROM messages WHERE topic_id = ? ORDER BY timestamp", (meta,))]
        gone = [stamps[r] for r in ranks]
        n = con.execute(
            f"DELETE FROM messages WHERE topic_id IN ({','.join('?' * len(topics))}) "
            f"AND timestamp IN ({','.join('?' * len(gone))})", (*topics, *gone)).rowcount
        con.commit()
    finally:
        con.close()
    return n


def holed_copy(source: Path, target: Path, stream: str, ranks: Iterable[int]) -> Path:
    """A copy of ``source`` at ``target`` (ground-truth sidecar included) with frames of
    ``stream`` removed."""
    shutil.copyfile(source, target)
    gt = source.with_name(source.stem + ".gt.csv")
    if gt.exists():
        shutil.copyfile(gt, target.with_name(target.stem + ".gt.csv"))
    ranks = list(ranks)
    assert drop_frames(target, stream, ranks) >= 2 * len(ranks)
    return target
