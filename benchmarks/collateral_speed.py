"""Collateral engine speed against the reference kernel and the NumPy baseline, same process.

Both credit models run in the same process between two reference runs: competing risks
(``loan_months_per_s``, ``ratio_to_refkernel``) and roll rates (``roll_rate_loan_months_per_s``,
``roll_rate_ratio_to_refkernel``; :func:`benchmarks._pools.roll_rate_full_model`).

Prints one JSON line: ``loan_months_per_s``, ``ratio_to_refkernel``, ``ratio_to_numpy``,
``peak_rss_mb`` and the peak RSS of 1,000- and 100,000-path runs of a 1,000-loan pool (each in
its own process, since RSS peaks are per process). Exits 1 when a target is missed: ratio to
the reference kernel >= 0.7 (each credit model), to NumPy >= 15, and memory flat in the number
of paths (100,000-path peak within 1.25x + 50 MB of the 1,000-path peak).

Loan-months: for the reference kernel, (path, loan, month) iterations up to each loan's exit;
for the engine, loans in the pool at the start of each period summed over periods and paths
(which also counts the few months a defaulted loan spends delinquent before charge-off).

Usage: python benchmarks/collateral_speed.py [--loans 20000] [--paths 1000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._pools import (  # noqa: E402
    MovingMacro,
    full_model,
    reference_modules,
    reference_pool_tape,
    roll_rate_full_model,
)
from simulation.collateral import FIELD_NAMES, prepare_collateral  # noqa: E402
from simulation.factor import calibrate  # noqa: E402
from simulation.run import simulate_pool  # noqa: E402

N_ACTIVE = FIELD_NAMES.index("n_active")


def engine_rate(n_loans: int, n_paths: int, chunk_size: int = 256,
                roll_rate: bool = False) -> tuple[float, float, float]:
    """(loan-months per second, loan-months, seconds) of the full collateral engine."""
    tape = reference_pool_tape(n_loans)
    model = roll_rate_full_model() if roll_rate else full_model()
    inputs, _ = calibrate(prepare_collateral(tape, model))
    macro = MovingMacro(model, inputs.n_periods)
    simulate_pool(inputs, n_paths=2, seed=1, macro=macro)
    loan_months = 0.0

    def count(first: int, flows: np.ndarray, summary: np.ndarray) -> None:
        nonlocal loan_months
        active = flows[..., N_ACTIVE]
        loan_months += n_loans * flows.shape[0] + active[:, :-1].sum()

    t0 = time.perf_counter()
    simulate_pool(inputs, n_paths=n_paths, seed=1, macro=macro, chunk_size=chunk_size,
                  on_chunk=count)
    dt = time.perf_counter() - t0
    return loan_months / dt, loan_months, dt


def numpy_rate(n_loans: int, n_paths: int = 3) -> float:
    """Loan-months per second of the NumPy baseline on the same pool."""
    refkernel, numpy_baseline = reference_modules()
    rng = np.random.default_rng(0)
    pool = refkernel.make_pool(n_loans, 72, rng)
    mult = np.exp(rng.normal(0, 0.3, (n_paths, 72)))
    t0 = time.perf_counter()
    _, steps = numpy_baseline.simulate(*pool, mult, 0.5, 3, rng, 72)
    return steps / (time.perf_counter() - t0)


def peak_rss_mb() -> float:
    """Peak resident set size of this process image, MB (VmHWM; getrusage's ru_maxrss would
    carry the parent's peak across fork + exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def memory_child(n_paths: int) -> float:
    """Peak RSS (MB) of a separate process simulating a 1,000-loan pool on ``n_paths``."""
    root = str(Path(__file__).resolve().parents[1])
    code = (
        f"import sys; sys.path.insert(0, {root!r});"
        "from benchmarks.collateral_speed import engine_rate, peak_rss_mb;"
        f"engine_rate(1000, {n_paths}); print(peak_rss_mb())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=20_000)
    parser.add_argument("--paths", type=int, default=1_000)
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    refkernel, _ = reference_modules()
    if refkernel is None:
        print(json.dumps({"error": "../shared/bench not found"}))
        return 1
    ref, _, _ = refkernel.measure(args.loans, args.paths)
    ours, loan_months, seconds = engine_rate(args.loans, args.paths)
    roll, roll_months, roll_seconds = engine_rate(args.loans, args.paths, roll_rate=True)
    ref_after, _, _ = refkernel.measure(args.loans, args.paths)
    ref = max(ref, ref_after)  # the faster of two reference runs, bracketing ours
    base = numpy_rate(args.loans)
    result = {
        "loans": args.loans,
        "paths": args.paths,
        "loan_months": float(loan_months),
        "seconds": round(seconds, 3),
        "loan_months_per_s": float(ours),
        "refkernel_loan_months_per_s": float(ref),
        "numpy_loan_months_per_s": float(base),
        "ratio_to_refkernel": round(ours / ref, 3),
        "roll_rate_loan_months_per_s": float(roll),
        "roll_rate_seconds": round(roll_seconds, 3),
        "roll_rate_ratio_to_refkernel": round(roll / ref, 3),
        "ratio_to_numpy": round(ours / base, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    ok = (result["ratio_to_refkernel"] >= 0.7 and result["roll_rate_ratio_to_refkernel"] >= 0.7
          and result["ratio_to_numpy"] >= 15)
    if not args.skip_memory:
        small, large = memory_child(1_000), memory_child(100_000)
        result["peak_rss_mb_1k_paths_1k_loans"] = round(small, 1)
        result["peak_rss_mb_100k_paths_1k_loans"] = round(large, 1)
        ok = ok and large <= 1.25 * small + 50.0
    result["ok"] = bool(ok)
    print(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
