"""Deal state at a reporting date: the status file a monthly servicer/trustee report gives.

A :class:`DealStatus` holds what a projection from a reporting date needs to start the deal
mid-life: the reporting and collection period dates and payment period, pool balance and loan
count, note balances and unpaid interest by class, the reserve and OC amounts, cumulative gross
and net losses, 30/60/90+ delinquent balances, the sequential switch and each trigger's state
(breached, last value, the recent values a rolling-average trigger needs, cure counter).
:func:`load_status` reads and validates a YAML file (every error names the file and the dotted
field), with a deal also against its class and trigger names; :func:`status_from_cashflows`
derives one from a deterministic run of the deal (``autoabs status``). ``docs/surveillance.md``
documents the schema.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import yaml
from pydantic import Field, ValidationError

from portfolio._io import atomic_write
from portfolio._yaml import read_yaml_file
from portfolio.errors import InputError, Problem
from portfolio.schema import MAX_MONTH, MONEY_MAX, InputModel, pydantic_problems
from simulation.deal import Deal

__all__ = ["ClassStatus", "DealStatus", "TriggerStatus", "load_status", "status_from_cashflows",
           "status_problems", "write_status"]

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
    """Deal state at a reporting date (after that date's payments)."""

    deal: Annotated[str, Field(min_length=1, max_length=200)]
    period: Annotated[int, Field(ge=1, le=MAX_MONTH)]
    reporting_date: dt.date
    collection_period_end: dt.date
    original_pool_balance: Annotated[float, Field(gt=0.0, le=MONEY_MAX)]
    pool_balance: Money
    loan_count: Annotated[float, Field(ge=0.0)] | None = None
    classes: dict[str, ClassStatus]
    reserve_balance: Money = 0.0
    oc_amount: Annotated[float, Field(ge=-MONEY_MAX, le=MONEY_MAX)] = 0.0
    cumulative_gross_loss: Money = 0.0
    cumulative_net_loss: Annotated[float, Field(ge=-MONEY_MAX, le=MONEY_MAX)] = 0.0
    delinquent_30: Money = 0.0
    delinquent_60: Money = 0.0
    delinquent_90: Money = 0.0
    sequential: bool = False
    triggers: dict[str, TriggerStatus] = {}


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


def status_from_cashflows(deal: Deal, classes: pd.DataFrame, pool: pd.DataFrame,
                          period: int) -> DealStatus:
    """The status at payment period ``period`` of a deterministic run of the deal.

    Parameters
    ----------
    deal : Deal
        The deal run.
    classes : pandas.DataFrame
        :func:`~simulation.structuring.cashflow_table` of the run.
    pool : pandas.DataFrame
        :func:`~simulation.deterministic.project_deterministic` of the same run (the pool
        flows by period, ``period`` index).
    period : int
        Reporting period (1-based payment period).

    Notes
    -----
    Trigger values are recomputed from the pool flows by the trigger definitions
    (:class:`~simulation.deal.Trigger`): CNL over the original pool, the 60+ delinquency
    ratio and its window, OC after the previous payment date. A curable trigger's cure
    counter is the number of consecutive periods up to the reporting period in which it was
    not breached, counted since its last breach (0 when it is breached now, was never
    breached, or is not curable); the waterfall cures a curable trigger as soon as its test
    passes, so the counter records how long the cure has held.
    """
    last = int(classes["period"].max())
    if not 1 <= period <= last:
        raise InputError("--month", f"must lie in 1..{last} (the run's periods), got {period}")
    rows = classes[classes["period"] == period]
    first = rows.iloc[0]
    original = float(pool["ending_balance"].iloc[0] + pool[
        ["scheduled_principal", "prepaid_principal", "defaulted_principal"]].iloc[0].sum())
    upto = pool.loc[:period]
    net = (upto["defaulted_principal"] - upto["recoveries"]).cumsum() / original
    balance = upto["ending_balance"].to_numpy()
    dq60 = (upto["delinquent_60"] + upto["delinquent_90p"]).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        dq_ratio = np.where(balance > 0, dq60 / balance, 0.0)
    breached_by_period = [
        set(str(v).split(";")) - {"", "nan"}
        for v in classes.drop_duplicates("period").set_index("period")
        .sort_index().loc[:period, "triggers_breached"]]
    breached = breached_by_period[-1]
    notes_before = (classes[classes["period"] == period]["beginning_balance"].sum())
    triggers = {}
    for t in deal.triggers:
        if t.metric == "cnl":
            history = [float(net.iloc[-1])]
        elif t.metric == "delinquency_60":
            history = [float(v) for v in dq_ratio[-t.window:]]
        else:
            prior_pool = float(pool["ending_balance"].iloc[period - 2]) if period > 1 else original
            history = [(prior_pool - notes_before) / prior_pool if prior_pool > 0 else 0.0]
        value = float(np.mean(history))
        triggers[t.name] = TriggerStatus(
            breached=t.name in breached, value=value,
            history=history if t.metric == "delinquency_60" else [],
            cure_counter=_cure_counter(t.name, breached_by_period) if t.curable else 0)
    at = {name: float(value) for name, value in pool.loc[period].items()
          if isinstance(value, (int, float, np.number))}
    return DealStatus(
        deal=deal.name, period=period,
        reporting_date=dt.date.fromisoformat(str(first["payment_date"])),
        collection_period_end=dt.date.fromisoformat(str(first["collection_period_end"])),
        original_pool_balance=original, pool_balance=at["ending_balance"],
        loan_count=at["n_active"],
        classes={str(r["class"]): ClassStatus(balance=float(r["ending_balance"]),
                                              unpaid_interest=float(r["interest_shortfall"]))
                 for _, r in rows.iterrows()},
        reserve_balance=float(first["reserve_balance"]), oc_amount=float(first["oc_amount"]),
        cumulative_gross_loss=float(upto["defaulted_principal"].sum()),
        cumulative_net_loss=float((upto["defaulted_principal"] - upto["recoveries"]).sum()),
        delinquent_30=at["delinquent_30"], delinquent_60=at["delinquent_60"],
        delinquent_90=at["delinquent_90p"], sequential=bool(first["sequential"]),
        triggers=triggers,
    )
