"""Servicer advances of scheduled interest: a waterfall worked by hand, and the pool flows."""

from __future__ import annotations

import numpy as np
import pytest

from portfolio._jit import python_twin
from portfolio.tape import tape_from_columns
from simulation._waterfall_kernel import waterfall_kernel
from simulation.collateral import FIELD_NAMES
from simulation.deal import deal_from_dict
from simulation.deterministic import project_deterministic
from simulation.waterfall import compile_deal, run_waterfall

F = {name: k for k, name in enumerate(FIELD_NAMES)}


def deal(advances: bool):
    return deal_from_dict({
        "name": "advances",
        "closing_date": "2025-01-15",
        "first_payment_date": "2025-02-15",  # a 30/360 stub of exactly one month
        "initial_pool_balance": 100_000.0,
        "notes": [{"name": "A", "balance_usd": 90_000.0, "coupon": 0.12}],
        "overcollateralization": {"target_current": 0.10},
        "servicer_advances": advances,
        "waterfall": [{"interest": ["A"]}, "regular_principal", "residual"],
    }, source="advances.yaml")


def flows():
    """Five periods (interest, scheduled principal, defaulted, ending, delinquent interest).

    1: 500 of 1,000 interest missed (a loan 30 days late); 2: it cures and pays the 500 of
    arrears; 3: another loan misses 300; 4: that loan is charged off (5,000): its 300 is never
    collected; 5: the last period.
    """
    rows = [(500.0, 1_000.0, 0.0, 99_000.0, 500.0), (1_000.0, 1_000.0, 0.0, 98_000.0, 0.0),
            (700.0, 1_000.0, 0.0, 97_000.0, 300.0), (700.0, 1_000.0, 5_000.0, 91_000.0, 0.0),
            (600.0, 1_000.0, 0.0, 90_000.0, 0.0)]
    out = np.zeros((1, len(rows), len(FIELD_NAMES)))
    for t, (interest, sched, defaulted, ending, missed) in enumerate(rows):
        out[0, t, F["interest"]] = interest
        out[0, t, F["scheduled_principal"]] = sched
        out[0, t, F["defaulted_principal"]] = defaulted
        out[0, t, F["ending_balance"]] = ending
        out[0, t, F["delinquent_interest"]] = missed
    return out


def test_an_advance_pays_the_notes_and_is_reimbursed_first():
    r = run_waterfall(compile_deal(deal(True)), flows())
    # 1: funds 1,500 + advance 500; interest 90,000 x 1% = 900; PDA = 90,000 - (99,000 -
    #    9,900) = 900, paid in full; 200 to the residual; 500 outstanding.
    # 2: funds 2,000, the 500 reimbursed first; interest 891; PDA 900 but only 609 left.
    # 3: funds 1,700 + advance 300; interest 884.91; PDA 1,191, paid 1,115.09.
    # 4: funds 1,700, the 300 reimbursed although its loan was charged off (non-recoverable);
    #    interest 873.7591; principal 526.2409 of a PDA of 5,475.91.
    np.testing.assert_allclose(r.servicer_advance[0], [500.0, 0.0, 300.0, 0.0, 0.0])
    np.testing.assert_allclose(r.advance_reimbursement[0], [0.0, 500.0, 0.0, 300.0, 0.0])
    np.testing.assert_allclose(r.interest_paid[0, 0, :4], [900.0, 891.0, 884.91, 873.7591],
                               atol=1e-9)
    np.testing.assert_allclose(r.principal_paid[0, 0, :4], [900.0, 609.0, 1_115.09, 526.2409],
                               atol=1e-9)
    np.testing.assert_allclose(r.residual[0, :4], [200.0, 0.0, 0.0, 0.0], atol=1e-9)
    assert np.abs(r.cash_imbalance()).max() < 1e-9


def test_without_advances_the_missed_interest_is_missing_from_the_funds():
    r = run_waterfall(compile_deal(deal(False)), flows())
    assert not r.servicer_advance.any() and not r.advance_reimbursement.any()
    # 1: funds 1,500: interest 900, principal 600 (not 900), nothing to the residual.
    np.testing.assert_allclose(r.principal_paid[0, 0, :2], [600.0, 1_000.0 + 1_000.0 - 894.0],
                               atol=1e-9)
    assert r.interest_paid[0, 0, 1] == pytest.approx(894.0)  # 89,400 x 1%
    assert np.abs(r.cash_imbalance()).max() < 1e-9


def test_the_last_payment_date_reimburses_its_own_advance():
    f = flows()
    f[0, 4, F["delinquent_interest"]] = 150.0
    r = run_waterfall(compile_deal(deal(True)), f)
    assert r.servicer_advance[0, 4] == 150.0 and r.advance_reimbursement[0, 4] == 150.0
    assert np.abs(r.cash_imbalance()).max() < 1e-9


