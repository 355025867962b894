"""``autoabs cashflows``: the deterministic per-period cash-flow table by class, CSV and Excel."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from rich.table import Table

from autoabs.commands._common import add_as_of_argument, add_command, make_console
from autoabs.inputs import existing_file
from autoabs.pipeline import resolve_inputs
from portfolio._io import atomic_write
from portfolio.errors import InputError
from simulation.structuring import cashflow_table, deterministic_run

_PRINTED = ("period", "payment_date", "beginning_balance", "interest_paid", "principal_paid",
            "ending_balance", "interest_shortfall")
_DEAL_COLUMNS = ("period", "payment_date", "collection_period_end", "pool_balance",
                 "adjusted_pool_balance", "available_funds", "oc_amount", "oc_target",
                 "reserve_balance", "reserve_draw", "servicer_advance", "advance_reimbursement",
                 "sequential", "triggers_breached")


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add ``autoabs cashflows``."""
    parser = add_command(
        subparsers, name,
        "Deterministic cash flows by class and period (dates, balances, interest, principal, "
        "shortfalls, OC, reserve, triggers) at an ABS speed and a CDR; writes CSV and .xlsx.",
        "autoabs cashflows examples/prime_deal.yaml --abs 1.3 --cdr 1 --out cf",
    )
    parser.add_argument("deal", metavar="DEAL.yaml", help="deal file")
    parser.add_argument("--tape", metavar="TAPE", help="loan tape (overrides the deal's pool)")
    add_as_of_argument(parser)
    parser.add_argument("--abs", type=float, default=1.3, metavar="PCT",
                        help="ABS prepayment speed in percent (default %(default)s)")
    parser.add_argument("--cdr", type=float, default=0.0, metavar="PCT",
                        help="constant default rate, percent a year (default %(default)s)")
    parser.add_argument("--severity", type=float, default=50.0, metavar="PCT",
                        help="loss severity in percent of the defaulted balance (default "
                             "%(default)s)")
    parser.add_argument("--recovery-lag", type=int, default=0, metavar="MONTHS",
                        help="months from charge-off to recovery (default %(default)s)")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--to-call", dest="to_call", action="store_true", default=True,
                      help="exercise the clean-up call (default)")
    when.add_argument("--to-maturity", dest="to_call", action="store_false",
                      help="run every class to maturity")
    parser.add_argument("--out", default="cashflows", metavar="DIR",
                        help="directory for cashflows.csv and cashflows.xlsx (default "
                             "%(default)s)")
    parser.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    """Option ranges (percent); NaN fails every comparison and is rejected too."""
    for option, value, hi in (("--abs", args.abs, 20.0), ("--cdr", args.cdr, 100.0)):
        if not 0.0 <= value < hi:
            raise InputError(option, f"must lie in [0, {hi:g}) percent; got {value}")
    if not 0.0 <= args.severity <= 100.0:
        raise InputError("--severity", f"must lie in [0, 100] percent; got {args.severity}")
    if not 0 <= args.recovery_lag <= 60:
        raise InputError("--recovery-lag", f"must lie in 0..60 months; got {args.recovery_lag}")


def write_workbook(table: pd.DataFrame, path: Path,
                   before: dict[str, pd.DataFrame] | None = None) -> Path:
    """Excel workbook: one sheet per class (the class's rows) and a ``deal`` sheet.

    ``before`` adds sheets (name -> frame, index written) ahead of them.
    """
    def write(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="xlsxwriter") as xl:
            for sheet, frame in (before or {}).items():
                frame.to_excel(xl, sheet_name=sheet)
            first = table[table["class"] == table["class"].iloc[0]]
            first.loc[:, list(_DEAL_COLUMNS)].to_excel(xl, sheet_name="deal", index=False)
            for name, rows in table.groupby("class", sort=False):
                rows.drop(columns=["class"]).to_excel(xl, sheet_name=str(name)[:31], index=False)
    return atomic_write(path, write)


def run(args: argparse.Namespace) -> int:
    """Write and print the cash-flow table."""
    console = make_console()
    _check(args)
    existing_file(args.deal, "DEAL")
    inputs = resolve_inputs(args.deal, tape=args.tape, require_model=False, log=console,
                            as_of=args.as_of, deterministic=True)
    table = cashflow_table(deterministic_run(
        inputs.deal, inputs.tape, abs_speed=args.abs / 100.0, cdr=args.cdr / 100.0,
        severity=args.severity / 100.0, recovery_lag=args.recovery_lag, to_call=args.to_call,
        status=inputs.status, status_source=inputs.status_source))
    out = Path(args.out)
    csv = atomic_write(out / "cashflows.csv", lambda tmp: table.to_csv(tmp, index=False))
    xlsx = write_workbook(table, out / "cashflows.xlsx")
    mode = "to call" if args.to_call else "to maturity"
    if inputs.status is not None:
        mode += f", from {inputs.status.label}"
    for name, rows in table.groupby("class", sort=False):
        paid = rows[(rows.beginning_balance > 0.0) | (rows.principal_paid > 0.0)]
        view = Table(title=f"{inputs.deal.name}, class {name}: {args.abs:g}% ABS, "
                           f"{args.cdr:g}% CDR, {mode}")
        for col in _PRINTED:
            view.add_column(col, justify="right")
        for rec in paid.to_dict(orient="records"):
            view.add_row(str(rec["period"]), rec["payment_date"],
                         *[f"{rec[c]:,.2f}" for c in _PRINTED[2:]])
        console.print(view)
    console.print(f"Written {csv} and {xlsx}")
    return 0
