"""One chunk of a run as a pure function: the only place the kernels are called.

:func:`run_chunk` simulates paths ``first .. first+n-1`` of a :class:`RunPlan`: the scenario
rows of those paths, the factor draws, the collateral kernel, the waterfall, the per-path
metrics and the chunk's share of every streamed reduction. Its :class:`ChunkResult` is the
unit of checkpointing (the run store) and of scale-out (Dask): it depends only on the plan and
the path range, never on other chunks, the process or the thread count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

import simulation.metrics as metrics
from simulation.collateral import FIELD_NAMES, flat_macro, simulate_chunk
from simulation.run.plan import RunPlan, class_basis, numba_threads
from simulation.run.reducers import DealReduction, PoolReduction, SparseCounts
from simulation.run.results import CLASS_PATH_FIELDS
from simulation.run.sampler import draw_factor
from simulation.waterfall import TrancheFlows, WaterfallProgram, run_waterfall

__all__ = ["ChunkCallback", "ChunkResult", "run_chunk"]

ChunkCallback = Callable[[int, np.ndarray, "TrancheFlows | None"], None]
"""``on_chunk(first_path, pool_flows, tranche_flows)`` sees a chunk's flows before they are
reduced (``tranche_flows`` is ``None`` in a collateral-only run)."""


@dataclass(frozen=True, eq=False)
class ChunkResult:
    """Per-path results and reductions of paths ``first .. first+n-1``.

    Attributes
    ----------
    first, n : int
        The path range.
    pool_paths : numpy.ndarray
        ``(n, len(PATH_FIELDS))`` per-path pool summaries.
    class_paths : numpy.ndarray
        ``(n, n_classes, len(CLASS_PATH_FIELDS))`` per-path class metrics (0 classes without a
        deal).
    pool : PoolReduction
        The chunk's pool reduction (histograms as :class:`SparseCounts`).
    deal : DealReduction
        The chunk's tranche reduction (no classes without a deal; histograms sparse).
    """

    first: int
    n: int
    pool_paths: np.ndarray
    class_paths: np.ndarray
    pool: PoolReduction
    deal: DealReduction

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The chunk as named arrays (for ``numpy.savez``); histograms stored sparse."""
        out: dict[str, np.ndarray] = {
            "first": np.asarray(self.first), "n": np.asarray(self.n),
            "pool_paths": self.pool_paths, "class_paths": self.class_paths}
        for prefix, reduction in (("pool", self.pool), ("deal", self.deal)):
            for f in fields(reduction):
                value = getattr(reduction, f.name)
                if isinstance(value, SparseCounts):
                    out[f"{prefix}.{f.name}.shape"] = np.asarray(value.shape)
                    out[f"{prefix}.{f.name}.index"] = value.index
                    out[f"{prefix}.{f.name}.value"] = value.value
                else:
                    out[f"{prefix}.{f.name}"] = np.asarray(value)
        return out

    @classmethod
    def from_arrays(cls, arrays: Any) -> ChunkResult:
        """Rebuild from :meth:`to_arrays` output (or an open ``.npz``)."""

        def rebuild(prefix: str, kind: type[Any], sizes: tuple[str, ...]) -> Any:
            reduction = kind(*(_scalar(arrays[f"{prefix}.{s}"]) for s in sizes))
            for f in fields(reduction):
                if f.name in sizes:
                    continue
                if f.name.endswith("_hist"):
                    setattr(reduction, f.name, SparseCounts(
                        tuple(int(k) for k in arrays[f"{prefix}.{f.name}.shape"]),
                        np.asarray(arrays[f"{prefix}.{f.name}.index"]),
                        np.asarray(arrays[f"{prefix}.{f.name}.value"])))
                else:
                    setattr(reduction, f.name, _scalar(arrays[f"{prefix}.{f.name}"]))
            return reduction

        return cls(
            first=int(arrays["first"]), n=int(arrays["n"]),
            pool_paths=np.asarray(arrays["pool_paths"]),
            class_paths=np.asarray(arrays["class_paths"]),
            pool=rebuild("pool", PoolReduction, ("n_periods", "initial_balance")),
            deal=rebuild("deal", DealReduction, ("n_classes", "n_periods", "n_triggers")))


def _scalar(value: Any) -> Any:
    a = np.asarray(value)
    return a.item() if a.ndim == 0 else a


