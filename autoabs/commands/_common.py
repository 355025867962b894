"""Arguments and helpers shared by subcommands: tape input, run options, progress, console."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from autoabs.inputs import load_tape_file
from portfolio.errors import InputError
from portfolio.synthetic import MAX_SEED, MAX_SYNTHETIC_LOANS, synthetic_pool
from portfolio.tape import LoanTape

if TYPE_CHECKING:
    from reports import ReportFiles

DEFAULT_PATHS = 1000
"""Monte Carlo paths of ``run``, ``stress`` and the other simulation commands by default."""


def add_command(
    subparsers: argparse._SubParsersAction, name: str, summary: str, example: str
) -> argparse.ArgumentParser:
    """Add a subcommand whose help ends with a usage example."""
    return subparsers.add_parser(
        name,
        help=summary,
        description=f"{summary}\n\nexample:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def make_console() -> Console:
    """Console on stdout; wide enough for tables when not a terminal."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=160, file=sys.stdout)
    return console


def print_report_files(console: Console, what: str, files: ReportFiles) -> None:
    """``what: report.html and report.pdf``; without a PDF, the one line saying why."""
    console.print(f"{what}: {files}", highlight=False, markup=False, soft_wrap=True)
    if files.pdf_skipped is not None:
        console.print(files.pdf_skipped, highlight=False, markup=False, soft_wrap=True)


def add_as_of_argument(parser: argparse.ArgumentParser) -> None:
    """``--as-of STATUS.yaml``: start the deal at a reporting date (with ``--tape`` its loans)."""
    parser.add_argument(
        "--as-of", metavar="STATUS.yaml",
        help="project from a reporting date: the deal's status file (autoabs status, or the "
             "servicer report's figures); --tape is then the current loan tape")


# ---------------------------------------------------------------------------------------------
# Tape input
# ---------------------------------------------------------------------------------------------


def add_tape_arguments(parser: argparse.ArgumentParser, *, synthetic: bool = False) -> None:
    """TAPE plus its loading options; with ``synthetic`` also ``--synthetic/--loans/--seed``."""
    parser.add_argument(
        "tape", nargs="?" if synthetic else None, metavar="TAPE",
        help="loan tape: .csv, .parquet, or a Reg AB II EX-102 .xml file",
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
    if synthetic:
        parser.add_argument("--synthetic", choices=("prime", "subprime"),
                            help="use a synthetic pool instead of a TAPE file")
        parser.add_argument("--loans", type=int, default=10_000, help="synthetic pool size")
        parser.add_argument("--pool-seed", type=int, default=42, help="synthetic pool seed")


def tape_from_args(args: argparse.Namespace, console: Console) -> LoanTape:
    """Load the tape named by :func:`add_tape_arguments` options (or draw a synthetic one)."""
    kind = getattr(args, "synthetic", None)
    if kind is not None:
        if args.tape is not None:
            raise InputError("TAPE", "give either a TAPE file or --synthetic, not both")
        console.print(f"Synthetic {kind} pool: {args.loans:,} loans, seed {args.pool_seed}")
        return synthetic_tape(kind, args.loans, args.pool_seed)
    if args.tape is None:
        raise InputError("TAPE", "give a TAPE file or --synthetic prime|subprime")
    return load_tape_file(args.tape, args.columns_map, args.on_error, console)


def synthetic_tape(kind: str, n_loans: int, seed: int) -> LoanTape:
    """Draw a synthetic pool, turning bad sizes and seeds into input errors (before allocating)."""
    if not 1 <= n_loans <= MAX_SYNTHETIC_LOANS:
        raise InputError("--loans", f"must be between 1 and {MAX_SYNTHETIC_LOANS:,} (the "
                         f"largest synthetic pool one machine holds), got {n_loans:,}")
    if not 0 <= seed <= MAX_SEED:
        raise InputError("--pool-seed", f"must be between 0 and 2**63 - 1, got {seed}")
    return synthetic_pool(kind, n_loans, seed)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Simulation options
# ---------------------------------------------------------------------------------------------


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by every simulation command."""
    parser.add_argument("--paths", type=int, default=DEFAULT_PATHS,
                        help=f"Monte Carlo paths (default {DEFAULT_PATHS})")
    parser.add_argument("--seed", type=int, default=1, help="run seed (default 1)")
    parser.add_argument("--threads", type=int, default=None,
                        help="numba threads for the path loop (default: all cores)")
    parser.add_argument("--chunk-size", type=int, default=256,
                        help="paths per chunk; memory grows with it (default 256)")


def add_scale_options(parser: argparse.ArgumentParser) -> None:
    """``--workers``/``--scheduler`` (Dask) and ``--resume``/``--overwrite`` (run store)."""
    group = parser.add_argument_group("scale-out and run store")
    group.add_argument("--workers", type=int, metavar="N",
                       help="run the chunks on a local Dask cluster of N worker processes")
    group.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="run the chunks on an existing Dask cluster")
    group.add_argument("--resume", action="store_true",
                       help="continue an interrupted run in --out from its finished chunks")
    group.add_argument("--overwrite", action="store_true",
                       help="replace what --out holds (a finished or interrupted run)")


def run_options_from_args(args: argparse.Namespace) -> Any:
    """The :class:`autoabs.execute.RunOptions` of parsed run and scale options."""
    from autoabs.execute import RunOptions

    return RunOptions(n_paths=args.paths, seed=args.seed, chunk_size=args.chunk_size,
                      threads=args.threads, workers=getattr(args, "workers", None),
                      scheduler=getattr(args, "scheduler", None),
                      stochastic=bool(getattr(args, "stochastic", False)),
                      target_rse=getattr(args, "target_rse", None),
                      max_paths=getattr(args, "max_paths", None))


def add_convergence_options(parser: argparse.ArgumentParser) -> None:
    """``--target-rse`` and ``--max-paths``: the stopping rule of deal runs."""
    group = parser.add_argument_group("convergence")
    group.add_argument("--target-rse", type=float, metavar="R",
                       help="keep adding paths (half of --paths at a time) until every class's "
                       "EL has a relative standard error of at most R (e.g. 0.05), or the "
                       "budget is spent")
    group.add_argument("--max-paths", type=int, metavar="N",
                       help="path budget of --target-rse (default 10 x --paths)")


class ThroughputColumn(ProgressColumn):
    """Paths per second of a progress task."""

    def render(self, task: Task) -> Text:
        """Render the task's speed."""
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} paths/s", style="progress.data.speed")


@contextlib.contextmanager
def progress(console: Console, total: int,
             description: str = "simulating") -> Iterator[Callable[[int], None]]:
    """A rich progress bar (paths done, share, throughput, ETA) on terminals.

    Yields ``advance(n)``; off when the console is not a terminal (logs and pipes stay clean).
    """
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("paths"),
        TaskProgressColumn(),
        ThroughputColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True,
                  disable=not console.is_terminal) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
