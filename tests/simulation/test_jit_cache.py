"""The numba policy of portfolio/_jit.py seen from outside: caching and the Python twins.

Same seed, same bits whether numba compiled the kernels in this process or loaded them.

A Dask worker usually loads the kernels from numba's on-disk cache while the process that
started the run compiled them fresh; CI once showed the two disagreeing in the last bits when
the collateral kernel allowed fast-math reassociation (see ``portfolio/_jit.py``). Two runs
of the command line share one empty cache directory: the first compiles every kernel and
writes the cache, the second loads it. Their Parquet outputs must be byte-identical.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(out: Path, cache: Path) -> None:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    env.pop("AUTOABS_DISABLE_JIT", None)
    env.pop("NUMBA_DISABLE_JIT", None)
    done = subprocess.run(
        [sys.executable, "-m", "autoabs.cli", "run", str(EXAMPLES / "prorata_trigger_deal.yaml"),
         "--scenario", "severely_adverse", "--paths", "120", "--seed", "8",
         "--chunk-size", "16", "--no-report", "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_fresh_and_cached_kernels_give_identical_runs(tmp_path: Path) -> None:
    cache = tmp_path / "numba-cache"
    _run(tmp_path / "cold", cache)
    assert any(cache.rglob("*.nbc")), "the first run should have written numba's cache"
    _run(tmp_path / "warm", cache)
    written = sorted((tmp_path / "cold").glob("*.parquet"))
    assert written
    for f in written:
        assert f.read_bytes() == (tmp_path / "warm" / f.name).read_bytes(), f.name


TWIN_RUN = """
import json
from portfolio.synthetic import synthetic_pool
from simulation.run import simulate_pool
from simulation.model import load_model
model = load_model({model!r})
result = simulate_pool(synthetic_pool("prime", 30, 1), model, n_paths=6, seed=2)
print(json.dumps(result.cnl.tolist()))
"""


def test_python_twins_run_quietly_and_agree_with_the_kernels() -> None:
    """AUTOABS_DISABLE_JIT=1 runs every kernel as plain Python: no overflow warnings from the
    64-bit RNG keys (they wrap on purpose) and the same pool losses as the compiled engine."""
    code = TWIN_RUN.format(model=str(EXAMPLES / "prime_assumptions.yaml"))
    runs = []
    for disable in ("1", "0"):
        env = {**os.environ, "AUTOABS_DISABLE_JIT": disable}
        done = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-c", code],
                              capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stderr
        runs.append(np.array(json.loads(done.stdout.strip().splitlines()[-1])))
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-10)