def test_python_twin_parity_with_advances():
    program, f = compile_deal(deal(True)), flows()
    jitted = run_waterfall(program, f)
    twin = run_waterfall(program, f, kernel=python_twin(waterfall_kernel))
    for name in ("servicer_advance", "advance_reimbursement", "principal_paid", "residual"):
        np.testing.assert_array_equal(getattr(jitted, name), getattr(twin, name))


def test_the_projection_carries_the_interest_of_delinquent_loans():
    """A 12,000 loan at 12% a year defaulting with certainty in month 1 and charged off after
    three missed payments: 30, 60 and 90 days late in months 1-3, its 120 of interest uncollected
    each month."""
    tape = tape_from_columns({
        "loan_id": np.array(["L1"], dtype=object), "balance": np.array([12_000.0]),
        "rate": np.array([0.12]), "original_term": np.array([12]),
        "remaining_term": np.array([12]), "age": np.array([0]),
    })
    frame = project_deterministic(tape, mdr=1.0, chargeoff_months=4)
    np.testing.assert_allclose(frame["delinquent_interest"].to_numpy()[:4],
                               [120.0, 120.0, 120.0, 0.0])
    np.testing.assert_allclose(frame["interest"].to_numpy()[:4], 0.0)
    np.testing.assert_allclose(
        frame["delinquent_interest"],
        0.01 * frame[["delinquent_30", "delinquent_60", "delinquent_90p"]].sum(axis=1))


def _roll_rows(roll0: float, prepay: float, cure: float, roll: float) -> list[list[float]]:
    """Roll-rate matrix rows (current, 30, 60, 90+ -> current..90+, charge-off, prepay)."""
    rows = [[1.0 - roll0 - prepay, roll0, 0.0, 0.0, 0.0, prepay]]
    for state in (1, 2, 3):
        row = [0.0] * 6
        row[0], row[state + 1], row[5] = cure, roll, prepay
        row[state] += 1.0 - cure - roll - prepay
        rows.append(row)
    return rows


PIPELINE = {
    "default": {"hazard_curves": {"all": {"ages": [1], "values": [0.03]}}},
    "prepayment": {"cpr": 0.05},
    "delinquency": {"chargeoff_months": 4, "cure_probability": 0.4},
    "recovery": {"method": "severity", "severity": 0.5, "lag_months": 2},
}
ROLL_RATES = {
    "credit_model": "roll_rate",
    "default": {"hazard_curves": {"all": {"ages": [1], "values": [0.0]}}},
    "prepayment": {"cpr": 0.0, "rate_incentive": 0.0},
    "recovery": {"method": "severity", "severity": 0.6, "lag_months": 2},
    "roll_rate": {"age_bands": [1], "matrices": {"all": [_roll_rows(0.03, 0.01, 0.3, 0.3)]}},
}


@pytest.mark.parametrize("raw", [PIPELINE, ROLL_RATES], ids=["pipeline", "roll_rate"])
def test_the_monte_carlo_and_expected_kernels_fill_the_delinquent_interest(raw):
    """Every loan at 6%: the field is exactly 0.5% of the 30/60/90+ delinquent balances, in the
    Monte Carlo paths (defaults, cures, loans late at the cut-off) and the expected projection,
    of the competing-risk pipeline and of the roll-rate model."""
    from simulation.collateral import expected_flows, flat_macro, prepare_collateral, simulate_chunk
    from simulation.model import model_from_dict

    n = 300
    tape = tape_from_columns({
        "loan_id": np.array([f"L{i}" for i in range(n)], dtype=object),
        "balance": np.linspace(5_000.0, 25_000.0, n), "rate": np.full(n, 0.06),
        "original_term": np.full(n, 48), "remaining_term": np.full(n, 40),
        "days_past_due": np.where(np.arange(n) % 25 == 0, 45, 0),
    })
    model = model_from_dict(raw)
    inputs = prepare_collateral(tape, model)
    paths = simulate_chunk(inputs, flat_macro(model, inputs.n_periods), np.ones(8), 3, 0)
    for o in (*paths, expected_flows(inputs).flows):
        delinquent = o[:, F["delinquent_30"]] + o[:, F["delinquent_60"]] + o[:, F["delinquent_90p"]]
        assert o[:, F["delinquent_interest"]].sum() > 0.0
        np.testing.assert_allclose(o[:, F["delinquent_interest"]], 0.005 * delinquent,
                                   rtol=1e-12, atol=1e-9)
