"""Spotting values chosen by a grid search on LOSO score curves, with a nested estimate.

A leave-one-subject-out run (``rt-sfamnet train``) stores every test subject's score curve
(``<run>/folds/<subject>.json``: ``scores`` per video, ``labels`` per video when the run kept
them, ``gt``). Each fold model never saw its test subject, so the curves are honest; choosing
the post-processing values on those same curves is not. This module reports both:

- **shipped values**: the grid point with the best pooled F1 over *all* subjects' curves (what
  goes into the weights; its LOSO score is optimistic);
- **nested estimate**: for each held-out subject ``s``, the grid point with the best pooled F1
  over the *other* subjects' curves, applied to ``s``; the per-subject results are pooled.
  This is the number to report.

Macro values are chosen first (their F1 does not depend on the micro values), then the micro
values with the macro values of the same selection (the paper's micro/macro gap rule reads the
macro curve). Each type is scored by its own MEGC F1 (IoU >= 0.5, one-to-one). Ties: the first
grid point in grid order (grids list the release-like values first). Counts are exact integers,
so the choice does not depend on float summation order.

Units: every value is a :class:`~rt_sfamnet.spotting.SpottingConfig` override (lengths in score
samples, ``offset_extend`` in frames).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.errors import ConfigError, RtSfamnetError
from rt_sfamnet.fileio import read_json
from rt_sfamnet.intervals import Interval

#: The macro grid: the release's k_macro (10 at frame_skip 2) and values for slower, longer
#: responses (a network trained with MaE labels fires on the rise and on the decline: a wide
#: box joins the two); lengths in samples (frame_skip 2: 8 samples = 0.53 s, 60 = 4 s).
#: The peak distance is the release's ``(left + right) // 2``: a grid over it (60, 75 samples)
#: raised the synthetic nested MaE F1 but chose values that failed on the demo
#: (docs/synthetic-benchmark.md), and a long distance delays live MaE events.
MACRO_GRID: dict[str, list[Any]] = {
    "k_macro": [10, 6, 8, 12, 15, 20],
    "macro_threshold": [0.576, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5],
    "macro_min_length": [12, 8, 15],
    "macro_max_length": [45, 60],
    "macro_left": [25, 10, 15, 40],
    "macro_right": [25, 20, 40],
}

#: The micro grid, including the paper's micro/macro gap rule (0.0 = off, 0.02 = the paper's d)
#: and the release's mean rule (1.0 = off, 0.725 = the release): a micro "peak" on the long
#: plateau of a MaE has a high mean over its interval, a real ME's short response does not.
MICRO_GRID: dict[str, list[Any]] = {
    "k_micro": [3, 2, 4],
    "micro_peak_offset": [0, -1],
    "micro_threshold": [0.3, 0.2, 0.25, 0.4, 0.5],
    "micro_max_length": [8, 6],
    "micro_right": [6, 4, 8],
    "micro_macro_gap": [0.0, 0.02, 0.05, 0.1],
    "micro_max_mean": [1.0, 0.725, 0.6, 0.5],
}


@dataclass
class SubjectCurves:
    """One LOSO test subject: its videos' score curves and ground truth.

    Attributes:
        subject: subject id. scores: video -> (n,) float64 spotting scores.
        gt: the subject's ground-truth intervals (frames). labels: video -> n predicted class
            names (for emotions), or None.
    """

    subject: str
    scores: dict[str, np.ndarray]
    gt: list[Interval]
    labels: dict[str, list[str]] | None = None


def load_run_curves(run: str | Path) -> list[SubjectCurves]:
    """The LOSO curves of a training run folder (``<run>/folds/*.json``), in subject order."""
    from rt_sfamnet.datasets.casme3 import subject_sort_key

    folder = Path(run) / "folds"
    files = sorted(folder.glob("*.json"))
    if not files:
        raise RtSfamnetError(f"{folder}: no fold results (*.json); run `rt-sfamnet train` first")
    out = []
    for f in files:
        try:
            r = read_json(f, "fold result", error=RtSfamnetError)
            scores = {v: np.asarray(c, np.float64) for v, c in r["scores"].items()}
            gt = [Interval(**d) for d in r["gt"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise RtSfamnetError(f"{f}: not a fold result with scores and gt ({exc})") from None
        out.append(SubjectCurves(r.get("subject", f.stem), scores, gt, r.get("labels")))
    return sorted(out, key=lambda c: subject_sort_key(c.subject))


def grid(space: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of ``space``'s values, the first key varying slowest."""
    keys = list(space)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(space[k] for k in keys))]


def f1_counts(counts) -> float:
    """F1 of ``(tp, fp, fn)``: ``2 tp / (2 tp + fp + fn)`` (0 when that is 0/0)."""
    tp, fp, fn = (int(x) for x in counts)
    d = 2 * tp + fp + fn
    return 2 * tp / d if d else 0.0


def _config(values: Mapping[str, Any], frame_skip: int, fps: float):
    from rt_sfamnet.spotting import spotting_config

    return spotting_config(values, frame_skip, fps)


class _Evaluator:
    """Counts of one type per subject for given values; smoothed curves cached per ``k``."""

    def __init__(self, curves: Sequence[SubjectCurves], frame_skip: int, fps: float) -> None:
        self.curves = list(curves)
        self.frame_skip = frame_skip
        self.fps = fps
        self._smooth: dict[tuple[int, str, int], np.ndarray] = {}

    def smoothed(self, si: int, video: str, k: int) -> np.ndarray:
        from rt_sfamnet.spotting import smooth

        key = (si, video, k)
        if key not in self._smooth:
            self._smooth[key] = smooth(self.curves[si].scores[video], k)
        return self._smooth[key]

    def predictions(self, si: int, values: Mapping[str, Any], kinds=("micro", "macro"),
                    labels: bool = False) -> list[Interval]:
        """Spotted intervals of subject ``si`` (as :func:`rt_sfamnet.spotting.spot` gives them)."""
        from rt_sfamnet.spotting import spot_curves

        cfg = _config(values, self.frame_skip, self.fps)
        sc = self.curves[si]
        out = []
        for video in sorted(sc.scores):
            micro = self.smoothed(si, video, cfg.params("micro").k)
            macro = self.smoothed(si, video, cfg.params("macro").k)
            if cfg.video_threshold is not None and micro.size and float(np.mean(micro)) >= cfg.video_threshold:
                continue
            lab = sc.labels.get(video) if (labels and sc.labels) else None
            for iv in spot_curves(micro, macro, lab, cfg, kinds, scores=sc.scores[video]):
                out.append(iv.to_interval(sc.subject, video))
        return out

    def counts(self, values: Mapping[str, Any], kind: str) -> np.ndarray:
        """(n_subjects, 3) int64: MEGC (tp, fp, fn) of ``kind`` per subject."""
        from rt_sfamnet.metrics import max_matching

        out = np.zeros((len(self.curves), 3), np.int64)
        for si, sc in enumerate(self.curves):
            pred = self.predictions(si, values, (kind,))
            for video in set(sc.scores) | {iv.video for iv in sc.gt}:
                g = [(x.onset, x.offset) for x in sc.gt if x.video == video and x.type == kind]
                p = [(x.onset, x.offset) for x in pred if x.video == video]
                tp = len(max_matching(g, p))
                out[si] += (tp, len(p) - tp, len(g) - tp)
        return out


def choose(counts: np.ndarray) -> dict[str, Any]:
    """Shipped and nested choices from per-candidate, per-subject counts.

    Args:
        counts: (n_candidates, n_subjects, 3) int (tp, fp, fn).
    Returns:
        ``{"shipped": index, "nested": [index per subject], "shipped_counts": (3,),
        "nested_counts": (3,)}``: the shipped index maximises the pooled F1 over all subjects;
        ``nested[s]`` maximises it over the subjects other than ``s`` (first index on ties);
        ``nested_counts`` sums, over ``s``, candidate ``nested[s]``'s counts on ``s``.
    """
    c = np.asarray(counts, np.int64)
    if c.ndim != 3 or c.shape[2] != 3 or c.shape[0] < 1:
        raise ValueError(f"counts must be (n_candidates, n_subjects, 3), found shape {c.shape}")
    total = c.sum(axis=1)

    def best(pooled: np.ndarray) -> int:
        f1 = [f1_counts(row) for row in pooled]
        return int(np.argmax(f1))

    shipped = best(total)
    nested = [best(total - c[:, s]) for s in range(c.shape[1])]
    nested_counts = sum((c[i, s] for s, i in enumerate(nested)), np.zeros(3, np.int64))
    return {"shipped": shipped, "nested": nested, "shipped_counts": c[shipped].sum(axis=0),
            "nested_counts": nested_counts}


def _valid(values: Mapping[str, Any], frame_skip: int, fps: float) -> bool:
    try:
        _config(values, frame_skip, fps)
    except ConfigError:
        return False
    return True


def _search(ev: _Evaluator, base: Mapping[str, Any], space: Mapping[str, Sequence[Any]], kind: str
            ) -> tuple[list[dict[str, Any]], np.ndarray]:
    cands = [c for c in grid(space) if _valid({**base, **c}, ev.frame_skip, ev.fps)]
    if not cands:
        raise ConfigError(f"no valid {kind} grid point")
    counts = np.stack([ev.counts({**base, **c}, kind) for c in cands])
    return cands, counts


def micro_fp_inside_macro(gt: Sequence[Interval], pred: Sequence[Interval]) -> int:
    """False-positive micro predictions (no MEGC match) that overlap a ground-truth macro."""
    from rt_sfamnet.metrics import max_matching

    n = 0
    for key in {(iv.subject, iv.video) for iv in pred}:
        g = [x for x in gt if (x.subject, x.video) == key and x.type == "micro"]
        p = [x for x in pred if (x.subject, x.video) == key and x.type == "micro"]
        matched = {pi for _, pi, _ in max_matching([(x.onset, x.offset) for x in g],
                                                   [(x.onset, x.offset) for x in p])}
        macros = [x for x in gt if (x.subject, x.video) == key and x.type == "macro"]
        for i, x in enumerate(p):
            if i not in matched and any(x.onset <= m.offset and m.onset <= x.offset for m in macros):
                n += 1
    return n


def select_values(curves: Sequence[SubjectCurves], base: Mapping[str, Any] | None = None, *,
                  frame_skip: int = 2, fps: float = 30.0, emotions: int = 4,
                  macro_grid: Mapping[str, Sequence[Any]] | None = None,
                  micro_grid: Mapping[str, Sequence[Any]] | None = None) -> dict[str, Any]:
    """Grid search of the macro, then the micro values; shipped and nested (see module doc).

    Args:
        curves: the LOSO test curves, one entry per subject (>= 2).
        base: the spotting overrides the searched values are added to (e.g. the run's).
        frame_skip, fps: of the curves. emotions: 4 or 7 (for the pooled metrics).
        macro_grid, micro_grid: the grids (default :data:`MACRO_GRID`, :data:`MICRO_GRID`).

    Returns:
        A JSON-able report: ``shipped`` (the overrides to ship: ``base`` + both choices),
        ``nested`` (per-subject overrides), ``metrics`` (``base``, ``shipped`` and ``nested``:
        :func:`~rt_sfamnet.metrics.evaluate_intervals` pooled over the subjects, MEGC), the
        per-type counts of the search, and ``gap_rule`` (micro false positives inside
        macro-expressions with the chosen values, with and without the micro/macro gap).
    """
    from rt_sfamnet.metrics import evaluate_intervals

    curves = list(curves)
    if len(curves) < 2:
        raise RtSfamnetError(f"a nested selection needs at least 2 subjects, found {len(curves)}")
    base = dict(base or {})
    ev = _Evaluator(curves, frame_skip, fps)
    n = len(curves)
    mcands, mcounts = _search(ev, base, macro_grid or MACRO_GRID, "macro")
    mc = choose(mcounts)
    macro_for = [mcands[mc["nested"][s]] for s in range(n)]
    shipped_macro = mcands[mc["shipped"]]
    # micro: one search per distinct macro choice (the gap rule reads the macro curve)
    micro_runs: dict[str, tuple[list[dict[str, Any]], np.ndarray]] = {}
    for m in [shipped_macro, *macro_for]:
        key = json.dumps(m, sort_keys=True)
        if key not in micro_runs:
            micro_runs[key] = _search(ev, {**base, **m}, micro_grid or MICRO_GRID, "micro")
    ucands, ucounts = micro_runs[json.dumps(shipped_macro, sort_keys=True)]
    shipped = {**base, **shipped_macro, **ucands[choose(ucounts)["shipped"]]}
    nested = []
    for s in range(n):
        uc, ucnt = micro_runs[json.dumps(macro_for[s], sort_keys=True)]
        nested.append({**base, **macro_for[s], **uc[choose(ucnt)["nested"][s]]})

    gt = [iv for c in curves for iv in c.gt]

    def pooled(values_per_subject: Sequence[Mapping[str, Any]]) -> tuple[dict, list[Interval]]:
        pred = [iv for s in range(n) for iv in ev.predictions(s, values_per_subject[s], labels=True)]
        return evaluate_intervals(gt, pred, emotions, "megc"), pred

    base_m, _ = pooled([base] * n)
    shipped_m, shipped_pred = pooled([shipped] * n)
    nested_m, nested_pred = pooled(nested)
    no_gap = {**shipped, "micro_macro_gap": 0.0}
    _, no_gap_pred = pooled([no_gap] * n)
    return {
        "protocol": "MEGC (IoU >= 0.5, one-to-one), pooled over LOSO test subjects",
        "subjects": [c.subject for c in curves],
        "base": base,
        "grids": {"macro": dict(macro_grid or MACRO_GRID), "micro": dict(micro_grid or MICRO_GRID)},
        "candidates": {"macro": len(mcands), "micro": len(ucands)},
        "shipped": shipped,
        "nested": {c.subject: v for c, v in zip(curves, nested, strict=True)},
        "metrics": {"base": base_m, "shipped": shipped_m, "nested": nested_m},
        "gap_rule": {
            "shipped_gap": shipped.get("micro_macro_gap"),
            "micro_fp_inside_macro": {"shipped": micro_fp_inside_macro(gt, shipped_pred),
                                      "without_gap": micro_fp_inside_macro(gt, no_gap_pred)},
            "micro_f1_without_gap": evaluate_intervals(gt, no_gap_pred, emotions, "megc")["micro"]["f1"],
        },
        "nested_micro_fp_inside_macro": micro_fp_inside_macro(gt, nested_pred),
    }


def spot_args(values: Mapping[str, Any]) -> list[str]:
    """``KEY=VALUE`` strings for ``rt-sfamnet train --spot`` (sorted by key)."""
    return [f"{k}={v}" for k, v in sorted(values.items()) if v is not None]


def tune_run(run: str | Path, base: Mapping[str, Any] | None, *, frame_skip: int, fps: float,
             emotions: int, out: str | Path | None = None) -> dict[str, Any]:
    """:func:`select_values` on a run folder's LOSO curves, with ``spot_args``, written to
    ``out`` (default ``<run>/tuning.json``); returns the report."""
    report = select_values(load_run_curves(run), base, frame_skip=frame_skip, fps=fps,
                           emotions=emotions)
    report["spot_args"] = spot_args(report["shipped"])
    Path(out or Path(run) / "tuning.json").write_text(
        json.dumps(report, indent=1, default=_json_default))
    return report


def selection_summary(report: Mapping[str, Any]) -> dict[str, Any]:
    """What a weights file records of a :func:`tune_run` report (``spotting_selection``)."""
    m = report["metrics"]
    return {"method": "grid search on the LOSO test curves (rt_sfamnet.tuning); shipped = best "
            "pooled F1 over all subjects; nested = per held-out subject, chosen on the others",
            "shipped": report["shipped"], "nested_values": report["nested"], "f1": f1_table(m),
            "metrics": m, "gap_rule": report["gap_rule"]}


def f1_table(metrics: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{base|shipped|nested: {micro, macro, overall F1, macro_emotion_accuracy}}``."""
    out = {}
    for w, m in metrics.items():
        out[w] = {t: m[t]["f1"] for t in ("micro", "macro", "overall")}
        out[w]["macro_emotion_accuracy"] = m.get("macro_emotion", {}).get("accuracy")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rt_sfamnet.tuning RUN [--base K=V ...] [--emotions 4] [--out FILE]``."""
    import argparse

    from rt_sfamnet.config import parse_overrides

    ap = argparse.ArgumentParser(prog="python -m rt_sfamnet.tuning", description=__doc__.split("\n")[0])
    ap.add_argument("run", help="a LOSO run folder (rt-sfamnet train --out)")
    ap.add_argument("--base", action="append", default=[], metavar="KEY=VALUE",
                    help="spotting values the grid is added to (default: the run's --spot values)")
    ap.add_argument("--emotions", type=int, default=None, help="4 or 7 (default: the run's)")
    ap.add_argument("--out", default=None, help="report JSON (default: RUN/tuning.json)")
    a = ap.parse_args(argv)
    run = Path(a.run)
    cfg = read_json(run / "config.json", "run settings",
                    error=RtSfamnetError) if (run / "config.json").is_file() else {}
    train = cfg.get("train", {})
    base = parse_overrides(a.base, "--base") if a.base else dict(train.get("spotting", {}))
    meta = cfg.get("cache_meta", {})
    out = Path(a.out) if a.out else run / "tuning.json"
    report = tune_run(run, base, frame_skip=int(meta.get("frame_skip", 2)),
                      fps=float(meta.get("fps", 30.0)),
                      emotions=a.emotions or int(train.get("emotions", 4)), out=out)
    m = report["metrics"]
    for which in ("base", "shipped", "nested"):
        print(which, {t: round(m[which][t]["f1"], 3) for t in ("micro", "macro", "overall")},
              "MaE emotion", m[which].get("macro_emotion"))
    print("shipped:", " ".join(f"--spot {x}" for x in report["spot_args"]))
    print("report:", out)
    return 0


def _json_default(x: Any) -> Any:
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(type(x).__name__)


if __name__ == "__main__":
    raise SystemExit(main())
