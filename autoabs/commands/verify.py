"""``autoabs verify``: re-hash a run store against its ledger and name any tampered run."""

from __future__ import annotations

import argparse
from pathlib import Path

from autoabs.commands._common import add_command, make_console

EXIT_VERIFY_FAILED = 3
"""Exit code when verification finds an edited, removed or unrecorded run (not bad input,
not an internal error)."""


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add ``autoabs verify``."""
    parser = add_command(
        subparsers, name,
        "Verify a run store: re-hash every file of every run against the hash-chained ledger "
        "(RUNS/ledger.jsonl; run stores nested below DIR, such as a stress directory's "
        "scenarios/, too) and name each run whose files were edited, added or removed. "
        "Exit 0 when all runs verify, 3 when any fails, 2 when DIR holds no run store.",
        "autoabs verify runs/        (or one run: autoabs verify runs/prime)",
    )
    parser.add_argument("dir", metavar="DIR",
                        help="runs root holding ledger.jsonl, one run directory in it, or any "
                             "directory with run stores below it")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Verify and print one line per run."""
    from autoabs.runstore import LEDGER, verify_all

    console = make_console()
    reports = verify_all(args.dir)
    base = Path(args.dir)
    n_ok = 0
    failed: list[str] = []
    for report in reports:
        nested = report.root != base and report.root.is_relative_to(base)
        prefix = f"{report.root.relative_to(base)}/" if nested else ""
        for name in report.ok:
            console.print(f"[green]ok[/green]      {prefix}{name}", highlight=False)
        for name, problems in report.failed.items():
            console.print(f"[red]FAILED[/red]  {prefix}{name}: {'; '.join(problems)}",
                          highlight=False)
        n_ok += len(report.ok)
        failed += [f"{prefix}{name}" for name in report.failed]
    ledgers = ", ".join(str(r.root / LEDGER) for r in reports)
    if failed:
        console.print(f"verification FAILED: {len(failed)} run(s) do not match the ledger "
                      f"({ledgers}): {', '.join(failed)}", highlight=False)
        return EXIT_VERIFY_FAILED
    console.print(f"verified {n_ok} run(s) against {ledgers}", highlight=False)
    return 0
