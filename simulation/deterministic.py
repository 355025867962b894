"""Deterministic (expected-value) projection from given default and prepayment vectors.

The run that rating agencies and prospectus tables use: no randomness, a monthly default rate
(MDR, or annual CDR) applied to each loan's performing balance by period since the cut-off, a
prepayment speed (ABS by loan age, or CPR/SMM by period) applied to what survives, a loss
severity and a recovery lag. Conventions, for each loan and period ``t`` with performing share
``S`` and scheduled balance ``b``:

- newly delinquent (defaulting) = ``S * MDR_t`` of ``b``; it pays nothing, shows as 30/60/90+
  delinquent and is charged off ``chargeoff_months - 1`` periods later; recovery
  ``(1 - severity)`` of the charged-off balance ``recovery_lag`` periods after that;
- the rest pays interest ``b r`` and scheduled principal; a share ``SMM_t`` of it then
  prepays the balance left after scheduled principal.

This is loan-level with the standard pool-level conventions (SIFMA Uniform Practices, SF-4
"standard default assumption" arithmetic), so a pool of identical loans gives the textbook
numbers.

A line whose own cut-off date precedes the pool's by ``k = months_before_cutoff`` months (deals
whose receivables carry two cut-off dates, e.g. the assumed cutoff dates of January 1 and
February 1, 2017 of AmeriCredit Automobile Receivables Trust 2017-1) is projected from its own
cut-off, and its collections of the first ``k + 1`` months are all paid in period 1 (the first
collection period runs from the line's cut-off to the end of the pool's first month); its
default and prepayment vectors run by month since its own cut-off.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from portfolio.amortization import installments
from portfolio.tape import LoanTape
from simulation._collateral_kernel import (
    DELINQUENT_30,
    DELINQUENT_60,
    DELINQUENT_90P,
    N_FIELDS,
    expected_flows_kernel,
)
from simulation.collateral import FIELD_NAMES, _finish_flows
from simulation.conversions import abs_to_smm, cdr_to_mdr, cpr_to_smm


def _by_period(value: ArrayLike | None, n_periods: int, name: str) -> np.ndarray:
    """Scalar or vector by period (1..n) to a length-n vector holding the last value."""
    v = np.atleast_1d(np.asarray(0.0 if value is None else value, dtype=float))
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"{name} must be a number or a 1-d vector by period")
    if np.any(v < 0) or np.any(v > 1):
        raise ValueError(f"{name} must lie in [0, 1], got {v.min()}..{v.max()}")
    return v[np.minimum(np.arange(n_periods), v.size - 1)]


_STOCK_FIELDS = (DELINQUENT_30, DELINQUENT_60, DELINQUENT_90P)
"""Raw fields that are balances at the end of a period, not amounts collected in it."""


def _collected_from_pool_cutoff(own: np.ndarray, k: int) -> np.ndarray:
    """Flows by month since a line's own cut-off, ``k`` months before the pool's, by period.

    The first collection period collects the line's first ``k + 1`` months; the delinquent
    balances are those at its end. Shape ``(n + k, N_FIELDS)`` to ``(n, N_FIELDS)``.
    """
    by_period = own[k:].copy()
    flows = [f for f in range(N_FIELDS) if f not in _STOCK_FIELDS]
    by_period[0, flows] += own[:k, flows].sum(axis=0)
    return by_period


def project_deterministic(
    tape: LoanTape,
    *,
    mdr: ArrayLike | None = None,
    cdr: ArrayLike | None = None,
    abs_speed: float | None = None,
    cpr: ArrayLike | None = None,
    smm: ArrayLike | None = None,
    severity: float = 0.5,
    recovery_lag: int = 0,
    chargeoff_months: int = 1,
) -> pd.DataFrame:
    """Expected pool cash flows under deterministic default and prepayment vectors.

    Parameters
    ----------
    tape : LoanTape
        The pool.
    mdr, cdr : float or array by period, optional
        Monthly default rate, or annual constant default rate (one of them; default 0).
    abs_speed : float, optional
        ABS prepayment speed (monthly, applied by loan age).
    cpr, smm : float or array by period, optional
        Annual CPR or monthly SMM by period since cut-off (one of abs_speed/cpr/smm; default 0).
    severity : float
        Loss given charge-off, share of the charged-off balance.
    recovery_lag : int
        Periods from charge-off to recovery.
    chargeoff_months : int
        Periods from the first missed payment to charge-off, inclusive (1 = same period).

    Returns
    -------
    pandas.DataFrame
        Rows ``period`` 1..n, columns :data:`~simulation.collateral.FIELD_NAMES` (USD;
        ``n_active`` is the expected count of loans), plus ``cnl`` (cumulative net loss ratio).
    """
    if (mdr is not None) and (cdr is not None):
        raise ValueError("give mdr or cdr, not both")
    if sum(x is not None for x in (abs_speed, cpr, smm)) > 1:
        raise ValueError("give one of abs_speed, cpr or smm")
    if not 0.0 <= severity <= 1.0:
        raise ValueError(f"severity must lie in [0, 1], got {severity}")
    if chargeoff_months < 1 or recovery_lag < 0:
        raise ValueError("chargeoff_months must be >= 1 and recovery_lag >= 0")
    rem = tape.remaining_term.astype(np.int64)
    early = tape.months_before_cutoff.astype(np.int64)
    n_periods = int(rem.max()) + chargeoff_months + recovery_lag
    n_own = n_periods + int(early.max())  # months from the earliest line's own cut-off
    mdr_t = cdr_to_mdr(_by_period(cdr, n_own, "cdr")) if cdr is not None else _by_period(
        mdr, n_own, "mdr")
    default_prob = np.broadcast_to(mdr_t, (len(tape), n_own))
    if abs_speed is not None:
        loan_age = tape.age[:, None] + np.arange(1, n_own + 1)[None, :]
        smm_it = abs_to_smm(abs_speed, loan_age)
    elif cpr is not None:
        smm_it = np.broadcast_to(cpr_to_smm(_by_period(cpr, n_own, "cpr")), (len(tape), n_own))
    else:
        smm_it = np.broadcast_to(_by_period(smm, n_own, "smm"), (len(tape), n_own))
    prepay_prob = (1.0 - default_prob) * smm_it
    r = tape.rate / 12.0
    final = np.where(tape.payment_type >= 2, tape.balloon_amount, 0.0)
    inst = installments(tape.payment_type.astype(np.int64), tape.balance.astype(float), r, rem,
                        final.astype(float))
    raw = np.zeros((n_periods, N_FIELDS))
    for k in np.unique(early):
        rows = np.flatnonzero(early == k)
        own = np.zeros((n_periods + k, N_FIELDS))  # by month since the lines' own cut-off
        expected_flows_kernel(
            tape.balance[rows].astype(float), r[rows], inst[rows], rem[rows],
            tape.payment_type[rows].astype(np.int64),
            np.ascontiguousarray(default_prob[rows, :n_periods + k]),
            np.ascontiguousarray(prepay_prob[rows, :n_periods + k]), float(severity), own,
            np.zeros(rows.size), np.zeros(rows.size), int(chargeoff_months), int(recovery_lag),
        )  # fmt: skip
        raw += _collected_from_pool_cutoff(own, int(k))
    flows = _finish_flows(raw, tape.total_balance, len(tape))
    frame = pd.DataFrame(flows, columns=list(FIELD_NAMES),
                         index=pd.RangeIndex(1, n_periods + 1, name="period"))
    net = (frame["defaulted_principal"] - frame["recoveries"]).cumsum()
    frame["cnl"] = net / tape.total_balance
    return frame
