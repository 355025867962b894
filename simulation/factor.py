"""Systematic credit factor and the calibration of the default curve to an expected CNL.

Each path draws one standard normal ``z`` (counter-based, stream ``STREAM_FACTOR``) and turns it
into a multiplier on every default intensity of that path:

- ``lognormal``: ``m(z) = exp(sigma z - sigma^2 / 2)`` (mean 1). With ``cnl_sd`` the pair
  (default scale, sigma) is solved so that the pool CNL has the given mean and standard
  deviation (the rating-agency lognormal pool-loss form); with ``multiplier_cv`` sigma is
  ``sqrt(ln(1 + cv^2))``.
- ``lognormal_cnl``: the pool's CNL itself is lognormal (Moody's form). The path's target CNL
  is ``L(z) = exp(mu + s z)`` with ``s^2 = ln(1 + (cnl_sd / expected_cnl)^2)`` and
  ``mu = ln(expected_cnl) - s^2 / 2``; the multiplier is the default scale at which the
  base-scenario expected projection loses ``L(z)``, read off the CNL-by-multiplier curve, over
  the scale that loses ``expected_cnl``. On a granular pool the path CNL is then ``L(z)``.
  ``cnl_sd`` can be anchored to a published Aaa loss level (``factor.cnl_aaa_level``,
  :mod:`simulation.lognormal_cnl`).
- ``vasicek``: Gaussian one-factor with asset correlation ``rho``. With ``PD`` the pool's
  lifetime default probability from the base intensities (no prepayment),
  ``p(z) = Phi((Phi^-1(PD) + sqrt(rho) z) / sqrt(1 - rho))`` and
  ``m(z) = ln(1 - p(z)) / ln(1 - PD)``, so that conditional on ``z`` the cumulative default
  probability is exactly ``p(z)`` absent prepayment (exact for a one-period horizon).

References
----------
Vasicek, O. (2002), "The distribution of loan portfolio value", *Risk* 15(12).
Moody's Investors Service, "Moody's Approach to Rating US Auto Loan-Backed Securities"
(lognormal distribution of pool CNL parametrised by its mean and standard deviation).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import optimize
from scipy.special import ndtr, ndtri

from portfolio.errors import InputError
from simulation.collateral import CollateralInputs, cnl_of_flows, expected_flows
from simulation.lognormal_cnl import lognormal_parameters

_QUAD_NODES = 64


@dataclass(frozen=True)
class FactorSpec:
    """Resolved systematic factor: kind and the parameter that maps ``z`` to a multiplier."""

    kind: str  # "none", "lognormal", "lognormal_cnl", "vasicek"
    sigma: float = 0.0
    rho: float = 0.0
    pd_horizon: float = 0.0
    cnl_log_mean: float = 0.0
    """``lognormal_cnl``: ``mu`` of the pool CNL ``exp(mu + sigma z)``."""
    log_multiplier_grid: tuple[float, ...] = ()
    """``lognormal_cnl``: ln multiplier (over the calibrated scale), increasing."""
    cnl_grid: tuple[float, ...] = ()
    """``lognormal_cnl``: base-scenario expected CNL at each grid multiplier, increasing."""

    def pool_cnl(self, z: np.ndarray) -> np.ndarray:
        """``lognormal_cnl``: the lognormal pool CNL ``exp(mu + sigma z)`` the factor targets."""
        return np.asarray(np.exp(self.cnl_log_mean + self.sigma * np.asarray(z, dtype=float)))

    def multiplier(self, z: np.ndarray) -> np.ndarray:
        """Default-intensity multiplier for factor draws ``z`` (any shape)."""
        z = np.asarray(z, dtype=float)
        if self.kind == "lognormal":
            return np.asarray(np.exp(self.sigma * z - 0.5 * self.sigma**2))
        if self.kind == "lognormal_cnl":
            # Outside the grid's CNL range (below the loss already in the pipeline, above
            # every loan defaulting) the multiplier stays at the grid's end.
            return np.asarray(np.exp(np.interp(self.pool_cnl(z), self.cnl_grid,
                                               self.log_multiplier_grid)))
        if self.kind == "vasicek":
            p = ndtr((ndtri(self.pd_horizon) + np.sqrt(self.rho) * z) / np.sqrt(1.0 - self.rho))
            p = np.minimum(p, 1.0 - 1e-15)
            return np.asarray(np.log1p(-p) / np.log1p(-self.pd_horizon))
        return np.ones_like(z)


def vasicek_quantile(pd: float, rho: float, q: float) -> float:
    """Large-pool loss-rate quantile of the Vasicek distribution (LGD 100%)."""
    return float(ndtr((ndtri(pd) + np.sqrt(rho) * ndtri(q)) / np.sqrt(1.0 - rho)))


def _gauss_hermite() -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for E[f(Z)], Z ~ N(0, 1)."""
    x, w = np.polynomial.hermite_e.hermegauss(_QUAD_NODES)
    return x, w / w.sum()


