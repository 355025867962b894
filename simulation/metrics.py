"""Tranche metrics as pure functions over arrays.

Per-path metrics take the waterfall's monthly arrays with the period on the **last** axis, so the
same function serves one class, shape ``(n_paths, n_periods)``, and every class at once, shape
``(n_paths, n_classes, n_periods)``. Period ``t`` is payment date ``t``; its time from settlement
(``years``) and the year fraction of its interest period (``accrual``) come from
:class:`simulation.dates.PaymentSchedule`. Money is in USD; ratios and rates are decimals
(0.01 = 1%) unless a name says ``_bp``.

Estimators across paths (means, proportions, quantiles and their standard errors) are in
:mod:`simulation.estimators`.

Conventions (details and sources in ``docs/metrics.md``):

- WAL in years of 365 days from settlement to the actual payment dates:
  ``sum(tau_t * P_t) / sum(P_t)`` (Fabozzi; prospectus decrement tables).
- A yield is quoted in the class's own day count: price ``= sum CF_t prod_{i<=t} (1 + y
  alpha_i)^-1`` with ``alpha`` actual/360 (money-market yield; money-market and floating
  classes) or 30/360 (monthly compounding; fixed classes). At par and without losses the yield
  is the coupon. :func:`bond_equivalent_yield` converts a monthly-compounded yield to the
  semiannual bond-equivalent quote. Yields are floored at -100%, reached exactly on a total
  loss.
- DIRR (Moody's): promised yield of the no-loss cash flows minus the realised yield, in bp.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

__all__ = [
    "BreakevenResult",
    "bond_equivalent_yield",
    "breakeven_multiple",
    "cashflow_yield",
    "dirr_bp",
    "discount_margin",
    "first_loss_period",
    "hard_credit_enhancement",
    "interest_shortfall",
    "lognormal_tranche_el",
    "macaulay_duration",
    "modified_duration",
    "monthly_yield_from_bond_equivalent",
    "price_from_yield",
    "principal_loss_ratio",
    "pv",
    "wal_years",
]

FloatArray = NDArray[np.float64]

_IRR_MAX_ITER = 100
_IRR_TOL = 1e-15  # on the yield, relative to max(1, |y|)
_H_NOISE_ULPS = 4.0  # |h| at or below this many ulps of ln(price) is rounding noise: converged


class BreakevenResult(NamedTuple):
    """Result of :func:`breakeven_multiple`.

    Attributes
    ----------
    multiple : float
        Largest multiple of base CNL verified to cost the class nothing (``lower``).
    cnl : float or None
        ``cnl_at(multiple)`` when a CNL function was given (decimal of the initial pool).
    lower, upper : float
        Final bracket: no loss at ``lower``, a loss at ``upper`` (``upper`` is ``inf`` when no
        loss was found up to ``max_multiple``); ``upper - lower <= tol`` when bracketed.
    bracketed : bool
        Whether a multiple with a loss was found.
    n_evaluations : int
        Calls made to ``class_loss_at``.
    """

    multiple: float
    cnl: float | None
    lower: float
    upper: float
    bracketed: bool
    n_evaluations: int


# --------------------------------------------------------------------------------------------
# helpers


def _as_float(x: ArrayLike, name: str) -> FloatArray:
    a = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite; received NaN or inf")
    return a


def _check_cashflows(cashflows: ArrayLike, name: str = "cashflows") -> FloatArray:
    cf = _as_float(cashflows, name)
    if cf.ndim == 0 or cf.shape[-1] == 0:
        raise ValueError(f"{name} must have a period axis (last) of length >= 1; shape {cf.shape}")
    if np.any(cf < 0.0):
        raise ValueError(f"{name} must be >= 0 (payments to the holder); received a negative value")
    return cf


# --------------------------------------------------------------------------------------------
# per path


def principal_loss_ratio(principal_loss: ArrayLike, original_balance: ArrayLike) -> FloatArray:
    """Principal written off as a share of the class's original balance.

    Parameters
    ----------
    principal_loss : array_like, shape (n_paths,) or (n_paths, n_classes)
        USD of principal never repaid, per path (and class).
    original_balance : array_like, shape () or (n_classes,)
        USD original balance of the class(es); must be > 0.

    Returns
    -------
    ndarray, shape like ``principal_loss``
        Loss ratio, decimal in [0, 1] for consistent inputs.
    """
    loss = _as_float(principal_loss, "principal_loss")
    bal = _as_float(original_balance, "original_balance")
    if np.any(bal <= 0.0):
        raise ValueError("original_balance must be > 0 for every class")
    return np.asarray(loss / bal)


def interest_shortfall(
    interest_due: ArrayLike,
    interest_paid: ArrayLike,
    *,
    due_includes_carryover: bool = False,
) -> FloatArray:
    """Interest never paid to the class by the end of the horizon, in USD.

    Parameters
    ----------
    interest_due, interest_paid : array_like, shape (..., n_periods)
        USD interest due and paid per period.
    due_includes_carryover : bool, default False
        ``False``: ``interest_due`` is the current period's accrual only, and catch-up payments of
        earlier shortfalls are part of ``interest_paid``; the shortfall is
        ``max(sum(due) - sum(paid), 0)``. ``True``: unpaid interest is carried into the next
        period's ``interest_due``, so the shortfall is the last period's ``due - paid``.

    Returns
    -------
    ndarray, shape (...)
        USD of interest unpaid at the end (no interest on unpaid interest is added).
    """
    due = _as_float(interest_due, "interest_due")
    paid = _as_float(interest_paid, "interest_paid")
    if due.shape != paid.shape:
        raise ValueError(f"interest_due {due.shape} and interest_paid {paid.shape} must match")
    if due_includes_carryover:
        short = due[..., -1] - paid[..., -1]
    else:
        short = due.sum(axis=-1) - paid.sum(axis=-1)
    return np.asarray(np.maximum(short, 0.0))


def first_loss_period(shortfall: ArrayLike, *, tol: float = 0.0) -> NDArray[np.int64]:
    """First period in which the class is short of what it is owed.

    Parameters
    ----------
    shortfall : array_like, shape (..., n_periods)
        USD shortfall per period, e.g. ``interest_due - interest_paid``, principal written down in
        the period, or the elementwise maximum of both.
    tol : float, default 0.0
        USD amount a shortfall must exceed to count (absorbs rounding noise).

    Returns
    -------
    ndarray of int64, shape (...)
        Period ``t`` in ``1..T`` of the first shortfall, ``0`` when there is none.
    """
    s = _as_float(shortfall, "shortfall")
    hit = s > tol
    first = np.argmax(hit, axis=-1) + 1
    return np.asarray(np.where(hit.any(axis=-1), first, 0), dtype=np.int64)


def wal_years(principal_paid: ArrayLike, years: ArrayLike) -> FloatArray:
    """Weighted average life of the principal actually paid, in years.

    Parameters
    ----------
    principal_paid : array_like, shape (..., n_periods)
        USD principal paid on payment dates ``t = 1..T``.
    years : array_like, shape (n_periods,)
        Time of each payment date from settlement, in years of 365 days
        (:attr:`simulation.dates.PaymentSchedule.years`).

    Returns
    -------
    ndarray, shape (...)
        ``sum(tau_t * P_t) / sum(P_t)``; NaN where no principal is paid at all.

    Notes
    -----
    Written-off principal is not a payment and does not enter the WAL. Prospectuses measure WAL
    from the closing date to the actual payment dates, actual days / 365.

    References
    ----------
    Fabozzi, F. J., *The Handbook of Fixed Income Securities*, weighted average life.
    """
    p = _as_float(principal_paid, "principal_paid")
    tau = _check_times(years, p.shape[-1])
    total = p.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        wal = (p @ tau) / total
    return np.asarray(np.where(total > 0.0, wal, np.nan))


def _check_times(years: ArrayLike, n_periods: int) -> FloatArray:
    tau = _as_float(years, "years")
    if tau.shape != (n_periods,):
        raise ValueError(f"years must have shape ({n_periods},); received {tau.shape}")
    return tau


def _check_accrual(accrual: ArrayLike, shape: tuple[int, ...]) -> FloatArray:
    a = _as_float(accrual, "accrual")
    if a.ndim > 0 and a.shape[-1] != shape[-1]:
        raise ValueError(f"accrual must be a scalar or have a period axis of length {shape[-1]}; "
                         f"shape {a.shape}")
    if np.any(a <= 0.0) or np.any(a > 1.0):
        raise ValueError("accrual fractions must be in (0, 1] years per period")
    return np.asarray(np.broadcast_to(a, shape))


def _broadcast_yield(cashflows: ArrayLike, annual_yield: ArrayLike,
                     accrual: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Cash flows ``(..., T)``, yields ``(...)`` and accruals ``(..., T)`` on one shape."""
    cf = _as_float(cashflows, "cashflows")
    y = _as_float(annual_yield, "annual_yield")
    if cf.ndim == 0:
        raise ValueError("cashflows must have a period axis (last)")
    lead = np.broadcast_shapes(cf.shape[:-1], y.shape)
    shape = (*lead, cf.shape[-1])
    return (np.broadcast_to(cf, shape), np.broadcast_to(y, lead),
            _check_accrual(accrual, shape))


