"""What the waterfall and tranche metrics add to the collateral engine's time.

Runs the prime example (8 classes) on a 20,000-loan synthetic pool: once the collateral engine
alone (``simulate_pool``), once the full deal simulation (``simulate``: collateral + waterfall +
metrics + streaming reductions), same seed and paths, after a warm-up of both. Prints one JSON
line with both times and the overhead; exits 1 when the overhead exceeds 15%.

Usage: python benchmarks/waterfall_overhead.py [--loans 20000] [--paths 10000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from portfolio.synthetic import synthetic_pool  # noqa: E402
from simulation.collateral import prepare_collateral  # noqa: E402
from simulation.deal import load_deal  # noqa: E402
from simulation.factor import calibrate  # noqa: E402
from simulation.model import load_model  # noqa: E402
from simulation.run import (  # noqa: E402
    independent_factor,
    simulate,  # noqa: E402
    simulate_pool,
)

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=20_000)
    parser.add_argument("--paths", type=int, default=10_000)
    args = parser.parse_args()
    deal = load_deal(ROOT / "examples" / "prime_deal.yaml")
    model = load_model(ROOT / "examples" / "prime_assumptions.yaml")
    tape = synthetic_pool("prime", args.loans, seed=42)
    prepared = calibrate(prepare_collateral(tape, model))
    inputs, spec = prepared
    simulate_pool(inputs, n_paths=64, seed=1, factor_spec=spec)
    # Plain factor sampling in both runs: the importance sampler's one-off set-up (class loss
    # curves from the expected projection) is neither waterfall nor metrics.
    simulate(tape, deal, model, n_paths=64, seed=1, prepared=prepared, factor=independent_factor)

    t0 = time.perf_counter()
    simulate_pool(inputs, n_paths=args.paths, seed=1, factor_spec=spec)
    collateral = time.perf_counter() - t0
    t0 = time.perf_counter()
    simulate(tape, deal, model, n_paths=args.paths, seed=1, prepared=prepared,
             factor=independent_factor)
    full = time.perf_counter() - t0
    overhead = (full - collateral) / collateral
    print(json.dumps({
        "loans": args.loans,
        "paths": args.paths,
        "classes": len(deal.notes),
        "collateral_s": round(collateral, 3),
        "collateral_waterfall_metrics_s": round(full, 3),
        "overhead": round(overhead, 4),
        "ok": bool(overhead <= 0.15),
    }))
    return 0 if overhead <= 0.15 else 1


if __name__ == "__main__":
    sys.exit(main())