LOGNORMAL_CNL_TAIL = 0.9999
"""Quantile of the lognormal CNL that the pool must be able to lose (``lognormal_cnl``)."""


def _cnl_curve(inputs: CollateralInputs) -> tuple[np.ndarray, np.ndarray]:
    """Base-scenario CNL as a function of the default multiplier, on a log grid."""
    grid = np.geomspace(1e-4, 1e4, 81)
    cnl = np.array([
        float(cnl_of_flows(expected_flows(inputs, default_multiplier=k).flows,
                           inputs.initial_balance))
        for k in grid
    ])
    return grid, np.maximum.accumulate(cnl)


def _mean_sd(grid: np.ndarray, cnl: np.ndarray, k: np.ndarray) -> tuple[float, float]:
    x, w = _gauss_hermite()
    del x
    values = np.interp(np.log(k), np.log(grid), cnl)
    mean = float(np.sum(w * values))
    return mean, float(np.sqrt(max(np.sum(w * values**2) - mean**2, 0.0)))


def pool_default_probability(inputs: CollateralInputs, scale: float) -> float:
    """Balance-weighted lifetime default probability from base intensities, no prepayment."""
    t = np.arange(inputs.n_periods)
    age = np.minimum(inputs.age0[:, None] + t, inputs.default_intensity.shape[1] - 1)
    lam = inputs.default_intensity[inputs.curve_row[:, None], age]
    lam = lam * inputs.loan_default_mult[:, None]
    lam = np.where(t[None, :] < inputs.remaining_term[:, None], lam, 0.0)
    cumulative = scale * lam.sum(axis=1)
    pd = -np.expm1(-cumulative)
    return float(np.average(pd, weights=inputs.balance))


