"""Collateral Monte Carlo engine: parity, reproducibility, oracles and invariants."""

import numpy as np
import pytest

from portfolio.amortization import schedule
from portfolio.errors import InputError
from portfolio.synthetic import synthetic_pool
from portfolio.tape import tape_from_columns
from simulation._collateral_kernel import collateral_paths_kernel
from simulation.collateral import (
    FIELD_NAMES,
    expected_flows,
    flat_macro,
    prepare_collateral,
    simulate_chunk,
)
from simulation.factor import calibrate, vasicek_quantile
from simulation.model import model_from_dict
from simulation.run import simulate_pool

F = {name: k for k, name in enumerate(FIELD_NAMES)}

TIMING = {"ages": [6, 12, 24, 36, 48, 60, 72],
          "cumulative": [0.05, 0.2, 0.55, 0.8, 0.93, 0.99, 1.0]}


def full_model(**factor):
    """Every feature on: scorecard, cures, rate incentive, vehicle recovery, factor."""
    return model_from_dict({
        "default": {"expected_cnl": 0.03, "loss_timing": TIMING,
                    "segment_multipliers": {"prime": 1.0}},
        "delinquency": {"chargeoff_months": 4, "cure_probability": 0.25},
        "prepayment": {"abs_speed": 0.014, "rate_incentive": 8.0},
        "recovery": {"method": "vehicle", "lag_months": 2},
        "factor": factor or {"type": "lognormal", "cnl_sd": 0.015},
    })


@pytest.fixture(scope="module")
def pool():
    return synthetic_pool("prime", 400, seed=11)


def collect(result_holder):
    def on_chunk(first, flows, summary):
        result_holder.append((first, flows.copy()))
    return on_chunk


def all_flows(chunks):
    return np.concatenate([f for _, f in sorted(chunks, key=lambda c: c[0])])


def test_python_twin_parity(pool):
    inputs, spec = calibrate(prepare_collateral(pool.subset(np.arange(60)), full_model()))
    n = 6
    macro = flat_macro(inputs.model, inputs.n_periods).rows(np.arange(n))
    # Move the market rate so that the rate incentive matters.
    macro = type(macro)(macro.unemployment + 0.01, macro.market_rate - 0.02, macro.used_car_index)
    mult = spec.multiplier(np.linspace(-2, 2, n))
    jitted = simulate_chunk(inputs, macro, mult, seed=5, first_path=10)

    import simulation.collateral as collateral

    twin = collateral_paths_kernel.py_func
    original = collateral.collateral_paths_kernel
    collateral.collateral_paths_kernel = twin
    try:
        python = simulate_chunk(inputs, macro, mult, seed=5, first_path=10)
    finally:
        collateral.collateral_paths_kernel = original
    assert python[..., F["defaulted_principal"]].sum() > 0
    assert python[..., F["delinquent_30"]].sum() > 0
    np.testing.assert_allclose(jitted, python, rtol=1e-10, atol=1e-6)


def test_bit_identical_across_threads_and_chunks(pool):
    model = full_model()
    runs = []
    for threads, chunk in ((1, 64), (2, 1000), (2, 64), (1, 1000)):
        chunks = []
        simulate_pool(pool, model, n_paths=300, seed=9, chunk_size=chunk, threads=threads,
                      on_chunk=collect(chunks))
        runs.append(all_flows(chunks))
    for other in runs[1:]:
        assert np.array_equal(runs[0], other)


def test_different_seeds_differ(pool):
    model = full_model()
    a = simulate_pool(pool, model, n_paths=50, seed=1).cnl
    b = simulate_pool(pool, model, n_paths=50, seed=2).cnl
    assert not np.array_equal(a, b)


