"""All the multipliers of a solve in one pass over the loans, bit for bit (issue 17)."""

from dataclasses import replace

import numpy as np
import pytest

from portfolio.synthetic import synthetic_pool
from simulation._collateral_kernel import PROJECTION_LOAN_BLOCK
from simulation.collateral import (
    expected_flows,
    expected_flows_by_multiplier,
    flat_macro,
    prepare_collateral,
)
from simulation.model import load_model

PRIME = "examples/prime_assumptions.yaml"


@pytest.fixture(scope="module")
def pool():
    """More loans than one tabulated block, some 30-90 days past due at the cut-off."""
    n = 2 * PROJECTION_LOAN_BLOCK + 37
    inputs = prepare_collateral(synthetic_pool("prime", n, seed=3), load_model(PRIME))
    i = np.arange(n)
    missed = np.where(i % 7 == 0, 1, np.where(i % 11 == 0, 3, 0)).astype(inputs.missed0.dtype)
    return replace(inputs, missed0=missed)


def test_every_multiplier_equals_its_projection_alone(pool) -> None:
    multipliers = np.array([0.0, 1e-3, 0.7, 1.0, 3.3, 250.0, 1e4])
    together = expected_flows_by_multiplier(pool, multipliers)
    for k, m in enumerate(multipliers):
        alone = expected_flows(pool, default_multiplier=float(m)).flows
        assert np.array_equal(together[k], alone), f"multiplier {m}"


def test_order_and_count_of_multipliers_change_nothing(pool) -> None:
    macro = flat_macro(pool.model, pool.n_periods)
    multipliers = np.geomspace(1e-2, 1e2, 9)
    forward = expected_flows_by_multiplier(pool, multipliers, macro)
    backward = expected_flows_by_multiplier(pool, multipliers[::-1], macro)
    assert np.array_equal(forward, backward[::-1])
    assert np.array_equal(forward[4:5], expected_flows_by_multiplier(pool, multipliers[4:5]))


def test_loss_rises_with_the_multiplier_and_zero_multiplier_has_no_new_defaults(pool) -> None:
    flows = expected_flows_by_multiplier(pool, np.array([0.0, 1.0, 2.0]))
    defaulted = flows[..., 3].sum(axis=-1)
    assert defaulted[0] < defaulted[1] < defaulted[2]
    # multiplier 0: only the loans already delinquent at the cut-off charge off
    none_delinquent = replace(pool, missed0=np.zeros_like(pool.missed0))
    assert expected_flows_by_multiplier(none_delinquent, np.array([0.0]))[0, :, 3].sum() == 0.0
