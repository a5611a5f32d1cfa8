"""Evaluation of spotted intervals and of recognition, as pure functions.

Two protocols for intervals (:func:`evaluate_intervals`):

``"megc"`` (default, the community's protocol)
    Per video and per type (micro / macro), a prediction is a true positive when it matches a
    ground-truth interval of the same type with IoU >= 0.5, frames counted inclusively
    (``|A ∩ B| / |A ∪ B|`` with both ends in). Matching is one-to-one: a maximum matching
    (the most matched pairs; among those, the largest total IoU). FP = predictions - TP,
    FN = ground truth - TP. TP, FP, FN are summed over all videos and subjects first, then
    ``P = TP / (TP + FP)``, ``R = TP / (TP + FN)``, ``F1 = 2PR / (P + R)`` (0 when undefined).
    ``overall`` sums micro and macro counts. Analysis: the true-positive micro predictions
    paired with their matched ground truth; recognition over those pairs on the classes that
    occur in the paired ground truth: UF1 = mean per-class F1, UAR = mean per-class recall,
    ``f1`` = ``2 P̄ R̄ / (P̄ + R̄)`` from the mean per-class precision (0/0 -> 0) and recall;
    ``strs`` = micro spotting F1 x analysis f1.

``"sfamnet"`` (compatibility with the authors' release; every quirk of OFFICIAL-SFAMNET §5)
    Micro ground truth whose ``offset - onset > 30`` gets ``offset = apex + (apex - onset)``;
    micro ground truth with onset = apex = offset (after that) is left out of matching. The
    micro count used for FN is every micro ground truth except those the rule changed to
    ``offset - onset == 0``. Matching is per prediction, not one-to-one: a prediction counts
    as many TPs as there are ground truths (same video, same type) with IoU >= 0.5, 0 matches
    is one FP; FN = count - TP (may be negative, kept). Sums are pooled over subjects.
    Analysis: micro predictions with exactly one match, paired with the ground truth of
    highest IoU; recognition per non-neutral class as a one-vs-rest 2x2 confusion matrix
    (classes whose labels and predictions are all the same value are skipped); per class
    f1 = 2TP/(2TP+FP+FN), recall = TP/(TP+FN), precision = TP/(TP+FP), 0/0 = NaN;
    UF1 = mean f1, UAR = mean recall (NaN if any is NaN), F1 = 2 P̄ R̄ / (P̄ + R̄) with NaN
    taken as 0 in the means; every NaN result is reported as 0; no pairs -> all 0.

:func:`recognition_metrics` scores per-sample labels (the LOSO recognition report).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from rt_sfamnet.emotions import NEUTRAL, emotion_names, to_class
from rt_sfamnet.errors import InputFileError, RtSfamnetError
from rt_sfamnet.intervals import Interval

PROTOCOLS = ("megc", "sfamnet")
IOU_THRESHOLD = 0.5


def iou(a_on: int, a_off: int, b_on: int, b_off: int) -> float:
    """IoU of two frame intervals, both ends inclusive: ``|A ∩ B| / |A ∪ B|``."""
    inter = min(a_off, b_off) - max(a_on, b_on) + 1
    if inter <= 0:
        return 0.0
    union = (a_off - a_on + 1) + (b_off - b_on + 1) - inter
    return inter / union


def prf(tp: float, fp: float, fn: float) -> dict[str, float]:
    """``{tp, fp, fn, precision, recall, f1}``; each ratio 0 when its denominator is 0."""
    p = tp / (tp + fp) if (tp + fp) != 0 else 0.0
    r = tp / (tp + fn) if (tp + fn) != 0 else 0.0
    f = 2 * p * r / (p + r) if (p + r) != 0 else 0.0
    return {"tp": int(tp), "fp": int(fp), "fn": int(fn), "precision": p, "recall": r, "f1": f}


def max_matching(gt: Sequence[tuple[int, int]], pred: Sequence[tuple[int, int]],
                 threshold: float = IOU_THRESHOLD) -> list[tuple[int, int, float]]:
    """One-to-one matching of (onset, offset) pairs with IoU >= threshold.

    Returns ``(gt_index, pred_index, iou)`` for a maximum matching (most pairs; among those,
    the largest total IoU).
    """
    if not gt or not pred:
        return []
    m = np.array([[iou(g[0], g[1], p[0], p[1]) for p in pred] for g in gt])
    valid = m >= threshold
    if not valid.any():
        return []
    from scipy.optimize import linear_sum_assignment

    big = len(gt) + len(pred) + 1
    weight = np.where(valid, 1.0 + m / big, 0.0)
    rows, cols = linear_sum_assignment(weight, maximize=True)
    return [(int(r), int(c), float(m[r, c])) for r, c in zip(rows, cols, strict=False) if valid[r, c]]


def _group(intervals: Iterable[Interval]) -> dict[tuple[str, str], list[Interval]]:
    out: dict[tuple[str, str], list[Interval]] = defaultdict(list)
    for iv in intervals:
        out[(iv.subject, iv.video)].append(iv)
    return out


def _class_of(name: str, emotions: int, where: str) -> str:
    if not name:
        return NEUTRAL
    try:
        return to_class(name, emotions)
    except RtSfamnetError as exc:
        raise InputFileError(f"{where}: {exc}") from None


# ------------------------------------------------------------------------- recognition


def recognition_metrics(y_true: Sequence, y_pred: Sequence, classes: Sequence[str]) -> dict:
    """UF1, UAR, accuracy and the confusion matrix of per-sample labels.

    Args:
        y_true, y_pred: (n,) labels, either class names from ``classes`` or integer indices
            into ``classes``.
        classes: the class names (matrix order).

    Returns:
        ``{"uf1", "uar", "accuracy", "confusion" (rows true, columns predicted, lists of
        ints), "classes", "per_class": {name: {precision, recall, f1, support}}, "n"}``.
        UF1 and UAR are means over the classes that occur in ``y_true`` (a class without
        true samples has no recall); per-class F1 = 2TP/(2TP+FP+FN), precision 0/0 -> 0.
        Predictions of other classes (e.g. neutral) count as misses. All 0 when n = 0.
    """
    classes = list(classes)
    index = {c: i for i, c in enumerate(classes)}

    def to_idx(v, which: str) -> int:
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            if not 0 <= int(v) < len(classes):
                raise ValueError(f"{which} label {v} out of range for {len(classes)} classes")
            return int(v)
        if v in index:
            return index[v]
        raise ValueError(f"{which} label {v!r} is not one of {classes}")

    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}")
    t = np.array([to_idx(v, "true") for v in y_true], dtype=np.int64)
    p = np.array([to_idx(v, "predicted") for v in y_pred], dtype=np.int64)
    c = len(classes)
    cm = np.zeros((c, c), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    per = {}
    f1s, recalls = [], []
    for i, name in enumerate(classes):
        tp = int(cm[i, i])
        fn = int(cm[i].sum() - tp)
        fp = int(cm[:, i].sum() - tp)
        support = tp + fn
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / support if support else 0.0
        f1 = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else 0.0
        per[name] = {"precision": prec, "recall": rec, "f1": f1, "support": support}
        if support:
            f1s.append(f1)
            recalls.append(rec)
    n = int(t.size)
    return {
        "uf1": float(np.mean(f1s)) if f1s else 0.0,
        "uar": float(np.mean(recalls)) if recalls else 0.0,
        "accuracy": float((t == p).mean()) if n else 0.0,
        "confusion": cm.tolist(),
        "classes": classes,
        "per_class": per,
        "n": n,
    }


def megc_analysis(pairs: Sequence[tuple[str, str]]) -> dict[str, float]:
    """Analysis metrics (MEGC) of ``(true_class, predicted_class)`` pairs.

    Classes: those occurring among the true labels. UF1 = mean per-class F1, UAR = mean
    per-class recall, f1 = 2 P̄ R̄ / (P̄ + R̄) with P̄ (0/0 -> 0), R̄ the per-class means.
    """
    if not pairs:
        return {"uf1": 0.0, "uar": 0.0, "f1": 0.0}
    classes = sorted({t for t, _ in pairs})
    f1s, recs, precs = [], [], []
    for c in classes:
        tp = sum(1 for t, p in pairs if t == c and p == c)
        fn = sum(1 for t, p in pairs if t == c and p != c)
        fp = sum(1 for t, p in pairs if t != c and p == c)
        f1s.append(2 * tp / (2 * tp + fp + fn))
        recs.append(tp / (tp + fn))
        precs.append(tp / (tp + fp) if tp + fp else 0.0)
    pm, rm = float(np.mean(precs)), float(np.mean(recs))
    return {
        "uf1": float(np.mean(f1s)),
        "uar": rm,
        "f1": 2 * pm * rm / (pm + rm) if pm + rm else 0.0,
    }


def sfamnet_analysis(pairs: Sequence[tuple[str, str]], classes: Sequence[str]) -> dict[str, float]:
    """Analysis metrics exactly as the release computes them (OFFICIAL-SFAMNET §5).

    For each class in ``classes`` (the non-neutral ones): one-vs-rest 2x2 confusion matrix
    over the pairs; skipped when labels and predictions all have the same value (a 1x1
    matrix). f1 = 2TP/(2TP+FP+FN), recall = TP/(TP+FN), precision = TP/(TP+FP), 0/0 = NaN.
    UF1 = mean f1, UAR = mean recall (NaN propagates), F1 = 2 P̄ R̄ / (P̄ + R̄) with NaN -> 0
    before the means; NaN results are reported as 0; no pairs -> all 0.
    """
    if not pairs:
        return {"uf1": 0.0, "uar": 0.0, "f1": 0.0}
    f1s, recs, precs = [], [], []
    for c in classes:
        yt = [t == c for t, _ in pairs]
        yp = [p == c for _, p in pairs]
        if len(set(yt) | set(yp)) < 2:
            continue  # a 1x1 confusion matrix: the release skips the class
        tp = sum(a and b for a, b in zip(yt, yp, strict=False))
        fp = sum((not a) and b for a, b in zip(yt, yp, strict=False))
        fn = sum(a and (not b) for a, b in zip(yt, yp, strict=False))
        f1s.append(_div(2 * tp, 2 * tp + fp + fn))
        recs.append(_div(tp, tp + fn))
        precs.append(_div(tp, tp + fp))
    uf1 = float(np.mean(f1s)) if f1s else math.nan
    uar = float(np.mean(recs)) if recs else math.nan
    pm = float(np.mean(np.nan_to_num(precs))) if precs else math.nan
    rm = float(np.mean(np.nan_to_num(recs))) if recs else math.nan
    f1 = 2 * pm * rm / (pm + rm) if (pm + rm) != 0 else math.nan
    return {"uf1": _nan0(uf1), "uar": _nan0(uar), "f1": _nan0(f1)}


def _div(a: float, b: float) -> float:
    return a / b if b else math.nan


def _nan0(x: float) -> float:
    return 0.0 if (x is None or math.isnan(x)) else float(x)


# ----------------------------------------------------------------------------- spotting


def _megc(gt: list[Interval], pred: list[Interval], emotions: int) -> dict:
    counts = {t: [0, 0, 0] for t in ("micro", "macro")}
    pairs: list[tuple[str, str]] = []
    g_by = _group(gt)
    p_by = _group(pred)
    for key in sorted(set(g_by) | set(p_by)):
        for typ in ("micro", "macro"):
            g = [iv for iv in g_by.get(key, []) if iv.type == typ]
            p = [iv for iv in p_by.get(key, []) if iv.type == typ]
            matches = max_matching([(x.onset, x.offset) for x in g], [(x.onset, x.offset) for x in p])
            tp = len(matches)
            counts[typ][0] += tp
            counts[typ][1] += len(p) - tp
            counts[typ][2] += len(g) - tp
            if typ == "micro":
                for gi, pi, _ in sorted(matches, key=lambda m: m[1]):
                    where = f"subject {key[0]!r}, video {key[1]!r}"
                    pairs.append((
                        _class_of(g[gi].emotion, emotions, f"ground truth {where}"),
                        _class_of(p[pi].emotion, emotions, f"prediction {where}"),
                    ))
    return _assemble(counts, megc_analysis(pairs), len(pairs))


def _sfamnet(gt: list[Interval], pred: list[Interval], emotions: int) -> dict:
    counts = {t: [0, 0, 0] for t in ("micro", "macro")}
    pairs: list[tuple[str, str]] = []
    g_by = _group(gt)
    p_by = _group(pred)
    subjects: list[str] = []
    for s, _ in list(g_by) + list(p_by):
        if s not in subjects:
            subjects.append(s)
    for subject in subjects:
        videos = sorted({v for s, v in set(g_by) | set(p_by) if s == subject})
        n_gt = {"micro": 0, "macro": 0}
        tp_s = {"micro": 0, "macro": 0}
        fp_s = {"micro": 0, "macro": 0}
        for video in videos:
            where = f"subject {subject!r}, video {video!r}"
            gts = {"micro": [], "macro": []}
            for g in g_by.get((subject, video), []):
                onset, apex, offset = g.onset, g.apex, g.offset
                if g.type == "micro":
                    changed = False
                    if offset - onset > 30:
                        if apex is None:
                            raise InputFileError(
                                f"ground truth {where}: micro interval {onset}-{offset} needs an "
                                "apex for the sfamnet protocol's offset rule"
                            )
                        offset = apex + (apex - onset)
                        changed = True
                    if not (changed and offset - onset == 0):
                        n_gt["micro"] += 1
                    if onset == offset and (apex is None or apex == onset):
                        continue  # onset = apex = offset: skipped in matching
                else:
                    n_gt["macro"] += 1
                gts[g.type].append((onset, offset, g))
            for p in p_by.get((subject, video), []):
                ious = [(iou(p.onset, p.offset, on, off), g) for on, off, g in gts[p.type]]
                hits = [(v, g) for v, g in ious if v >= IOU_THRESHOLD]
                if hits:
                    tp_s[p.type] += len(hits)
                else:
                    fp_s[p.type] += 1
                if p.type == "micro" and len(hits) == 1:
                    best = max(ious, key=lambda vg: vg[0])[1]
                    pairs.append((
                        _class_of(best.emotion, emotions, f"ground truth {where}"),
                        _class_of(p.emotion, emotions, f"prediction {where}"),
                    ))
        for typ in ("micro", "macro"):
            counts[typ][0] += tp_s[typ]
            counts[typ][1] += fp_s[typ]
            counts[typ][2] += n_gt[typ] - tp_s[typ]
    classes = [c for c in emotion_names(emotions) if c != NEUTRAL]
    return _assemble(counts, sfamnet_analysis(pairs, classes), len(pairs))


def macro_emotion_of(iv: Interval) -> str:
    """The ground-truth emotion of a macro-expression: its ``emotion``, else the simulator's
    ``prototype`` column (``extra``), else ``""`` (CAS(ME)^3 gives MaE no emotion)."""
    return iv.emotion or iv.extra.get("prototype", "")


def macro_emotion_accuracy(gt: Iterable[Interval], pred: Iterable[Interval],
                           emotions: int = 4) -> dict | None:
    """How often a spotted macro-expression carries its ground truth's emotion (extra metric).

    The true-positive macro predictions of the MEGC one-to-one matching (IoU >= 0.5, per
    video) whose ground truth has an emotion (:func:`macro_emotion_of`) are paired; both
    emotions are mapped to the 4- or 7-class setting (an empty prediction counts as neutral,
    i.e. wrong). Returns ``{"pairs", "correct", "accuracy"}`` (accuracy 0 without pairs), or
    None when no macro ground truth has an emotion (then there is nothing to score).
    """
    gt, pred = list(gt), list(pred)
    if not any(iv.type == "macro" and macro_emotion_of(iv) for iv in gt):
        return None
    g_by, p_by = _group(gt), _group(pred)
    pairs = correct = 0
    for key in sorted(set(g_by) & set(p_by)):
        g = [iv for iv in g_by[key] if iv.type == "macro"]
        p = [iv for iv in p_by[key] if iv.type == "macro"]
        where = f"subject {key[0]!r}, video {key[1]!r}"
        for gi, pi, _ in max_matching([(x.onset, x.offset) for x in g], [(x.onset, x.offset) for x in p]):
            truth = macro_emotion_of(g[gi])
            if not truth:
                continue
            pairs += 1
            correct += int(_class_of(truth, emotions, f"ground truth {where}")
                           == _class_of(p[pi].emotion, emotions, f"prediction {where}"))
    return {"pairs": pairs, "correct": correct, "accuracy": correct / pairs if pairs else 0.0}


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Cohen's kappa of two coders' labels of the same items.

    ``(p_o - p_e) / (1 - p_e)``: ``p_o`` the fraction of items with the same label,
    ``p_e = sum_k p_a(k) p_b(k)`` the agreement expected by chance from each coder's label
    frequencies. None without items; 1.0 when ``p_e = 1`` (both coders gave every item one
    and the same label, so they agree on all of them).
    """
    if len(a) != len(b):
        raise ValueError(f"both coders must label the same items, found {len(a)} and {len(b)}")
    n = len(a)
    if n == 0:
        return None
    p_o = sum(x == y for x, y in zip(a, b, strict=True)) / n
    p_e = sum((list(a).count(k) / n) * (list(b).count(k) / n) for k in set(a) | set(b))
    if p_e >= 1.0:
        return 1.0
    return (p_o - p_e) / (1.0 - p_e)


