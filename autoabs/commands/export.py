"""``autoabs export``: a run directory's tables as an Excel workbook."""

from __future__ import annotations

import argparse
from pathlib import Path

from autoabs.commands._common import add_command, make_console


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add ``autoabs export``."""
    parser = add_command(
        subparsers, name,
        "Export a run directory (deal, pool or stress run) to an Excel workbook: class "
        "summary, mean cash flows by class and pool, percentile paths, paydown table, strats "
        "and the scenario comparison, with number formats and frozen headers.",
        "autoabs export runs/prime --xlsx prime.xlsx",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="run directory (autoabs run --out)")
    parser.add_argument("--xlsx", required=True, type=xlsx_path, metavar="FILE.xlsx",
                        help="workbook to write")
    parser.set_defaults(func=run)


def xlsx_path(text: str) -> Path:
    """The ``--xlsx`` argument: a file name ending in ``.xlsx`` that is not a directory."""
    path = Path(text)
    if path.suffix.lower() != ".xlsx":
        raise argparse.ArgumentTypeError(f"{text!r}: the workbook's name must end in .xlsx")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory, not a workbook file")
    return path


def add_xlsx_option(parser: argparse.ArgumentParser) -> None:
    """``--xlsx FILE``: also write the Excel workbook (``run``, ``stress``, ``paydown``)."""
    parser.add_argument("--xlsx", type=xlsx_path, metavar="FILE.xlsx",
                        help="also write the results as an Excel workbook")


def run(args: argparse.Namespace) -> int:
    """Write the workbook and print where it is."""
    from reports.excel import write_run_workbook

    path = write_run_workbook(args.run_dir, args.xlsx)
    make_console().print(f"Workbook: {path}")
    return 0
