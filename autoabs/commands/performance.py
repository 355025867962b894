"""``autoabs performance``: monthly performance indicators of a loan-level panel."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from rich.table import Table

from autoabs.commands._common import add_command, make_console
from autoabs.commands.calibrate import add_panel_arguments, read_panel_from_args, rules_from_args
from portfolio._io import atomic_write
from simulation.performance import panel_activity, performance_indicators

_PERCENT = ("pool_factor", "cpr", "abs_speed", "cdr", "gross_loss_ratio", "net_loss_ratio",
            "cumulative_gross_loss", "cnl", "annualised_net_loss", "severity", "recovery_rate",
            "delinquent_30", "delinquent_60", "delinquent_90")


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add ``autoabs performance``."""
    parser = add_command(
        subparsers, name,
        "Monthly performance indicators of a loan-level panel: pool factor, CPR and ABS speed, "
        "CDR, gross and net loss (monthly, cumulative, annualised), severity, recovery rate, "
        "30/60/90+ delinquency; prints them and writes CSV (and --xlsx).",
        "autoabs performance aart2171_2017.csv --csv performance.csv --xlsx performance.xlsx",
    )
    add_panel_arguments(parser)
    parser.add_argument("--csv", default="performance.csv", metavar="OUT.csv",
                        help="indicators by month, decimals (default %(default)s)")
    parser.add_argument("--xlsx", metavar="OUT.xlsx", help="also an Excel workbook")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Read the panel, compute the indicators, print them in percent and write them."""
    console = make_console()
    panel = read_panel_from_args(args, console)
    table = performance_indicators(panel_activity(panel, rules_from_args(args)))
    written = [atomic_write(Path(args.csv), lambda tmp: table.to_csv(tmp))]
    if args.xlsx:
        def write(tmp: Path) -> None:
            with pd.ExcelWriter(tmp, engine="xlsxwriter") as xl:
                table.to_excel(xl, sheet_name="performance")
        written.append(atomic_write(Path(args.xlsx), write))
    view = Table(title=f"{Path(args.panel).name}: {panel.n_loans:,} loans, cut-off balance "
                       f"{panel.cutoff_balance.sum():,.0f} (rates and ratios in %)")
    view.add_column("month", justify="right")
    view.add_column("loans", justify="right")
    for col in _PERCENT:
        view.add_column(col.replace("_", " "), justify="right")
    for month, row in table.iterrows():
        view.add_row(str(month), f"{row['n_loans']:,.0f}",
                     *["" if pd.isna(row[c]) else f"{row[c] * 100:.3f}" for c in _PERCENT])
    console.print(view)
    console.print("Written " + ", ".join(str(p) for p in written))
    return 0
