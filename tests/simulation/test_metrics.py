"""Tranche metrics: hand-computed cases, QuantLib agreement, estimators, closed forms."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import integrate, stats

from simulation import metrics as m

# --------------------------------------------------------------------------------------------
# fixtures: a class's cash flows


def level_amortisation(balance: float, n: int) -> np.ndarray:
    """Principal paid in equal parts over n months, shape (n,)."""
    return np.full(n, balance / n)


def bond_flows(balance: float, coupon: float, principal: np.ndarray) -> np.ndarray:
    """Interest (30/360 monthly on the balance at the start of the month) + principal."""
    start = balance - np.concatenate([[0.0], np.cumsum(principal)[:-1]])
    return start * coupon / 12.0 + principal


def random_class_flows(rng: np.random.Generator, n_paths: int, n_periods: int) -> np.ndarray:
    """Amortising class flows with random prepayment-like principal and a partial write-off."""
    out = np.empty((n_paths, n_periods))
    for i in range(n_paths):
        shares = rng.dirichlet(np.ones(n_periods) * 0.7)
        lost = rng.uniform(0.0, 0.4) if i % 2 else 0.0
        principal = 100.0 * (1.0 - lost) * shares
        out[i] = bond_flows(100.0, 0.055, principal)
    return out


# --------------------------------------------------------------------------------------------
# WAL, yield, durations: hand cases

MONTHS = 1.0 / 12.0  # 30/360 accrual of a whole month


def months_axis(n: int) -> np.ndarray:
    """Times t/12 of whole 30/360 months (a deal on the 15th settling on a 15th)."""
    return np.arange(1, n + 1) / 12.0


def test_wal_of_a_bullet_is_its_maturity() -> None:
    p = np.zeros(36)
    p[-1] = 250.0
    assert m.wal_years(p, months_axis(36)) == pytest.approx(3.0, abs=1e-15)


def test_wal_on_actual_dates_counts_the_short_first_period() -> None:
    # closing 2023-07-26, payments 2023-08-15 (20 days) and 2023-09-15 (51 days): 365-day years
    years = np.array([20.0, 51.0]) / 365.0
    assert m.wal_years(np.array([60.0, 40.0]), years) == pytest.approx(
        (60 * 20 + 40 * 51) / 100 / 365, rel=1e-15)


def test_wal_of_level_amortisation() -> None:
    # sum t / n over t = 1..n = (n + 1) / 2 months
    n = 48
    wal = m.wal_years(level_amortisation(100.0, n), months_axis(n))
    assert wal == pytest.approx((n + 1) / 2 / 12, rel=1e-14)


def test_wal_vectorises_over_paths_and_classes_and_is_nan_without_principal() -> None:
    p = np.zeros((2, 3, 12))
    p[0, 0, 5] = 1.0  # t = 6 -> 0.5 y
    p[0, 1] = 1.0  # level -> 6.5 months
    p[1, 2, 11] = 3.0  # t = 12 -> 1 y
    wal = m.wal_years(p, months_axis(12))
    assert wal.shape == (2, 3)
    assert wal[0, 0] == pytest.approx(0.5)
    assert wal[0, 1] == pytest.approx(6.5 / 12)
    assert wal[1, 2] == pytest.approx(1.0)
    assert np.isnan(wal[0, 2]) and np.isnan(wal[1, 0])
    with pytest.raises(ValueError, match="years"):
        m.wal_years(p, months_axis(11))


def test_yield_of_a_par_bond_is_its_coupon() -> None:
    coupon = 0.0725
    principal = np.zeros(60)
    principal[-1] = 1000.0
    cf = bond_flows(1000.0, coupon, principal)
    assert m.cashflow_yield(cf, 1000.0, MONTHS) == pytest.approx(coupon, abs=1e-13)
    # an amortising par bond too: yield does not depend on the principal schedule at par
    cf_amort = bond_flows(1000.0, coupon, level_amortisation(1000.0, 60))
    assert m.cashflow_yield(cf_amort, 1000.0, MONTHS) == pytest.approx(coupon, abs=1e-13)


def test_money_market_yield_of_a_par_class_with_a_stub_is_its_coupon() -> None:
    # act/360 periods of 20, 31, 31, 30 days: interest = balance * c * days / 360
    days = np.array([20.0, 31.0, 31.0, 30.0])
    alpha = days / 360.0
    principal = np.array([40.0, 30.0, 20.0, 10.0])
    start = 100.0 - np.concatenate([[0.0], np.cumsum(principal)[:-1]])
    cf = start * 0.056 * alpha + principal
    assert m.cashflow_yield(cf, 100.0, alpha) == pytest.approx(0.056, abs=1e-14)
    # by hand: one period, 20 days: 100 (1 + y 20/360) = 100.3111... -> y = 5.60%
    assert m.price_from_yield(np.array([100.0 * (1 + 0.056 * 20 / 360)]), 0.056,
                              np.array([20 / 360])) == pytest.approx(100.0, rel=1e-15)


def test_yield_is_minus_100_percent_on_total_loss() -> None:
    cf = np.zeros((3, 24))
    cf[1, 3] = 5.0  # some interest before the loss
    y = m.cashflow_yield(cf, 100.0, MONTHS)
    assert y[0] == -1.0 and y[2] == -1.0
    assert y[1] == -1.0  # 5 back on 100 after 4 months: below -100% a year, floored


def test_yield_near_total_loss_does_not_overflow() -> None:
    cf = np.zeros(360)
    cf[-1] = 90.0
    expected = 12 * ((0.9) ** (1 / 360) - 1)  # price 100 -> 90 after 360 months
    assert m.cashflow_yield(cf, 100.0, MONTHS) == pytest.approx(expected, rel=1e-12)


def test_yield_solves_the_price_equation_on_many_paths() -> None:
    rng = np.random.default_rng(7)
    cf = rng.uniform(0.0, 4.0, size=(500, 3, 48))
    cf[rng.uniform(size=cf.shape) < 0.3] = 0.0
    price = rng.uniform(20.0, 200.0, size=(500, 3))
    alpha = rng.uniform(28.0, 31.0, size=48) / 360.0
    y = m.cashflow_yield(cf, price, alpha)
    back = m.price_from_yield(cf, y, alpha)
    ok = y > -1.0
    np.testing.assert_allclose(back[ok], price[ok], rtol=1e-10)
    assert ok.mean() > 0.5


def test_yield_matches_numpy_financial() -> None:
    npf = pytest.importorskip("numpy_financial")
    cf = bond_flows(100.0, 0.04, level_amortisation(90.0, 30))
    expected = 12 * npf.irr(np.r_[-98.0, cf])
    assert m.cashflow_yield(cf, 98.0, MONTHS) == pytest.approx(expected, abs=1e-12)


def test_bond_equivalent_yield() -> None:
    y = np.array([0.06, -0.24])
    np.testing.assert_allclose(m.bond_equivalent_yield(y), 2 * ((1 + y / 12) ** 6 - 1))
    back = m.monthly_yield_from_bond_equivalent(m.bond_equivalent_yield(y))
    np.testing.assert_allclose(back, y, rtol=1e-13)
    assert m.bond_equivalent_yield(-30.0) == -1.0  # floored


def test_dirr_is_zero_when_paid_as_promised_and_positive_after_a_loss() -> None:
    promised = bond_flows(100.0, 0.05, level_amortisation(100.0, 36))
    actual = np.vstack([promised, bond_flows(100.0, 0.05, level_amortisation(80.0, 36))])
    d = m.dirr_bp(actual, promised, 100.0, MONTHS)
    assert d[0] == pytest.approx(0.0, abs=1e-9)
    y_loss = m.cashflow_yield(actual[1], 100.0, MONTHS)
    assert d[1] == pytest.approx((0.05 - y_loss) * 1e4, rel=1e-10)
    assert d[1] > 0.0


def test_pv_shared_and_per_path_curves() -> None:
    cf = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 10.0]])
    df = np.array([0.99, 0.98, 0.97])
    np.testing.assert_allclose(m.pv(cf, df), [0.99 + 1.96 + 2.91, 9.7])
    df_paths = np.vstack([df, [1.0, 1.0, 0.5]])
    np.testing.assert_allclose(m.pv(cf, df_paths), [0.99 + 1.96 + 2.91, 5.0])


def test_durations_of_a_zero_coupon() -> None:
    cf = np.zeros(24)
    cf[-1] = 100.0
    assert m.macaulay_duration(cf, 0.06, MONTHS, months_axis(24)) == pytest.approx(2.0, abs=1e-14)
    assert m.modified_duration(cf, 0.06, MONTHS) == pytest.approx(2.0 / 1.005, rel=1e-14)


def test_modified_duration_is_the_price_derivative() -> None:
    cf = bond_flows(100.0, 0.05, level_amortisation(100.0, 48))
    alpha = np.r_[19.0, np.full(47, 30.0)] / 360.0  # a 19-day 30/360 stub
    y, h = 0.045, 1e-6
    prices = m.price_from_yield(cf, np.array([y - h, y + h]), alpha)
    p0 = m.price_from_yield(cf, y, alpha)
    numeric = -(prices[1] - prices[0]) / (2 * h) / p0
    assert m.modified_duration(cf, y, alpha) == pytest.approx(numeric, rel=1e-8)


# --------------------------------------------------------------------------------------------
# QuantLib agreement


def _ql_leg(ql: Any, cashflows: np.ndarray) -> tuple[Any, list[Any]]:
    settle = ql.Date(15, ql.January, 2025)
    leg = [
        ql.SimpleCashFlow(float(a), settle + ql.Period(t, ql.Months))
        for t, a in enumerate(cashflows, start=1)
        if a > 0.0
    ]
    return settle, leg


def test_yield_and_duration_on_whole_months_agree_with_quantlib() -> None:
    try:
        import QuantLib as ql
    except ImportError:  # pragma: no cover - QuantLib is in the test extra
        pytest.skip("QuantLib not importable (pip install QuantLib; it is in the test extra)")
    # 30/360 on monthly dates with the same day of month: year fraction = months / 12 exactly
    dc = ql.Thirty360(ql.Thirty360.BondBasis)
    rng = np.random.default_rng(2025)
    flows = random_class_flows(rng, 12, 60)
    prices = rng.uniform(90.0, 101.0, size=12)
    ours = m.cashflow_yield(flows, prices, MONTHS)
    ours_mod = m.modified_duration(flows, ours, MONTHS)
    ours_mac = m.macaulay_duration(flows, ours, MONTHS, months_axis(60))
    for i in range(flows.shape[0]):
        settle, leg = _ql_leg(ql, flows[i])
        y_ql = ql.CashFlows.yieldRate(
            leg, float(prices[i]), dc, ql.Compounded, ql.Monthly, False, settle, settle,
            1e-14, 10000, 0.05,
        )  # fmt: skip
        assert ours[i] == pytest.approx(y_ql, abs=1e-8)
        mod_ql = ql.CashFlows.duration(
            leg, y_ql, dc, ql.Compounded, ql.Monthly, ql.Duration.Modified, False, settle, settle
        )
        mac_ql = ql.CashFlows.duration(
            leg, y_ql, dc, ql.Compounded, ql.Monthly, ql.Duration.Macaulay, False, settle, settle
        )
        assert ours_mod[i] == pytest.approx(mod_ql, abs=1e-8)
        assert ours_mac[i] == pytest.approx(mac_ql, abs=1e-8)
        npv = ql.CashFlows.npv(leg, float(ours[i]), dc, ql.Compounded, ql.Monthly, False, settle)
        assert npv == pytest.approx(prices[i], rel=1e-10)
        bey_ql = ql.InterestRate(float(ours[i]), dc, ql.Compounded, ql.Monthly).equivalentRate(
            ql.Compounded, ql.Semiannual, 1.0).rate()
        assert m.bond_equivalent_yield(ours[i]) == pytest.approx(bey_ql, abs=1e-12)


def test_wal_agrees_with_quantlib_actual_365_on_adjusted_dates() -> None:
    try:
        import QuantLib as ql
    except ImportError:  # pragma: no cover
        pytest.skip("QuantLib not importable (pip install QuantLib; it is in the test extra)")
    import datetime as dt

    from simulation.dates import payment_schedule
    sched = payment_schedule(dt.date(2023, 7, 26), dt.date(2023, 8, 15), 72)
    dc = ql.Actual365Fixed()
    cal = ql.UnitedStates(ql.UnitedStates.FederalReserve)
    settle = ql.Date(26, ql.July, 2023)
    rng = np.random.default_rng(11)
    principal = rng.uniform(0.0, 3.0, size=(8, 72))
    ours = m.wal_years(principal, sched.years)
    times = [dc.yearFraction(settle, cal.adjust(ql.Date(15, 8, 2023) + ql.Period(t, ql.Months),
                                                ql.Following)) for t in range(72)]
    for i in range(8):
        wal_ql = float(np.dot(times, principal[i]) / principal[i].sum())
        assert ours[i] == pytest.approx(wal_ql, abs=1e-12)


# --------------------------------------------------------------------------------------------
# per path: losses


def test_loss_ratio_shortfall_and_first_loss_period() -> None:
    loss = np.array([[0.0, 5.0], [2.0, 10.0]])
    np.testing.assert_allclose(
        m.principal_loss_ratio(loss, np.array([100.0, 20.0])), [[0, 0.25], [0.02, 0.5]]
    )
    with pytest.raises(ValueError, match="original_balance"):
        m.principal_loss_ratio(loss, np.array([100.0, 0.0]))

    due = np.array([[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    paid = np.array([[1.0, 0.4, 1.3, 1.0], [1.0, 1.0, 0.0, 0.0]])
    np.testing.assert_allclose(m.interest_shortfall(due, paid), [0.3, 2.0])
    # carry-over form: due includes earlier unpaid interest
    due_c = np.array([[1.0, 1.0, 1.6, 1.3]])
    paid_c = np.array([[1.0, 0.4, 1.3, 1.0]])
    np.testing.assert_allclose(
        m.interest_shortfall(due_c, paid_c, due_includes_carryover=True), [0.3]
    )
    np.testing.assert_array_equal(m.first_loss_period(due - paid, tol=1e-12), [2, 3])
    np.testing.assert_array_equal(m.first_loss_period(np.zeros((2, 3, 5))), np.zeros((2, 3)))


# --------------------------------------------------------------------------------------------
# structure


def test_hard_credit_enhancement_of_a_four_class_deal() -> None:
    # A 80, B 8, C 5, D 3 on a 100 pool: OC 4, reserve 0.5
    classes = np.array([80.0, 8.0, 5.0, 3.0])
    ce = m.hard_credit_enhancement(classes, 100.0, 4.0, 0.5)
    np.testing.assert_allclose(ce, [0.205, 0.125, 0.075, 0.045])
    # per path, and pro rata (same rank) do not enhance each other
    classes2 = np.array([[30.0, 50.0, 8.0, 5.0], [15.0, 25.0, 4.0, 2.5]])
    ce2 = m.hard_credit_enhancement(
        classes2, np.array([100.0, 50.0]), np.array([7.0, 3.5]), 0.5, seniority=[0, 0, 1, 2]
    )
    np.testing.assert_allclose(ce2[0], [0.205, 0.205, 0.125, 0.075])
    np.testing.assert_allclose(ce2[1], [0.21, 0.21, 0.13, 0.08])


def test_breakeven_finds_the_kink() -> None:
    calls: list[float] = []

    def loss(mult: float) -> float:
        calls.append(mult)
        return max(0.0, mult - 2.5)

    res = m.breakeven_multiple(loss, tol=1e-6, cnl_at=lambda x: 0.02 * x)
    assert res.bracketed
    assert 2.5 - 1e-6 <= res.multiple <= 2.5
    assert res.upper - res.lower <= 1e-6 and res.upper > 2.5
    assert res.cnl == pytest.approx(0.05, abs=1e-7)
    assert res.n_evaluations == len(calls)


def test_breakeven_unbracketed_and_bad_lower_end() -> None:
    res = m.breakeven_multiple(lambda x: 0.0, max_multiple=16.0)
    assert not res.bracketed and res.multiple == 16.0 and math.isinf(res.upper)
    with pytest.raises(ValueError, match="already loses"):
        m.breakeven_multiple(lambda x: 1.0)
    # noise below loss_tolerance counts as no loss
    res = m.breakeven_multiple(lambda x: 1e-9 + max(0.0, x - 1.2), loss_tolerance=1e-6)
    assert res.multiple == pytest.approx(1.2, abs=1e-4)


def test_breakeven_reuses_known_points_a_guess_and_the_multiple_evaluated() -> None:
    """``known`` points cost no call, a good ``near`` guess closes the bracket in two calls,
    the secant finds a linear kink fast, and a stress set only approximately brackets on the
    multiples it evaluated (here slightly above those asked for); one evaluated outside the
    bracket is an error, not a silent answer."""
    calls: list[float] = []

    def loss(mult: float) -> float:
        calls.append(mult)
        return max(0.0, mult - 2.5)

    known = [(1.0, 0.0), (2.0, 0.0), (4.0, 1.5), (8.0, 5.5)]
    res = m.breakeven_multiple(loss, tol=1e-3, known=known, near=2.5)
    assert len(calls) == res.n_evaluations == 2 and 1.0 not in calls and 4.0 not in calls
    assert 2.5 - 1e-3 <= res.multiple <= 2.5 < res.upper <= res.multiple + 1e-3
    calls.clear()
    res = m.breakeven_multiple(loss, tol=1e-3, known=known)  # secant on (4, 1.5), (8, 5.5)
    assert res.n_evaluations <= 3 and 2.5 - 1e-3 <= res.multiple <= 2.5

    evaluated: list[float] = []

    def approximate(mult: float) -> tuple[float, float]:
        at = mult * (1.0 + 1e-9)
        evaluated.append(at)
        return at, max(0.0, at - 2.5)

    res = m.breakeven_multiple(approximate, hi=2.0, tol=1e-3)
    assert 2.5 - 1e-3 <= res.multiple <= 2.5 < res.upper
    assert res.lower in evaluated and res.upper in evaluated  # evaluated, not asked-for, ends
    with pytest.raises(ValueError, match="outside the bracket"):
        m.breakeven_multiple(lambda x: (0.5, max(0.0, x - 2.5)), lo=1.0, hi=2.0, tol=1e-3,
                             known=[(1.0, 0.0), (3.0, 0.5)])


# --------------------------------------------------------------------------------------------
# lognormal closed form


def test_lognormal_tranche_el_acceptance_values() -> None:
    el_mezz = float(m.lognormal_tranche_el(0.02, 0.01, 0.05, 0.10))
    assert f"{el_mezz * 100:.5g}" == "0.28781"
    el_senior = float(m.lognormal_tranche_el(0.02, 0.01, 0.0975, 1.0))
    assert f"{el_senior:.4g}" == "2.339e-06"


@pytest.mark.parametrize(
    ("mean", "sd", "attach", "detach"),
    [
        (0.02, 0.01, 0.05, 0.10),
        (0.02, 0.01, 0.0975, 1.0),
        (0.02, 0.01, 0.0, 0.03),
        (0.05, 0.04, 0.02, 0.12),
    ],
)
def test_lognormal_tranche_el_matches_quadrature(
    mean: float, sd: float, attach: float, detach: float
) -> None:
    s2 = math.log1p((sd / mean) ** 2)
    dist = stats.lognorm(s=math.sqrt(s2), scale=mean * math.exp(-s2 / 2))
    width = detach - attach

    def tranche_loss(x: float) -> float:
        return min(max(x - attach, 0.0), width) * dist.pdf(x)

    body, _ = integrate.quad(tranche_loss, attach, detach, epsabs=1e-16, epsrel=1e-12, limit=200)
    tail = width * dist.sf(detach)
    expected = (body + tail) / width
    assert float(m.lognormal_tranche_el(mean, sd, attach, detach)) == pytest.approx(
        expected, rel=1e-7
    )


def test_lognormal_tranche_el_vectorises_and_degenerates() -> None:
    el = m.lognormal_tranche_el(0.02, 0.01, np.array([0.0, 0.05]), np.array([0.05, 0.10]))
    assert el.shape == (2,)
    # a zero sd is a point mass: 2% loss on a 1%-3% tranche loses half of it
    assert float(m.lognormal_tranche_el(0.02, 0.0, 0.01, 0.03)) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        m.lognormal_tranche_el(0.02, 0.01, 0.1, 0.05)
