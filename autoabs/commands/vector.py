"""``autoabs vector``: a deterministic run on assumption vectors, to CSV and Excel.

Default, prepayment, severity, lag and curtailment vectors come as options or a CSV; the pool
and class cash flows are printed and written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from autoabs.commands._common import add_as_of_argument, add_command, make_console
from autoabs.commands.cashflows import write_workbook
from autoabs.inputs import existing_file
from autoabs.pipeline import RunInputs, resolve_inputs
from portfolio._io import atomic_write
from portfolio.errors import InputError
from simulation.status import DealStatus
from simulation.structuring import DeterministicRun, cashflow_table, deterministic_run
from simulation.vectors import (
    VECTOR_COLUMNS,
    AssumptionVectors,
    assumption_vectors,
    parse_vector,
    read_vector_file,
)

_OPTIONS = {"cdr": "--cdr", "cpr": "--cpr", "abs": "--abs", "severity": "--severity",
            "recovery_lag": "--lag", "curtailment": "--curtailment"}
_PRINTED = ("ending_balance", "scheduled_principal", "prepaid_principal", "defaulted_principal",
            "recoveries", "delinquent_30", "cnl")


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add ``autoabs vector``."""
    parser = add_command(
        subparsers, name,
        "Deterministic run on assumption vectors: default rate, CPR/SMM or ABS speed, severity, "
        "recovery lag and curtailment, each a value or a comma list by month (last value "
        "held) or columns of a CSV; prints and writes pool and class cash flows.",
        "autoabs vector examples/prime_deal.yaml --cdr 2 --cpr 12 --severity 45 --lag 3 "
        "--annual --csv vector.csv --xlsx vector.xlsx",
    )
    parser.add_argument("deal", metavar="DEAL.yaml", help="deal file")
    add_vector_arguments(parser)
    add_as_of_argument(parser)
    parser.add_argument("--csv", default="vector.csv", metavar="OUT.csv",
                        help="pool cash flows with the vectors by month (default %(default)s); "
                        "the class table goes beside it as OUT.classes.csv")
    parser.add_argument("--xlsx", metavar="OUT.xlsx",
                        help="Excel workbook: collateral, deal and one sheet per class")
    parser.set_defaults(func=run)


def add_vector_arguments(parser: argparse.ArgumentParser) -> None:
    """``--tape``, the vectors, ``--annual``, ``--vectors``, ``--chargeoff-months``, the call.

    Shared with ``autoabs status``.
    """
    parser.add_argument("--tape", metavar="TAPE", help="loan tape (overrides the deal's pool)")
    parser.add_argument("--cdr", metavar="PCT[,PCT..]",
                        help="default rate by month, percent: monthly (MDR) unless --annual")
    prepay = parser.add_mutually_exclusive_group()
    prepay.add_argument("--cpr", metavar="PCT[,PCT..]",
                        help="prepayment rate (CPR/VPR) by month, percent: monthly (SMM) "
                        "unless --annual")
    prepay.add_argument("--abs", metavar="PCT[,PCT..]",
                        help="ABS prepayment speed by month, percent (applied by loan age)")
    parser.add_argument("--severity", metavar="PCT[,PCT..]",
                        help="loss severity by charge-off month, percent of the charged-off "
                        "balance (default 100)")
    parser.add_argument("--lag", metavar="MONTHS[,..]",
                        help="recovery lag by charge-off month (default 0)")
    parser.add_argument("--curtailment", metavar="PCT[,PCT..]",
                        help="partial prepayments by month, percent of the balance after "
                        "scheduled principal (default 0)")
    parser.add_argument("--annual", action="store_true",
                        help="--cdr and --cpr (and those CSV columns) are annual rates, "
                        "converted by 12-month compounding")
    parser.add_argument("--vectors", metavar="FILE.csv",
                        help="CSV with period (1, 2, ...) and any of " + ", ".join(VECTOR_COLUMNS)
                        + " in the options' units")
    parser.add_argument("--chargeoff-months", type=int, default=1, metavar="N",
                        help="months from the first missed payment to charge-off, inclusive "
                        "(default 1: charged off in the month of default)")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--to-call", dest="to_call", action="store_true", default=True,
                      help="exercise the clean-up call (default)")
    when.add_argument("--to-maturity", dest="to_call", action="store_false",
                      help="run every class to maturity")


