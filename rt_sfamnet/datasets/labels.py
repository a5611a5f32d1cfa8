"""Spotting samples, pseudo-labels and ground-truth recognition samples (OFFICIAL-SFAMNET §3).

Sample ``i`` of a video is the flow between frames ``frame_skip*i`` and
``frame_skip*i + k_sw`` (0-based frames); a video of ``n`` frames has
``ceil((n - k_sw) / frame_skip)`` samples. Pseudo-labels: every sample starts as
``(s=0, neutral)``; for each micro-expression, with onset and apex converted to sample units
(``frame // frame_skip``), samples ``(onset+apex)//2 .. apex`` (inclusive) become
``(s=1, emotion)``. Macro-expressions are not labelled positive. Ground-truth recognition
samples: one per micro-expression, the flow between its onset and apex frames.

Beyond the release (:data:`MAE_LABELS`): macro-expressions are labelled positive too, with
the MaE's emotion when the ground truth has one (:func:`rt_sfamnet.metrics.macro_emotion_of`:
the simulator's ``prototype``), else ``neutral`` (CE weight 0: spotting only). ``"rise"``:
every sample of the rise ``onset .. apex`` (sample units). ``"phases"``: the rise and the
second half of the decline, ``(apex + offset) // 2 .. offset``, where the face moves back
(the first half may be a hold at the apex, which a 6-frame flow window cannot tell from a
still face). A network trained on the rise alone stops firing at the apex, and an interval
around the rise covers too little of a MaE for IoU >= 0.5 (the rise is 0.4-2.8 s of a
1-9 s MaE in CAS(ME)^3, median 0.73 of 2.4 s). These mark far more samples than the ME
rule's ``(onset+apex)//2 .. apex``; the micro and macro post-processing tell the two apart by
length.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from rt_sfamnet.emotions import NEUTRAL, class_index, emotion_names
from rt_sfamnet.intervals import Interval


def k_sw_for(fps: float) -> int:
    """The flow window in frames: ``round(0.2 * fps)`` (6 at 30 FPS)."""
    return max(1, int(round(0.2 * float(fps))))


def sample_frames(n_frames: int, frame_skip: int = 2, k_sw: int = 6) -> np.ndarray:
    """First frames of the spotting samples of a video of ``n_frames`` frames.

    Returns:
        ``(n_samples,)`` int64: ``0, fs, 2fs, ...`` while ``frame + k_sw < n_frames``.
    """
    if frame_skip < 1 or k_sw < 1:
        raise ValueError(f"frame_skip and k_sw must be >= 1, found {frame_skip}, {k_sw}")
    return np.arange(0, max(int(n_frames) - k_sw, 0), frame_skip, dtype=np.int64)


#: MaE pseudo-label modes: ``"none"`` (the release: ME only), ``"rise"`` (MaE rise positive),
#: ``"phases"`` (rise and the second half of the decline positive).
MAE_LABELS = ("none", "rise", "phases")


def pseudo_labels(n_samples: int, intervals: Iterable[Interval], frame_skip: int = 2,
                  mae: str = "none") -> tuple[np.ndarray, list[str]]:
    """Spotting targets and emotion names of a video's samples (release rule, §3).

    Args:
        n_samples: number of spotting samples of the video.
        intervals: the video's expressions (0-based frames); only ``type == "micro"`` count.
            A micro-expression without an emotion is positive with class ``neutral`` (its CE
            weight is 0, so it trains spotting only).
        frame_skip: frames between samples.
        mae: ``"none"`` (release), ``"rise"`` (macro-expressions' samples ``onset .. apex``
            positive too) or ``"phases"`` (also ``(apex + offset) // 2 .. offset``); see the
            module docstring.

    Returns:
        ``spot`` ``(n_samples,)`` float32 in {0, 1}, and a list of ``n_samples`` emotion
        names (``"neutral"`` for negatives). Later intervals overwrite earlier ones, and
        micro-expressions overwrite macro-expressions.
    """
    if mae not in MAE_LABELS:
        raise ValueError(f"mae must be one of {MAE_LABELS}, found {mae!r}")
    spot = np.zeros(int(n_samples), np.float32)
    names = [NEUTRAL] * int(n_samples)
    intervals = list(intervals)
    if mae != "none":
        from rt_sfamnet.metrics import macro_emotion_of

        for iv in intervals:
            if iv.type != "macro":
                continue
            apex = iv.onset if iv.apex is None else iv.apex
            spans = [(iv.onset, apex)]
            if mae == "phases":
                spans.append(((apex + iv.offset) // 2, iv.offset))
            for a, b in spans:
                lo, hi = max(a // frame_skip, 0), min(b // frame_skip, n_samples - 1)
                spot[lo : hi + 1] = 1.0
                names[lo : hi + 1] = [macro_emotion_of(iv) or NEUTRAL] * max(hi + 1 - lo, 0)
    for iv in intervals:
        if iv.type != "micro":
            continue
        apex = iv.onset if iv.apex is None else iv.apex
        on_s = iv.onset // frame_skip
        ap_s = apex // frame_skip
        lo = max((on_s + ap_s) // 2, 0)
        hi = min(ap_s, n_samples - 1)
        for i in range(lo, hi + 1):
            spot[i] = 1.0
            names[i] = iv.emotion or NEUTRAL
    return spot, names


@dataclass(frozen=True)
class GTSample:
    """One ground-truth recognition sample: the flow from ``onset`` to ``apex`` (0-based)."""

    onset: int
    apex: int
    emotion: str


def gt_samples(intervals: Iterable[Interval], n_frames: int | None = None) -> list[GTSample]:
    """One :class:`GTSample` per labelled micro-expression (onset -> apex).

    Micro-expressions without an emotion, or (when ``n_frames`` is given) with an apex past
    the last frame, are left out. ``apex`` None means ``apex = onset``.
    """
    out = []
    for iv in intervals:
        if iv.type != "micro" or not iv.emotion:
            continue
        apex = iv.onset if iv.apex is None else iv.apex
        if n_frames is not None and (apex >= n_frames or iv.onset >= n_frames):
            continue
        out.append(GTSample(int(iv.onset), int(apex), iv.emotion))
    return out


def class_indices(names: Iterable[str], emotions: int) -> np.ndarray:
    """Class indices (network output order, neutral last) of emotion names; int64."""
    cache: dict[str, int] = {}
    out = []
    for n in names:
        if n not in cache:
            cache[n] = class_index(n, emotions)
        out.append(cache[n])
    return np.asarray(out, np.int64)


def neutral_index(emotions: int) -> int:
    """Index of ``neutral`` (the last class)."""
    return len(emotion_names(emotions)) - 1


def sample_labels(n_samples: int, intervals: Iterable[Interval], frame_skip: int, emotions: int,
                  mae: str = "none") -> tuple[np.ndarray, np.ndarray]:
    """Training targets of a video's spotting samples: ``(spot (n,) float32, cls (n,) int64)``.

    The release rule of :func:`pseudo_labels`, with the emotion names turned into class
    indices for ``emotions`` classes (neutral last).
    """
    spot, names = pseudo_labels(n_samples, intervals, frame_skip, mae)
    return spot, class_indices(names, emotions)
