"""The one chunk loop: run a plan's chunks that a store does not hold yet, then the stopping rule.

:func:`drive` is how every run simulates: :func:`simulation.run.simulate` with a
:class:`MemoryChunkStore` and :func:`local_executor`, ``autoabs run`` with the run store's
checkpoint directory (so an interrupted run resumes from its finished chunks) and local threads
or a Dask executor. An executor only decides *where* chunks run; the results are the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from simulation.run.assemble import el_rse_check
from simulation.run.chunk import ChunkCallback, ChunkResult, run_chunk
from simulation.run.plan import RunPlan, numba_threads
from simulation.run.reducers import DealReduction, PoolReduction

__all__ = ["ChunkStore", "DrivenRun", "Executor", "MemoryChunkStore", "drive", "local_executor"]

Executor = Callable[[RunPlan, list[tuple[int, int]], Callable[[ChunkResult], None]], None]
"""``executor(plan, todo, finished)`` runs the chunks ``todo`` (``(first, n)``) of ``plan`` and
calls ``finished(chunk)`` as each one is done, in any order."""


class ChunkStore(Protocol):
    """Where finished chunks go until the run is assembled."""

    def done(self) -> set[int]:
        """First path of every stored chunk."""

    def save(self, chunk: ChunkResult) -> None:
        """Store one finished chunk."""

    def load(self, first: int) -> ChunkResult:
        """The chunk starting at path ``first``."""

    def clear(self) -> None:
        """Drop every chunk (after the run's results are written)."""


@dataclass
class MemoryChunkStore:
    """Chunks kept in memory (runs without a directory), their reductions folded as they come.

    A chunk's reductions are merged into the first chunk's as soon as every chunk before it
    is in, in chunk order, and the chunk keeps empty ones: memory grows with the per-path
    results, not with one histogram set per chunk. :func:`assemble` gives the same bits
    (zero plus the folded sum is that sum; adding empty reductions adds zeros).
    """

    chunks: dict[int, ChunkResult] = field(default_factory=dict)
    _head: int | None = None
    _next: int = 0

    def done(self) -> set[int]:
        """First path of every stored chunk."""
        return set(self.chunks)

    def save(self, chunk: ChunkResult) -> None:
        """Keep the chunk and fold every chunk that now follows the folded ones."""
        self.chunks[chunk.first] = chunk
        while self._next in self.chunks:
            current = self.chunks[self._next]
            if self._head is None:
                self._head = current.first
                pool, deal = (PoolReduction(current.pool.n_periods, current.pool.initial_balance),
                              DealReduction(current.deal.n_classes, current.deal.n_periods,
                                            current.deal.n_triggers))
            else:
                head = self.chunks[self._head]
                pool, deal = head.pool, head.deal
            pool.merge(current.pool)
            deal.merge(current.deal)
            if current.first != self._head:
                self.chunks[current.first] = replace(current, pool=_empty(current.pool),
                                                     deal=_empty(current.deal))
            self.chunks[self._head] = replace(self.chunks[self._head], pool=pool, deal=deal)
            self._next = current.first + current.n

    def load(self, first: int) -> ChunkResult:
        """Return the chunk."""
        return self.chunks[first]

    def clear(self) -> None:
        """Forget every chunk."""
        self.chunks.clear()
        self._head, self._next = None, 0


def _empty(reduction: Any) -> Any:
    """A reduction of the same shape with nothing in it (histograms sparse and empty)."""
    if isinstance(reduction, PoolReduction):
        return PoolReduction(reduction.n_periods, reduction.initial_balance).compact()
    return DealReduction(reduction.n_classes, reduction.n_periods, reduction.n_triggers).compact()


def local_executor(threads: int | None = None,
                   on_chunk: ChunkCallback | None = None) -> Executor:
    """Chunks in this process, in order, on ``threads`` numba threads."""

    def execute(plan: RunPlan, todo: list[tuple[int, int]],
                finished: Callable[[ChunkResult], None]) -> None:
        with numba_threads(threads):
            for first, n in todo:
                finished(run_chunk(plan, first, n, on_chunk=on_chunk))

    return execute


@dataclass(frozen=True)
class DrivenRun:
    """What :func:`drive` did.

    Attributes
    ----------
    plan : RunPlan
        The final plan (extended by the stopping rule when it ran).
    checks : list of dict
        The stopping rule's checks (empty without a target).
    chunks_resumed, paths_resumed : int
        Chunks (and their paths) the store already held, so not simulated here.
    """

    plan: RunPlan
    checks: list[dict[str, Any]]
    chunks_resumed: int
    paths_resumed: int


def drive(plan: RunPlan, store: ChunkStore, executor: Executor, *,
          target_rse: float | None = None, max_paths: int | None = None,
          progress: Callable[[int], None] | None = None) -> DrivenRun:
    """Simulate every chunk of ``plan`` that ``store`` lacks; with a target, the stopping rule.

    The stopping rule adds half the initial paths at a time until every class EL has a
    relative standard error of at most ``target_rse`` (:func:`el_rse_check`) or
    ``max_paths`` paths ran. Checks happen at fixed path counts (``n``, ``1.5 n``, ...) and
    earlier chunks never change, so the result does not depend on the chunk size, the executor
    or a resume. ``progress(n_paths)`` is called for resumed paths and after each chunk.
    """
    resumed = [0, 0]

    def run_missing(current: RunPlan) -> None:
        done = store.done()
        todo = [(first, n) for first, n in current.chunks if first not in done]
        held = [(first, n) for first, n in current.chunks if first in done]
        new_held = [c for c in held if c[0] not in seen]
        seen.update(first for first, _ in current.chunks)
        resumed[0] += len(new_held)
        resumed[1] += sum(n for _, n in new_held)
        if progress is not None and new_held:
            progress(sum(n for _, n in new_held))

        def finished(chunk: ChunkResult) -> None:
            store.save(chunk)
            if progress is not None:
                progress(chunk.n)

        if todo:
            executor(current, todo, finished)

    seen: set[int] = set()
    run_missing(plan)
    checks: list[dict[str, Any]] = []
    if target_rse is not None:
        program = plan.program
        if program is None:
            raise ValueError("the stopping rule needs a deal run")
        budget = max_paths if max_paths is not None else 10 * plan.n_paths
        step = max(plan.n_paths // 2, 1)
        while True:
            chunks = [store.load(first) for first, _ in plan.chunks]
            loss = np.concatenate([c.class_paths[:, :, 0] for c in chunks])
            weights = np.concatenate([c.pool_paths[:, -1] for c in chunks])
            checks.append(el_rse_check(loss, weights, plan.design or {}, program.classes,
                                       target_rse))
            if checks[-1]["met"] or plan.n_paths >= budget:
                break
            plan = plan.extended(min(plan.n_paths + step, budget))
            run_missing(plan)
    return DrivenRun(plan, checks, resumed[0], resumed[1])
