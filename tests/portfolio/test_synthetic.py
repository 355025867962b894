"""Synthetic pools: reproducibility, target statistics, loan-level sanity."""

from __future__ import annotations

import numpy as np
import pytest

from portfolio.synthetic import (
    POOL_PARAMETERS,
    POOL_TARGETS,
    TERM_CHOICES,
    pool_statistics,
    synthetic_pool,
)
from portfolio.tape import COLUMNS, LoanTape

N = 20_000


@pytest.fixture(scope="module", params=["prime", "subprime"])
def pool(request: pytest.FixtureRequest) -> LoanTape:
    return synthetic_pool(request.param, N, seed=20250630)


def _same(a: LoanTape, b: LoanTape) -> bool:
    for col in COLUMNS:
        x, y = getattr(a, col.name), getattr(b, col.name)
        if x.dtype.kind == "f":
            if not np.array_equal(x, y, equal_nan=True):
                return False
        elif not np.array_equal(x, y):
            return False
    return True


@pytest.mark.parametrize("kind", ["prime", "subprime"])
def test_same_seed_gives_identical_tape(kind: str) -> None:
    assert _same(synthetic_pool(kind, 2_000, 7), synthetic_pool(kind, 2_000, 7))


@pytest.mark.parametrize("kind", ["prime", "subprime"])
def test_different_seed_gives_different_tape(kind: str) -> None:
    a, b = synthetic_pool(kind, 2_000, 7), synthetic_pool(kind, 2_000, 8)
    assert not np.array_equal(a.balance, b.balance)
    assert not np.array_equal(a.state, b.state)


def test_no_global_rng_touched() -> None:
    state = np.random.get_state()[1].copy()  # noqa: NPY002 - checking the legacy global state
    synthetic_pool("prime", 500, 1)
    assert np.array_equal(np.random.get_state()[1], state)  # noqa: NPY002


@pytest.mark.parametrize(
    ("kind", "statistic", "target", "tol"),
    [
        ("prime", "wa_fico", 715.0, 10.0),
        ("prime", "wa_rate", 0.10, 0.01),
        ("prime", "average_balance", 20_000.0, 2_000.0),
        ("prime", "share_term_over_60", 0.67, 0.05),
        ("subprime", "wa_fico", 600.0, 10.0),
        ("subprime", "wa_rate", 0.18, 0.015),
        ("subprime", "wa_ltv", 1.10, 0.05),
        ("subprime", "share_used", 0.72, 0.04),
    ],
)
def test_pool_statistics_hit_targets(kind: str, statistic: str, target: float, tol: float) -> None:
    tape = synthetic_pool(kind, N, seed=11)
    assert abs(pool_statistics(tape)[statistic] - target) <= tol


def test_documented_targets_match_the_spec() -> None:
    # the module's target table is what the tests above check
    got = {(k, t.statistic): (t.target, t.tolerance) for k, ts in POOL_TARGETS.items() for t in ts}
    assert got[("prime", "wa_fico")] == (715.0, 10.0)
    assert got[("subprime", "share_used")] == (0.72, 0.04)
    for targets in POOL_TARGETS.values():
        for t in targets:
            assert "prospectus pool composition tables" in t.source


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_targets_hold_across_seeds(seed: int) -> None:
    for kind, targets in POOL_TARGETS.items():
        stats = pool_statistics(synthetic_pool(kind, N, seed))
        for t in targets:
            assert abs(stats[t.statistic] - t.target) <= t.tolerance, (kind, t.statistic)


def test_loan_level_sanity(pool: LoanTape) -> None:
    assert len(pool) == N
    assert np.all(pool.balance > 0)
    assert np.all(pool.balance <= pool.original_balance)
    assert np.all(pool.remaining_term <= pool.original_term)
    assert np.all(pool.remaining_term > 0)
    assert np.all(pool.age == pool.original_term - pool.remaining_term)
    assert np.all((pool.age >= 0) & (pool.age <= 24))
    assert set(np.unique(pool.original_term)) <= set(TERM_CHOICES)
    assert np.all((pool.rate > 0) & (pool.rate < 0.30))
    known = np.isfinite(pool.fico)
    assert known.mean() > 0.95
    assert np.all((pool.fico[known] >= 300) & (pool.fico[known] <= 850))
    assert np.all(np.isfinite(pool.ltv) & (pool.ltv > 0))
    assert np.allclose(pool.ltv, pool.original_balance / pool.vehicle_value)
    assert np.all((pool.pti > 0) & (pool.pti < 0.5))
    assert np.all(pool.payment_type == 0)
    assert np.all(pool.days_past_due < 30)
    assert (pool.days_past_due == 0).mean() > 0.9
    assert len(np.unique(pool.loan_id)) == N
    assert set(np.unique(pool.vehicle_type)) <= {"car", "suv", "truck", "van"}
    assert np.all(pool.segment == POOL_PARAMETERS[str(pool.segment[0])].segment)


def test_dates_and_model_years_are_consistent(pool: LoanTape) -> None:
    cutoff = np.datetime64("2025-06-30")
    assert np.all(pool.origination_date <= cutoff)
    months = (
        cutoff.astype("datetime64[M]") - pool.origination_date.astype("datetime64[M]")
    ).astype(int)
    assert np.array_equal(months, pool.age)
    orig_year = pool.origination_date.astype("datetime64[Y]").astype(int) + 1970
    new = pool.vehicle_new
    assert np.all(np.abs(pool.vehicle_year[new] - orig_year[new]) <= 1)
    assert np.all(pool.vehicle_year[~new] < orig_year[~new])


def test_correlations_point_the_right_way(pool: LoanTape) -> None:
    known = np.isfinite(pool.fico)
    low = known & (pool.fico < np.nanmedian(pool.fico))
    high = known & ~low
    assert pool.rate[low].mean() > pool.rate[high].mean() + 0.01
    used = ~pool.vehicle_new
    assert pool.balance[used].mean() < pool.balance[~used].mean()
    assert pool.vehicle_year[used].mean() < pool.vehicle_year[~used].mean()


def test_segments_differ() -> None:
    prime = pool_statistics(synthetic_pool("prime", N, 5))
    subprime = pool_statistics(synthetic_pool("subprime", N, 5))
    assert subprime["wa_rate"] > prime["wa_rate"] + 0.05
    assert subprime["share_used"] > prime["share_used"]


def test_dealers_are_skewed_and_states_are_populous_first() -> None:
    tape = synthetic_pool("prime", N, 9)
    _, counts = np.unique(tape.dealer_id, return_counts=True)
    assert 150 <= len(counts) <= 300
    assert counts.max() > 10 * np.median(counts)
    states, counts = np.unique(tape.state, return_counts=True)
    assert states[np.argmax(counts)] == "CA"


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="kind"):
        synthetic_pool("superprime", 10, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_loans"):
        synthetic_pool("prime", 0, 1)


def test_large_pool_is_valid() -> None:
    tape = synthetic_pool("prime", 100_000, 0)  # speed: benchmarks/test_portfolio_speed.py
    assert len(tape) == 100_000
    assert np.all(tape.balance > 0) and np.all(tape.remaining_term <= tape.original_term)
