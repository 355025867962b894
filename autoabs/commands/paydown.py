"""``autoabs paydown``: prospectus prepayment tables (WAL, principal window, decrement)."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from autoabs.commands._common import add_command, make_console
from autoabs.commands.export import add_xlsx_option
from autoabs.inputs import existing_file
from autoabs.pipeline import resolve_inputs
from portfolio.errors import InputError
from simulation.structuring import DEFAULT_ABS_SPEEDS, decrement_table, prepayment_table


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add ``autoabs paydown``."""
    parser = add_command(
        subparsers, name,
        "Prepayment table: WAL and principal window of each class at several ABS speeds, "
        "no losses, to the clean-up call or to maturity.",
        "autoabs paydown examples/prime_deal.yaml --abs 0.5,1.0,1.3,1.5,1.8,2.0 --to-call",
    )
    parser.add_argument("deal", metavar="DEAL.yaml", help="deal file")
    parser.add_argument("--tape", metavar="TAPE", help="loan tape (overrides the deal's pool)")
    add_speed_options(parser)
    parser.add_argument("--decrement", action="store_true",
                        help="print the decrement table instead: percent of each class's initial "
                             "principal outstanding after each payment date")
    parser.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    add_xlsx_option(parser)
    parser.set_defaults(func=run)


def add_speed_options(parser: argparse.ArgumentParser) -> None:
    """``--abs`` speeds and ``--to-call`` / ``--to-maturity``, as term-sheet tables take them."""
    parser.add_argument("--abs", default=",".join(f"{100 * s:g}" for s in DEFAULT_ABS_SPEEDS),
                        help="ABS speeds in percent, comma-separated (default %(default)s)")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--to-call", dest="to_call", action="store_true", default=True,
                      help="exercise the clean-up call (default)")
    when.add_argument("--to-maturity", dest="to_call", action="store_false",
                      help="run every class to maturity")


def parse_speeds(text: str) -> tuple[float, ...]:
    """ABS speeds in percent ('0.5,1.3') to decimals, with a clear error."""
    try:
        speeds = tuple(float(x) / 100.0 for x in text.split(",") if x.strip())
    except ValueError:
        raise InputError("--abs", f"expected numbers in percent like 0.5,1.3; got {text!r}") \
            from None
    if not speeds or any(not 0.0 <= s < 0.2 for s in speeds):
        raise InputError("--abs", f"each ABS speed must lie in [0, 20) percent; got {text!r}")
    return speeds


def run(args: argparse.Namespace) -> int:
    """Print the prepayment table."""
    console = make_console()
    speeds = parse_speeds(args.abs)
    existing_file(args.deal, "DEAL")
    inputs = resolve_inputs(args.deal, tape=args.tape, require_model=False)
    mode = "to call" if args.to_call else "to maturity"
    if args.decrement:
        _print_decrement(console, inputs.deal.name, mode,
                         decrement_table(inputs.deal, inputs.tape, speeds, to_call=args.to_call),
                         speeds, csv=args.csv)
        return 0
    table = prepayment_table(inputs.deal, inputs.tape, speeds, to_call=args.to_call)
    if args.xlsx:
        from reports.excel import paydown_sheet, write_workbook

        path = write_workbook(args.xlsx, [paydown_sheet(table)])
        if not args.csv:
            console.print(f"Workbook: {path}")
    if args.csv:
        print(table.to_csv(index=False), end="")
        return 0
    wal = table.pivot(index="class", columns="abs_speed", values="wal_years")
    window = table.assign(window=table.first_principal_date.str[:7] + " to "
                          + table.last_principal_date.str[:7])
    window = window.pivot(index="class", columns="abs_speed", values="window")
    order = list(dict.fromkeys(table["class"]))
    out = Table(title=f"{inputs.deal.name}: weighted average life (years), {mode}, no losses")
    out.add_column("Class")
    for s in speeds:
        out.add_column(f"{100 * s:g}% ABS", justify="right")
    for name in order:
        out.add_row(name, *[f"{wal.loc[name, s]:.2f}" for s in speeds])
    console.print(out)
    win = Table(title="Principal window (first to last principal payment)")
    win.add_column("Class")
    for s in speeds:
        win.add_column(f"{100 * s:g}% ABS")
    for name in order:
        win.add_row(name, *[window.loc[name, s] for s in speeds])
    console.print(win)
    return 0


def _print_decrement(console: Console, deal_name: str, mode: str, table: pd.DataFrame,
                     speeds: tuple[float, ...], *, csv: bool) -> None:
    """One table per class: payment dates down, ABS speeds across, percent outstanding."""
    if csv:
        print(table.to_csv(index=False), end="")
        return
    classes = [c for c in table.columns if c not in ("abs_speed", "period", "payment_date")]
    label_of = dict(zip(table["period"].tolist(), table["payment_date"].tolist(), strict=True))
    for name in classes:
        wide = table.pivot(index="period", columns="abs_speed", values=name)
        values = wide.to_numpy(dtype=float)
        paid_off = np.all(np.nan_to_num(values) <= 0.0, axis=1)
        out = Table(title=f"{deal_name}: class {name}, percent of initial principal "
                          f"outstanding, {mode}, no losses")
        out.add_column("Payment date")
        for s in speeds:
            out.add_column(f"{100 * s:g}% ABS", justify="right")
        for i, period in enumerate(wide.index.tolist()):
            if i > 0 and paid_off[i] and paid_off[i - 1]:
                break  # paid off at every speed: the prospectus stops here
            out.add_row(label_of[period] or "Closing date",
                        *["" if np.isnan(v) else f"{v:.2f}" for v in values[i]])
        console.print(out)
