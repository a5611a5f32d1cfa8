"""Spotting post-processing: a video's score curve -> micro- and macro-expression intervals.

Offline (:func:`spot`) this is the authors' release post-processing (OFFICIAL-SFAMNET §4),
quirks included; :class:`StreamingSpotter` computes the same intervals one score at a time.

Units: the network gives one score every ``frame_skip`` frames; score *sample* ``i`` belongs to
frame ``i * frame_skip`` (the first frame of its flow window). Every length below is in
samples; intervals are reported in frames (``sample * frame_skip``).

Release procedure, per expression type (micro: ``k = 15 // fs``, macro: ``k = 20 // fs``):

1. Smooth the scores with a centred box filter of length ``2k`` (the mean of samples
   ``i - k .. i + k - 1``, zero outside the video; the release's
   ``np.convolve(s, ones(2k) / 2k, "same")`` computed in a fixed summation order, see
   :func:`smooth`).
2. Peaks: ``find_peaks(curve[k:-k], height=threshold, distance=(left + right) // 2)``; the
   release adds ``k - 1`` to micro peak indices and ``k`` to macro ones (so a micro "peak" is
   one sample left of the local maximum: ``micro_peak_offset = -1``).
3. Onset: the index in ``[peak - left, peak]`` whose smoothed score is above the threshold and
   differs most from the peak's (leftmost on ties); offset likewise in ``[peak, peak + right]``;
   both default to the peak.
4. Micro kept if ``min <= end - start <= max``, the mean smoothed score over ``[start, end]``
   is below ``micro_max_mean`` (0.725), and the peak exceeds both ends by more than
   ``micro_phase_dif``. Macro: if ``end - start < min`` widen both sides by ``macro_widen``
   (clipped to the video); kept if within ``[min, max]`` and the peak exceeds both ends by
   more than ``macro_phase_dif``.
5. If the mean of the micro-smoothed curve over the whole video is ``>= video_threshold``, the
   video yields no interval.
6. Interval frames ``[start * fs, end * fs + offset_extend]`` (``offset_extend`` 0 in the
   release), apex ``peak * fs``; emotion (micro and macro) = the most common predicted class
   over samples ``[start, peak]`` (ties: first seen; for a widened MaE ``start`` is the
   widened one). Beyond the release, ``emotion_rule="weighted"`` gives the class with the
   largest sum of raw scores over ``[start, end]`` (:func:`weighted_emotion`).

Determinism: peaks of equal height within ``distance`` are ranked by position (the later one
wins), a stable order; SciPy's own ``find_peaks`` uses an unstable sort there, so its choice
between exactly equal heights may differ between machines. Without exact ties the result is
the same as SciPy's (tested).
"""

from rt_sfamnet.spotting.config import (
    SCHEDULE_KEYS,
    TYPES,
    SpottedInterval,
    SpottingConfig,
    TypeParams,
    spotting_changes,
    spotting_config,
)
from rt_sfamnet.spotting.offline import (
    evaluate_peak,
    release_peaks,
    select_by_distance,
    smooth,
    smooth_at,
    smooth_curves,
    spot,
    spot_curves,
    weighted_emotion,
)
from rt_sfamnet.spotting.streaming import StreamingSpotter

__all__ = [
    "SCHEDULE_KEYS",
    "TYPES",
    "SpottedInterval",
    "SpottingConfig",
    "StreamingSpotter",
    "TypeParams",
    "evaluate_peak",
    "release_peaks",
    "select_by_distance",
    "smooth",
    "smooth_at",
    "smooth_curves",
    "spot",
    "spot_curves",
    "spotting_changes",
    "spotting_config",
    "weighted_emotion",
]
