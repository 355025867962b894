"""Importance sampling, antithetic and stratified factor draws, the stopping rule, and the
default variance reduction of ``simulate`` (docs/variance_reduction.md)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from scipy.special import ndtr

from scenarios import ScenarioMacro, load_scenario
from simulation.estimators import mean as estimate_mean
from simulation.factor import FactorSpec
from simulation.importance import (
    PLAIN,
    FactorSampling,
    GaussianMixture,
    cross_entropy_shift,
    defensive_mixture,
    shift_for_attachment,
    shifted,
)
from simulation.lossonly import LognormalLoss
from simulation.run import independent_factor, simulate

SPEC = FactorSpec("lognormal", sigma=0.45)
ROOT = Path(__file__).resolve().parents[2]


def test_plain_sampler_reproduces_the_engine_default() -> None:
    z0, w0 = independent_factor(3, 100, 500, SPEC)
    z1, w1 = FactorSampling()(3, 100, 500, SPEC)
    np.testing.assert_array_equal(z0, z1)
    np.testing.assert_array_equal(w0, w1)


def test_likelihood_ratio_integrates_to_one_and_is_bounded() -> None:
    mix = defensive_mixture([2.0, 4.0, 6.0], defensive=0.2)
    x, w = np.polynomial.hermite_e.hermegauss(120)
    w = w / w.sum()
    # E_q[w] = E_phi[1] = 1: with z ~ q, E_q[w(z)] = sum_k alpha_k E[w(mu_k + X)]
    e_q_w = sum(a * np.sum(w * mix.likelihood_ratio(m + x))
                for m, a in zip(mix.shifts, mix.probabilities, strict=True))
    assert e_q_w == pytest.approx(1.0, rel=1e-9)
    z = np.linspace(-10, 15, 1001)
    assert np.all(mix.likelihood_ratio(z) <= 1.0 / 0.2 + 1e-12)
    single = GaussianMixture((3.0,), (1.0,))
    np.testing.assert_allclose(single.likelihood_ratio(z), np.exp(-3.0 * z + 4.5))


@pytest.mark.parametrize("sampling", [
    FactorSampling(defensive_mixture([2.5, 5.0]), stratified=True),
    FactorSampling(defensive_mixture([2.5, 5.0]), antithetic=True, stratified=True),
    shifted(3.0, antithetic=True),
])
def test_draws_do_not_depend_on_chunking(sampling: FactorSampling) -> None:
    z, w = sampling(9, 0, 1000, SPEC)
    parts = [sampling(9, a, b - a, SPEC) for a, b in [(0, 1), (1, 300), (300, 301), (301, 1000)]]
    np.testing.assert_array_equal(z, np.concatenate([p[0] for p in parts]))
    np.testing.assert_array_equal(w, np.concatenate([p[1] for p in parts]))


def test_stratified_uniforms_fill_every_stratum_and_stay_uniform() -> None:
    s = FactorSampling(stratified=True, strata=64)
    u = s.uniforms(4, 0, 64 * 200)
    blocks = np.floor(u * 64).astype(int).reshape(200, 64)
    assert all(sorted(b) == list(range(64)) for b in blocks)
    assert stats.kstest(u[::7], "uniform").pvalue > 1e-3


def test_mixture_draws_follow_the_mixture_density() -> None:
    mix = defensive_mixture([3.0], defensive=0.4)
    z, _ = FactorSampling(mix)(2, 0, 20_000, SPEC)

    def cdf(x: np.ndarray) -> np.ndarray:
        return 0.4 * ndtr(x) + 0.6 * ndtr(x - 3.0)

    assert stats.kstest(z, cdf).pvalue > 1e-3


def test_antithetic_pairs_mirror_within_their_component() -> None:
    s = shifted(2.0, antithetic=True)
    z, _ = s(1, 0, 1000, SPEC)
    np.testing.assert_allclose(z[0::2] + z[1::2], 4.0, atol=1e-9)


def _replicate(sampling: FactorSampling, f, n: int = 256, reps: int = 300) -> np.ndarray:
    out = np.empty(reps)
    for r in range(reps):
        z, w = sampling(1000 + r, 0, n, SPEC)
        out[r] = np.mean(w * f(z))
    return out


@pytest.mark.parametrize("name,sampling,min_reduction", [
    ("antithetic", FactorSampling(antithetic=True), 5.0),
    ("stratified", FactorSampling(stratified=True), 50.0),
])
def test_antithetic_and_stratified_are_unbiased_and_reduce_variance(
        name: str, sampling: FactorSampling, min_reduction: float) -> None:
    """E[exp(0.45 Z - 0.45^2/2)] = 1 (the lognormal multiplier): 300 replications of 256
    paths; the mean is within 4 standard errors of 1 and the variance of the estimator
    falls by at least ``min_reduction`` against plain sampling (measured: antithetic ~10x,
    stratified ~1000x)."""
    f = SPEC.multiplier
    plain = _replicate(FactorSampling(), f)
    other = _replicate(sampling, f)
    for est in (plain, other):
        assert abs(est.mean() - 1.0) <= 4.0 * est.std(ddof=1) / np.sqrt(est.size)
    assert plain.var(ddof=1) / other.var(ddof=1) > min_reduction, name


def test_block_standard_error_tracks_the_replication_spread() -> None:
    """The block (batch-means) se of a stratified run matches the spread over replications
    within 30%; the iid se over-states it by far."""
    s = FactorSampling(defensive_mixture([2.5]), stratified=True)
    reps, ses, iid = [], [], []
    for r in range(200):
        z, w = s(r, 0, 1024, SPEC)
        x = SPEC.multiplier(z)
        est = estimate_mean(x, w, block_size=s.block_size)
        reps.append(est.value)
        ses.append(est.se)
        iid.append(estimate_mean(x, w).se)
    spread = float(np.std(reps, ddof=1))
    assert float(np.mean(ses)) == pytest.approx(spread, rel=0.3)
    assert float(np.mean(iid)) > 3.0 * spread
    x = np.arange(10.0)
    assert estimate_mean(x).se == pytest.approx(np.std(x, ddof=1) / np.sqrt(x.size), rel=1e-14)


def test_shift_for_attachment_matches_the_lognormal_closed_form() -> None:
    dist = LognormalLoss(0.02, 0.01)
    grid = np.geomspace(1e-3, 1e3, 400)
    z = shift_for_attachment(0.0975, dist.factor_spec, (grid, 0.02 * grid))
    assert z == pytest.approx(dist.shift_for_attachment(0.0975), abs=1e-3)
    assert shift_for_attachment(0.01, dist.factor_spec, lambda m: 0.02 * m) == 0.0


def test_cross_entropy_shift_of_a_tail_indicator() -> None:
    """For loss = 1{z > a} the zero-variance density is phi truncated at a: mean
    phi(a) / (1 - Phi(a))."""
    z = np.linspace(0.0, 12.0, 2401)
    a = 3.0
    got = cross_entropy_shift(z, (z > a).astype(float))
    want = np.exp(-0.5 * a * a) / np.sqrt(2 * np.pi) / (1 - ndtr(a))
    assert got == pytest.approx(want, abs=0.01)
    assert cross_entropy_shift(z, np.zeros_like(z)) is None


def test_plain_mixture_is_plain() -> None:
    assert PLAIN.is_plain and FactorSampling().kind == "plain"
    assert defensive_mixture([]) is PLAIN


# ---------------------------------------------------------------------------------------------
# full model


@pytest.fixture(scope="module")
def prime() -> tuple:
    from autoabs.pipeline import resolve_inputs
    from portfolio.synthetic import synthetic_pool

    inputs = resolve_inputs(ROOT / "examples" / "prime_deal.yaml")
    return inputs.deal, inputs.model, synthetic_pool("prime", 500, 42)


def test_default_simulate_reports_design_and_ess(prime: tuple) -> None:
    deal, model, tape = prime
    r = simulate(tape, deal, model, n_paths=512, seed=2)
    vr = r.provenance["variance_reduction"]
    assert vr["importance"] == "mixture" and vr["stratified"] and not vr["antithetic"]
    assert vr["shifts"][0] == 0.0 and vr["probabilities"][0] == 0.25
    assert 1.0 < r.provenance["effective_sample_size"] < 512
    summary = json.loads(json.dumps(r.summary()))
    assert all("el_se" in c and "el_rse" in c for c in summary["classes"])
    plain = simulate(tape, deal, model, n_paths=512, seed=2, importance=False, stratified=False)
    assert plain.provenance["variance_reduction"]["importance"] == "plain"
    assert plain.provenance["effective_sample_size"] == 512


def test_stopping_rule_is_reproducible_across_chunk_sizes(prime: tuple) -> None:
    deal, model, tape = prime
    runs = [simulate(tape, deal, model, n_paths=256, seed=4, target_rse=0.08, max_paths=2048,
                     chunk_size=c) for c in (64, 200)]
    rule = runs[0].provenance["stopping_rule"]
    assert rule["paths_run"] == runs[1].provenance["stopping_rule"]["paths_run"]
    assert rule["paths_run"] > 256
    np.testing.assert_array_equal(runs[0].class_metric("loss"), runs[1].class_metric("loss"))
    rows = runs[0].class_summary()
    if rule["met"]:
        ok = (rows["el_rse"] <= 0.08) | (rows["loss_free"] & (rows["el"] == 0.0))
        assert ok.all()
    else:
        assert rule["paths_run"] == 2048


# stochastic scenarios: the design on the credit factor's independent residual


def test_stochastic_scenario_importance_sampling_agrees_with_plain(prime: tuple) -> None:
    """Severely adverse, stochastic, 500-loan prime pool: the default design (on the residual
    of the scenario's credit factor) with 2,000 paths agrees with plain Monte Carlo with
    20,000 paths for every class plain can measure, measures A-4 with far less variance, and
    gives A-2 a positive EL where plain reports none (the prime example's agency-form factor
    puts enough tail mass at 20,000 paths for plain to see A-3)."""
    deal, model, tape = prime
    sc = load_scenario("severely_adverse")
    a = simulate(tape, deal, model, macro=ScenarioMacro(sc), stochastic=True, n_paths=2000,
                 seed=21, chunk_size=500)
    b = simulate(tape, deal, model, macro=ScenarioMacro(sc), stochastic=True, n_paths=20_000,
                 seed=22, chunk_size=2000, importance=False, stratified=False)
    vr = a.provenance["variance_reduction"]
    assert vr["importance"] == "mixture" and "residual" in vr["applied_to"]
    assert b.provenance["variance_reduction"]["importance"] == "plain"
    assert abs(a.weights.mean() - 1.0) < 0.05
    ia, pb = a.class_summary(), b.class_summary()
    measured = [c for c in pb.index if pb.loc[c, "el"] > 0]
    assert {"A-4", "B", "C", "D"} <= set(measured)
    for c in measured:
        gap = abs(ia.loc[c, "el"] - pb.loc[c, "el"])
        assert gap <= 3.0 * np.hypot(ia.loc[c, "el_se"], pb.loc[c, "el_se"]), c
    per_path = (pb.loc["A-4", "el_se"] ** 2 * 20_000) / (ia.loc["A-4", "el_se"] ** 2 * 2000)
    assert per_path > 5.0
    assert pb.loc["A-2a", "el"] == 0.0 < ia.loc["A-2a", "el"]


def test_stochastic_importance_sampling_is_chunk_invariant_and_falls_back(prime: tuple) -> None:
    deal, model, tape = prime
    sc = load_scenario("adverse")
    runs = [simulate(tape, deal, model, macro=ScenarioMacro(sc), stochastic=True, n_paths=256,
                     seed=5, chunk_size=c) for c in (64, 100)]
    np.testing.assert_array_equal(runs[0].class_paths, runs[1].class_paths)
    np.testing.assert_array_equal(runs[0].weights, runs[1].weights)
    # a credit factor almost all macro: its residual is not worth shifting
    corr = sc.stochastic.correlations.model_copy(update={"credit_unemployment": 0.94,
                                                         "credit_rate": 0.0})
    macro_credit = sc.model_copy(update={"stochastic": sc.stochastic.model_copy(
        update={"correlations": corr})})
    r = simulate(tape, deal, model, macro=ScenarioMacro(macro_credit), stochastic=True,
                 n_paths=64, seed=5)
    assert "loading" in r.provenance["variance_reduction"]["importance"]
    assert np.all(r.weights == 1.0)


def _importance_vs_50x_plain(tape, deal, model, cls: str) -> tuple:
    """Class ``cls``'s summary row: default sampler with 2,000 paths, plain with 100,000."""
    is_run = simulate(tape, deal, model, n_paths=2000, seed=21, chunk_size=1000)
    plain = simulate(tape, deal, model, n_paths=100_000, seed=22, chunk_size=2000,
                     importance=False, stratified=False)
    return is_run.class_summary().loc[cls], plain.class_summary().loc[cls]


@pytest.mark.slow
def test_importance_sampled_el_agrees_with_50x_plain_monte_carlo(prime: tuple) -> None:
    """Full collateral model, 500-loan prime pool, prime example structure.

    "Senior" here is class C: the most senior class whose EL a plain run of 100,000 paths
    can still resolve (EL ~ 1e-4; B and above lose too rarely for plain Monte Carlo to see
    them at this budget, which is the point of importance sampling). The default importance
    sampling with 2,000 paths and plain Monte Carlo with 100,000 paths (50x) must agree within
    3 combined standard errors.
    """
    deal, model, tape = prime
    a, b = _importance_vs_50x_plain(tape, deal, model, "C")
    assert b["el"] > 0.0 and b["el_rse"] < 0.35
    assert abs(a["el"] - b["el"]) <= 3.0 * np.hypot(a["el_se"], b["el_se"])
    # per-path variance of the IS estimator is far below plain
    assert (b["el_se"] ** 2 * 100_000) / (a["el_se"] ** 2 * 2000) > 10.0


@pytest.mark.slow
def test_senior_class_el_agrees_with_50x_plain_under_stressed_collateral(prime: tuple) -> None:
    """The senior class itself: A-3, the most senior class that can lose (A-1, A-2a, A-2b
    cannot, see docs/variance_reduction.md). With the prime assumptions it loses too rarely
    for 100,000 plain paths to see, so the expected CNL and its sd are raised to 6% and 3%
    (full collateral model, same pool and structure): A-3 then loses on about 1 path in
    2,000 (EL ~ 3.5e-5). Importance sampling with 2,000 paths and plain Monte Carlo with
    100,000 paths (50x) must agree within 3 combined standard errors."""
    deal, model, tape = prime
    stressed = model.model_copy(update={
        "default": model.default.model_copy(update={"expected_cnl": 0.06}),
        "factor": model.factor.model_copy(update={"cnl_sd": 0.03})})
    a, b = _importance_vs_50x_plain(tape, deal, stressed, "A-3")
    assert b["el"] > 0.0 and b["el_rse"] < 0.35
    assert a["el_rse"] < 0.10
    assert abs(a["el"] - b["el"]) <= 3.0 * np.hypot(a["el_se"], b["el_se"])
    assert (b["el_se"] ** 2 * 100_000) / (a["el_se"] ** 2 * 2000) > 50.0


@pytest.mark.slow
def test_autoabs_run_default_reports_every_class_el_within_10pct_rse(tmp_path: Path) -> None:
    """`autoabs run` on the prime example as shipped (20,000 loans), 10,000 paths, default
    options: every class's EL has el_se / el <= 10% in summary.json; a class whose EL is 0
    must be flagged loss_free (it loses nothing on the expected path even when every loan
    defaults in the first month, so its EL is exactly 0, se 0)."""
    import os

    from autoabs.cli import main

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        code = main(["run", "examples/prime_deal.yaml", "--paths", "10000",
                     "--out", str(tmp_path / "run")])
    finally:
        os.chdir(cwd)
    assert code == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["provenance"]["n_paths"] == 10_000
    assert summary["provenance"]["variance_reduction"]["importance"] == "mixture"
    losing = 0
    for c in summary["classes"]:
        assert c["el"] is not None and c["el_se"] is not None
        if c["el"] == 0.0:
            assert c["loss_free"] and c["el_se"] == 0.0, c["name"]
        else:
            losing += 1
            assert c["el_se"] / c["el"] <= 0.10, (c["name"], c["el"], c["el_se"])
    assert losing >= 5  # B, C, D
