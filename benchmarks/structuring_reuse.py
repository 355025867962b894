"""What a structure change costs once the collateral is simulated, and what break-evens cost.

On the prime example (8 classes) and a synthetic prime pool, after a warm-up:

1. ``size``: the one collateral simulation of the sizing scenario (collateral kernel calls
   counted: one per chunk) and the time per structure tried, which is a waterfall re-run on
   the stored pool flows (:func:`simulation.sizing.size_deal` provenance timings);
2. ``run`` with structuring (the default of ``autoabs run``), at ``--paths`` and at the
   default path count of ``autoabs run``: the simulation, and the paydown table plus
   break-even multiples (manifest timings ``simulate_s`` and ``structuring_s``), their share
   of the run, and the expected projections the break-evens took;
3. ``stress`` with structuring over three scenarios: the structuring tables are computed
   once for all scenarios; prints that time beside what one computation per scenario cost.

Prints one JSON line; exits 1 when the sizing run called the collateral kernel more than
once per chunk, or when the break-even multiples take more than 10% of a default run (the
budget of computing them by default, issue 15; the paydown table's own share is printed
beside it). Usage:
``python benchmarks/structuring_reuse.py [--loans 20000] [--paths 200] [--size-paths 1000]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simulation.run.chunk as chunk  # noqa: E402
import simulation.structuring as structuring  # noqa: E402
from autoabs import api  # noqa: E402
from autoabs.commands._common import DEFAULT_PATHS  # noqa: E402
from autoabs.execute import RunJob, RunOptions, execute  # noqa: E402
from autoabs.pipeline import resolve_inputs, resolve_scenario  # noqa: E402
from portfolio.synthetic import synthetic_pool  # noqa: E402
from simulation.collateral import CollateralInputs, prepare_collateral  # noqa: E402
from simulation.factor import calibrate  # noqa: E402
from simulation.sizing import parse_targets, size_deal  # noqa: E402
from simulation.structuring import structuring_tables  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEAL = ROOT / "examples" / "prime_deal.yaml"
TARGETS = "A=Aaa,B=Aa2,C=A2,D=Baa2"
SCENARIOS = ("baseline", "adverse", "severely_adverse")
CHUNK_SIZE = 256
MAX_DEFAULT_SHARE = 0.10
"""Most of a default ``autoabs run`` the break-even multiples may take: the issue's budget for
computing them by default (issue 15)."""


def _count_kernel_calls() -> list[int]:
    """Wrap the collateral kernel the chunk function calls; the list grows by one per call."""
    calls: list[int] = []
    kernel = chunk.simulate_chunk

    def counted(*args):  # type: ignore[no-untyped-def]
        calls.append(1)
        return kernel(*args)

    chunk.simulate_chunk = counted  # type: ignore[assignment]
    return calls


def _count_projections() -> list[float]:
    """Wrap the expected projection the break-even search calls; one entry per call."""
    calls: list[float] = []
    project = structuring.expected_flows

    def counted(inputs: Any, macro: Any = None, default_multiplier: float = 1.0) -> Any:
        calls.append(default_multiplier)
        return project(inputs, macro, default_multiplier)

    structuring.expected_flows = counted
    return calls


def _run_timings(job: RunJob, paths: int, out: Path, projections: list[float],
                 prepared: CollateralInputs) -> dict[str, Any]:
    """One ``autoabs run`` without report at ``paths``: timings and the structuring share.

    ``structuring_s`` (manifest) is the paydown table plus the break-even multiples; each is
    timed again on its own right after the run, and its share is of the run's ``total_s``.
    """
    before = len(projections)
    run = execute(job, RunOptions(n_paths=paths, seed=1), out=out,
                  report=False).manifest["timings"]
    n_projections = len(projections) - before
    assert job.deal is not None and job.tape is not None
    t0 = time.perf_counter()
    structuring.prepayment_table(job.deal, job.tape)
    paydown_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    structuring.breakeven_cnl(job.deal, prepared)
    breakeven_s = time.perf_counter() - t0
    return {
        "paths": paths,
        "simulate_s": round(run["simulate_s"], 3),
        "structuring_s": round(run["structuring_s"], 3),
        "total_s": round(run["total_s"], 3),
        "structuring_share_of_total": round(run["structuring_s"] / run["total_s"], 4),
        "paydown_s": round(paydown_s, 3),
        "breakeven_s": round(breakeven_s, 3),
        "breakeven_share_of_total": round(breakeven_s / run["total_s"], 4),
        "breakeven_projections": n_projections,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=20_000)
    parser.add_argument("--paths", type=int, default=200, help="paths of the run and stress")
    parser.add_argument("--size-paths", type=int, default=1000, help="paths of the sizing run")
    args = parser.parse_args()
    inputs = resolve_inputs(DEAL)
    assert inputs.model is not None
    tape = synthetic_pool("prime", args.loans, seed=42)
    prepared = calibrate(prepare_collateral(tape, inputs.model))
    targets = parse_targets(TARGETS, inputs.deal.class_names)
    scenario, scenario_file = resolve_scenario("baseline")
    # warm-up: every kernel compiled (or loaded from the cache) before timing
    size_deal(prepared, inputs.deal, inputs.model, targets, n_paths=64, seed=1)
    structuring_tables(inputs.deal, tape, prepared[0])
    calls = _count_kernel_calls()

    sized = size_deal(prepared, inputs.deal, inputs.model, targets, n_paths=args.size_paths,
                      seed=1, chunk_size=CHUNK_SIZE)
    size_calls = len(calls)
    chunks = -(-args.size_paths // CHUNK_SIZE)
    timings = sized.provenance["timings"]

    job = RunJob(tape=tape, tape_source="synthetic", model=inputs.model,
                 files={**inputs.files, "scenario": scenario_file}, deal=inputs.deal,
                 scenario=scenario, structuring=True)
    projections = _count_projections()
    with tempfile.TemporaryDirectory() as tmp:
        run = _run_timings(job, args.paths, Path(tmp) / "run", projections, prepared[0])
        default_run = _run_timings(job, DEFAULT_PATHS, Path(tmp) / "default", projections,
                                   prepared[0])
        t0 = time.perf_counter()
        api.stress(DEAL, SCENARIOS, tape=tape, paths=args.paths, seed=1,
                   out=Path(tmp) / "stress", structuring=True)
        stress_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    structuring_tables(inputs.deal, tape, prepared[0])
    tables_s = time.perf_counter() - t0

    print(json.dumps({
        "loans": args.loans,
        "size": {
            "paths": args.size_paths,
            "chunks": chunks,
            "collateral_kernel_calls": size_calls,
            "collateral_s": round(timings["collateral_s"], 3),
            "structures_tried": sized.provenance["waterfall_evaluations"],
            "per_structure_ms": round(1e3 * timings["per_structure_s"], 2),
            "per_structure_over_collateral": round(
                timings["per_structure_s"] / timings["collateral_s"], 4),
        },
        "run": run,
        "default_run": {**default_run, "max_share": MAX_DEFAULT_SHARE},
        "stress": {
            "scenarios": len(SCENARIOS),
            "paths": args.paths,
            "total_s": round(stress_s, 3),
            "structuring_tables_once_s": round(tables_s, 3),
            "saved_vs_per_scenario_s": round((len(SCENARIOS) - 1) * tables_s, 3),
        },
    }))
    share = default_run["breakeven_share_of_total"]
    return 0 if size_calls == chunks and share <= MAX_DEFAULT_SHARE else 1


if __name__ == "__main__":
    sys.exit(main())
