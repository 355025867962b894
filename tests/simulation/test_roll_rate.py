"""Roll-rate credit model: model file, hand-worked transitions, kernel twin, expected = MC."""

from dataclasses import replace

import numpy as np
import pytest

from portfolio.errors import InputError
from portfolio.synthetic import synthetic_pool
from portfolio.tape import tape_from_columns
from simulation._collateral_kernel import roll_rate_paths_kernel
from simulation.collateral import (
    FIELD_NAMES,
    expected_flows,
    flat_macro,
    prepare_collateral,
    simulate_chunk,
)
from simulation.model import model_from_dict
from simulation.run import simulate_pool

F = {name: k for k, name in enumerate(FIELD_NAMES)}
HAZARDS = {"hazard_curves": {"all": {"ages": [1], "values": [0.0]}}}


def matrix(roll0: float, prepay: float, cure: float, roll: float) -> list[list[float]]:
    """4 x 6 rows: current rolls ``roll0``; delinquent loans cure, roll, prepay or stay."""
    rows = [[1.0 - roll0 - prepay, roll0, 0.0, 0.0, 0.0, prepay]]
    for s in (1, 2, 3):
        row = [0.0] * 6
        row[0] = cure
        row[s + 1] = roll
        row[5] = prepay
        row[s] += 1.0 - cure - roll - prepay
        rows.append(row)
    return rows


def roll_model(matrices: dict, age_bands=(1,), **extra) -> dict:
    raw = {
        "credit_model": "roll_rate",
        "default": HAZARDS,
        "prepayment": {"cpr": 0.0, "rate_incentive": 0.0},
        "recovery": {"method": "severity", "severity": 0.6, "lag_months": 2},
        "roll_rate": {"age_bands": list(age_bands), "matrices": matrices},
    }
    raw.update(extra)
    return raw


# ---------------------------------------------------------------------------------------------
# The model file
# ---------------------------------------------------------------------------------------------


def test_roll_rate_without_matrices_is_a_clear_error() -> None:
    raw = roll_model({"all": [matrix(0.01, 0.02, 0.3, 0.4)]})
    del raw["roll_rate"]
    with pytest.raises(InputError, match="credit_model roll_rate needs a roll_rate section"):
        model_from_dict(raw, source="m.yaml")


def test_rows_must_sum_to_one_and_respect_the_states() -> None:
    bad = matrix(0.01, 0.02, 0.3, 0.4)
    bad[2][0] += 0.1
    with pytest.raises(InputError, match="row '60' of age band 1 sums to 1.1"):
        model_from_dict(roll_model({"all": [bad]}), source="m.yaml")
    jump = matrix(0.01, 0.02, 0.3, 0.4)
    jump[0][0] -= 0.01
    jump[0][2] = 0.01  # current straight to 60: impossible in one month
    with pytest.raises(InputError, match="row 'current' of age band 1.*'60' has 0.01"):
        model_from_dict(roll_model({"all": [jump]}), source="m.yaml")
    with pytest.raises(InputError, match="has 1 matrices for 2 age bands"):
        model_from_dict(roll_model({"all": [matrix(0.01, 0.02, 0.3, 0.4)]}, age_bands=(1, 7)))
    with pytest.raises(InputError, match="chargeoff_months must be 4"):
        model_from_dict(roll_model({"all": [matrix(0.01, 0.02, 0.3, 0.4)]},
                                   delinquency={"chargeoff_months": 3}))
    assert model_from_dict({"default": HAZARDS, "prepayment": {"cpr": 0.1}}).credit_model == (
        "competing_risk")


def test_unknown_segment_names_the_row() -> None:
    tape = tape_from_columns({"loan_id": np.array(["a", "b"]), "balance": np.array([1e4, 1e4]),
                              "rate": np.full(2, 0.06), "original_term": np.full(2, 24),
                              "remaining_term": np.full(2, 24),
                              "segment": np.array(["prime", "odd"])})
    model = model_from_dict(roll_model({"prime": [matrix(0.01, 0.0, 0.3, 0.4)]}))
    with pytest.raises(InputError, match="row 2.*no roll_rate matrices for segment 'odd'"):
        prepare_collateral(tape, model, source="tape.csv")


# ---------------------------------------------------------------------------------------------
# Hand-worked case: 2 live states, 3 loans
# ---------------------------------------------------------------------------------------------


