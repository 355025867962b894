"""From one scenario to per-path arrays for the collateral and waterfall kernels.

Deterministic mode (:func:`deterministic_paths`) gives one row shared by every simulated path.
The stochastic layer (:func:`simulate_scenario`) draws, per path, around the scenario's paths:

- short rate ``r = phi + x``: Hull-White (or Vasicek) with exact monthly discretisation
  (:mod:`scenarios.short_rate`); ``phi`` is the scenario's policy-rate path;
- index rate = ``r`` + the scenario's basis ``index_rate - policy_rate`` (so its mean is the
  scenario's index path and a parallel shock moves it one for one on every path);
- market auto-loan rate = scenario path + ``pass_through x x B(tau) / tau``, the move of the
  model's ``tau``-year zero rate (``tau = market_rate_tenor_years``);
- unemployment = scenario path + ``y``, ``y`` an Ornstein-Uhlenbeck deviation (exact
  discretisation), floored at ``unemployment_floor``;
- used-car index = scenario path ``x exp(v - Var v / 2)``, ``v`` an OU log-deviation (lognormal,
  mean = scenario path);
- credit factor ``z`` per path, standard normal, correlated with the rate and unemployment
  deviations at ``credit_horizon_months`` (see :func:`credit_factor_loadings`).

The monthly innovations of (rate, unemployment, used cars) are correlated through the Cholesky
factor of ``Correlations.innovation_matrix``; the rate innovation is the raw draw, so the short
rate equals :func:`scenarios.short_rate.simulate_short_rate` for the same seed and path. All
draws come from ``STREAM_MACRO`` keyed by the global path index and all arithmetic is
element-wise per path, so any chunking gives bit-identical rows.

Period convention (``n_periods`` columns, column ``j`` = period ``j + 1``): macro variables at
the end of the period (month ``j + 1``), index and short rate at its start (the fixing date,
month ``j``), discount factors to its end (month ``j + 1``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portfolio.errors import InputError, Problem
from scenarios.model import MonthlyPaths, Scenario, scenario_paths
from scenarios.short_rate import (
    MONTH,
    HullWhite,
    ShortRatePaths,
    hull_white_paths,
    linear_mean_integral,
    macro_normals,
    vasicek_mean,
    vasicek_mean_integral,
)
from simulation.collateral import MacroPaths
from simulation.model import MacroLevels


@dataclass(frozen=True, eq=False)
class ScenarioPaths:
    """Per-path scenario arrays; ``rows`` is ``n_paths`` (stochastic) or 1 (shared).

    Attributes
    ----------
    name : str
        Scenario name.
    macro : MacroPaths
        Unemployment, market auto-loan rate, used-car index ``(rows, n_periods)`` and the
        scenario's stresses, for the collateral engine (``simulate_pool(..., macro=...)``).
    index_rate : numpy.ndarray
        Note index fixing for each period ``(rows, n_periods)``, annual decimal, for floating
        coupons and the swap.
    short_rate : numpy.ndarray
        Short rate at the start of each period ``(rows, n_periods)``, annual decimal.
    discount_factors : numpy.ndarray
        Pathwise ``exp(-int_0^{t} r)`` to the end of each period ``(rows, n_periods)``.
    curve : numpy.ndarray
        Discount factors of the scenario's deterministic zero curve to the end of each period,
        shape ``(n_periods,)``.
    factor_z : numpy.ndarray or None
        Correlated standard-normal credit factor per path ``(n_paths,)``; ``None`` when
        deterministic. To be used instead of the engine's independent ``STREAM_FACTOR`` draw.
    credit_residual : numpy.ndarray or None
        The independent standard normal ``e`` of ``factor_z`` (see
        :func:`credit_factor_loadings`); ``None`` when deterministic.
    residual_loading : float
        Its loading ``residual_sd`` in ``factor_z`` (0 when deterministic): importance
        sampling replaces ``e`` and leaves the macro part of the factor alone.
    paths : numpy.ndarray or None
        Global path index of each row, or ``None`` for one shared row.
    seed : int or None
        Seed of the draws (``None`` when deterministic).
    """

    name: str
    macro: MacroPaths
    index_rate: np.ndarray
    short_rate: np.ndarray
    discount_factors: np.ndarray
    curve: np.ndarray
    factor_z: np.ndarray | None
    paths: np.ndarray | None
    seed: int | None
    credit_residual: np.ndarray | None = None
    residual_loading: float = 0.0

    @property
    def n_periods(self) -> int:
        """Number of monthly periods."""
        return int(self.index_rate.shape[1])

    @property
    def n_rows(self) -> int:
        """Number of rows (1 when shared by every path)."""
        return int(self.index_rate.shape[0])


def _period_macro(scenario: Scenario, unemployment: np.ndarray, market: np.ndarray,
                  used_car: np.ndarray) -> MacroPaths:
    s = scenario.stresses
    return MacroPaths(
        unemployment=np.ascontiguousarray(unemployment),
        market_rate=np.ascontiguousarray(market),
        used_car_index=np.ascontiguousarray(used_car),
        cnl_multiple=s.cnl_multiple,
        prepay_multiple=s.prepay_multiple,
        recovery_haircut=s.recovery_haircut,
    )


def deterministic_paths(
    scenario: Scenario, n_periods: int, levels: MacroLevels | None = None
) -> ScenarioPaths:
    """The scenario's own paths as one row shared by every simulated path.

    Parameters
    ----------
    scenario : Scenario
        Resolved scenario.
    n_periods : int
        Horizon in months.
    levels : MacroLevels, optional
        Cut-off levels of the assumptions file to align to (see
        :func:`scenarios.model.scenario_paths`).
    """
    m = scenario_paths(scenario, n_periods, levels)
    integral = linear_mean_integral(m.policy_rate)
    return ScenarioPaths(
        name=scenario.name,
        macro=_period_macro(scenario, m.unemployment[None, 1:], m.market_auto_rate[None, 1:],
                            m.used_car_index[None, 1:]),
        index_rate=m.index_rate[None, :-1].copy(),
        short_rate=m.policy_rate[None, :-1].copy(),
        discount_factors=np.exp(-integral[None, 1:]),
        curve=m.discount_factors[1:].copy(),
        factor_z=None,
        paths=None,
        seed=None,
    )


def _ou_step(volatility: float, mean_reversion: float) -> tuple[float, float]:
    """Exact monthly OU step: decay and innovation sd."""
    decay = float(np.exp(-mean_reversion * MONTH))
    b2 = -np.expm1(-2.0 * mean_reversion * MONTH) / (2.0 * mean_reversion)
    sd = float(volatility * np.sqrt(b2))
    return decay, sd


def credit_factor_loadings(scenario: Scenario, n_periods: int) -> tuple[float, float, float]:
    """Loadings ``(beta_rate, beta_unemployment, residual_sd)`` of the credit factor.

    ``z = beta_r S_r + beta_u S_u + residual_sd e`` with ``S_r = x_K / sd(x_K)`` and
    ``S_u = y_K / sd(y_K)`` the standardised short-rate and unemployment deviations at month
    ``K = min(credit_horizon_months, n_periods)`` and ``e`` an independent normal; the betas solve
    ``[[1, q], [q, 1]] beta = (credit_rate, credit_unemployment)`` with ``q = corr(S_r, S_u)``
    (exact for the discretised processes), so that ``z`` is standard normal with exactly the
    requested correlations. A component with zero volatility gets loading 0.

    Raises
    ------
    InputError
        When the requested correlations are inconsistent with ``q`` (residual variance < 0).
    """
    st = scenario.stochastic
    c = st.correlations
    k = min(c.credit_horizon_months, n_periods)
    hw = HullWhite(st.short_rate.mean_reversion, st.short_rate.volatility)
    tr = hw.transition(MONTH)
    du, su = _ou_step(st.unemployment.volatility, st.unemployment.mean_reversion)
    var_r = float(hw.rate_variance(k * MONTH))
    var_u = su**2 * (1.0 - du ** (2 * k)) / (1.0 - du**2)
    target = np.array([c.credit_rate if var_r > 0 else 0.0,
                       c.credit_unemployment if var_u > 0 else 0.0])
    if var_r > 0 and var_u > 0:
        d = tr.decay * du
        cov = c.rate_unemployment * tr.sd_rate * su * (1.0 - d**k) / (1.0 - d)
        q = float(cov / np.sqrt(var_r * var_u))
    else:
        q = 0.0
    beta = np.linalg.solve(np.array([[1.0, q], [q, 1.0]]), target)
    residual = 1.0 - float(target @ beta)
    if residual < -1e-12:
        raise InputError(scenario.name, Problem(
            None, "stochastic.correlations",
            f"credit_rate {c.credit_rate} and credit_unemployment {c.credit_unemployment} are "
            f"impossible when the rate and unemployment deviations have correlation {q:.3f}"))
    return float(beta[0]), float(beta[1]), float(np.sqrt(max(residual, 0.0)))


def simulate_scenario(
    scenario: Scenario,
    n_periods: int,
    n_paths: int,
    seed: int,
    *,
    levels: MacroLevels | None = None,
    paths: np.ndarray | None = None,
) -> ScenarioPaths:
    """Stochastic paths around a scenario (see the module notes).

    Parameters
    ----------
    scenario : Scenario
        Resolved scenario; its ``stochastic`` block gives the parameters.
    n_periods : int
        Horizon in months.
    n_paths : int
        Number of paths; rows are paths ``0..n_paths-1`` (what ``simulate_pool`` indexes).
    seed : int
        Run seed (draws on ``STREAM_MACRO`` keyed by the global path index).
    levels : MacroLevels, optional
        Cut-off levels of the assumptions file to align to.
    paths : numpy.ndarray, optional
        Global path indices to draw instead of ``0..n_paths-1`` (a chunk); rows follow them.
    """
    if n_paths < 1:
        raise InputError("--paths", f"must be at least 1, got {n_paths}")
    idx = np.arange(n_paths) if paths is None else np.asarray(paths, dtype=np.int64)
    m = scenario_paths(scenario, n_periods, levels)
    st = scenario.stochastic
    credit_e, e = macro_normals(seed, idx, n_periods)

    # Correlated innovations: rate first, so its innovation is the raw draw.
    chol = np.linalg.cholesky(st.correlations.innovation_matrix())
    e_rate = e[:, :, 0]
    e_unemp = chol[1, 0] * e_rate + chol[1, 1] * e[:, :, 2]
    e_car = chol[2, 0] * e_rate + chol[2, 1] * e[:, :, 2] + chol[2, 2] * e[:, :, 3]

    rate = _short_rate(scenario, m, e_rate, e[:, :, 1])
    hw = HullWhite(st.short_rate.mean_reversion, st.short_rate.volatility)
    basis = m.index_rate - m.policy_rate
    index = rate.rate[:, :-1] + basis[None, :-1]

    tr = scenario.transmission
    tau = tr.market_rate_tenor_years
    yield_loading = float(hw.b(tau)) / tau
    market = m.market_auto_rate[None, 1:] + (
        tr.market_rate_pass_through * yield_loading * rate.deviation[:, 1:])

    y = _ou_paths(e_unemp, *_ou_step(st.unemployment.volatility, st.unemployment.mean_reversion))
    floor = np.minimum(st.unemployment_floor, m.unemployment[1:])
    unemployment = np.maximum(m.unemployment[None, 1:] + y[:, 1:], floor[None, :])

    dc, sc = _ou_step(st.used_car.volatility, st.used_car.mean_reversion)
    v = _ou_paths(e_car, dc, sc)
    var_v = sc**2 * (1.0 - dc ** (2 * np.arange(1, n_periods + 1))) / (1.0 - dc**2)
    used_car = m.used_car_index[None, 1:] * np.exp(v[:, 1:] - 0.5 * var_v[None, :])

    b_r, b_u, b_e = credit_factor_loadings(scenario, n_periods)
    k = min(st.correlations.credit_horizon_months, n_periods)
    sd_r = float(np.sqrt(hw.rate_variance(k * MONTH)))
    du, su = _ou_step(st.unemployment.volatility, st.unemployment.mean_reversion)
    sd_u = float(np.sqrt(su**2 * (1.0 - du ** (2 * k)) / (1.0 - du**2)))
    z = b_e * credit_e
    if sd_r > 0:
        z = z + b_r * (rate.deviation[:, k] / sd_r)
    if sd_u > 0:
        z = z + b_u * (y[:, k] / sd_u)

    return ScenarioPaths(
        name=scenario.name,
        macro=_period_macro(scenario, unemployment, market, used_car),
        index_rate=np.ascontiguousarray(index),
        short_rate=np.ascontiguousarray(rate.rate[:, :-1]),
        discount_factors=np.exp(-rate.integral[:, 1:]),
        curve=m.discount_factors[1:].copy(),
        factor_z=np.asarray(z),
        paths=idx,
        seed=int(seed),
        credit_residual=np.asarray(credit_e),
        residual_loading=float(b_e),
    )


def _short_rate(
    scenario: Scenario, m: MonthlyPaths, e_rate: np.ndarray, e_int: np.ndarray
) -> ShortRatePaths:
    """Hull-White around the (shocked) policy path, or Vasicek from its month-0 value."""
    sr = scenario.stochastic.short_rate
    hw = HullWhite(sr.mean_reversion, sr.volatility)
    if sr.model == "vasicek":
        assert sr.long_run_rate is not None
        t = m.months * MONTH
        b = sr.long_run_rate + float(scenario.rate_shock.at(0.0))
        r0 = float(m.policy_rate[0])
        mean = vasicek_mean(r0, b, sr.mean_reversion, t)
        integral = vasicek_mean_integral(r0, b, sr.mean_reversion, t)
    else:
        mean = m.policy_rate
        integral = linear_mean_integral(mean)
    return hull_white_paths(hw, mean, integral, e_rate, e_int)


def _ou_paths(shocks: np.ndarray, decay: float, sd: float) -> np.ndarray:
    """OU deviations at months ``0..n`` from innovations ``(n_paths, n)``; 0 at month 0."""
    n_paths, n = shocks.shape
    out = np.zeros((n_paths, n + 1))
    for k in range(n):
        out[:, k + 1] = decay * out[:, k] + sd * shocks[:, k]
    return out
