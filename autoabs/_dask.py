"""Dask scale-out: the chunk function of :mod:`simulation.run` on a ``distributed`` cluster.

``--workers N`` starts a :class:`distributed.LocalCluster` of N worker processes on the
loopback interface; ``--scheduler tcp://HOST:PORT`` joins an existing cluster (its workers
need autoabs installed). Chunks are pure functions of the plan and the path range, so the
result is bit-identical to local threads.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable, Iterator
from typing import Any

from portfolio.errors import InputError, Problem
from simulation.run import ChunkResult, RunPlan, run_chunk

SCHEDULER_PATTERN = re.compile(r"^(tcp|tls|inproc|ws|wss)://[^\s:/]+(:\d{1,5})?/?$")


def check_options(workers: int | None, scheduler: str | None) -> None:
    """Validate ``--workers`` and ``--scheduler`` (one or the other)."""
    if workers is not None and scheduler is not None:
        raise InputError("--workers", "give --workers N (start a local cluster) or "
                         "--scheduler ADDRESS (join one), not both")
    if workers is not None and not 1 <= workers <= 512:
        raise InputError("--workers", f"must be between 1 and 512, got {workers}")
    if scheduler is not None and not SCHEDULER_PATTERN.match(scheduler):
        raise InputError("--scheduler", f"expected an address like tcp://HOST:8786, got "
                         f"{scheduler!r}")


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise InputError("--workers/--scheduler", "Dask is not installed: "
                         "pip install 'autoabs[cluster]'") from None
    return distributed


@contextlib.contextmanager
def dask_client(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    """A ``distributed.Client`` on a new local cluster or an existing scheduler."""
    distributed = _import_distributed()
    cluster = None
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise InputError(scheduler, Problem(None, "--scheduler",
                                                f"cannot connect: {exc}")) from None
    else:
        cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, silence_logs=logging.ERROR,
        )
        client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def default_worker_threads(workers: int | None) -> int | None:
    """Numba threads per local worker: the cores shared out (None for remote clusters)."""
    if workers is None:
        return None
    return max(1, (os.cpu_count() or 1) // workers)


def run_on_dask(client: Any, plan: RunPlan, todo: list[tuple[int, int]], threads: int | None,
                on_result: Callable[[ChunkResult], None]) -> None:
    """Run the chunks ``todo`` on the cluster; ``on_result`` is called as each one finishes."""
    distributed = _import_distributed()
    [plan_future] = client.scatter([plan], broadcast=True)
    futures = [client.submit(run_chunk, plan_future, first, n, threads, pure=False)
               for first, n in todo]
    for future in distributed.as_completed(futures):
        on_result(future.result())
        future.release()
