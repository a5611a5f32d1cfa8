"""A LOSO run folder: folds, resume, pooled results, the final model."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.datasets.cache import FeatureCache, atomic_write_json
from rt_sfamnet.datasets.casme3 import subject_id
from rt_sfamnet.errors import DatasetError, RtSfamnetError
from rt_sfamnet.training.config import TrainConfig
from rt_sfamnet.training.data import SubjectData, auto_input_scale, load_subject, sample_fold
from rt_sfamnet.training.evaluate import (
    _iv_dict,
    _jsonable,
    evaluate_subject,
    pool_results,
    score_results,
    write_plots,
)
from rt_sfamnet.training.fit import fold_seed, train_model


def _portable(x: Any) -> Any:
    """Absolute paths in provenance cut to their last component (weights files get shared)."""
    import os

    if isinstance(x, dict):
        return {k: _portable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_portable(v) for v in x]
    if isinstance(x, str) and " " not in x and os.path.isabs(x):
        return Path(x).name
    return x


def _weights_meta(cfg: TrainConfig, cache_meta: dict[str, Any], input_scale: float,
                  provenance: dict[str, Any]):
    from rt_sfamnet.weights import WeightsMeta

    total = float(cache_meta.get("input_scale", 1.0)) * float(input_scale)
    provenance = _portable(provenance)
    if cfg.clip is not None:
        provenance = {**provenance, "input_clip": float(cfg.clip)}
    return WeightsMeta(emotions=cfg.emotions, flow_mode=cache_meta.get("flow", "hybrid"),
                       input_scale=total, frame_skip=int(cache_meta["frame_skip"]),
                       provenance=provenance)


class Run:
    """A LOSO run folder (see the module docstring).

    Args:
        cache: the feature cache.
        out: the run folder.
        cfg: training settings.
        log: called with one-line progress messages.
    """

    def __init__(self, cache: FeatureCache | str | Path, out: str | Path, cfg: TrainConfig,
                 log: Callable[[str], None] | None = None):
        self.cache = cache if isinstance(cache, FeatureCache) else FeatureCache(cache)
        self.out = Path(out)
        self.cfg = cfg
        self.log = log or (lambda _m: None)
        self.meta = self.cache.meta
        self.frame_skip = int(self.meta["frame_skip"])
        self._data: dict[str, SubjectData] = {}

    # -- data -----------------------------------------------------------------------------
    @property
    def subjects(self) -> list[str]:
        return self.cache.subjects

    def data(self, subject: str) -> SubjectData:
        if subject not in self._data:
            self._data[subject] = load_subject(self.cache, subject, self.cfg.emotions)
        return self._data[subject]

    def input_scale(self) -> float:
        if self.cfg.input_scale is not None:
            return float(self.cfg.input_scale)
        cfg_path = self.out / "config.json"
        if cfg_path.is_file():
            import json

            saved = json.loads(cfg_path.read_text()).get("input_scale")
            if saved:
                return float(saved)
        return auto_input_scale([self.data(s) for s in self.subjects], seed=self.cfg.seed)

    def _check_config(self, input_scale: float) -> None:
        import json

        want = {"train": _jsonable(asdict(self.cfg)), "cache": str(self.cache.path),
                "cache_meta": self.meta, "input_scale": input_scale}
        p = self.out / "config.json"
        if p.is_file():
            have = json.loads(p.read_text())
            keys = [k for k in ("emotions", "steps", "batch_size", "lr", "lam", "neg_ratio", "clip",
                                "aug_min", "aug_max", "aug_step", "mode", "seed")
                    if have.get("train", {}).get(k) != want["train"].get(k)]
            if keys:
                raise RtSfamnetError(
                    f"{self.out} holds a run with other settings ({', '.join(keys)}); use "
                    f"another --out folder")
        else:
            atomic_write_json(p, want)

    def fold_done(self, subject: str) -> bool:
        return (self.out / "folds" / f"{subject}.json").is_file()

    # -- folds ------------------------------------------------------------------------------
    def run_fold(self, subject: str, input_scale: float) -> dict[str, Any]:
        """Train, save and evaluate the fold that holds out ``subject``."""
        cfg = self.cfg
        others = [self.data(s) for s in self.subjects if s != subject]
        test = self.data(subject)
        seed = fold_seed(cfg.seed, subject)
        rng = np.random.default_rng(seed)
        train = sample_fold(others, rng, cfg.neg_ratio)
        val = sample_fold([test], np.random.default_rng(seed + 1), cfg.neg_ratio)
        init = None
        if cfg.mode == "finetune":
            init = Path(cfg.finetune_from) / "folds" / f"{subject}.safetensors"
            if not init.is_file():
                raise RtSfamnetError(f"fine-tuning needs the 4-class fold model {init}; train "
                                     f"the 4-class run first")
        model, info = train_model(train, cfg, input_scale, seed, init=init, val=val)
        ev = evaluate_subject(model, test, cfg, input_scale, self.frame_skip,
                              float(self.meta.get("fps", 30.0)))
        metrics = score_results(ev["gt"], ev["predictions"], ev["recognition"]["y_true"],
                                ev["recognition"]["y_pred"], cfg.emotions)
        from rt_sfamnet.weights import save_weights

        (self.out / "folds").mkdir(parents=True, exist_ok=True)
        prov = {"fold": subject, "seed": cfg.seed, "train": _jsonable(asdict(cfg)),
                "cache": self.cache.path.name}
        save_weights(model, self.out / "folds" / f"{subject}.safetensors",
                     _weights_meta(cfg, self.meta, input_scale, prov))
        result = {
            "subject": subject,
            "train": info,
            "metrics": metrics,
            "predictions": [_iv_dict(iv) for iv in ev["predictions"]],
            "gt": [_iv_dict(iv) for iv in ev["gt"]],
            "recognition": ev["recognition"],
            "scores": ev["scores"],
        }
        atomic_write_json(self.out / "folds" / f"{subject}.json", _jsonable(result))
        return result

    def run(self, subjects: Sequence[str] | None = None, plots: bool = True,
            plot_videos: int = 4) -> dict[str, Any]:
        """Train and evaluate every (or the given) fold, resuming finished ones; pool results."""
        import json

        all_subjects = self.subjects
        if len(all_subjects) < 2:
            raise DatasetError(f"LOSO needs at least 2 subjects; the cache has {all_subjects}")
        folds = all_subjects if not subjects else [subject_id(s) for s in subjects]
        unknown = [s for s in folds if s not in all_subjects]
        if unknown:
            raise DatasetError(f"subject(s) {unknown} not in the cache; it has {all_subjects}")
        self.out.mkdir(parents=True, exist_ok=True)
        scale = self.input_scale()
        self._check_config(scale)
        for i, s in enumerate(folds):
            if self.fold_done(s):
                self.log(f"fold {i + 1}/{len(folds)} {s}: done earlier, kept")
                continue
            t0 = time.perf_counter()
            r = self.run_fold(s, scale)
            m = r["metrics"]
            self.log(
                f"fold {i + 1}/{len(folds)} {s}: loss {r['train']['loss']:.4f} "
                f"ME F1 {m['megc']['micro']['f1']:.3f} UF1 {m['recognition'].get('uf1', 0):.3f} "
                f"({time.perf_counter() - t0:.1f} s)")
        results = [json.loads((self.out / "folds" / f"{s}.json").read_text()) for s in folds]
        pooled = pool_results(results, self.cfg.emotions)
        summary = {"folds": [s for s in folds], "input_scale": scale,
                   "weights_input_scale": float(self.meta.get("input_scale", 1.0)) * scale,
                   "pooled": pooled,
                   "per_fold": {r["subject"]: {
                       "micro_f1": r["metrics"]["megc"]["micro"]["f1"],
                       "macro_f1": r["metrics"]["megc"]["macro"]["f1"],
                       "uf1": r["metrics"]["recognition"].get("uf1", 0.0),
                       "uar": r["metrics"]["recognition"].get("uar", 0.0),
                       "seconds": r["train"]["seconds"]} for r in results},
                   "seconds_per_fold": float(np.mean([r["train"]["seconds"] for r in results])),
                   "train": _jsonable(asdict(self.cfg)),
                   "cache_meta": self.meta}
        if plots:
            summary["plots"] = write_plots(self.out / "plots", results, pooled, self.cfg.emotions,
                                           self.frame_skip, self.cfg.spotting, plot_videos,
                                           float(self.meta.get("fps", 30.0)))
        atomic_write_json(self.out / "results.json", _jsonable(summary))
        return summary

    def train_final(self, path: str | Path | None = None, provenance: dict[str, Any] | None = None
                    ) -> Path:
        """Train one model on every subject of the cache (no held-out fold) and save it."""
        cfg = self.cfg
        scale = self.input_scale()
        self.out.mkdir(parents=True, exist_ok=True)
        self._check_config(scale)
        seed = fold_seed(cfg.seed, None)
        train = sample_fold([self.data(s) for s in self.subjects], np.random.default_rng(seed),
                            cfg.neg_ratio)
        init = None
        if cfg.mode == "finetune":
            init = Path(cfg.finetune_from) / "final.safetensors"
            if not init.is_file():
                raise RtSfamnetError(f"fine-tuning needs {init}; train the 4-class final model "
                                     f"first (--final)")
        model, info = train_model(train, cfg, scale, seed, init=init)
        from rt_sfamnet.weights import save_weights

        p = Path(path) if path is not None else self.out / "final.safetensors"
        prov = {"fold": None, "subjects": self.subjects, "seed": cfg.seed,
                "train": _jsonable(asdict(cfg)), "train_info": _jsonable(info),
                **(provenance or {})}
        save_weights(model, p, _weights_meta(cfg, self.meta, scale, prov))
        self.log(f"final model on {len(self.subjects)} subjects: loss {info['loss']:.4f} "
                 f"({info['seconds']:.1f} s) -> {p}")
        return p
