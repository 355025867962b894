"""Deal state at a reporting date: the status file a monthly servicer/trustee report gives.

A :class:`DealStatus` holds what a projection from a reporting date needs to start the deal
mid-life: the reporting and collection period dates and payment period, pool balance and loan
count, note balances and unpaid interest by class, the reserve and OC amounts, cumulative gross
and net losses, 30/60/90+ delinquent balances, the sequential switch and each trigger's state
(breached, last value, the recent values a rolling-average trigger needs, cure counter).
:func:`load_status` reads and validates a YAML file (every error names the file and the dotted
field), with a deal also against its class and trigger names; :func:`status_from_run`
derives one from a path of a run of the deal (``autoabs status``: its deterministic run).
``docs/surveillance.md`` documents the schema.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import numpy as np
import yaml
from pydantic import Field, ValidationError

from portfolio._io import atomic_write
from portfolio._yaml import read_yaml_file
from portfolio.errors import InputError, Problem
from portfolio.schema import MAX_MONTH, MONEY_MAX, InputModel, pydantic_problems
from simulation.collateral import FIELD_NAMES
from simulation.deal import Deal
from simulation.waterfall import TrancheFlows, WaterfallProgram

__all__ = ["ClassStatus", "DealStatus", "TriggerStatus", "load_status", "status_from_run",
           "status_problems", "write_status"]

_FIELD = {name: k for k, name in enumerate(FIELD_NAMES)}
Money = Annotated[float, Field(ge=0.0, le=MONEY_MAX)]
Ratio = Annotated[float, Field(ge=-1.0, le=1.0)]


class ClassStatus(InputModel):
    """One class after the reporting date's payments (USD)."""

    balance: Money
    unpaid_interest: Money = 0.0


class TriggerStatus(InputModel):
    """One trigger at the reporting date.

    ``value`` is the metric the trigger tested on the reporting date (decimal); ``history``
    the metric's monthly values, oldest first, that a rolling average still needs (at most the
    trigger's window, the last one ``value``); ``cure_counter`` the consecutive periods the
    trigger has been cured (curable triggers).
    """

    breached: bool
    value: Ratio | None = None
    history: list[Ratio] = []
    cure_counter: Annotated[int, Field(ge=0, le=MAX_MONTH)] = 0


class DealStatus(InputModel):
    """Deal state at a reporting date (after that date's payments).

    The amounts a projection carries on (:func:`simulation.asof.waterfall_start`): note
    balances and unpaid interest, the reserve, the pool (and, with a yield supplement, the
    adjusted pool), cumulative net loss, fee and swap arrears, servicer advances outstanding,
    trigger states and the delinquency history of rolling-average triggers, an event of
    default and the grace-period counts of payment defaults.
    """

    deal: Annotated[str, Field(min_length=1, max_length=200)]
    period: Annotated[int, Field(ge=1, le=MAX_MONTH)]
    reporting_date: dt.date
    collection_period_end: dt.date
    original_pool_balance: Annotated[float, Field(gt=0.0, le=MONEY_MAX)]
    original_adjusted_pool_balance: Annotated[float, Field(gt=0.0, le=MONEY_MAX)] | None = None
    pool_balance: Money
    adjusted_pool_balance: Money | None = None
    loan_count: Annotated[float, Field(ge=0.0)] | None = None
    classes: dict[str, ClassStatus]
    reserve_balance: Money = 0.0
    oc_amount: Annotated[float, Field(ge=-MONEY_MAX, le=MONEY_MAX)] = 0.0
    cumulative_gross_loss: Money = 0.0
    cumulative_net_loss: Annotated[float, Field(ge=-MONEY_MAX, le=MONEY_MAX)] = 0.0
    delinquent_30: Money = 0.0
    delinquent_60: Money = 0.0
    delinquent_90: Money = 0.0
    fee_arrears: dict[str, Money] = {}
    swap_arrears: Money = 0.0
    servicer_advances_outstanding: Money = 0.0
    sequential: bool = False
    event_of_default: bool = False
    interest_default_periods: Annotated[int, Field(ge=0, le=MAX_MONTH)] = 0
    principal_default_periods: Annotated[int, Field(ge=0, le=MAX_MONTH)] = 0
    triggers: dict[str, TriggerStatus] = {}

    @property
    def label(self) -> str:
        """``period 12 (2026-05-18)``: the reporting period and date, for messages."""
        return f"period {self.period} ({self.reporting_date})"