def two_state_case():
    """Three interest-free loans of 3 x 100 instalments, no prepayment.

    Current rolls to 30 with probability 0.5; a 30-day loan cures with 0.5 (paying its missed
    instalment and the current one) or rolls to 60 with 0.5, and 60 rolls on (to 90, then to
    charge-off) surely. Loan a is current, loan b is 30 days past due, loan c 65 at the cut-off.
    """
    m = [[0.5, 0.5, 0, 0, 0, 0], [0.5, 0, 0.5, 0, 0, 0], [0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 1, 0]]
    tape = tape_from_columns({
        "loan_id": np.array(["a", "b", "c"]), "balance": np.full(3, 300.0),
        "rate": np.zeros(3), "original_term": np.full(3, 3), "remaining_term": np.full(3, 3),
        "days_past_due": np.array([0, 30, 65]),
    })
    model = model_from_dict(roll_model({"all": [m]}))
    return tape, prepare_collateral(tape, model)


def test_hand_worked_two_state_three_loans() -> None:
    """Worked by hand (probability x amount; ``j`` = instalments paid; last index 2).

    c (60 at the cut-off): 90 in 0, charged off (300) in 1, recovery 0.4 x 300 in 3.
    b (30): t0 cures paying 2 (0.5 x 200) or rolls to 60 (0.5 x 300); t1 b-current (j=2)
    pays its final 100 (0.25) or misses (30: 0.25 x 100); b-60 goes 90 (0.5 x 300);
    t2 b-30 pays its one remaining instalment (0.125 x 100) or rolls to 60 (0.125 x 100);
    b-90 is charged off (0.5 x 300); t3 90 (0.125 x 100); t4 charge-off 0.125 x 100.
    a (current): t0 pays 100 (0.5) or misses (0.5 x 300 at 30); t1 a-current pays 100 (0.25)
    or misses (0.25 x 200), a-30 cures paying 200 (0.25) or rolls (60: 0.25 x 300); t2 the
    0.5 current at j=2 pays its final 100 (0.25) or misses (0.25 x 100), a-30 (j=1) cures
    paying its last 200 (0.125) or rolls (0.125 x 200), a-60 goes 90 (0.25 x 300); t3, after
    the schedule, a-30 pays everything (0.125 x 100) or rolls (0.125 x 100), a-90 is charged
    off (0.25 x 300); t4 charge-off 0.125 x 200; t5 charge-off 0.125 x 100.
    """
    _, inputs = two_state_case()
    e = expected_flows(inputs)
    f = e.flows
    np.testing.assert_allclose(f[:6, F["scheduled_principal"]],
                               [50 + 100, 25 + 50 + 25, 25 + 25 + 12.5, 12.5, 0, 0])
    np.testing.assert_allclose(f[:7, F["defaulted_principal"]],
                               [0, 300, 150, 75, 25 + 12.5, 12.5, 0])
    np.testing.assert_allclose(f[:8, F["recoveries"]],
                               0.4 * np.array([0, 0, 0, 300, 150, 75, 37.5, 12.5]))
    np.testing.assert_allclose(f[:4, F["delinquent_30"]], [150, 50 + 25, 25, 0])
    np.testing.assert_allclose(f[:5, F["delinquent_60"]], [150, 75, 25 + 12.5, 12.5, 0])
    np.testing.assert_allclose(f[:5, F["delinquent_90p"]], [300, 150, 75, 25 + 12.5, 12.5])
    np.testing.assert_allclose(f[:3, F["n_active"]], [3, 3 - 1 - 0.25, 1.75 - 0.5 - 0.25 - 0.125
                                                      - 0.125])
    np.testing.assert_allclose(e.default_by_loan, [0.25 + 0.125 + 0.125, 0.5 + 0.125, 1.0])
    np.testing.assert_allclose(e.loss_by_loan, 0.6 * np.array([112.5, 162.5, 300.0]))
    assert f[:, F["interest"]].sum() == 0 and f[:, F["prepaid_principal"]].sum() == 0
    principal = f[:, [F["scheduled_principal"], F["defaulted_principal"]]].sum()
    np.testing.assert_allclose(principal, 900.0, rtol=1e-14)


