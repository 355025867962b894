"""``autoabs breakeven``: break-even CNL (and multiple of base CNL) per class."""

from __future__ import annotations

import argparse

from rich.table import Table

from autoabs.commands._common import add_command, make_console
from autoabs.inputs import existing_file
from autoabs.pipeline import resolve_inputs
from simulation.collateral import prepare_collateral
from simulation.factor import calibrate
from simulation.structuring import breakeven_cnl


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add ``autoabs breakeven``."""
    parser = add_command(
        subparsers, name,
        "Break-even CNL per class: the largest multiple of the base-case expected CNL at which "
        "the class loses nothing (deterministic expected-value projection).",
        "autoabs breakeven examples/prime_deal.yaml --model examples/prime_assumptions.yaml",
    )
    parser.add_argument("deal", metavar="DEAL.yaml", help="deal file")
    parser.add_argument("--tape", metavar="TAPE", help="loan tape (overrides the deal's pool)")
    parser.add_argument("--model", metavar="MODEL.yaml",
                        help="assumptions file (overrides the deal's)")
    parser.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the break-even table."""
    console = make_console()
    existing_file(args.deal, "DEAL")
    inputs = resolve_inputs(args.deal, tape=args.tape, model=args.model, log=console)
    assert inputs.model is not None  # resolve_inputs requires it by default
    prepared, _ = calibrate(prepare_collateral(inputs.tape, inputs.model))
    table = breakeven_cnl(inputs.deal, prepared)
    if args.csv:
        print(table.to_csv(index=False), end="")
        return 0
    out = Table(title=f"{inputs.deal.name}: break-even CNL "
                f"(base-case expected CNL {table.base_cnl.iloc[0]:.2%})")
    for col in ("Class", "Break-even multiple", "Break-even CNL"):
        out.add_column(col, justify="left" if col == "Class" else "right")
    for row in table.to_dict(orient="records"):
        more = "" if row["bracketed"] else " (no loss at the most severe stress tried)"
        out.add_row(row["class"], f"{row['breakeven_multiple']:.2f}x{more}",
                    f"{row['breakeven_cnl']:.2%}")
    console.print(out)
    return 0