def _discount_factors(annual_yield: FloatArray, accrual: FloatArray,
                      index: FloatArray | float = 0.0) -> FloatArray:
    """``prod_{i <= t} 1 / (1 + (index_i + y) alpha_i)`` along the last axis; ``y`` (...)."""
    rate = annual_yield[..., None] + index
    return np.asarray(np.exp(-np.cumsum(np.log1p(rate * accrual), axis=-1)))


def price_from_yield(cashflows: ArrayLike, annual_yield: ArrayLike,
                     accrual: ArrayLike, *, index: ArrayLike = 0.0) -> FloatArray:
    """Price (USD at settlement) of cash flows at a yield quoted in their accrual day count.

    Parameters
    ----------
    cashflows : array_like, shape (..., n_periods)
        USD interest + principal paid on payment dates ``t = 1..T``.
    annual_yield : array_like, broadcastable to shape (...)
        Annual decimal yield, ``> -1 / max(accrual)``; with ``index``, the discount margin.
    accrual : array_like, broadcastable to ``cashflows`` (a scalar: the same every period)
        Year fraction ``alpha_t`` of each period in the class's day count: actual/360 for
        money-market and floating classes (money-market yield), 30/360 for fixed classes (1/12
        a month: an annual rate compounded monthly); the first period from settlement.
    index : array_like, broadcastable to ``cashflows``, default 0
        Projected index rate of each period (annual decimal); the discount rate of period ``t``
        is ``index_t + y`` (a floating class's discount margin ``y``).

    Returns
    -------
    ndarray, shape (...)
        ``sum_t CF_t prod_{i <= t} (1 + (index_i + y) alpha_i)^-1``.

    Notes
    -----
    A class that accrues ``c alpha_t`` on its balance each period is worth exactly par at
    ``y = c``: its yield equals its coupon in its own convention (``docs/metrics.md``); a
    floater paying ``index_t + s`` is worth par at a discount margin ``s``.
    """
    cf, y, a = _broadcast_yield(cashflows, annual_yield, accrual)
    base = np.broadcast_to(_as_float(index, "index"), cf.shape)
    return np.asarray((cf * _discount_factors(y, a, base)).sum(axis=-1))