def path_summaries(flows: np.ndarray, initial_balance: float,
                   realised_net_loss: float = 0.0) -> np.ndarray:
    """Per-path summary of a chunk of flows, shape ``(n, 7)`` (first 7 of PATH_FIELDS).

    Shares of ``initial_balance``; the CNL adds ``realised_net_loss`` (USD, a run from a
    reporting date: :attr:`RunPlan.pool_basis`).
    """
    f = {name: k for k, name in enumerate(FIELD_NAMES)}
    totals = flows.sum(axis=1) / initial_balance
    principal = (
        flows[..., f["scheduled_principal"]]
        + flows[..., f["prepaid_principal"]]
        + flows[..., f["defaulted_principal"]]
    )
    months = np.arange(1, flows.shape[1] + 1)
    wal = (principal * months).sum(axis=1) / np.maximum(principal.sum(axis=1), 1e-300) / 12.0
    cnl = totals[:, f["defaulted_principal"]] - totals[:, f["recoveries"]]
    if realised_net_loss:
        cnl = cnl + realised_net_loss / initial_balance
    return np.column_stack([
        cnl,
        totals[:, f["defaulted_principal"]],
        totals[:, f["recoveries"]],
        totals[:, f["prepaid_principal"]],
        totals[:, f["scheduled_principal"]],
        totals[:, f["interest"]],
        wal,
    ])


def class_path_metrics(tf: TrancheFlows, program: WaterfallProgram, promised_yield: np.ndarray,
                       discount: np.ndarray) -> np.ndarray:
    """Per-path class metrics of one chunk, ``(n, n_classes, len(CLASS_PATH_FIELDS))``.

    Per USD of each class's balance when the run starts (:func:`class_basis`); WAL on the
    actual payment dates (years of 365 days from closing, or from the reporting date); yield
    at par in each class's own day count (:meth:`WaterfallProgram.yield_fractions`), NaN for
    a class already paid when the run starts.
    """
    ob, live = class_basis(program)
    cash = tf.interest_paid + tf.principal_paid
    price = np.broadcast_to(ob[None, :], cash.shape[:2])
    years = program.schedule(tf.n_periods).years
    yld = np.where(live[None, :],
                   metrics.cashflow_yield(cash, price, program.yield_fractions(tf.n_periods)),
                   np.nan)
    shortfall = np.maximum(tf.interest_due - tf.interest_paid, 0.0)
    first_short = metrics.first_loss_period(shortfall, tol=1e-6)
    pv = metrics.pv(cash, discount[: cash.shape[-1]]) / ob[None, :]
    return np.stack([
        tf.principal_loss / ob[None, :],
        tf.interest_shortfall / ob[None, :],
        metrics.wal_years(tf.principal_paid, years),
        yld,
        (promised_yield[None, :] - yld) * 1e4,
        pv,
        first_short.astype(float),
    ], axis=-1)


def run_chunk(plan: RunPlan, first: int, n: int, threads: int | None = None,
              on_chunk: ChunkCallback | None = None) -> ChunkResult:
    """Simulate paths ``first .. first+n-1`` of ``plan``: collateral, waterfall, metrics.

    Pure: the result depends only on the plan and the path range, so chunks may run in any
    order and anywhere. ``on_chunk`` (local runs only) sees the chunk's flows.
    """
    inputs, spec = plan.inputs, plan.spec
    n_periods = inputs.n_periods
    paths = np.arange(first, first + n)
    program = plan.program
    with numba_threads(threads):
        rows = plan.source.rows(paths) if plan.source is not None else None
        macro = (rows.macro if rows is not None
                 else flat_macro(inputs.model, n_periods).rows(paths)).over(n_periods)
        z, weight = draw_factor(plan.factor, plan.residual, rows, plan.seed, first, n, spec)
        mult = spec.multiplier(z)
        flows = simulate_chunk(inputs, macro, mult, plan.seed, first)
        base, realised = plan.pool_basis
        pool = PoolReduction(n_periods, base)
        pool.add(flows, weight)
        pool_paths = np.column_stack([path_summaries(flows, base, realised), z, mult, weight])
        if program is None:
            if on_chunk is not None:
                on_chunk(first, flows, None)
            return ChunkResult(first=first, n=n, pool_paths=pool_paths,
                               class_paths=np.empty((n, 0, len(CLASS_PATH_FIELDS))),
                               pool=pool.compact(), deal=DealReduction(0, n_periods, 0).compact())
        index = rows.index_rate if rows is not None else None
        tf = run_waterfall(program, flows, index)
        if on_chunk is not None:
            on_chunk(first, flows, tf)
        deal = DealReduction(program.n_classes, n_periods, len(program.trigger_names))
        # the weight column of the path summaries: a strided view, which BLAS may sum in
        # another order than a contiguous copy; every deal reduction takes this one
        deal.add(tf, pool_paths[:, -1])
        class_paths = class_path_metrics(tf, program, plan.promised_yield, plan.curve)
    return ChunkResult(first=first, n=n, pool_paths=pool_paths, class_paths=class_paths,
                       pool=pool.compact(), deal=deal.compact())
