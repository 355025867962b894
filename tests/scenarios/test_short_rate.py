"""Hull-White / Vasicek short rate: closed forms against Monte Carlo, exactness, reproducibility.

Statistical tolerances are k standard errors with k = 4: for a sample mean ``4 sd / sqrt(n)``;
for a sample variance of Gaussian draws ``4 var sqrt(2 / (n - 1))``; for an average discount
factor ``4 sd(DF) / sqrt(n)``. Draws are counter-based, so each test is deterministic.
"""

import numpy as np
import pytest

from scenarios.short_rate import (
    MONTH,
    HullWhite,
    linear_mean_integral,
    simulate_short_rate,
    vasicek_mean,
    vasicek_mean_integral,
)

K = 4.0
N_PATHS = 20_000
HORIZONS_MONTHS = (12, 60, 120)


def scenario_like_path(n: int) -> np.ndarray:
    """A mean path shaped like a scenario: a fall, a trough, a recovery (annual decimals)."""
    return np.interp(np.arange(n + 1), [0, 6, 36, 72, 120], [0.0433, 0.001, 0.001, 0.03, 0.035])


@pytest.fixture(scope="module")
def hw_run():
    model = HullWhite(mean_reversion=0.10, volatility=0.012)
    mean = scenario_like_path(120)
    sim = simulate_short_rate(model, mean, seed=2024, paths=np.arange(N_PATHS))
    return model, mean, sim


@pytest.mark.parametrize("month", HORIZONS_MONTHS)
def test_rate_mean_matches_closed_form(hw_run, month):
    model, mean, sim = hw_run
    t = month * MONTH
    sd = float(np.sqrt(model.rate_variance(t)))
    assert abs(sim.rate[:, month].mean() - mean[month]) <= K * sd / np.sqrt(N_PATHS)


@pytest.mark.parametrize("month", HORIZONS_MONTHS)
def test_rate_variance_matches_closed_form(hw_run, month):
    model, _, sim = hw_run
    var = float(model.rate_variance(month * MONTH))
    sample = sim.rate[:, month].var(ddof=1)
    assert abs(sample - var) <= K * var * np.sqrt(2.0 / (N_PATHS - 1))


@pytest.mark.parametrize("month", HORIZONS_MONTHS)
def test_average_discount_factor_matches_zero_coupon_price(hw_run, month):
    model, mean, sim = hw_run
    df = sim.discount_factors[:, month]
    price = float(model.zero_coupon_price(month * MONTH, linear_mean_integral(mean)[month]))
    assert abs(df.mean() - price) <= K * df.std(ddof=1) / np.sqrt(N_PATHS)
    # The convexity term is what the test resolves: without it the price is off by more.
    naive = float(np.exp(-linear_mean_integral(mean)[month]))
    if month == 120:
        assert abs(df.mean() - naive) > K * df.std(ddof=1) / np.sqrt(N_PATHS)


def test_integral_variance_matches_sample_variance_of_log_discount(hw_run):
    model, _, sim = hw_run
    for month in HORIZONS_MONTHS:
        v = float(model.integral_variance(month * MONTH))
        sample = sim.integral[:, month].var(ddof=1)
        assert abs(sample - v) <= K * v * np.sqrt(2.0 / (N_PATHS - 1))


def test_vasicek_special_case_matches_textbook_bond_price():
    a, sigma, r0, b = 0.25, 0.015, 0.045, 0.03
    model = HullWhite(a, sigma)
    t = np.array([0.5, 1.0, 5.0, 10.0, 30.0])
    price = model.zero_coupon_price(t, vasicek_mean_integral(r0, b, a, t))
    bt = (1 - np.exp(-a * t)) / a
    # Vasicek (1977); Brigo & Mercurio (2006) eq. (3.8).
    textbook = np.exp((b - sigma**2 / (2 * a**2)) * (bt - t) - sigma**2 * bt**2 / (4 * a) - bt * r0)
    np.testing.assert_allclose(price, textbook, rtol=1e-12)


def test_vasicek_monte_carlo_matches_closed_forms():
    a, sigma, r0, b = 0.25, 0.015, 0.045, 0.03
    model = HullWhite(a, sigma)
    t = np.arange(121) * MONTH
    sim = simulate_short_rate(model, vasicek_mean(r0, b, a, t), seed=5, paths=np.arange(N_PATHS),
                              mean_integral=vasicek_mean_integral(r0, b, a, t))
    for month in HORIZONS_MONTHS:
        sd = float(np.sqrt(model.rate_variance(t[month])))
        expected = vasicek_mean(r0, b, a, t[month])
        assert abs(sim.rate[:, month].mean() - expected) <= K * sd / np.sqrt(N_PATHS)
        df = sim.discount_factors[:, month]
        price = float(model.zero_coupon_price(t[month], vasicek_mean_integral(r0, b, a, t[month])))
        assert abs(df.mean() - price) <= K * df.std(ddof=1) / np.sqrt(N_PATHS)


def test_stationary_variance_and_small_mean_reversion_limit():
    model = HullWhite(0.5, 0.01)
    assert float(model.rate_variance(1e3)) == pytest.approx(0.01**2 / (2 * 0.5), rel=1e-12)
    # a -> 0 is Ho-Lee: Var r_t = sigma^2 t, Var int r = sigma^2 t^3 / 3.
    slow = HullWhite(1e-3, 0.01)
    assert float(slow.rate_variance(10.0)) == pytest.approx(0.01**2 * 10.0, rel=2e-2)
    assert float(slow.integral_variance(10.0)) == pytest.approx(0.01**2 * 1000 / 3, rel=2e-2)


def test_transition_is_exact_for_any_step():
    """Two half-steps compose into one full step (Gaussian transition, no discretisation bias)."""
    model = HullWhite(0.3, 0.02)
    full, half = model.transition(1.0), model.transition(0.5)
    assert full.decay == pytest.approx(half.decay**2, rel=1e-14)
    assert full.sd_rate**2 == pytest.approx(half.decay**2 * half.sd_rate**2 + half.sd_rate**2,
                                            rel=1e-12)


def test_zero_volatility_gives_the_mean_path():
    mean = scenario_like_path(24)
    sim = simulate_short_rate(HullWhite(0.1, 0.0), mean, seed=1, paths=np.arange(5))
    np.testing.assert_array_equal(sim.rate, np.broadcast_to(mean, (5, 25)))
    np.testing.assert_allclose(sim.integral[0], linear_mean_integral(mean), rtol=0, atol=1e-15)


def test_draws_do_not_depend_on_chunking():
    model = HullWhite(0.1, 0.01)
    mean = scenario_like_path(60)
    whole = simulate_short_rate(model, mean, seed=9, paths=np.arange(100))
    parts = [simulate_short_rate(model, mean, seed=9, paths=np.arange(a, b))
             for a, b in ((0, 37), (37, 38), (38, 100))]
    for field in ("rate", "deviation", "integral"):
        np.testing.assert_array_equal(getattr(whole, field),
                                      np.concatenate([getattr(p, field) for p in parts]))
    # A longer horizon extends paths without changing their first months.
    longer = simulate_short_rate(model, scenario_like_path(90), seed=9, paths=np.arange(100))
    np.testing.assert_array_equal(longer.deviation[:, :61], whole.deviation)


def test_invalid_parameters():
    with pytest.raises(ValueError, match="mean_reversion"):
        HullWhite(0.0, 0.01)
    with pytest.raises(ValueError, match="volatility"):
        HullWhite(0.1, -0.01)
