"""Spotting post-processing: release rules, offline vs streaming exactness, latency."""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.signal import find_peaks

from rt_sfamnet.config import config_from_mapping
from rt_sfamnet.errors import ConfigError
from rt_sfamnet.spotting import (
    SpottedInterval,
    SpottingConfig,
    StreamingSpotter,
    TypeParams,
    evaluate_peak,
    release_peaks,
    select_by_distance,
    smooth,
    smooth_curves,
    spot,
    weighted_emotion,
)

# ----------------------------------------------------------------------------- helpers


def bumpy_curve(rng: np.random.Generator, n: int) -> np.ndarray:
    """Low noise with a few bumps of random width and height (realistic score curves)."""
    s = 0.08 * rng.random(n)
    for _ in range(int(rng.integers(0, 6))):
        c = int(rng.integers(0, max(1, n)))
        w = int(rng.integers(3, 40))
        h = rng.uniform(0.3, 1.0)
        lo, hi = max(0, c - w // 2), min(n, c + w // 2 + 1)
        s[lo:hi] = np.maximum(s[lo:hi], h * (1 - np.abs(np.arange(lo, hi) - c) / (w / 2 + 1)))
    return np.clip(s, 0, 1)


def reference_smooth(scores, k):
    """The release's box filter, summed left to right in plain Python (the fixed-order reference).

    ``np.convolve`` cannot be the bit-exact reference: its summation order depends on the BLAS
    kernel that OpenBLAS picks for the CPU.
    """
    n, w = len(scores), 1.0 / (2 * k)
    out = []
    for i in range(n):
        acc = 0.0
        for j in range(i - k, i + k):
            if 0 <= j < n:
                acc += float(scores[j]) * w
        out.append(acc)
    return np.array(out, dtype=np.float64)


def reference_spot(scores, labels, fs=2, video_threshold=0.41, smoother=None):
    """OFFICIAL-SFAMNET §4 written out directly with a box filter and scipy's find_peaks."""
    scores = np.asarray(scores, float)
    n = len(scores)
    smoother = smoother or reference_smooth
    micro = smoother(scores, 15 // fs)
    macro = smoother(scores, 20 // fs)
    if np.mean(micro) >= video_threshold:
        return []
    out = []
    specs = [
        ("micro", micro, 15 // fs, 15 // fs, 32 // fs, 15 // fs, 32 // fs, 0.017, -1),
        ("macro", macro, 20 // fs, 50 // fs, 50 // fs, 25 // fs, 90 // fs, 0.0, 0),
    ]
    for kind, curve, k, left, right, lmin, lmax, dif, shift in specs:
        peaks, _ = find_peaks(curve[k:-k], height=0.576, distance=(left + right) // 2)
        for pk in peaks + k + shift:
            pv = curve[pk]
            start = end = pk
            best = None
            for i in range(max(0, pk - left), pk + 1):
                if curve[i] > 0.576 and (best is None or abs(curve[i] - pv) > best):
                    best, start = abs(curve[i] - pv), i
            best = None
            for i in range(pk, min(n - 1, pk + right) + 1):
                if curve[i] > 0.576 and (best is None or abs(curve[i] - pv) > best):
                    best, end = abs(curve[i] - pv), i
            if kind == "micro":
                ok = (lmin <= end - start <= lmax and np.mean(curve[start:end + 1]) < 0.725
                      and pv - curve[start] > dif and pv - curve[end] > dif)
            else:
                if end - start < lmin:
                    start, end = max(0, start - (50 // fs) // 3), min(n - 1, end + (50 // fs) // 3)
                ok = lmin <= end - start <= lmax and pv - curve[start] > dif and pv - curve[end] > dif
            if ok:
                seg = labels[start:pk + 1]  # release step 6: micro and macro alike
                emo = max(Counter(seg).items(), key=lambda kv: kv[1])[0]
                out.append((kind, start * fs, pk * fs, end * fs, emo))
    return sorted(out, key=lambda t: (t[1], t[2], t[3], t[0] == "macro"))


def as_tuples(ivs):
    return [(iv.type, iv.onset, iv.apex, iv.offset, iv.emotion) for iv in ivs]


def stream(scores, labels, cfg):
    sp = StreamingSpotter(cfg)
    early, when = [], []
    for i, (x, lab) in enumerate(zip(scores, labels, strict=False)):
        for iv in sp.push(x, lab):
            early.append(iv)
            when.append(i)
    late = sp.finish()
    return sp, early, when, late


def srt(ivs):
    return sorted(ivs, key=lambda iv: (iv.onset, iv.apex, iv.offset, iv.type != "micro"))


# ------------------------------------------------------------------------ offline rules


def test_smooth_is_the_release_box_filter_in_a_fixed_order():
    rng = np.random.default_rng(0)
    s = rng.random(301)
    for k in (1, 7, 10, 15):
        # bit for bit the fixed-order sum, on every CPU
        np.testing.assert_array_equal(smooth(s, k), reference_smooth(s, k))
        # and the release's np.convolve up to its CPU-dependent rounding (a few ulp)
        np.testing.assert_allclose(smooth(s, k), np.convolve(s, np.ones(2 * k) / (2 * k), "same"),
                                   rtol=4 * np.finfo(float).eps, atol=0)
    # shorter than the window: still the same sum (np.convolve would return 2k values here)
    np.testing.assert_array_equal(smooth(s[:5], 7), reference_smooth(s[:5], 7))
    # hand-computed: k=1 averages s[i-1] and s[i]
    np.testing.assert_allclose(smooth([2.0, 4.0, 8.0], 1), [1.0, 3.0, 6.0])


def test_default_values_follow_frame_skip():
    p = SpottingConfig().params("micro")
    assert (p.k, p.left, p.right, p.min_length, p.max_length, p.distance) == (7, 7, 16, 7, 16, 11)
    assert (p.threshold, p.phase_dif, p.max_mean, p.peak_offset) == (0.576, 0.017, 0.725, -1)
    q = SpottingConfig().params("macro")
    assert (q.k, q.left, q.right, q.min_length, q.max_length, q.distance, q.widen) == (
        10, 25, 25, 12, 45, 25, 8)
    assert q.phase_dif == 0.0 and q.peak_offset == 0
    p1 = SpottingConfig(frame_skip=1).params("micro")
    assert (p1.k, p1.right, p1.distance) == (15, 32, 23)
    paper = SpottingConfig(variant="paper")
    assert paper.params("micro").threshold == 0.58 and paper.params("micro").gap == 0.02
    assert paper.params("micro").phase_dif == 0.02 and paper.params("macro").threshold == 0.58


def test_config_errors():
    with pytest.raises(ConfigError, match="unknown key"):
        config_from_mapping(SpottingConfig, {"treshold": 0.5})
    with pytest.raises(ConfigError):
        config_from_mapping(SpottingConfig, {"variant": "mtsn"})
    with pytest.raises(ConfigError, match="k must be >= 1"):
        SpottingConfig(frame_skip=16)
    with pytest.raises(ConfigError, match="min length"):
        SpottingConfig(micro_min_length=20)
    with pytest.raises(ConfigError, match="emotion_rule must be 'release' or 'weighted'"):
        SpottingConfig(emotion_rule="mean")
    assert config_from_mapping(SpottingConfig, {"emotion_rule": "weighted"}).emotion_rule == "weighted"


def test_release_peaks_match_scipy_without_ties():
    rng = np.random.default_rng(1)
    for kind in ("micro", "macro"):
        p = SpottingConfig().params(kind)
        for _ in range(50):
            curve = smooth(rng.random(300), p.k)
            ref, _ = find_peaks(curve[p.k:-p.k], height=p.threshold, distance=p.distance)
            np.testing.assert_array_equal(release_peaks(curve, p), ref + p.k + p.peak_offset)


def test_select_by_distance_rules():
    pos = np.array([0, 10, 20, 30])
    # heights rising: 30 kept, removes 20; 10 kept (20 was removed), removes 0
    assert select_by_distance(pos, np.array([0.6, 0.7, 0.8, 0.9]), 15).tolist() == [
        False, True, False, True]
    # exact tie: the later position wins (stable order)
    assert select_by_distance(np.array([0, 5]), np.array([0.7, 0.7]), 10).tolist() == [False, True]


def _params(**kw) -> TypeParams:
    base = dict(kind="micro", k=1, left=3, right=3, min_length=1, max_length=5, distance=1,
                threshold=0.5, phase_dif=0.01, max_mean=0.9, widen=0, peak_offset=0, gap=None)
    base.update(kw)
    return TypeParams(**base)


CURVE = [0.1, 0.6, 0.7, 0.9, 0.8, 0.55, 0.2, 0.1]
LABELS = ["x", "a", "b", "b", "a", "a", "a", "a"]


def test_interval_onset_offset_and_emotion():
    # onset: above 0.5 in [0, 3], most different from 0.9 -> index 1 (0.6);
    # offset: in [3, 6] -> index 5 (0.55); emotion: mode of labels[1..3] = a, b, b -> b
    iv = evaluate_peak(CURVE, 3, _params(), length=8, labels=LABELS)
    assert (iv.onset, iv.apex, iv.offset, iv.emotion, iv.score) == (1, 3, 5, "b", 0.9)
    # ties in the difference: the leftmost index wins
    tie = [0.1, 0.6, 0.6, 0.9, 0.6, 0.6, 0.1]
    iv = evaluate_peak(tie, 3, _params(), length=7, labels=list("abbaaaa"))
    assert (iv.onset, iv.offset) == (1, 4)
    # emotion ties: first seen wins (a, b over [1, 2]... peak 2)
    iv = evaluate_peak([0.1, 0.8, 0.9, 0.6, 0.1], 2, _params(min_length=1), length=5,
                       labels=["z", "a", "b", "b", "b"])
    assert iv.emotion == "a"
    # nothing above the threshold on one side: that end stays at the peak, and then the
    # peak cannot exceed it by more than phase_dif: rejected (release behaviour)
    assert evaluate_peak([0.1, 0.2, 0.9, 0.6, 0.1], 2, _params(min_length=1), length=5,
                         labels=None) is None
    assert evaluate_peak([0.1, 0.2, 0.9, 0.6, 0.1], 2, _params(min_length=0, phase_dif=-1.0),
                         length=5, labels=None).onset == 2


def test_weighted_emotion_by_hand():
    # a: 0.9; b: 0.1 + 0.2 + 0.1 = 0.4 -> a, where the most common label is b
    assert weighted_emotion(["b", "a", "b", "b"], [0.1, 0.9, 0.2, 0.1]) == "a"
    # equal sums: the label seen first
    assert weighted_emotion(["b", "a"], [0.5, 0.5]) == "b"
    # samples without a prediction ("") do not vote
    assert weighted_emotion(["", "a", "b"], [1.0, 0.2, 0.3]) == "b"
    # every weight 0: the release's most common label
    assert weighted_emotion(["b", "a", "a"], [0.0, 0.0, 0.0]) == "a"
    assert weighted_emotion([], []) == ""
    with pytest.raises(ValueError, match="one entry per sample"):
        weighted_emotion(["a"], [0.1, 0.2])


def test_weighted_emotion_rule_reads_the_whole_interval():
    # interval [1, 5], peak 3 (as in test_interval_onset_offset_and_emotion). Release: mode of
    # labels[1..3] = b. Weighted over [1..5]: a = 0.05 + 0.9 + 0.8 = 1.75, b = 0.1 + 0.2 = 0.3
    raw = [0.0, 0.05, 0.1, 0.2, 0.9, 0.8, 0.0, 0.0]
    labels = ["x", "a", "b", "b", "a", "a", "a", "a"]
    release = evaluate_peak(CURVE, 3, _params(), length=8, labels=labels, scores=raw)
    weighted = evaluate_peak(CURVE, 3, _params(emotion_rule="weighted"), length=8, labels=labels,
                             scores=raw)
    assert (release.emotion, weighted.emotion) == ("b", "a")
    assert (weighted.onset, weighted.offset) == (release.onset, release.offset)
    with pytest.raises(ValueError, match="raw scores"):
        evaluate_peak(CURVE, 3, _params(emotion_rule="weighted"), length=8, labels=labels)
    # spot() passes its own scores: a burst labelled "positive" after a weak "others" lead-in.
    # The box-smoothed flat top puts the peak at sample 51, so the release reads [47, 51]:
    # three lead-in samples against two of the burst -> others
    s = np.full(120, 0.05)
    s[47:50] = 0.2
    s[50:58] = 0.95
    lab = ["others"] * 120
    lab[50:58] = ["positive"] * 8
    cfg = dict(video_threshold=None, micro_threshold=0.3, micro_max_mean=1.0)
    got_release = spot(s, lab, SpottingConfig(**cfg))
    got_weighted = spot(s, lab, SpottingConfig(emotion_rule="weighted", **cfg))
    assert [iv.emotion for iv in got_weighted] == ["positive"] * len(got_release)
    assert [(iv.onset, iv.apex, iv.offset, iv.emotion) for iv in got_release] == [
        (94, 102, 122, "others")]
    assert [(iv.onset, iv.offset) for iv in got_weighted] == [(iv.onset, iv.offset) for iv in got_release]


def test_interval_rejections():
    assert evaluate_peak(CURVE, 3, _params(max_length=3), length=8, labels=None) is None
    assert evaluate_peak(CURVE, 3, _params(min_length=5), length=8, labels=None) is None
    assert evaluate_peak(CURVE, 3, _params(max_mean=0.71), length=8, labels=None) is None
    assert evaluate_peak(CURVE, 3, _params(max_mean=0.72), length=8, labels=None) is not None
    assert evaluate_peak(CURVE, 3, _params(phase_dif=0.31), length=8, labels=None) is None  # 0.9-0.6
    assert evaluate_peak(CURVE, 3, _params(phase_dif=0.29), length=8, labels=None) is not None
    # search window clipped by the video length: right end at index 4
    iv = evaluate_peak(CURVE[:5], 3, _params(), length=5, labels=None)
    assert iv.offset == 4


def test_macro_widening():
    p = _params(kind="macro", widen=2, min_length=6, max_length=9, max_mean=None, phase_dif=0.0)
    iv = evaluate_peak(CURVE, 3, p, length=8, labels=LABELS)
    # [1, 5] is shorter than 6: widened to [0, 7] (clipped at the end: 5 + 2 = 7); emotion =
    # mode of the labels over the widened [0, 3] = x, a, b, b -> b (MaE labelled like ME)
    assert (iv.onset, iv.offset, iv.emotion) == (0, 7, "b")
    assert evaluate_peak(CURVE, 3, p, length=8, labels=None).emotion == ""
    assert evaluate_peak(CURVE, 3, p._replace(max_length=6), length=8, labels=None) is None


def test_micro_macro_gap_rule():
    macro = [0.1, 0.5, 0.6, 0.89, 0.7, 0.5, 0.2, 0.1]
    assert evaluate_peak(CURVE, 3, _params(gap=0.02), length=8, labels=None,
                         macro_curve=macro) is None  # |0.9 - 0.89| < 0.02
    assert evaluate_peak(CURVE, 3, _params(gap=0.005), length=8, labels=None,
                         macro_curve=macro) is not None


def test_spot_matches_reference_implementation():
    rng = np.random.default_rng(2)
    total = 0
    for trial in range(60):
        n = int(rng.integers(40, 500))
        s = bumpy_curve(rng, n)
        labels = [str(x) for x in rng.choice(["negative", "positive", "surprise"], n)]
        for fs in (1, 2):
            got = as_tuples(spot(s, labels, SpottingConfig(frame_skip=fs)))
            assert got == reference_spot(s, labels, fs), (trial, fs)
            total += len(got)
    assert total > 20  # the curves do produce intervals


def test_spot_matches_the_release_np_convolve_on_curves_without_exact_ties():
    """Release-compatible: the authors' own np.convolve post-processing gives the same intervals.

    Only ties that a one-ulp difference decides may differ (symmetric bumps give exactly equal
    smoothed values, docs/spotting.md); small random gains remove them, and then every interval
    agrees, whatever BLAS kernel np.convolve runs on.
    """
    rng = np.random.default_rng(5)
    total = 0
    for trial in range(150):
        n = int(rng.integers(40, 400))
        s = np.clip(bumpy_curve(rng, n) * (1 + 0.02 * rng.random(n)), 0, 1)
        labels = [str(x) for x in rng.choice(["negative", "positive", "surprise"], n)]
        got = as_tuples(spot(s, labels, SpottingConfig()))
        want = reference_spot(s, labels, smoother=lambda x, k: np.convolve(
            x, np.ones(2 * k) / (2 * k), "same"))
        assert got == want, trial
        total += len(got)
    assert total > 50


def test_video_threshold_rule_and_frames():
    n = 200
    s = np.full(n, 0.02)
    s[60:71] = 0.9
    ivs = spot(s, ["negative"] * n, SpottingConfig())
    assert [iv.type for iv in ivs] == ["micro"]
    iv = ivs[0]
    assert iv.onset % 2 == 0 and iv.apex == 2 * iv.peak_sample and iv.emotion == "negative"
    assert spot(s, None, SpottingConfig(frame_skip=2))[0].emotion == ""
    high = s + 0.5
    assert spot(high, None, SpottingConfig()) == []
    assert np.mean(smooth_curves(high)[0]) >= 0.41


def test_spot_edge_cases():
    assert spot([], None) == []
    assert spot([0.9] * 5, None, SpottingConfig(video_threshold=None)) == []
    with pytest.raises(ValueError, match="finite"):
        spot([0.1, float("nan")], None)
    with pytest.raises(ValueError, match="one entry per score"):
        spot([0.1, 0.2], ["a"])


# ------------------------------------------------------------------------- streaming

LEVELS = [0.0, 0.05, 0.3, 0.5, 0.576, 0.58, 0.6, 0.7, 0.9, 1.0]

curves = st.one_of(
    st.lists(st.floats(0, 1, allow_nan=False), min_size=0, max_size=160),
    st.lists(st.sampled_from(LEVELS), min_size=0, max_size=220),
    st.lists(st.tuples(st.sampled_from(LEVELS), st.integers(1, 12)), max_size=30).map(
        lambda runs: [v for v, r in runs for _ in range(r)]),
    st.integers(0, 2**32 - 1).map(
        lambda seed: bumpy_curve(np.random.default_rng(seed), 150 + seed % 300).tolist()),
)

CONFIGS = [
    SpottingConfig(video_threshold=None),
    SpottingConfig(frame_skip=1, video_threshold=None),
    SpottingConfig(variant="paper", video_threshold=None),
    SpottingConfig(frame_skip=3, micro_distance=2, macro_distance=3, video_threshold=None),
    SpottingConfig(live_video_rule="defer"),
    SpottingConfig(live_video_rule="ignore"),
    SpottingConfig(live_video_rule="running"),
    SpottingConfig(emotion_rule="weighted", video_threshold=None),
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scores=curves, cfg_index=st.integers(0, len(CONFIGS) - 1), seed=st.integers(0, 9))
def test_streaming_equals_offline(scores, cfg_index, seed):
    cfg = CONFIGS[cfg_index]
    rng = np.random.default_rng(seed)
    labels = [str(x) for x in rng.choice(["negative", "positive", "others"], len(scores))]
    sp, early, when, late = stream(scores, labels, cfg)
    got = srt(early + late)
    assert len({(iv.type, iv.peak_sample) for iv in got}) == len(got)  # nothing twice
    no_rule = dataclasses.replace(cfg, video_threshold=None)
    offline = spot(scores, labels, cfg)
    offline_no_rule = spot(scores, labels, no_rule)
    # whatever is emitted early is final: it is in the offline result, identical
    for iv in early:
        assert iv in offline_no_rule
    mean_ok = cfg.video_threshold is None or not scores or (
        float(np.mean(smooth_curves(scores, cfg)[0])) < cfg.video_threshold)
    if cfg.video_threshold is None or cfg.live_video_rule == "defer":
        assert got == offline
    elif cfg.live_video_rule == "ignore":
        assert got == offline_no_rule
    else:  # running
        if mean_ok:
            assert got == offline
    if cfg.live_video_rule == "defer" and cfg.video_threshold is not None:
        assert early == []
    # curves: the values final during streaming equal the offline smoothing
    micro, macro = smooth_curves(scores, cfg)
    np.testing.assert_array_equal(np.asarray(sp.micro_curve), micro)
    np.testing.assert_array_equal(np.asarray(sp.macro_curve), macro)


def test_streaming_equals_offline_many_realistic_curves():
    """Deterministic companion of the property test: many curves that do produce intervals,
    including peak chains closer than the peak distance (latency above the isolated case)."""
    rng = np.random.default_rng(4)
    total = early_total = 0
    for trial in range(120):
        cfg = CONFIGS[trial % 4]
        n = int(rng.integers(50, 600))
        s = bumpy_curve(rng, n)
        if trial % 3 == 0:  # dense, near-threshold wiggles
            s = np.clip(0.55 + 0.08 * np.sin(np.arange(n) / rng.uniform(1.5, 6)) +
                        0.05 * rng.standard_normal(n), 0, 1)
        labels = [str(x) for x in rng.choice(["negative", "positive", "surprise"], n)]
        sp, early, when, late = stream(s, labels, cfg)
        offline = spot(s, labels, cfg)
        assert srt(early + late) == offline, trial
        for iv, i in zip(early, when, strict=False):
            # never before the offset search window [peak, peak + right] is final
            prm = cfg.params(iv.type)
            assert i - iv.peak_sample >= prm.right + prm.k - 1
        total += len(offline)
        early_total += len(early)
    assert total > 100 and early_total > 0.8 * total


def test_streaming_curves_are_final_values_so_far():
    rng = np.random.default_rng(3)
    s = bumpy_curve(rng, 120)
    cfg = SpottingConfig()
    sp = StreamingSpotter(cfg)
    micro, macro = smooth_curves(s, cfg)
    for i, x in enumerate(s):
        sp.push(x, "others")
        n = i + 1
        assert len(sp.micro_curve) == max(0, n - 7 + 1)
        assert len(sp.macro_curve) == max(0, n - 10 + 1)
        # bit-identical to the offline curve where final
        assert sp.micro_curve == micro[: len(sp.micro_curve)].tolist()
        assert sp.macro_curve == macro[: len(sp.macro_curve)].tolist()


def test_streaming_latency_of_isolated_peaks():
    cfg = SpottingConfig()
    sp0 = StreamingSpotter(cfg)
    assert sp0.latency_by_type() == {"micro": 22, "macro": 34}
    assert sp0.latency_samples == 22 and sp0.latency_frames == 44
    n = 300
    s = np.full(n, 0.02)
    s[60:71] = 0.9           # a micro-expression
    s[180:215] = 0.95        # a macro-expression
    offline = spot(s, ["surprise"] * n, cfg)
    assert sorted(iv.type for iv in offline) == ["macro", "micro"]
    sp, early, when, late = stream(s, ["surprise"] * n, cfg)
    assert late == [] and srt(early) == offline
    for iv, i in zip(early, when, strict=False):
        assert i - iv.peak_sample == sp.latency_by_type()[iv.type]


def test_running_gate_suppresses_while_mean_is_high():
    n = 300
    s = np.full(n, 0.02)
    s[:120] = 0.9            # noisy start: running mean high
    s[200:211] = 0.9         # a micro-expression later
    cfg = SpottingConfig(live_video_rule="running")
    sp, early, _, late = stream(s, ["others"] * n, cfg)
    full_mean = float(np.mean(smooth_curves(s)[0]))
    assert full_mean < 0.41  # the whole video passes the rule ...
    assert early == []       # ... but the running mean was still high when the ME became final
    assert srt(late) == spot(s, ["others"] * n, cfg) and len(late) >= 1


def test_push_after_finish_and_bad_score():
    sp = StreamingSpotter()
    with pytest.raises(ValueError):
        sp.push(float("inf"))
    sp.push(0.1)
    assert sp.finish() == []
    assert sp.finish() == []
    with pytest.raises(RuntimeError):
        sp.push(0.2)


def test_spotted_interval_conversions():
    iv = SpottedInterval("micro", 10, 14, 30, "negative", 0.7, 7)
    d = iv.to_dict()
    assert d["onset"] == 10 and d["emotion"] == "negative"
    i2 = iv.to_interval("s1", "a")
    assert (i2.subject, i2.video, i2.onset, i2.apex, i2.offset, i2.type) == ("s1", "a", 10, 14, 30, "micro")


def test_offset_extend_moves_only_offsets_offline_and_streaming():
    n = 200
    s = np.full(n, 0.02)
    s[60:71] = 0.9
    s[140:175] = 0.8
    base = SpottingConfig()
    ext = SpottingConfig(offset_extend=6)
    a, b = spot(s, None, base), spot(s, None, ext)
    assert len(a) == len(b) >= 1
    for x, y in zip(a, b, strict=True):
        assert (y.type, y.onset, y.apex, y.peak_sample) == (x.type, x.onset, x.apex, x.peak_sample)
        assert y.offset == x.offset + 6
    _, early, _, late = stream(s, ["negative"] * n, ext)
    assert [(iv.onset, iv.offset) for iv in srt(early + late)] == [(iv.onset, iv.offset) for iv in b]
    with pytest.raises(ConfigError, match="offset_extend"):
        SpottingConfig(offset_extend=-1)
    assert config_from_mapping(SpottingConfig, {"offset_extend": 6}).offset_extend == 6
