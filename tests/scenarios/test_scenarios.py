"""Scenario model, built-in library, stochastic layer and transmission to the collateral engine."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from portfolio.errors import InputError
from portfolio.synthetic import synthetic_pool
from scenarios import (
    credit_factor_loadings,
    deterministic_paths,
    library_names,
    load_scenario,
    scenario_from_dict,
    scenario_paths,
    simulate_scenario,
    transmission_channels,
)
from scenarios.model import library_dir
from simulation.collateral import prepare_collateral
from simulation.model import MacroLevels, load_model
from simulation.run import simulate_pool

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = [
    "baseline", "adverse", "severely_adverse",
    "parallel_up_100", "parallel_up_200", "parallel_up_300",
    "parallel_down_100", "parallel_down_200", "parallel_down_300",
    "short_up_300", "long_up_150", "policy_tightening", "policy_easing", "used_car_crash",
]
N_PERIODS = 90
LEVELS = MacroLevels(unemployment=0.042, market_rate=0.075)


def test_library_has_the_fourteen_scenarios():
    assert sorted(library_names()) == sorted(LIBRARY)


@pytest.mark.parametrize("name", LIBRARY)
def test_every_library_scenario_loads_and_gives_finite_arrays(name):
    s = load_scenario(name)
    assert s.name == name and s.source and s.description
    m = scenario_paths(s, N_PERIODS, LEVELS)
    assert m.policy_rate.shape == (N_PERIODS + 1,)
    assert m.unemployment[0] == pytest.approx(0.042) and m.used_car_index[0] == 1.0
    det = deterministic_paths(s, N_PERIODS, LEVELS)
    sto = simulate_scenario(s, N_PERIODS, 64, seed=3, levels=LEVELS)
    for sp, rows in ((det, 1), (sto, 64)):
        arrays = [sp.macro.unemployment, sp.macro.market_rate, sp.macro.used_car_index,
                  sp.index_rate, sp.short_rate, sp.discount_factors]
        for a in arrays:
            assert a.shape == (rows, N_PERIODS) and np.isfinite(a).all()
        assert sp.curve.shape == (N_PERIODS,) and np.isfinite(sp.curve).all()
        assert (sp.macro.used_car_index > 0).all() and (sp.macro.unemployment >= 0).all()
        assert (sp.discount_factors > 0).all() and (sp.curve > 0).all()
    assert sto.factor_z is not None and sto.factor_z.shape == (64,)


def test_library_files_are_package_data():
    assert library_dir() == ROOT / "scenarios" / "library"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"scenarios.library" = ["*.yaml"]' in pyproject


@pytest.fixture(scope="module")
def prime():
    model = load_model(ROOT / "examples" / "prime_assumptions.yaml")
    inputs = prepare_collateral(synthetic_pool("prime", 1000, seed=1), model)
    return model, inputs


@pytest.mark.parametrize("stochastic", [False, True])
def test_severely_adverse_has_higher_mean_cnl_than_baseline(prime, stochastic):
    model, inputs = prime
    n_paths, seed = 200, 7
    cnl = {}
    for name in ("baseline", "severely_adverse"):
        s = load_scenario(name)
        if stochastic:
            sp = simulate_scenario(s, inputs.n_periods, n_paths, seed, levels=model.macro)
        else:
            sp = deterministic_paths(s, inputs.n_periods, model.macro)
        cnl[name] = simulate_pool(inputs, n_paths=n_paths, seed=seed, macro=sp.macro).cnl
    diff = cnl["severely_adverse"] - cnl["baseline"]  # common random numbers: paired by path
    assert diff.mean() > 4.0 * diff.std(ddof=1) / np.sqrt(n_paths)
    assert cnl["severely_adverse"].mean() > 1.5 * cnl["baseline"].mean()


def test_used_car_crash_raises_cnl_through_recoveries_only(prime):
    model, inputs = prime
    out = {}
    for name in ("baseline", "used_car_crash"):
        sp = deterministic_paths(load_scenario(name), inputs.n_periods, model.macro)
        r = simulate_pool(inputs, n_paths=64, seed=4, macro=sp.macro)
        out[name] = r.paths
    np.testing.assert_array_equal(out["baseline"]["defaulted_principal"],
                                  out["used_car_crash"]["defaulted_principal"])
    assert (out["used_car_crash"]["recoveries"] < out["baseline"]["recoveries"]).all()


@pytest.mark.parametrize("stochastic", [False, True])
def test_parallel_up_200_raises_the_index_by_200bp_on_every_path_and_period(stochastic):
    base, up = load_scenario("baseline"), load_scenario("parallel_up_200")
    if stochastic:
        a = simulate_scenario(base, N_PERIODS, 500, seed=11, levels=LEVELS)
        b = simulate_scenario(up, N_PERIODS, 500, seed=11, levels=LEVELS)
    else:
        a = deterministic_paths(base, N_PERIODS, LEVELS)
        b = deterministic_paths(up, N_PERIODS, LEVELS)
    np.testing.assert_allclose(b.index_rate - a.index_rate, 0.02, rtol=0, atol=1e-12)
    np.testing.assert_allclose(b.short_rate - a.short_rate, 0.02, rtol=0, atol=1e-12)
    t = np.arange(1, N_PERIODS + 1) / 12
    np.testing.assert_allclose(b.curve / a.curve, np.exp(-0.02 * t), rtol=1e-12)
    # Unemployment and used cars are untouched; the market auto rate moves by the pass-through.
    np.testing.assert_array_equal(b.macro.unemployment, a.macro.unemployment)
    np.testing.assert_array_equal(b.macro.used_car_index, a.macro.used_car_index)
    np.testing.assert_allclose(b.macro.market_rate - a.macro.market_rate,
                               0.02 * up.transmission.market_rate_pass_through, atol=1e-12)


def test_short_and_long_end_shocks_follow_the_bcbs_shape():
    base = scenario_paths(load_scenario("baseline"), 120)
    short = scenario_paths(load_scenario("short_up_300"), 120)
    long = scenario_paths(load_scenario("long_up_150"), 120)
    tau = np.arange(121) / 12
    np.testing.assert_allclose(short.zero_rates - base.zero_rates, 0.03 * np.exp(-tau / 4),
                               atol=1e-14)
    np.testing.assert_allclose(long.zero_rates - base.zero_rates,
                               0.015 * (1 - np.exp(-tau / 4)), atol=1e-14)
    np.testing.assert_allclose(short.index_rate - base.index_rate, 0.03, atol=1e-14)
    np.testing.assert_array_equal(long.index_rate, base.index_rate)
    # Market auto-loan rate moves with the 2-year point.
    assert long.market_auto_rate[0] - base.market_auto_rate[0] == pytest.approx(
        0.015 * (1 - np.exp(-0.5)))


def test_severely_adverse_has_the_supervisory_shape():
    m = scenario_paths(load_scenario("severely_adverse"), 60)
    assert m.unemployment.max() == pytest.approx(0.10)
    assert 18 <= int(m.unemployment.argmax()) <= 21           # 6-7 quarters
    assert m.policy_rate[6] == pytest.approx(0.001)            # about 0.1% within 2 quarters
    assert 0.75 <= m.used_car_index.min() <= 0.80              # -20% to -25%


def test_alignment_to_the_assumptions_levels_keeps_the_stress_size():
    s = load_scenario("severely_adverse")
    raw = scenario_paths(s, 60)
    aligned = scenario_paths(s, 60, MacroLevels(unemployment=0.05, market_rate=0.09))
    assert aligned.unemployment[0] == pytest.approx(0.05)
    assert aligned.market_auto_rate[0] == pytest.approx(0.09)
    np.testing.assert_allclose(aligned.unemployment - raw.unemployment, 0.05 - raw.unemployment[0])
    np.testing.assert_array_equal(aligned.policy_rate, raw.policy_rate)


def test_stochastic_means_follow_the_scenario():
    s = load_scenario("severely_adverse")
    n = 4000
    sp = simulate_scenario(s, 60, n, seed=21)
    m = scenario_paths(s, 60)
    # Lognormal used-car shocks keep the mean: 4 standard errors.
    car = sp.macro.used_car_index[:, 11]
    assert abs(car.mean() - m.used_car_index[12]) <= 4 * car.std(ddof=1) / np.sqrt(n)
    idx = sp.index_rate[:, 24]
    assert abs(idx.mean() - m.index_rate[24]) <= 4 * idx.std(ddof=1) / np.sqrt(n)


def test_credit_factor_has_the_requested_correlations():
    s = load_scenario("baseline")
    n, horizon = 20_000, s.stochastic.correlations.credit_horizon_months
    sp = simulate_scenario(s, 60, n, seed=5)
    m = scenario_paths(s, 60)
    z = sp.factor_z
    assert z is not None
    assert abs(z.mean()) <= 4 / np.sqrt(n)
    assert abs(z.var(ddof=1) - 1) <= 4 * np.sqrt(2 / (n - 1))
    rate_dev = sp.short_rate[:, horizon] - m.policy_rate[horizon]
    unemp_dev = sp.macro.unemployment[:, horizon - 1] - m.unemployment[horizon]
    c = s.stochastic.correlations
    for dev, target in ((rate_dev, c.credit_rate), (unemp_dev, c.credit_unemployment)):
        rho = np.corrcoef(z, dev)[0, 1]
        assert abs(rho - target) <= 4 * (1 - target**2) / np.sqrt(n)
    b_r, b_u, b_e = credit_factor_loadings(s, 60)
    assert 0 < b_e < 1


def test_same_seed_and_path_give_identical_draws_for_any_chunking():
    s = load_scenario("severely_adverse")
    whole = simulate_scenario(s, N_PERIODS, 100, seed=8, levels=LEVELS)
    chunks = [simulate_scenario(s, N_PERIODS, 100, seed=8, levels=LEVELS, paths=np.arange(a, b))
              for a, b in ((0, 1), (1, 64), (64, 100))]
    for field in ("index_rate", "short_rate", "discount_factors", "factor_z"):
        np.testing.assert_array_equal(getattr(whole, field),
                                      np.concatenate([getattr(c, field) for c in chunks]))
    for field in ("unemployment", "market_rate", "used_car_index"):
        np.testing.assert_array_equal(getattr(whole.macro, field),
                                      np.concatenate([getattr(c.macro, field) for c in chunks]))
    other = simulate_scenario(s, N_PERIODS, 100, seed=9, levels=LEVELS)
    assert not np.array_equal(whole.index_rate, other.index_rate)


def test_base_inheritance_merges_paths_and_replaces_blocks(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text(yaml.safe_dump({
        "name": "mine", "base": "severely_adverse",
        "paths": {"used_car_index": {0: 1.0, 12: 0.6}},
        "stresses": {"recovery_haircut": 0.1},
    }))
    s = load_scenario(f)
    sa = load_scenario("severely_adverse")
    assert s.paths.unemployment == sa.paths.unemployment
    assert s.paths.used_car_index == {0: 1.0, 12: 0.6}
    assert s.stresses.recovery_haircut == 0.1 and s.stresses.cnl_multiple == 1.0
    sp = deterministic_paths(s, 24)
    assert sp.macro.recovery_haircut == 0.1
    # A list of monthly values is accepted as knots from month 0.
    g = tmp_path / "listed.yaml"
    g.write_text("name: listed\nbase: baseline\npaths:\n  unemployment: [0.04, 0.05, 0.06]\n")
    assert scenario_paths(load_scenario(g), 4).unemployment.tolist() == pytest.approx(
        [0.04, 0.05, 0.06, 0.06, 0.06])


def test_transmission_channels_report_effective_values():
    model = load_model(ROOT / "examples" / "prime_assumptions.yaml")
    channels = transmission_channels(model, load_scenario("baseline"))
    by_param = {c.parameter: c.value for c in channels}
    assert by_param["assumptions: default.unemployment_elasticity"] == 12.0
    assert by_param["assumptions: prepayment.rate_incentive"] == 5.0
    assert by_param["scenario: transmission.market_rate_pass_through"] == 1.0


# --------------------------------------------------------------------------------------------
# Bad input: InputError naming the file and the field.

BASE = {"name": "bad", "base": "baseline"}


def _write(tmp_path, content):
    f = tmp_path / "scenario.yaml"
    f.write_text(content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False))
    return f


@pytest.mark.parametrize(("content", "field", "words"), [
    ({**BASE, "stresess": {"cnl_multiple": 2}}, "stresess", "unknown field"),
    ({**BASE, "paths": {"unemploymnt": {0: 0.05}}}, "paths.unemploymnt", "unknown field"),
    ({**BASE, "paths": {"unemployment": {0: 0.04, 6: -0.01}}}, "paths.unemployment",
     "month 6"),
    ({**BASE, "paths": {"used_car_index": {0: 1.0, 12: 0.0}}}, "paths.used_car_index", "> 0"),
    ({**BASE, "paths": {"used_car_index": {0: 1.0, 12: -0.2}}}, "paths.used_car_index", "> 0"),
    ({**BASE, "paths": {"used_car_index": {0: 0.9}}}, "paths.used_car_index", "month 0"),
    ("name: bad\nbase: baseline\npaths:\n  unemployment: {0: 0.04, 12: 0.06, 6: 0.05}\n",
     "paths.unemployment", "strictly increasing"),
    ({**BASE, "paths": {"policy_rate": {3: 0.04}}}, "paths.policy_rate", "month 0"),
    ("- name: bad\n- base: baseline\n", "<top>", "expected a mapping"),
    ({"name": "bad", "paths": {"unemployment": {0: 0.04}}}, "paths.policy_rate", "missing"),
    ({**BASE, "rate_shock": {"parallel_bp": "lots"}}, "rate_shock.parallel_bp", "number"),
    ({**BASE, "stochastic": {"correlations": {"rate_unemployment": 0.9, "rate_used_car": 0.9,
                                              "unemployment_used_car": -0.9}}},
     "stochastic.correlations", "positive definite"),
    ({**BASE, "stochastic": {"short_rate": {"model": "vasicek"}}}, "stochastic.short_rate",
     "long_run_rate"),
    ({**BASE, "curve": {"tenors_years": [1, 0.5], "zero_rates": [0.04, 0.04]}}, "curve",
     "increasing"),
    ({**BASE, "base": "no_such_scenario"}, "base", "available: adverse, baseline"),
])
def test_bad_scenario_files_name_file_and_field(tmp_path, content, field, words):
    f = _write(tmp_path, content)
    with pytest.raises(InputError) as info:
        load_scenario(f)
    message = str(info.value)
    assert str(f) in message
    assert any(p.field == field for p in info.value.problems) or f"{field}:" in message, message
    assert words in message, message


def test_unknown_library_name_lists_the_available_ones():
    with pytest.raises(InputError) as info:
        load_scenario("severly_adverse")
    message = str(info.value)
    assert "severly_adverse" in message and info.value.problems[0].field == "scenario"
    for name in LIBRARY:
        assert name in message


def test_missing_file_and_base_cycle(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load_scenario(tmp_path / "nope.yaml")
    (tmp_path / "a.yaml").write_text("name: a\nbase: b.yaml\n")
    (tmp_path / "b.yaml").write_text("name: b\nbase: a.yaml\n")
    with pytest.raises(InputError, match="cycle"):
        load_scenario(tmp_path / "a.yaml")


def test_invalid_yaml_and_dict_source(tmp_path):
    f = _write(tmp_path, "name: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_scenario(f)
    with pytest.raises(InputError, match="<scenario>"):
        scenario_from_dict(["not", "a", "mapping"])
