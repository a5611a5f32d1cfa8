"""A LOSO run folder: folds, resume, pooled results, the final model.

Integrity (the same rules as the feature cache's): before training, every cache entry is
re-hashed against its index (:meth:`Run.verify_cache`); a damaged entry is refused with the
command that redoes it (``extract`` with the same ``--cache``), never trained on. A finished
fold has ``folds/<subject>.checksums`` (written last): the size and SHA-256 of its
``.safetensors`` and ``.json``, and the digest of every cache entry it used
(:meth:`~rt_sfamnet.datasets.cache.FeatureCache.entry_digest`). On resume a fold is kept only
when its files match and the cache entries are those it was trained on; a fold with a
missing or damaged file, without checksums, or trained on entries that have changed since
(an extract that followed an edited review, a repaired entry) is trained again, with a line
saying why. Pooling (:meth:`Run.merge`) refuses such a fold clearly instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from rt_sfamnet.cluster import shard_items
from rt_sfamnet.datasets.cache import (
    FeatureCache,
    _sha256,
    atomic_write_json,
    create_json_once,
)
from rt_sfamnet.datasets.casme3 import subject_id
from rt_sfamnet.errors import DatasetError, RtSfamnetError
from rt_sfamnet.fileio import read_json
from rt_sfamnet.training.config import TrainConfig
from rt_sfamnet.training.data import SubjectData, auto_input_scale, load_subject, sample_fold
from rt_sfamnet.training.evaluate import (
    _jsonable,
    evaluate_subject,
    fold_result,
    pool_results,
    write_plots,
)
from rt_sfamnet.training.fit import fold_seed, resolve_device, train_model


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


def training_data(cfg: TrainConfig, cache_meta: dict[str, Any]) -> str | list[str] | None:
    """``provenance["training_data"]`` of weights trained on this cache: its dataset kind
    (synthetic, casme3, recordings -> own-recordings), mixed with what the starting weights
    (``init_weights``, or ``finetune_from``'s final model) were trained on."""
    from rt_sfamnet.weights import DATASET_TRAINING_DATA, load_weights, merge_training_data

    kinds = [DATASET_TRAINING_DATA.get(str(cache_meta.get("dataset")))]
    init = cfg.init_weights or (Path(cfg.finetune_from) / "final.safetensors"
                                if cfg.finetune_from else None)
    if init is not None and Path(init).is_file():  # ours or an official .pkl (casme3)
        kinds.append(list(load_weights(init)[1].training_data))
    return merge_training_data(*kinds)


def _weights_meta(cfg: TrainConfig, cache_meta: dict[str, Any], input_scale: float,
                  provenance: dict[str, Any]):
    from rt_sfamnet.weights import WeightsMeta

    total = float(cache_meta.get("input_scale", 1.0)) * float(input_scale)
    provenance = _portable(provenance)
    data = training_data(cfg, cache_meta)
    if data is not None and "training_data" not in provenance:
        provenance = {**provenance, "training_data": data}
    if cfg.clip is not None:
        provenance = {**provenance, "input_clip": float(cfg.clip)}
    return WeightsMeta(emotions=cfg.emotions, flow_mode=cache_meta.get("flow", "hybrid"),
                       input_scale=total, frame_skip=int(cache_meta["frame_skip"]),
                       provenance=provenance,
                       registration=(cache_meta.get("features") or {}).get("registration",
                                                                            "none"))


#: TrainConfig fields that must agree for a run folder to be resumed or merged.
RESUME_KEYS = ("emotions", "steps", "batch_size", "lr", "lam", "neg_ratio", "clip", "aug_min",
               "aug_max", "aug_step", "mode", "seed", "input_scale", "init_weights",
               "release_exact", "mae_labels", "neutral_recognition")


class Run:
    """A LOSO run folder (see :mod:`rt_sfamnet.training`).

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
        self._inputs: dict[str, str] | None = None
        self._verified = False

    # -- integrity --------------------------------------------------------------------------
    def verify_cache(self) -> None:
        """Re-hash every cache entry against its index (once per Run).

        Raises:
            DatasetError: damaged entries (named, with the command that redoes them).
        """
        if self._verified:
            return
        if self.meta.get("dataset") == "recordings":  # a recording is one video of one subject
            where: dict[str, list[str]] = {}
            for s, v in self.cache.keys():
                where.setdefault(v, []).append(s)
            twice = {v: ss for v, ss in where.items() if len(ss) > 1}
            if twice:
                v, ss = next(iter(sorted(twice.items())))
                raise DatasetError(
                    f"the feature cache {self.cache.path} holds recording {v} under "
                    f"{len(ss)} subjects ({', '.join(ss)}){' and more' if len(twice) > 1 else ''}"
                    f": LOSO would test on what it trained on. Run `rt-sfamnet extract` again "
                    f"with the same --root and --cache: it keeps the subject of the review")
        bad = self.cache.verify_all(checksum=True)
        if bad:
            raise DatasetError(
                f"the feature cache {self.cache.path} has {len(bad)} damaged entr"
                f"{'y' if len(bad) == 1 else 'ies'} ({'; '.join(bad[:3])}"
                f"{' ...' if len(bad) > 3 else ''}); run `rt-sfamnet extract` again with the "
                f"same --root and --cache to redo {'it' if len(bad) == 1 else 'them'}, then "
                f"train again (nothing was trained on it)")
        self._verified = True

    def inputs(self) -> dict[str, str]:
        """``{"subject/video": entry digest}`` of every cache entry (what a fold uses)."""
        if self._inputs is None:
            self._inputs = {f"{s}/{v}": self.cache.entry_digest(s, v)
                            for s, v in self.cache.keys()}
        return self._inputs

    def _fold_files(self, subject: str) -> dict[str, Path]:
        d = self.out / "folds"
        return {"weights": d / f"{subject}.safetensors", "result": d / f"{subject}.json",
                "checksums": d / f"{subject}.checksums"}

    def fold_problem(self, subject: str) -> str | None:
        """None when the fold is finished and may be kept, else why not ("" when it was
        never started)."""
        f = self._fold_files(subject)
        if not f["checksums"].is_file():
            if not (f["result"].is_file() or f["weights"].is_file()):
                return ""
            return "its files have no checksums (an older version or an interrupted write)"
        try:
            man = json.loads(f["checksums"].read_text())
            files, used = man["files"], man["cache_entries"]
        except (OSError, ValueError, KeyError, TypeError):
            return f"{f['checksums'].name} is damaged"
        for key in ("weights", "result"):
            problem = _file_problem(f[key], files.get(f[key].name))
            if problem:
                return problem
        now = self.inputs()
        if used != now:
            changed = sorted(k for k in set(used) | set(now) if used.get(k) != now.get(k))
            return (f"it was trained on cache entries that have changed since "
                    f"({', '.join(changed[:4])}{' ...' if len(changed) > 4 else ''})")
        return None

    # -- data -----------------------------------------------------------------------------
    @property
    def subjects(self) -> list[str]:
        return self.cache.subjects

    def data(self, subject: str) -> SubjectData:
        """A subject's labels (kept; its maps stay on disk)."""
        if subject not in self._data:
            self._data[subject] = load_subject(self.cache, subject, self.cfg.emotions,
                                               self.cfg.mae_labels)
        return self._data[subject]

    @property
    def storage_dtype(self):
        """float16 for a float16 cache (kept in memory as stored), else float32."""
        return np.float16 if self.meta.get("float16") else np.float32

    def input_scale(self, train_subjects: Sequence[str], seed: int) -> float:
        """``--input-scale``; else 1 with ``release_exact``; else, evaluating given weights
        (``--steps 0 --init-weights``), the weights' own scale (over the cache's); else
        :func:`auto_input_scale` of a bounded random subsample of the training subjects only."""
        if self.cfg.input_scale is not None:
            return float(self.cfg.input_scale)
        if self.cfg.release_exact:
            return 1.0
        if self.cfg.init_weights and self.cfg.updates == 0:
            from rt_sfamnet.weights import load_weights

            return load_weights(self.cfg.init_weights)[1].input_scale / float(
                self.meta.get("input_scale", 1.0))
        return auto_input_scale([self.data(s) for s in train_subjects], seed=seed)

    def check_config(self) -> None:
        """Record the settings and the cache's identity, or check them against a run there.

        Raises:
            RtSfamnetError: the folder holds a run with other settings or another cache.
        """
        want = {"train": _jsonable(asdict(self.cfg)), "cache": str(self.cache.path),
                "cache_id": self.meta.get("id"), "cache_meta": self.meta}
        p = self.out / "config.json"
        if create_json_once(p, want):
            return
        have = read_json(p, "run settings", error=RtSfamnetError)
        keys = [k for k in RESUME_KEYS if have.get("train", {}).get(k) != want["train"].get(k)]
        if keys:
            raise RtSfamnetError(f"{self.out} holds a run with other settings "
                                 f"({', '.join(keys)}); use another --out folder")
        old_id = have.get("cache_id")
        if (old_id or None) != want["cache_id"] and not (old_id is None and
                                                          have.get("cache") == want["cache"]):
            raise RtSfamnetError(
                f"{self.out} holds folds trained on another feature cache ({have.get('cache')}, "
                f"id {old_id}); --cache {self.cache.path} is id {want['cache_id']}. Give the "
                f"same --cache to resume, or another --out folder")

    def fold_done(self, subject: str) -> bool:
        """The fold is finished, intact and trained on the cache as it is now."""
        return self.fold_problem(subject) is None

    def folds(self, subjects: Sequence[str] | None = None) -> list[str]:
        """The requested folds (all subjects if None), checked against the cache."""
        all_subjects = self.subjects
        if len(all_subjects) < 2:
            raise DatasetError(f"LOSO needs at least 2 subjects; the cache has {all_subjects}")
        folds = all_subjects if not subjects else [subject_id(s) for s in subjects]
        unknown = [s for s in folds if s not in all_subjects]
        if unknown:
            raise DatasetError(f"subject(s) {unknown} not in the cache; it has {all_subjects}")
        return folds

    # -- folds ------------------------------------------------------------------------------
    def run_fold(self, subject: str) -> dict[str, Any]:
        """Train, save and evaluate the fold that holds out ``subject``; writes only
        ``folds/<subject>.*`` (the JSON last)."""
        cfg = self.cfg
        used = dict(self.inputs())  # what this fold is trained on (recorded when done)
        files = self._fold_files(subject)
        (self.out / "folds").mkdir(parents=True, exist_ok=True)
        files["checksums"].unlink(missing_ok=True)  # not done until written again
        seed = fold_seed(cfg.seed, subject)
        others = [s for s in self.subjects if s != subject]
        scale = self.input_scale(others, seed)
        dtype = self.storage_dtype
        train = sample_fold([self.data(s) for s in others], np.random.default_rng(seed),
                            cfg.neg_ratio, dtype=dtype)
        val = sample_fold([self.data(subject)], np.random.default_rng(seed + 1), cfg.neg_ratio,
                          with_gt=not cfg.release_exact, dtype=dtype)
        init = None
        if cfg.mode == "finetune":
            init = _finetune_source(Path(cfg.finetune_from), subject)
        model, info = train_model(train, cfg, scale, seed, init=init, val=val)
        del train, val
        model.to(resolve_device(cfg.device))  # evaluate on the training device
        ev = evaluate_subject(model, self.data(subject), cfg, scale, self.frame_skip,
                              float(self.meta.get("fps", 30.0)))
        model.cpu()
        result = fold_result(subject, scale, info, ev, cfg.emotions)
        from rt_sfamnet.weights import save_weights

        files = self._fold_files(subject)
        prov = {"fold": subject, "seed": cfg.seed, "train": _jsonable(asdict(cfg)),
                "cache": self.cache.path.name, "cache_id": self.meta.get("id")}
        save_weights(model, files["weights"], _weights_meta(cfg, self.meta, scale, prov))
        atomic_write_json(files["result"], _jsonable(result))
        atomic_write_json(files["checksums"], {  # last: its presence = the fold is done
            "files": {p.name: _file_identity(p) for p in (files["weights"], files["result"])},
            "cache_entries": used})
        return result

    def run(self, subjects: Sequence[str] | None = None, plots: bool = True,
            plot_videos: int = 4, workers: int = 0, ray_address: str | None = None,
            shard: tuple[int, int] | None = None, progress: bool = False) -> dict[str, Any]:
        """Train and evaluate every (or the given) fold, resuming finished ones.

        ``workers`` > 1 or ``ray_address`` runs the folds as Ray tasks
        (:mod:`rt_sfamnet.training.parallel`); ``shard = (K, N)`` runs only every N-th fold
        from the K-th and does not pool (see :meth:`merge`). Without a shard the pooled
        ``results.json`` (and plots) are written and returned.
        """
        folds = self.folds(subjects)
        self.verify_cache()
        self.out.mkdir(parents=True, exist_ok=True)
        self.check_config()
        mine = shard_items(folds, shard)
        todo = []
        for s in mine:
            why = self.fold_problem(s)
            if why is None:
                self.log(f"fold {s}: done earlier, intact, same cache entries: kept")
                continue
            if why:
                self.log(f"fold {s}: {why}; training it again")
            todo.append(s)
        for i, r in enumerate(self._train_folds(todo, workers, ray_address, progress)):
            m = r["metrics"]
            loss = r["train"]["loss"]  # None without training steps (--steps 0: evaluate only)
            loss_text = "-" if loss is None else f"{loss:.4f}"
            self.log(f"fold {i + 1}/{len(todo)} {r['subject']}: loss {loss_text} "
                     f"ME F1 {m['megc']['micro']['f1']:.3f} UF1 "
                     f"{m['recognition'].get('uf1', 0):.3f} ({r['train']['seconds']:.1f} s)")
        if shard is not None:
            return {"folds": mine, "shard": f"{shard[0]}/{shard[1]}"}
        return self.merge(folds, plots=plots, plot_videos=plot_videos)

    def _train_folds(self, todo: list[str], workers: int, ray_address: str | None,
                     progress: bool) -> Iterator[dict[str, Any]]:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), unit="fold", desc="train", dynamic_ncols=True,
                   disable=None if progress else True)
        try:
            if workers > 1 or ray_address:
                from rt_sfamnet.training.parallel import ray_folds

                results = ray_folds(self, todo, workers, ray_address, fold_task)
            else:
                results = (self.run_fold(s) for s in todo)
            for r in results:
                bar.update(1)
                bar.set_postfix_str(r["subject"])
                yield r
        finally:
            bar.close()

    def merge(self, subjects: Sequence[str] | None = None, plots: bool = True,
              plot_videos: int = 4) -> dict[str, Any]:
        """Pool the finished folds into ``results.json`` (and plots).

        Raises:
            RtSfamnetError: a requested fold is not finished yet.
        """
        folds = self.folds(subjects)
        if (self.out / "config.json").is_file():
            self.check_config()
        problems = {s: self.fold_problem(s) for s in folds}
        missing = [s for s, p in problems.items() if p == ""]
        if missing:
            raise RtSfamnetError(f"cannot pool {self.out}: {len(missing)} fold(s) not finished "
                                 f"({', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''});"
                                 f" run the remaining folds or shards first")
        bad = [f"{s}: {p}" for s, p in problems.items() if p]
        if bad:
            raise RtSfamnetError(f"cannot pool {self.out}: {len(bad)} fold(s) cannot be used "
                                 f"({'; '.join(bad[:3])}{' ...' if len(bad) > 3 else ''}); run "
                                 f"`rt-sfamnet train` with the same --cache and --out (or the "
                                 f"fold's --shard) to train them again")
        results = [read_json(self.out / "folds" / f"{s}.json", "fold result (delete it to train "
                             "the fold again)", error=RtSfamnetError) for s in folds]
        pooled = pool_results(results, self.cfg.emotions)
        summary = {"folds": list(folds),
                   "input_scale": {r["subject"]: r.get("input_scale") for r in results},
                   "weights_input_scale": {
                       r["subject"]: float(self.meta.get("input_scale", 1.0))
                       * float(r.get("input_scale") or 1.0) for r in results},
                   "pooled": pooled,
                   "per_fold": {r["subject"]: _fold_row(r) for r in results},
                   "seconds_per_fold": float(np.mean([r["train"]["seconds"] for r in results])),
                   "train": _jsonable(asdict(self.cfg)), "cache_meta": self.meta}
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
        self.verify_cache()
        self.out.mkdir(parents=True, exist_ok=True)
        self.check_config()
        seed = fold_seed(cfg.seed, None)
        scale = self.input_scale(self.subjects, seed)
        train = sample_fold([self.data(s) for s in self.subjects], np.random.default_rng(seed),
                            cfg.neg_ratio, dtype=self.storage_dtype)
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
                "cache_id": self.meta.get("id"), **(provenance or {})}
        save_weights(model, p, _weights_meta(cfg, self.meta, scale, prov))
        self.log(f"final model on {len(self.subjects)} subjects: loss {info['loss']:.4f} "
                 f"({info['seconds']:.1f} s) -> {p}")
        return p