def vectors_from_args(args: argparse.Namespace) -> AssumptionVectors:
    """The assumption vectors of the options and the ``--vectors`` file (not both for one)."""
    given: dict[str, tuple[np.ndarray, str]] = {}
    if args.vectors:
        path = existing_file(args.vectors, "--vectors")
        for column, values in read_vector_file(path).items():
            given[column] = (values, f"{path}:{column}")
    for name, option in _OPTIONS.items():
        text = getattr(args, option[2:])
        if text is None:
            continue
        if name in given:
            raise InputError(option, f"also given as column {name!r} of {args.vectors}; "
                             "give it once")
        given[name] = (parse_vector(text, option), option)
    return assumption_vectors(given, annual=args.annual)


def vector_run(args: argparse.Namespace, console: Console,
               as_of: str | None = None) -> tuple[RunInputs, DeterministicRun, pd.DataFrame]:
    """The deal's deterministic run on the vectors, and its pool flows with the vectors.

    ``as_of``: a status file; the run then starts after its reporting date on ``--tape``,
    the vectors by month from it.
    """
    if not 1 <= args.chargeoff_months <= 12:
        raise InputError("--chargeoff-months", f"must lie in 1..12, got {args.chargeoff_months}")
    vectors = vectors_from_args(args)
    existing_file(args.deal, "DEAL")
    inputs = resolve_inputs(args.deal, tape=args.tape, require_model=False, log=console,
                            as_of=as_of, deterministic=True)
    options = {**vectors.projection_options(), "chargeoff_months": args.chargeoff_months}
    run = deterministic_run(inputs.deal, inputs.tape, to_call=args.to_call,
                            status=inputs.status, status_source=inputs.status_source, **options)
    pool = run.projection
    pool = pool.join(vectors.by_period(len(pool)).set_axis(pool.index))
    return inputs, run, pool


def _status_line(status: DealStatus | None) -> str:
    return "" if status is None else f" from {status.label}"


def run(args: argparse.Namespace) -> int:
    """Project the pool on the vectors, run the waterfall, print and write both tables."""
    console = make_console()
    inputs, det, pool = vector_run(args, console, args.as_of)
    classes = cashflow_table(det)
    csv = Path(args.csv)
    atomic_write(csv, lambda tmp: pool.to_csv(tmp))
    classes_csv = csv.with_name(f"{csv.stem}.classes.csv")
    atomic_write(classes_csv, lambda tmp: classes.to_csv(tmp, index=False))
    written = [csv, classes_csv]
    if args.xlsx:
        written.append(write_workbook(classes, Path(args.xlsx), {"collateral": pool}))
    _print(console, inputs.deal.name + _status_line(inputs.status), pool, classes)
    console.print("Written " + ", ".join(str(p) for p in written))
    return 0


def _print(console: Console, deal_name: str, pool: pd.DataFrame, classes: pd.DataFrame) -> None:
    view = Table(title=f"{deal_name}: pool on the vectors (USD; cnl in % of the pool)")
    view.add_column("period", justify="right")
    for col in _PRINTED:
        view.add_column(col, justify="right")
    live = pool[(pool["ending_balance"] > 0) | (pool["recoveries"] > 0)
                | (pool["defaulted_principal"] > 0)]
    for period, row in live.iterrows():
        view.add_row(str(period), *[f"{row[c]:,.2f}" for c in _PRINTED[:-1]],
                     f"{row['cnl'] * 100:.4f}")
    console.print(view)
    summary = Table(title="classes")
    for col in ("class", "original", "principal paid", "principal loss", "interest shortfall",
                "last period paid"):
        summary.add_column(col, justify="right")
    for name, rows in classes.groupby("class", sort=False):
        paid = rows[rows["principal_paid"] > 0]
        summary.add_row(str(name), f"{rows['beginning_balance'].iloc[0]:,.2f}",
                        f"{rows['principal_paid'].sum():,.2f}",
                        f"{rows['ending_balance'].iloc[-1]:,.2f}",
                        f"{rows['interest_shortfall'].iloc[-1]:,.2f}",
                        str(int(paid['period'].iloc[-1])) if len(paid) else "-")
    console.print(summary)