def emotion_agreement(a: Iterable[Interval], b: Iterable[Interval], emotions: int = 4) -> dict:
    """Emotion agreement of two coders' annotations of the same videos (coder reliability).

    Intervals are matched one-to-one as in the MEGC protocol (per video and type, IoU >= 0.5,
    :func:`max_matching`). Over the matched pairs where at least one coder gave an emotion
    (mapped to the ``emotions`` classes; a missing one counts as the label ``"none"``),
    Cohen's kappa (:func:`cohen_kappa`; None without pairs).

    Returns:
        ``{"kappa", "pairs", "observed_agreement", "videos_in_common", "problem"}``;
        ``problem`` says why there is no kappa (no video annotated by both coders, or no
        matched pair with an emotion), else None.
    """
    emotion_names(emotions)
    a_by, b_by = _group(a), _group(b)
    common = set(a_by) & set(b_by)
    la: list[str] = []
    lb: list[str] = []
    for key in sorted(set(a_by) & set(b_by)):
        where = f"subject {key[0]!r}, video {key[1]!r}"
        for typ in ("micro", "macro"):
            x = [iv for iv in a_by[key] if iv.type == typ]
            y = [iv for iv in b_by[key] if iv.type == typ]
            for i, j, _ in sorted(max_matching([(v.onset, v.offset) for v in x],
                                               [(v.onset, v.offset) for v in y])):
                if not x[i].emotion and not y[j].emotion:
                    continue
                la.append(_class_of(x[i].emotion, emotions, f"first coder, {where}")
                          if x[i].emotion else "none")
                lb.append(_class_of(y[j].emotion, emotions, f"second coder, {where}")
                          if y[j].emotion else "none")
    n = len(la)
    observed = sum(p == q for p, q in zip(la, lb, strict=True)) / n if n else None
    problem = None
    if not common:
        problem = no_common_video(a_by, b_by)
    elif not n:
        problem = "no matched pair of intervals with an emotion: kappa is undefined"
    return {"kappa": cohen_kappa(la, lb), "pairs": n, "observed_agreement": observed,
            "videos_in_common": len(common), "problem": problem}


