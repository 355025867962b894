"""``autoabs demo``: a synthetic prime pool, its summary, strats and concentration."""

from __future__ import annotations

import argparse

from autoabs.commands._common import add_command, make_console, synthetic_tape
from autoabs.commands.strat import (
    DEFAULT_DIMENSIONS,
    EXTRA_CONCENTRATION,
    print_concentration,
    print_strats,
    print_summary,
)

DEMO_SEGMENT = "prime"
DEMO_LOANS = 10_000
DEMO_SEED = 42


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add the ``demo`` subcommand."""
    parser = add_command(
        subparsers,
        name,
        "Build a synthetic prime auto-loan pool (10,000 loans, seed 42) and print its summary, "
        "strat tables and concentration.",
        "autoabs demo",
    )
    parser.add_argument("--loans", type=int, default=DEMO_LOANS, help="pool size")
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help="generator seed")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Draw the demo pool and print its tables."""
    tape = synthetic_tape(DEMO_SEGMENT, args.loans, args.seed)
    console = make_console()
    console.print(
        f"[bold]autoabs demo[/bold]: synthetic {DEMO_SEGMENT} pool, {args.loans:,} loans, "
        f"seed {args.seed} (portfolio.synthetic.synthetic_pool)"
    )
    print_summary(console, tape)
    print_strats(console, tape, DEFAULT_DIMENSIONS)
    print_concentration(console, tape, (*DEFAULT_DIMENSIONS, *EXTRA_CONCENTRATION))
    return 0
