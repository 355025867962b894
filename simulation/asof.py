"""Start a deal mid-life: the waterfall program of a reporting date's status file.

A projection from a reporting date (``--as-of STATUS``) runs the current loan tape through the
collateral engine and the deal's waterfall from the state the status file reports: note
balances and unpaid interest, reserve, pool and adjusted pool, cumulative net loss against the
original pool, fee and swap arrears, servicer advances, trigger states, the delinquency
history of rolling-average triggers, an event of default and its grace-period counts. The
program's periods, payment dates, trigger schedules and legal finals run from the period
after the reporting date; the CNL trigger counts realised plus projected losses against the
original pool. :func:`deal_program` is the one place a run's program is compiled, from closing
or from a status. ``docs/surveillance.md`` documents what a continuation is.
"""

from __future__ import annotations

import numpy as np

from portfolio.errors import InputError, Problem
from portfolio.tape import LoanTape
from simulation.collateral import CollateralInputs
from simulation.deal import Deal
from simulation.status import DealStatus, status_problems
from simulation.waterfall import WaterfallProgram, WaterfallStart, compile_deal
from simulation.yield_supplement import ysoc_schedule

__all__ = ["deal_program", "waterfall_start"]

_BALANCE_MATCH = 1e-9
"""Relative difference below which the status's original pool is the deal's."""
_OC_TOLERANCE_USD = 0.01
"""A reported OC amount further than a cent from the pool less the notes is an error."""


def _delinquency_history(deal: Deal, status: DealStatus, source: str) -> tuple[
        np.ndarray, list[Problem]]:
    """The pool's 60+ delinquency ratios a rolling-average trigger needs, oldest first.

    Every delinquency trigger's ``history`` is the tail of the same monthly series: the
    longest is kept, and the others must agree with it.
    """
    problems: list[Problem] = []
    histories = [(t.name, t.window, status.triggers[t.name].history) for t in deal.triggers
                 if t.metric == "delinquency_60" and t.name in status.triggers]
    if not histories:
        return np.zeros(0), problems
    longest = max(histories, key=lambda h: len(h[2]))[2]
    for name, window, history in histories:
        need = min(window - 1, status.period)
        if len(history) < need:
            problems.append(Problem(None, f"triggers.{name}.history", (
                f"holds {len(history)} values; a projection needs the last {need} monthly "
                f"60+ delinquency ratios up to period {status.period} (its window is "
                f"{window})")))
        elif history and list(longest[len(longest) - len(history):]) != list(history):
            problems.append(Problem(None, f"triggers.{name}.history", (
                "disagrees with the longer history of another delinquency trigger (both are "
                "the pool's monthly 60+ delinquency ratios)")))
    return np.asarray(longest, dtype=np.float64), problems


