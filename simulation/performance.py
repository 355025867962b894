"""Monthly performance indicators of a pool: what a surveillance analyst tracks every month.

One computation, :func:`performance_indicators`, over a :class:`LoanActivity` (monthly
loan-level flows of one pool, a struct of arrays). Sources become a :class:`LoanActivity`
through an adapter: :func:`panel_activity` for a loan-level performance panel
(:class:`~portfolio.panel.LoanPanel`, e.g. the Ally AART panels), :func:`regab_activity` for a
sequence of monthly EX-102 files (:class:`~portfolio.regab_history.RegabHistory`). The
formulas, their sources and the panel conventions are in ``docs/surveillance.md``.

References
----------
SIFMA, *Uniform Practices for the Clearance and Settlement of Mortgage-Backed Securities and
Other Related Securities*, chapter SF (SMM, CPR, MDR, CDR); SEC, EDGAR ABS XML Technical
Specification (Reg AB II Schedule AL asset-level fields: charged-off principal, recoveries,
delinquency status, payment extensions); Fabozzi (ed.), *The Handbook of Fixed Income
Securities* (ABS prepayment speed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from portfolio.panel import (
    DEFAULTED,
    ZERO_BALANCE_TOLERANCE,
    EventRules,
    LoanPanel,
    missed_payment_runs,
    panel_events,
    scheduled_principal,
)
from portfolio.regab_history import RegabHistory
from simulation.conversions import mdr_to_cdr, smm_to_cpr

__all__ = ["INDICATOR_COLUMNS", "LoanActivity", "panel_activity",
           "performance_indicators", "regab_activity"]

INDICATOR_COLUMNS: tuple[str, ...] = (
    "pool_balance", "pool_factor", "n_loans", "scheduled_principal", "prepaid_principal",
    "smm", "cpr", "abs_speed", "gross_loss", "recoveries", "net_loss", "gross_loss_ratio",
    "net_loss_ratio", "cumulative_gross_loss", "cnl", "mdr", "cdr", "severity",
    "recovery_rate", "annualised_net_loss", "delinquent_30", "delinquent_60", "delinquent_90",
)
"""Columns of :func:`performance_indicators` (money in USD, rates and ratios as decimals);
``extended``/``extended_ratio`` follow when the data has payment extensions."""


@dataclass(frozen=True, eq=False)
class LoanActivity:
    """Monthly loan-level flows of one pool; arrays of shape ``(n_loans, n_months)``, USD.

    Column ``m - 1`` is month ``m`` after the cut-off. A loan not in the pool in a month has
    zeros there. Per loan and month, ``prior_balance = ending_balance + regular_principal +
    prepaid_principal + charged_off``.

    Attributes
    ----------
    prior_balance, ending_balance : numpy.ndarray
        Balance at the start and at the end of the month.
    scheduled_due : numpy.ndarray
        Contractual principal due of the loans that are not charged off in the month (the
        SMM/MDR base ``prior - scheduled_due``).
    regular_principal, prepaid_principal : numpy.ndarray
        Principal collected, split into scheduled principal (including arrears caught up) and
        prepayments (full payoffs and curtailments).
    charged_off, recoveries : numpy.ndarray
        Principal charged off; cash recovered on defaulted loans.
    delinquency_bucket : numpy.ndarray
        int8: 0 current, 1 = 30-59, 2 = 60-89, 3 = 90+ days past due at the end of the month.
    age : numpy.ndarray
        Loan age in months in the month (payment number).
    extended : numpy.ndarray or None
        True when the loan's payments were extended in the month; ``None`` when the data has
        no extensions.
    cutoff_balance : float
        Pool balance at the cut-off (month 0), the denominator of factor and loss ratios.
    source : str
        Where the data came from.
    """

    prior_balance: np.ndarray
    ending_balance: np.ndarray
    scheduled_due: np.ndarray
    regular_principal: np.ndarray
    prepaid_principal: np.ndarray
    charged_off: np.ndarray
    recoveries: np.ndarray
    delinquency_bucket: np.ndarray
    age: np.ndarray
    extended: np.ndarray | None
    cutoff_balance: float
    source: str = "<activity>"


def panel_activity(panel: LoanPanel, rules: EventRules | None = None) -> LoanActivity:
    """The monthly flows of a performance panel (conventions in ``docs/surveillance.md``).

    - Charge-off: a loan :func:`~portfolio.panel.panel_events` classifies as defaulted is
      charged off in the month the panel removes its balance (or its last reported month, when
      the panel drops it after recoveries), for the balance before that month less the principal
      collected in it; its ending balance that month is 0. A stalled default whose balance the
      panel keeps is not charged off (it stays 90+ days delinquent).
    - Scheduled principal due: the level-payment principal of the prior balance
      (:func:`~portfolio.panel.scheduled_principal`). Principal collected beyond it and beyond
      arrears of earlier months is prepaid principal.
    - Delinquency: the number ``k`` of consecutive missed payments (paid below
      ``rules.missed_share`` of the scheduled payment) ending in the month: ``k`` = 1, 2, >= 3
      are 30, 60, 90+ days past due.
    """
    rules = rules or EventRules()
    present = ~np.isnan(panel.balance)
    prior = np.where(present, np.nan_to_num(panel.prior_balance()), 0.0)
    ending = np.nan_to_num(panel.balance)
    collected = np.nan_to_num(panel.principal_paid)
    ev = panel_events(panel, rules)
    charged = np.zeros(panel.balance.shape, dtype=bool)
    rows = np.flatnonzero((ev.kind == DEFAULTED) & (ev.chargeoff > 0))
    charged[rows, ev.chargeoff[rows] - 1] = True
    charged_off = np.where(charged, np.maximum(prior - collected, 0.0), 0.0)
    ending = np.where(charged, 0.0, ending)  # a dropped loan's last balance is written off
    due = np.where(present & ~charged,
                   scheduled_principal(prior, panel.rate, panel.scheduled_payment), 0.0)
    prepaid = np.zeros_like(prior)
    arrears = np.zeros(panel.n_loans)
    for k in range(panel.n_months):
        prepaid[:, k] = np.where(charged[:, k], 0.0,
                                 np.maximum(collected[:, k] - due[:, k] - arrears, 0.0))
        arrears = np.where(present[:, k], np.maximum(arrears + due[:, k] - collected[:, k], 0.0),
                           0.0)
    bucket = np.minimum(missed_payment_runs(panel, rules), 3).astype(np.int8)
    age = panel.age0[:, None] + np.arange(1, panel.n_months + 1)[None, :]
    return LoanActivity(
        prior_balance=prior, ending_balance=ending, scheduled_due=due,
        regular_principal=collected - prepaid, prepaid_principal=prepaid,
        charged_off=charged_off, recoveries=np.asarray(panel.recoveries), delinquency_bucket=bucket,
        age=age, extended=None, cutoff_balance=float(panel.cutoff_balance.sum()),
        source=panel.source,
    )


def regab_activity(history: RegabHistory) -> LoanActivity:
    """The monthly flows of EX-102 files, from the reported fields (``docs/surveillance.md``).

    Charged-off principal, scheduled principal, recoveries (``recoveredAmount`` plus
    ``repossessedProceedsAmount``), delinquency (``currentDelinquencyStatus`` days: 30-59,
    60-89, 90+) and extensions (``paymentExtendedNumber`` > 0) as reported; principal collected
    above the scheduled principal is prepaid. The cut-off balance is the first period's
    beginning pool balance; the loan age is ``originalLoanTerm - remainingTermToMaturityNumber``.
    """
    v, present = history.values, history.present
    prior = np.where(present, v["beginning_balance"], 0.0)
    charged_off = np.where(present, v["charged_off"], 0.0)
    collected = np.where(present, v["principal_collected"], 0.0)
    charged = charged_off > 0.0
    due = np.where(present & ~charged, np.minimum(v["scheduled_principal"], prior), 0.0)
    prepaid = np.where(charged, 0.0, np.maximum(collected - due, 0.0))
    ending = np.where(present, v["ending_balance"], 0.0)
    dpd = v["days_past_due"]
    bucket = np.where(ending > ZERO_BALANCE_TOLERANCE,
                      (dpd >= 30).astype(np.int8) + (dpd >= 60) + (dpd >= 90), 0).astype(np.int8)
    return LoanActivity(
        prior_balance=prior, ending_balance=ending, scheduled_due=due,
        regular_principal=collected - prepaid, prepaid_principal=prepaid,
        charged_off=charged_off, recoveries=v["recovered"] + v["repossession_proceeds"],
        delinquency_bucket=bucket,
        age=(v["original_term"] - v["remaining_term"]).astype(np.int64),
        extended=present & (v["payment_extended"] > 0),
        cutoff_balance=float(prior[:, 0].sum()), source=", ".join(history.sources),
    )


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def performance_indicators(activity: LoanActivity) -> pd.DataFrame:
    """Monthly pool indicators (:data:`INDICATOR_COLUMNS`), one row per month ``1..n``.

    Notes
    -----
    With ``B`` the pool balance, ``S`` the scheduled principal due, ``P`` prepaid principal,
    ``G`` charged-off (gross loss) and ``R`` recoveries of the month, ``B0`` the cut-off
    balance: ``SMM = P / (B_prior - S - G)``, ``MDR = G / (B_prior - S)``, CPR and CDR by
    12-month compounding, ``ABS = SMM / (1 + SMM (age - 1))`` at the balance-weighted loan age,
    ``cnl = cumsum(G - R) / B0``, ``severity = cumsum(G - R) / cumsum(G)``,
    ``recovery_rate = cumsum(R) / cumsum(G)``, ``annualised_net_loss = 12 (G - R) / ((B_prior
    + B) / 2)``, delinquency buckets as shares of ``B``. ``docs/surveillance.md`` gives the
    sources.
    """
    a = activity
    prior = a.prior_balance.sum(axis=0)
    balance = a.ending_balance.sum(axis=0)
    due = a.scheduled_due.sum(axis=0)
    prepaid = a.prepaid_principal.sum(axis=0)
    gross = a.charged_off.sum(axis=0)
    recovered = a.recoveries.sum(axis=0)
    net = gross - recovered
    smm = _ratio(prepaid, prior - due - gross)
    mdr = _ratio(gross, prior - due)
    age = _ratio((a.prior_balance * a.age).sum(axis=0), prior)
    b0 = a.cutoff_balance
    cum_gross, cum_net = np.cumsum(gross), np.cumsum(net)
    table = {
        "pool_balance": balance,
        "pool_factor": balance / b0,
        "n_loans": (a.ending_balance > ZERO_BALANCE_TOLERANCE).sum(axis=0),
        "scheduled_principal": a.regular_principal.sum(axis=0),
        "prepaid_principal": prepaid,
        "smm": smm,
        "cpr": smm_to_cpr(smm),
        "abs_speed": smm / (1.0 + smm * (age - 1.0)),
        "gross_loss": gross,
        "recoveries": recovered,
        "net_loss": net,
        "gross_loss_ratio": gross / b0,
        "net_loss_ratio": net / b0,
        "cumulative_gross_loss": cum_gross / b0,
        "cnl": cum_net / b0,
        "mdr": mdr,
        "cdr": mdr_to_cdr(mdr),
        "severity": _ratio(cum_net, cum_gross),
        "recovery_rate": _ratio(np.cumsum(recovered), cum_gross),
        "annualised_net_loss": _ratio(12.0 * net, 0.5 * (prior + balance)),
    }
    for k, name in ((1, "delinquent_30"), (2, "delinquent_60"), (3, "delinquent_90")):
        table[name] = _ratio((a.ending_balance * (a.delinquency_bucket == k)).sum(axis=0),
                             balance)
    if a.extended is not None:
        table["extended"] = a.extended.sum(axis=0)
        table["extended_ratio"] = _ratio((a.ending_balance * a.extended).sum(axis=0), balance)
    n_months = a.prior_balance.shape[1]
    return pd.DataFrame(table, index=pd.RangeIndex(1, n_months + 1, name="month"))
