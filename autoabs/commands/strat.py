"""``autoabs strat``: stratification and concentration tables of a loan tape.

The rendering helpers (:func:`print_summary`, :func:`print_strats`,
:func:`print_concentration`) are shared with ``autoabs demo``.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from autoabs.commands._common import add_command
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
    parser.add_argument("tape", nargs="?", metavar="TAPE", help="loan tape, .csv or .parquet")
    parser.add_argument(
        "--by", action="append", metavar="COLUMN",
        help="strat dimension (repeatable or comma-separated): a tape column or alias such as "
        "state, vehicle_make, fico, apr, original_term, ltv, new_used, vehicle_year; "
        f"default: {', '.join(DEFAULT_DIMENSIONS)}",
    )
    parser.add_argument(
        "--columns-map", metavar="FILE.yaml",
        help="YAML mapping of file column names to canonical names (LoanNumber: loan_id)",
    )
    parser.add_argument(
        "--on-error", choices=("raise", "reject"), default="raise",
        help="bad rows: stop with every problem listed (raise), or load the good rows and "
        "write the bad ones to a sidecar CSV (reject)",
    )
    parser.add_argument(
        "--synthetic", choices=("prime", "subprime"),
        help="stratify a synthetic pool instead of a TAPE file",
    )
    parser.add_argument("--loans", type=int, default=10_000, help="synthetic pool size")
    parser.add_argument("--seed", type=int, default=42, help="synthetic pool seed")
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
    if args.synthetic is not None:
        if args.tape is not None:
            raise InputError(
                _SOURCE, Problem(None, "TAPE", "give either a TAPE file or --synthetic, not both")
            )
        tape = synthetic_tape(args.synthetic, args.loans, args.seed)
        console.print(
            f"Synthetic {args.synthetic} pool: {args.loans:,} loans, seed {args.seed}"
        )
    elif args.tape is not None:
        tape = load(args.tape, args.columns_map, args.on_error, console)
    else:
        raise InputError(
            _SOURCE, Problem(None, "TAPE", "give a TAPE file or --synthetic prime|subprime")
        )
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


def synthetic_tape(kind: str, n_loans: int, seed: int) -> LoanTape:
    """Draw a synthetic pool, turning bad sizes into input errors."""
    from portfolio.synthetic import synthetic_pool

    if n_loans < 1:
        raise InputError(_SOURCE, Problem(None, "--loans", f"must be >= 1, got {n_loans}"))
    return synthetic_pool(kind, n_loans, seed)  # type: ignore[arg-type]


def _existing(path: str, field: str) -> Path:
    """Return ``path`` as a Path, or raise an InputError naming it when it is not a file."""
    p = Path(path)
    if not p.is_file():
        what = "is not a file" if p.exists() else "file not found"
        raise InputError(str(p), Problem(None, field, what))
    return p


def read_columns_map(path: str) -> dict[str, str]:
    """Read a YAML mapping ``file column -> canonical column``."""
    import yaml

    file = _existing(path, "--columns-map")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problem = Problem(None, "--columns-map", f"not valid YAML: {exc}")
        raise InputError(str(file), problem) from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise InputError(
            str(file),
            Problem(
                None,
                "--columns-map",
                "expected a mapping of file column names to canonical names, e.g. "
                f"'LoanNumber: loan_id'; got {type(data).__name__}",
            ),
        )
    return data


def load(tape_path: str, columns_map: str | None, on_error: str, console: Console) -> LoanTape:
    """Load a tape file through :func:`portfolio.loaders.load_tape`."""
    from portfolio.loaders import load_tape

    path = _existing(tape_path, "TAPE")
    columns = read_columns_map(columns_map) if columns_map else None
    result = load_tape(path, columns=columns, on_error=on_error)  # type: ignore[arg-type]
    console.print(f"Tape {tape_path}: {result.n_loaded:,} loans loaded")
    if result.n_rejected:
        console.print(
            f"[yellow]{result.n_rejected:,} of {result.n_rows:,} rows rejected; "
            f"reasons in {result.reject_path}[/yellow]"
        )
    return result.tape


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def make_console() -> Console:
    """Console on stdout; wide enough for the strat tables when not a terminal."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=160, file=sys.stdout)
    return console


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
