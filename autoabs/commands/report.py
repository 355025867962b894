"""``autoabs report``: the risk-committee report (HTML + PDF) of a run directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from autoabs.commands._common import add_command, make_console, print_report_files


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add ``autoabs report``."""
    parser = add_command(
        subparsers, name,
        "Write the risk-committee report of a run directory: report.html (self-contained, "
        "charts as inline SVG) and report.pdf (headless Chromium, else WeasyPrint; without "
        "either the HTML only).",
        "autoabs report runs/prime",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="run directory (autoabs run --out)")
    # validated by reports.build_report (importing reports here would slow every command)
    parser.add_argument("--pdf", metavar="RENDERER", default=None,
                        help="PDF renderer of report.html: auto (headless Chromium when found, "
                        "else WeasyPrint, else no PDF), chromium, weasyprint, or none (HTML "
                        "only); default $AUTOABS_PDF_RENDERER, else auto")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the report and print where it is."""
    from autoabs.runstore import LEDGER, append_ledger
    from reports import build_report
    from simulation.run.directory import MANIFEST

    console = make_console()
    files = build_report(args.run_dir, renderer=args.pdf)
    run_dir = Path(args.run_dir)
    if (run_dir / MANIFEST).is_file() and (run_dir.parent / LEDGER).is_file():
        # A recorded run gained (or changed) its report: record the files again, so that
        # `autoabs verify` keeps passing for a run nobody tampered with.
        append_ledger(run_dir)
    print_report_files(console, "Report", files)
    return 0
