"""Running independent jobs on many cores or machines: Ray tasks (local or a cluster, the
optional extra ``rt-sfamnet[cluster]``) and ``--shard K/N`` splits for array jobs (Slurm).

Used by ``extract`` (videos) and ``train`` (LOSO folds). Results never depend on where a job
ran: each job gets everything it needs as arguments and writes only its own files.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from rt_sfamnet.errors import RtSfamnetError

LOG = logging.getLogger(__name__)


def import_ray():
    """The ``ray`` module, or a clear error naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise RtSfamnetError("--workers/--ray-address need Ray: pip install 'rt-sfamnet[cluster]'"
                             ) from None
    return ray


def start_ray(workers: int, address: str | None, cpus_per_task: int):
    """Join ``address`` or start a local instance sized for ``workers`` tasks.

    Our signal handlers stay in place (``ray.init`` replaces SIGTERM's with one that exits
    through a native crash dump; :func:`rt_sfamnet.signals.keep_handlers`).
    """
    from rt_sfamnet.signals import keep_handlers

    ray = import_ray()
    if not ray.is_initialized():
        kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                              "configure_logging": False}
        with keep_handlers():
            if address:
                ray.init(address=address, **kw)
            else:
                ray.init(num_cpus=max(1, workers) * max(1, cpus_per_task), **kw)
    return ray


WAIT_S = 0.2
"""Longest wait inside Ray between two chances for Python to run a signal handler."""


def ray_map(fn, args: Sequence[tuple], workers: int, address: str | None,
            cpus_per_task: int = 1) -> Iterator[Any]:
    """``fn(*a)`` for every ``a`` as Ray tasks, at most ``workers`` in flight (0: as many as
    the cluster fits); results are yielded as they finish.

    When the caller is interrupted (a signal raising :class:`~rt_sfamnet.signals.Interrupted`
    or KeyboardInterrupt, or an error) the running tasks are cancelled and Ray is shut down
    before the exception goes on, so the process ends with its own message and status.
    """
    ray = import_ray()
    pending = list(args)
    limit = workers if workers > 0 else len(pending)
    running: list[Any] = []
    announced = False
    try:  # a signal while Ray starts shuts it down too
        start_ray(workers, address, cpus_per_task)
        remote = ray.remote(num_cpus=cpus_per_task, max_retries=0)(fn)
        while pending or running:
            while pending and len(running) < limit:
                running.append(remote.remote(*pending.pop(0)))
            if not announced:
                LOG.info("%d Ray tasks started, %d waiting", len(running), len(pending))
                announced = True
            done: list[Any] = []
            while not done:  # short waits: a signal handler runs between them
                done, running = ray.wait(running, num_returns=1, timeout=WAIT_S)
            yield _result(ray, done[0])
    except BaseException:
        _stop_ray(ray, running)
        raise


def _result(ray: Any, ref: Any) -> Any:
    """``ray.get(ref)``; a task's RtSfamnetError or OSError is raised as itself (Ray's
    wrapper prints the worker's whole traceback as its message), so that the command prints
    the usual one line."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, (RtSfamnetError, OSError)):
            raise cause from None
        raise


def _stop_ray(ray: Any, running: list[Any]) -> None:
    """Cancel ``running`` and shut Ray down (a local instance stops; a cluster stays)."""
    for ref in running:
        with contextlib.suppress(Exception):
            ray.cancel(ref, force=True)
    with contextlib.suppress(Exception):
        ray.shutdown()


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"K/N"`` (1 <= K <= N) -> ``(K, N)``; None -> None.

    Raises:
        RtSfamnetError: not of that form.
    """
    if text is None:
        return None
    try:
        k, n = (int(x) for x in str(text).split("/"))
    except ValueError:
        k = n = 0
    if not 1 <= k <= n:
        raise RtSfamnetError(f"--shard must be K/N with 1 <= K <= N (e.g. 3/10), found {text!r}")
    return k, n


def shard_items(items: Sequence[Any], shard: tuple[int, int] | None) -> list[Any]:
    """Items ``K-1, K-1+N, K-1+2N, ...`` of ``items`` for shard ``(K, N)`` (all if None)."""
    if shard is None:
        return list(items)
    k, n = shard
    return [x for i, x in enumerate(items) if i % n == k - 1]


def add_cluster_arguments(parser: Any, unit: str, paths: str, shard_note: str) -> None:
    """``--workers``, ``--ray-address`` and ``--shard`` of a command that distributes
    ``unit`` ("folds", "videos"); ``paths`` names the folders every node must see."""
    parser.add_argument("--workers", type=int, default=0,
                        help=f"run N {unit} at a time as Ray tasks on a local Ray instance "
                        "(pip install 'rt-sfamnet[cluster]')")
    parser.add_argument("--ray-address", default=None, metavar="ADDR",
                        help=f"join an existing Ray cluster (every node must see {paths} at "
                        "the same paths)")
    parser.add_argument("--shard", default=None, metavar="K/N",
                        help=f"only {unit} K, K+N, K+2N, ... (e.g. a Slurm array task); "
                        f"{shard_note}")
