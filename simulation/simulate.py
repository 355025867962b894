"""Deal simulation: collateral paths through the waterfall into tranche metrics.

:func:`simulate` plans the run once and simulates it chunk by chunk with the functions of
:mod:`simulation.chunks` (the same pieces the run store and Dask run): per chunk the collateral
kernel, the compiled waterfall, the per-path tranche metrics and the chunk's share of every
streamed reduction (class-balance histograms, trigger counts), merged in chunk order. This module
holds the result type, the reducers, the scenario source and the sampler choice.
The result is an immutable :class:`DealSimulationResult` with pandas views and a JSON summary.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from portfolio.errors import InputError
from portfolio.tape import LoanTape
from simulation import metrics
from simulation.collateral import CollateralInputs, MacroPaths, expected_flows
from simulation.deal import Deal
from simulation.engine import (
    FACTOR_BINS,
    FactorSampler,
    PoolSimulationResult,
    histograms,
    independent_factor,
)
from simulation.factor import FactorSpec
from simulation.model import CollateralModel
from simulation.ratings import ELTable, implied_rating
from simulation.waterfall import TrancheFlows, WaterfallProgram, run_waterfall

if TYPE_CHECKING:
    from simulation.importance import FactorSampling

CLASS_PATH_FIELDS = (
    "loss",
    "interest_shortfall",
    "wal_years",
    "yield",
    "dirr_bp",
    "pv",
    "first_shortfall_period",
)
"""Per path and class: principal loss / original balance; unpaid interest / original balance;
WAL (years); annual yield at par (monthly compounding); reduction of yield (bp); PV on the
scenario curve / original balance; first period with an interest shortfall (0 if none)."""

BALANCE_QUANTILES = (0.05, 0.5, 0.95)

DealChunkCallback = Callable[[int, np.ndarray, TrancheFlows], None]
"""``on_chunk(first_path, pool_flows, tranche_flows)`` after each chunk of a deal run."""

DEFAULT_THRESHOLD = 1e-10
"""Loss ratio above which a path counts as a class default (as in
:func:`simulation.metrics.default_probability`)."""


class ScenarioSource:
    """Macro and index rows of a scenario for chunks of paths.

    Deterministic scenarios give one shared row; stochastic ones draw rows for exactly the
    global path indices of each chunk. ``macro(paths)`` is what the collateral engine asks
    for; :attr:`last` keeps the rows of the latest chunk for the waterfall and discounting.
    """

    def __init__(self, scenario: Any, model: CollateralModel, n_periods: int, n_paths: int,
                 seed: int, stochastic: bool) -> None:
        from scenarios.stochastic import deterministic_paths

        self.scenario = scenario
        self.model = model
        self.n_periods = n_periods
        self.n_paths = n_paths
        self.seed = seed
        self.stochastic = stochastic
        self._shared = None if stochastic else deterministic_paths(scenario, n_periods, model.macro)
        self.last = self._shared

    def rows(self, paths: np.ndarray) -> Any:
        """Scenario rows of the given global paths (drawn once per chunk), or the shared row."""
        if self._shared is not None:
            return self._shared
        if self.last is None or self.last.paths is None or len(self.last.paths) != len(paths) \
                or self.last.paths[0] != paths[0]:
            from scenarios.stochastic import simulate_scenario

            self.last = simulate_scenario(self.scenario, self.n_periods, self.n_paths, self.seed,
                                          levels=self.model.macro, paths=paths)
        return self.last

    def macro(self, paths: np.ndarray) -> MacroPaths:
        """Macro rows of the given global paths (what the collateral engine asks for)."""
        rows = self.rows(paths)
        return rows.macro.rows(paths) if self._shared is not None else rows.macro

    def factor_sampler(self, residual: FactorSampler | None = None) -> FactorSampler | None:
        """Credit factor correlated with the macro shocks (stochastic scenarios), else None.

        ``residual`` (an importance or stratified design, already in units of the residual,
        see :func:`residual_sampling`) draws the factor's independent residual ``e`` instead
        of the scenario: ``z = factor_z + b (e' - e)``, weighted by its likelihood ratio. The
        macro shocks, and so the macro part of the factor, are those of the scenario.
        """
        if self._shared is not None:
            return None

        def sampler(seed: int, first: int, n: int, spec: FactorSpec) -> tuple[np.ndarray,
                                                                               np.ndarray]:
            rows = self.rows(np.arange(first, first + n))
            if residual is None:
                return np.asarray(rows.factor_z), np.ones(n)
            e, weight = residual(seed, first, n, spec)
            return rows.factor_z + rows.residual_loading * (e - rows.credit_residual), weight

        return sampler


@dataclass
class _DealReducer:
    """Streaming reductions of tranche flows (fixed order, weighted)."""

    n_classes: int
    n_periods: int
    n_triggers: int
    balance_hist: np.ndarray = field(init=False)
    breach_in_period: np.ndarray = field(init=False)
    breach_by_period: np.ndarray = field(init=False)
    reserve_draw_by_period: np.ndarray = field(init=False)
    weight_sum: float = 0.0
    any_reserve_draw: float = 0.0
    event_of_default: float = 0.0
    called: float = 0.0

    def __post_init__(self) -> None:
        self.balance_hist = np.zeros((self.n_classes, self.n_periods, FACTOR_BINS + 1))
        self.breach_in_period = np.zeros((self.n_triggers, self.n_periods))
        self.breach_by_period = np.zeros((self.n_triggers, self.n_periods))
        self.reserve_draw_by_period = np.zeros(self.n_periods)

    def add(self, tf: TrancheFlows, weight: np.ndarray) -> None:
        factor = tf.ending_balance / tf.original_balance[None, :, None]
        bins = np.clip((factor * FACTOR_BINS).round().astype(np.int64), 0, FACTOR_BINS)
        self.balance_hist += histograms(bins, weight, self.balance_hist.shape)
        breached = tf.trigger_breached.astype(float)
        self.breach_in_period += np.einsum("p,pkt->kt", weight, breached)
        ever = np.maximum.accumulate(breached, axis=2)
        self.breach_by_period += np.einsum("p,pkt->kt", weight, ever)
        draws = (tf.reserve_draw - tf.reserve_release) > 1e-9
        self.reserve_draw_by_period += weight @ draws.astype(float)
        self.any_reserve_draw += float(weight @ draws.any(axis=1))
        self.event_of_default += float(weight @ (tf.event_of_default_period >= 0))
        self.called += float(weight @ (tf.call_period >= 0))
        self.weight_sum += float(weight.sum())

    def views(self, classes: tuple[str, ...], trigger_names: tuple[str, ...]
              ) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, dict[str, float]]:
        """Class balance fans, trigger-breach probabilities by period, event probabilities."""
        periods = pd.RangeIndex(1, self.n_periods + 1, name="period")
        quantiles = self.balance_quantiles(BALANCE_QUANTILES)
        columns = [f"p{int(q * 100)}" for q in BALANCE_QUANTILES]
        balance_q = {name: pd.DataFrame(quantiles[c].T, index=periods, columns=columns)
                     for c, name in enumerate(classes)}
        w_sum = max(self.weight_sum, 1e-300)
        trig = {}
        for k, name in enumerate(trigger_names):
            trig[f"{name} in period"] = self.breach_in_period[k] / w_sum
            trig[f"{name} by period"] = self.breach_by_period[k] / w_sum
        trig["reserve draw in period"] = self.reserve_draw_by_period / w_sum
        events = {
            "reserve_draw_probability": self.any_reserve_draw / w_sum,
            "event_of_default_probability": self.event_of_default / w_sum,
            "clean_up_call_probability": self.called / w_sum,
        }
        return balance_q, pd.DataFrame(trig, index=periods), events

    def balance_quantiles(self, levels: tuple[float, ...]) -> np.ndarray:
        """Class-balance factor quantiles, shape ``(n_classes, len(levels), n_periods)``."""
        cum = np.cumsum(self.balance_hist, axis=2) / max(self.weight_sum, 1e-300)
        out = np.empty((self.n_classes, len(levels), self.n_periods))
        for c in range(self.n_classes):
            for j, q in enumerate(levels):
                for t in range(self.n_periods):
                    out[c, j, t] = np.searchsorted(cum[c, t], q - 1e-12) / FACTOR_BINS
        return out


@dataclass(frozen=True, eq=False)
class DealSimulationResult:
    """Result of :func:`simulate`: per-path class metrics, pool results and streamed views.

    Attributes
    ----------
    deal : Deal
        The deal run.
    classes : tuple of str
        Class names, most senior first.
    original_balance : numpy.ndarray
        ``(n_classes,)`` USD.
    class_paths : numpy.ndarray
        ``(n_paths, n_classes, len(CLASS_PATH_FIELDS))`` per-path class metrics.
    pool : PoolSimulationResult
        The collateral run (per-path pool summaries incl. ``weight``, mean flows, factors).
    hard_ce : numpy.ndarray
        ``(n_classes,)`` hard credit enhancement at closing (decimal of the pool).
    class_balance_quantiles : dict
        Class -> DataFrame of balance factor quantiles (P5/P50/P95) by period.
    triggers : pandas.DataFrame
        Probability that each trigger is breached in, and by, each period.
    events : dict
        Probabilities of a reserve draw, an event of default and the clean-up call.
    promised_yield : numpy.ndarray
        ``(n_classes,)`` yield of the no-loss cash flows (base prepayment), annual decimal.
    """

    deal: Deal
    classes: tuple[str, ...]
    original_balance: np.ndarray
    class_paths: np.ndarray
    pool: PoolSimulationResult
    hard_ce: np.ndarray
    class_balance_quantiles: dict[str, pd.DataFrame]
    triggers: pd.DataFrame
    events: dict[str, float]
    promised_yield: np.ndarray
    el_table: ELTable
    provenance: dict[str, Any]

    @property
    def weights(self) -> np.ndarray:
        """Likelihood-ratio weight of each path (1 without importance sampling)."""
        return np.asarray(self.pool.paths["weight"].to_numpy())

    def class_metric(self, name: str) -> np.ndarray:
        """One per-path class metric, ``(n_paths, n_classes)``."""
        return np.asarray(self.class_paths[:, :, CLASS_PATH_FIELDS.index(name)])

    def paths(self) -> pd.DataFrame:
        """Per-path, per-class metrics as a long DataFrame (path, class, metrics, weight)."""
        n_paths, n_classes, _ = self.class_paths.shape
        frame = pd.DataFrame(self.class_paths.reshape(n_paths * n_classes, -1),
                             columns=list(CLASS_PATH_FIELDS))
        frame.insert(0, "class", np.tile(np.array(self.classes, dtype=object), n_paths))
        frame.insert(0, "path", np.repeat(np.arange(n_paths), n_classes))
        frame["weight"] = np.repeat(self.weights, n_classes)
        return frame

    @property
    def se_block_size(self) -> int:
        """Paths per independent block of the factor sampler (standard errors use block sums)."""
        vr = self.provenance.get("variance_reduction") or {}
        return int(vr.get("se_block_size") or 1)

    @property
    def loss_free_classes(self) -> tuple[str, ...]:
        """Classes that lose nothing on the expected path even when every loan defaults at once.

        Found by the automatic importance-sampling design; empty without it.
        """
        vr = self.provenance.get("variance_reduction") or {}
        return tuple(vr.get("loss_free_classes") or ())

    def class_summary(self) -> pd.DataFrame:
        """Per class: balance, hard CE, EL (se, relative se), PD, LGD, WAL, yield, DIRR, rating.

        ``el_rse`` is ``el_se / el`` (NaN when EL is 0); ``loss_free`` marks classes that lose
        nothing on the expected path even when every loan defaults at once, whose EL of 0 is
        exact rather than a Monte Carlo zero.
        """
        from simulation.importance import batch_mean

        w = self.weights
        loss = self.class_metric("loss")
        loss_free = set(self.loss_free_classes)
        block = self.se_block_size
        rows = []
        for c, name in enumerate(self.classes):
            el = batch_mean(loss[:, c], w, block)
            pd_ = batch_mean((loss[:, c] > DEFAULT_THRESHOLD).astype(float), w, block)
            lgd = metrics.loss_given_default(loss[:, c], w)
            wal = metrics.mean_wal(self.class_metric("wal_years")[:, c], w)
            yld = batch_mean(self.class_metric("yield")[:, c], w, block)
            dirr = batch_mean(self.class_metric("dirr_bp")[:, c], w, block)
            rows.append({
                "name": name,
                "balance": float(self.original_balance[c]),
                "hard_ce": float(self.hard_ce[c]),
                "el": el.value,
                "el_se": el.se,
                "el_rse": el.se / el.value if el.value > 0.0 else float("nan"),
                "loss_free": name in loss_free,
                "pd": pd_.value,
                "pd_se": pd_.se,
                "lgd": lgd.value,
                "wal": wal.value,
                "wal_se": wal.se,
                "yield": yld.value,
                "yield_se": yld.se,
                "dirr": dirr.value,
                "dirr_se": dirr.se,
                "promised_yield": float(self.promised_yield[c]),
                "implied_rating": implied_rating(max(float(el.value), 0.0),
                                                 _rating_wal(float(wal.value), self.el_table),
                                                 self.el_table),
            })
        return pd.DataFrame(rows).set_index("name", drop=False)

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary: classes, pool statistics, events, provenance."""
        stats = self.pool.cnl_stats()
        classes = self.class_summary()
        return {
            "deal": self.deal.name,
            "classes": [
                {k: (v if isinstance(v, str | bool) else _finite(v)) for k, v in row.items()}
                for row in classes.to_dict(orient="records")
            ],
            "pool": {
                "initial_balance": self.pool.initial_balance,
                "cnl_mean": stats["cnl_mean"],
                "cnl_mean_se": stats["cnl_mean_se"],
                "cnl_sd": stats["cnl_sd"],
                "cnl_p99": stats["cnl_p99"],
                "cnl_p99_9": stats["cnl_p99_9"],
            },
            "events": self.events,
            "el_table": self.el_table.source,
            "provenance": self.provenance,
        }


def _rating_wal(wal: float, table: ELTable) -> float:
    """WAL for the rating look-up (the table's longest WAL when the WAL is undefined).

    A class that never receives principal (a total loss on every path) has no WAL; it is rated
    at the longest WAL of the table.
    """
    return wal if np.isfinite(wal) else float(np.max(table.wal_years))


def _finite(x: Any) -> float | None:
    v = float(x)
    return v if np.isfinite(v) else None


def hard_credit_enhancement(deal: Deal, program: WaterfallProgram) -> np.ndarray:
    """Hard CE at closing: junior classes + initial OC + initial reserve, over the pool."""
    pool = program.initial_pool_balance
    balances = program.original_balance
    oc = pool - balances.sum()
    reserve = deal.reserve.initial * pool if deal.reserve is not None else 0.0
    rank = np.arange(len(balances))
    for group in deal.pro_rata_groups:
        members = [program.classes.index(c) for c in group.classes]
        rank[members] = min(rank[members])
    return np.asarray(metrics.hard_credit_enhancement(balances, pool, oc, reserve, seniority=rank))


def _class_path_metrics(tf: TrancheFlows, promised_yield: np.ndarray,
                        discount: np.ndarray) -> np.ndarray:
    """Per-path class metrics of one chunk, ``(n, n_classes, len(CLASS_PATH_FIELDS))``."""
    ob = tf.original_balance
    cash = tf.interest_paid + tf.principal_paid
    price = np.broadcast_to(ob[None, :], cash.shape[:2])
    yld = metrics.cashflow_irr(cash, price)
    shortfall = np.maximum(tf.interest_due - tf.interest_paid, 0.0)
    first_short = metrics.first_loss_period(shortfall, tol=1e-6)
    pv = metrics.pv(cash, discount[: cash.shape[-1]]) / ob[None, :]
    return np.stack([
        tf.principal_loss / ob[None, :],
        tf.interest_shortfall / ob[None, :],
        metrics.wal_years(tf.principal_paid),
        yld,
        (promised_yield[None, :] - yld) * 1e4,
        pv,
        first_short.astype(float),
    ], axis=-1)


def promised_flows(inputs: CollateralInputs, program: WaterfallProgram,
                   index_rates: np.ndarray | float | None = None) -> TrancheFlows:
    """The waterfall on the no-loss expected pool flows (base prepayment, no defaults)."""
    flows = expected_flows(inputs, default_multiplier=0.0).flows
    return run_waterfall(program, flows[None], index_rates)


def simulate(
    tape: LoanTape,
    deal: Deal,
    model: CollateralModel,
    *,
    scenario: Any = None,
    stochastic: bool = False,
    n_paths: int = 1000,
    seed: int = 0,
    chunk_size: int = 256,
    threads: int | None = None,
    el_table: ELTable | None = None,
    factor: FactorSampler | None = None,
    prepared: tuple[CollateralInputs, FactorSpec] | None = None,
    on_chunk: DealChunkCallback | None = None,
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
        The pool, the validated deal and the collateral assumptions.
    scenario : scenarios.Scenario, optional
        Macro scenario (flat macro at the model's cut-off levels and the deal's flat index
        when omitted).
    stochastic : bool
        Draw stochastic paths around the scenario (Hull-White rates, macro shocks, correlated
        credit factor) instead of using its deterministic paths for every path.
    n_paths, seed, chunk_size, threads
        As in :func:`simulation.engine.simulate_pool`.
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
        residual (:func:`residual_sampling`). Ignored when ``factor`` is given and without a
        systematic factor.
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
    from simulation.chunks import assemble, plan_run, run_to_target, simulate_chunk_range

    if target_rse is not None and not 0.0 < target_rse < 1.0:
        raise InputError("--target-rse", f"must be between 0 and 1, got {target_rse}")
    if max_paths is not None and max_paths < n_paths:
        raise InputError("--max-paths", f"must be at least --paths ({n_paths}), got {max_paths}")
    t0 = time.perf_counter()
    plan = plan_run(tape, model, deal, scenario=scenario, stochastic=stochastic,
                    n_paths=n_paths, seed=seed, chunk_size=chunk_size, factor=factor,
                    prepared=prepared, importance=importance, antithetic=antithetic,
                    stratified=stratified, defensive=defensive)
    done: dict[int, Any] = {}

    def run_chunks(run_plan: Any) -> None:
        for first, n in run_plan.chunks:
            if first not in done:
                done[first] = simulate_chunk_range(run_plan, first, n, threads, on_chunk)

    timings = {"prepare_s": time.perf_counter() - t0}
    t0 = time.perf_counter()
    run_chunks(plan)
    stopping = None
    if target_rse is not None:
        budget = int(max_paths or 10 * n_paths)
        plan, checks = run_to_target(plan, done.__getitem__, run_chunks, target_rse, budget)
        stopping = {"target_rse": target_rse, "max_paths": budget, "paths_run": plan.n_paths,
                    "met": checks[-1]["met"], "checks": checks}
    result = assemble(plan, (done[first] for first, _ in plan.chunks), deal=deal,
                      threads=threads, el_table=el_table).result
    assert isinstance(result, DealSimulationResult)
    timings["simulate_s"] = time.perf_counter() - t0
    result.provenance["stopping_rule"] = stopping
    result.provenance["timings"] = timings
    return result


def choose_sampler(
    factor: FactorSampler | None,
    source: ScenarioSource | None,
    inputs: CollateralInputs,
    spec: FactorSpec,
    program: WaterfallProgram,
    index_rates: np.ndarray | None,
    *,
    importance: bool,
    antithetic: bool,
    stratified: bool,
    defensive: float,
) -> tuple[FactorSampler | None, dict[str, Any]]:
    """The factor sampler of a run and its description for the provenance.

    For a stochastic scenario the sampler draws the credit factor's residual (``None``: the
    scenario's own draws), see :func:`residual_sampling`.
    """
    from simulation.importance import (
        FactorSampling,
        class_loss_curves,
        deal_sampling,
    )

    if factor is not None:
        return factor, {"importance": "user sampler",
                        "sampler": getattr(factor, "__name__", type(factor).__name__)}
    if spec.kind == "none":
        stochastic = source is not None and source.stochastic
        return None if stochastic else independent_factor, {
            "importance": "none (no systematic factor)"}
    if not importance:
        sampling = FactorSampling(antithetic=antithetic, stratified=stratified)
        described = sampling.describe()
    else:
        # The design is drawn up on the base case (flat macro, the deal's own index), not on
        # the scenario: every scenario of a deal then samples the same factor draws with the
        # same weights, which is what makes scenario comparisons common-random-number ones.
        # A stochastic scenario's paths spread around its central path, and a design drawn on
        # the base case over-shifts a severe one (measured: per-path VR 0.3-0.5 for classes
        # B-D under severely adverse, against 0.7-2.2 with the central path), so its design
        # is drawn on the central path.
        del index_rates
        if source is not None and source.stochastic:
            from scenarios.stochastic import deterministic_paths

            central = deterministic_paths(source.scenario, source.n_periods, source.model.macro)
            curves = class_loss_curves(inputs, spec, program, macro=central.macro,
                                       index_rates=central.index_rate[0])
        else:
            curves = class_loss_curves(inputs, spec, program)
        design = deal_sampling(curves, importance=True, defensive=defensive,
                               antithetic=antithetic, stratified=stratified)
        sampling, described = design.sampling, design.describe()
    if source is not None and source.stochastic:
        return residual_sampling(sampling, described, source)
    return sampling, described


MIN_RESIDUAL_LOADING = 0.3
"""Below this loading of the credit residual, a stochastic run samples the scenario's own
residual: moving the factor by ``mu`` would need shifts ``mu / loading`` and weights too
extreme to be useful."""


def residual_sampling(sampling: FactorSampling, described: dict[str, Any],
                      source: ScenarioSource) -> tuple[FactorSampling | None, dict[str, Any]]:
    """A factor design carried over to the credit residual of a stochastic scenario.

    The factor is ``z = macro part + b e`` with ``e`` independent of the macro shocks
    (:func:`scenarios.stochastic.credit_factor_loadings`). Drawing ``e`` from the design with
    its shifts divided by ``b`` moves ``z`` by the design's shifts on every macro path; the
    likelihood ratio of ``e`` is the path's weight (the macro shocks keep their own density).
    Plain sampling gives ``None``: the scenario's own draws, as without a design.
    """
    from scenarios.stochastic import credit_factor_loadings
    from simulation.importance import GaussianMixture

    if sampling.mixture.is_plain and not (sampling.stratified or sampling.antithetic):
        return None, {**described, "applied_to": "the stochastic scenario's own credit factor"}
    loading = credit_factor_loadings(source.scenario, source.n_periods)[2]
    if loading < MIN_RESIDUAL_LOADING:
        return None, {"importance": f"none (stochastic scenario: the credit factor's "
                                    f"independent residual has loading {loading:.3f} < "
                                    f"{MIN_RESIDUAL_LOADING})"}
    mixture = GaussianMixture(tuple(m / loading for m in sampling.mixture.shifts),
                              sampling.mixture.probabilities)
    scaled = replace(sampling, mixture=mixture)
    return scaled, {**scaled.describe(), "applied_to": (
        f"the credit factor's independent residual (loading {loading:.4f}); shifts in units "
        "of the residual")}


def el_rse_check(class_loss: np.ndarray, weights: np.ndarray, design: dict[str, Any],
                 classes: tuple[str, ...], target_rse: float | None) -> dict[str, Any]:
    """The stopping rule's check after ``len(weights)`` paths: worst relative SE of class EL.

    ``class_loss`` ``(n_paths, n_classes)`` loss ratios, ``weights`` ``(n_paths,)``; standard
    errors from independent blocks of ``design['se_block_size']`` paths (what the stratified
    sampler needs); classes the design found loss-free with an EL of exactly 0 count as met.
    """
    from simulation.importance import batch_mean

    loss_free = set(design.get("loss_free_classes") or ())
    el = batch_mean(class_loss, weights, int(design.get("se_block_size") or 1))
    value, se = np.atleast_1d(el.value), np.atleast_1d(el.se)
    exact_zero = np.array([v == 0.0 and name in loss_free
                           for v, name in zip(value, classes, strict=True)])
    with np.errstate(divide="ignore", invalid="ignore"):
        rse = np.where(exact_zero, 0.0, np.where(value > 0.0, se / value, np.inf))
    worst = float(rse.max())
    return {"paths": int(len(weights)), "worst_el_rse": _finite(worst),
            "met": bool(target_rse is not None and worst <= target_rse)}


def _flat_curve(rate: float, n_periods: int) -> np.ndarray:
    """Discount factors of a flat annual rate (monthly compounding) to each period end."""
    return np.asarray((1.0 + rate / 12.0) ** -np.arange(1, n_periods + 1))