def _file_identity(p: Path) -> dict[str, Any]:
    return {"bytes": p.stat().st_size, "sha256": _sha256(p)}


def _file_problem(p: Path, want: Any) -> str | None:
    """None when ``p`` has the size and SHA-256 recorded in ``want``, else what is wrong."""
    if not p.is_file():
        return f"{p.name} is missing"
    if not isinstance(want, dict):
        return f"{p.name} has no recorded checksum"
    if p.stat().st_size != want.get("bytes") or _sha256(p) != want.get("sha256"):
        return f"{p.name} is damaged (its size or SHA-256 differs from the recorded one)"
    return None


def _finetune_source(run: Path, subject: str) -> Path:
    """The 4-class fold model a fine-tuned fold starts from, checked against its run's
    checksums (it cannot be redone from here: a missing or damaged one is refused)."""
    init = run / "folds" / f"{subject}.safetensors"
    if not init.is_file():
        raise RtSfamnetError(f"fine-tuning needs the 4-class fold model {init}; train "
                             f"the 4-class run first")
    man = run / "folds" / f"{subject}.checksums"
    try:
        want = json.loads(man.read_text())["files"].get(init.name) if man.is_file() else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        want = {}
    problem = _file_problem(init, want) if want is not None else None
    if problem:
        raise RtSfamnetError(f"fine-tuning needs the 4-class fold model {init}, but {problem}; "
                             f"train that fold of the 4-class run again first")
    return init


def _fold_row(r: dict[str, Any]) -> dict[str, Any]:
    m = r["metrics"]
    return {"micro_f1": m["megc"]["micro"]["f1"], "macro_f1": m["megc"]["macro"]["f1"],
            "uf1": m["recognition"].get("uf1", 0.0), "uar": m["recognition"].get("uar", 0.0),
            "seconds": r["train"]["seconds"], "input_scale": r.get("input_scale")}


def fold_task(cache: str, out: str, cfg: dict[str, Any], subject: str) -> dict[str, Any]:
    """One fold in a Ray worker: rebuild the run from plain values and train ``subject``."""
    return Run(cache, out, TrainConfig(**cfg)).run_fold(subject)
