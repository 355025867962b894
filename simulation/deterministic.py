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
  prepays the balance left after scheduled principal;
- of the loans that stay, a curtailment (partial prepayment) ``C_t`` of the balance left after
  scheduled principal is paid early and the schedule is recast over the same remaining term,
  which in dollars is the pool-level SMM arithmetic (SMM includes curtailments): prepaid
  principal uses ``1 - (1 - SMM_t)(1 - C_t)`` while loan counts only follow full payoffs;
- severity and recovery lag may vary by the period of the charge-off ``s``: the recovery
  ``(1 - severity_s)`` of the balance charged off in ``s`` arrives in ``s + lag_s``.

This is loan-level with the standard pool-level conventions (SIFMA Uniform Practices, SF-4
"standard default assumption" arithmetic), so a pool of identical loans gives the textbook
numbers.

A line whose own cut-off date precedes the pool's by ``k = months_before_cutoff`` months (deals
whose receivables carry two cut-off dates, e.g. the assumed cutoff dates of January 1 and
February 1, 2017 of AmeriCredit Automobile Receivables Trust 2017-1) is projected from its own
cut-off, and its collections of the first ``k + 1`` months are all paid in period 1 (the first
collection period runs from the line's cut-off to the end of the pool's first month); its
default, prepayment, curtailment, severity and lag vectors run by month since its own cut-off.
Fees that accrue monthly on the pool balance (a servicing fee of 1/12 of its rate on the pool
balance at the start of each month) are then owed for each of those months: the column
``later_months_balance`` gives, by period, the balance of the lines at the start of each month
of the collection period after its first (their own cut-off balance, the first, is in the
beginning pool balance), summed; the waterfall charges fees on it (``run_waterfall``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from portfolio.amortization import installments
from portfolio.tape import LoanTape
from simulation._collateral_kernel import (
    DEFAULTED_PRINCIPAL,
    DELINQUENT_30,
    DELINQUENT_60,
    DELINQUENT_90P,
    N_FIELDS,
    PREPAID_PRINCIPAL,
    RECOVERIES,
    SCHEDULED_PRINCIPAL,
    TERMINATIONS,
    expected_flows_kernel,
)
from simulation.collateral import FIELD_NAMES, _finish_flows
from simulation.conversions import abs_to_smm, cdr_to_mdr, cpr_to_smm


def _by_period(value: ArrayLike | None, n_periods: int, name: str,
               upper: float = 1.0) -> np.ndarray:
    """Scalar or vector by period (1..n) to a length-n vector holding the last value."""
    v = np.atleast_1d(np.asarray(0.0 if value is None else value, dtype=float))
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"{name} must be a number or a 1-d vector by period")
    if not (np.all(v >= 0) and np.all(v <= upper)):
        raise ValueError(f"{name} must lie in [0, {upper:g}], got {v.min()}..{v.max()}")
    return v[np.minimum(np.arange(n_periods), v.size - 1)]


def _lagged_recoveries(charged_off: np.ndarray, severity: np.ndarray,
                       lag: np.ndarray) -> np.ndarray:
    """Recoveries by period: ``(1 - severity_s)`` of the charge-off of ``s``, in ``s + lag_s``.

    ``charged_off``, ``severity`` and ``lag`` have shape ``(n_periods,)``; the result too (the
    caller sized the horizon to hold the longest lag).
    """
    recoveries = np.zeros_like(charged_off)
    arrival = np.arange(charged_off.size) + lag
    inside = arrival < charged_off.size  # past the horizon nothing is charged off
    np.add.at(recoveries, arrival[inside], (charged_off * (1.0 - severity))[inside])
    return recoveries


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


def _later_months_opening_balance(own: np.ndarray, balance: float, k: int) -> float:
    """The lines' opening balances of the first collection period's later months, summed.

    Those are the lines' own months 2..k+1; ``own`` holds their flows by month since their own
    cut-off and ``balance`` their balance at it.
    """
    principal = (own[:k, SCHEDULED_PRINCIPAL] + own[:k, PREPAID_PRINCIPAL]
                 + own[:k, DEFAULTED_PRINCIPAL])
    return float(np.sum(balance - np.cumsum(principal)))


