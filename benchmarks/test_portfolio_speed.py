"""Portfolio speed: synthetic pool generation and tape validation (pytest-benchmark).

Run with ``make bench`` (``pytest benchmarks --benchmark-only``); warm-up rounds run first.
Targets: 100,000 synthetic loans well under a second; a 1,000,000-row CSV tape validated in
seconds, not minutes (the loader is vectorised, Python loops only format failing rows).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from portfolio.loaders import load_tape
from portfolio.synthetic import synthetic_pool


def test_synthetic_pool_100k(benchmark):
    benchmark.pedantic(synthetic_pool, args=("prime", 100_000, 0), rounds=5, warmup_rounds=1)
    assert benchmark.stats["mean"] < 1.0


@pytest.fixture(scope="module")
def million_row_tape(tmp_path_factory) -> Path:
    n = 1_000_000
    rng = np.random.default_rng(7)
    original = rng.choice([36, 48, 60, 72], n)
    remaining = np.minimum(original, (original * rng.uniform(0.1, 1.0, n)).astype(int) + 1)
    frame = pd.DataFrame({
        "loan_id": np.char.add("L", np.arange(n).astype(str)),
        "balance": np.round(rng.uniform(1000, 50000, n), 2),
        "rate": np.round(rng.uniform(0.01, 0.25, n), 4),
        "original_term": original,
        "remaining_term": remaining,
        "fico": rng.integers(300, 901, n),
    })
    path = tmp_path_factory.mktemp("tapes") / "big.csv"
    frame.to_csv(path, index=False)
    return path


def test_load_million_row_tape(benchmark, million_row_tape):
    load = benchmark.pedantic(load_tape, args=(million_row_tape,), rounds=2, warmup_rounds=0)
    assert load.n_loaded == 1_000_000
    print(f"\n1M-row CSV tape: {benchmark.stats['mean']:.1f} s")
    assert benchmark.stats["mean"] < 60.0
