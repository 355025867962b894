"""``autoabs pool``: Monte Carlo of the collateral pool alone (no deal)."""

from __future__ import annotations

import argparse
from pathlib import Path

from autoabs._io import write_json, write_parquet
from autoabs.commands._common import (
    add_command,
    add_run_options,
    add_tape_arguments,
    existing_file,
    make_console,
    progress,
    tape_from_args,
)
from simulation.engine import simulate_pool
from simulation.model import load_model


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
    add_run_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load inputs, simulate, write ``paths.parquet``, ``flows.parquet`` and ``summary.json``."""
    console = make_console()
    model = load_model(existing_file(args.model, "--model"))
    tape = tape_from_args(args, console)
    out = Path(args.out)
    with progress(console, args.paths) as advance:
        result = simulate_pool(
            tape, model, n_paths=args.paths, seed=args.seed, chunk_size=args.chunk_size,
            threads=args.threads, on_chunk=lambda first, flows, summary: advance(len(summary)),
        )
    write_parquet(out / "paths.parquet", result.paths)
    write_parquet(out / "flows.parquet", result.mean_flows)
    write_json(out / "summary.json", result.summary())
    stats = result.cnl_stats()
    console.print(
        f"CNL mean {stats['cnl_mean']:.3%} (se {stats['cnl_mean_se']:.3%}), "
        f"sd {stats['cnl_sd']:.3%}, p99 {stats['cnl_p99']:.3%} over {args.paths:,} paths"
    )
    console.print(f"results in {out}/ (summary.json, paths.parquet, flows.parquet)")
    return 0
