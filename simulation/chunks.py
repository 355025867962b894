"""One chunk of a run as a pure function: the unit of checkpointing and of Dask scale-out.

:func:`simulation.simulate.simulate` (in one process), the run store (resume after an
interruption) and Dask (chunks on other machines) all run a deal in these independent pieces:
:func:`plan_run` does the one-off preparation (collateral
preparation and calibration, deal compilation, promised yields, the scenario's shared rows)
into a picklable :class:`RunPlan`; :func:`simulate_chunk_range` simulates paths
``first .. first+n-1`` of that plan and returns a :class:`ChunkResult` (per-path results and
the chunk's share of every streamed reduction); :func:`assemble` merges chunk results **in
chunk order** into the same :class:`~simulation.simulate.DealSimulationResult` (or
:class:`~simulation.engine.PoolSimulationResult`) that ``simulate`` returns.

Every draw is keyed by (seed, stream, global path index), and the reductions are merged in a
fixed order from exact per-chunk partial sums (zero plus the chunk's sum is the chunk's sum),
so the result is bit-identical to ``simulate`` for the same chunk size, whatever the order in
which chunks ran, the process or machine that ran them, and whether the run was interrupted.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import numba
import numpy as np
import pandas as pd

from portfolio.errors import InputError
from portfolio.tape import LoanTape
from simulation.collateral import CollateralInputs, prepare_collateral, simulate_chunk
from simulation.deal import Deal
from simulation.engine import (
    PATH_FIELDS,
    FactorSampler,
    PoolSimulationResult,
    _macro_source,
    _Reducer,
    independent_factor,
    iter_chunks,
    numba_threads,
    path_summaries,
)
from simulation.factor import FactorSpec, calibrate
from simulation.model import CollateralModel
from simulation.ratings import ELTable, builtin_el_table
from simulation.simulate import (
    CLASS_PATH_FIELDS,
    DealSimulationResult,
    ScenarioSource,
    _class_path_metrics,
    _DealReducer,
    _flat_curve,
    hard_credit_enhancement,
    promised_flows,
)
from simulation.waterfall import WaterfallProgram, compile_deal, run_waterfall

__all__ = [
    "CLASS_FLOW_FIELDS",
    "ChunkResult",
    "RunPlan",
    "assemble",
    "class_flows_frame",
    "plan_run",
    "run_to_target",
    "simulate_chunk_range",
]

CLASS_FLOW_FIELDS = ("interest_due", "interest_paid", "principal_paid", "ending_balance",
                     "coupon_rate")
"""Tranche flows averaged over paths (weighted) by class and period for ``cashflows(cls)``."""


@dataclass(frozen=True, eq=False)
class RunPlan:
    """Everything needed to simulate any chunk of one run; picklable (shipped to workers).

    Attributes
    ----------
    inputs : CollateralInputs
        Prepared and calibrated collateral inputs.
    spec : FactorSpec
        The calibrated systematic factor.
    program : WaterfallProgram or None
        The compiled deal (``None`` for a collateral-only run).
    source : ScenarioSource or None
        Scenario rows by path (``None``: flat macro and the deal's flat index).
    n_paths, seed, chunk_size : int
        Run size, run seed and paths per chunk (the chunk boundaries of the run).
    promised_yield : numpy.ndarray
        ``(n_classes,)`` yield of the no-loss cash flows, annual decimal.
    curve : numpy.ndarray
        ``(n_periods,)`` discount factors for PVs.
    factor : callable or None
        Factor sampler (``None``: independent normals, or the scenario's correlated factor).
    design : dict
        The variance-reduction design of the sampler, for the provenance.
    checkpoints : tuple of int
        Path counts at which a stopping rule extended the run (chunk boundaries).
    residual : callable or None
        Stochastic scenarios: sampler of the credit factor's independent residual (the
        importance design in its units), ``None`` for the scenario's own draws.
    """

    inputs: CollateralInputs
    spec: FactorSpec
    program: WaterfallProgram | None
    source: ScenarioSource | None
    n_paths: int
    seed: int
    chunk_size: int
    promised_yield: np.ndarray
    curve: np.ndarray
    factor: FactorSampler | None = None
    design: dict[str, Any] | None = None
    checkpoints: tuple[int, ...] = ()
    residual: FactorSampler | None = None

    @property
    def chunks(self) -> list[tuple[int, int]]:
        """``(first_path, n)`` of every chunk, in order.

        Paths are cut into chunks of ``chunk_size`` within each segment between
        ``checkpoints`` (the path counts at which a stopping rule looked), so extending a run
        never changes a chunk already simulated.
        """
        out: list[tuple[int, int]] = []
        bounds = [0, *[c for c in self.checkpoints if 0 < c < self.n_paths], self.n_paths]
        for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
            out += [(start + first, n) for first, n in iter_chunks(stop - start, self.chunk_size)]
        return out

    def extended(self, n_paths: int) -> RunPlan:
        """The same run with more paths; the current count becomes a checkpoint."""
        return replace(self, n_paths=n_paths, checkpoints=(*self.checkpoints, self.n_paths))


@dataclass(frozen=True, eq=False)
class ChunkResult:
    """Per-path results and reduction shares of paths ``first .. first+n-1``.

    Histograms are stored sparse (flat index, value) since a chunk fills few bins.
    """

    first: int
    n: int
    pool_paths: np.ndarray          # (n, len(PATH_FIELDS))
    flow_sum: np.ndarray            # (T, 10)
    flow_sumsq: np.ndarray          # (T, 10)
    factor_hist_index: np.ndarray   # int64 flat indices into (T, FACTOR_BINS + 1)
    factor_hist_count: np.ndarray   # int64
    class_paths: np.ndarray         # (n, C, len(CLASS_PATH_FIELDS)); (n, 0, 7) without a deal
    balance_hist_index: np.ndarray  # int64 flat indices into (C, T, FACTOR_BINS + 1)
    balance_hist_weight: np.ndarray  # float64
    breach_in_period: np.ndarray    # (K, T)
    breach_by_period: np.ndarray    # (K, T)
    reserve_draw_by_period: np.ndarray  # (T,)
    class_flow_sum: np.ndarray      # (C, T, len(CLASS_FLOW_FIELDS)), weighted
    events: np.ndarray              # weight_sum, any_reserve_draw, event_of_default, called,
                                    # pool weight_sum

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The chunk as named arrays (for ``numpy.savez``)."""
        out = {k: np.asarray(v) for k, v in self.__dict__.items()}
        return out

    @classmethod
    def from_arrays(cls, arrays: Any) -> ChunkResult:
        """Rebuild from :meth:`to_arrays` output (or an open ``.npz``)."""
        fields: dict[str, Any] = {k: np.asarray(arrays[k]) for k in cls.__dataclass_fields__}
        fields["first"] = int(fields["first"])
        fields["n"] = int(fields["n"])
        return cls(**fields)


def plan_run(
    tape: LoanTape,
    model: CollateralModel,
    deal: Deal | None = None,
    *,
    scenario: Any = None,
    stochastic: bool = False,
    n_paths: int = 1000,
    seed: int = 0,
    chunk_size: int = 256,
    factor: FactorSampler | None = None,
    prepared: tuple[CollateralInputs, FactorSpec] | None = None,
    importance: bool = True,
    antithetic: bool = False,
    stratified: bool = True,
    defensive: float = 0.25,
) -> RunPlan:
    """Prepare a run once (collateral inputs, calibration, waterfall program, sampler).

    Arguments are those of :func:`simulation.simulate.simulate` (``deal=None`` plans a
    collateral-only run as :func:`simulation.engine.simulate_pool`, with the default factor);
    the stopping rule (``target_rse``) is applied by the caller with :meth:`RunPlan.extended`.
    """
    if n_paths < 1:
        raise InputError("--paths", f"must be at least 1, got {n_paths}")
    if chunk_size < 1:
        raise InputError("--chunk-size", f"must be at least 1, got {chunk_size}")
    inputs, spec = prepared if prepared is not None else calibrate(prepare_collateral(tape, model))
    n_periods = inputs.n_periods
    source = (ScenarioSource(scenario, model, n_periods, n_paths, seed, stochastic)
              if scenario is not None else None)
    if deal is None:
        return RunPlan(inputs, spec, None, source, n_paths, seed, chunk_size, np.zeros(0),
                       np.ones(n_periods), factor, None)
    program = compile_deal(deal, inputs.initial_balance)
    base_index = source.last.index_rate if source and source.last is not None else None
    curve = (source.last.curve if source and source.last is not None
             else _flat_curve(deal.index_rate, n_periods))
    promised = promised_flows(inputs, program, base_index)
    from simulation import metrics
    from simulation.simulate import choose_sampler

    promised_yield = metrics.cashflow_irr(promised.interest_paid[0] + promised.principal_paid[0],
                                          program.original_balance)
    sampler, design = choose_sampler(factor, source, inputs, spec, program, base_index,
                                     importance=importance, antithetic=antithetic,
                                     stratified=stratified, defensive=defensive)
    residual = None
    if factor is None and source is not None and source.stochastic:
        # each chunk takes the factor of its own scenario rows, the design its residual
        residual, sampler = sampler, None
    return RunPlan(inputs, spec, program, source, n_paths, seed, chunk_size,
                   np.asarray(promised_yield), np.asarray(curve), sampler, design,
                   residual=residual)


def run_to_target(
    plan: RunPlan,
    load: Callable[[int], ChunkResult],
    run_more: Callable[[RunPlan], None],
    target_rse: float,
    max_paths: int,
) -> tuple[RunPlan, list[dict[str, Any]]]:
    """The stopping rule: add half the initial paths at a time until every class EL meets it.

    After the plan's paths are simulated (``load(first)`` returns a finished chunk),
    ``el_rse_check`` looks at the worst relative standard error of class EL; while it is above
    ``target_rse`` and fewer than ``max_paths`` paths ran, the plan is extended and
    ``run_more(plan)`` simulates the new chunks. Checks happen at fixed path counts
    (``n``, ``1.5 n``, ...) and earlier chunks never change, so the result does not depend on
    the chunk size, the executor or a resume. Returns the final plan and every check.
    """
    from simulation.simulate import el_rse_check

    program = plan.program
    assert program is not None
    step = max(plan.n_paths // 2, 1)
    checks = []
    while True:
        chunks = [load(first) for first, _ in plan.chunks]
        loss = np.concatenate([c.class_paths[:, :, 0] for c in chunks])
        weights = np.concatenate([c.pool_paths[:, -1] for c in chunks])
        checks.append(el_rse_check(loss, weights, plan.design or {}, program.classes,
                                   target_rse))
        if checks[-1]["met"] or plan.n_paths >= max_paths:
            return plan, checks
        plan = plan.extended(min(plan.n_paths + step, max_paths))
        run_more(plan)


def simulate_chunk_range(plan: RunPlan, first: int, n: int, threads: int | None = None,
                         on_chunk: Any = None) -> ChunkResult:
    """Simulate paths ``first .. first+n-1`` of ``plan``: collateral, waterfall, metrics.

    Pure: the result depends only on the plan and the path range (not on other chunks, the
    process or the thread count), so chunks may run in any order and anywhere.
    ``on_chunk(first, pool_flows, tranche_flows)`` (deal runs, local only) sees the chunk's
    flows before they are reduced.
    """
    inputs, spec = plan.inputs, plan.spec
    n_periods = inputs.n_periods
    # A private copy: stochastic sources remember the rows of the chunk they drew last.
    source = copy.copy(plan.source) if plan.source is not None else None
    macro_rows = _macro_source(source.macro if source else None, inputs, plan.n_paths)
    sampler = (plan.factor or (source.factor_sampler(plan.residual) if source else None)
               or independent_factor)
    paths = np.arange(first, first + n)
    with numba_threads(threads):
        macro = macro_rows(paths)  # before the factor: stochastic factors come with the rows
        z, weight = sampler(plan.seed, first, n, spec)
        mult = spec.multiplier(z)
        flows = simulate_chunk(inputs, macro, mult, plan.seed, first)
        pool_reducer = _Reducer(n_periods, inputs.initial_balance)
        pool_reducer.add(flows, weight)
        pool_paths = np.column_stack(
            [path_summaries(flows, inputs.initial_balance), z, mult, weight])
        # the deal reductions take the weight column of the path summaries, as simulate()
        # does: a strided view, which BLAS may sum in another order than a contiguous copy
        weight = pool_paths[:, -1]
        program = plan.program
        if program is None:
            n_classes, n_triggers = 0, 0
            class_paths = np.empty((n, 0, len(CLASS_PATH_FIELDS)))
            deal_reducer = _DealReducer(0, n_periods, 0)
            class_flow_sum = np.zeros((0, n_periods, len(CLASS_FLOW_FIELDS)))
        else:
            n_classes, n_triggers = program.n_classes, len(program.trigger_names)
            index = None if source is None or source.last is None else source.last.index_rate
            tf = run_waterfall(program, flows, index)
            if on_chunk is not None:
                on_chunk(first, flows, tf)
            class_paths = _class_path_metrics(tf, plan.promised_yield, plan.curve)
            deal_reducer = _DealReducer(n_classes, n_periods, n_triggers)
            deal_reducer.add(tf, weight)
            class_flow_sum = np.stack(
                [np.einsum("p,pct->ct", weight, getattr(tf, f)) for f in CLASS_FLOW_FIELDS],
                axis=-1)
    f_idx = np.flatnonzero(pool_reducer.factor_hist)
    b_idx = np.flatnonzero(deal_reducer.balance_hist)
    return ChunkResult(
        first=first, n=n, pool_paths=pool_paths,
        flow_sum=pool_reducer.flow_sum, flow_sumsq=pool_reducer.flow_sumsq,
        factor_hist_index=f_idx, factor_hist_count=pool_reducer.factor_hist.ravel()[f_idx],
        class_paths=class_paths,
        balance_hist_index=b_idx, balance_hist_weight=deal_reducer.balance_hist.ravel()[b_idx],
        breach_in_period=deal_reducer.breach_in_period,
        breach_by_period=deal_reducer.breach_by_period,
        reserve_draw_by_period=deal_reducer.reserve_draw_by_period,
        class_flow_sum=class_flow_sum,
        events=np.array([deal_reducer.weight_sum, deal_reducer.any_reserve_draw,
                         deal_reducer.event_of_default, deal_reducer.called,
                         pool_reducer.weight_sum]),
    )


@dataclass(frozen=True, eq=False)
class Assembled:
    """A merged run: the simulation result and the class flows that ``simulate`` omits.

    Attributes
    ----------
    result : DealSimulationResult or PoolSimulationResult
        As :func:`simulation.simulate.simulate` (or ``simulate_pool`` without a deal) returns.
    class_flows : pandas.DataFrame or None
        Weighted mean tranche flows by class and period (:data:`CLASS_FLOW_FIELDS`).
    """

    result: DealSimulationResult | PoolSimulationResult
    class_flows: pd.DataFrame | None


def assemble(plan: RunPlan, chunks: Iterable[ChunkResult], *, deal: Deal | None = None,
             threads: int | None = None, el_table: ELTable | None = None) -> Assembled:
    """Merge chunk results, in chunk order, into the run's result.

    ``chunks`` must yield every chunk of ``plan.chunks`` in order (a generator reading
    checkpoints keeps memory to one chunk's reductions at a time).
    """
    inputs = plan.inputs
    n_periods, n_paths = inputs.n_periods, plan.n_paths
    pool_reducer = _Reducer(n_periods, inputs.initial_balance)
    program = plan.program
    n_classes = program.n_classes if program is not None else 0
    n_triggers = len(program.trigger_names) if program is not None else 0
    deal_reducer = _DealReducer(n_classes, n_periods, n_triggers)
    summaries = np.empty((n_paths, len(PATH_FIELDS)))
    class_paths = np.empty((n_paths, n_classes, len(CLASS_PATH_FIELDS)))
    class_flow_sum = np.zeros((n_classes, n_periods, len(CLASS_FLOW_FIELDS)))
    expected = iter(plan.chunks)
    for chunk in chunks:
        first, n = chunk.first, chunk.n
        if (first, n) != next(expected, None):
            raise ValueError(f"chunk ({first}, {n}) out of order or not in the plan")
        summaries[first:first + n] = chunk.pool_paths
        class_paths[first:first + n] = chunk.class_paths
        pool_reducer.flow_sum += chunk.flow_sum
        pool_reducer.flow_sumsq += chunk.flow_sumsq
        if chunk.factor_hist_count.dtype.kind == "f" and pool_reducer.factor_hist.dtype.kind != "f":
            pool_reducer.factor_hist = pool_reducer.factor_hist.astype(np.float64)
        pool_reducer.factor_hist.ravel()[chunk.factor_hist_index] += chunk.factor_hist_count
        pool_reducer.n += n
        pool_reducer.weight_sum += float(chunk.events[4])
        deal_reducer.balance_hist.ravel()[chunk.balance_hist_index] += chunk.balance_hist_weight
        deal_reducer.breach_in_period += chunk.breach_in_period
        deal_reducer.breach_by_period += chunk.breach_by_period
        deal_reducer.reserve_draw_by_period += chunk.reserve_draw_by_period
        weight_sum, reserve, eod, called = (float(x) for x in chunk.events[:4])
        deal_reducer.weight_sum += weight_sum
        deal_reducer.any_reserve_draw += reserve
        deal_reducer.event_of_default += eod
        deal_reducer.called += called
        class_flow_sum += chunk.class_flow_sum
    if next(expected, None) is not None or pool_reducer.n != n_paths:
        raise ValueError(f"chunks cover {pool_reducer.n} of {n_paths} paths")

    # --- pool result, as simulation.engine.simulate_pool builds it ---
    mean_flows, quantiles = pool_reducer.frames(n_paths)
    spec = plan.spec
    provenance: dict[str, Any] = {
        "seed": int(plan.seed),
        "n_paths": int(n_paths),
        "chunk_size": int(plan.chunk_size),
        "threads": int(threads or numba.get_num_threads()),
        "n_loans": inputs.n_loans,
        "n_periods": n_periods,
        "factor": {"kind": spec.kind, "sigma": spec.sigma, "rho": spec.rho,
                   "pd_horizon": spec.pd_horizon},
        "default_scale": inputs.default_scale,
        "se_block_size": int(getattr(plan.factor, "block_size", 1)),
    }
    pool = PoolSimulationResult(
        paths=pd.DataFrame(summaries, columns=list(PATH_FIELDS),
                           index=pd.RangeIndex(n_paths, name="path")),
        mean_flows=mean_flows,
        pool_factor_quantiles=quantiles,
        initial_balance=inputs.initial_balance,
        provenance=provenance,
    )
    if program is None or deal is None:
        return Assembled(pool, None)

    # --- deal result, as simulation.simulate.simulate builds it ---
    balance_q, triggers, events = deal_reducer.views(program.classes, program.trigger_names)
    deal_provenance = dict(provenance)
    deal_provenance["scenario"] = getattr(plan.source.scenario, "name", None) \
        if plan.source else None
    deal_provenance["stochastic"] = bool(plan.source.stochastic) if plan.source else False
    if plan.design is not None:
        from simulation import metrics

        deal_provenance["variance_reduction"] = plan.design
        deal_provenance["effective_sample_size"] = metrics.effective_sample_size(
            summaries[:, PATH_FIELDS.index("weight")])
        deal_provenance["stopping_rule"] = None
    result = DealSimulationResult(
        deal=deal,
        classes=program.classes,
        original_balance=program.original_balance.copy(),
        class_paths=class_paths,
        pool=pool,
        hard_ce=hard_credit_enhancement(deal, program),
        class_balance_quantiles=balance_q,
        triggers=triggers,
        events=events,
        promised_yield=np.asarray(plan.promised_yield),
        el_table=el_table or builtin_el_table(),
        provenance=deal_provenance,
    )
    w_sum = max(deal_reducer.weight_sum, 1e-300)
    return Assembled(result, class_flows_frame(program.classes, class_flow_sum / w_sum))


def class_flows_frame(classes: tuple[str, ...], mean: np.ndarray) -> pd.DataFrame:
    """Long frame (class, period, :data:`CLASS_FLOW_FIELDS`) of mean tranche flows."""
    n_classes, n_periods, _ = mean.shape
    frame = pd.DataFrame(mean.reshape(n_classes * n_periods, -1), columns=list(CLASS_FLOW_FIELDS))
    frame.insert(0, "period", np.tile(np.arange(1, n_periods + 1), n_classes))
    frame.insert(0, "class", np.repeat(np.array(classes, dtype=object), n_periods))
    return frame
