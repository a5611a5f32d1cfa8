"""LOSO folds as Ray tasks, on a local Ray instance or an existing cluster (``pip install
rt-sfamnet[cluster]``).

Every task rebuilds the :class:`~rt_sfamnet.training.run.Run` from the cache path, the run
folder and the settings, trains one fold with ``TrainConfig.threads`` torch threads (set
inside the task: Ray starts workers with ``OMP_NUM_THREADS=1``) and writes that fold's files
itself, exactly as a serial run does; so the same seed gives the same weights and metrics
wherever a fold ran. Every node must see the cache and the run folder at the same paths
(a shared filesystem).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rt_sfamnet.cluster import ray_map


def ray_folds(run, subjects: Sequence[str], workers: int, address: str | None,
              task: Callable[[str, str, dict[str, Any], str], dict[str, Any]]
              ) -> Iterator[dict[str, Any]]:
    """Train the folds ``subjects`` of ``run`` as Ray tasks (see the module docstring).

    ``task(cache, out, config_dict, subject)`` trains one fold in the worker (a module-level
    function of :mod:`rt_sfamnet.training.run`, passed in so that this module does not import
    the run: no import cycle).
    """
    cache = os.path.abspath(run.cache.path)
    out = os.path.abspath(Path(run.out))
    cfg = asdict(run.cfg)
    for key in ("init_weights", "finetune_from"):  # workers may start in another folder
        if cfg[key]:
            cfg[key] = os.path.abspath(cfg[key])
    yield from ray_map(task, [(cache, out, cfg, s) for s in subjects], workers, address,
                       max(1, int(run.cfg.threads or 1)))
