"""Deterministic mode on a three-loan pool worked by hand, month by month."""

import numpy as np
import pytest

from portfolio.tape import tape_from_columns
from simulation.deterministic import project_deterministic


@pytest.fixture
def three_loans():
    # a: 10,000 at 12% over 4 months (level); b: 6,000 at 6% over 3; c: 3,000 at 0% over 2.
    return tape_from_columns({
        "loan_id": np.array(["a", "b", "c"]),
        "balance": np.array([10_000.0, 6_000.0, 3_000.0]),
        "rate": np.array([0.12, 0.06, 0.0]),
        "original_term": np.array([4, 3, 2]),
        "remaining_term": np.array([4, 3, 2]),
    })


def hand_worked(mdr, smm, severity, lag, chargeoff):
    """The worked example, written out loan by loan with the textbook formulas.

    Level payment P = B r / (1 - (1+r)^-n). Each month: defaulting share d = S * MDR of the
    scheduled balance b; survivors S(1-MDR) pay b*r and the scheduled principal P - b r; a share
    SMM of the survivors prepays b - (P - b r). Charge-off (chargeoff - 1) months after the
    first missed payment, recovery (1 - severity) `lag` months after that.
    """
    loans = [(10_000.0, 0.01, 4), (6_000.0, 0.005, 3), (3_000.0, 0.0, 2)]
    horizon = 4 + chargeoff + lag
    rows = {k: np.zeros(horizon) for k in ("interest", "sched", "prepaid", "co", "rec", "dq")}
    for balance, r, n in loans:
        pay = balance * r / (1 - (1 + r) ** -n) if r else balance / n
        b, alive = balance, 1.0
        for t in range(n):
            d = alive * mdr
            surv = alive - d
            sched = b if t == n - 1 else pay - b * r
            rows["interest"][t] += surv * b * r
            rows["sched"][t] += surv * sched
            rows["prepaid"][t] += surv * smm * (b - sched)
            for j in range(chargeoff - 1):
                rows["dq"][t + j] += d * b
            rows["co"][t + chargeoff - 1] += d * b
            rows["rec"][t + chargeoff - 1 + lag] += d * b * (1 - severity)
            alive = surv * (1 - smm)
            b -= sched
    return rows


def test_three_loan_pool_month_by_month(three_loans):
    got = project_deterministic(three_loans, mdr=0.01, smm=0.02, severity=0.4, recovery_lag=1,
                                chargeoff_months=2)
    want = hand_worked(0.01, 0.02, 0.4, 1, 2)
    n = len(got)
    assert np.allclose(got["interest"], want["interest"][:n], atol=1e-8, rtol=0)
    assert np.allclose(got["scheduled_principal"], want["sched"][:n], atol=1e-8, rtol=0)
    assert np.allclose(got["prepaid_principal"], want["prepaid"][:n], atol=1e-8, rtol=0)
    assert np.allclose(got["defaulted_principal"], want["co"][:n], atol=1e-8, rtol=0)
    assert np.allclose(got["recoveries"], want["rec"][:n], atol=1e-8, rtol=0)
    assert np.allclose(got["delinquent_30"], want["dq"][:n], atol=1e-8, rtol=0)


def test_first_month_numbers_by_hand(three_loans):
    # Month 1, literally: loan a pays P = 2562.8109...; interest on survivors (0.99):
    # a: 0.99*100 = 99, b: 0.99*30 = 29.7, c: 0  -> 128.7
    got = project_deterministic(three_loans, mdr=0.01, smm=0.02, severity=0.4, recovery_lag=1,
                                chargeoff_months=2)
    assert got.loc[1, "interest"] == pytest.approx(128.7, abs=1e-10)
    assert got.loc[1, "delinquent_30"] == pytest.approx(0.01 * 19_000, abs=1e-10)
    assert got.loc[1, "defaulted_principal"] == 0.0
    assert got.loc[2, "defaulted_principal"] == pytest.approx(190.0, abs=1e-10)
    assert got.loc[3, "recoveries"] == pytest.approx(190.0 * 0.6, abs=1e-10)