def test_cash_conservation_every_path(pool):
    chunks = []
    result = simulate_pool(pool, full_model(), n_paths=200, seed=3, on_chunk=collect(chunks))
    flows = all_flows(chunks)
    principal = flows[..., [F["scheduled_principal"], F["prepaid_principal"],
                            F["defaulted_principal"]]].sum(axis=(1, 2))
    np.testing.assert_allclose(principal, pool.total_balance, rtol=1e-10)
    assert np.all(flows[..., F["ending_balance"]][:, -1] == 0)
    assert np.all(flows[..., F["n_active"]][:, -1] == 0)
    # Recoveries never exceed what was charged off (vehicle value capped at the balance).
    assert np.all(flows[..., F["recoveries"]].sum(1) <= flows[..., F["defaulted_principal"]].sum(1))
    assert result.paths["cnl"].min() >= 0


def test_mc_mean_matches_expected_projection(pool):
    """With no cures and no factor, the MC mean equals the expected projection (k-sigma)."""
    model = model_from_dict({
        "default": {"expected_cnl": 0.05, "loss_timing": TIMING},
        "delinquency": {"chargeoff_months": 3, "cure_probability": 0.0},
        "prepayment": {"abs_speed": 0.015},
        "recovery": {"method": "vehicle", "lag_months": 2},
    })
    inputs, _ = calibrate(prepare_collateral(pool, model))
    expected = expected_flows(inputs).flows
    result = simulate_pool(inputs, n_paths=2000, seed=4)
    for field in ("interest", "scheduled_principal", "prepaid_principal", "defaulted_principal",
                  "recoveries", "delinquent_30", "ending_balance"):
        mean = result.mean_flows[field].to_numpy()
        se = result.mean_flows[f"{field}_se"].to_numpy()
        total_gap = abs(mean.sum() - expected[:, F[field]].sum())
        total_se = np.sqrt((se**2).sum()) * np.sqrt(inputs.n_periods)  # conservative
        assert total_gap <= 4 * total_se + 1e-6 * pool.total_balance, field
    cnl = result.cnl
    assert abs(cnl.mean() - 0.05) <= 3 * cnl.std(ddof=1) / np.sqrt(cnl.size)


