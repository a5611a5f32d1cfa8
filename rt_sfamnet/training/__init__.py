"""Leave-one-subject-out training and evaluation of SFAMNet from a feature cache (§3, §5).

Per fold (test subject ``s``), as in the authors' release:

- training set: every positive spotting sample of the other subjects, ``neg_ratio x
  (#positive + #recognition)`` randomly chosen negatives, and every ground-truth recognition
  sample (onset -> apex) of the other subjects; validation = the same sampling of ``s``
  (``release_exact``: its positives and as many negatives, no GT samples);
- augmentation: each sample, each time it is drawn, is multiplied by one factor from
  {0.90, 0.91, ..., 1.10} (the same for u, v, w);
- loss = ``lam * MSE(spot) + (1 - lam) * CE(logits)``, CE weighted by sklearn-"balanced"
  weights ``n / (k * count_c)`` over the ``k`` non-neutral classes present in the training
  labels, weight 0 for neutral (and for absent classes);
- Adam (lr 1e-4), batches of 1024 from shuffled epochs, 1000 optimiser steps (1001 with
  ``release_exact``, as the release's loop makes);
- maps times an input scale: given, 1 with ``release_exact``, else a robust ``1 / std`` of a
  bounded random subsample of the fold's training subjects only;
- 7 classes either from scratch (release) or fine-tuned from the 4-class fold model with the
  shared streams and the spotting head frozen (paper).

Memory is bounded by the fold, not the dataset (:mod:`rt_sfamnet.training.data`): maps are
read from the memory-mapped cache only for the sampled rows. The fold's training set lives
on the training device for the whole fold (float16 as stored, for a float16 cache); batches
are indexed, cast to float32 and augmented there, and the loss is read back once per fold.
Folds are independent (seeded by the run seed and the subject): they can run as Ray tasks
(:mod:`rt_sfamnet.training.parallel`) or as ``--shard K/N`` array jobs with the same results.

Evaluation runs the fold model over every spotting sample of the test subject, spots
intervals (:func:`rt_sfamnet.spotting.spot`), and scores them against the annotations with
both protocols (:func:`rt_sfamnet.metrics.evaluate_intervals`); recognition is scored on the
test subject's ground-truth samples. Results are pooled over folds by summing counts.

Run folder layout::

    RUN/config.json                training settings + the cache's identity (must match)
    RUN/folds/<subject>.safetensors  fold model (rt_sfamnet.weights format)
    RUN/folds/<subject>.json         fold result
    RUN/folds/<subject>.checksums    size + SHA-256 of the two files above and the digest of
                                   every cache entry the fold used (written last: a fold is
                                   done when it exists, its files match and the cache entries
                                   are unchanged; else the fold is trained again)
    RUN/results.json               pooled metrics + per-fold table (not written by shards)
    RUN/plots/*.png                confusion matrices, score curves
    RUN/final.safetensors          (optional) model trained on every subject
"""

from rt_sfamnet.training.config import TrainConfig
from rt_sfamnet.training.data import (
    SubjectData,
    auto_input_scale,
    balanced_class_weights,
    load_subject,
    sample_fold,
)
from rt_sfamnet.training.evaluate import evaluate_subject, pool_results, score_results, write_plots
from rt_sfamnet.training.fit import (
    _loss,
    fold_seed,
    init_from,
    predict,
    resolve_device,
    train_model,
)
from rt_sfamnet.training.run import Run

__all__ = [
    "Run", "SubjectData", "TrainConfig", "_loss", "auto_input_scale", "balanced_class_weights",
    "evaluate_subject", "fold_seed", "init_from", "load_subject", "pool_results", "predict",
    "resolve_device", "sample_fold", "score_results", "train_model", "write_plots",
]
