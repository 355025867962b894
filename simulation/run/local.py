"""Runs in this process: :func:`simulate` (a deal) and :func:`simulate_pool` (collateral only).

Both are thin callers of the spine: :func:`~simulation.run.plan.plan_run`, then
:func:`~simulation.run.drive.drive` with chunks in memory on numba threads, then
:func:`~simulation.run.assemble.assemble`. ``autoabs run`` calls the same three with the run
store's checkpoints and, optionally, Dask.
"""

from __future__ import annotations

import time

from portfolio.errors import InputError
from portfolio.tape import LoanTape
from simulation.collateral import CollateralInputs, MacroPaths
from simulation.deal import Deal
from simulation.factor import FactorSpec, calibrate
from simulation.model import CollateralModel
from simulation.ratings import ELTable
from simulation.run.assemble import assemble
from simulation.run.chunk import ChunkCallback
from simulation.run.drive import MemoryChunkStore, drive, local_executor
from simulation.run.macro import MacroScenario
from simulation.run.plan import plan_run
from simulation.run.results import DealSimulationResult, PoolSimulationResult
from simulation.run.sampler import FactorSampler

__all__ = ["simulate", "simulate_pool"]


def simulate(
    tape: LoanTape | None,
    deal: Deal,
    model: CollateralModel | None,
    *,
    macro: MacroScenario | MacroPaths | None = None,
    stochastic: bool = False,
    n_paths: int = 1000,
    seed: int = 0,
    chunk_size: int = 256,
    threads: int | None = None,
    el_table: ELTable | None = None,
    factor: FactorSampler | None = None,
    prepared: tuple[CollateralInputs, FactorSpec] | None = None,
    on_chunk: ChunkCallback | None = None,
    importance: bool = True,
    antithetic: bool = False,
    stratified: bool = True,
    defensive: float = 0.25,
    target_rse: float | None = None,
    max_paths: int | None = None,
) -> DealSimulationResult:
    """Simulate a deal: collateral Monte Carlo, waterfall and tranche metrics on every path.

    Parameters
    ----------
    tape, deal, model
        The pool, the validated deal and the collateral assumptions (``tape`` and ``model``
        may be ``None`` when ``prepared`` is given).
    macro : MacroScenario or MacroPaths, optional
        A scenario (``scenarios.ScenarioMacro(load_scenario(name))``) or fixed macro paths;
        flat macro at the model's cut-off levels and the deal's flat index when omitted.
    stochastic : bool
        Draw stochastic paths around the scenario (Hull-White rates, macro shocks, correlated
        credit factor) instead of using its deterministic paths for every path.
    n_paths, seed, chunk_size, threads
        Number of paths, run seed (every draw is keyed by seed and global path index), paths
        per chunk (memory grows with it) and numba threads.
    el_table : ELTable, optional
        Idealized expected-loss table for implied ratings (built-in approximate by default).
    factor : callable, optional
        Factor sampler (e.g. importance sampling); default independent normals.
    prepared : (CollateralInputs, FactorSpec), optional
        Prepared and calibrated collateral inputs, to skip preparation (common random numbers
        across scenarios reuse them).
    on_chunk : callable, optional
        Called with ``(first_path, pool_flows, tranche_flows)`` after each chunk.
    importance : bool, default True
        Draw the systematic factor from a defensive Gaussian mixture: the unshifted density
        (probability ``defensive``) plus one mean shift per class that can lose, each at the
        cross-entropy optimum of the class's expected-path loss curve
        (:func:`simulation.importance.deal_sampling`); every metric is likelihood-ratio
        weighted. For stochastic scenarios the design draws the credit factor's independent
        residual (:func:`simulation.run.sampler.residual_sampling`). Ignored when ``factor``
        is given and without a systematic factor.
    antithetic, stratified : bool, default False, True
        Antithetic pairs and stratified factor uniforms (blocks of 64 paths), see
        :class:`simulation.importance.FactorSampling`.
    defensive : float, default 0.25
        Probability of the unshifted component; bounds every weight by ``1 / defensive``.
    target_rse : float, optional
        Stopping rule: after ``n_paths`` paths, add ``n_paths // 2`` paths at a time (at
        least one chunk) until every class's EL has ``el_se / el <= target_rse`` (classes
        found loss-free count as met), or ``max_paths`` is reached.
    max_paths : int, optional
        Path budget of the stopping rule (default ``10 * n_paths``).

    Notes
    -----
    All draws are keyed by the global path index, so a run is reproducible for any chunk
    size and thread count, the stopping rule included (it is checked at fixed path counts).
    Details and measured variance reductions: ``docs/variance_reduction.md``.
    """
    if target_rse is not None and not 0.0 < target_rse < 1.0:
        raise InputError("--target-rse", f"must be between 0 and 1, got {target_rse}")
    if max_paths is not None and max_paths < n_paths:
        raise InputError("--max-paths", f"must be at least --paths ({n_paths}), got {max_paths}")
    t0 = time.perf_counter()
    plan = plan_run(tape, model, deal, macro=macro, stochastic=stochastic, n_paths=n_paths,
                    seed=seed, chunk_size=chunk_size, factor=factor, prepared=prepared,
                    importance=importance, antithetic=antithetic, stratified=stratified,
                    defensive=defensive)
    timings = {"prepare_s": time.perf_counter() - t0}
    t0 = time.perf_counter()
    store = MemoryChunkStore()
    budget = int(max_paths or 10 * n_paths)
    driven = drive(plan, store, local_executor(threads, on_chunk), target_rse=target_rse,
                   max_paths=budget)
    result = assemble(driven.plan, (store.load(first) for first, _ in driven.plan.chunks),
                      deal=deal, threads=threads, el_table=el_table)
    if not isinstance(result, DealSimulationResult):
        raise TypeError("a deal run assembled into a pool result")
    timings["simulate_s"] = time.perf_counter() - t0
    result.provenance["stopping_rule"] = None if target_rse is None else {
        "target_rse": target_rse, "max_paths": budget, "paths_run": driven.plan.n_paths,
        "met": driven.checks[-1]["met"], "checks": driven.checks}
    result.provenance["timings"] = timings
    return result


