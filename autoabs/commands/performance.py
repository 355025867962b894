"""``autoabs performance``: monthly performance indicators of a panel or of EX-102 files."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from autoabs.commands._common import add_command, make_console
from autoabs.commands.calibrate import add_panel_arguments, read_panel_from_args, rules_from_args
from portfolio._io import atomic_write
from portfolio.errors import InputError
from portfolio.regab_history import read_regab_history
from simulation.performance import (
    LoanActivity,
    panel_activity,
    performance_indicators,
    regab_activity,
)

_PERCENT = ("pool_factor", "cpr", "abs_speed", "cdr", "gross_loss_ratio", "net_loss_ratio",
            "cumulative_gross_loss", "cnl", "annualised_net_loss", "severity", "recovery_rate",
            "delinquent_30", "delinquent_60", "delinquent_90")


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add ``autoabs performance``."""
    parser = add_command(
        subparsers, name,
        "Monthly performance indicators of a loan-level panel, or of a directory of monthly "
        "EX-102 files (PANEL may be one): pool factor, CPR and ABS speed, CDR, gross and net "
        "loss (monthly, cumulative, annualised), severity, recovery rate, 30/60/90+ "
        "delinquency, extensions where reported; prints them and writes CSV (and --xlsx).",
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
    activity, what = _activity(args, console)
    table = performance_indicators(activity)
    written = [atomic_write(Path(args.csv), lambda tmp: table.to_csv(tmp))]
    if args.xlsx:
        def write(tmp: Path) -> None:
            with pd.ExcelWriter(tmp, engine="xlsxwriter") as xl:
                table.to_excel(xl, sheet_name="performance")
        written.append(atomic_write(Path(args.xlsx), write))
    view = Table(title=f"{what}, cut-off balance {activity.cutoff_balance:,.0f} (rates and "
                       "ratios in %)")
    view.add_column("month", justify="right")
    view.add_column("loans", justify="right")
    columns = _PERCENT + (("extended_ratio",) if "extended_ratio" in table else ())
    for col in columns:
        view.add_column(col.replace("_", " "), justify="right")
    for month, row in table.iterrows():
        view.add_row(str(month), f"{row['n_loans']:,.0f}",
                     *["" if pd.isna(row[c]) else f"{row[c] * 100:.3f}" for c in columns])
    console.print(view)
    console.print("Written " + ", ".join(str(p) for p in written))
    return 0


def _activity(args: argparse.Namespace, console: Console) -> tuple[LoanActivity, str]:
    """The monthly loan flows of PANEL: a panel CSV, or a directory of EX-102 .xml files."""
    path = Path(args.panel)
    if path.is_dir():
        files = sorted(path.glob("*.xml"))
        if not files:
            raise InputError(str(path), "no EX-102 .xml files in the directory")
        history = read_regab_history(list(files))
        return regab_activity(history), (f"{path.name}: {len(history.loan_id):,} loans, "
                                         f"{len(files)} EX-102 files {history.periods[0]} to "
                                         f"{history.periods[-1]}")
    panel = read_panel_from_args(args, console)
    return (panel_activity(panel, rules_from_args(args)),
            f"{path.name}: {panel.n_loans:,} loans")