def cashflow_yield(cashflows: ArrayLike, price: ArrayLike, accrual: ArrayLike) -> FloatArray:
    """Yield of a class bought at ``price``, in the day count of ``accrual`` (inverse of price).

    Parameters
    ----------
    cashflows : array_like, shape (..., n_periods)
        USD paid to the holder on payment dates ``t = 1..T``, all ``>= 0``.
    price : array_like, broadcastable to shape (...)
        USD paid at settlement, ``> 0``.
    accrual : array_like, broadcastable to ``cashflows``
        Year fractions of the periods (see :func:`price_from_yield`).

    Returns
    -------
    ndarray, shape (...)
        Annual decimal yield ``y`` with ``price_from_yield(cashflows, y, accrual) == price``,
        floored at -1 (-100%); exactly -1 when nothing is ever paid.

    Notes
    -----
    ``h(y) = ln(sum CF_t D_t(y)) - ln price`` is convex and decreasing in ``y``. Safeguarded
    Newton on ``h`` inside a bracket that always holds the root (``[-1, hi]``, ``hi`` doubled
    until ``h(hi) < 0``); a step leaving it is replaced by bisection. Stops when the step is
    below 1e-15 (relative to ``max(1, |y|)``) or ``|h|`` is within 4 ulps of ``ln price``,
    the rounding floor of ``h`` (the yield is then within about ``1e-14 / duration`` of the
    exact root; below that floor Newton only alternates between neighbouring values).
    """
    return _solve(cashflows, price, accrual, 0.0)


