"""Cold and warm start of ``autoabs run`` on a 1,000-loan pool; warm start must be <= 5 s.

Cold: a fresh process with an empty numba cache (``NUMBA_CACHE_DIR`` set to a new temporary
directory, so the shared cache of the checkout is not touched): every kernel compiles. Warm:
the same command again, kernels load from that cache. Each start is the wall time of the
whole command (interpreter, imports, inputs, calibration, 1,000 paths, writing the run
directory, no report). The breakdown comes from the run's ``manifest.json``, and the import
time from ``autoabs --help``.

Usage: ``python benchmarks/startup.py [--paths N] [--limit SECONDS]``; exits 1 when the
warm start exceeds the limit.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from simulation.run.directory import read_run

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
AUTOABS = [sys.executable, "-m", "autoabs.cli"]


def _deal(tmp: Path, loans: int) -> Path:
    text = (EXAMPLES / "prime_deal.yaml").read_text()
    text = text.replace("pool: {synthetic: prime, loans: 20000, seed: 42}",
                        f"pool: {{synthetic: prime, loans: {loans}, seed: 42}}")
    text = text.replace("assumptions: prime_assumptions.yaml",
                        f"assumptions: {EXAMPLES / 'prime_assumptions.yaml'}")
    path = tmp / "deal.yaml"
    path.write_text(text)
    return path


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{done.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=1000)
    parser.add_argument("--paths", type=int, default=1000)
    parser.add_argument("--limit", type=float, default=5.0, help="warm-start limit, seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp / "numba-cache")}
        deal = _deal(tmp, args.loans)

        def run(label: str) -> float:
            out = tmp / "runs" / label
            return _timed([*AUTOABS, "run", str(deal), "--paths", str(args.paths),
                           "--no-report", "--out", str(out)], env)

        cold = run("cold")
        warm = min(run("warm1"), run("warm2"))
        help_s = min(_timed([*AUTOABS, "--help"], env) for _ in range(2))
        manifest = read_run(tmp / "runs" / "warm2", finished=True).manifest
        assert manifest is not None
        timings = manifest["timings"]
    print(f"autoabs run, {args.loans:,}-loan pool, {args.paths:,} paths, no report")
    print(f"  cold start (empty numba cache): {cold:6.2f} s")
    print(f"  warm start (numba cache warm):  {warm:6.2f} s   (limit {args.limit:.1f} s)")
    print(f"  of which: interpreter + CLI imports (autoabs --help) {help_s:.2f} s; "
          + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()))
    if warm > args.limit:
        print(f"FAIL: warm start {warm:.2f} s > {args.limit:.1f} s")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
