"""Loans delinquent at the cut-off start inside the delinquency pipeline."""

from dataclasses import replace

import numpy as np
import pytest

from portfolio.errors import InputError
from portfolio.synthetic import synthetic_pool
from portfolio.tape import tape_from_columns
from simulation._collateral_kernel import collateral_paths_kernel, cutoff_roll_probability
from simulation.collateral import (
    FIELD_NAMES,
    expected_flows,
    flat_macro,
    prepare_collateral,
    simulate_chunk,
)
from simulation.factor import calibrate
from simulation.model import model_from_dict
from simulation.run import simulate_pool

F = {name: k for k, name in enumerate(FIELD_NAMES)}
NO_HAZARD = {"hazard_curves": {"all": {"ages": [1], "values": [0.0]}}}


def _arrears_tape():
    return tape_from_columns({
        "loan_id": np.array(["a", "b", "c", "d"]),
        "balance": np.array([10_000.0, 12_000.0, 8_000.0, 9_000.0]),
        "rate": np.full(4, 0.06), "original_term": np.full(4, 48),
        "remaining_term": np.full(4, 40), "days_past_due": np.array([20, 45, 75, 200]),
    })


def test_pool_summary_shows_the_delinquent_share() -> None:
    assert _arrears_tape().summary()["share_30dpd"] == pytest.approx(29_000 / 39_000, rel=1e-15)


@pytest.mark.parametrize(("missed", "cure", "want"), [
    (1, 0.3, 0.7),                      # one missed payment: the pipeline's own 1 - c
    (2, 0.5, 0.5 / (0.5 + 0.5 * 2 / 3)),  # cures after 2 or 3 missed payments remain
    (3, 0.5, 0.75),                     # only the cure after 3 missed payments remains
    (3, 0.0, 1.0),
    (2, 1.0, 0.0),
])
def test_roll_probability_by_hand(missed: int, cure: float, want: float) -> None:
    assert cutoff_roll_probability(missed, 4, cure) == pytest.approx(want, abs=1e-15)


