"""Trigger headroom and coverage, worked by hand on small made-up run results."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from portfolio.errors import InputError
from simulation.deal import Trigger, load_deal
from simulation.status import ClassStatus, DealStatus, TriggerStatus
from simulation.surveillance import class_coverage, remaining_net_loss, trigger_headroom
from simulation.waterfall import compile_deal

DEAL = load_deal("examples/subprime_turbo_deal.yaml")
"""Classes A-1 .. E (sequential); triggers delinquency (60+ > 8%, 3 months) and cnl_step_up
(CNL above 6% / 12% / 18% from periods 1 / 13 / 25)."""


def _status(period: int, **triggers: TriggerStatus) -> DealStatus:
    balances = {"A-1": 0.0, "A-2": 30.0, "A-3": 14.0, "B": 15.0, "C": 16.0, "D": 13.0,
                "E": 5.0}
    return DealStatus(
        deal=DEAL.name, period=period, reporting_date=dt.date(2026, 6, 15),
        collection_period_end=dt.date(2026, 5, 31), original_pool_balance=200.0,
        pool_balance=100.0, classes={k: ClassStatus(balance=v) for k, v in balances.items()},
        reserve_balance=2.0, oc_amount=7.0, triggers=triggers)


def _run(first_breach: dict[str, list[int | None]], n_periods: int,
         net_loss: list[float] | None = None, ratings: tuple[str, ...] = ()) -> SimpleNamespace:
    """A made-up run result: each trigger's first-breach period on each of its paths (None:
    never), the mean net loss by period, the class ratings."""
    triggers = {}
    for name, periods in first_breach.items():
        hit = np.array([[p is not None and p <= t for t in range(1, n_periods + 1)]
                        for p in periods], dtype=float)
        triggers[f"{name} by period"] = hit.mean(axis=0)
    index = pd.RangeIndex(1, n_periods + 1, name="period")
    loss = np.zeros(n_periods) if net_loss is None else np.asarray(net_loss)
    flows = pd.DataFrame({"defaulted_principal": loss + 1.0, "recoveries": np.ones(n_periods)},
                         index=index)
    summary = pd.DataFrame({"implied_rating": list(ratings)},
                           index=[n.name for n in DEAL.notes][:len(ratings)])
    return SimpleNamespace(triggers=pd.DataFrame(triggers, index=index),
                           pool=SimpleNamespace(mean_flows=flows),
                           class_summary=lambda: summary, hard_ce=np.linspace(0.5, 0.1, 7))


THRESHOLDS = compile_deal(DEAL, 1e8).thresholds(40)


def test_headroom_takes_the_step_of_the_reporting_period() -> None:
    status = _status(14, cnl_step_up=TriggerStatus(breached=False, value=0.03),
                     delinquency=TriggerStatus(breached=False, value=0.05, history=[0.05] * 3))
    run = _run({"delinquency": [None] * 4, "cnl_step_up": [None] * 4}, 40)
    by = {h.name: h for h in trigger_headroom(DEAL, status, THRESHOLDS, run)}
    cnl = by["cnl_step_up"]
    assert cnl.threshold == 0.12  # the step from period 13
    assert cnl.headroom == pytest.approx(0.09) and cnl.headroom_ratio == pytest.approx(0.75)
    dq = by["delinquency"]
    assert dq.threshold == 0.08
    assert dq.headroom == pytest.approx(0.03) and dq.headroom_ratio == pytest.approx(0.375)
    assert dq.breach_probability == 0.0 and dq.median_breach_period is None


def test_oc_trigger_headroom_is_value_minus_threshold() -> None:
    oc = Trigger(name="oc_test", metric="oc", threshold=0.05, effect="sequential")
    deal = DEAL.model_copy(update={"triggers": [oc]})
    thresholds = compile_deal(deal, 1e8).thresholds(20)
    status = _status(3, oc_test=TriggerStatus(breached=False, value=0.07))
    [h] = trigger_headroom(deal, status, thresholds, _run({"oc_test": [None]}, 20))
    assert h.headroom == pytest.approx(0.02) and h.headroom_ratio == pytest.approx(0.4)


def test_breach_probability_and_median_month_from_a_closing_run() -> None:
    # Four equally weighted paths breach at periods 3, 5, 8 and never. Reporting period 4: the
    # path of period 3 breached before it, so a first breach after it is 2 paths in 4 (5, 8);
    # half of that (1 path in 4) is reached in period 5.
    run = _run({"delinquency": [3, 5, 8, None], "cnl_step_up": [None, None, None, 9]}, 10)
    status = _status(4)
    by = {h.name: h for h in trigger_headroom(DEAL, status, THRESHOLDS, run)}
    dq = by["delinquency"]
    assert dq.breach_probability == pytest.approx(0.5)
    assert dq.median_breach_period == 5
    np.testing.assert_allclose(dq.breach_by_period.to_numpy(), [0.25, 0.25, 0.25, 0.5, 0.5, 0.5])
    assert list(dq.breach_by_period.index) == [5, 6, 7, 8, 9, 10]
    cnl = by["cnl_step_up"]
    assert cnl.breach_probability == pytest.approx(0.25) and cnl.median_breach_period == 9
    assert dq.value is None and dq.headroom is None  # no value in the status


def test_breach_month_of_a_projection_from_the_reporting_date() -> None:
    # The run starts after period 6: its period 1 is the deal's period 7. Breaches at run
    # periods 2, 2, 6 of five paths: probability 3/5; by run period 2 two paths (2/5, at least
    # half of 3/5) have breached, so the median first breach is the deal's period 8.
    run = _run({"delinquency": [2, 2, 6, None, None], "cnl_step_up": [None] * 5}, 8)
    [dq, _] = trigger_headroom(DEAL, _status(6), THRESHOLDS, run, periods_elapsed=6)
    assert dq.breach_probability == pytest.approx(0.6)
    assert dq.median_breach_period == 8
    assert list(dq.breach_by_period.index) == list(range(7, 15))


def test_a_breached_trigger_has_probability_one_at_the_reporting_period() -> None:
    status = _status(14, cnl_step_up=TriggerStatus(breached=True, value=0.13))
    run = _run({"delinquency": [None], "cnl_step_up": [None]}, 30)
    by = {h.name: h for h in trigger_headroom(DEAL, status, THRESHOLDS, run)}
    h = by["cnl_step_up"]
    assert h.breached and h.breach_probability == 1.0 and h.median_breach_period == 14
    assert h.headroom == pytest.approx(-0.01)


def test_coverage_multiple_by_hand() -> None:
    # Pool 100, OC 7, reserve 2; notes A-2 30, A-3 14, B 15, C 16, D 13, E 5 (A-1 paid off).
    # Net loss of 1.0 a month in run periods 1..10, reporting period 4: 6.0 still expected.
    run = _run({"delinquency": [None], "cnl_step_up": [None]}, 10, net_loss=[1.0] * 10,
               ratings=("AAA", "AAA", "AAA", "AA", "A", "BBB", "BB"))
    closing = _run({}, 10, ratings=("AAA", "AAA", "AAA", "AA", "A", "BB", "B"))
    status = _status(4)
    assert remaining_net_loss(run, status) == pytest.approx(6.0)
    cover = {c.name: c for c in class_coverage(DEAL, status, run, closing)}
    # Class B: junior C + D + E = 34, plus OC 7 and reserve 2: 43% of the pool.
    b = cover["B"]
    assert b.hard_ce_now == pytest.approx(0.43)
    assert b.remaining_net_loss == pytest.approx(6.0)
    assert b.remaining_cnl == pytest.approx(6.0 / 200.0)
    assert b.coverage_multiple == pytest.approx(43.0 / 6.0)
    e = cover["E"]
    assert e.hard_ce_now == pytest.approx(0.09) and e.coverage_multiple == pytest.approx(1.5)
    assert (e.rating_now, e.rating_closing) == ("BB", "B")
    assert cover["A-2"].hard_ce_closing == pytest.approx(closing.hard_ce[1])
    # From the reporting date: the whole run is remaining.
    assert remaining_net_loss(run, status, periods_elapsed=4) == pytest.approx(10.0)


def test_periods_elapsed_beyond_the_status_is_refused() -> None:
    run = _run({"delinquency": [None], "cnl_step_up": [None]}, 10)
    with pytest.raises(InputError, match="periods_elapsed"):
        remaining_net_loss(run, _status(4), periods_elapsed=5)
