"""``autoabs strat``: stratification and concentration tables of a loan tape.

The rendering helpers (:func:`print_summary`, :func:`print_strats`,
:func:`print_concentration`) are shared with ``autoabs demo``.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from autoabs.commands._common import add_command, add_tape_arguments, make_console, tape_from_args
from portfolio.errors import InputError, Problem
from portfolio.strats import NAN_NOTE, TOTAL, concentration, resolve_column, strat_table
from portfolio.tape import COLUMN_BY_NAME, LoanTape

DEFAULT_DIMENSIONS: tuple[str, ...] = (
    "state", "vehicle_make", "fico", "rate", "original_term", "ltv", "vehicle_new",
    "vehicle_year",
)
"""Strat dimensions shown when no ``--by`` is given."""

EXTRA_CONCENTRATION: tuple[str, ...] = ("dealer_id", "vehicle_model")
"""Further dimensions in the concentration table (when the tape carries them)."""

DIMENSION_LABELS: dict[str, str] = {
    "state": "State",
    "vehicle_make": "Make",
    "vehicle_model": "Model",
    "fico": "FICO band",
    "rate": "APR band",
    "original_term": "Original term (months)",
    "remaining_term": "Remaining term (months)",
    "ltv": "LTV band",
    "pti": "PTI band",
    "vehicle_new": "New / used",
    "vehicle_year": "Model year",
    "vehicle_type": "Vehicle type",
    "dealer_id": "Dealer",
    "balance": "Current balance",
    "age": "Seasoning (months)",
}

SUMMARY_ROWS: tuple[tuple[str, str, str], ...] = (
    ("n_loans", "Loans", "{:,.0f}"),
    ("total_balance", "Total balance", "${:,.0f}"),
    ("average_balance", "Average balance", "${:,.0f}"),
    ("wa_rate", "WA APR", "{:.2%}"),
    ("wa_fico", "WA FICO", "{:.0f}"),
    ("wa_ltv", "WA LTV", "{:.1%}"),
    ("wa_pti", "WA PTI", "{:.1%}"),
    ("wa_original_term", "WA original term (months)", "{:.1f}"),
    ("wa_remaining_term", "WA remaining term (months)", "{:.1f}"),
    ("wa_age", "WA seasoning (months)", "{:.1f}"),
    ("share_new", "New vehicles (share of balance)", "{:.1%}"),
    ("share_30dpd", "30+ days past due at cut-off (share of balance)", "{:.2%}"),
)

MAX_ROWS = 25
"""Categorical strat rows shown before the remainder is summarised in one line."""

_SOURCE = "autoabs strat"


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add the ``strat`` subcommand."""
    parser = add_command(
        subparsers,
        name,
        "Stratification and concentration tables of a loan tape (CSV or Parquet).",
        "autoabs strat tape.csv --by state --by fico\n"
        "  autoabs strat --synthetic subprime --loans 20000 --seed 7",
    )
    add_tape_arguments(parser, synthetic=True)
    parser.add_argument(
        "--by", action="append", metavar="COLUMN",
        help="strat dimension (repeatable or comma-separated): a tape column or alias such as "
        "state, vehicle_make, fico, apr, original_term, ltv, new_used, vehicle_year; "
        f"default: {', '.join(DEFAULT_DIMENSIONS)}",
    )
    parser.add_argument(
        "--max-rows", type=int, default=MAX_ROWS,
        help=f"largest categorical rows shown per table (default {MAX_ROWS})",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load (or draw) the tape and print its strat and concentration tables."""
    dimensions = parse_dimensions(args.by)
    if args.max_rows < 1:
        raise InputError(_SOURCE, Problem(None, "--max-rows", f"must be >= 1, got {args.max_rows}"))
    console = make_console()
    tape = tape_from_args(args, console)
    print_summary(console, tape)
    print_strats(console, tape, dimensions, max_rows=args.max_rows)
    print_concentration(console, tape, (*dimensions, *EXTRA_CONCENTRATION))
    return 0


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------


def parse_dimensions(by: Sequence[str] | None) -> tuple[str, ...]:
    """Canonical strat columns from ``--by`` values (repeatable, comma-separated)."""
    if not by:
        return DEFAULT_DIMENSIONS
    out: list[str] = []
    for item in by:
        for part in item.split(","):
            if not part.strip():
                continue
            try:
                column = resolve_column(part)
            except ValueError as exc:
                raise InputError(_SOURCE, Problem(None, "--by", str(exc))) from None
            if column not in out:
                out.append(column)
    if not out:
        raise InputError(_SOURCE, Problem(None, "--by", "no column given"))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def _fmt(value: Any, template: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return template.format(value)


def print_summary(console: Console, tape: LoanTape) -> None:
    """Print :meth:`LoanTape.summary` as a two-column table."""
    summary = tape.summary()
    table = Table(title="Pool summary", title_justify="left")
    table.add_column("Statistic")
    table.add_column("Value", justify="right")
    for key, label, template in SUMMARY_ROWS:
        table.add_row(label, _fmt(summary.get(key), template))
    console.print(table)


def label(column: str) -> str:
    """Display name of a strat dimension."""
    return DIMENSION_LABELS.get(column, column)


def strat_rich_table(tape: LoanTape, column: str, max_rows: int = MAX_ROWS) -> Table:
    """Strat table of one dimension as a rich Table."""
    frame = strat_table(tape, column)
    body, total = frame.iloc[:-1], frame.iloc[-1]
    table = Table(title=f"Strat by {label(column)}", title_justify="left")
    for name in (label(column), "Loans", "Balance", "% bal", "% count", "WA APR", "WA FICO",
                 "WA LTV", "WA orig term", "WA rem term"):
        table.add_column(name, justify="left" if name == label(column) else "right")

    def cells(row: Any) -> list[str]:
        return [
            str(row["bucket"]),
            f"{int(row['count']):,}",
            f"${row['balance']:,.0f}",
            f"{row['share_of_balance']:.2%}",
            f"{row['share_of_count']:.2%}",
            _fmt(row["wa_rate"], "{:.2%}"),
            _fmt(row["wa_fico"], "{:.0f}"),
            _fmt(row["wa_ltv"], "{:.1%}"),
            _fmt(row["wa_original_term"], "{:.1f}"),
            _fmt(row["wa_remaining_term"], "{:.1f}"),
        ]

    categorical = COLUMN_BY_NAME[column].kind in ("str", "bool", "ptype")
    shown = body.iloc[:max_rows] if categorical else body
    for _, row in shown.iterrows():
        table.add_row(*cells(row))
    if len(shown) < len(body):
        rest = body.iloc[max_rows:]
        table.add_row(
            f"{len(rest)} others",
            f"{int(rest['count'].sum()):,}",
            f"${rest['balance'].sum():,.0f}",
            f"{rest['share_of_balance'].sum():.2%}",
            f"{rest['share_of_count'].sum():.2%}",
            *["" for _ in range(5)],
            style="dim",
        )
    table.add_section()
    table.add_row(*[TOTAL if i == 0 else c for i, c in enumerate(cells(total))], style="bold")
    return table


def print_strats(
    console: Console, tape: LoanTape, dimensions: Sequence[str], max_rows: int = MAX_ROWS
) -> None:
    """Print one strat table per dimension, then the note on unknown values."""
    for column in dimensions:
        console.print(strat_rich_table(tape, column, max_rows))
    console.print(f"[dim]Note: {NAN_NOTE}.[/dim]")


def concentration_rich_table(tape: LoanTape, dimensions: Sequence[str]) -> Table:
    """One row per dimension: groups, HHI, effective number, top-k, Gini, largest group."""
    table = Table(title="Concentration (by current balance)", title_justify="left")
    for name in ("Dimension", "Groups", "HHI", "Effective N", "Top 1", "Top 5", "Top 10",
                 "Gini", "Largest"):
        table.add_column(name, justify="left" if name in ("Dimension", "Largest") else "right")
    seen: set[str] = set()
    for column in dimensions:
        if column in seen:
            continue
        seen.add(column)
        values = getattr(tape, column, None)
        if values is not None and values.dtype == object and not (values != "").any():
            continue  # the tape does not carry this column
        c = concentration(tape, column)
        top = dict(c.top_shares)
        table.add_row(
            label(column),
            f"{c.n_groups:,}",
            f"{c.hhi:.4f}",
            f"{c.effective_number:.1f}",
            f"{top[1]:.1%}",
            f"{top[5]:.1%}",
            f"{top[10]:.1%}",
            f"{c.gini:.3f}",
            f"{c.largest_name} ({c.largest_share:.1%})",
        )
    return table


def print_concentration(console: Console, tape: LoanTape, dimensions: Sequence[str]) -> None:
    """Print the concentration table of ``dimensions``."""
    console.print(concentration_rich_table(tape, dimensions))
