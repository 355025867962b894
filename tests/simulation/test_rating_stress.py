"""Rating stress runs (simulation/rating_stress.py): oracles on a zero-interest deal, tables."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pytest

from portfolio.errors import InputError
from portfolio.tape import tape_from_columns
from simulation.collateral import FIELD_NAMES
from simulation.deal import deal_from_dict
from simulation.model import model_from_dict
from simulation.rating_stress import (
    BASE_TIMING,
    RatingStressTable,
    StressScenario,
    TimingCurve,
    breakeven_table,
    builtin_rating_stress_table,
    compressed_interest,
    load_rating_stress_table,
    rating_category,
    rating_stress_runs,
    rating_stress_table,
    stress_base,
    stressed_flows,
    table_for_pool,
)

N_LOANS, TERM = 200, 36
OC, B_SIZE = 0.05, 0.15
CHARGED_OFF = FIELD_NAMES.index("defaulted_principal")


def zero_interest_tape():
    """200 identical zero-APR 36-month loans: no interest, so no excess spread."""
    return tape_from_columns({
        "loan_id": [f"L{k}" for k in range(N_LOANS)], "balance": np.full(N_LOANS, 10_000.0),
        "rate": np.zeros(N_LOANS), "original_term": np.full(N_LOANS, TERM),
        "remaining_term": np.full(N_LOANS, TERM), "segment": ["all"] * N_LOANS,
    })


def zero_interest_model():
    """Flat 0.7% monthly default hazard, 1% ABS, severity 50% two months after charge-off."""
    return model_from_dict({
        "default": {"hazard_curves": {"all": {"ages": [1], "values": [0.007]}},
                    "scorecard": {"normalise": False}},
        "delinquency": {"chargeoff_months": 4},
        "prepayment": {"abs_speed": 0.01, "rate_incentive": 0.0},
        "recovery": {"method": "severity", "severity": 0.5, "lag_months": 2},
        "factor": {"type": "none"},
    })


def zero_interest_deal():
    """A (80%) over B (15%) over 5% OC held at 5% of the initial pool; zero coupons, no fees.

    With no interest anywhere, the notes get exactly the pool's net collections: B is paid in
    full iff CNL <= OC = 5%, A iff CNL <= OC + B = 20%, whatever the timing or speed.
    """
    return deal_from_dict({
        "name": "zero-interest", "closing_date": dt.date(2024, 1, 1),
        "first_payment_date": dt.date(2024, 2, 1),
        "notes": [{"name": "A", "balance": 0.80, "coupon": 0.0},
                  {"name": "B", "balance": B_SIZE, "coupon": 0.0}],
        "overcollateralization": {"target_initial": OC, "floor": OC},
        "waterfall": [{"interest": ["A"]}, {"interest": ["B"]}, "regular_principal",
                      "residual"],
    }, source="<test deal>")


@pytest.fixture(scope="module")
def tape():
    return zero_interest_tape()


@pytest.fixture(scope="module")
def model():
    return zero_interest_model()


@pytest.fixture(scope="module")
def deal():
    return zero_interest_deal()


TABLE = RatingStressTable(
    source="test", multiples={"AAA": 3.0, "BBB": 1.5},
    loss_timing={"front": TimingCurve(months=[12, 24, 36], cumulative=[0.6, 0.9, 1.0]),
                 "back": TimingCurve(months=[12, 24, 36], cumulative=[0.2, 0.5, 1.0])},
    abs_speeds=[0.005, 0.02])


def test_breakeven_cnl_is_the_attachment_point_without_excess_spread(tape, model, deal):
    table = breakeven_table(deal, tape, model, TABLE, tol=1e-4)
    assert len(table) == 2 * 3 * 2  # classes x timings (base, front, back) x speeds
    for name, attach in (("A", OC + B_SIZE), ("B", OC)):
        got = table.loc[table["class"] == name, "breakeven_cnl"].to_numpy()
        np.testing.assert_allclose(got, attach, atol=5e-4)
    gross = table["breakeven_cnl"] / 0.5  # severity 0.5
    np.testing.assert_allclose(table["breakeven_gross_loss"], gross)


def test_a_class_passes_exactly_when_its_stressed_cnl_is_covered(tape, model, deal):
    base = stress_base(tape, model)
    runs = rating_stress_runs(deal, tape, model, {"A": "Aaa", "B": "Baa2"}, TABLE)
    assert set(runs["timing"]) == {BASE_TIMING, "front", "back"}
    np.testing.assert_allclose(runs["pool_cnl"], runs["target_cnl"], rtol=2e-3)
    for name, multiple, attach in (("A", 3.0, OC + B_SIZE), ("B", 1.5, OC)):
        mine = runs[runs["class"] == name]
        assert (mine["multiple"] == multiple).all()
        np.testing.assert_allclose(mine["target_cnl"], multiple * base.cnl)
        assert (mine["passes"] == (multiple * base.cnl <= attach)).all()
    # base CNL here is about 4.2%: A (3x = 12.6% <= 20%) passes, B (1.5x = 6.3% > 5%) fails.
    assert 0.035 < base.cnl < 0.05
    assert runs.loc[runs["class"] == "A", "passes"].all()
    assert not runs.loc[runs["class"] == "B", "passes"].any()
    b_loss = runs.loc[runs["class"] == "B", "principal_loss"].to_numpy()
    np.testing.assert_allclose(b_loss, (1.5 * base.cnl - OC) / B_SIZE, atol=2e-3)


def test_front_loaded_curve_puts_its_share_of_defaults_in_year_one(tape, model):
    base = stress_base(tape, model)
    for curve in TABLE.loss_timing.values():
        scenario = StressScenario(tape, base, "t", curve, abs_speed=0.0)
        flows, cnl, _ = scenario.flows_at_cnl(base.cnl)
        assert cnl == pytest.approx(base.cnl, rel=2e-3)
        charged = flows[:, CHARGED_OFF]
        first_missed = charged[3:]  # charge-off 4 months after the first missed payment
        share_year1 = first_missed[:12].sum() / first_missed.sum()
        assert share_year1 == pytest.approx(curve.cumulative[0], abs=0.02)


def test_timing_curve_increments_by_month() -> None:
    inc = TimingCurve(months=[12, 24], cumulative=[0.6, 1.0]).increments(30)
    np.testing.assert_allclose(inc[:12], 0.05)
    np.testing.assert_allclose(inc[12:24], 0.4 / 12)
    np.testing.assert_allclose(inc[24:], 0.0)
    assert inc.sum() == pytest.approx(1.0)


@pytest.mark.parametrize(("rating", "category"), [
    ("Aaa", "AAA"), ("Aa2", "AA"), ("A3", "A"), ("Baa2", "BBB"), ("Ba1", "BB"), ("B3", "B"),
    ("AAA", "AAA"), ("AA-", "AA"), ("BBB+", "BBB"), ("Caa1", "CCC"),
])
def test_rating_category(rating: str, category: str) -> None:
    assert rating_category(rating) == category


def test_unknown_rating_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown rating 'Zz'"):
        rating_category("Zz")
    with pytest.raises(InputError, match="no multiple for AA"):
        TABLE.multiple("Aa1")


def test_builtin_table_is_the_cps_2019a_presale() -> None:
    table = builtin_rating_stress_table()
    assert "CPS Auto Receivables Trust 2019-A" in table.source
    assert table.multiples == {"AAA": 3.10, "AA": 2.60, "A": 2.10, "BBB": 1.60, "BB": 1.23}
    assert table.presale_expected_cnl == [0.1775, 0.1875]
    assert set(table.loss_timing) == {"front", "back"}


@pytest.mark.parametrize(("text", "needle"), [
    ("source: x\nmultiples: {AAA: 2.0, AA: 2.5}\n", "must not increase down the rating scale"),
    ("source: x\nmultiples: {AAA+: 3.0}\n", "unknown rating categories"),
    ("source: x\nmultiples: {AAA: 0.5}\n", "multiples.AAA"),
    ("source: x\nmultiples: {AAA: 3}\nloss_timing: {base: {months: [12], cumulative: [1]}}\n",
     "is the model's own timing"),
    ("source: x\nmultiples: {AAA: 3}\nloss_timing: {f: {months: [12], cumulative: [0.9]}}\n",
     "cumulative must end at 1.0"),
    ("source: x\nmultiples: {AAA: 3}\nabs_speeds: [0.5]\n", "abs_speeds.0"),
])
def test_bad_stress_table_names_the_file_and_field(tmp_path: Path, text: str,
                                                   needle: str) -> None:
    path = tmp_path / "stress.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="stress.yaml") as info:
        load_rating_stress_table(path)
    assert needle in str(info.value)


RECOVERIES = FIELD_NAMES.index("recoveries")
INTEREST = FIELD_NAMES.index("interest")


@pytest.mark.parametrize(("haircut", "a_passes"), [(0.5, True), (0.8, False)])
def test_a_recovery_haircut_adds_its_share_of_the_recoveries_to_the_loss(
        tape, model, deal, haircut: float, a_passes: bool) -> None:
    """Severity 50%: cutting the recovery by h makes the severity 1 - 0.5 (1 - h), so the AAA
    runs (3x base CNL of about 4.2%, at the base recovery) lose 3 x CNL x (1 - 0.5 (1 - h)) /
    0.5: 18.9% at h = 0.5 (A, attached at 20%, paid) and 22.7% at h = 0.8 (A not paid)."""
    table = TABLE.model_copy(update={"recovery_haircut": {"AAA": haircut}})
    base = stress_base(tape, model)
    runs = rating_stress_runs(deal, tape, model, {"A": "Aaa", "B": "Baa2"}, table)
    a, b = runs[runs["class"] == "A"], runs[runs["class"] == "B"]
    stressed = 1.0 - 0.5 * (1.0 - haircut)
    np.testing.assert_allclose(a["severity"], stressed)
    np.testing.assert_allclose(a["pool_cnl"], 3.0 * base.cnl * stressed / 0.5, rtol=3e-3)
    assert (a["passes"] == a_passes).all()
    assert (a["passes"] == (a["pool_cnl"] <= OC + B_SIZE)).all()
    if not a_passes:
        np.testing.assert_allclose(a["principal_loss"],
                                   (a["pool_cnl"] - OC - B_SIZE) / 0.80, atol=2e-3)
    # BBB has no haircut: its runs keep the model's severity and lose 1.5x
    np.testing.assert_allclose(b["severity"], 0.5)
    np.testing.assert_allclose(b["pool_cnl"], 1.5 * base.cnl, rtol=2e-3)


def test_a_longer_recovery_lag_moves_the_same_recoveries_later(tape, model) -> None:
    base = stress_base(tape, model)
    scenario = StressScenario(tape, base, BASE_TIMING, None, abs_speed=0.01)
    flows, cnl, _ = scenario.flows_at_cnl(2 * base.cnl)
    later, cnl_later, _ = scenario.flows_at_cnl(2 * base.cnl,
                                                (base.severity, base.recovery_lag + 3))
    assert later.shape[0] == flows.shape[0] + 3
    np.testing.assert_allclose(later[3:, RECOVERIES], flows[:, RECOVERIES], rtol=1e-12,
                               atol=1e-9)
    np.testing.assert_allclose(later[:3, RECOVERIES], 0.0)
    np.testing.assert_allclose(later[:flows.shape[0], CHARGED_OFF], flows[:, CHARGED_OFF])
    assert cnl_later == pytest.approx(cnl, rel=1e-12)


def test_the_table_lag_is_the_rating_s_and_the_model_s_elsewhere() -> None:
    table = TABLE.model_copy(update={"recovery_lag_months": {"AAA": 9}})
    base = stress_base(zero_interest_tape(), zero_interest_model())
    assert table.recovery("Aaa", base) == (pytest.approx(0.5), 9)
    assert table.recovery("Baa2", base) == (pytest.approx(0.5), 2)  # the model's lag


def test_compressed_interest_by_hand() -> None:
    """Half the pool at 0% APR, half at 12% (WAC 6%): with a share f prepaid from the top,
    the loans left have APR (0.5 x 0 + (0.5 - f) x 12%) / (1 - f) until f = 0.5, then 0."""
    prepaid = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    got = compressed_interest(np.full(5, 100.0), prepaid, np.array([0.12, 0.0]),
                              np.array([5.0, 5.0]))
    np.testing.assert_allclose(got, [100.0, 100.0 * (0.25 * 0.12 / 0.75) / 0.06, 0.0, 0.0, 0.0])
    # one rate everywhere: nothing to compress while something is left
    np.testing.assert_allclose(compressed_interest(np.full(4, 7.0), prepaid[:-1],
                                                   np.array([0.05, 0.05]), np.ones(2)), 7.0)


def test_high_apr_loans_prepaying_first_compress_the_pool_s_interest(model) -> None:
    """100 loans at 0% and 100 at 12%, 2% ABS: the share prepaid by the start of period t is
    2% x (t - 1) (ABS on new loans), so period 11 earns 75% of the uncompressed interest
    (0.3 x 12% / 0.8 = 4.5% of a 6% WAC) and nothing once half the pool has prepaid."""
    rates = np.r_[np.zeros(N_LOANS // 2), np.full(N_LOANS // 2, 0.12)]
    two_rates = tape_from_columns({
        "loan_id": [f"L{k}" for k in range(N_LOANS)], "balance": np.full(N_LOANS, 10_000.0),
        "rate": rates, "original_term": np.full(N_LOANS, TERM),
        "remaining_term": np.full(N_LOANS, TERM), "segment": ["all"] * N_LOANS})
    base = stress_base(two_rates, model)
    plain = StressScenario(two_rates, base, BASE_TIMING, None, abs_speed=0.02)
    compressed = StressScenario(two_rates, base, BASE_TIMING, None, abs_speed=0.02,
                                high_apr_prepays_first=True)
    flows, cnl, _ = plain.flows_at_cnl(base.cnl)
    squeezed, cnl_squeezed, _ = compressed.flows_at_cnl(base.cnl)
    assert cnl_squeezed == pytest.approx(cnl, rel=1e-12)
    assert squeezed[10, INTEREST] == pytest.approx(0.75 * flows[10, INTEREST], rel=1e-2)
    np.testing.assert_allclose(squeezed[27:, INTEREST], 0.0, atol=1e-9)
    assert np.all(squeezed[:, INTEREST] <= flows[:, INTEREST] + 1e-9)
    same = [f for f in range(len(FIELD_NAMES)) if f != INTEREST]
    np.testing.assert_allclose(squeezed[:, same], flows[:, same])


@pytest.mark.parametrize(("update", "needle"), [
    ({"recovery_haircut": {"AAA": 0.1, "BBB": 0.3}}, "recovery_haircut must not increase"),
    ({"recovery_haircut": {"AA": 0.1}}, "recovery_haircut: categories ['AA'] have no multiple"),
    ({"recovery_lag_months": {"A": 6}}, "recovery_lag_months: categories ['A']"),
])
def test_bad_recovery_stress_columns_are_refused(update: dict, needle: str) -> None:
    raw = {**TABLE.model_dump(), **update}
    with pytest.raises(ValueError, match=re.escape(needle)):
        RatingStressTable.model_validate(raw)


def test_builtin_prime_table_is_the_carmax_2019_2_report() -> None:
    table = builtin_rating_stress_table("carmax2019-2")
    assert "CarMax Auto Owner Trust 2019-2" in table.source
    assert table.multiples == {"AAA": 5.0, "AA": 4.0, "A": 3.0, "BBB": 2.0}
    assert table.presale_expected_cnl == [0.0215, 0.0225]
    assert not table.recovery_haircut and not table.high_apr_prepays_first


@pytest.mark.parametrize(("cnl", "source"), [
    (0.024, "CarMax Auto Owner Trust 2019-2"), (0.006, "CarMax Auto Owner Trust 2019-2"),
    (0.18, "CPS Auto Receivables Trust 2019-A"), (0.09, "CPS Auto Receivables Trust 2019-A"),
])
def test_the_default_table_is_the_presale_nearest_the_pool_s_cnl(cnl: float, source: str) -> None:
    # nearest in ratio: the geometric midpoint of 2.2% and 18.25% is 6.3%
    assert source in table_for_pool(cnl).source


def test_a_table_is_a_builtin_name_or_a_file(tmp_path: Path) -> None:
    assert rating_stress_table("cps2019a") == builtin_rating_stress_table()
    path = tmp_path / "t.yaml"
    path.write_text("source: mine\nmultiples: {AAA: 4.0}\n", encoding="utf-8")
    assert rating_stress_table(str(path)).source == "mine"
    with pytest.raises(InputError, match="carmax2019-2"):
        rating_stress_table("prime")


def test_stress_runs_carry_the_fees_of_a_first_period_longer_than_a_month() -> None:
    # Lines cut off a month before the pool (a prospectus's hypothetical pool): the first
    # period collects two months, and the waterfall is given the second month's opening
    # balance so it charges both months' fees. The base comes from the same loans cut off with
    # the pool (stress_base runs the Monte Carlo model's expectation, which refuses such lines).
    plain = zero_interest_tape()
    tape = tape_from_columns({**{name: getattr(plain, name) for name in
                                 ("loan_id", "balance", "rate", "original_term",
                                  "remaining_term", "segment")},
                              "months_before_cutoff": np.ones(N_LOANS, int)})
    base = stress_base(plain, zero_interest_model())
    scenario = StressScenario(tape, base, BASE_TIMING, None, abs_speed=0.01)
    run = scenario.flows_at_cnl(base.cnl)
    assert run.later_months_balance[0] > 0.9 * tape.total_balance
    assert not run.later_months_balance[1:].any()
    stacked = stressed_flows(tape, base, ["AAA"], TABLE)["AAA"]
    assert stacked.flows.shape[:2] == stacked.later_months_balance.shape
    assert (stacked.later_months_balance[:, 0] > 0.9 * tape.total_balance).all()
