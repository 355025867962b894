"""From finished chunks to a run's result: the ordered merge, and the stopping rule's test.

:func:`assemble` merges chunk results **in chunk order** into the run's
:class:`~simulation.run.results.DealSimulationResult` (or
:class:`~simulation.run.results.PoolSimulationResult` without a deal);
:func:`el_rse_check` is the stopping rule's test (:func:`simulation.run.drive.drive` applies it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numba
import numpy as np
import pandas as pd

import simulation.estimators as estimators
from simulation.deal import Deal
from simulation.ratings import ELTable, builtin_el_table
from simulation.run.chunk import ChunkResult
from simulation.run.plan import RunPlan
from simulation.run.reducers import DealReduction, PoolReduction
from simulation.run.results import (
    CLASS_PATH_FIELDS,
    PATH_FIELDS,
    DealSimulationResult,
    PoolSimulationResult,
    hard_credit_enhancement,
)

__all__ = ["assemble", "el_rse_check"]


def assemble(plan: RunPlan, chunks: Iterable[ChunkResult], *, deal: Deal | None = None,
             threads: int | None = None, el_table: ELTable | None = None,
             input_warnings: tuple[str, ...] = ()
             ) -> DealSimulationResult | PoolSimulationResult:
    """Merge chunk results, in chunk order, into the run's result.

    ``input_warnings`` (checks of the inputs the caller made) go to the deal result's
    provenance, so the summary and the report show them.

    ``chunks`` must yield every chunk of ``plan.chunks`` in order (a generator reading
    checkpoints keeps memory to one chunk's reductions at a time). Without ``deal`` (or for a
    collateral-only plan) the pool result is returned.
    """
    inputs = plan.inputs
    n_periods, n_paths = inputs.n_periods, plan.n_paths
    program = plan.program
    n_classes = program.n_classes if program is not None else 0
    pool = PoolReduction(n_periods, plan.pool_basis[0])
    tranches = DealReduction(n_classes, n_periods,
                             len(program.trigger_names) if program is not None else 0)
    pool_paths = np.empty((n_paths, len(PATH_FIELDS)))
    class_paths = np.empty((n_paths, n_classes, len(CLASS_PATH_FIELDS)))
    expected = iter(plan.chunks)
    for chunk in chunks:
        first, n = chunk.first, chunk.n
        if (first, n) != next(expected, None):
            raise ValueError(f"chunk ({first}, {n}) out of order or not in the plan")
        pool_paths[first:first + n] = chunk.pool_paths
        class_paths[first:first + n] = chunk.class_paths
        pool.merge(chunk.pool)
        tranches.merge(chunk.deal)
    if next(expected, None) is not None or pool.n != n_paths:
        raise ValueError(f"chunks cover {pool.n} of {n_paths} paths")

    spec = plan.spec
    provenance: dict[str, Any] = {
        "seed": int(plan.seed),
        "n_paths": int(n_paths),
        "chunk_size": int(plan.chunk_size),
        "threads": int(threads or numba.get_num_threads()),
        "n_loans": inputs.n_loans,
        "n_periods": n_periods,
        "factor": {"kind": spec.kind, "sigma": spec.sigma, "rho": spec.rho,
                   "pd_horizon": spec.pd_horizon, "cnl_log_mean": spec.cnl_log_mean},
        "default_scale": inputs.default_scale,
        "se_block_size": plan.se_block_size,
    }
    pool_result = PoolSimulationResult(
        paths=pd.DataFrame(pool_paths, columns=list(PATH_FIELDS),
                           index=pd.RangeIndex(n_paths, name="path")),
        mean_flows=pool.mean_flows(),
        pool_factor_quantiles=pool.factor_quantiles(),
        initial_balance=plan.pool_basis[0],
        provenance=provenance,
    )
    if program is None or deal is None:
        return pool_result

    deal_provenance = dict(provenance)
    deal_provenance["input_warnings"] = list(input_warnings)
    deal_provenance["scenario"] = plan.source.name if plan.source is not None else None
    deal_provenance["stochastic"] = bool(plan.source.stochastic) if plan.source else False
    if program.start is not None:
        paid = program.schedule(1).closing_date
        deal_provenance["as_of"] = {"period": program.periods_elapsed,
                                    "reporting_date": paid.isoformat()}
    if plan.design is not None:
        deal_provenance["variance_reduction"] = plan.design
        deal_provenance["effective_sample_size"] = estimators.effective_sample_size(
            pool_paths[:, PATH_FIELDS.index("weight")])
        deal_provenance["stopping_rule"] = None
    return DealSimulationResult(
        deal=deal,
        classes=program.classes,
        start_balance=program.start_balance.copy(),
        class_paths=class_paths,
        pool=pool_result,
        hard_ce=hard_credit_enhancement(deal, program),
        group_hard_ce=hard_credit_enhancement(deal, program, by_group=True),
        class_balance_quantiles=tranches.balance_quantiles(program.classes),
        triggers=tranches.triggers(program.trigger_names),
        events=tranches.events(),
        promised_yield=np.asarray(plan.promised_yield),
        el_table=el_table or builtin_el_table(),
        class_flows=tranches.class_flows(program.classes),
        provenance=deal_provenance,
    )


def el_rse_check(class_loss: np.ndarray, weights: np.ndarray, design: dict[str, Any],
                 classes: tuple[str, ...], target_rse: float | None) -> dict[str, Any]:
    """The stopping rule's check after ``len(weights)`` paths: worst relative SE of class EL.

    ``class_loss`` ``(n_paths, n_classes)`` loss ratios, ``weights`` ``(n_paths,)``; standard
    errors from independent blocks of ``design['se_block_size']`` paths; classes the design
    found loss-free with an EL of exactly 0 count as met; a standard error that cannot be
    estimated yet (fewer than two blocks) does not meet the target.
    """
    loss_free = set(design.get("loss_free_classes") or ())
    el = estimators.mean(class_loss, weights, block_size=int(design.get("se_block_size") or 1))
    value, se = np.atleast_1d(el.value), np.atleast_1d(el.se)
    exact_zero = np.array([v == 0.0 and name in loss_free
                           for v, name in zip(value, classes, strict=True)])
    with np.errstate(divide="ignore", invalid="ignore"):
        rse = np.where(exact_zero, 0.0, np.where(value > 0.0, se / value, np.inf))
    rse = np.where(np.isnan(rse), np.inf, rse)
    worst = float(rse.max())
    return {"paths": int(len(weights)), "worst_el_rse": worst if np.isfinite(worst) else None,
            "met": bool(target_rse is not None and worst <= target_rse)}