def project_deterministic(
    tape: LoanTape,
    *,
    mdr: ArrayLike | None = None,
    cdr: ArrayLike | None = None,
    abs_speed: ArrayLike | None = None,
    cpr: ArrayLike | None = None,
    smm: ArrayLike | None = None,
    severity: ArrayLike = 0.5,
    recovery_lag: ArrayLike = 0,
    curtailment: ArrayLike | None = None,
    chargeoff_months: int = 1,
) -> pd.DataFrame:
    """Expected pool cash flows under deterministic default and prepayment vectors.

    Parameters
    ----------
    tape : LoanTape
        The pool.
    mdr, cdr : float or array by period, optional
        Monthly default rate, or annual constant default rate (one of them; default 0).
    abs_speed : float or array by period, optional
        ABS prepayment speed (monthly decimal, applied by loan age).
    cpr, smm : float or array by period, optional
        Annual CPR or monthly SMM by period since cut-off (one of abs_speed/cpr/smm; default 0).
    severity : float or array by charge-off period
        Loss given charge-off, share of the charged-off balance.
    recovery_lag : int or array of ints by charge-off period
        Periods from charge-off to recovery.
    curtailment : float or array by period, optional
        Partial prepayments: monthly share of the balance left after scheduled principal that
        performing loans pay early (schedule recast; default 0).
    chargeoff_months : int
        Periods from the first missed payment to charge-off, inclusive (1 = same period).

    Returns
    -------
    pandas.DataFrame
        Rows ``period`` 1..n, columns :data:`~simulation.collateral.FIELD_NAMES` (USD;
        ``n_active`` is the expected count of loans), plus ``cnl`` (cumulative net loss ratio)
        and ``later_months_balance`` (USD; 0 unless lines were cut off before the pool, see
        the module notes).

    Notes
    -----
    A vector gives periods 1, 2, ...; its last value holds after its end.
    """
    if (mdr is not None) and (cdr is not None):
        raise ValueError("give mdr or cdr, not both")
    if sum(x is not None for x in (abs_speed, cpr, smm)) > 1:
        raise ValueError("give one of abs_speed, cpr or smm")
    if chargeoff_months < 1:
        raise ValueError("chargeoff_months must be >= 1")
    lags = np.atleast_1d(np.asarray(recovery_lag, dtype=float))
    if lags.ndim != 1 or lags.size == 0 or not np.all((lags >= 0) & (lags == np.round(lags))):
        raise ValueError(f"recovery_lag must be whole periods >= 0, got {lags}")
    rem = tape.remaining_term.astype(np.int64)
    early = tape.months_before_cutoff.astype(np.int64)
    n_periods = int(rem.max()) + chargeoff_months + int(lags.max())
    n_own = n_periods + int(early.max())  # months from the earliest line's own cut-off
    severity_t = _by_period(severity, n_own, "severity")
    lag_t = _by_period(lags, n_own, "recovery_lag", upper=np.inf).astype(np.int64)
    mdr_t = cdr_to_mdr(_by_period(cdr, n_own, "cdr")) if cdr is not None else _by_period(
        mdr, n_own, "mdr")
    default_prob = np.broadcast_to(mdr_t, (len(tape), n_own))
    if abs_speed is not None:
        loan_age = tape.age[:, None] + np.arange(1, n_own + 1)[None, :]
        smm_it = abs_to_smm(_by_period(abs_speed, n_own, "abs_speed")[None, :], loan_age)
    elif cpr is not None:
        smm_it = np.broadcast_to(cpr_to_smm(_by_period(cpr, n_own, "cpr")), (len(tape), n_own))
    else:
        smm_it = np.broadcast_to(_by_period(smm, n_own, "smm"), (len(tape), n_own))
    curtail_t = _by_period(curtailment, n_own, "curtailment")
    payoff_prob = (1.0 - default_prob) * smm_it
    # Dollars: a curtailment is a partial prepayment of the survivors (recast schedule).
    prepay_prob = (1.0 - default_prob) * (1.0 - (1.0 - smm_it) * (1.0 - curtail_t))
    curtailed = curtailment is not None and bool(np.any(curtail_t > 0))
    r = tape.rate / 12.0
    final = np.where(tape.payment_type >= 2, tape.balloon_amount, 0.0)
    inst = installments(tape.payment_type.astype(np.int64), tape.balance.astype(float), r, rem,
                        final.astype(float))
    raw = np.zeros((n_periods, N_FIELDS))
    later_months_balance = np.zeros(n_periods)
    for k in np.unique(early):
        rows = np.flatnonzero(early == k)
        n = n_periods + int(k)  # by month since the lines' own cut-off

        def kernel(event_prob: np.ndarray, rows: np.ndarray = rows, n: int = n) -> np.ndarray:
            own = np.zeros((n, N_FIELDS))
            expected_flows_kernel(
                tape.balance[rows].astype(float), r[rows], inst[rows], rem[rows],
                tape.payment_type[rows].astype(np.int64),
                np.ascontiguousarray(default_prob[rows, :n]),
                np.ascontiguousarray(event_prob[rows, :n]), 1.0, own, np.zeros(rows.size),
                np.zeros(rows.size), int(chargeoff_months), 0,
            )  # fmt: skip
            return own

        own = kernel(prepay_prob)  # severity 1 and lag 0: recoveries are booked below
        if curtailed:  # loan counts follow full payoffs only: a curtailed loan stays
            own[:, TERMINATIONS] = kernel(payoff_prob)[:, TERMINATIONS]
        own[:, RECOVERIES] = _lagged_recoveries(own[:, DEFAULTED_PRINCIPAL], severity_t[:n],
                                                lag_t[:n])
        raw += _collected_from_pool_cutoff(own, int(k))
        later_months_balance[0] += _later_months_opening_balance(
            own, float(tape.balance[rows].sum()), int(k))
    flows = _finish_flows(raw, tape.total_balance, len(tape))
    frame = pd.DataFrame(flows, columns=list(FIELD_NAMES),
                         index=pd.RangeIndex(1, n_periods + 1, name="period"))
    net = (frame["defaulted_principal"] - frame["recoveries"]).cumsum()
    frame["cnl"] = net / tape.total_balance
    frame["later_months_balance"] = later_months_balance
    return frame


def waterfall_inputs(projection: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """What :func:`~simulation.waterfall.run_waterfall` takes from a projection.

    Returns the pool flows ``(n_periods, 11)`` in :data:`~simulation.collateral.FIELD_NAMES`
    order and the ``later_months_balance`` column ``(n_periods,)`` (USD) of a
    :func:`project_deterministic` frame, so that a first collection period running from lines'
    earlier cut-off owes the fees of each of its months wherever a projection is run through
    the waterfall.
    """
    flows = np.array(projection[list(FIELD_NAMES)].to_numpy(), dtype=np.float64)
    return flows, projection["later_months_balance"].to_numpy(dtype=np.float64)