def test_mc_of_the_hand_case_matches_it() -> None:
    """The Monte Carlo kernel on the hand case: mean flows within 4 standard errors."""
    _, inputs = two_state_case()
    want = expected_flows(inputs).flows
    n = 4000
    flows = simulate_chunk(inputs, flat_macro(inputs.model, inputs.n_periods), np.ones(n), 3, 0)
    for field in ("scheduled_principal", "defaulted_principal", "delinquent_30",
                  "delinquent_90p"):
        x = flows[..., F[field]]
        se = x.std(axis=0, ddof=1) / np.sqrt(n)
        assert np.all(np.abs(x.mean(axis=0) - want[:, F[field]]) <= 4 * se + 1e-9), field


# ---------------------------------------------------------------------------------------------
# A realistic pool: twin parity, expected = MC mean, reproducibility
# ---------------------------------------------------------------------------------------------


def pool_model(**factor) -> dict:
    young = matrix(0.02, 0.015, 0.35, 0.3)
    old = matrix(0.012, 0.02, 0.3, 0.35)
    raw = roll_model({"all": [young, old], "used": [matrix(0.03, 0.012, 0.3, 0.4), old]},
                     age_bands=(1, 13),
                     recovery={"method": "vehicle", "lag_months": 2},
                     factor=factor or {"type": "lognormal", "multiplier_cv": 0.4})
    raw["prepayment"] = {"abs_speed": 0.014, "rate_incentive": 6.0}
    raw["default"] = {"hazard_curves": {"all": {"ages": [1], "values": [0.001]}},
                      "unemployment_elasticity": 10.0}
    return raw


@pytest.fixture(scope="module")
def pool():
    p = synthetic_pool("prime", 200, seed=7)
    dpd = np.resize([0, 0, 35, 0, 0, 65, 0, 95, 0, 0], len(p))
    return replace(p, days_past_due=dpd, segment=np.where(p.vehicle_new, "new", "used"))


def test_transition_rows_sum_to_one_after_the_multipliers(pool) -> None:
    from simulation._collateral_kernel import _moved_row

    inputs = prepare_collateral(pool, model_from_dict(pool_model()))
    table = inputs.transition
    assert table.shape[2:] == (4, 6)
    np.testing.assert_allclose(table.sum(axis=-1), 1.0, atol=1e-12)
    for mult, pmult in ((0.3, 2.0), (5.0, 0.5), (80.0, 60.0)):
        for s in range(4):
            row = table[0, 0, s]
            roll, prepay, scale = _moved_row(table, 0, 0, s, mult, pmult)
            total = roll + prepay + scale * (row[: s + 1].sum())
            assert total == pytest.approx(1.0, abs=1e-12)
            assert 0 <= roll <= 1 and 0 <= prepay <= 1 and scale >= 0


def test_python_twin_equals_the_kernel(pool) -> None:
    from simulation.factor import calibrate

    inputs, spec = calibrate(prepare_collateral(pool.subset(np.arange(60)),
                                                model_from_dict(pool_model())))
    n = 6
    macro = flat_macro(inputs.model, inputs.n_periods).rows(np.arange(n))
    macro = type(macro)(macro.unemployment + 0.01, macro.market_rate - 0.02, macro.used_car_index)
    mult = spec.multiplier(np.linspace(-2, 2, n))
    jitted = simulate_chunk(inputs, macro, mult, seed=5, first_path=10)

    import simulation.collateral as collateral

    original = collateral.roll_rate_paths_kernel
    collateral.roll_rate_paths_kernel = roll_rate_paths_kernel.py_func
    try:
        python = simulate_chunk(inputs, macro, mult, seed=5, first_path=10)
    finally:
        collateral.roll_rate_paths_kernel = original
    for field in ("defaulted_principal", "delinquent_30", "delinquent_60", "prepaid_principal"):
        assert python[..., F[field]].sum() > 0, field
    np.testing.assert_allclose(jitted, python, rtol=1e-10, atol=1e-6)