def test_zero_hazard_paths_follow_every_payment_type_schedule():
    tape = tape_from_columns({
        "loan_id": np.array(["lvl", "ep", "bal", "lease"]),
        "balance": np.array([20_000.0, 12_000.0, 15_000.0, 25_000.0]),
        "rate": np.array([0.08, 0.05, 0.07, 0.04]),
        "original_term": np.array([60, 36, 48, 36]),
        "remaining_term": np.array([50, 36, 40, 30]),
        "payment_type": np.array(["level", "equal_principal", "balloon", "lease"]),
        "balloon_amount": np.array([0.0, 0.0, 6_000.0, 14_000.0]),
    })
    model = model_from_dict({
        "default": {"hazard_curves": {"all": {"ages": [1], "values": [0.0]}}},
        "prepayment": {"cpr": 0.0},
        "recovery": {"method": "severity"},
    })
    inputs = prepare_collateral(tape, model)
    flows = simulate_chunk(inputs, flat_macro(model, inputs.n_periods), np.ones(1), 1, 0)[0]
    want = np.zeros(inputs.n_periods)
    want_int = np.zeros(inputs.n_periods)
    for k, ptype in enumerate(["level", "equal_principal", "balloon", "lease"]):
        s = schedule(tape.balance[k], tape.rate[k], int(tape.remaining_term[k]), ptype,
                     tape.balloon_amount[k])
        want[: len(s)] += s["principal"].to_numpy()
        want_int[: len(s)] += s["interest"].to_numpy()
    np.testing.assert_allclose(flows[:, F["scheduled_principal"]], want, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(flows[:, F["interest"]], want_int, rtol=1e-12, atol=1e-9)
    assert flows[:, F["prepaid_principal"]].sum() == 0


def test_vasicek_one_period_oracle():
    """Homogeneous pool, one period, PD 2%, rho 0.10, LGD 100%: q99 8.2357%, q99.9 12.8237%.

    Tolerance: the empirical q-quantile of n paths lies between the exact quantiles at levels
    q -/+ 4 sqrt(q(1-q)/n), widened by 4 binomial standard deviations of a finite pool of N loans.
    """
    n_loans, n_paths = 20_000, 20_000
    tape = tape_from_columns({
        "loan_id": np.arange(n_loans).astype(str),
        "balance": np.full(n_loans, 10_000.0),
        "rate": np.full(n_loans, 0.06),
        "original_term": np.full(n_loans, 12),
        "remaining_term": np.full(n_loans, 1),
    })
    model = model_from_dict({
        "default": {"hazard_curves": {"all": {"ages": [1], "values": [0.02]}},
                    "scorecard": {"normalise": False, "fico": 0, "ltv": 0, "pti": 0, "term": 0,
                                  "used": 0, "apr": 0}},
        "delinquency": {"chargeoff_months": 1},
        "prepayment": {"cpr": 0.0},
        "recovery": {"method": "severity", "severity": 1.0, "lag_months": 0},
        "factor": {"type": "vasicek", "rho": 0.10},
    })
    result = simulate_pool(tape, model, n_paths=n_paths, seed=2024, chunk_size=5000)
    assert result.provenance["factor"]["pd_horizon"] == pytest.approx(0.02, rel=1e-12)
    loss = result.cnl
    assert vasicek_quantile(0.02, 0.10, 0.99) == pytest.approx(0.082357, abs=5e-7)
    assert vasicek_quantile(0.02, 0.10, 0.999) == pytest.approx(0.128237, abs=5e-7)
    for q in (0.99, 0.999):
        band = 4 * np.sqrt(q * (1 - q) / n_paths)
        lo = vasicek_quantile(0.02, 0.10, q - band)
        hi = vasicek_quantile(0.02, 0.10, min(q + band, 1 - 1e-9))
        idio = 4 * np.sqrt(hi * (1 - hi) / n_loans)
        got = np.quantile(loss, q)
        assert lo - idio <= got <= hi + idio, (q, got, lo, hi)
    assert loss.mean() == pytest.approx(0.02, abs=4 * loss.std() / np.sqrt(n_paths))


def test_lognormal_factor_matches_cnl_mean_and_sd(pool):
    model = full_model(type="lognormal", cnl_sd=0.015)
    n = 4000
    cnl = simulate_pool(pool, model, n_paths=n, seed=77).cnl
    mean, sd = cnl.mean(), cnl.std(ddof=1)
    se_mean = sd / np.sqrt(n)
    # Standard error of the sd estimate: sqrt((m4 - sd^4) / (4 n sd^2)).
    m4 = np.mean((cnl - mean) ** 4)
    se_sd = np.sqrt((m4 - sd**4) / (4 * n * sd**2))
    assert abs(mean - 0.03) <= 3 * se_mean
    assert abs(sd - 0.015) <= 3 * se_sd


def test_base_scenario_mean_cnl_matches_expected_cnl_subprime():
    import yaml

    from simulation.model import CollateralModel

    with open("examples/subprime_assumptions.yaml") as fh:
        model = CollateralModel.model_validate(yaml.safe_load(fh))
    tape = synthetic_pool("subprime", 1500, seed=3)
    cnl = simulate_pool(tape, model, n_paths=2000, seed=5).cnl
    assert abs(cnl.mean() - model.default.expected_cnl) <= 3 * cnl.std(ddof=1) / np.sqrt(cnl.size)


def test_cures_delay_but_never_charge_off(pool):
    model = model_from_dict({
        "default": {"hazard_curves": {"all": {"ages": [1], "values": [0.01]}}},
        "delinquency": {"chargeoff_months": 4, "cure_probability": 0.999999},
        "prepayment": {"abs_speed": 0.01},
    })
    chunks = []
    simulate_pool(pool, model, n_paths=20, seed=1, on_chunk=collect(chunks))
    flows = all_flows(chunks)
    assert flows[..., F["defaulted_principal"]].sum() == 0
    assert flows[..., F["delinquent_30"]].sum() > 0
    assert flows[..., F["delinquent_60"]].sum() > 0
    principal = flows[..., [F["scheduled_principal"], F["prepaid_principal"]]].sum(axis=(1, 2))
    np.testing.assert_allclose(principal, pool.total_balance, rtol=1e-10)


def test_stress_macro_raises_losses(pool):
    model = full_model()
    inputs, _ = calibrate(prepare_collateral(pool, model))
    base = flat_macro(model, inputs.n_periods)
    stressed = type(base)(base.unemployment + 0.05, base.market_rate, base.used_car_index * 0.8)
    a = simulate_pool(inputs, n_paths=200, seed=1, macro=base).cnl.mean()
    b = simulate_pool(inputs, n_paths=200, seed=1, macro=stressed).cnl.mean()
    assert b > 1.5 * a


@pytest.mark.parametrize("raw, field", [
    ({"default": {"expected_cnl": 0.02}, "prepayment": {"abs_speed": 0.01}}, "default"),
    ({"default": {"expected_cnl": 0.02, "loss_timing": TIMING}, "prepayment": {}}, "prepayment"),
    ({"default": {"expected_cnl": 1.5, "loss_timing": TIMING}, "prepayment": {"abs_speed": 0.01}},
     "default.expected_cnl"),
    ({"default": {"expected_cnl": 0.02, "loss_timing": TIMING}, "prepayment": {"abs_speed": 0.01},
      "factor": {"type": "vasicek"}}, "factor"),
    ({"default": {"expected_cnl": 0.02, "loss_timing": TIMING}, "prepayment": {"abs_speed": 0.01},
      "delinquency": {"chargeoff_months": 0}}, "delinquency.chargeoff_months"),
    ({"default": {"expected_cnl": 0.02, "loss_timing": TIMING}, "prepayment": {"abs_speed": 0.01},
      "recovery": {"lag": 3}}, "recovery.lag"),
])
def test_model_errors_name_the_field(raw, field):
    with pytest.raises(InputError) as err:
        model_from_dict(raw, source="model.yaml")
    assert "model.yaml" in str(err.value)
    assert any(p.field == field for p in err.value.problems), err.value.problems


def test_unknown_segment_is_an_input_error(pool):
    model = model_from_dict({
        "default": {"hazard_curves": {"subprime": {"ages": [1], "values": [0.01]}}},
        "prepayment": {"abs_speed": 0.01},
    })
    with pytest.raises(InputError, match="no hazard curve for segment 'prime'"):
        prepare_collateral(pool, model, source="tape.csv")


def test_monte_carlo_refuses_lines_with_a_cutoff_of_their_own():
    lines = tape_from_columns({
        "loan_id": np.array(["jan", "feb"], dtype=object),
        "balance": np.array([1_500_000.0, 600_000.0]),
        "rate": np.array([0.06, 0.10]),
        "original_term": np.array([60, 72]),
        "age": np.array([6, 3]),
        "months_before_cutoff": np.array([1, 0]),
    })
    with pytest.raises(InputError) as err:
        prepare_collateral(lines, full_model(), source="replines.csv")
    assert [(p.row, p.field) for p in err.value.problems] == [(1, "months_before_cutoff")]
    assert "deterministic projections only" in str(err.value)


def test_monte_carlo_splits_rep_lines_into_their_loans():
    lines = tape_from_columns({
        "loan_id": np.array(["R1", "R2"], dtype=object),
        "balance": np.array([1_500_000.0, 600_000.0]),
        "rate": np.array([0.06, 0.10]),
        "original_term": np.array([60, 72]),
        "age": np.array([6, 3]),
        "loan_count": np.array([75, 30]),
    })
    inputs = prepare_collateral(lines, full_model())
    assert inputs.n_loans == 105
    assert inputs.initial_balance == pytest.approx(2_100_000.0)