def status_problems(status: DealStatus, deal: Deal) -> list[Problem]:
    """Cross-checks against the deal: the same classes and triggers, balances that fit."""
    problems: list[Problem] = []
    classes = [n.name for n in deal.notes]
    if sorted(status.classes) != sorted(classes):
        problems.append(Problem(None, "classes", (
            f"expected the deal's classes {', '.join(classes)}; got "
            f"{', '.join(status.classes) or 'none'}")))
    triggers = [t.name for t in deal.triggers]
    unknown = sorted(set(status.triggers) - set(triggers))
    if unknown:
        problems.append(Problem(None, "triggers", f"not triggers of the deal: "
                                f"{', '.join(unknown)} (deal: {', '.join(triggers) or 'none'})"))
    for t in deal.triggers:
        state = status.triggers.get(t.name)
        if state is not None and len(state.history) > t.window:
            problems.append(Problem(None, f"triggers.{t.name}.history", (
                f"holds {len(state.history)} values; the trigger averages {t.window}")))
    if status.pool_balance > status.original_pool_balance:
        problems.append(Problem(None, "pool_balance", (
            f"{status.pool_balance:,.2f} exceeds the original pool balance "
            f"{status.original_pool_balance:,.2f}")))
    fees = [f.name for f in deal.fees]
    unknown = sorted(set(status.fee_arrears) - set(fees))
    if unknown:
        problems.append(Problem(None, "fee_arrears", f"not fees of the deal: "
                                f"{', '.join(unknown)} (deal: {', '.join(fees) or 'none'})"))
    if status.collection_period_end > status.reporting_date:
        problems.append(Problem(None, "collection_period_end", (
            f"{status.collection_period_end} is after the reporting date "
            f"{status.reporting_date}")))
    return problems


def load_status(path: str | Path, deal: Deal | None = None) -> DealStatus:
    """Read and validate a status YAML file (and, with ``deal``, check it against the deal).

    Raises
    ------
    InputError
        Naming the file and every invalid field (dotted path) with the problem.
    """
    source = str(path)
    raw = read_yaml_file(Path(path))
    if not isinstance(raw, dict):
        raise InputError(source, "expected a mapping with deal, period, reporting_date, ...")
    try:
        status = DealStatus.model_validate(raw)
    except ValidationError as exc:
        raise InputError(source, pydantic_problems(exc)) from None
    problems = status_problems(status, deal) if deal is not None else []
    if problems:
        raise InputError(source, problems)
    return status


def write_status(status: DealStatus, path: str | Path) -> Path:
    """Write a status file (YAML) atomically."""
    text = yaml.safe_dump(status.model_dump(mode="json"), sort_keys=False)

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")
    return atomic_write(Path(path), write)


def _cure_counter(name: str, breached_by_period: list[set[str]]) -> int:
    """Consecutive periods, up to the last, without a breach of ``name`` since its last one."""
    run = 0
    for breached in reversed(breached_by_period):
        if name in breached:
            return run
        run += 1
    return 0  # never breached: nothing cured