def simulate_pool(
    tape: LoanTape | CollateralInputs,
    model: CollateralModel | None = None,
    *,
    n_paths: int = 1000,
    seed: int = 0,
    macro: MacroScenario | MacroPaths | None = None,
    stochastic: bool = False,
    chunk_size: int = 256,
    threads: int | None = None,
    on_chunk: ChunkCallback | None = None,
    factor: FactorSampler | None = None,
    factor_spec: FactorSpec | None = None,
) -> PoolSimulationResult:
    """Simulate a loan pool on ``n_paths`` paths: a deal-less run through the same spine.

    Parameters
    ----------
    tape : LoanTape or CollateralInputs
        The pool (prepared inputs may be passed to skip preparation, and calibration too
        when ``factor_spec`` is given).
    model : CollateralModel
        Collateral assumptions (required with a tape).
    n_paths, seed, chunk_size, threads
        As in :func:`simulate`.
    macro : MacroScenario or MacroPaths, optional
        A scenario, or macro paths ``(n_paths or 1, n_periods)``; flat at the cut-off levels
        by default.
    stochastic : bool
        Stochastic paths around the scenario.
    on_chunk : callable, optional
        ``on_chunk(first_path, flows, None)`` after each chunk (flows ``(n, T, 11)``).
    factor : callable, optional
        Draws the systematic factor of a chunk and each path's likelihood-ratio weight; by
        default independent standard normals with weight 1.
    factor_spec : FactorSpec, optional
        With prepared ``CollateralInputs``, the factor already resolved by
        :func:`~simulation.factor.calibrate`.
    """
    t0 = time.perf_counter()
    if isinstance(tape, CollateralInputs):
        prepared = (tape, factor_spec) if factor_spec is not None else calibrate(tape)
    elif model is None:
        raise TypeError("simulate_pool needs a model with a LoanTape")
    else:
        prepared = None
    plan = plan_run(None if isinstance(tape, CollateralInputs) else tape, model, None,
                    macro=macro, stochastic=stochastic, n_paths=n_paths, seed=seed,
                    chunk_size=chunk_size, factor=factor, prepared=prepared)
    timings = {"prepare_s": time.perf_counter() - t0}
    t0 = time.perf_counter()
    store = MemoryChunkStore()
    drive(plan, store, local_executor(threads, on_chunk))
    result = assemble(plan, (store.load(first) for first, _ in plan.chunks), threads=threads)
    timings["simulate_s"] = time.perf_counter() - t0
    result.provenance["timings"] = timings
    if not isinstance(result, PoolSimulationResult):
        raise TypeError("a pool run assembled into a deal result")
    return result
