"""Stress runs: common random numbers, rate shocks through to coupons, the whole library."""

import numpy as np
import pandas as pd
import pytest

import autoabs
from autoabs import cli
from portfolio.synthetic import synthetic_pool
from scenarios import ScenarioMacro
from scenarios.model import library_names, load_scenario
from scenarios.stress import sensitivity_grid
from simulation.deal import load_deal
from simulation.model import load_model
from simulation.run import simulate

EXAMPLES = {
    "prime": ("examples/prime_deal.yaml", "examples/prime_assumptions.yaml", "prime"),
    "subprime": ("examples/subprime_turbo_deal.yaml", "examples/subprime_assumptions.yaml",
                 "subprime"),
    "prorata": ("examples/prorata_trigger_deal.yaml", "examples/prime_assumptions.yaml",
                "prime"),
}


def _deal_inputs(key, n_loans=1500):
    deal_path, model_path, kind = EXAMPLES[key]
    deal = load_deal(deal_path)
    model = load_model(deal.assumptions or model_path)
    return deal, model, synthetic_pool(kind, n_loans, seed=7)


def test_common_random_numbers_shrink_the_error_of_scenario_differences():
    """SE of the EL difference between two scenarios: same seed vs independent seeds.

    Baseline vs a +200 bp parallel rate shock on the subprime example: the shock moves coupons,
    the swap and prepayment incentives while the credit draws stay common, so the difference
    is estimated far more precisely than from independent runs (measured ~30x here). Credit
    stresses that shift the whole loss distribution (adverse, used-car crash) gain less
    (~1.4-2x), as docs/scenarios.md notes. Losses are weighted by each path's likelihood ratio
    (importance sampling is on by default; the stress run shares one design across scenarios).
    """
    deal_path = EXAMPLES["subprime"][0]
    _, _, tape = _deal_inputs("subprime")
    n = 400
    same = autoabs.stress(deal_path, ["baseline", "parallel_up_200"], tape=tape, paths=n,
                          seed=11)
    other = autoabs.run(deal_path, tape=tape, scenario="parallel_up_200", paths=n, seed=12)
    junior = load_deal(deal_path).notes[-2].name  # a class with losses in both scenarios

    def weighted_loss(result):
        rows = result.paths()
        rows = rows[rows["class"] == junior].sort_values("path")
        return (rows["loss"] * rows["weight"]).to_numpy()

    loss_base = weighted_loss(same.runs["baseline"])
    loss_shock = weighted_loss(same.runs["parallel_up_200"])
    loss_shock_indep = weighted_loss(other)
    assert loss_base.mean() > 0 and loss_shock.mean() > 0
    se_crn = np.std(loss_shock - loss_base, ddof=1) / np.sqrt(n)
    se_indep = np.sqrt(loss_shock_indep.var(ddof=1) / n + loss_base.var(ddof=1) / n)
    assert se_indep >= 3 * se_crn, (se_indep, se_crn)


def test_parallel_up_200_raises_the_floating_coupon_by_200bp_on_every_path():
    deal, model, tape = _deal_inputs("prime")
    floating = [n.name for n in deal.notes].index("A-2b")
    coupons = {}
    for name in ("baseline", "parallel_up_200"):
        seen = []
        simulate(tape, deal, model, macro=ScenarioMacro(load_scenario(name)), stochastic=True,
                 n_paths=64, seed=3, chunk_size=32,
                 on_chunk=lambda first, flows, tf, seen=seen: seen.append(tf.coupon_rate))
        coupons[name] = np.concatenate(seen)[:, floating, :]
    months = 24  # while A-2b is outstanding on every path
    diff = coupons["parallel_up_200"][:, :months] - coupons["baseline"][:, :months]
    assert np.allclose(diff, 0.02, atol=1e-12)


@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_every_library_scenario_runs_on_every_example_deal(key):
    _, _, tape = _deal_inputs(key, n_loans=600)
    names = library_names()
    assert len(names) == 14
    result = autoabs.stress(EXAMPLES[key][0], names, tape=tape, paths=16, seed=1,
                            stochastic=True)
    table = result.table().reset_index()
    assert set(table.scenario) == set(names)
    assert np.isfinite(table[["el", "pd", "wal", "yield"]].to_numpy(dtype=float)).all()
    cnl = table.groupby("scenario").pool_cnl_mean.first()
    assert cnl["severely_adverse"] > cnl["baseline"]


