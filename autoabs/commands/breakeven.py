"""``autoabs breakeven``: break-even CNL (and multiple of base CNL) per class."""

from __future__ import annotations

import argparse

import pandas as pd
from rich.table import Table

from autoabs.commands._common import add_command, make_console
from autoabs.inputs import existing_file
from autoabs.pipeline import resolve_inputs
from simulation.collateral import prepare_collateral
from simulation.factor import calibrate
from simulation.rating_stress import (
    BUILTIN_TABLES,
    breakeven_table,
    rating_stress_table,
    stress_base,
    table_for_pool,
)
from simulation.structuring import breakeven_cnl


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add ``autoabs breakeven``."""
    parser = add_command(
        subparsers, name,
        "Break-even CNL per class: the largest multiple of the base-case expected CNL at which "
        "the class loses nothing (deterministic expected-value projection); with --timing also "
        "under each loss-timing curve of a rating stress table.",
        "autoabs breakeven examples/prime_deal.yaml --model examples/prime_assumptions.yaml",
    )
    parser.add_argument("deal", metavar="DEAL.yaml", help="deal file")
    parser.add_argument("--tape", metavar="TAPE", help="loan tape (overrides the deal's pool)")
    parser.add_argument("--model", metavar="MODEL.yaml",
                        help="assumptions file (overrides the deal's)")
    parser.add_argument("--timing", action="store_true",
                        help="also the break-even CNL under each loss-timing curve of a rating "
                        "stress table (lowest over its prepayment speeds), as presales print it")
    parser.add_argument("--table", metavar="STRESS.yaml|NAME",
                        help="rating stress table for --timing: a file or a built-in name ("
                        f"{', '.join(BUILTIN_TABLES)}); default: the one nearest the pool's CNL")
    parser.add_argument("--csv", action="store_true",
                        help="print CSV instead of a table (with --timing: the by-timing one)")
    parser.set_defaults(func=run)


def _by_timing_table(deal_name: str, frame: pd.DataFrame, source: str) -> Table:
    """Break-even CNL (and gross loss) per class and timing curve, lowest over the speeds."""
    lowest = frame.loc[frame.groupby(["class", "timing"], sort=False)["breakeven_cnl"].idxmin()]
    timings = list(dict.fromkeys(frame["timing"]))
    out = Table(title=f"{deal_name}: break-even CNL by loss timing ({source}; base-case CNL "
                      f"{frame['base_cnl'].iloc[0]:.2%})")
    out.add_column("Class")
    for t in timings:
        out.add_column(f"{t}: CNL (gross)", justify="right")
    for name in dict.fromkeys(frame["class"]):
        mine = lowest[lowest["class"] == name].set_index("timing")
        out.add_row(name, *(f"{mine.loc[t, 'breakeven_cnl']:.2%} "
                            f"({mine.loc[t, 'breakeven_gross_loss']:.2%})" for t in timings))
    speeds = ", ".join(f"{v:.1%}" for v in sorted(set(frame["abs_speed"])))
    out.caption = (f"largest CNL at which the class is paid in full, lowest over ABS {speeds}; "
                   "gross = CNL / severity")
    return out


def run(args: argparse.Namespace) -> int:
    """Print the break-even table."""
    console = make_console()
    existing_file(args.deal, "DEAL")
    chosen = rating_stress_table(args.table) if args.table else None
    # CSV goes to stdout alone: no loading log in it
    inputs = resolve_inputs(args.deal, tape=args.tape, model=args.model,
                            log=None if args.csv else console)
    assert inputs.model is not None  # resolve_inputs requires it by default
    prepared, _ = calibrate(prepare_collateral(inputs.tape, inputs.model))
    table = breakeven_cnl(inputs.deal, prepared)
    if args.timing:
        base = stress_base(inputs.tape, inputs.model, prepared)
        stress = chosen or table_for_pool(base.cnl)
        by_timing = breakeven_table(inputs.deal, inputs.tape, inputs.model, stress, base=base)
        if args.csv:
            print(by_timing.to_csv(index=False), end="")
            return 0
        console.print(_by_timing_table(inputs.deal.name, by_timing, stress.source))
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
