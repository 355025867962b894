"""``autoabs import-regab``: SEC Reg AB II EX-102 auto-loan asset data to a Parquet loan tape."""

from __future__ import annotations

import argparse
from pathlib import Path

from autoabs.commands._common import add_command
from autoabs.inputs import existing_file
from portfolio._io import write_parquet
from portfolio.errors import InputError
from portfolio.regab import RegabImport, import_regab

SUMMARY = "Import an SEC Reg AB II EX-102 auto-loan asset data XML file as a loan tape."
EXAMPLE = "autoabs import-regab sdart261ex102.xml --out tape.parquet --on-error reject"
MAX_PROBLEMS_SHOWN = 10
NO_OUTPUT_DIR = "output directory {parent} does not exist"


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add the ``import-regab`` subcommand."""
    parser = add_command(subparsers, name, SUMMARY, EXAMPLE)
    parser.add_argument("file", metavar="FILE.xml", help="EX-102 XML file (Form ABS-EE exhibit)")
    parser.add_argument(
        "--out", required=True, metavar="TAPE.parquet", help="output loan tape (Parquet)"
    )
    parser.add_argument(
        "--on-error",
        choices=("raise", "reject"),
        default="raise",
        help="invalid record: stop with an error (raise, default) or leave it out and list it "
        "(reject)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Import the file, write the tape atomically and print the counts."""
    source = existing_file(args.file)
    out = Path(args.out)
    if not out.parent.is_dir():
        raise InputError(str(out), NO_OUTPUT_DIR.format(parent=out.parent))
    result = import_regab(source, on_error=args.on_error)
    write_parquet(out, result.tape.to_frame())
    print(_report(result, out))
    return 0


def _report(result: RegabImport, out: Path) -> str:
    """Return the counts of the import, one per line."""
    excluded = ", ".join(f"code {code}: {n}" for code, n in result.zero_balance_counts.items())
    excluded = f" ({excluded})" if excluded else ""
    lines = [
        f"source:                   {result.source}",
        f"records:                  {result.n_records}",
        f"active loans:             {result.n_active}",
        f"excluded (zero balance):  {result.n_zero_balance}{excluded}",
        f"rejected:                 {result.n_rejected}",
        f"active balance (USD):     {result.tape.total_balance:,.2f}",
    ]
    if result.coerced:
        lines.append(
            "values converted:         "
            + ", ".join(f"{kind}: {n}" for kind, n in result.coerced.items())
        )
    for problem in result.rejected[:MAX_PROBLEMS_SHOWN]:
        lines.append(f"  rejected {problem}")
    if len(result.rejected) > MAX_PROBLEMS_SHOWN:
        lines.append(f"  ... and {len(result.rejected) - MAX_PROBLEMS_SHOWN} more problems")
    lines.append(f"wrote {out}")
    return "\n".join(lines)
