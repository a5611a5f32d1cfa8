"""Evaluation of a fold model on its test subject, pooling over folds, plots."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.datasets.casme3 import subject_sort_key
from rt_sfamnet.emotions import emotion_names, to_class
from rt_sfamnet.intervals import Interval
from rt_sfamnet.training.config import TrainConfig
from rt_sfamnet.training.data import SubjectData
from rt_sfamnet.training.fit import predict


def _spotting_config(frame_skip: int, overrides: dict[str, Any], fps: float = 30.0):
    from rt_sfamnet.spotting import spotting_config

    return spotting_config(overrides, frame_skip, fps)


def _gt_for_emotions(intervals: Sequence[Interval], emotions: int) -> list[Interval]:
    """Micro emotions as class names; a MaE's emotion (simulator ``prototype``) kept in
    ``extra["prototype"]`` for the MaE emotion accuracy."""
    from rt_sfamnet.metrics import macro_emotion_of

    out = []
    for iv in intervals:
        emo = to_class(iv.emotion, emotions) if (iv.type == "micro" and iv.emotion) else ""
        mae = macro_emotion_of(iv) if iv.type == "macro" else ""
        extra = {"prototype": to_class(mae, emotions)} if mae else {}
        out.append(Interval(iv.subject, iv.video, iv.onset, iv.apex, iv.offset, iv.type, emo, extra))
    return out


def spot_video(model, maps: np.ndarray, valid: np.ndarray, input_scale: float,
               clip: float | None, class_names: Sequence[str], scfg
               ) -> tuple[np.ndarray, list[str], list]:
    """Score → label → spot of one video's cached (unscaled) maps.

    The score → label end is the live pipeline's (:func:`rt_sfamnet.pipeline.stages.label_samples`):
    a sample without maps (``valid`` False: no face, a hole, no depth) has score 0 and the label
    ``neutral``; then the offline post-processing (:func:`rt_sfamnet.spotting.spot`, which the
    live streaming spotter equals).

    Returns:
        ``(scores (n,) float32, labels (n,), intervals in frames)``.
    """
    from rt_sfamnet.pipeline.stages import label_samples
    from rt_sfamnet.spotting import spot

    sc, logits = predict(model, maps, input_scale, clip=clip)
    sc, lab = label_samples(sc, logits, valid, class_names)
    return sc, lab, spot(sc, lab, scfg)


def evaluate_subject(model, sd: SubjectData, cfg: TrainConfig, input_scale: float,
                     frame_skip: int, fps: float = 30.0) -> dict[str, Any]:
    """Spot and recognise on one subject; returns predictions, scores and raw results."""
    names = emotion_names(cfg.emotions)
    scfg = _spotting_config(frame_skip, cfg.spotting, fps)
    preds: list[Interval] = []
    curves: dict[str, list[float]] = {}
    labels: dict[str, list[str]] = {}
    for video, sl in sd.video_slices.items():  # one video's maps in memory at a time
        sc, lab, spotted = spot_video(model, sd.video_maps(video), sd.valid[sl], input_scale,
                                      cfg.clip, names, scfg)
        curves[video] = [round(float(x), 5) for x in sc]
        labels[video] = lab
        preds.extend(si.to_interval(sd.subject, video) for si in spotted)
    g_scores, g_logits = predict(model, sd.gt_maps(), input_scale, clip=cfg.clip)
    g_pred = g_logits.argmax(1) if len(g_logits) else np.zeros(0, np.int64)
    return {
        "predictions": preds,
        "scores": curves,
        "labels": labels,
        "gt": _gt_for_emotions(sd.intervals, cfg.emotions),
        "recognition": {"y_true": [int(x) for x in sd.gt_cls], "y_pred": [int(x) for x in g_pred],
                        "videos": list(sd.gt_videos)},
    }


def fold_result(subject: str, input_scale: float, train: dict[str, Any], ev: dict[str, Any],
                emotions: int) -> dict[str, Any]:
    """A fold's result (``folds/<subject>.json``) from :func:`evaluate_subject`'s ``ev``:
    its metrics (:func:`score_results`), predictions, ground truth, recognition, score curves
    and labels. ``train``: what trained the fold model (loss, seconds, ...)."""
    metrics = score_results(ev["gt"], ev["predictions"], ev["recognition"]["y_true"],
                            ev["recognition"]["y_pred"], emotions)
    return {"subject": subject, "input_scale": input_scale, "train": train, "metrics": metrics,
            "predictions": [_iv_dict(iv) for iv in ev["predictions"]],
            "gt": [_iv_dict(iv) for iv in ev["gt"]], "recognition": ev["recognition"],
            "scores": ev["scores"], "labels": ev["labels"]}


def score_results(gt: list[Interval], preds: list[Interval], y_true: Sequence[int],
                  y_pred: Sequence[int], emotions: int) -> dict[str, Any]:
    """Spotting (both protocols) and GT-sample recognition metrics."""
    from rt_sfamnet.metrics import evaluate_intervals, recognition_metrics

    names = emotion_names(emotions)
    out: dict[str, Any] = {}
    for protocol in ("megc", "sfamnet"):
        out[protocol] = _jsonable(evaluate_intervals(gt, preds, emotions, protocol=protocol))
    out["recognition"] = _jsonable(recognition_metrics([int(i) for i in y_true],
                                                       [int(i) for i in y_pred], list(names)))
    return out


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return v if np.isfinite(v) else 0.0
    return x


def _iv_dict(iv: Interval) -> dict[str, Any]:
    return {"subject": iv.subject, "video": iv.video, "onset": iv.onset, "apex": iv.apex,
            "offset": iv.offset, "type": iv.type, "emotion": iv.emotion, "extra": iv.extra}


def _iv_from(d: dict[str, Any]) -> Interval:
    return Interval(**d)


def pool_results(results: Sequence[dict[str, Any]], emotions: int) -> dict[str, Any]:
    """Pool fold results: all GT and predictions (both protocols) and all GT-sample labels."""
    gt, preds, yt, yp = [], [], [], []
    for r in sorted(results, key=lambda r: subject_sort_key(r["subject"])):
        gt.extend(_iv_from(d) for d in r["gt"])
        preds.extend(_iv_from(d) for d in r["predictions"])
        yt.extend(r["recognition"]["y_true"])
        yp.extend(r["recognition"]["y_pred"])
    return score_results(gt, preds, yt, yp, emotions)


def write_plots(folder: Path, results: Sequence[dict[str, Any]], pooled: dict[str, Any],
                emotions: int, frame_skip: int, spotting: dict[str, Any], n_videos: int = 4,
                fps: float = 30.0) -> list[str]:
    """Confusion matrix of the pooled GT-sample recognition, and score curves of the first
    ``n_videos`` videos with micro-expressions. Returns the files written."""
    from rt_sfamnet import reports

    folder.mkdir(parents=True, exist_ok=True)
    names = list(emotion_names(emotions)[:-1])
    yt, yp = [], []
    for r in results:
        yt.extend(r["recognition"]["y_true"])
        yp.extend(r["recognition"]["y_pred"])
    files = []
    C = len(names) + 1
    cm = np.zeros((C, C), np.int64)
    for a, b in zip(yt, yp, strict=True):
        cm[a, b] += 1
    p = folder / f"confusion_{emotions}emo.png"
    reports.plot_confusion(cm[:-1, :], names, list(emotion_names(emotions)), p,
                           title=f"Recognition, {emotions} classes (LOSO, GT onset-apex samples)")
    files.append(str(p))
    scfg = _spotting_config(frame_skip, spotting, fps)
    shown = 0
    for r in sorted(results, key=lambda r: subject_sort_key(r["subject"])):
        for video, curve in r["scores"].items():
            if shown >= n_videos:
                break
            gt = [_iv_from(d) for d in r["gt"] if d["video"] == video]
            if not any(iv.type == "micro" for iv in gt):
                continue
            pred = [_iv_from(d) for d in r["predictions"] if d["video"] == video]
            p = folder / f"scores_{r['subject']}_{video}.png"
            reports.plot_scores(np.asarray(curve, np.float32), frame_skip, gt, pred, p,
                                title=f"{r['subject']} / {video}", spotting=scfg)
            files.append(str(p))
            shown += 1
    return files