def no_common_video(a_by: dict, b_by: dict, names: tuple[str, str] = ("first", "second")
                    ) -> str | None:
    """None when two interval sets (grouped by :func:`_group`) share a ``(subject, video)``,
    else a message naming the videos of each side."""
    if set(a_by) & set(b_by) or not (a_by or b_by):
        return None

    def listed(by: dict) -> str:
        keys = [f"{s}/{v}" for s, v in sorted(by)]
        return ", ".join(keys[:4]) + (" ..." if len(keys) > 4 else "") or "none"

    return (f"no video in common: the {names[0]} file has {listed(a_by)}, the {names[1]} "
            f"{listed(b_by)}; expected annotations of the same subject/video")


def videos_in_common_problem(gt: Iterable[Interval], pred: Iterable[Interval],
                             names: tuple[str, str] = ("ground-truth", "predictions")
                             ) -> str | None:
    """:func:`no_common_video` of two interval lists (None when both are empty)."""
    g, p = _group(gt), _group(pred)
    return no_common_video(g, p, names) if g and p else None


def _assemble(counts: dict[str, list[int]], analysis: dict[str, float], n_pairs: int) -> dict:
    micro = prf(*counts["micro"])
    macro = prf(*counts["macro"])
    overall = prf(*(a + b for a, b in zip(counts["micro"], counts["macro"], strict=False)))
    analysis = dict(analysis)
    analysis["strs"] = micro["f1"] * analysis["f1"]
    analysis["pairs"] = n_pairs
    return {"micro": micro, "macro": macro, "overall": overall, "analysis": analysis}


