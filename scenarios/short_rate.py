"""Hull-White one-factor short rate around a deterministic mean path, with exact discretisation.

The short rate is written as ``r(t) = phi(t) + x(t)`` with ``x`` an Ornstein-Uhlenbeck process,

    dx = -a x dt + sigma dW,   x(0) = 0,

and ``phi`` a deterministic path (the scenario's short-rate path). This is the Hull-White model
``dr = (theta(t) - a r) dt + sigma dW`` with ``theta = phi' + a phi`` (Brigo & Mercurio's G1++
form); Vasicek ``dr = a (b - r) dt + sigma dW`` is the special case
``phi(t) = b + (r0 - b) e^{-a t}`` (:func:`vasicek_mean`).

Exact discretisation: over a step ``dt`` the pair ``(x(t + dt), Y)`` with
``Y = int_t^{t+dt} x ds`` is bivariate Gaussian given ``x(t)``:

    x(t + dt) = e^{-a dt} x(t) + eps_x,            Var eps_x = sigma^2 B2(dt)
    Y         = B(dt) x(t) + eps_Y,                Var eps_Y = sigma^2 / a^2 (dt - 2 B(dt) + B2(dt))
    Cov(eps_x, eps_Y) = sigma^2 B(dt)^2 / 2

with ``B(t) = (1 - e^{-a t}) / a`` and ``B2(t) = (1 - e^{-2 a t}) / (2 a)``. Simulating both
exactly makes the pathwise discount factor ``exp(-int_0^T r)`` unbiased for the model's
zero-coupon price at every grid date, whatever the step.

Closed forms (``x(0) = 0``):

- ``E[r(t)] = phi(t)``, ``Var[r(t)] = sigma^2 B2(t)``;
- ``P(0, T) = E[exp(-int_0^T r)] = exp(-int_0^T phi + V(T) / 2)``,
  ``V(T) = sigma^2 / a^2 (T - 2 B(T) + B2(T))``.

References
----------
Hull, J. and White, A. (1990), "Pricing interest-rate-derivative securities", *Review of
Financial Studies* 3(4), 573-592.
Brigo, D. and Mercurio, F. (2006), *Interest Rate Models - Theory and Practice*, 2nd ed.,
Springer, sections 3.3 (Hull-White) and 4.2 (G1++, exact simulation of ``r`` and its integral).
Glasserman, P. (2003), *Monte Carlo Methods in Financial Engineering*, Springer, section 3.3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from simulation.rng import STREAM_MACRO, normals

MONTH = 1.0 / 12.0
"""Length of one monthly step in years."""

DRAWS_PER_MONTH = 4
"""Normals per path and month on ``STREAM_MACRO``: short rate, its integral, unemployment, used
cars. Draw 0 of a path is the credit-factor residual; month ``k`` (step ``k -> k + 1``) uses draws
``1 + 4 k .. 4 + 4 k``. Earlier months never depend on the horizon."""

def macro_normals(seed: int, paths: np.ndarray, n_months: int) -> tuple[np.ndarray, np.ndarray]:
    """Standard normals of the scenario layer keyed by global path index.

    Returns
    -------
    credit : numpy.ndarray
        Shape ``(n_paths,)``: draw 0 of each path.
    monthly : numpy.ndarray
        Shape ``(n_paths, n_months, 4)``: short rate, integral, unemployment, used cars.
    """
    z = normals(seed, STREAM_MACRO, np.asarray(paths), 1 + DRAWS_PER_MONTH * n_months)
    return z[:, 0], z[:, 1:].reshape(len(z), n_months, DRAWS_PER_MONTH)


class Transition(NamedTuple):
    """Exact one-step Gaussian transition of ``(x, int x)`` for a step ``dt`` (years).

    ``x' = decay x + sd_rate e1`` and ``Y = b x + loading e1 + sd_residual e2`` with ``e1, e2``
    independent standard normals.
    """

    decay: float
    sd_rate: float
    b: float
    loading: float
    sd_residual: float


@dataclass(frozen=True)
class HullWhite:
    """Hull-White one-factor short-rate dynamics around a mean path.

    Parameters
    ----------
    mean_reversion : float
        ``a``, per year, ``>= 0.001`` (the closed forms lose precision as ``a -> 0``).
    volatility : float
        ``sigma``, annual decimal per square-root year (0.01 = 100 bp normal vol), ``>= 0``.
    """

    mean_reversion: float
    volatility: float

    def __post_init__(self) -> None:
        if not self.mean_reversion >= 1e-3:
            raise ValueError(f"mean_reversion must be >= 0.001, got {self.mean_reversion}")
        if not self.volatility >= 0.0:
            raise ValueError(f"volatility must be >= 0, got {self.volatility}")

    def b(self, t: np.ndarray | float) -> np.ndarray:
        """``B(t) = (1 - e^{-a t}) / a``, years."""
        a = self.mean_reversion
        return np.asarray(-np.expm1(-a * np.asarray(t, dtype=float)) / a)

    def b2(self, t: np.ndarray | float) -> np.ndarray:
        """``B2(t) = (1 - e^{-2 a t}) / (2 a)``, years."""
        a = self.mean_reversion
        return np.asarray(-np.expm1(-2.0 * a * np.asarray(t, dtype=float)) / (2.0 * a))

    def rate_variance(self, t: np.ndarray | float) -> np.ndarray:
        """``Var[r(t)] = sigma^2 B2(t)`` (annual decimals squared), ``t`` in years."""
        return np.asarray(self.volatility**2 * self.b2(t))

    def integral_variance(self, t: np.ndarray | float) -> np.ndarray:
        """``V(t) = Var[int_0^t r ds] = sigma^2 / a^2 (t - 2 B(t) + B2(t))``, ``t`` in years."""
        t = np.asarray(t, dtype=float)
        a = self.mean_reversion
        v = self.volatility**2 / a**2 * (t - 2.0 * self.b(t) + self.b2(t))
        return np.asarray(np.maximum(v, 0.0))

    def zero_coupon_price(
        self, t: np.ndarray | float, mean_integral: np.ndarray | float
    ) -> np.ndarray:
        """Model zero-coupon price ``P(0, t) = exp(-int_0^t phi + V(t) / 2)``.

        Parameters
        ----------
        t : array_like
            Maturities, years.
        mean_integral : array_like
            ``int_0^t phi(s) ds`` at the same maturities (years x annual decimal).
        """
        return np.asarray(np.exp(-np.asarray(mean_integral) + 0.5 * self.integral_variance(t)))

    def transition(self, dt: float = MONTH) -> Transition:
        """Exact transition moments for a step of ``dt`` years (see the module notes)."""
        a, s = self.mean_reversion, self.volatility
        b, b2 = float(self.b(dt)), float(self.b2(dt))
        var_x = s**2 * b2
        var_y = s**2 / a**2 * max(dt - 2.0 * b + b2, 0.0)
        cov = 0.5 * s**2 * b**2
        sd_x = float(np.sqrt(var_x))
        loading = cov / sd_x if sd_x > 0.0 else 0.0
        return Transition(
            decay=float(np.exp(-a * dt)),
            sd_rate=sd_x,
            b=b,
            loading=loading,
            sd_residual=float(np.sqrt(max(var_y - loading**2, 0.0))),
        )


def linear_mean_integral(mean_rate: np.ndarray, dt: float = MONTH) -> np.ndarray:
    """``int_0^{t_k} phi`` for a mean path linear between grid points (trapezoid, exact).

    Parameters
    ----------
    mean_rate : numpy.ndarray
        ``phi`` at ``t_k = k dt``, shape ``(n + 1,)``, annual decimals.

    Returns
    -------
    numpy.ndarray
        Shape ``(n + 1,)``, starting at 0.
    """
    m = np.asarray(mean_rate, dtype=float)
    return np.concatenate([[0.0], np.cumsum(0.5 * (m[1:] + m[:-1]) * dt)])


def vasicek_mean(r0: float, long_run: float, a: float, t: np.ndarray | float) -> np.ndarray:
    """Vasicek mean path ``b + (r0 - b) e^{-a t}`` (annual decimals, ``t`` in years)."""
    return np.asarray(long_run + (r0 - long_run) * np.exp(-a * np.asarray(t, dtype=float)))


def vasicek_mean_integral(
    r0: float, long_run: float, a: float, t: np.ndarray | float
) -> np.ndarray:
    """``int_0^t`` of the Vasicek mean path: ``b t + (r0 - b) B(t)``."""
    t = np.asarray(t, dtype=float)
    return np.asarray(long_run * t + (r0 - long_run) * (-np.expm1(-a * t) / a))


@dataclass(frozen=True, eq=False)
class ShortRatePaths:
    """Simulated short rate on a monthly grid.

    Attributes
    ----------
    rate : numpy.ndarray
        ``r(t_k)``, shape ``(n_paths, n + 1)``, annual decimals, ``t_k = k`` months.
    deviation : numpy.ndarray
        ``x(t_k) = r(t_k) - phi(t_k)``, shape ``(n_paths, n + 1)``.
    integral : numpy.ndarray
        ``int_0^{t_k} r ds``, shape ``(n_paths, n + 1)`` (0 in column 0).
    """

    rate: np.ndarray
    deviation: np.ndarray
    integral: np.ndarray

    @property
    def discount_factors(self) -> np.ndarray:
        """Pathwise ``exp(-int_0^{t_k} r)``, shape ``(n_paths, n + 1)``."""
        return np.asarray(np.exp(-self.integral))


def hull_white_paths(
    model: HullWhite,
    mean_rate: np.ndarray,
    mean_integral: np.ndarray,
    shocks_rate: np.ndarray,
    shocks_integral: np.ndarray,
    dt: float = MONTH,
) -> ShortRatePaths:
    """Run the exact recursion on given standard normals.

    Parameters
    ----------
    model : HullWhite
        Dynamics.
    mean_rate, mean_integral : numpy.ndarray
        ``phi(t_k)`` and ``int_0^{t_k} phi``, shape ``(n + 1,)``.
    shocks_rate, shocks_integral : numpy.ndarray
        Independent standard normals, shape ``(n_paths, n)``; column ``k`` drives the step
        ``t_k -> t_{k+1}``.
    dt : float
        Step in years.

    Notes
    -----
    Vectorised over paths with a loop over steps and element-wise arithmetic only, so each
    path's numbers depend on its own normals alone (identical for any batch of paths).
    """
    tr = model.transition(dt)
    n_paths, n = shocks_rate.shape
    x = np.zeros((n_paths, n + 1))
    y = np.zeros((n_paths, n + 1))
    step_mean = np.diff(np.asarray(mean_integral, dtype=float))
    for k in range(n):
        e1 = shocks_rate[:, k]
        x[:, k + 1] = tr.decay * x[:, k] + tr.sd_rate * e1
        step = tr.b * x[:, k] + tr.loading * e1 + tr.sd_residual * shocks_integral[:, k]
        y[:, k + 1] = y[:, k] + step_mean[k] + step
    return ShortRatePaths(rate=np.asarray(mean_rate)[None, :] + x, deviation=x, integral=y)


def simulate_short_rate(
    model: HullWhite,
    mean_rate: np.ndarray,
    seed: int,
    paths: np.ndarray,
    mean_integral: np.ndarray | None = None,
) -> ShortRatePaths:
    """Monthly Hull-White paths around ``mean_rate`` with counter-based draws.

    Parameters
    ----------
    model : HullWhite
        Dynamics.
    mean_rate : numpy.ndarray
        ``phi`` at months ``0..n``, shape ``(n + 1,)``, annual decimals.
    seed : int
        Run seed.
    paths : numpy.ndarray
        Global path indices, shape ``(n_paths,)``; draws come from ``STREAM_MACRO`` keyed by
        them (the same numbers as the scenario layer's short rate for the same seed and path).
    mean_integral : numpy.ndarray, optional
        ``int_0^{t_k} phi``; by default the exact integral of the linear interpolation of
        ``mean_rate`` (:func:`linear_mean_integral`).
    """
    mean_rate = np.asarray(mean_rate, dtype=float)
    n = mean_rate.shape[0] - 1
    if mean_integral is None:
        mean_integral = linear_mean_integral(mean_rate)
    _, monthly = macro_normals(seed, paths, n)
    return hull_white_paths(model, mean_rate, mean_integral, monthly[:, :, 0], monthly[:, :, 1])
