"""The systematic factor forms of simulation/factor.py against their closed forms."""

import numpy as np
import pytest
import yaml
from scipy.special import ndtri

from portfolio.errors import InputError
from portfolio.synthetic import synthetic_pool
from simulation.collateral import prepare_collateral
from simulation.estimators import mean as estimate_mean
from simulation.factor import calibrate
from simulation.importance import FactorSampling, defensive_mixture
from simulation.model import model_from_dict
from simulation.run import simulate_pool

EXPECTED_CNL, CNL_SD = 0.024, 0.010
QUANTILES = (0.90, 0.99, 0.999)


def prime_model(**factor):
    with open("examples/prime_assumptions.yaml") as fh:
        raw = yaml.safe_load(fh)
    raw["factor"] = factor
    return model_from_dict(raw)


def lognormal_quantile(q: float) -> float:
    """Closed-form quantile of the lognormal CNL of mean EXPECTED_CNL and sd CNL_SD."""
    s = np.sqrt(np.log1p((CNL_SD / EXPECTED_CNL) ** 2))
    return float(np.exp(np.log(EXPECTED_CNL) - 0.5 * s * s + s * ndtri(q)))


@pytest.fixture(scope="module")
def granular_pool():
    return synthetic_pool("prime", 4000, seed=3)


def tail_gaps(tape, factor_type: str) -> list[tuple[float, float, float]]:
    """(q, simulated P(CNL > closed-form q-quantile), its standard error) per quantile.

    Importance sampling on the factor (a defensive mixture shifted to each quantile's ``z``)
    so that the 99.9% tail is measured to a few per cent; the standard error is the
    self-normalised estimator's, from :mod:`simulation.estimators`.
    """
    model = prime_model(type=factor_type, cnl_sd=CNL_SD)
    sampling = FactorSampling(mixture=defensive_mixture([ndtri(q) for q in QUANTILES]))
    result = simulate_pool(tape, model, n_paths=3000, seed=21, factor=sampling)
    cnl, weight = result.cnl, result.weights
    rows = []
    for q in QUANTILES:
        tail = estimate_mean((cnl > lognormal_quantile(q)).astype(float), weight)
        rows.append((q, float(tail.value), float(tail.se)))
    return rows


@pytest.mark.slow
def test_lognormal_cnl_quantiles_match_the_closed_form(granular_pool):
    """q90/q99/q99.9 exceedance within 4 standard errors of 10%/1%/0.1% (granular pool)."""
    for q, tail, se in tail_gaps(granular_pool, "lognormal_cnl"):
        assert abs(tail - (1.0 - q)) <= 4.0 * se, (q, tail, se)


@pytest.mark.slow
def test_hazard_multiplier_form_fails_the_same_check(granular_pool):
    """The old form (lognormal multiplier on hazards) has a thinner CNL tail: it fails."""
    gaps = [(1.0 - q - tail) / se for q, tail, se in tail_gaps(granular_pool, "lognormal")]
    assert max(gaps) > 4.0, gaps


def test_lognormal_cnl_base_case_is_the_expected_cnl(granular_pool):
    """The calibrated scale loses exactly the expected CNL on the expected projection, and the
    factor's target CNL is the lognormal of the given mean at each quantile."""
    inputs, spec = calibrate(prepare_collateral(granular_pool, prime_model(
        type="lognormal_cnl", cnl_sd=CNL_SD)))
    assert spec.kind == "lognormal_cnl"
    z = ndtri(np.array(QUANTILES))
    np.testing.assert_allclose(spec.pool_cnl(z), [lognormal_quantile(q) for q in QUANTILES])
    log_k0 = np.interp(EXPECTED_CNL, spec.cnl_grid, spec.log_multiplier_grid)
    assert log_k0 == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.diff(spec.multiplier(np.linspace(-4, 4, 33))) >= 0.0)


def test_lognormal_cnl_needs_cnl_sd_and_rejects_multiplier_cv():
    with pytest.raises(InputError, match="lognormal_cnl factor needs cnl_sd"):
        prime_model(type="lognormal_cnl")
    with pytest.raises(InputError, match="multiplier_cv"):
        prime_model(type="lognormal_cnl", cnl_sd=0.01, multiplier_cv=0.4)


def test_lognormal_cnl_tail_beyond_the_pool_is_an_input_error(granular_pool):
    model = prime_model(type="lognormal_cnl", cnl_sd=0.4)
    with pytest.raises(InputError, match="more than the pool can lose"):
        calibrate(prepare_collateral(granular_pool, model))