def test_no_cures_charge_off_on_schedule_from_the_cutoff_state() -> None:
    """K = 4: 45 dpd rolls 60 -> 90+ -> charge-off in period 2; 75 dpd 90+ -> charge-off in
    period 1; 200 dpd (past the charge-off point) charges off in period 0; 20 dpd is current."""
    tape = _arrears_tape()
    b = tape.balance
    model = model_from_dict({
        "default": NO_HAZARD, "prepayment": {"cpr": 0.0},
        "delinquency": {"chargeoff_months": 4, "cure_probability": 0.0},
        "recovery": {"method": "severity", "severity": 0.6, "lag_months": 2},
    })
    inputs = prepare_collateral(tape, model)
    assert inputs.missed0.tolist() == [0, 1, 2, 3]
    flows = simulate_chunk(inputs, flat_macro(model, inputs.n_periods), np.ones(3), 1, 0)
    for o in flows:  # every path alike: no randomness left
        np.testing.assert_allclose(o[:3, F["defaulted_principal"]], [b[3], b[2], b[1]])
        np.testing.assert_allclose(o[:5, F["recoveries"]], [0, 0, 0.4 * b[3], 0.4 * b[2],
                                                            0.4 * b[1]])
        np.testing.assert_allclose(o[:2, F["delinquent_60"]], [b[1], 0])
        np.testing.assert_allclose(o[:2, F["delinquent_90p"]], [b[2], b[1]])
        assert o[:, F["delinquent_30"]].sum() == 0
        np.testing.assert_allclose(o[:, F["scheduled_principal"]].sum(), b[0], rtol=1e-12)
    # the expected projection books the same deterministic roll
    exp = expected_flows(inputs)
    np.testing.assert_allclose(exp.flows, flows[0], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(exp.default_by_loan, [0, 1, 1, 1])


def cnl_model(expected_cnl: float, chargeoff_months: int, cure: float, recovery: dict):
    """Expected-CNL model with a loss timing curve and the given pipeline and recovery."""
    return model_from_dict({
        "default": {"expected_cnl": expected_cnl, "loss_timing": {
            "ages": [12, 24, 36, 60], "cumulative": [0.3, 0.7, 0.9, 1.0]}},
        "delinquency": {"chargeoff_months": chargeoff_months, "cure_probability": cure},
        "prepayment": {"abs_speed": 0.015},
        "recovery": recovery,
    })


VEHICLE = {"method": "vehicle", "lag_months": 2}


@pytest.fixture(scope="module")
def delinquent_pool():
    """Subprime, one loan in ten 30+ days past due at the cut-off."""
    pool = synthetic_pool("subprime", 300, seed=5)
    dpd = np.resize([0, 35, 0, 65, 0, 95, 0, 10, 0, 0] * 2 + [0] * 10, len(pool))
    return replace(pool, days_past_due=dpd)


def test_mc_roll_and_cure_match_the_expected_projection(delinquent_pool) -> None:
    """No hazards: only the cut-off arrears move. The mean charged-off balance and recoveries
    of the Monte Carlo engine equal the expected projection's (4 standard errors)."""
    model = model_from_dict({
        "default": NO_HAZARD, "prepayment": {"cpr": 0.0},
        "delinquency": {"chargeoff_months": 4, "cure_probability": 0.4},
        "recovery": VEHICLE,
    })
    inputs = prepare_collateral(delinquent_pool, model)
    want = expected_flows(inputs).flows
    chunks: list[np.ndarray] = []
    simulate_pool(inputs, n_paths=400, seed=3,
                  on_chunk=lambda first, flows, summary: chunks.append(flows.copy()))
    flows = np.concatenate(chunks)
    for field in ("defaulted_principal", "recoveries"):
        per_path = flows[..., F[field]].sum(axis=1)
        se = per_path.std(ddof=1) / np.sqrt(per_path.size)
        assert se > 0
        assert abs(per_path.mean() - want[:, F[field]].sum()) <= 4 * se, field
    # cured loans repay everything, rolled ones are charged off: principal is conserved
    principal = flows[..., [F["scheduled_principal"], F["prepaid_principal"],
                            F["defaulted_principal"]]].sum(axis=(1, 2))
    np.testing.assert_allclose(principal, delinquent_pool.total_balance, rtol=1e-10)
    assert flows[:, 0, F["delinquent_60"]].min() > 0  # 35 dpd loans that missed again


def test_expected_cnl_below_the_arrears_is_an_input_error(delinquent_pool) -> None:
    model = cnl_model(0.01, 4, 0.0, {"method": "severity", "severity": 0.6})
    with pytest.raises(InputError, match="30\\+ days past due at the cut-off"):
        calibrate(prepare_collateral(delinquent_pool, model))


def test_mc_mean_with_arrears_and_hazards_matches_expected(delinquent_pool) -> None:
    model = cnl_model(0.12, 3, 0.0, VEHICLE)
    inputs, _ = calibrate(prepare_collateral(delinquent_pool, model))
    result = simulate_pool(inputs, n_paths=1500, seed=4)
    cnl = result.cnl
    assert abs(cnl.mean() - 0.12) <= 4 * cnl.std(ddof=1) / np.sqrt(cnl.size)
    # the arrears are part of the calibrated expected CNL, not added on top of it: new
    # defaults are scaled down against the same pool with every loan current
    current = replace(delinquent_pool, days_past_due=np.zeros(len(delinquent_pool), np.int64))
    without, _ = calibrate(prepare_collateral(current, model))
    assert inputs.default_scale < 0.95 * without.default_scale


def test_python_twin_parity_with_arrears(delinquent_pool) -> None:
    model = cnl_model(0.12, 4, 0.3, VEHICLE)
    inputs, spec = calibrate(prepare_collateral(delinquent_pool.subset(np.arange(40)), model))
    macro = flat_macro(inputs.model, inputs.n_periods)
    mult = np.ones(4)
    jitted = simulate_chunk(inputs, macro, mult, seed=5, first_path=7)

    import simulation.collateral as collateral

    original = collateral.collateral_paths_kernel
    collateral.collateral_paths_kernel = collateral_paths_kernel.py_func
    try:
        python = simulate_chunk(inputs, macro, mult, seed=5, first_path=7)
    finally:
        collateral.collateral_paths_kernel = original
    np.testing.assert_allclose(jitted, python, rtol=1e-10, atol=1e-6)