def waterfall_start(status: DealStatus, deal: Deal, program: WaterfallProgram,
                    source: str = "<status>") -> WaterfallStart:
    """The waterfall state of a status file, checked against the deal and its program.

    Parameters
    ----------
    status : DealStatus
        From :func:`simulation.status.load_status`.
    deal : Deal
        The deal the status reports on.
    program : WaterfallProgram
        The deal compiled from closing for the status's original pool.
    source : str
        The status file's name, for error messages.

    Raises
    ------
    InputError
        Naming ``source`` and each field that does not fit the deal: other classes,
        triggers or fees, a trigger without its state, a reporting date that is not the
        deal's payment date of ``period``, an original pool other than the deal's, an OC
        amount other than the (adjusted) pool less the notes, notes all paid (nothing to
        project). :func:`deal_program` checks the adjusted pool balances a yield-supplement
        deal needs before it compiles the program.
    """
    problems = status_problems(status, deal)
    if status.deal != deal.name:
        problems.append(Problem(None, "deal", f"{status.deal!r} is not the deal "
                                f"{deal.name!r}"))
    missing = [t.name for t in deal.triggers if t.name not in status.triggers]
    if missing:
        problems.append(Problem(None, "triggers", (
            f"a projection needs the state of every trigger; missing {', '.join(missing)}")))
    if problems:
        raise InputError(source, problems)
    paid = program.schedule(status.period).paid[-1].astype(object)
    if status.reporting_date != paid:
        problems.append(Problem(None, "reporting_date", (
            f"{status.reporting_date} is not the deal's payment date of period "
            f"{status.period} ({paid})")))
    if deal.initial_pool_balance is not None and abs(
            status.original_pool_balance / deal.initial_pool_balance - 1.0) > _BALANCE_MATCH:
        problems.append(Problem(None, "original_pool_balance", (
            f"{status.original_pool_balance:,.2f} is not the deal's initial_pool_balance "
            f"{deal.initial_pool_balance:,.2f}")))
    balances = np.array([status.classes[c].balance for c in program.classes])
    if not (balances > 0.0).any():
        problems.append(Problem(None, "classes", "every class is paid: nothing to project"))
    adjusted = (status.adjusted_pool_balance if status.adjusted_pool_balance is not None
                else status.pool_balance)
    oc = adjusted - float(balances.sum())
    if abs(status.oc_amount - oc) > _OC_TOLERANCE_USD + 1e-9 * status.original_pool_balance:
        problems.append(Problem(None, "oc_amount", (
            f"{status.oc_amount:,.2f} is not the (adjusted) pool balance less the notes, "
            f"{adjusted:,.2f} - {float(balances.sum()):,.2f} = {oc:,.2f}")))
    history, more = _delinquency_history(deal, status, source)
    problems += more
    if problems:
        raise InputError(source, problems)
    return WaterfallStart(
        period=status.period,
        class_balance=balances,
        unpaid_interest=np.array([status.classes[c].unpaid_interest for c in program.classes]),
        reserve_balance=status.reserve_balance,
        pool_balance=status.pool_balance,
        adjusted_pool_balance=adjusted,
        cumulative_net_loss=status.cumulative_net_loss,
        fee_arrears=np.array([status.fee_arrears.get(f, 0.0) for f in program.fee_names]),
        swap_arrears=status.swap_arrears,
        advances_outstanding=status.servicer_advances_outstanding,
        trigger_breached=np.array([status.triggers[t].breached for t in program.trigger_names],
                                  dtype=np.bool_),
        event_of_default=status.event_of_default,
        interest_default_run=status.interest_default_periods,
        principal_default_run=status.principal_default_periods,
        delinquency_history=history,
    )


def _ysoc_since_closing(deal: Deal, pool: LoanTape | CollateralInputs, status: DealStatus,
                        source: str) -> np.ndarray | None:
    """A yield-supplement deal's YSOC amounts by period: at the cut-off, then the current loans'.

    The cut-off amount (the original pool less the original adjusted pool) sets the targets
    on the initial adjusted pool; from the reporting date on the amounts are those of the
    loans then (``ysoc_schedule`` of ``pool``); the periods in between are never read.
    ``None`` without a yield supplement.

    Raises
    ------
    InputError
        Naming ``source`` when the status lacks the adjusted pool balances.
    """
    if deal.yield_supplement is None:
        return None
    original_adjusted = status.original_adjusted_pool_balance
    if original_adjusted is None or status.adjusted_pool_balance is None:
        raise InputError(source, [Problem(None, name, (
            "required: the deal has a yield supplement, whose targets run on the adjusted "
            "pool balance")) for name in ("original_adjusted_pool_balance",
                                          "adjusted_pool_balance")
            if getattr(status, name) is None])
    later = ysoc_schedule(pool, deal.yield_supplement.required_rate)
    return np.concatenate([[status.original_pool_balance - original_adjusted],
                           np.zeros(max(status.period - 1, 0)), later])


def deal_program(deal: Deal, pool: LoanTape | CollateralInputs,
                 status: DealStatus | None = None, *, source: str = "<deal>",
                 status_source: str = "<status>") -> WaterfallProgram:
    """The deal's waterfall program for a run on ``pool``: from closing, or from ``status``.

    Parameters
    ----------
    deal : Deal
        The deal.
    pool : LoanTape or CollateralInputs
        The loans run: at the cut-off, or (with ``status``) the current loans.
    status : DealStatus, optional
        The deal at a reporting date; the program then starts after it
        (:meth:`~simulation.waterfall.WaterfallProgram.starting_after`), compiled for the
        original pool (the reserve and OC targets, the clean-up call and the CNL trigger
        count against it) with the YSOC amounts of the current loans.
    source, status_source : str
        The deal and status files, for error messages.
    """
    if status is None:
        return compile_deal(deal, pool, source)
    closing = compile_deal(deal, status.original_pool_balance, source,
                           ysoc_amount=_ysoc_since_closing(deal, pool, status, status_source))
    start = waterfall_start(status, deal, closing, status_source)
    return closing.starting_after(start)
