"""``autoabs yield-table``: the term sheet's prepayment-speed x price yield table per class."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd
from rich.table import Table

from autoabs.commands._common import add_command, make_console
from autoabs.commands.export import add_xlsx_option
from autoabs.commands.paydown import add_speed_options, parse_speeds
from autoabs.inputs import existing_file
from autoabs.pipeline import resolve_inputs
from portfolio._io import atomic_write
from portfolio.errors import InputError
from simulation.pricing import BenchmarkCurve, load_benchmark_curve
from simulation.structuring import yield_table

_MAX_PRICE = 200.0
"""Largest price accepted, percent of par (a class at twice par is a typing error)."""


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add ``autoabs yield-table``."""
    parser = add_command(
        subparsers, name,
        "Yield table as term sheets print it: yield (class convention), WAL, modified "
        "duration and, with --curve, the spread over the benchmark (discount margin for "
        "floating classes) of each class at each ABS speed and price, no losses.",
        "autoabs yield-table examples/prime_deal.yaml --prices 99.5,100,100.5 "
        "--abs 0.5,1.3,2.0 --curve curve.csv",
    )
    parser.add_argument("deal", metavar="DEAL.yaml", help="deal file")
    parser.add_argument("--tape", metavar="TAPE", help="loan tape (overrides the deal's pool)")
    parser.add_argument("--prices", required=True, metavar="P,P,...",
                        help="prices in percent of par, comma-separated (e.g. 99.5,100,100.5)")
    add_speed_options(parser)
    parser.add_argument("--curve", metavar="FILE.csv",
                        help="benchmark curve (CSV columns tenor, rate): adds the I-spread of "
                             "fixed-coupon classes at their WAL")
    parser.add_argument("--csv", metavar="FILE.csv", help="also write the table as CSV")
    add_xlsx_option(parser)
    parser.set_defaults(func=run)


def parse_prices(text: str) -> tuple[float, ...]:
    """Prices in percent of par ('99.5,100') with a clear error naming ``--prices``."""
    try:
        prices = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise InputError("--prices", f"expected prices in percent of par like 99.5,100,100.5; "
                                     f"got {text!r}") from None
    if not prices or any(not 0.0 < p <= _MAX_PRICE for p in prices):  # NaN fails too
        raise InputError("--prices", f"each price must lie in (0, {_MAX_PRICE:g}] percent of "
                                     f"par; got {text!r}")
    return prices


def read_curve(path: str) -> BenchmarkCurve:
    """The ``--curve`` file; its problems are reported under the option's name."""
    existing_file(path, "--curve")
    try:
        return load_benchmark_curve(path)
    except InputError as exc:
        raise InputError(f"--curve {exc.source}", exc.problems) from None


def run(args: argparse.Namespace) -> int:
    """Print (and write) the yield table."""
    console = make_console()
    prices = parse_prices(args.prices)
    speeds = parse_speeds(args.abs)
    curve = read_curve(args.curve) if args.curve else None
    existing_file(args.deal, "DEAL")
    inputs = resolve_inputs(args.deal, tape=args.tape, require_model=False)
    table = yield_table(inputs.deal, inputs.tape, prices, speeds, to_call=args.to_call,
                        curve=curve)
    if args.csv:
        path = atomic_write(Path(args.csv), lambda tmp: table.to_csv(tmp, index=False))
        console.print(f"CSV: {path}")
    if args.xlsx:
        from reports.excel import write_workbook, yield_table_sheet

        console.print(f"Workbook: {write_workbook(args.xlsx, [yield_table_sheet(table)])}")
    mode = "to call" if args.to_call else "to maturity"
    console.print(f"{inputs.deal.name}: yield table, {mode}, no losses")
    for name, rows in table.groupby("class", sort=False):
        console.print(_class_table(f"Class {name}", rows, speeds,
                                   with_spread=curve is not None))
    return 0


def _class_table(title: str, rows: pd.DataFrame, speeds: tuple[float, ...], *,
                 with_spread: bool) -> Table:
    """Prices down, ABS speeds across: yield, modified duration and spread, then the WAL."""
    floating = rows["spread_kind"].iloc[0] == "discount_margin"
    spread_label = "discount margin (bp)" if floating else "spread (bp)"
    out = Table(title=title)
    out.add_column("Price")
    out.add_column("")
    for s in speeds:
        out.add_column(f"{100 * s:g}% ABS", justify="right")
    for price, at in rows.groupby("price", sort=False):
        cells = at.set_index("abs_speed").loc[list(speeds)]
        out.add_row(f"{price:g}", "yield (%)", *[f"{100 * v:.3f}" for v in cells["yield"]])
        out.add_row("", "mod. duration", *[f"{v:.2f}" for v in cells["modified_duration"]])
        if floating or with_spread:
            out.add_row("", spread_label, *[_bp(v) for v in cells["spread"]])
    wal = rows.drop_duplicates("abs_speed").set_index("abs_speed").loc[list(speeds)]
    out.add_row("", "WAL (years)", *[f"{v:.2f}" for v in wal["wal_years"]])
    return out


def _bp(value: float) -> str:
    return "" if math.isnan(value) else f"{1e4 * value:.1f}"
