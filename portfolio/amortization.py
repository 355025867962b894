"""Amortisation schedules: level annuity, equal principal, balloon and lease.

Scalar helpers (``level_payment``, ``installment``, ``principal_due``, ``next_balance``) are
numba functions that kernels inline; :func:`schedule` is the vectorised Python API that returns
a schedule table.

Conventions: monthly periods, monthly rate ``r = APR / 12``; interest for a month is
``balance * r``. For balloon loans and leases the final amount ``F`` (balloon, or residual value)
is due with the last instalment, and the level instalment amortises ``B - F v^n`` with
``v = 1/(1+r)``:

    a = (B - F v^n) r / (1 - v^n)        (a = (B - F) / n when r = 0)

Equal-principal loans repay ``B / n`` each month plus interest on the outstanding balance.

References
----------
Standard annuity algebra; the level case agrees with numpy-financial ``pmt``/``ipmt``/``ppmt``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from portfolio._jit import jit, jit_inline
from portfolio.tape import BALLOON, EQUAL_PRINCIPAL, LEASE, LEVEL, PAYMENT_TYPES


@jit_inline
def _annuity_discount(monthly_rate: float, n_months: int) -> float:
    """``1 - (1 + r)^-n``, accurate for tiny rates (``-expm1(-n log1p(r))``)."""
    return -math.expm1(-n_months * math.log1p(monthly_rate))


@jit_inline
def level_payment(balance: float, monthly_rate: float, n_months: int) -> float:
    """Level monthly instalment that repays ``balance`` over ``n_months`` (USD)."""
    if n_months <= 0:
        return balance
    if monthly_rate == 0.0:
        return balance / n_months
    return balance * monthly_rate / _annuity_discount(monthly_rate, n_months)


@jit_inline
def installment(
    payment_type: int, balance: float, monthly_rate: float, n_months: int, final_amount: float
) -> float:
    """Regular monthly amount fixed at the start of the remaining schedule (USD).

    For level, balloon and lease loans this is the level instalment (interest + principal,
    excluding the final balloon/residual). For equal-principal loans it is the constant
    principal part ``balance / n_months``.
    """
    if n_months <= 0:
        return balance
    if payment_type == EQUAL_PRINCIPAL:
        return balance / n_months
    if payment_type == BALLOON or payment_type == LEASE:
        if monthly_rate == 0.0:
            return (balance - final_amount) / n_months
        one_minus_v_n = _annuity_discount(monthly_rate, n_months)
        return (balance - final_amount * (1.0 - one_minus_v_n)) * monthly_rate / one_minus_v_n
    return level_payment(balance, monthly_rate, n_months)


@jit_inline
def balance_growth(payment_type: int, monthly_rate: float) -> float:
    """Monthly growth factor of the balance before the instalment is deducted.

    ``1 + monthly_rate`` when the instalment includes interest (level, balloon, lease), 1 for
    equal-principal loans (the instalment is all principal).
    """
    return 1.0 + (0.0 if payment_type == EQUAL_PRINCIPAL else monthly_rate)


@jit_inline
def next_balance(growth: float, balance: float, inst: float) -> float:
    """Scheduled balance after any month but the last: ``balance * growth - inst``, floored at 0.

    One fused step, so that a kernel's balance recursion is a single multiply-add (the
    scheduled principal is ``balance - next_balance``). Never negative; never above the
    balance when a balloon or residual does not exceed it, which the loaders enforce.
    """
    b = balance * growth - inst
    return b if b > 0.0 else 0.0


@jit_inline
def principal_due(
    payment_type: int, balance: float, monthly_rate: float, inst: float, is_last: bool
) -> float:
    """Scheduled principal for one month given the instalment from :func:`installment` (USD).

    The last month of the schedule repays the whole remaining balance (including a balloon or
    a lease residual).
    """
    if is_last:
        return balance
    return balance - next_balance(balance_growth(payment_type, monthly_rate), balance, inst)


@jit
def installments(
    payment_type: np.ndarray,
    balance: np.ndarray,
    monthly_rate: np.ndarray,
    n_months: np.ndarray,
    final_amount: np.ndarray,
) -> np.ndarray:
    """:func:`installment` for arrays of loans, shape ``(n_loans,)`` (USD); no checking."""
    out = np.empty(balance.shape[0])
    for i in range(balance.shape[0]):
        out[i] = installment(
            payment_type[i], balance[i], monthly_rate[i], n_months[i], final_amount[i]
        )
    return out


def schedule(
    balance: float,
    annual_rate: float,
    n_months: int,
    payment_type: str | int = "level",
    final_amount: float = 0.0,
) -> pd.DataFrame:
    """Contractual schedule of one loan with no prepayment or default.

    Parameters
    ----------
    balance : float
        Principal at the start of the schedule, USD.
    annual_rate : float
        APR as an annual decimal.
    n_months : int
        Remaining term in months.
    payment_type : str or int
        ``level``, ``equal_principal``, ``balloon`` or ``lease`` (or the code).
    final_amount : float
        Balloon amount or lease residual value due with the last payment, USD.

    Returns
    -------
    pandas.DataFrame
        One row per month ``1..n_months`` with ``beginning_balance``, ``interest``,
        ``principal``, ``payment`` and ``ending_balance`` (USD).
    """
    code = PAYMENT_TYPES.index(payment_type) if payment_type in PAYMENT_TYPES else payment_type
    if code not in (LEVEL, EQUAL_PRINCIPAL, BALLOON, LEASE):
        raise ValueError(f"payment_type must be one of {PAYMENT_TYPES}, got {payment_type!r}")
    if n_months <= 0:
        raise ValueError(f"n_months must be positive, got {n_months}")
    if code in (LEVEL, EQUAL_PRINCIPAL):
        final_amount = 0.0
    r = annual_rate / 12.0
    inst = installment(code, balance, r, n_months, final_amount)
    begin = np.empty(n_months)
    interest = np.empty(n_months)
    principal = np.empty(n_months)
    b = balance
    for t in range(n_months):
        begin[t] = b
        interest[t] = b * r
        principal[t] = principal_due(code, b, r, inst, t == n_months - 1)
        b -= principal[t]
    return pd.DataFrame(
        {
            "month": np.arange(1, n_months + 1),
            "beginning_balance": begin,
            "interest": interest,
            "principal": principal,
            "payment": interest + principal,
            "ending_balance": begin - principal,
        }
    )
