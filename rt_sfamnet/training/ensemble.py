"""An ensemble of LOSO runs that differ only in their training seed.

One network's scores and emotions on a real face change with its training seed as much as
with its data (docs/real-faces.md, section 5); the mean of a few seeds does not hang on one
draw. ``rt-sfamnet weights ensemble RUN RUN [...] --out DIR`` builds, from ``K >= 2`` finished
LOSO runs of the same recipe on the same feature cache (only ``seed`` and ``finetune_from``
may differ):

- ``DIR/folds/<subject>.json``: each test subject scored by the ensemble of the ``K`` fold
  models that never saw it (:class:`~rt_sfamnet.model.SFAMNetEnsemble`), in the fold-result
  format of a training run, so :mod:`rt_sfamnet.tuning` chooses the ensemble's spotting
  values on honest curves (``--tune``);
- ``DIR/results.json``: the pooled LOSO metrics; with ``--tune``, ``DIR/tuning.json``;
- ``DIR/final.safetensors``: the ensemble of the runs' final models (when every run has one).

Runs trained with ``--no-loso`` (no folds at all) are joined by their final models alone, with
the spotting values they were trained with (e.g. a 7-class recipe given the 4-class
ensemble's values: its spotting head is the 4-class one, frozen).

Member ``k`` keeps its own input scale: the ensemble's scale is member 0's and member ``k``
gets the gain ``scale_k / scale_0``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rt_sfamnet.datasets.cache import FeatureCache, atomic_write_json
from rt_sfamnet.errors import RtSfamnetError
from rt_sfamnet.fileio import read_json
from rt_sfamnet.training.config import TrainConfig
from rt_sfamnet.training.evaluate import _jsonable, evaluate_subject, fold_result, pool_results

#: Training settings that may differ between the runs of one ensemble.
FREE_KEYS = ("seed", "finetune_from")


def run_config(run: Path) -> dict[str, Any]:
    """A run folder's ``config.json`` (training settings and the cache's identity)."""
    p = run / "config.json"
    if not p.is_file():
        raise RtSfamnetError(f"{run}: not a training run folder (no config.json); expected the "
                             f"--out folder of `rt-sfamnet train`")
    return read_json(p, "run settings", error=RtSfamnetError)


def check_runs(runs: Sequence[Path]) -> list[dict[str, Any]]:
    """The runs' configs, checked to be one recipe on one cache.

    Raises:
        RtSfamnetError: fewer than 2 runs, a run listed twice, another cache, or settings other
            than :data:`FREE_KEYS` that differ (named).
    """
    if len(runs) < 2:
        raise RtSfamnetError(f"an ensemble needs at least 2 runs, found {len(runs)}")
    if len({p.resolve() for p in runs}) != len(runs):
        raise RtSfamnetError("the same run is listed twice; give each run folder once")
    cfgs = [run_config(p) for p in runs]
    first = cfgs[0]
    for p, c in zip(runs[1:], cfgs[1:], strict=True):
        if c.get("cache_id") != first.get("cache_id"):
            raise RtSfamnetError(f"{p} was trained on another feature cache (id "
                                 f"{c.get('cache_id')}) than {runs[0]} (id {first.get('cache_id')})")
        a, b = first.get("train", {}), c.get("train", {})
        differ = sorted(k for k in set(a) | set(b) if k not in FREE_KEYS and a.get(k) != b.get(k))
        if differ:
            raise RtSfamnetError(f"{p} and {runs[0]} differ in {', '.join(differ)}; an ensemble "
                                 f"joins runs of one recipe that differ only in {FREE_KEYS}")
    seeds = [c.get("train", {}).get("seed") for c in cfgs]
    if len(set(seeds)) != len(seeds):
        raise RtSfamnetError(f"the runs share a training seed ({seeds}): they are the same "
                             f"networks; give runs with different --seed")
    return cfgs


def ensemble_of(paths: Sequence[Path]) -> tuple[Any, list[Any]]:
    """The :class:`~rt_sfamnet.model.SFAMNetEnsemble` of weights files and every member's
    metadata (member 0's is the ensemble's).

    Member ``k``'s gain is its ``input_scale`` over member 0's (the ensemble's scale).
    """
    from rt_sfamnet.model import SFAMNet, SFAMNetEnsemble
    from rt_sfamnet.weights import load_weights

    models, metas = [], []
    for p in paths:
        model, meta = load_weights(p)
        if not isinstance(model, SFAMNet):
            raise RtSfamnetError(f"{p} is an ensemble already; join single networks")
        models.append(model)
        metas.append(meta)
    for p, m in zip(paths[1:], metas[1:], strict=True):
        if (m.emotions, m.flow_mode, m.frame_skip, m.registration) != (
                metas[0].emotions, metas[0].flow_mode, metas[0].frame_skip, metas[0].registration):
            raise RtSfamnetError(f"{p} expects other inputs than {paths[0]} (emotions, flow mode, "
                                 f"frame skip or registration differ)")
    gains = [m.input_scale / metas[0].input_scale for m in metas]
    return SFAMNetEnsemble(models, gains).eval(), metas


def build(runs: Sequence[str | Path], out: str | Path, cache: str | Path | None = None,
          tune: bool = False, command: str | None = None,
          log: Callable[[str], None] | None = None,
          spotting: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Score every LOSO subject with the ensemble of its fold models, pool, tune, join the finals.

    Args:
        runs: ``K >= 2`` finished run folders (:func:`check_runs`).
        out: the ensemble's folder (``folds/``, ``config.json``, ``results.json``,
            ``tuning.json``, ``final.safetensors``).
        cache: the feature cache (default: the one the runs recorded; its id must match).
        tune: choose the spotting values on the ensemble's LOSO curves
            (:func:`rt_sfamnet.tuning.tune_run`); the final ensemble ships them. Otherwise it
            ships the runs' own ``--spot`` values.
        command: the command line, recorded in the final ensemble's provenance.
        log: called with one line per subject.
        spotting: spotting values over the runs' own ``--spot`` values (e.g.
            ``{"emotion_rule": "weighted"}``), for the fold metrics, the search and the
            final ensemble; checked before any work.

    Returns:
        The pooled summary written to ``out/results.json``.
    """
    from rt_sfamnet.spotting import spotting_config
    from rt_sfamnet.training.run import Run
    from rt_sfamnet.tuning import f1_table, selection_summary, tune_run
    from rt_sfamnet.weights import save_weights

    log = log or (lambda _m: None)
    runs = [Path(r) for r in runs]
    cfgs = check_runs(runs)
    first = cfgs[0]
    fc = FeatureCache(cache or first.get("cache", ""))
    if fc.meta.get("id") != first.get("cache_id"):
        raise RtSfamnetError(f"the feature cache {fc.path} is id {fc.meta.get('id')}; the runs were "
                             f"trained on id {first.get('cache_id')}")
    train = {**first["train"], "spotting": {**first["train"].get("spotting", {}), **(spotting or {})}}
    cfg = TrainConfig(**train)
    frame_skip, fps = int(fc.meta["frame_skip"]), float(fc.meta.get("fps", 30.0))
    spotting_config(cfg.spotting, frame_skip, fps)  # unknown keys, bad values: before any work
    out = Path(out)
    _check_out(out, runs)
    loso = any((r / "folds").is_dir() for r in runs)
    if not loso and tune:
        raise RtSfamnetError("--tune needs the runs' LOSO folds, and none of the runs has any "
                             "(trained with --no-loso); train their folds, or give the spotting "
                             "values with --spot when training them")
    seeds = [c["train"].get("seed") for c in cfgs]
    members = [{"run": r.name, "seed": s} for r, s in zip(runs, seeds, strict=True)]
    atomic_write_json(out / "config.json", _jsonable({
        "train": {**train, "seed": seeds}, "cache": str(fc.path),
        "cache_id": first.get("cache_id"), "cache_meta": fc.meta, "ensemble": members}))
    run = Run(fc, out, cfg)
    if not loso:
        log("no LOSO folds in any run (--no-loso): joining the final models only")
    results = []
    for subject in run.subjects if loso else ():
        folds = [r / "folds" / f"{subject}.safetensors" for r in runs]
        missing = [str(p) for p in folds if not p.is_file()]
        if missing:
            raise RtSfamnetError(f"fold {subject} is not finished in {', '.join(missing)}; finish "
                                 f"those runs first (`rt-sfamnet train` with the same --out)")
        model, metas = ensemble_of(folds)
        scale = metas[0].input_scale / float(fc.meta.get("input_scale", 1.0))
        ev = evaluate_subject(model, run.data(subject), cfg, scale, frame_skip, fps)
        result = fold_result(subject, scale, {"loss": None, "seconds": 0.0,
                                              "members": [str(p) for p in folds]}, ev, cfg.emotions)
        metrics = result["metrics"]
        atomic_write_json(out / "folds" / f"{subject}.json", _jsonable(result))
        results.append(result)
        log(f"{subject}: ensemble of {len(folds)} folds, ME F1 "
            f"{metrics['megc']['micro']['f1']:.3f} MaE F1 {metrics['megc']['macro']['f1']:.3f}")
    summary: dict[str, Any] = {"folds": [r["subject"] for r in results], "ensemble": members,
                               "pooled": pool_results(results, cfg.emotions) if loso else None,
                               "train": train, "cache_meta": fc.meta}
    shipped, selection = dict(cfg.spotting), None
    if tune:
        report = tune_run(out, shipped, frame_skip=frame_skip, fps=fps, emotions=cfg.emotions)
        shipped, selection = report["shipped"], selection_summary(report)
        summary["tuned"] = f1_table(report["metrics"])
    finals = [r / "final.safetensors" for r in runs]
    if all(p.is_file() for p in finals):
        model, metas = ensemble_of(finals)
        meta = metas[0]
        prov = {k: v for k, v in meta.provenance.items()
                if k not in ("spotting_selection", "command", "train_info", "seed")}
        prov.update(seed=seeds, train={**prov.get("train", {}), "seed": seeds, "spotting": shipped},
                    ensemble=[{**m, "input_scale": w.input_scale} for m, w in
                              zip(members, metas, strict=True)])
        if selection is not None:
            prov["spotting_selection"] = selection
        if command:
            prov["command"] = command
        meta.provenance = prov
        summary["final"] = str(save_weights(model, out / "final.safetensors", meta))
        log(f"final: ensemble of {len(finals)} networks -> {summary['final']}")
    else:
        log("final: not every run has final.safetensors; no final ensemble written")
    atomic_write_json(out / "results.json", _jsonable(summary))
    return summary


def _check_out(out: Path, runs: Sequence[Path]) -> None:
    """The ensemble's folder must not be one of the runs, nor hold a training run (its fold
    results would be overwritten)."""
    if any(out.resolve() == r.resolve() for r in runs):
        raise RtSfamnetError(f"--out {out} is one of the runs; give the ensemble its own folder")
    cfg = out / "config.json"
    if cfg.is_file() and "ensemble" not in read_json(cfg, "run settings", error=RtSfamnetError):
        raise RtSfamnetError(f"--out {out} holds a training run; give the ensemble another folder "
                             f"(nothing was written)")
