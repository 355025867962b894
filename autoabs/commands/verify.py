"""``autoabs verify``: re-hash a run store against its ledger and name any tampered run."""

from __future__ import annotations

import argparse

from autoabs.commands._common import add_command, make_console

EXIT_VERIFY_FAILED = 3
"""Exit code when verification finds an edited, removed or unrecorded run (not bad input,
not an internal error)."""


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add ``autoabs verify``."""
    parser = add_command(
        subparsers, name,
        "Verify a run store: re-hash every file of every run against the hash-chained ledger "
        "(RUNS/ledger.jsonl) and name each run whose files were edited, added or removed. "
        "Exit 0 when all runs verify, 3 when any fails, 2 when DIR is not a run store.",
        "autoabs verify runs/        (or one run: autoabs verify runs/prime)",
    )
    parser.add_argument("dir", metavar="DIR",
                        help="runs root holding ledger.jsonl, or one run directory in it")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Verify and print one line per run."""
    from autoabs.runstore import verify

    console = make_console()
    report = verify(args.dir)
    for name in report.ok:
        console.print(f"[green]ok[/green]      {name}", highlight=False)
    for name, problems in report.failed.items():
        console.print(f"[red]FAILED[/red]  {name}: {'; '.join(problems)}", highlight=False)
    n_failed = len(report.failed)
    if n_failed:
        console.print(f"verification FAILED: {n_failed} run(s) do not match the ledger "
                      f"{report.root / 'ledger.jsonl'}: {', '.join(report.failed)}",
                      highlight=False)
        return EXIT_VERIFY_FAILED
    console.print(f"verified {len(report.ok)} run(s) against {report.root / 'ledger.jsonl'}",
                  highlight=False)
    return 0