def discount_margin(cashflows: ArrayLike, price: ArrayLike, accrual: ArrayLike,
                    index: ArrayLike) -> FloatArray:
    """Discount margin of a floating class: the spread over the projected index that prices it.

    Solves ``price_from_yield(cashflows, dm, accrual, index=index) == price`` (act/360
    ``accrual``, ``index`` the projected index per period, annual decimal); the solver of
    :func:`cashflow_yield`, floored at -1. At par without losses a floater paying index + s
    has a discount margin of exactly s.
    """
    return _solve(cashflows, price, accrual, index)


def _solve(cashflows: ArrayLike, price: ArrayLike, accrual: ArrayLike,
           index: ArrayLike) -> FloatArray:
    cf = _check_cashflows(cashflows)
    p = _as_float(price, "price")
    if np.any(p <= 0.0):
        raise ValueError("price must be > 0 (USD paid at settlement)")
    a = _check_accrual(accrual, cf.shape)
    base = np.broadcast_to(_as_float(index, "index"), cf.shape)
    lead = cf.shape[:-1]
    n_periods = cf.shape[-1]
    flat = cf.reshape(-1, n_periods)
    af = a.reshape(-1, n_periods)
    bf = base.reshape(-1, n_periods)
    pf = np.broadcast_to(p, lead).reshape(-1)
    out = np.full(flat.shape[0], -1.0)
    live = np.flatnonzero(flat.sum(axis=1) > 0.0)
    if live.size:
        out[live] = _solve_yield(flat[live], af[live], bf[live], pf[live])
    return out.reshape(lead)


