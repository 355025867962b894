"""``autoabs report``: the risk-committee report (HTML + PDF) of a run directory."""

from __future__ import annotations

import argparse

from autoabs.commands._common import add_command, make_console


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add ``autoabs report``."""
    parser = add_command(
        subparsers, name,
        "Write the risk-committee report of a run directory: report.html (self-contained, "
        "charts as inline SVG) and report.pdf (headless Chromium, else a matplotlib fallback).",
        "autoabs report runs/prime",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="run directory (autoabs run --out)")
    parser.add_argument("--pdf", choices=("auto", "chromium", "fallback"), default="auto",
                        help="PDF renderer: headless Chromium when found (auto), Chromium only, "
                        "or the matplotlib fallback (default auto)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the report and print where it is."""
    from reports import build_report

    console = make_console()
    html_path, pdf_path = build_report(args.run_dir, renderer=args.pdf)
    console.print(f"Report: {html_path}")
    console.print(f"PDF:    {pdf_path}")
    return 0
