"""``autoabs pool``: Monte Carlo of the collateral pool alone (no deal)."""

from __future__ import annotations

import argparse
from pathlib import Path

from autoabs.commands._common import (
    add_command,
    add_run_options,
    add_scale_options,
    add_tape_arguments,
    make_console,
    progress,
    run_options_from_args,
    tape_from_args,
)
from autoabs.inputs import existing_file
from autoabs.pipeline import resolve_scenario
from portfolio._format import percent_text
from simulation.model import load_model
from simulation.run import PoolSimulationResult


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add ``autoabs pool``."""
    parser = add_command(
        subparsers, name,
        "Simulate a loan pool's defaults, prepayments, delinquencies and recoveries.",
        "autoabs pool tape.csv --model examples/prime_assumptions.yaml --paths 2000 "
        "--seed 1 --out out/pool",
    )
    add_tape_arguments(parser, synthetic=True)
    parser.add_argument("--model", required=True, metavar="MODEL.yaml",
                        help="collateral assumptions file")
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.add_argument("--scenario", metavar="NAME|FILE.yaml",
                        help="macro scenario: library name or scenario file")
    parser.add_argument("--stochastic", action="store_true",
                        help="stochastic paths around the scenario instead of its own path")
    add_run_options(parser)
    add_scale_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load inputs, simulate, write ``paths.parquet``, ``flows.parquet``, ``summary.json``."""
    from autoabs.execute import RunJob, execute

    console = make_console()
    options = run_options_from_args(args)
    options.check()
    model_path = existing_file(args.model, "--model")
    model = load_model(model_path)
    tape = tape_from_args(args, console)
    files = {"assumptions": model_path}
    if args.tape is not None:
        files["tape"] = Path(args.tape)
        source = str(args.tape)
    else:
        source = f"synthetic {args.synthetic} pool, {args.loans} loans, seed {args.pool_seed}"
    scenario, scenario_file = resolve_scenario(args.scenario)
    if scenario_file is not None:
        files["scenario"] = scenario_file
    job = RunJob(tape=tape, tape_source=source, model=model, files=files, scenario=scenario,
                 scenario_source=args.scenario)
    with progress(console, args.paths) as advance:
        outcome = execute(job, options, out=args.out, resume=args.resume,
                          overwrite=args.overwrite, progress=advance)
    result = outcome.result
    assert isinstance(result, PoolSimulationResult)
    stats = result.cnl_stats()
    console.print(
        f"CNL mean {stats['cnl_mean']:.3%} (se {percent_text(stats['cnl_mean_se'], 3)}), "
        f"sd {stats['cnl_sd']:.3%}, p99 {stats['cnl_p99']:.3%} over {args.paths:,} paths"
    )
    console.print(f"results in {outcome.run_dir}/ (manifest.json, summary.json, paths.parquet, "
                  "flows.parquet)")
    return 0
