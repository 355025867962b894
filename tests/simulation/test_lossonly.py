"""Loss-only lognormal mode against the closed form (docs/variance_reduction.md).

Pool CNL lognormal with mean 2% and sd 1%; tranche losses run through the waterfall.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulation.importance import FactorSampling, defensive_mixture, shifted
from simulation.lossonly import (
    LognormalLoss,
    simulate_loss_only,
    tranche_losses,
    tranche_payoff,
)
from simulation.metrics import lognormal_tranche_el

DIST = LognormalLoss(0.02, 0.01)
SENIOR = (0.0975, 1.0)
MEZZ = (0.05, 0.10)
N = 10_000


def test_closed_forms_quoted_in_the_spec() -> None:
    assert DIST.tranche_el(*SENIOR) == pytest.approx(2.339e-6, rel=1e-3)
    assert DIST.tranche_el(*MEZZ) == pytest.approx(0.0028781, rel=1e-4)


def test_waterfall_allocation_equals_the_direct_payoff() -> None:
    loss = np.concatenate([np.linspace(0.0, 1.0, 2001), [0.05, 0.0975, 0.10]])
    tranches = [MEZZ, SENIOR, (0.0, 0.05), (0.02, 0.3)]
    through_waterfall = tranche_losses(loss, tranches)
    for j, (a, d) in enumerate(tranches):
        np.testing.assert_allclose(through_waterfall[:, j], tranche_payoff(loss, a, d),
                                   atol=1e-12)


def test_factor_gives_the_lognormal_moments() -> None:
    x, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    loss = DIST.mean * DIST.factor_spec.multiplier(x)
    assert np.sum(w * loss) == pytest.approx(0.02, rel=1e-10)
    assert np.sqrt(np.sum(w * loss**2) - 0.02**2) == pytest.approx(0.01, rel=1e-8)
    assert DIST.loss(np.array([DIST.shift_for_attachment(0.0975)]))[0] == pytest.approx(0.0975)


def test_senior_el_with_importance_sampling_vs_plain() -> None:
    """9.75%-100%: IS within 10% of 2.339e-6 with 10,000 paths; plain MC on the same number
    of paths reports zero or an RSE above 50%."""
    truth = float(lognormal_tranche_el(0.02, 0.01, *SENIOR))
    shift = DIST.shift_for_attachment(SENIOR[0])
    is_run = simulate_loss_only(DIST, [SENIOR], n_paths=N, seed=7, sampling=shifted(shift))
    el = is_run.expected_loss()[0]
    assert abs(el.value / truth - 1.0) < 0.10
    assert el.se / el.value < 0.05
    plain = simulate_loss_only(DIST, [SENIOR], n_paths=N, seed=7).expected_loss()[0]
    assert plain.value == 0.0 or plain.se / plain.value > 0.5


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_senior_el_plain_is_zero_or_noisy_for_several_seeds(seed: int) -> None:
    plain = simulate_loss_only(DIST, [SENIOR], n_paths=N, seed=seed).expected_loss()[0]
    assert plain.value == 0.0 or plain.se / plain.value > 0.5


def test_mezzanine_el_plain_monte_carlo() -> None:
    """5%-10%: plain MC within k = 4 standard errors (sigma / sqrt(n)) of 0.28781%."""
    run = simulate_loss_only(DIST, [MEZZ], n_paths=N, seed=11)
    el = run.expected_loss()[0]
    sigma = float(np.std(run.tranche_loss[:, 0], ddof=1))
    assert el.se == pytest.approx(sigma / np.sqrt(N))
    assert abs(el.value - 0.0028781) <= 4.0 * sigma / np.sqrt(N)


def test_one_mixture_serves_both_tranches() -> None:
    """A defensive mixture with one shift per attachment (stratified) gets both ELs."""
    shifts = [DIST.shift_for_attachment(a) for a in (MEZZ[0], SENIOR[0])]
    sampling = FactorSampling(defensive_mixture(shifts, 0.25), stratified=True)
    run = simulate_loss_only(DIST, [MEZZ, SENIOR], n_paths=N, seed=5, sampling=sampling)
    for (a, d), el in zip([MEZZ, SENIOR], run.expected_loss(), strict=True):
        truth = DIST.tranche_el(a, d)
        assert abs(el.value - truth) <= 4.0 * el.se
        assert el.se / truth < 0.05