def test_expected_projection_equals_the_mc_mean(pool) -> None:
    """Given a macro path and the factor (none), the exact expected flows are the MC mean:
    every field's total and the charged-off balance by period within 4 standard errors."""
    model = model_from_dict(pool_model(type="none"))
    inputs = prepare_collateral(pool, model)
    macro = flat_macro(model, inputs.n_periods)
    macro = type(macro)(macro.unemployment + 0.01, macro.market_rate - 0.01,
                        macro.used_car_index * 0.9)
    want = expected_flows(inputs, macro).flows
    n = 1500
    flows = simulate_chunk(inputs, macro, np.ones(n), seed=11, first_path=0)
    for name in FIELD_NAMES:
        per_path = flows[..., F[name]].sum(axis=1)
        se = per_path.std(ddof=1) / np.sqrt(n)
        assert abs(per_path.mean() - want[:, F[name]].sum()) <= 4 * se + 1e-6, name
    by_year = flows[..., F["defaulted_principal"]][:, :48].reshape(n, 4, 12).sum(axis=2)
    se = by_year.std(axis=0, ddof=1) / np.sqrt(n)
    want_year = want[:48, F["defaulted_principal"]].reshape(4, 12).sum(axis=1)
    assert np.all(np.abs(by_year.mean(axis=0) - want_year) <= 4 * se)
    # cash conservation on every path
    principal = flows[..., [F["scheduled_principal"], F["prepaid_principal"],
                            F["defaulted_principal"]]].sum(axis=(1, 2))
    np.testing.assert_allclose(principal, pool.total_balance, rtol=1e-10)
    assert np.all(flows[:, -1, F["n_active"]] == 0)


def test_factor_and_unemployment_move_the_roll_forward(pool) -> None:
    model = model_from_dict(pool_model(type="none"))
    inputs = prepare_collateral(pool, model)
    base = expected_flows(inputs)
    worse = expected_flows(inputs, default_multiplier=2.0)
    macro = flat_macro(model, inputs.n_periods)
    recession = type(macro)(macro.unemployment + 0.03, macro.market_rate, macro.used_car_index)
    stressed = expected_flows(inputs, recession)
    d = F["defaulted_principal"]
    assert worse.flows[:, d].sum() > 1.3 * base.flows[:, d].sum()
    assert stressed.flows[:, d].sum() > 1.3 * base.flows[:, d].sum()
    assert worse.flows[:6, F["delinquent_30"]].sum() > base.flows[:6, F["delinquent_30"]].sum()


def _collect(chunks: list):
    def on_chunk(first, flows, summary):
        chunks.append((first, flows.copy()))
    return on_chunk


def test_bit_identical_across_threads_and_chunks(pool) -> None:
    model = model_from_dict(pool_model())
    runs = []
    for threads, chunk in ((1, 64), (2, 1000), (2, 64)):
        chunks: list = []
        simulate_pool(pool, model, n_paths=150, seed=9, chunk_size=chunk, threads=threads,
                      on_chunk=_collect(chunks))
        runs.append(np.concatenate([f for _, f in sorted(chunks, key=lambda c: c[0])]))
    for other in runs[1:]:
        assert np.array_equal(runs[0], other)


# ---------------------------------------------------------------------------------------------
# Estimation from a hand-built panel
# ---------------------------------------------------------------------------------------------


def _panel_rows(loan_id: str, months: list[tuple[float, float, float]]) -> list[dict]:
    return [{"loan_id": loan_id, "period": k + 1, "balance": b, "principal_paid": p,
             "total_paid": t, "rate": 0.0, "original_term": 24, "age": 4 + k,
             "scheduled_payment": 100.0, "fico": 700} for k, (b, p, t) in enumerate(months)]


@pytest.fixture()
def hand_panel(tmp_path):
    """Interest-free loans paying 100 a month from 1,000 (month 0).

    K pays every month; D misses months 2-3 and catches up in month 4 (300); S stops paying
    after month 1 (a stalled default under stall_months 4); Q pays 150 extra in month 2,
    skips month 3 on that credit, and pays off in month 4.
    """
    import pandas as pd

    from portfolio.panel import read_long_panel

    rows = _panel_rows("K", [(1000.0 - 100 * (k + 1), 100.0, 100.0) for k in range(6)])
    rows += _panel_rows("D", [(900.0, 100.0, 100.0), (900.0, 0.0, 0.0), (900.0, 0.0, 0.0),
                              (600.0, 300.0, 300.0), (500.0, 100.0, 100.0),
                              (400.0, 100.0, 100.0)])
    rows += _panel_rows("S", [(900.0, 100.0, 100.0)] + [(900.0, 0.0, 0.0)] * 5)
    rows += _panel_rows("Q", [(900.0, 100.0, 100.0), (750.0, 150.0, 250.0),
                              (750.0, 0.0, 0.0), (0.0, 750.0, 750.0)])
    path = tmp_path / "hand.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return read_long_panel(path)


