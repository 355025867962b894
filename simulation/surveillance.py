"""Trigger headroom and coverage of a deal at a reporting date (issue 14, item 6).

Pure functions of the deal, its status at the reporting date (:mod:`simulation.status`) and a
deal run (:class:`~simulation.run.DealSimulationResult`) that projects it:

- :func:`trigger_headroom`: per trigger, the value on the reporting date, the threshold of the
  current period (stepped schedules), the headroom, and over the remaining life the probability
  of a first breach and its median month, from the run's per-period breach probabilities;
- :func:`class_coverage`: per class, the hard CE now (from the status's balances), the
  remaining expected net loss (from the run's mean pool flows after the reporting date), the
  coverage multiple CE / remaining expected loss, and the implied rating of the projection
  against the closing run's.

The run may start at closing (then ``periods_elapsed = 0`` and only its periods after the
reporting date count) or at the reporting date (``periods_elapsed = status.period``: its
period 1 is the deal's period ``status.period + 1``). ``docs/surveillance.md`` gives the
definitions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from portfolio.errors import InputError
from simulation.deal import Deal
from simulation.metrics import hard_credit_enhancement
from simulation.run.results import DealSimulationResult, class_seniority
from simulation.status import DealStatus

__all__ = [
    "ClassCoverage",
    "TriggerHeadroom",
    "class_coverage",
    "first_breach_distribution",
    "remaining_net_loss",
    "trigger_headroom",
]

BREACHED_BELOW = frozenset({"oc"})
"""Trigger metrics breached below the threshold (the others are breached above)."""


@dataclass(frozen=True)
class TriggerHeadroom:
    """One trigger at the reporting date and over the remaining life.

    Attributes
    ----------
    name, metric : str
        The deal's trigger name and metric (``cnl``, ``delinquency_60``, ``oc``).
    value : float or None
        Metric tested on the reporting date (decimal; the status's ``value``).
    threshold : float
        Threshold of the reporting period (the step of a schedule in force then).
    headroom : float or None
        Distance to the threshold, positive while not breached: ``threshold - value`` for
        metrics breached above, ``value - threshold`` for ``oc``.
    headroom_ratio : float or None
        ``headroom / threshold`` (share of the threshold still free; None at a 0 threshold).
    breached : bool
        Breached on the reporting date (the status's verdict).
    breach_probability : float
        Probability of a first breach after the reporting date (1.0 when already breached).
    median_breach_period : int or None
        Deal period by which half of the breaching paths have breached (None without any).
    breach_by_period : pandas.Series
        Probability of a first breach after the reporting date by each remaining deal period.
    """

    name: str
    metric: str
    value: float | None
    threshold: float
    headroom: float | None
    headroom_ratio: float | None
    breached: bool
    breach_probability: float
    median_breach_period: int | None
    breach_by_period: pd.Series


@dataclass(frozen=True)
class ClassCoverage:
    """One class's enhancement against the loss still expected.

    Attributes
    ----------
    name : str
        Class.
    balance : float
        Note balance on the reporting date (USD).
    hard_ce_now, hard_ce_closing : float
        Hard CE (junior classes + OC + reserve) over the pool balance, now and at closing.
    remaining_net_loss : float
        Expected net loss (charge-offs less recoveries) after the reporting date, USD.
    remaining_cnl : float
        The same over the original pool (the CNL still to come).
    coverage_multiple : float
        ``hard_ce_now x pool balance / remaining_net_loss`` (inf when no loss is expected).
    rating_now, rating_closing : str
        Implied rating of the projection and of the closing run.
    """

    name: str
    balance: float
    hard_ce_now: float
    hard_ce_closing: float
    remaining_net_loss: float
    remaining_cnl: float
    coverage_multiple: float
    rating_now: str
    rating_closing: str


def _remaining_periods(n_periods: int, status: DealStatus, periods_elapsed: int) -> np.ndarray:
    """Boolean mask of a run's periods ``1..n`` that fall after the reporting date."""
    if not 0 <= periods_elapsed <= status.period:
        raise InputError("periods_elapsed", f"must lie in 0..{status.period} (the status "
                         f"period), got {periods_elapsed}")
    deal_period = np.arange(1, n_periods + 1) + periods_elapsed
    return np.asarray(deal_period > status.period)


def first_breach_distribution(breach_by_period: np.ndarray, remaining: np.ndarray
                              ) -> np.ndarray:
    """Probability of a first breach after the reporting date, by each remaining period.

    Parameters
    ----------
    breach_by_period : ndarray, shape (n_periods,)
        Probability that the trigger has been breached by each run period (the run's
        ``<trigger> by period``: the distribution function of the first breach).
    remaining : ndarray of bool, shape (n_periods,)
        The run periods after the reporting date (a suffix).

    Returns
    -------
    ndarray, shape (n_remaining,)
        ``P(breach by t) - P(breach by the reporting date)``.
    """
    by = np.asarray(breach_by_period, dtype=float)
    before = by[~remaining]
    base = float(before[-1]) if before.size else 0.0
    return np.asarray(np.clip(by[remaining] - base, 0.0, 1.0))


def trigger_headroom(deal: Deal, status: DealStatus, thresholds: np.ndarray,
                     projection: DealSimulationResult, *, periods_elapsed: int = 0
                     ) -> list[TriggerHeadroom]:
    """Headroom and projected breach of each of the deal's triggers.

    Parameters
    ----------
    deal : Deal
        The deal.
    status : DealStatus
        Its state at the reporting date.
    thresholds : ndarray, shape (n_triggers, n_deal_periods)
        Threshold of each trigger by deal period (``WaterfallProgram.thresholds``), at least
        through ``status.period``.
    projection : DealSimulationResult
        A run of the deal; its ``triggers`` frame gives ``<name> by period``.
    periods_elapsed : int
        Deal periods before the run's period 1 (0 for a run from closing).
    """
    by_frame = projection.triggers
    remaining = _remaining_periods(len(by_frame), status, periods_elapsed)
    periods = by_frame.index.to_numpy()[remaining] + periods_elapsed
    out = []
    for k, trig in enumerate(deal.triggers):
        state = status.triggers.get(trig.name)
        value = None if state is None else state.value
        breached = bool(state is not None and state.breached)
        threshold = float(thresholds[k, status.period - 1])
        headroom = None
        if value is not None:
            headroom = (value - threshold if trig.metric in BREACHED_BELOW
                        else threshold - value)
        ratio = headroom / threshold if headroom is not None and threshold > 0 else None
        cdf = first_breach_distribution(by_frame[f"{trig.name} by period"].to_numpy(),
                                        remaining)
        probability = 1.0 if breached else (float(cdf[-1]) if cdf.size else 0.0)
        median = None
        if breached:
            median = status.period
        elif probability > 0.0:
            median = int(periods[np.argmax(cdf >= 0.5 * probability)])
        out.append(TriggerHeadroom(
            trig.name, trig.metric, value, threshold, headroom, ratio, breached, probability,
            median, pd.Series(cdf, index=pd.Index(periods, name="period"), name=trig.name)))
    return out


def remaining_net_loss(projection: DealSimulationResult, status: DealStatus, *,
                       periods_elapsed: int = 0) -> float:
    """Expected net loss (charge-offs less recoveries, USD) after the reporting date.

    The sum over the run's periods after the reporting date of its mean
    ``defaulted_principal - recoveries``.
    """
    flows = projection.pool.mean_flows
    remaining = _remaining_periods(len(flows), status, periods_elapsed)
    net = (flows["defaulted_principal"] - flows["recoveries"]).to_numpy(dtype=float)
    return float(net[remaining].sum())


def class_coverage(deal: Deal, status: DealStatus, projection: DealSimulationResult,
                   closing: DealSimulationResult, *, periods_elapsed: int = 0
                   ) -> list[ClassCoverage]:
    """Hard CE now and at closing, remaining expected loss, coverage multiple and ratings.

    Parameters
    ----------
    deal : Deal
        The deal.
    status : DealStatus
        Its state at the reporting date: note balances, pool, reserve and OC give the CE now.
    projection : DealSimulationResult
        The run projecting the deal from (or through) the reporting date: remaining loss and
        the rating now (its class EL and WAL through the idealized EL table).
    closing : DealSimulationResult
        The deal's run from closing: CE and rating at closing (may be ``projection``).
    periods_elapsed : int
        Deal periods before the projection's period 1.

    Notes
    -----
    ``coverage_multiple = hard_ce_now x pool_balance / remaining_net_loss``: the USD of hard
    enhancement below the class per USD of net loss still expected on the pool.
    """
    names = [n.name for n in deal.notes]
    if status.pool_balance <= 0.0:
        raise InputError("pool_balance", "is 0: the deal has no pool left to cover")
    balances = np.array([status.classes[n].balance for n in names])
    ce_now = hard_credit_enhancement(balances, status.pool_balance, status.oc_amount,
                                     status.reserve_balance, seniority=class_seniority(deal))
    loss = remaining_net_loss(projection, status, periods_elapsed=periods_elapsed)
    now = projection.class_summary()
    then = closing.class_summary()
    out = []
    for c, name in enumerate(names):
        ce_usd = float(ce_now[c]) * status.pool_balance
        multiple = ce_usd / loss if loss > 0.0 else float("inf")
        out.append(ClassCoverage(
            name, float(balances[c]), float(ce_now[c]), float(closing.hard_ce[c]), loss,
            loss / status.original_pool_balance, multiple,
            str(now.loc[name, "implied_rating"]), str(then.loc[name, "implied_rating"])))
    return out