def calibrate(inputs: CollateralInputs) -> tuple[CollateralInputs, FactorSpec]:
    """Resolve the factor and, for an expected-CNL model, the default-intensity scale.

    The expected CNL is matched in expectation over the factor (Gauss-Hermite quadrature on the
    base-scenario expected projection), not just at the median path.
    """
    model = inputs.model
    f = model.factor
    target = model.default.expected_cnl
    x, _ = _gauss_hermite()

    def spec_for(scale: float, sigma: float) -> FactorSpec:
        if f.type == "lognormal":
            return FactorSpec("lognormal", sigma=sigma)
        if f.type == "vasicek":
            assert f.rho is not None
            pd_horizon = pool_default_probability(inputs, scale)
            return FactorSpec("vasicek", rho=f.rho, pd_horizon=pd_horizon)
        return FactorSpec("none")

    sigma = float(np.sqrt(np.log1p(f.multiplier_cv**2))) if f.multiplier_cv else 0.0
    if target is None:
        return inputs, spec_for(inputs.default_scale, sigma)

    base = inputs.with_default_scale(1.0)
    grid, cnl = _cnl_curve(base)
    if cnl[-1] < target:
        raise InputError(
            "assumptions", f"default.expected_cnl {target:.4f} is unreachable: the most severe "
            f"default scale gives CNL {cnl[-1]:.4f} (recoveries too high?)"
        )

    def mean_for(scale: float, sig: float) -> float:
        spec = spec_for(scale, sig)
        return _mean_sd(grid, cnl, scale * spec.multiplier(x))[0]

    def solve_scale(sig: float) -> float:
        # The multiplier spreads the scale over the grid; keep the scale inside it.
        low, high = np.log(grid[0]) + 2.0, np.log(grid[-1]) - 2.0
        floor = mean_for(np.exp(low), sig)
        if floor >= target:
            raise InputError(
                "assumptions", f"default.expected_cnl {target:.4f} is below the loss that "
                f"needs almost no new defaults ({floor:.4f}): "
                f"{int(np.count_nonzero(inputs.missed0))} loans are 30+ days past due at the "
                "cut-off and most of them roll to charge-off; raise expected_cnl, or the "
                "delinquency.cure_probability")
        return float(optimize.brentq(lambda ls: mean_for(np.exp(ls), sig) - target,
                                     low, high, xtol=1e-12))

    if f.type == "lognormal_cnl":
        assert f.cnl_sd is not None  # the model requires it
        return _lognormal_cnl(inputs, grid, cnl, target, f.cnl_sd)
    if f.type == "lognormal" and f.cnl_sd is not None:
        # The target is the sd of the whole CNL distribution: take out the variance that
        # loan-level (idiosyncratic) defaults add given the factor, then match the rest.
        scale0 = np.exp(solve_scale(np.sqrt(np.log1p((f.cnl_sd / target) ** 2))))
        projection = expected_flows(inputs.with_default_scale(scale0))
        idio = projection.idiosyncratic_cnl_variance(inputs.initial_balance)
        sd_target = float(np.sqrt(max(f.cnl_sd**2 - idio, (0.1 * f.cnl_sd) ** 2)))

        def sd_gap(sig: float) -> float:
            scale = np.exp(solve_scale(sig))
            return _mean_sd(grid, cnl, scale * spec_for(scale, sig).multiplier(x))[1] - sd_target

        sigma = float(optimize.brentq(sd_gap, 1e-4, 3.0, xtol=1e-10))
    scale = float(np.exp(solve_scale(sigma)))
    return replace(inputs, default_scale=scale), spec_for(scale, sigma)


def _lognormal_cnl(inputs: CollateralInputs, grid: np.ndarray, cnl: np.ndarray,
                   expected_cnl: float, cnl_sd: float) -> tuple[CollateralInputs, FactorSpec]:
    """Scale and factor of the ``lognormal_cnl`` form (see the module docstring).

    ``grid`` and ``cnl`` are the base-scenario CNL by absolute default scale
    (:func:`_cnl_curve`); the calibrated scale is the one whose projection loses
    ``expected_cnl``, so the base case of deterministic runs is the expected CNL.
    """
    mu, sigma = lognormal_parameters(expected_cnl, cnl_sd)
    tail = float(np.exp(mu + sigma * ndtri(LOGNORMAL_CNL_TAIL)))
    if tail > cnl[-1]:
        raise InputError(
            "assumptions", f"factor.cnl_sd {cnl_sd:.4f}: the lognormal CNL's "
            f"{LOGNORMAL_CNL_TAIL:.2%} quantile {tail:.4f} is more than the pool can lose "
            f"({cnl[-1]:.4f}, every loan defaulting at once): lower cnl_sd")
    rising = np.concatenate([[True], np.diff(cnl) > 0.0])
    log_grid, cnl_rising = np.log(grid[rising]), cnl[rising]
    if expected_cnl <= cnl_rising[0]:
        raise InputError(
            "assumptions", f"default.expected_cnl {expected_cnl:.4f} is below the loss that "
            f"needs almost no new defaults ({cnl_rising[0]:.4f}); raise expected_cnl")
    log_scale = float(np.interp(expected_cnl, cnl_rising, log_grid))
    spec = FactorSpec("lognormal_cnl", sigma=sigma, cnl_log_mean=mu,
                      log_multiplier_grid=tuple(log_grid - log_scale),
                      cnl_grid=tuple(cnl_rising))
    return replace(inputs, default_scale=float(np.exp(log_scale))), spec