def test_delinquency_states_by_hand(hand_panel) -> None:
    from portfolio.panel import EventRules, panel_events
    from simulation.calibration import CHARGED_OFF_STATE as CO
    from simulation.calibration import PREPAID_STATE as PP
    from simulation.calibration import delinquency_states

    rules = EventRules(stall_months=4)
    states = delinquency_states(hand_panel, panel_events(hand_panel, rules), rules)
    got = dict(zip(hand_panel.loan_id, states.tolist(), strict=True))
    assert got["K"] == [0, 0, 0, 0, 0, 0]
    assert got["D"] == [0, 1, 2, 0, 0, 0]  # the catch-up in month 4 cures
    assert got["S"] == [0, 1, 2, 3, CO, -1]  # first missed payment month 2: 120+ in month 5
    assert got["Q"] == [0, 0, 0, PP, -1, -1]  # paid ahead: skipping month 3 is not a miss


def test_roll_rates_by_hand(hand_panel) -> None:
    """Dollar-weighted rows (weights: balance after scheduled principal), no smoothing.

    From current: K 900+800+700+600+500+400 stays, D 900+500+400, S 900, Q 900+800+650;
    D 800 and S 800 roll to 30; Q's 650 prepays. 30 -> 60 surely (D, S); 60 -> current (D
    800) or 90 (S 800); 90 -> charge-off (S)."""
    from portfolio.panel import EventRules
    from simulation.calibration import SegmentScheme, estimate_roll_rates

    est = estimate_roll_rates(hand_panel, scheme=SegmentScheme(None, False, None),
                              rules=EventRules(stall_months=4), age_band=100, prior_months=0.0)
    p = est.probabilities[0, 0]
    stay, roll, prepay = 3900 + 1800 + 900 + 2350, 1600, 650
    total = stay + roll + prepay
    np.testing.assert_allclose(p[0], [stay / total, roll / total, 0, 0, 0, prepay / total])
    np.testing.assert_allclose(p[1], [0, 0, 1, 0, 0, 0])
    np.testing.assert_allclose(p[2], [0.5, 0, 0, 0.5, 0, 0])
    np.testing.assert_allclose(p[3], [0, 0, 0, 0, 1, 0])
    assert est.counts.sum() == pytest.approx(21.0)  # loan-months at risk: 6 + 6 + 5 + 4
    np.testing.assert_allclose(est.probabilities.sum(axis=-1), 1.0)
    # the model section validates and round-trips the rows
    section = est.model_section()
    model = model_from_dict(roll_model(section["matrices"], age_bands=section["age_bands"]))
    assert model.roll_rate is not None
    np.testing.assert_allclose(model.roll_rate.matrices["all"][0], est.pooled[0], atol=1e-9)


def test_smoothing_shrinks_sparse_segments_to_the_pool(hand_panel) -> None:
    from portfolio.panel import EventRules
    from simulation.calibration import SegmentScheme, estimate_roll_rates

    rules = EventRules(stall_months=4)
    raw = estimate_roll_rates(hand_panel, scheme=SegmentScheme(None, False, None), rules=rules,
                              age_band=3, prior_months=0.0)
    smooth = estimate_roll_rates(hand_panel, scheme=SegmentScheme(None, False, None),
                                 rules=rules, age_band=3, prior_months=1e9)
    # with an overwhelming prior every band's row is the all-ages row
    every = raw.counts.sum(axis=(0, 1))
    np.testing.assert_allclose(smooth.pooled[0], every / every.sum(axis=-1, keepdims=True),
                               atol=1e-6)
    np.testing.assert_allclose(smooth.pooled[0], smooth.pooled[1], atol=1e-6)


def test_expected_cnl_and_the_lognormal_factor_calibrate_a_roll_rate_pool(pool) -> None:
    """With an expected CNL the default scale multiplies the roll-forward like a hazard: the
    Monte Carlo mean CNL hits the target (4 standard errors) and the factor spreads it."""
    from simulation.factor import calibrate

    raw = pool_model(type="lognormal", cnl_sd=0.01)
    raw["default"] = {"expected_cnl": 0.02, "loss_timing": {
        "ages": [12, 24, 36, 60], "cumulative": [0.3, 0.7, 0.9, 1.0]}}
    inputs, _ = calibrate(prepare_collateral(pool, model_from_dict(raw)))
    assert inputs.roll_rate and inputs.default_scale != 1.0
    cnl = simulate_pool(inputs, n_paths=800, seed=2).cnl
    assert abs(cnl.mean() - 0.02) <= 4 * cnl.std(ddof=1) / np.sqrt(cnl.size)
    assert cnl.std() > 0.5 * 0.01
