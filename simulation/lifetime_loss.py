"""Lifetime (or to-horizon) CNL of a pool from its performance to date: two agency methods.

- :func:`timing_extrapolation`: CNL to date divided by the share of the pool's losses that a
  loss-timing curve expects by this month (the static-pool extrapolation of rating-agency
  surveillance), with a range from front- and back-loaded versions of the curve.
- :func:`monte_carlo_projection`: the roll-rate collateral engine run from the reporting month
  on the surviving loans in their delinquency states (as :func:`~simulation.backtest.backtest`
  builds them), calibrated on the months to date only, severity at the realised severity to
  date, and a systematic factor for the range (percentiles of the pool's net loss).

Both return a :class:`LifetimeLossEstimate`; ``docs/surveillance.md`` documents the methods,
their sources and the AART 2017-3 backtest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from portfolio.errors import InputError, Problem
from portfolio.panel import EventRules, LoanPanel
from simulation.backtest import panel_tape
from simulation.calibration import SegmentScheme, estimate_hazards, estimate_roll_rates
from simulation.collateral import prepare_collateral
from simulation.model import LossTiming, model_from_dict
from simulation.performance import panel_activity, performance_indicators
from simulation.run import simulate_pool

__all__ = ["LifetimeLossEstimate", "RealisedLoss", "monte_carlo_projection", "pool_timing_share",
           "realised_loss", "timing_extrapolation"]

DEFAULT_CURVE_STRETCH = 0.25
"""Front/back-loaded range of the timing method: the loan-age axis of the curve compressed or
stretched by this share (losses 25% earlier or later in the loan's life)."""

DEFAULT_FACTOR_CV = 0.30
"""Coefficient of variation of the lognormal systematic default multiplier of the Monte Carlo
method (judgemental; the range it gives is the systematic uncertainty of the remaining losses)."""

DEFAULT_SEVERITY = 0.5
"""Severity of the Monte Carlo method before any loss has been realised."""

PERCENTILES: tuple[float, ...] = (5.0, 25.0, 50.0, 75.0, 95.0)


@dataclass(frozen=True)
class RealisedLoss:
    """Loss performance of a panel through a month (decimals of the cut-off pool)."""

    month: int
    cnl: float
    cumulative_gross_loss: float
    severity: float


@dataclass(frozen=True)
class LifetimeLossEstimate:
    """A projected CNL (decimal of the cut-off pool) with its range.

    Attributes
    ----------
    method : str
        ``"timing"`` or ``"monte_carlo"``.
    as_of_month : int
        Reporting month K the projection starts from.
    horizon_month : int or None
        Month the CNL is projected to (``None``: the pool's whole remaining life).
    cnl_to_date : float
        Realised CNL through K.
    cnl : float
        Central projection.
    low, high : float
        Range: the front- and back-loaded curves (timing) or the 5th and 95th percentiles
        (Monte Carlo).
    details : dict
        Method-specific numbers (shares of the curve, percentiles, severity used, ...).
    """

    method: str
    as_of_month: int
    horizon_month: int | None
    cnl_to_date: float
    cnl: float
    low: float
    high: float
    details: dict[str, float] = field(default_factory=dict)


def realised_loss(panel: LoanPanel, month: int, rules: EventRules | None = None) -> RealisedLoss:
    """CNL, cumulative gross loss and severity through ``month`` (the panel cut there)."""
    table = performance_indicators(panel_activity(panel.through(month), rules))
    last = table.iloc[-1]
    severity = float(last["severity"])
    return RealisedLoss(month=month, cnl=float(last["cnl"]),
                        cumulative_gross_loss=float(last["cumulative_gross_loss"]),
                        severity=severity if np.isfinite(severity) else float("nan"))


def pool_timing_share(curve: LossTiming, age0: np.ndarray, weights: np.ndarray,
                      months: np.ndarray, stretch: float = 1.0) -> np.ndarray:
    """Share of the pool's remaining lifetime loss expected by each pool month.

    A static-pool curve ``F(a)`` (cumulative share of lifetime loss by loan age, linear between
    its points, 0 at age 0, 1 after its last age) applied to loans aged ``age0`` at the cut-off:
    ``G(m) = sum w (F(a0 + m) - F(a0)) / sum w (1 - F(a0))``. ``stretch`` scales the age axis
    (``F(a / stretch)``: above 1 back-loaded, below 1 front-loaded).

    Parameters
    ----------
    curve : LossTiming
        The loan-age curve.
    age0, weights : numpy.ndarray
        Loan age at the cut-off (months) and weight (cut-off balance), shape ``(n_loans,)``.
    months : numpy.ndarray
        Pool months since the cut-off.
    """
    ages = np.asarray(curve.ages, dtype=float) * stretch
    cum = np.asarray(curve.cumulative, dtype=float)

    def f(a: np.ndarray) -> np.ndarray:
        return np.interp(a, np.concatenate([[0.0], ages]), np.concatenate([[0.0], cum]))

    start = f(age0.astype(float))
    remaining = float(np.sum(weights * (1.0 - start)))
    if remaining <= 0.0:
        raise InputError("loss_timing", "the curve expects no loss after the pool's ages")
    later = f(age0[:, None].astype(float) + np.asarray(months, dtype=float)[None, :])
    return np.asarray(np.sum(weights[:, None] * (later - start[:, None]), axis=0) / remaining)


def timing_extrapolation(panel: LoanPanel, as_of_month: int, curve: LossTiming, *,
                         horizon_month: int | None = None,
                         stretch: float = DEFAULT_CURVE_STRETCH,
                         rules: EventRules | None = None) -> LifetimeLossEstimate:
    """CNL to date / share of losses expected by month K (x share by the horizon).

    ``CNL_H = CNL_K * G(H) / G(K)`` with ``G`` from :func:`pool_timing_share` (``G(H) = 1`` for
    the lifetime). The range uses the curve front-loaded (``stretch`` earlier: more of the loss
    already behind, a lower projection) and back-loaded (later: a higher projection).
    """
    _check_months(panel, as_of_month, horizon_month)
    done = realised_loss(panel, as_of_month, rules)
    weights = panel.cutoff_balance
    projections = {}
    shares = {}
    for name, s in (("central", 1.0), ("front", 1.0 - stretch), ("back", 1.0 + stretch)):
        months = np.array([as_of_month] + ([horizon_month] if horizon_month else []))
        g = pool_timing_share(curve, panel.age0, weights, months, s)
        g_h = g[1] if horizon_month else 1.0
        if g[0] <= 0.0:
            raise InputError("loss_timing", Problem(None, "--as-of-month", (
                f"the {name} curve expects no loss by month {as_of_month}; cannot extrapolate")))
        projections[name] = done.cnl * g_h / g[0]
        shares[name] = g[0] / g_h
    return LifetimeLossEstimate(
        method="timing", as_of_month=as_of_month, horizon_month=horizon_month,
        cnl_to_date=done.cnl, cnl=projections["central"],
        low=min(projections.values()), high=max(projections.values()),
        details={"share_by_as_of": shares["central"], "share_front": shares["front"],
                 "share_back": shares["back"]})


def monte_carlo_projection(panel: LoanPanel, as_of_month: int, *,
                           horizon_month: int | None = None, n_paths: int = 1000, seed: int = 1,
                           factor_cv: float = DEFAULT_FACTOR_CV,
                           rules: EventRules | None = None) -> LifetimeLossEstimate:
    """Realised CNL to K plus the roll-rate engine's projection of the loans left at K.

    The model is the one ``autoabs calibrate`` estimates, from months ``1..K`` only (no
    look-ahead, no segments): hazards by age (:func:`~simulation.calibration.estimate_hazards`)
    and the monthly roll rates between current, 30, 60, 90 and 120+ with cures and re-default
    (:func:`~simulation.calibration.estimate_roll_rates`), so the delinquent loans at K start in
    their state (:func:`~simulation.backtest.panel_tape`, as the backtest projects them); a
    lognormal systematic multiplier with coefficient of variation ``factor_cv`` moves the
    roll-forward probabilities for the range; severity: the realised severity to K
    (:data:`DEFAULT_SEVERITY` before any loss).

    The mean projection to the horizon sums the engine's mean flows to it; its percentiles scale
    the per-path lifetime net loss by the mean share falling before the horizon (exact when the
    factor scales every month alike).
    """
    _check_months(panel, as_of_month, horizon_month)
    if not 0.0 < factor_cv <= 10.0:
        raise InputError("--factor-cv", f"must lie in (0, 10], got {factor_cv}")
    rules = rules or EventRules()
    done = realised_loss(panel, as_of_month, rules)
    severity = done.severity if np.isfinite(done.severity) else DEFAULT_SEVERITY
    cutoff = float(panel.cutoff_balance.sum())
    scheme = SegmentScheme(None, False, None)
    calibration = estimate_hazards(panel, through=as_of_month, scheme=scheme, rules=rules)
    spec = calibration.model_dict(
        f"lifetime-loss: {panel.source} months 1-{as_of_month}",
        roll_rates=estimate_roll_rates(panel, through=as_of_month, scheme=scheme, rules=rules))
    spec["recovery"] = {"method": "severity", "severity": float(np.clip(severity, 0.0, 1.0))}
    spec["factor"] = {"type": "lognormal", "multiplier_cv": factor_cv}
    model = model_from_dict(spec, source="lifetime-loss")
    tape, _ = panel_tape(panel, as_of_month, scheme, rules, delinquency=True)
    inputs = prepare_collateral(tape, model, source=panel.source)
    result = simulate_pool(inputs, n_paths=n_paths, seed=seed)
    flows = result.mean_flows
    net = (flows["defaulted_principal"] - flows["recoveries"]).to_numpy()
    lifetime_mean = float(net.sum())
    to_horizon = (float(net[:horizon_month - as_of_month].sum()) if horizon_month
                  else lifetime_mean)
    scale = to_horizon / lifetime_mean if lifetime_mean > 0 else 0.0
    per_path = result.cnl * inputs.initial_balance * scale / cutoff
    q = np.percentile(per_path, PERCENTILES)
    details = {f"p{p:g}": done.cnl + float(v) for p, v in zip(PERCENTILES, q, strict=True)}
    details |= {"projected_cnl": to_horizon / cutoff, "severity": severity,
                "n_loans": float(len(tape)),
                "delinquent_loans": float(np.sum(tape.days_past_due > 0)),
                "n_paths": float(n_paths), "factor_cv": factor_cv}
    return LifetimeLossEstimate(
        method="monte_carlo", as_of_month=as_of_month, horizon_month=horizon_month,
        cnl_to_date=done.cnl, cnl=done.cnl + to_horizon / cutoff,
        low=details["p5"], high=details["p95"], details=details)


def _check_months(panel: LoanPanel, as_of_month: int, horizon_month: int | None) -> None:
    if not 1 <= as_of_month <= panel.n_months:
        raise InputError(panel.source, Problem(None, "--as-of-month",
                                               f"must lie in 1..{panel.n_months}, got "
                                               f"{as_of_month}"))
    if horizon_month is not None and horizon_month <= as_of_month:
        raise InputError(panel.source, Problem(None, "--to-month", (
            f"must come after --as-of-month {as_of_month}, got {horizon_month}")))
