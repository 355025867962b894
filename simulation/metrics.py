"""Tranche metrics as pure functions over arrays.

Per-path metrics take the waterfall's monthly arrays with the period on the **last** axis, so the
same function serves one class, shape ``(n_paths, n_periods)``, and every class at once, shape
``(n_paths, n_classes, n_periods)``. Period ``t`` runs ``1..T`` months after closing; money is in
USD; ratios and rates are decimals (0.01 = 1%) unless a name says ``_bp``.

Estimators across paths (means, proportions, quantiles and their standard errors) are in
:mod:`simulation.estimators`.

Conventions (details and sources in ``docs/metrics.md``):

- WAL in years: ``sum(t * P_t) / sum(P_t) / 12`` (Fabozzi).
- Yields are annual, quoted with monthly compounding by default (``y = 12 * r_monthly``, the usual
  quote for monthly-pay ABS); ``convention="semiannual"`` gives the Treasury bond-equivalent
  yield ``2 * ((1 + r)^6 - 1)``, ``"annual"`` the effective annual rate ``(1 + r)^12 - 1``.
  Annualised yields are floored at -100%, reached exactly on a total loss.
- DIRR (Moody's): promised yield of the no-loss cash flows minus the realised yield, in bp.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

__all__ = [
    "PERIODS_PER_YEAR",
    "BreakevenResult",
    "YieldConvention",
    "annualize_monthly_rate",
    "breakeven_multiple",
    "cashflow_irr",
    "dirr_bp",
    "first_loss_period",
    "hard_credit_enhancement",
    "interest_shortfall",
    "lognormal_tranche_el",
    "macaulay_duration",
    "modified_duration",
    "monthly_irr",
    "monthly_rate_from_annual",
    "principal_loss_ratio",
    "pv",
    "wal_years",
]

PERIODS_PER_YEAR = 12
"""Monthly periods: ``t / 12`` is the time in years of period ``t``."""

YieldConvention = Literal["monthly", "semiannual", "annual"]
"""How a monthly IRR is quoted as an annual yield (see :func:`annualize_monthly_rate`)."""

FloatArray = NDArray[np.float64]

_IRR_MAX_ITER = 100
_IRR_TOL = 1e-15  # absolute, on u = ln(1 + r_monthly)


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


def _periods(n_periods: int) -> FloatArray:
    """Period numbers ``1..T`` as floats, shape ``(T,)``."""
    return np.arange(1, n_periods + 1, dtype=np.float64)


def _scalar_or_array(a: FloatArray) -> float | FloatArray:
    return float(a) if a.ndim == 0 else a


def _check_cashflows(cashflows: ArrayLike, name: str = "cashflows") -> FloatArray:
    cf = _as_float(cashflows, name)
    if cf.ndim == 0 or cf.shape[-1] == 0:
        raise ValueError(f"{name} must have a period axis (last) of length >= 1; shape {cf.shape}")
    if np.any(cf < 0.0):
        raise ValueError(f"{name} must be >= 0 (payments to the holder); received a negative value")
    return cf


def _yield_frequency(convention: YieldConvention) -> int:
    try:
        return {"monthly": 12, "semiannual": 2, "annual": 1}[convention]
    except KeyError:
        raise ValueError(
            f"convention must be 'monthly', 'semiannual' or 'annual'; received {convention!r}"
        ) from None


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


def wal_years(principal_paid: ArrayLike) -> FloatArray:
    """Weighted average life of the principal actually paid, in years.

    Parameters
    ----------
    principal_paid : array_like, shape (..., n_periods)
        USD principal paid in periods ``t = 1..T`` (months after closing).

    Returns
    -------
    ndarray, shape (...)
        ``sum(t * P_t) / sum(P_t) / 12``; NaN where no principal is paid at all.

    Notes
    -----
    Written-off principal is not a payment and does not enter the WAL.

    References
    ----------
    Fabozzi, F. J., *The Handbook of Fixed Income Securities*, weighted average life.
    """
    p = _as_float(principal_paid, "principal_paid")
    t = _periods(p.shape[-1])
    total = p.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        wal = (p @ t) / total / PERIODS_PER_YEAR
    return np.asarray(np.where(total > 0.0, wal, np.nan))


def annualize_monthly_rate(
    monthly_rate: ArrayLike, convention: YieldConvention = "monthly"
) -> FloatArray:
    """Quote a monthly rate ``r`` as an annual yield, floored at -100%.

    Parameters
    ----------
    monthly_rate : array_like
        Decimal rate per month, ``>= -1``.
    convention : {"monthly", "semiannual", "annual"}, default "monthly"
        ``"monthly"``: ``12 r`` (annual rate compounded monthly, the usual ABS quote);
        ``"semiannual"``: ``2((1 + r)^6 - 1)`` (bond-equivalent yield); ``"annual"``:
        ``(1 + r)^12 - 1`` (effective annual).

    Returns
    -------
    ndarray, shape like ``monthly_rate``
        Annual decimal yield, ``>= -1``. A nominal quote below -100% has no economic reading
        (the holder cannot lose more than the price), so it is floored at -1; a total loss
        (``r = -1``) gives exactly -1.
    """
    r = np.asarray(monthly_rate, dtype=np.float64)
    m = _yield_frequency(convention)
    with np.errstate(divide="ignore"):  # log1p(-1) = -inf on a total loss: y = -m, floored
        y = m * np.expm1(np.log1p(r) * (PERIODS_PER_YEAR / m)) if m != 12 else 12.0 * r
    return np.asarray(np.maximum(y, -1.0))


def monthly_rate_from_annual(
    annual_yield: ArrayLike, convention: YieldConvention = "monthly"
) -> FloatArray:
    """Monthly rate ``r`` equivalent to an annual yield (inverse of the un-floored quote)."""
    y = np.asarray(annual_yield, dtype=np.float64)
    m = _yield_frequency(convention)
    if np.any(y <= -m):
        raise ValueError(f"annual_yield must exceed -{m} under the {convention} convention")
    return np.asarray(np.expm1(np.log1p(y / m) * (m / PERIODS_PER_YEAR)))


def monthly_irr(cashflows: ArrayLike, price: ArrayLike) -> FloatArray:
    """Monthly internal rate of return of a class bought at ``price``.

    Solves ``sum_t CF_t (1 + r)^-t = price`` for each path.

    Parameters
    ----------
    cashflows : array_like, shape (..., n_periods)
        USD paid to the holder in periods ``t = 1..T`` (interest + principal), all ``>= 0``.
    price : array_like, broadcastable to shape (...)
        USD paid at closing (``t = 0``), ``> 0`` (e.g. ``price_pct * original_balance``).

    Returns
    -------
    ndarray, shape (...)
        Decimal monthly IRR, ``> -1``; exactly ``-1`` (-100%) when nothing is ever paid.

    Notes
    -----
    With ``u = ln(1 + r)`` the equation becomes ``logsumexp_t(ln CF_t - t u) = ln price``, whose
    left side is convex and decreasing in ``u``: Newton's method then converges from any start
    and the logarithm cannot overflow, even for near-total losses. Each step is safeguarded by a
    bracket that always holds the root (``ln(S/price)/t`` between the first and the last paying
    period, ``S = sum CF``); a step leaving it is replaced by bisection. Iterations stop when the
    step is below 1e-15 in ``u``.
    """
    cf = _check_cashflows(cashflows)
    p = _as_float(price, "price")
    if np.any(p <= 0.0):
        raise ValueError("price must be > 0 (USD paid at closing)")
    lead = cf.shape[:-1]
    p = np.broadcast_to(p, lead)
    n_periods = cf.shape[-1]
    flat = cf.reshape(-1, n_periods)
    pf = p.reshape(-1)
    t = _periods(n_periods)

    total = flat.sum(axis=1)
    out = np.full(flat.shape[0], -1.0)
    live = np.flatnonzero(total > 0.0)
    if live.size:
        out[live] = np.expm1(_solve_log_growth(flat[live], pf[live], t))
    return out.reshape(lead)


def _solve_log_growth(cf: FloatArray, price: FloatArray, t: FloatArray) -> FloatArray:
    """Root ``u`` of ``logsumexp(ln cf - t u) = ln price`` per row; rows have some ``cf > 0``.

    ``cf`` shape (n, T), ``price`` shape (n,), ``t`` shape (T,). No input checking.
    """
    with np.errstate(divide="ignore"):
        log_cf = np.log(cf)
    pays = cf > 0.0
    t_first = t[np.argmax(pays, axis=1)]
    t_last = t[cf.shape[1] - 1 - np.argmax(pays[:, ::-1], axis=1)]
    c = np.log(cf.sum(axis=1)) - np.log(price)
    lo = np.minimum(c / t_first, c / t_last)
    hi = np.maximum(c / t_first, c / t_last)
    # start from the cash-weighted mean time (exact for a single payment)
    u = c / ((cf @ t) / cf.sum(axis=1))
    active = np.ones(u.shape, dtype=bool)
    for _ in range(_IRR_MAX_ITER):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        a = log_cf[idx] - np.outer(u[idx], t)
        amax = a.max(axis=1, keepdims=True)
        e = np.exp(a - amax)
        s = e.sum(axis=1)
        h = amax[:, 0] + np.log(s) - np.log(price[idx])
        mean_t = (e @ t) / s  # -dh/du > 0
        # keep the bracket: h > 0 means the root is to the right
        right = h > 0.0
        lo[idx] = np.where(right, np.maximum(lo[idx], u[idx]), lo[idx])
        hi[idx] = np.where(right, hi[idx], np.minimum(hi[idx], u[idx]))
        step = h / mean_t
        u_new = u[idx] + step
        outside = ~((u_new >= lo[idx]) & (u_new <= hi[idx])) | ~np.isfinite(u_new)
        u_new = np.where(outside, 0.5 * (lo[idx] + hi[idx]), u_new)
        done = (np.abs(u_new - u[idx]) <= _IRR_TOL) | (h == 0.0) | (hi[idx] - lo[idx] <= _IRR_TOL)
        u[idx] = u_new
        active[idx[done]] = False
    return u


def cashflow_irr(
    cashflows: ArrayLike,
    price: ArrayLike,
    *,
    convention: YieldConvention = "monthly",
) -> FloatArray:
    """Annual yield (IRR) of a class's cash flows bought at ``price``.

    Parameters
    ----------
    cashflows : array_like, shape (..., n_periods)
        USD interest + principal paid to the holder in periods ``t = 1..T``, all ``>= 0``.
    price : array_like, broadcastable to shape (...)
        USD paid at closing, ``> 0``.
    convention : {"monthly", "semiannual", "annual"}, default "monthly"
        Quote of the monthly IRR ``r``; see :func:`annualize_monthly_rate`. The default is the
        monthly-pay ABS quote: an annual rate compounded monthly, ``12 r``.

    Returns
    -------
    ndarray, shape (...)
        Annual decimal yield, floored at -1; a class that loses everything yields -1 (-100%).

    See Also
    --------
    monthly_irr : the monthly rate solved per path (vectorised safeguarded Newton).
    """
    return annualize_monthly_rate(monthly_irr(cashflows, price), convention)


def dirr_bp(
    cashflows: ArrayLike,
    promised_cashflows: ArrayLike,
    price: ArrayLike,
    *,
    convention: YieldConvention = "monthly",
) -> FloatArray:
    """Reduction of yield against the promised (no-loss) cash flows, in basis points.

    Parameters
    ----------
    cashflows : array_like, shape (..., n_periods)
        USD actually paid to the holder per period on each path.
    promised_cashflows : array_like, shape (n_periods,) or like ``cashflows``
        USD the class pays when the collateral suffers no loss.
    price : array_like, broadcastable to shape (...)
        USD paid at closing (usually par, the original balance).
    convention : {"monthly", "semiannual", "annual"}, default "monthly"
        Yield quote used for both yields.

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
    y = cashflow_irr(cf, price, convention=convention)
    y_promised = cashflow_irr(promised, price, convention=convention)
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
    *,
    convention: YieldConvention = "monthly",
) -> FloatArray:
    """Macaulay duration in years: PV-weighted mean time of the cash flows.

    Parameters
    ----------
    cashflows : array_like, shape (..., n_periods)
        USD paid in periods ``t = 1..T``.
    annual_yield : array_like, broadcastable to shape (...)
        Annual decimal yield quoted under ``convention``.
    convention : {"monthly", "semiannual", "annual"}, default "monthly"
        Compounding of ``annual_yield`` (see :func:`annualize_monthly_rate`).

    Returns
    -------
    ndarray, shape (...)
        ``sum (t/12) CF_t v^t / sum CF_t v^t`` with ``v = 1 / (1 + r)`` and ``r`` the monthly rate
        equivalent to ``annual_yield``; NaN when there is no cash flow.
    """
    cf = _as_float(cashflows, "cashflows")
    r = monthly_rate_from_annual(annual_yield, convention)
    t = _periods(cf.shape[-1])
    disc = np.exp(-np.multiply.outer(np.log1p(r), t))
    w = cf * disc
    total = w.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = (w @ t) / total / PERIODS_PER_YEAR
    return np.asarray(np.where(total > 0.0, d, np.nan))


