"""Ground truth for one headless run: the source's video, limited to the analysed span.

- :func:`select_video`: a ground-truth file may hold many videos (a whole dataset's
  intervals); a run analyses one. The rows of the matching video are kept; a file whose
  videos cannot be told apart is refused with a message listing them.
- :func:`clip_to_span`: a run stopped early (``--seconds``, Ctrl-C, a signal, an error)
  analysed only frames ``first..last``; ground truth outside them is not a miss of the
  spotter. Intervals are cut to the span and those left empty are dropped, so the metrics
  score exactly the frames that were analysed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from rt_sfamnet.errors import ConfigError
from rt_sfamnet.intervals import Interval


def _videos(gt: Sequence[Interval]) -> list[tuple[str, str]]:
    return list(dict.fromkeys((iv.subject, iv.video) for iv in gt))


def select_video(gt: Sequence[Interval], name: str | None, where: str = "ground truth"
                 ) -> list[Interval]:
    """The intervals of the one video of ``gt`` that ``name`` designates.

    Args:
        gt: intervals of one or more ``(subject, video)`` pairs.
        name: ``VIDEO`` or ``SUBJECT/VIDEO``; with one video in ``gt`` it is not needed.
        where: the file's name for messages.

    Raises:
        ConfigError: several videos and ``name`` matches none, or more than one.
    """
    videos = _videos(gt)
    if len(videos) <= 1:
        return list(gt)
    matches = [v for v in videos if name is not None and name in (v[1], f"{v[0]}/{v[1]}")]
    if len(matches) == 1:
        return [iv for iv in gt if (iv.subject, iv.video) == matches[0]]
    listed = ", ".join(f"{s}/{v}" for s, v in videos[:6]) + ("..." if len(videos) > 6 else "")
    found = "matches none of them" if not matches else f"matches {len(matches)} of them"
    raise ConfigError(
        f"{where} holds {len(videos)} videos ({listed}) and {name!r} {found}; choose one with "
        f"--gt-video SUBJECT/VIDEO, or give a file with the analysed video only"
    )


def clip_to_span(gt: Sequence[Interval], first: int | None, last: int | None
                 ) -> tuple[list[Interval], int, int]:
    """``gt`` cut to frames ``first..last`` (inclusive; None: open on that side).

    ``first=None`` *and* ``last=None`` keep everything. When nothing was analysed, pass
    ``first=0, last=-1`` (an empty span): every interval is outside.

    Returns:
        ``(intervals, outside, cut)``: the intervals inside the span (an apex outside it
        becomes None), how many were dropped as wholly outside, how many were shortened.
    """
    kept: list[Interval] = []
    outside = cut = 0
    lo = first if first is not None else -1
    for iv in gt:
        onset = max(iv.onset, lo)
        offset = iv.offset if last is None else min(iv.offset, last)
        if offset < onset:
            outside += 1
            continue
        if (onset, offset) != (iv.onset, iv.offset):
            cut += 1
            apex = iv.apex if iv.apex is not None and onset <= iv.apex <= offset else None
            iv = replace(iv, onset=onset, offset=offset, apex=apex)
        kept.append(iv)
    return kept, outside, cut
