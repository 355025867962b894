"""Yield-supplement overcollateralisation (YSOC): the schedule of a pool and its adjusted pool.

Captive and CarMax-style prime deals hold receivables whose APR (often subvented by the
manufacturer) is below the rate the notes and fees need. The deal sets aside a *yield
supplement overcollateralization amount*: per receivable with an APR below the *required
rate*, the excess of its principal balance over the present value of its remaining scheduled
payments discounted at the required rate (monthly, 30-day months), "assuming that future
scheduled payments on the receivables are made on their scheduled due dates without any
delays, defaults or prepayments". The notes are sized and paid against the *adjusted pool
balance* = pool balance - YSOC amount. Definitions and sources: ``docs/waterfall.md``.

:func:`ysoc_schedule` computes the amount for the cut-off date and the end of every collection
period on the scheduled (no-prepayment, no-default) amortisation of the tape, as the
prospectus's yield supplement overcollateralization schedule is computed at closing; the
waterfall subtracts it from the projected pool balance on every path.
"""

from __future__ import annotations

import numpy as np

from portfolio.amortization import installments
from portfolio.tape import EQUAL_PRINCIPAL, LoanTape
from simulation.collateral import CollateralInputs

__all__ = ["ysoc_schedule"]


def ysoc_schedule(pool: LoanTape | CollateralInputs, required_rate: float) -> np.ndarray:
    """YSOC amount (USD) at the cut-off date and after each collection period.

    Parameters
    ----------
    pool : LoanTape or CollateralInputs
        The loans (balance, APR, remaining term, payment type and level instalment).
    required_rate : float
        Annual decimal discount rate of the deal (the "required rate"); receivables at or
        above it contribute nothing.

    Returns
    -------
    numpy.ndarray, shape (T + 1,)
        Element ``m`` is the amount after ``m`` collection periods (``0``: the cut-off date),
        ``T`` the longest remaining term (the last element is 0).

    Notes
    -----
    Per loan, on its scheduled amortisation with no prepayment or default: balance ``B_m``
    after ``m`` months, scheduled payments ``P_k`` (interest + principal, the balloon or
    residual with the last one), ``PV_m = sum_{k > m} P_k (1 + j)^-(k - m)`` with ``j =
    required_rate / 12``; the loan's amount is ``max(B_m - PV_m, 0)``.
    """
    balance, monthly_rate, installment, term, payment_type = _loans(pool)
    j = float(required_rate) / 12.0
    below = np.flatnonzero((monthly_rate < j) & (balance > 0.0) & (term > 0))
    n_months = int(term.max()) if term.size else 0
    out = np.zeros(n_months + 1)
    for lo in range(0, below.size, _BLOCK):  # memory: a block of loans x months at a time
        k = below[lo:lo + _BLOCK]
        out += _block_ysoc(balance[k], monthly_rate[k], installment[k], term[k],
                           payment_type[k] == EQUAL_PRINCIPAL, j, n_months)
    return out


_BLOCK = 50_000
"""Loans per block of :func:`ysoc_schedule` (two ``block x months`` arrays, ~70 MB)."""


def _block_ysoc(balance: np.ndarray, r: np.ndarray, inst: np.ndarray, n: np.ndarray,
                equal_principal: np.ndarray, j: float, n_months: int) -> np.ndarray:
    """Sum over the loans of ``max(B_m - PV_m, 0)``, ``m = 0..n_months`` (no checking)."""
    b = balance.copy()
    growth = np.where(equal_principal, 1.0, 1.0 + r)
    begin = np.zeros((b.size, n_months + 1))
    payment = np.zeros((b.size, n_months))
    for m in range(n_months):
        begin[:, m] = b
        last = m == n - 1
        principal = np.where(last, b, b - np.maximum(b * growth - inst, 0.0))
        principal = np.where(m < n, principal, 0.0)
        payment[:, m] = b * r + principal
        b = b - principal
    out = np.zeros(n_months + 1)
    present_value = np.zeros(b.size)
    discount = 1.0 / (1.0 + j)
    for m in range(n_months - 1, -1, -1):
        present_value = (present_value + payment[:, m]) * discount
        out[m] = np.maximum(begin[:, m] - present_value, 0.0).sum()
    return out


def _loans(pool: LoanTape | CollateralInputs) -> tuple[np.ndarray, ...]:
    """(balance, monthly rate, instalment, remaining term, payment type) of every loan."""
    if isinstance(pool, CollateralInputs):
        return (pool.balance, pool.monthly_rate, pool.installment,
                pool.remaining_term.astype(np.int64), pool.payment_type.astype(np.int64))
    rate = pool.rate / 12.0
    term = pool.remaining_term.astype(np.int64)
    kind = pool.payment_type.astype(np.int64)
    final = np.where(kind >= 2, pool.balloon_amount, 0.0).astype(np.float64)
    balance = pool.balance.astype(np.float64)
    return balance, rate, installments(kind, balance, rate, term, final), term, kind