def status_from_run(deal: Deal, program: WaterfallProgram, tranche_flows: TrancheFlows,
                    pool_flows: np.ndarray, period: int, path: int = 0) -> DealStatus:
    """The status after payment period ``period`` of one path of a run from closing.

    Parameters
    ----------
    deal : Deal
        The deal run.
    program : WaterfallProgram
        Its compiled program (from closing).
    tranche_flows : TrancheFlows
        The waterfall's results on ``pool_flows``.
    pool_flows : numpy.ndarray
        ``(n_paths, n_periods, 11)`` PoolFlows of the run (or ``(n_periods, 11)``).
    period : int
        Reporting period (1-based payment period).
    path : int
        The path.

    Notes
    -----
    Every amount the waterfall carries to the next payment date, the cumulative net loss and
    the 60+ delinquency ratios its triggers test included, is read off its outputs, so a
    projection from the status continues the path exactly
    (``tests/simulation/test_asof.py``). Trigger values follow the trigger definitions
    (:class:`~simulation.deal.Trigger`): CNL over the original pool, the 60+ delinquency
    ratio averaged over its window, OC after the previous payment date. A curable
    trigger's cure counter is the number of consecutive periods up to the reporting period in
    which it was not breached, counted since its last breach (0 when it is breached now, was
    never breached, or is not curable); the waterfall cures a curable trigger as soon as its
    test passes, so the counter records how long the cure has held.
    """
    if program.start is not None:
        raise ValueError("status_from_run reads a run from closing")
    tf = tranche_flows
    flows = np.asarray(pool_flows, dtype=np.float64)
    flows = flows[path] if flows.ndim == 3 else flows
    last = tf.n_periods
    if not 1 <= period <= last:
        raise InputError("--month", f"must lie in 1..{last} (the run's periods), got {period}")
    t = period - 1
    schedule = program.schedule(last)
    original = program.initial_pool_balance
    ysoc = deal.yield_supplement is not None
    cum_net = float(tf.cumulative_net_loss[path, t])
    dq_ratio = tf.delinquency_60_ratio[path, :period]
    breached_by_period = [{name for k, name in enumerate(tf.trigger_names)
                           if tf.trigger_breached[path, k, s]} for s in range(period)]
    notes_before = float(tf.ending_balance[path, :, t - 1].sum()) if t > 0 else float(
        program.original_balance.sum())
    prior_pool = (float(tf.adjusted_pool_balance[path, t - 1]) if t > 0
                  else program.initial_adjusted_pool_balance)
    triggers = {}
    for k, trig in enumerate(deal.triggers):
        if trig.metric == "cnl":
            history = [cum_net / original]
        elif trig.metric == "delinquency_60":
            history = [float(v) for v in dq_ratio[-trig.window:]]
        else:
            history = [(prior_pool - notes_before) / prior_pool if prior_pool > 0 else 0.0]
        triggers[trig.name] = TriggerStatus(
            breached=bool(tf.trigger_breached[path, k, t]), value=float(np.mean(history)),
            history=history if trig.metric == "delinquency_60" else [],
            cure_counter=_cure_counter(trig.name, breached_by_period) if trig.curable else 0)
    unpaid = np.maximum(tf.interest_due[path, :, t] - tf.interest_paid[path, :, t], 0.0)
    at = flows[t]
    eod = int(tf.event_of_default_period[path])
    return DealStatus(
        deal=deal.name, period=period,
        reporting_date=schedule.paid[t].astype(dt.date),
        collection_period_end=schedule.collection_end[t].astype(dt.date),
        original_pool_balance=original,
        original_adjusted_pool_balance=program.initial_adjusted_pool_balance if ysoc else None,
        pool_balance=float(tf.pool_balance[path, t]),
        adjusted_pool_balance=float(tf.adjusted_pool_balance[path, t]) if ysoc else None,
        loan_count=float(at[_FIELD["n_active"]]),
        classes={name: ClassStatus(balance=float(tf.ending_balance[path, c, t]),
                                   unpaid_interest=float(unpaid[c]))
                 for c, name in enumerate(program.classes)},
        reserve_balance=float(tf.reserve_balance[path, t]),
        oc_amount=float(tf.oc_amount[path, t]),
        cumulative_gross_loss=float(flows[:period, _FIELD["defaulted_principal"]].sum()),
        cumulative_net_loss=cum_net,
        delinquent_30=float(at[_FIELD["delinquent_30"]]),
        delinquent_60=float(at[_FIELD["delinquent_60"]]),
        delinquent_90=float(at[_FIELD["delinquent_90p"]]),
        fee_arrears={name: float(tf.fee_arrears[path, j, t])
                     for j, name in enumerate(program.fee_names)},
        swap_arrears=float(tf.swap_arrears[path, t]),
        servicer_advances_outstanding=float(tf.advances_outstanding[path, t]),
        sequential=bool(tf.sequential_mode[path, t]),
        event_of_default=0 <= eod <= t,
        interest_default_periods=int(tf.interest_default_run[path, t]),
        principal_default_periods=int(tf.principal_default_run[path, t]),
        triggers=triggers,
    )