def _log_value(cf: FloatArray, accrual: FloatArray, base: FloatArray, y: FloatArray,
               log_price: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``h(y)`` and ``-h'(y)`` per row (logsumexp form; no input checking)."""
    growth = 1.0 + (base + y[:, None]) * accrual
    log_df = -np.cumsum(np.log(growth), axis=1)
    with np.errstate(divide="ignore"):
        a = np.log(cf) + log_df
    amax = a.max(axis=1, keepdims=True)
    e = np.exp(a - amax)
    s = e.sum(axis=1)
    speed = np.cumsum(accrual / growth, axis=1)
    return amax[:, 0] + np.log(s) - log_price, (e * speed).sum(axis=1) / s


def _solve_yield(cf: FloatArray, accrual: FloatArray, base: FloatArray,
                 price: FloatArray) -> FloatArray:
    """Root of ``h`` per row, floored at -1; rows have some ``cf > 0``. No input checking."""
    log_price = np.log(price)
    n = cf.shape[0]
    lo = np.full(n, -1.0)
    h_lo, _ = _log_value(cf, accrual, base, lo, log_price)
    floored = h_lo <= 0.0  # worth no more than the price even at -100%
    hi = np.ones(n)
    for _ in range(64):
        h_hi, _ = _log_value(cf, accrual, base, hi, log_price)
        grow = (h_hi > 0.0) & ~floored
        if not grow.any():
            break
        lo = np.where(grow, hi, lo)
        hi = np.where(grow, 2.0 * hi, hi)
    # start from the continuous-compounding guess ln(S / P) / mean time
    t_mean = (cf * np.cumsum(accrual, axis=1)).sum(axis=1) / cf.sum(axis=1)
    y = np.clip(np.log(cf.sum(axis=1) / price) / t_mean, lo, hi)
    active = ~floored
    # h carries the rounding of ln(price): within a few ulps of it, Newton steps only jump
    # between neighbours of the root (up to ~4e-15 / duration apart) until the iteration cap
    noise = _H_NOISE_ULPS * np.spacing(np.maximum(np.abs(log_price), 1.0))
    for _ in range(_IRR_MAX_ITER):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        h, slope = _log_value(cf[idx], accrual[idx], base[idx], y[idx], log_price[idx])
        right = h > 0.0
        lo[idx] = np.where(right, np.maximum(lo[idx], y[idx]), lo[idx])
        hi[idx] = np.where(right, hi[idx], np.minimum(hi[idx], y[idx]))
        y_new = y[idx] + h / slope
        outside = ~((y_new >= lo[idx]) & (y_new <= hi[idx])) | ~np.isfinite(y_new)
        y_new = np.where(outside, 0.5 * (lo[idx] + hi[idx]), y_new)
        scale = np.maximum(1.0, np.abs(y_new))
        done = ((np.abs(y_new - y[idx]) <= _IRR_TOL * scale) | (h == 0.0)
                | (hi[idx] - lo[idx] <= _IRR_TOL * scale) | (np.abs(h) <= noise[idx]))
        y[idx] = y_new
        active[idx[done]] = False
    return np.where(floored, -1.0, y)


def bond_equivalent_yield(monthly_yield: ArrayLike) -> FloatArray:
    """Bond-equivalent (semiannual) yield of an annual yield compounded monthly.

    ``2 ((1 + y/12)^6 - 1)``: the quote that compares a monthly-pay 30/360 class with
    semiannual-pay bonds and Treasuries (SIFMA Uniform Practices, standard formulas for
    monthly-pay securities). Floored at -1.
    """
    y = _as_float(monthly_yield, "monthly_yield")
    with np.errstate(invalid="ignore"):
        bey = 2.0 * np.expm1(6.0 * np.log1p(y / 12.0))
    return np.asarray(np.maximum(np.where(y <= -12.0, -1.0, bey), -1.0))


def monthly_yield_from_bond_equivalent(bond_equivalent: ArrayLike) -> FloatArray:
    """Inverse of :func:`bond_equivalent_yield`: ``12 ((1 + bey/2)^(1/6) - 1)``."""
    b = _as_float(bond_equivalent, "bond_equivalent")
    if np.any(b <= -2.0):
        raise ValueError("a bond-equivalent yield must exceed -200%")
    return np.asarray(12.0 * np.expm1(np.log1p(b / 2.0) / 6.0))


def dirr_bp(
    cashflows: ArrayLike,
    promised_cashflows: ArrayLike,
    price: ArrayLike,
    accrual: ArrayLike,
) -> FloatArray:
    """Reduction of yield against the promised (no-loss) cash flows, in basis points.

    Parameters
    ----------
    cashflows : array_like, shape (..., n_periods)
        USD actually paid to the holder per period on each path.
    promised_cashflows : array_like, shape (n_periods,) or like ``cashflows``
        USD the class pays when the collateral suffers no loss.
    price : array_like, broadcastable to shape (...)
        USD paid at settlement (usually par, the original balance).
    accrual : array_like, broadcastable to ``cashflows``
        Year fractions of the periods in the class's day count (:func:`cashflow_yield`).

    Returns
    -------
    ndarray, shape (...)
        ``(promised yield - realised yield) * 1e4``; 0 on paths paid as promised. The across-path
        (probability-weighted) mean is Moody's expected DIRR.

    References
    ----------
    Moody's Investors Service, rating methodologies for ABS: the expected reduction in the
    internal rate of return (DIRR) measure.
    """
    cf = _check_cashflows(cashflows)
    promised = _check_cashflows(promised_cashflows, "promised_cashflows")
    if promised.shape[-1] != cf.shape[-1]:
        raise ValueError(
            f"promised_cashflows has {promised.shape[-1]} periods, cashflows {cf.shape[-1]}"
        )
    a = _as_float(accrual, "accrual")
    y = cashflow_yield(cf, price, a)
    y_promised = cashflow_yield(promised, price, np.broadcast_to(a, promised.shape))
    return np.asarray((y_promised - y) * 1e4)


def pv(cashflows: ArrayLike, discount_factors: ArrayLike) -> FloatArray:
    """Present value at closing of cash flows on a discount curve.

    Parameters
    ----------
    cashflows : array_like, shape (..., n_periods)
        USD paid in periods ``t = 1..T``.
    discount_factors : array_like, shape (n_periods,) or like ``cashflows``
        Discount factor from period ``t`` to closing, one curve shared by every path or one per
        path (e.g. from the scenario's short-rate path plus a spread).

    Returns
    -------
    ndarray, shape (...)
        USD present value ``sum_t CF_t * DF_t``.
    """
    cf = _as_float(cashflows, "cashflows")
    df = _as_float(discount_factors, "discount_factors")
    if df.shape[-1] != cf.shape[-1]:
        raise ValueError(f"discount_factors has {df.shape[-1]} periods, cashflows {cf.shape[-1]}")
    return np.asarray((cf * df).sum(axis=-1))


def macaulay_duration(
    cashflows: ArrayLike,
    annual_yield: ArrayLike,
    accrual: ArrayLike,
    years: ArrayLike,
) -> FloatArray:
    """Macaulay duration in years: PV-weighted mean time of the cash flows.

    Parameters
    ----------
    cashflows : array_like, shape (..., n_periods)
        USD paid on payment dates ``t = 1..T``.
    annual_yield : array_like, broadcastable to shape (...)
        Annual decimal yield in the day count of ``accrual``.
    accrual : array_like, broadcastable to ``cashflows``
        Year fractions of the periods (:func:`price_from_yield`).
    years : array_like, shape (n_periods,)
        Time of each payment date from settlement, actual days / 365.

    Returns
    -------
    ndarray, shape (...)
        ``sum tau_t CF_t D_t / sum CF_t D_t``; NaN when there is no cash flow.
    """
    cf, y, a = _broadcast_yield(cashflows, annual_yield, accrual)
    tau = _check_times(years, cf.shape[-1])
    w = cf * _discount_factors(y, a)
    total = w.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = (w @ tau) / total
    return np.asarray(np.where(total > 0.0, d, np.nan))


def modified_duration(
    cashflows: ArrayLike,
    annual_yield: ArrayLike,
    accrual: ArrayLike,
) -> FloatArray:
    """Modified duration in years: ``-(1/P) dP/dy`` for the yield in the day count of ``accrual``.

    Parameters
    ----------
    cashflows : array_like, shape (..., n_periods)
        USD paid on payment dates ``t = 1..T``.
    annual_yield : array_like, broadcastable to shape (...)
        Annual decimal yield.
    accrual : array_like, broadcastable to ``cashflows``
        Year fractions of the periods (:func:`price_from_yield`).

    Returns
    -------
    ndarray, shape (...)
        ``sum CF_t D_t S_t / sum CF_t D_t`` with ``S_t = sum_{i <= t} alpha_i / (1 + y alpha_i)``
        (exact derivative; on whole 30/360 months it is ``Macaulay / (1 + y/12)``).
    """
    cf, y, a = _broadcast_yield(cashflows, annual_yield, accrual)
    w = cf * _discount_factors(y, a)
    speed = np.cumsum(a / (1.0 + y[..., None] * a), axis=-1)
    total = w.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = (w * speed).sum(axis=-1) / total
    return np.asarray(np.where(total > 0.0, d, np.nan))


# --------------------------------------------------------------------------------------------
# structure


def hard_credit_enhancement(
    class_balances: ArrayLike,
    pool_balance: ArrayLike,
    oc_amount: ArrayLike,
    reserve_amount: ArrayLike,
    *,
    seniority: ArrayLike | None = None,
) -> FloatArray:
    """Hard credit enhancement of each class as a decimal of the pool balance.

    Parameters
    ----------
    class_balances : array_like, shape (..., n_classes)
        USD note balances, most senior class first.
    pool_balance : array_like, broadcastable to shape (...)
        USD pool balance, ``> 0``.
    oc_amount : array_like, broadcastable to shape (...)
        USD overcollateralisation (pool balance minus total note balance).
    reserve_amount : array_like, broadcastable to shape (...)
        USD in the reserve account.
    seniority : array_like of int, shape (n_classes,), optional
        Rank of each class, 0 most senior; classes with equal rank (pro-rata, e.g. A-2a/A-2b or
        A-1..A-4 under a class-A structure) do not enhance each other. Default: the position.

    Returns
    -------
    ndarray, shape (..., n_classes)
        ``(sum of balances of classes junior to the class + OC + reserve) / pool balance``.
        Excess spread (soft enhancement) is not included.
    """
    b = _as_float(class_balances, "class_balances")
    pool = _as_float(pool_balance, "pool_balance")
    if b.ndim == 0:
        raise ValueError("class_balances must have a class axis (last)")
    if np.any(pool <= 0.0):
        raise ValueError("pool_balance must be > 0")
    n_classes = b.shape[-1]
    rank = np.arange(n_classes) if seniority is None else np.asarray(seniority)
    if rank.shape != (n_classes,):
        raise ValueError(f"seniority must have shape ({n_classes},); received {rank.shape}")
    junior = (rank[None, :] > rank[:, None]).astype(np.float64)  # junior[k, j]: j junior to k
    subordination = b @ junior.T
    base = np.asarray(oc_amount, dtype=np.float64) + np.asarray(reserve_amount, dtype=np.float64)
    return np.asarray((subordination + base[..., None]) / pool[..., None])


def breakeven_multiple(
    class_loss_at: Callable[[float], float | tuple[float, float]],
    *,
    lo: float = 0.0,
    hi: float = 1.0,
    tol: float = 1e-4,
    loss_tolerance: float = 0.0,
    max_multiple: float = 1e3,
    cnl_at: Callable[[float], float] | None = None,
    known: Iterable[tuple[float, float]] = (),
    near: float | None = None,
) -> BreakevenResult:
    """Largest multiple of base-case CNL at which a class loses nothing.

    Parameters
    ----------
    class_loss_at : callable float -> float or (float, float)
        Class loss (e.g. EL or loss ratio under a deterministic stress) at a CNL multiple;
        assumed non-decreasing in the multiple. A stress that can only be set approximately
        returns ``(multiple evaluated, loss)``: the search then brackets on the multiples it
        evaluated, never on the ones it asked for.
    lo : float, default 0.0
        A multiple at which the class loses nothing (checked, unless ``known`` shows one).
    hi : float, default 1.0
        First upper guess; doubled (``lo`` moving up to it) until the class loses.
    tol : float, default 1e-4
        Absolute tolerance on the multiple: the search stops when the bracket is ``<= tol`` wide.
    loss_tolerance : float, default 0.0
        A loss ``<= loss_tolerance`` counts as no loss (absorbs noise of a simulated loss).
    max_multiple : float, default 1e3
        Expansion stops here; the result is then not bracketed.
    cnl_at : callable float -> float, optional
        CNL (decimal of the initial pool) at a multiple, to report the break-even CNL.
    known : iterable of (multiple, loss), optional
        The class's loss at multiples already evaluated (e.g. by the search of another class
        on the same projections): the bracket starts from the largest of them without a loss
        and the smallest above it with one, without calling ``class_loss_at`` there.
    near : float, optional
        A multiple believed to be within ``tol / 2`` of the break-even (from a cheaper model of
        the same loss): once bracketed, the search first evaluates just either side of it, so
        a good guess closes the bracket in two evaluations and a bad one costs two.

    Returns
    -------
    BreakevenResult
        ``multiple`` is the bracket's lower end: the class loses nothing there and the true
        break-even lies in ``[multiple, multiple + tol]``.

    Notes
    -----
    Above its break-even a class's loss grows about linearly in the multiple (a hockey stick),
    so once two multiples with a loss are known the search evaluates just beyond the secant's
    zero (the side whose bracket end is still far from it) and usually closes the bracket in
    two evaluations. Secant steps that do not halve the bracket within two evaluations give way
    to a bisection, and a loss that jumps (pass/fail) has no secant: the search then bisects.
    """
    if not (tol > 0.0 and hi > lo and max_multiple > lo):
        raise ValueError("need tol > 0, hi > lo and max_multiple > lo")
    n_eval = 0
    losing: dict[float, float] = {}  # multiple -> loss, at the multiples where the class loses

    def loses(m: float) -> tuple[float, bool]:
        nonlocal n_eval
        n_eval += 1
        out = class_loss_at(m)
        at, loss = (float(out[0]), float(out[1])) if isinstance(out, tuple) else (m, float(out))
        if loss > loss_tolerance:
            losing[at] = loss
        return at, loss > loss_tolerance

    known = [(float(m), float(loss)) for m, loss in known]
    whole = [m for m, loss in known if loss <= loss_tolerance and m >= lo]
    if whole:
        lo = max(whole)
    else:
        lo_at, lo_loses = loses(lo)
        if lo_loses:
            raise ValueError(f"the class already loses at the lower multiple lo={lo}")
        lo = lo_at
    losing.update((m, loss) for m, loss in known if loss > loss_tolerance and m > lo)
    bracketed = bool(losing)
    if bracketed:
        hi = min(losing)
    elif hi <= lo:
        hi = min(2.0 * lo if lo > 0.0 else 1.0, max_multiple)
    while not bracketed and lo < max_multiple:
        at, hit = loses(hi)
        if hit:
            bracketed, hi = True, at
        elif hi >= max_multiple or at <= lo:  # the most the stress can reach, still whole
            lo = max(lo, at)
            break
        else:
            lo, hi = at, min(2.0 * hi, max_multiple)
    mark, secant_steps = math.inf, 0  # bracket width when the current secant steps began
    guesses = [] if near is None else [near + 0.4 * tol, near - 0.4 * tol]
    for _ in range(_BREAKEVEN_MAX_STEPS):
        width = hi - lo
        if not bracketed or width <= tol:
            break
        guess = _secant_zero(losing, loss_tolerance) if secant_steps < 2 else None
        while guesses and not lo < guesses[0] < hi:
            guesses.pop(0)
        if guesses:
            trial = guesses.pop(0)
        elif guess is None or not lo < guess < hi:
            trial, mark, secant_steps = lo + 0.5 * width, math.inf, 0
        else:  # just beyond the zero, on the side whose bracket end is still far from it
            mark, secant_steps = (width, 1) if secant_steps == 0 else (mark, secant_steps + 1)
            trial = guess - 0.4 * tol if hi - guess <= 0.5 * tol else guess + 0.4 * tol
            trial = min(max(trial, lo + 0.01 * width), hi - 0.01 * width)
        at, hit = loses(trial)
        if not lo < at < hi:
            raise ValueError(f"class_loss_at({trial}) evaluated the multiple {at}, outside the "
                             f"bracket [{lo}, {hi}]: the stress must be set inside it")
        lo, hi = (lo, at) if hit else (at, hi)
        if hi - lo <= 0.5 * mark:
            secant_steps = 0
    upper = hi if bracketed else math.inf
    cnl = None if cnl_at is None else float(cnl_at(lo))
    return BreakevenResult(lo, cnl, lo, upper, bracketed, n_eval)


_BREAKEVEN_MAX_STEPS = 200
"""Refinement steps at most (bisection from any bracket needs far fewer)."""


def _secant_zero(losing: dict[float, float], loss_tolerance: float) -> float | None:
    """Where the line through the two smallest losing multiples reaches ``loss_tolerance``."""
    if len(losing) < 2:
        return None
    (m1, l1), (m2, l2) = sorted(losing.items())[:2]
    if not l2 > l1:
        return None
    return m1 - (l1 - loss_tolerance) * (m2 - m1) / (l2 - l1)


# --------------------------------------------------------------------------------------------
# closed forms


def lognormal_tranche_el(
    mean: ArrayLike, sd: ArrayLike, attach: ArrayLike, detach: ArrayLike
) -> FloatArray:
    """Expected loss of a tranche when the pool loss is lognormal, relative to tranche size.

    Parameters
    ----------
    mean, sd : array_like
        Mean (> 0) and standard deviation (>= 0) of the pool loss ``L`` (decimal of the pool).
    attach, detach : array_like
        Tranche attachment ``a`` and detachment ``d`` points, ``0 <= a < d``.

    Returns
    -------
    ndarray, broadcast shape of the inputs
        ``E[min(max(L - a, 0), d - a)] / (d - a) = (C(a) - C(d)) / (d - a)`` with the
        Black-Scholes-type call ``C(K) = E[(L-K)^+] = m N(d1) - K N(d1 - s)``,
        ``s^2 = ln(1 + sd^2/m^2)``, ``d1 = (ln(m/K) + s^2/2) / s``.
    """
    m = np.asarray(mean, dtype=np.float64)
    s_l = np.asarray(sd, dtype=np.float64)
    a = np.asarray(attach, dtype=np.float64)
    d = np.asarray(detach, dtype=np.float64)
    if np.any(m <= 0.0) or np.any(s_l < 0.0) or np.any(a < 0.0) or np.any(d <= a):
        raise ValueError("need mean > 0, sd >= 0 and 0 <= attach < detach")
    return np.asarray((_lognormal_call(m, s_l, a) - _lognormal_call(m, s_l, d)) / (d - a))


def _lognormal_call(m: FloatArray, sd: FloatArray, k: FloatArray) -> FloatArray:
    """``E[(L - k)^+]`` for lognormal ``L`` with mean ``m`` and sd ``sd`` (closed form)."""
    var = np.log1p((sd / m) ** 2)
    s = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = (np.log(m) - np.log(k) + 0.5 * var) / s
        call = m * ndtr(d1) - k * ndtr(d1 - s)
    deterministic = np.maximum(m - k, 0.0)
    return np.asarray(np.where(s > 0.0, np.where(k > 0.0, call, m), deterministic))
