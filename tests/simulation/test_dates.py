"""Deal dates: business days against QuantLib, 30/360, stub accrual, cut-off checks."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from portfolio.errors import InputError
from simulation.dates import (
    business_day_following,
    default_cutoff_date,
    payment_schedule,
    scheduled_payment_dates,
    thirty_360_days,
)
from simulation.deal import deal_from_dict

ql = pytest.importorskip("QuantLib", reason="QuantLib is the declared test oracle (test extra)")


def test_payment_dates_clip_to_month_end():
    dates = scheduled_payment_dates(dt.date(2024, 1, 31), 3)
    assert [str(d) for d in dates] == ["2024-01-31", "2024-02-29", "2024-03-31"]


def test_following_business_day_matches_quantlib_federal_reserve_calendar():
    cal = ql.UnitedStates(ql.UnitedStates.FederalReserve)
    days = np.arange(np.datetime64("2020-01-01"), np.datetime64("2036-01-01"))
    ours = business_day_following(days, "us_fed")
    for d, adj in zip(days, ours, strict=True):
        day = d.item()
        expected = cal.adjust(ql.Date(day.day, day.month, day.year), ql.Following)
        assert adj.item() == dt.date(expected.year(), expected.month(), expected.dayOfMonth())


def test_following_business_day_matches_quantlib_nyse_calendar():
    cal = ql.UnitedStates(ql.UnitedStates.NYSE)
    fifteenths = scheduled_payment_dates(dt.date(2022, 1, 15), 12 * 12)
    ours = business_day_following(fifteenths, "nyse")
    for d, adj in zip(fifteenths, ours, strict=True):
        day = d.item()
        expected = cal.adjust(ql.Date(day.day, day.month, day.year), ql.Following)
        assert adj.item() == dt.date(expected.year(), expected.month(), expected.dayOfMonth())


def test_hand_worked_business_days():
    # 15 Feb 2025 is a Saturday and 17 Feb Washington's Birthday; 15 Jan 2024 is MLK Day;
    # 15 Oct 2023 a Sunday (16 Oct a business day; Columbus Day was 9 Oct).
    dates = np.array(["2025-02-15", "2024-01-15", "2023-10-15", "2023-08-15"],
                     dtype="datetime64[D]")
    assert [str(d) for d in business_day_following(dates, "us_fed")] == [
        "2025-02-18", "2024-01-16", "2023-10-16", "2023-08-15"]
    assert str(business_day_following(dates[:1], "weekends_only")[0]) == "2025-02-17"


def test_thirty_360_matches_quantlib_bond_basis():
    dc = ql.Thirty360(ql.Thirty360.BondBasis)
    rng = np.random.default_rng(3)
    start = np.datetime64("2020-01-01") + rng.integers(0, 3000, 400)
    end = start + rng.integers(1, 800, 400)
    ours = thirty_360_days(start, end)
    for s, e, d in zip(start, end, ours, strict=True):
        a, b = s.item(), e.item()
        assert d == dc.dayCount(ql.Date(a.day, a.month, a.year), ql.Date(b.day, b.month, b.year))


def test_schedule_of_a_carmax_shaped_deal_worked_by_hand():
    # closing Wed 26 Jul 2023, payments on the 15th: 15 Aug (Tue), 15 Sep (Fri), 15 Oct (Sun)
    # -> 16 Oct, 15 Nov (Wed)
    s = payment_schedule(dt.date(2023, 7, 26), dt.date(2023, 8, 15), 4)
    assert [str(d) for d in s.paid] == ["2023-08-15", "2023-09-15", "2023-10-16", "2023-11-15"]
    np.testing.assert_allclose(s.act_360 * 360, [20, 31, 31, 30])
    # 30/360 stub from 26 Jul to 15 Aug: 19 days; then whole months on the unadjusted 15ths
    np.testing.assert_allclose(s.thirty_360 * 360, [19, 30, 30, 30])
    np.testing.assert_allclose(s.years * 365, [20, 51, 82, 112])
    assert [str(d) for d in s.collection_end] == ["2023-07-31", "2023-08-31", "2023-09-30",
                                                  "2023-10-31"]


def test_default_cutoff_is_the_end_of_the_month_before_the_first_collection_period():
    assert default_cutoff_date(dt.date(2023, 8, 15)) == dt.date(2023, 6, 30)
    assert default_cutoff_date(dt.date(2024, 3, 15)) == dt.date(2024, 1, 31)


BASE = {
    "name": "dates",
    "closing_date": "2023-07-26",
    "first_payment_date": "2023-08-15",
    "initial_pool_balance": 1_000_000,
    "notes": [{"name": "A", "balance": 0.9, "coupon": 0.05}],
    "waterfall": [{"interest": ["A"]}, "regular_principal", "residual"],
}


def test_cutoff_date_is_checked_against_closing_and_the_first_collection_period():
    deal = deal_from_dict(BASE)
    assert deal.pool_cutoff_date == dt.date(2023, 6, 30)
    assert deal_from_dict({**BASE, "cutoff_date": "2023-06-15"}).pool_cutoff_date == dt.date(
        2023, 6, 15)
    with pytest.raises(InputError, match="cutoff_date.*before closing_date"):
        deal_from_dict({**BASE, "cutoff_date": "2023-07-26"}, source="d.yaml")
    late = {**BASE, "closing_date": "2023-08-01", "first_payment_date": "2023-08-15",
            "cutoff_date": "2023-07-31"}
    with pytest.raises(InputError, match="no first collection period"):
        deal_from_dict(late, source="d.yaml")
    with pytest.raises(InputError, match="business_day_calendar"):
        deal_from_dict({**BASE, "business_day_calendar": "london"}, source="d.yaml")