def test_sensitivity_grid_losses_rise_with_the_cnl_multiple():
    deal, model, tape = _deal_inputs("prime", n_loans=800)
    grid = sensitivity_grid(deal, tape, model, cnl_multiples=(1.0, 3.0, 6.0),
                            abs_speeds=(0.01, 0.02))
    d = grid[grid["class"] == "D"].pivot(index="cnl_multiple", columns="abs_speed",
                                         values="loss")
    assert (d.diff().dropna() >= 0).all().all()
    assert d.loc[6.0].min() > 0
    cnl = grid.groupby("cnl_multiple").pool_cnl.first()
    assert cnl[3.0] == pytest.approx(3 * cnl[1.0], rel=1e-6)


def test_sensitivity_grid_marks_multiples_no_default_rate_reaches():
    """Subprime (base CNL ~14%): 6x the base CNL exceeds what the loss severity allows, so the
    cell runs at the highest default rate and says so instead of failing."""
    deal, model, tape = _deal_inputs("subprime", n_loans=400)
    grid = sensitivity_grid(deal, tape, model, cnl_multiples=(1.0, 6.0), abs_speeds=(0.015,))
    cells = grid.drop_duplicates("cnl_multiple").set_index("cnl_multiple")
    assert bool(cells.loc[1.0, "reached"])
    assert cells.loc[1.0, "pool_cnl"] == pytest.approx(cells.loc[1.0, "target_cnl"], rel=1e-6)
    assert not bool(cells.loc[6.0, "reached"])
    assert cells.loc[1.0, "pool_cnl"] < cells.loc[6.0, "pool_cnl"] < cells.loc[6.0, "target_cnl"]
    d = grid[grid["class"] == "D"].set_index("cnl_multiple")["loss"]
    assert d.loc[6.0] >= d.loc[1.0]


def test_stress_cli_reports_grid_cells_out_of_reach(tmp_path, capsys):
    tape = tmp_path / "subprime.csv"
    synthetic_pool("subprime", 300, seed=3).to_frame().to_csv(tape, index=False)
    args = ["stress", "examples/subprime_turbo_deal.yaml", "--tape", str(tape), "--scenarios",
            "baseline", "--paths", "32", "--no-report", "--out", str(tmp_path / "stress")]
    assert cli.main(args) == 0
    assert "cannot reach their CNL multiple" in capsys.readouterr().out
    grid = pd.read_csv(tmp_path / "stress" / "sensitivity_grid.csv")
    assert (~grid["reached"]).any() and grid["reached"].any()


def test_stress_cli_writes_table_and_rejects_unknown_scenarios(tmp_path, capsys):
    out = tmp_path / "stress"
    args = ["stress", "examples/prime_deal.yaml", "--scenarios", "baseline,parallel_down_100",
            "--paths", "32", "--no-grid", "--out", str(out)]
    assert cli.main(args) == 0
    assert (out / "stress.csv").is_file()
    assert (out / "scenarios" / "baseline" / "summary.json").is_file()
    assert (out / "report.html").is_file() and (out / "report.pdf").is_file()
    assert cli.main(["stress", "examples/prime_deal.yaml", "--scenarios", "nope", "--out",
                     str(out)]) == 2
    assert "nope" in capsys.readouterr().err


def test_sensitivity_grid_reuses_the_stress_runs_prepared_collateral(monkeypatch):
    """Given the prepared collateral of the Monte Carlo runs, the grid does not prepare the
    tape again and its cells are the same to the bit."""
    import simulation.rating_stress as rating_stress
    from simulation.collateral import prepare_collateral
    from simulation.factor import calibrate

    deal, model, tape = _deal_inputs("prorata", n_loans=300)
    speeds, multiples = (0.013,), (1.0, 3.0)
    fresh = sensitivity_grid(deal, tape, model, cnl_multiples=multiples, abs_speeds=speeds)
    prepared, _ = calibrate(prepare_collateral(tape, model))

    def refuse(*args, **kwargs):
        raise AssertionError("the tape was prepared again")

    monkeypatch.setattr(rating_stress, "prepare_collateral", refuse)
    reused = sensitivity_grid(deal, tape, model, cnl_multiples=multiples, abs_speeds=speeds,
                              inputs=prepared)
    pd.testing.assert_frame_equal(reused, fresh, check_exact=True)
