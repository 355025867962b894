"""Diversification measures of a pool: concentration, Vasicek large-pool loss, Basel IRB capital.

Pure functions over arrays (and a :class:`~portfolio.tape.LoanTape` for the concentration by
dimension). The report reads the per-path pool results of a run and puts them side by side with
the closed forms:

- :func:`concentration_by_dimension`: HHI, effective number, top-k and Gini by tape dimension
  (via :func:`portfolio.strats.concentration`);
- :func:`vasicek_cdf`, :func:`vasicek_pdf`, :func:`vasicek_default_rate_variance`,
  :func:`fit_vasicek_rho`: the large-pool (asymptotic single risk factor) default-rate
  distribution and a correlation fitted to the simulated default rates;
- :func:`basel_retail_correlation`, :func:`basel_retail_capital`: Basel IRB "other retail";
- :func:`binomial_diversity_score`: Moody's binomial-expansion diversity score;
- :func:`value_at_risk`, :func:`expected_shortfall`: importance-weighted tail measures.

References
----------
Vasicek, O. (2002), "The distribution of loan portfolio value", *Risk* 15(12).
BCBS (2006), *International Convergence of Capital Measurement and Capital Standards*, §328-330
(Basel II); BCBS Basel Framework CRE31.14-31.15 (other retail exposures).
Cifuentes, A. and O'Connor, G. (1996), "The binomial expansion method applied to CBO/CLO
analysis", Moody's Investors Service.
Acerbi, C. and Tasche, D. (2002), "On the coherence of expected shortfall", *J. Banking &
Finance* 26(7).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize
from scipy.special import ndtr, ndtri

import simulation.estimators as estimators
from portfolio.strats import Concentration, concentration
from portfolio.tape import LoanTape
from simulation.factor import vasicek_quantile

__all__ = [
    "BASEL_CONFIDENCE",
    "DiversificationSummary",
    "basel_retail_capital",
    "basel_retail_correlation",
    "binomial_diversity_score",
    "concentration_by_dimension",
    "expected_shortfall",
    "fit_vasicek_rho",
    "summarize_pool_paths",
    "value_at_risk",
    "vasicek_cdf",
    "vasicek_default_rate_variance",
    "vasicek_pdf",
    "vasicek_quantile",
]

BASEL_CONFIDENCE = 0.999
"""Confidence level of the IRB capital formula."""

_R_MIN, _R_MAX, _R_DECAY = 0.03, 0.16, 35.0
"""Other-retail correlation bounds and PD decay (CRE31.15)."""

_QUAD_NODES = 96

FloatArray = NDArray[np.float64]


def basel_retail_correlation(pd: float | ArrayLike) -> float | FloatArray:
    """Asset correlation of Basel IRB "other retail" exposures.

    Parameters
    ----------
    pd : float or array_like
        One-year probability of default, decimal in (0, 1).

    Returns
    -------
    float or ndarray
        ``R = 0.03 w + 0.16 (1 - w)``, ``w = (1 - exp(-35 PD)) / (1 - exp(-35))``.

    References
    ----------
    BCBS Basel II (2006) §330; Basel Framework CRE31.15.
    """
    p = np.asarray(pd, dtype=np.float64)
    w = -np.expm1(-_R_DECAY * p) / -math.expm1(-_R_DECAY)
    r = _R_MIN * w + _R_MAX * (1.0 - w)
    return float(r) if r.ndim == 0 else np.asarray(r)


def basel_retail_capital(pd: float, lgd: float, correlation: float | None = None) -> float:
    """IRB capital requirement K per unit of exposure for retail (no maturity adjustment).

    Parameters
    ----------
    pd : float
        One-year PD, decimal in (0, 1).
    lgd : float
        Loss given default, decimal.
    correlation : float, optional
        Asset correlation R; default :func:`basel_retail_correlation` of ``pd``.

    Returns
    -------
    float
        ``K = LGD [Phi((Phi^-1(PD) + sqrt(R) Phi^-1(0.999)) / sqrt(1 - R)) - PD]``.

    References
    ----------
    BCBS Basel II (2006) §328; Basel Framework CRE31.14.
    """
    if not 0.0 < pd < 1.0:
        raise ValueError(f"pd must lie in (0, 1), got {pd}")
    r = float(basel_retail_correlation(pd)) if correlation is None else float(correlation)
    conditional = vasicek_quantile(pd, r, BASEL_CONFIDENCE)
    return float(lgd * (conditional - pd))


def vasicek_cdf(x: ArrayLike, pd: float, rho: float) -> FloatArray:
    """Large-pool default-rate CDF ``P(DR <= x) = Phi((sqrt(1-rho) Phi^-1(x) - Phi^-1(PD)) / sqrt(rho))``."""  # noqa: E501
    xa = np.clip(np.asarray(x, dtype=np.float64), 1e-300, 1.0 - 1e-16)
    return np.asarray(ndtr((math.sqrt(1.0 - rho) * ndtri(xa) - ndtri(pd)) / math.sqrt(rho)))


def vasicek_pdf(x: ArrayLike, pd: float, rho: float) -> FloatArray:
    """Large-pool default-rate density on ``(0, 1)`` (Vasicek 2002, eq. for ``f(x)``)."""
    xa = np.clip(np.asarray(x, dtype=np.float64), 1e-300, 1.0 - 1e-16)
    u = ndtri(xa)
    z = (math.sqrt(1.0 - rho) * u - ndtri(pd)) / math.sqrt(rho)
    return np.asarray(math.sqrt((1.0 - rho) / rho) * np.exp(0.5 * u * u - 0.5 * z * z))


def vasicek_default_rate_variance(pd: float, rho: float) -> float:
    """Variance of the large-pool default rate, ``E[p(Z)^2] - PD^2`` by Gauss-Hermite quadrature."""
    if rho <= 0.0:
        return 0.0
    z, w = np.polynomial.hermite_e.hermegauss(_QUAD_NODES)
    w = w / w.sum()
    p = ndtr((ndtri(pd) + math.sqrt(rho) * z) / math.sqrt(1.0 - rho))
    return float(max(np.sum(w * p * p) - pd * pd, 0.0))


def fit_vasicek_rho(pd: float, variance: float) -> float:
    """Asset correlation whose large-pool default-rate variance equals ``variance``.

    Returns 0 when ``variance`` is at or below the variance at ``rho = 1e-6`` and ``0.999``
    when it exceeds the variance at that correlation.
    """
    lo, hi = 1e-6, 0.999
    if variance <= vasicek_default_rate_variance(pd, lo):
        return 0.0
    if variance >= vasicek_default_rate_variance(pd, hi):
        return hi
    return float(optimize.brentq(lambda r: vasicek_default_rate_variance(pd, r) - variance,
                                 lo, hi, xtol=1e-10))


def binomial_diversity_score(pd: float, variance: float) -> float:
    """Moody's binomial-expansion diversity score ``D = PD (1 - PD) / Var(DR)``.

    The number of independent, equal-sized loans, each defaulting with probability ``PD``, whose
    default rate has the same variance as the pool's default rate ``DR``. Infinite when the
    variance is 0.
    """
    return math.inf if variance <= 0.0 else float(pd * (1.0 - pd) / variance)


def value_at_risk(losses: ArrayLike, level: float, weights: ArrayLike | None = None) -> float:
    """Loss quantile at ``level`` under (importance) weights (:func:`estimators.quantile`)."""
    return float(estimators.quantile(losses, level, weights))


def expected_shortfall(losses: ArrayLike, level: float, weights: ArrayLike | None = None) -> float:
    """Expected shortfall (CVaR) at ``level`` of weighted per-path losses.

    Parameters
    ----------
    losses : array_like, shape (n_paths,)
        Per-path loss (e.g. pool CNL, decimal).
    level : float
        Confidence level in (0, 1), e.g. 0.99.
    weights : array_like, shape (n_paths,), optional
        Likelihood ratios; normalised to sum to 1.

    Returns
    -------
    float
        ``ES = (E[L 1{L > VaR}] + VaR (1 - level - P(L > VaR))) / (1 - level)``, the mean of the
        worst ``1 - level`` of the distribution with the atom at VaR split (Acerbi-Tasche).
    """
    x = np.asarray(losses, dtype=np.float64)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    var = value_at_risk(x, level, w)
    above = x > var
    tail = 1.0 - level
    return float((np.sum(w[above] * x[above]) + var * (tail - np.sum(w[above]))) / tail)


def concentration_by_dimension(tape: LoanTape, dimensions: Sequence[str]) -> list[Concentration]:
    """Concentration by current balance for each dimension the tape carries (empty ones skipped)."""
    out = []
    for column in dimensions:
        values = getattr(tape, column, None)
        if values is not None and values.dtype == object and not (values != "").any():
            continue
        out.append(concentration(tape, column))
    return out


@dataclass(frozen=True)
class DiversificationSummary:
    """Pool default statistics from the simulated paths and the closed forms they imply.

    All rates are decimals of the initial pool balance over the life of the deal unless a name
    says ``annual``.
    """

    pd: float
    """Mean lifetime default rate (defaulted principal / initial balance), weighted."""
    default_rate_variance: float
    """Variance of the per-path lifetime default rate, weighted."""
    lgd: float
    """Pool loss given default: mean CNL / mean default rate."""
    pool_wal_years: float
    """Mean pool WAL (years), weighted."""
    pd_annual: float
    """One-year PD equivalent ``1 - (1 - pd) ** (1 / pool_wal_years)``."""
    rho_fitted: float
    """Vasicek correlation matching the simulated default-rate variance."""
    basel_r: float
    """Basel other-retail correlation at ``pd``."""
    basel_k: float
    """Basel other-retail capital at ``pd`` and ``lgd``."""
    basel_r_annual: float
    """Basel other-retail correlation at ``pd_annual``."""
    basel_k_annual: float
    """Basel other-retail capital at ``pd_annual`` and ``lgd``."""
    diversity_score: float
    """Binomial-expansion diversity score of the simulated default rates."""


def summarize_pool_paths(
    defaulted: ArrayLike, cnl: ArrayLike, pool_wal_years: ArrayLike,
    weights: ArrayLike | None = None,
) -> DiversificationSummary:
    """Default statistics of the simulated pool paths and their Vasicek / Basel counterparts.

    Parameters
    ----------
    defaulted, cnl, pool_wal_years : array_like, shape (n_paths,)
        Per-path defaulted principal and CNL (decimals of the initial pool) and pool WAL (years).
    weights : array_like, shape (n_paths,), optional
        Likelihood ratios; every mean is :mod:`simulation.estimators`' (self-normalised),
        the mean CNL the same figure as the run summary's.
    """
    d = np.asarray(defaulted, dtype=np.float64)
    pd = float(estimators.mean(d, weights).value)
    var = estimators.standard_deviation(d, weights) ** 2 if d.size > 1 else 0.0
    mean_cnl = float(estimators.mean(np.asarray(cnl, dtype=np.float64), weights).value)
    lgd = mean_cnl / pd if pd > 0 else math.nan
    wal_values = np.asarray(pool_wal_years, dtype=np.float64)
    wal = float(estimators.conditional_mean(wal_values, np.isfinite(wal_values), weights).value)
    pd_annual = 1.0 - (1.0 - pd) ** (1.0 / wal) if pd > 0 and wal > 0 else math.nan
    valid = 0.0 < pd < 1.0
    lgd_k = lgd if math.isfinite(lgd) else 0.0
    return DiversificationSummary(
        pd=pd,
        default_rate_variance=var,
        lgd=lgd,
        pool_wal_years=wal,
        pd_annual=pd_annual,
        rho_fitted=fit_vasicek_rho(pd, var) if valid else math.nan,
        basel_r=float(basel_retail_correlation(pd)) if valid else math.nan,
        basel_k=basel_retail_capital(pd, lgd_k) if valid else math.nan,
        basel_r_annual=float(basel_retail_correlation(pd_annual)) if valid else math.nan,
        basel_k_annual=basel_retail_capital(pd_annual, lgd_k) if valid else math.nan,
        diversity_score=binomial_diversity_score(pd, var) if valid else math.nan,
    )