def modified_duration(
    cashflows: ArrayLike,
    annual_yield: ArrayLike,
    *,
    convention: YieldConvention = "monthly",
) -> FloatArray:
    """Modified duration in years: ``-(1/P) dP/dy`` for the yield ``y`` quoted under ``convention``.

    Parameters
    ----------
    cashflows : array_like, shape (..., n_periods)
        USD paid in periods ``t = 1..T``.
    annual_yield : array_like, broadcastable to shape (...)
        Annual decimal yield quoted under ``convention``.
    convention : {"monthly", "semiannual", "annual"}, default "monthly"
        Compounding frequency ``m`` of ``annual_yield`` (12, 2 or 1 per year).

    Returns
    -------
    ndarray, shape (...)
        ``macaulay_duration / (1 + y/m)``.
    """
    m = _yield_frequency(convention)
    y = np.asarray(annual_yield, dtype=np.float64)
    return np.asarray(macaulay_duration(cashflows, y, convention=convention) / (1.0 + y / m))


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
    class_loss_at: Callable[[float], float],
    *,
    lo: float = 0.0,
    hi: float = 1.0,
    tol: float = 1e-4,
    loss_tolerance: float = 0.0,
    max_multiple: float = 1e3,
    cnl_at: Callable[[float], float] | None = None,
) -> BreakevenResult:
    """Largest multiple of base-case CNL at which a class loses nothing.

    Parameters
    ----------
    class_loss_at : callable float -> float
        Class loss (e.g. EL or loss ratio under a deterministic stress) at a CNL multiple; assumed
        non-decreasing in the multiple.
    lo : float, default 0.0
        A multiple at which the class loses nothing (checked).
    hi : float, default 1.0
        First upper guess; doubled (``lo`` moving up to it) until the class loses.
    tol : float, default 1e-4
        Absolute tolerance on the multiple: bisection stops when the bracket is ``<= tol`` wide.
    loss_tolerance : float, default 0.0
        A loss ``<= loss_tolerance`` counts as no loss (absorbs noise of a simulated loss).
    max_multiple : float, default 1e3
        Expansion stops here; the result is then not bracketed.
    cnl_at : callable float -> float, optional
        CNL (decimal of the initial pool) at a multiple, to report the break-even CNL.

    Returns
    -------
    BreakevenResult
        ``multiple`` is the bracket's lower end: the class loses nothing there and the true
        break-even lies in ``[multiple, multiple + tol]``.
    """
    if not (tol > 0.0 and hi > lo and max_multiple > lo):
        raise ValueError("need tol > 0, hi > lo and max_multiple > lo")
    n_eval = 0

    def loses(m: float) -> bool:
        nonlocal n_eval
        n_eval += 1
        return bool(class_loss_at(m) > loss_tolerance)

    if loses(lo):
        raise ValueError(f"the class already loses at the lower multiple lo={lo}")
    bracketed = False
    while True:
        if loses(hi):
            bracketed = True
            break
        lo = hi
        if hi >= max_multiple:
            break
        hi = min(2.0 * hi if hi > 0.0 else 1.0, max_multiple)
    upper = hi if bracketed else math.inf
    while bracketed and hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if loses(mid):
            hi = mid
        else:
            lo = mid
        upper = hi
    cnl = None if cnl_at is None else float(cnl_at(lo))
    return BreakevenResult(lo, cnl, lo, upper, bracketed, n_eval)


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
