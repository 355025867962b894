"""Same seed, same bits whether numba compiled the kernels in this process or loaded them.

A Dask worker usually loads the kernels from numba's on-disk cache while the process that
started the run compiled them fresh; CI once showed the two disagreeing in the last bits when
the collateral kernel allowed fast-math reassociation (see ``portfolio/_jit.py``). Two runs
of the command line share one empty cache directory: the first compiles every kernel and
writes the cache, the second loads it. Their Parquet outputs must be byte-identical.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


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