def evaluate_intervals(
    gt: Iterable[Interval], pred: Iterable[Interval], emotions: int = 4, protocol: str = "megc"
) -> dict:
    """Spotting, analysis and STRS of predicted intervals against ground truth.

    Args:
        gt, pred: :class:`~rt_sfamnet.intervals.Interval` lists; ``subject`` and ``video``
            group them; frames inclusive. Emotions are mapped to the 4- or 7-class setting
            (empty -> neutral).
        emotions: 4 or 7.
        protocol: ``"megc"`` or ``"sfamnet"`` (see the module docstring for both).

    Returns:
        ``{"micro": {tp, fp, fn, precision, recall, f1}, "macro": {...}, "overall": {...},
        "analysis": {uf1, uar, f1, strs, pairs}}``; counts pooled over all subjects. With the
        ``"megc"`` protocol and ground truth that gives macro-expressions an emotion, also
        ``"macro_emotion": {pairs, correct, accuracy}`` (:func:`macro_emotion_accuracy`).
    """
    if protocol not in PROTOCOLS:
        raise RtSfamnetError(f"protocol must be one of {PROTOCOLS}, found {protocol!r}")
    emotion_names(emotions)  # validates
    gt, pred = list(gt), list(pred)
    if protocol == "megc":
        out = _megc(gt, pred, emotions)
        mae = macro_emotion_accuracy(gt, pred, emotions)
        if mae is not None:
            out["macro_emotion"] = mae
        return out
    return _sfamnet(gt, pred, emotions)
