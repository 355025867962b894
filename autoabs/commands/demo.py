"""``autoabs demo``: the embedded default run — prime pool, prime deal, two scenarios, report.

The example deal and assumptions ship inside the package (``autoabs/data/``, copies of
``examples/prime_deal.yaml`` and ``examples/prime_assumptions.yaml``, kept equal by a test),
so the demo works from a checkout (``make demo``) and from an installed wheel alike.
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

from rich.table import Table

from autoabs.commands._common import add_command, make_console, progress

DEMO_SCENARIOS = ("baseline", "severely_adverse")
DEMO_PATHS = 2000
DEMO_SEED = 1
DEMO_OUT = "autoabs-demo"


def demo_deal() -> Path:
    """The packaged prime example deal (its assumptions file sits beside it)."""
    return Path(str(resources.files("autoabs").joinpath("data", "prime_deal.yaml")))


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add the ``demo`` subcommand."""
    parser = add_command(
        subparsers,
        name,
        "The embedded default: a synthetic prime pool (20,000 loans) under the prime example "
        "deal (CarMax-shaped), simulated under the baseline and severely adverse scenarios "
        "with common random numbers, each run written to the run store with its committee "
        "report. Prints where the reports are.",
        "autoabs demo                 (writes ./autoabs-demo/; autoabs demo --paths 500 "
        "--out /tmp/demo)",
    )
    parser.add_argument("--paths", type=int, default=DEMO_PATHS,
                        help=f"Monte Carlo paths per scenario (default {DEMO_PATHS})")
    parser.add_argument("--seed", type=int, default=DEMO_SEED,
                        help=f"run seed (default {DEMO_SEED})")
    parser.add_argument("--threads", type=int, default=None,
                        help="numba threads (default: all cores)")
    parser.add_argument("--out", default=DEMO_OUT, metavar="DIR",
                        help=f"runs root; one run per scenario (default ./{DEMO_OUT}); "
                        "reruns replace the demo runs, the ledger keeps every entry")
    parser.add_argument("--no-report", action="store_true", help="skip the reports")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run both scenarios, build the reports, print the comparison and where things are."""
    from autoabs.commands.run import class_table
    from autoabs.execute import RunJob, RunOptions, execute
    from autoabs.pipeline import resolve_inputs, resolve_scenario
    from simulation.collateral import prepare_collateral
    from simulation.factor import calibrate
    from simulation.run import DealSimulationResult

    console = make_console()
    options = RunOptions(n_paths=args.paths, seed=args.seed, threads=args.threads)
    options.check()
    inputs = resolve_inputs(demo_deal())
    assert inputs.model is not None
    console.print(f"[bold]autoabs demo[/bold]: {inputs.deal.name}; pool: {inputs.tape_source} "
                  f"(${inputs.tape.total_balance:,.0f}); {args.paths:,} paths per scenario, "
                  f"seed {args.seed}")
    prepared = calibrate(prepare_collateral(inputs.tape, inputs.model))
    root = Path(args.out)
    reports: list[str] = []
    comparison = Table(title="Scenarios (common random numbers)")
    for col in ("Scenario", "Pool CNL", "CNL p99", "Class", "EL", "PD", "WAL (y)", "Rating*"):
        comparison.add_column(col, justify="left" if col in ("Scenario", "Class") else "right")
    for name in DEMO_SCENARIOS:
        scenario, scenario_file = resolve_scenario(name)
        files = dict(inputs.files)
        if scenario_file is not None:
            files["scenario"] = scenario_file
        job = RunJob(tape=inputs.tape, tape_source=inputs.tape_source, model=inputs.model,
                     files=files, deal=inputs.deal, scenario=scenario, scenario_source=name,
                     prepared=prepared, structuring=True)
        with progress(console, args.paths, description=name) as advance:
            outcome = execute(job, options, out=root / name, overwrite=True,
                              report=not args.no_report, progress=advance)
        result = outcome.result
        assert isinstance(result, DealSimulationResult)
        if name == DEMO_SCENARIOS[0]:
            console.print(class_table(result))
        stats = result.pool.cnl_stats()
        summary = result.class_summary()
        for k, (cls, row) in enumerate(summary.iterrows()):
            if row["el"] <= 0.0 and k < len(summary) - 3:
                continue  # the senior classes that lose nothing: keep the table short
            comparison.add_row(name, f"{stats['cnl_mean']:.2%}", f"{stats['cnl_p99']:.2%}",
                               str(cls), f"{row['el']:.4%}", f"{row['pd']:.3%}",
                               f"{row['wal']:.2f}", row["implied_rating"])
        reports.append(f"{outcome.report[0]} and {outcome.report[1].name}" if outcome.report
                       else f"{outcome.run_dir}/ (no report)")
    console.print(comparison)
    console.print(f"Run store: {root}/ (ledger.jsonl; check it with: autoabs verify {root})")
    for name, where in zip(DEMO_SCENARIOS, reports, strict=True):
        console.print(f"Report ({name}): {where}", highlight=False)
    return 0