def test_balance_conservation(three_loans):
    got = project_deterministic(three_loans, cdr=0.05, abs_speed=0.015, severity=0.5,
                                recovery_lag=3, chargeoff_months=4)
    principal = got[["scheduled_principal", "prepaid_principal", "defaulted_principal"]].sum()
    assert principal.sum() == pytest.approx(19_000.0, rel=1e-12)
    assert got["ending_balance"].iloc[-1] == 0.0
    assert got["recoveries"].sum() == pytest.approx(0.5 * got["defaulted_principal"].sum())


def test_no_defaults_no_prepay_is_the_schedule(three_loans):
    import numpy_financial as npf

    got = project_deterministic(three_loans)
    pay_a = -npf.pmt(0.01, 4, 10_000)
    pay_b = -npf.pmt(0.005, 3, 6_000)
    assert got.loc[1, "interest"] + got.loc[1, "scheduled_principal"] == pytest.approx(
        pay_a + pay_b + 1500.0, abs=1e-9)
    assert got["prepaid_principal"].sum() == 0.0


def test_bad_vectors_raise(three_loans):
    with pytest.raises(ValueError, match="mdr or cdr"):
        project_deterministic(three_loans, mdr=0.01, cdr=0.1)
    with pytest.raises(ValueError, match="smm must lie"):
        project_deterministic(three_loans, smm=1.5)


def test_a_line_with_an_earlier_cutoff_pays_its_first_months_in_period_one(three_loans):
    # Loan a with its own cut-off one month before the pool's: period 1 collects its months 1
    # and 2 (hand-worked example), period 2 its month 3, period 3 its month 4; b and c as before.
    early = tape_from_columns({**{f: getattr(three_loans, f) for f in
                                  ("loan_id", "balance", "rate", "original_term",
                                   "remaining_term")},
                               "months_before_cutoff": np.array([1, 0, 0])})
    got = project_deterministic(early, mdr=0.01, smm=0.02, severity=0.4, recovery_lag=1,
                                chargeoff_months=2)
    a_alone = project_deterministic(three_loans.subset(np.array([0])), mdr=0.01, smm=0.02,
                                    severity=0.4, recovery_lag=1, chargeoff_months=2)
    bc = project_deterministic(three_loans.subset(np.array([1, 2])), mdr=0.01, smm=0.02,
                               severity=0.4, recovery_lag=1, chargeoff_months=2)
    for field in ("interest", "scheduled_principal", "prepaid_principal",
                  "defaulted_principal", "recoveries"):
        a = a_alone[field].to_numpy()
        folded = np.concatenate([[a[0] + a[1]], a[2:], [0.0]])[:len(got)]
        want = folded + np.pad(bc[field].to_numpy(), (0, len(got)))[:len(got)]
        assert np.allclose(got[field], want, atol=1e-9, rtol=0), field
    # the delinquent balance is the one at the end of the (two-month) first period
    assert got.loc[1, "delinquent_30"] == pytest.approx(
        a_alone.loc[2, "delinquent_30"] + bc.loc[1, "delinquent_30"], abs=1e-9)
    assert got["ending_balance"].iloc[-1] == 0.0
    assert got.loc[1, "ending_balance"] == pytest.approx(
        a_alone.loc[2, "ending_balance"] + bc.loc[1, "ending_balance"], abs=1e-9)


def test_abs_of_a_line_with_an_earlier_cutoff_runs_from_its_own_cutoff(three_loans):
    # ABS by age: the early line's month 1 is its own first month (age + 1).
    cols = {f: getattr(three_loans, f) for f in ("loan_id", "balance", "rate",
                                                 "original_term", "remaining_term")}
    early = tape_from_columns({**cols, "months_before_cutoff": np.array([2, 2, 2])})
    got = project_deterministic(early, abs_speed=0.015)
    own = project_deterministic(three_loans, abs_speed=0.015)
    assert got.loc[1, "prepaid_principal"] == pytest.approx(
        own.loc[1:3, "prepaid_principal"].sum(), abs=1e-9)
    assert got.loc[2, "prepaid_principal"] == pytest.approx(own.loc[4, "prepaid_principal"])
