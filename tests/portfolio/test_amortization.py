"""Amortisation schedules against numpy-financial and hand-worked examples."""

import numpy as np
import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portfolio.amortization import (
    installments,
    level_payment,
    next_balance,
    principal_due,
    schedule,
)
from portfolio.tape import BALLOON, EQUAL_PRINCIPAL, LEASE, LEVEL


@given(
    balance=st.floats(1_000, 200_000),
    # numpy-financial's pmt cancels catastrophically at vanishing rates (relative error
    # ~ 1e-16 / r: at apr 6e-8 it is off by 1.5e-5 on 1,000), so the oracle covers zero and
    # real loan rates; tiny positive rates are checked against the closed form below
    apr=st.one_of(st.just(0.0), st.floats(1e-4, 0.35)),
    n=st.integers(1, 96),
)
@settings(max_examples=200, deadline=None)
def test_level_schedule_matches_numpy_financial(balance, apr, n):
    s = schedule(balance, apr, n, "level")
    r = apr / 12
    periods = np.arange(1, n + 1)
    if r > 1e-9:  # numpy-financial divides by zero at vanishing rates
        pmt = -npf.pmt(r, n, balance)
        ipmt = -npf.ipmt(r, periods, n, balance)
        ppmt = -npf.ppmt(r, periods, n, balance)
    else:
        pmt, ipmt, ppmt = balance / n, np.zeros(n), np.full(n, balance / n)
    tol = 1e-9 * max(balance, 1.0)
    assert np.allclose(s["payment"], pmt, rtol=0, atol=tol)
    assert np.allclose(s["interest"], ipmt, rtol=0, atol=tol)
    assert np.allclose(s["principal"], ppmt, rtol=0, atol=tol)
    assert s["ending_balance"].iloc[-1] == pytest.approx(0.0, abs=tol)


@pytest.mark.parametrize("apr", [5.960464477539063e-08, 1e-12, 1e-6])
@pytest.mark.parametrize("n", [1, 2, 60])
def test_level_schedule_at_vanishing_rates_matches_the_closed_form(apr, n):
    """pmt = B r / (1 - (1 + r)^-n), evaluated without cancellation (expm1 / log1p)."""
    r = apr / 12
    exact = 1_000.0 * r / -np.expm1(-n * np.log1p(r))
    s = schedule(1_000.0, apr, n, "level")
    assert np.allclose(s["payment"], exact, rtol=1e-12, atol=0)
    assert s["ending_balance"].iloc[-1] == pytest.approx(0.0, abs=1e-9)


def test_equal_principal_hand_worked():
    # 12,000 at 6% over 4 months: principal 3,000 a month; interest 1% of the balance.
    s = schedule(12_000, 0.12, 4, "equal_principal")
    assert list(s["principal"]) == [3_000.0] * 4
    assert np.allclose(s["interest"], [120.0, 90.0, 60.0, 30.0])
    assert np.allclose(s["payment"], [3_120.0, 3_090.0, 3_060.0, 3_030.0])


def test_balloon_hand_worked():
    # 10,000 at 12% (1%/month) over 3 months with a 4,000 balloon:
    # a = (10,000 - 4,000 v^3) r / (1 - v^3), v = 1/1.01.
    v3 = 1.01 ** -3
    a = (10_000 - 4_000 * v3) * 0.01 / (1 - v3)
    s = schedule(10_000, 0.12, 3, "balloon", 4_000)
    b1 = 10_000 * 1.01 - a
    b2 = b1 * 1.01 - a
    assert s["payment"].iloc[0] == pytest.approx(a, abs=1e-9)
    assert s["ending_balance"].iloc[0] == pytest.approx(b1, abs=1e-9)
    assert s["ending_balance"].iloc[1] == pytest.approx(b2, abs=1e-9)
    # Last payment: the regular instalment plus the balloon (the balance left equals it).
    assert b2 * 1.01 - a == pytest.approx(4_000, abs=1e-9)
    assert s["payment"].iloc[2] == pytest.approx(a + 4_000, abs=1e-9)


def test_lease_residual_hand_worked():
    # 30,000 capitalised cost, 15,000 residual, 0% money factor, 24 months: 625 a month.
    s = schedule(30_000, 0.0, 24, "lease", 15_000)
    assert np.allclose(s["payment"].iloc[:-1], 625.0)
    assert s["payment"].iloc[-1] == pytest.approx(625.0 + 15_000)
    assert s["principal"].sum() == pytest.approx(30_000)


def test_scalar_helpers_agree_with_schedule():
    bal = np.array([20_000.0, 12_000.0, 15_000.0, 25_000.0])
    r = np.array([0.08, 0.05, 0.07, 0.04]) / 12
    n = np.array([50, 36, 40, 30])
    kinds = np.array([LEVEL, EQUAL_PRINCIPAL, BALLOON, LEASE])
    final = np.array([0.0, 0.0, 6_000.0, 14_000.0])
    inst = installments(kinds, bal, r, n, final)
    assert inst[0] == pytest.approx(level_payment(20_000.0, r[0], 50))
    names = ["level", "equal_principal", "balloon", "lease"]
    for k in range(4):
        s = schedule(bal[k], r[k] * 12, int(n[k]), names[k], final[k])
        b = bal[k]
        for t in range(n[k]):
            pr = principal_due(int(kinds[k]), b, r[k], inst[k], t == n[k] - 1)
            assert pr == pytest.approx(s["principal"].iloc[t], abs=1e-9)
            b -= pr
        assert b == pytest.approx(0.0, abs=1e-8)


def test_next_balance_never_negative():
    assert next_balance(1.01, 100.0, 500.0) == 0.0
    assert next_balance(1.0, 100.0, 40.0) == 60.0


def test_bad_schedule_arguments():
    with pytest.raises(ValueError, match="payment_type"):
        schedule(1_000, 0.05, 12, "bullet")
    with pytest.raises(ValueError, match="n_months"):
        schedule(1_000, 0.05, 0)
