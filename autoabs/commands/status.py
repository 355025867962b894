"""``autoabs status``: the deal's status file at a payment period of a deterministic run."""

from __future__ import annotations

import argparse
from pathlib import Path

from autoabs.commands._common import add_command, make_console
from autoabs.commands.vector import add_vector_arguments, vector_run
from simulation.status import status_from_run, write_status


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add ``autoabs status``."""
    parser = add_command(
        subparsers, name,
        "Write the deal's status at a payment period (note balances and unpaid interest, "
        "reserve, OC, cumulative losses, delinquencies, trigger states) from a deterministic "
        "run on assumption vectors (the options of autoabs vector), e.g. the deal's history.",
        "autoabs status examples/prime_deal.yaml --month 12 --cdr 1 --cpr 1.5 --severity 50 "
        "--out status.yaml",
    )
    parser.add_argument("deal", metavar="DEAL.yaml", help="deal file")
    parser.add_argument("--month", type=int, required=True, metavar="M",
                        help="payment period of the status (1 = the first payment date)")
    add_vector_arguments(parser)
    parser.add_argument("--out", default="status.yaml", metavar="STATUS.yaml",
                        help="status file to write (default %(default)s)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the deal on the vectors and write its status at ``--month``."""
    console = make_console()
    inputs, run, _ = vector_run(args, console)
    status = status_from_run(inputs.deal, run.program, run.tranche_flows, run.flows,
                             args.month)
    path = write_status(status, Path(args.out))
    notes = ", ".join(f"{name} {c.balance:,.2f}" for name, c in status.classes.items())
    console.print(f"{status.deal}, period {status.period} ({status.reporting_date}): pool "
                  f"{status.pool_balance:,.2f}; notes {notes}; reserve "
                  f"{status.reserve_balance:,.2f}; CNL "
                  f"{status.cumulative_net_loss / status.original_pool_balance:.4%}")
    console.print(f"Written {path}")
    return 0
