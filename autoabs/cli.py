"""The ``autoabs`` command line: one subcommand per job, one module per subcommand.

Exit codes: 0 = done, 2 = bad input (one message naming the file, row/field and problem, no
traceback; also a path the OS refuses: read-only, missing, a directory for a file), 1 =
internal error or an environment failure such as a full disk (an OS error is one line naming
the file and the errno), 3 = ``autoabs verify`` found a run that does not match the ledger.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
from collections.abc import Sequence

from portfolio.errors import InputError, is_bad_path, os_error_message

# Subcommand name -> module in autoabs.commands exposing ``register(subparsers)`` and
# ``run(args) -> int``. Modules are imported lazily so that ``--help`` stays fast.
COMMANDS: dict[str, str] = {
    "demo": "autoabs.commands.demo",
    "strat": "autoabs.commands.strat",
    "import-regab": "autoabs.commands.import_regab",
    "pool": "autoabs.commands.pool",
    "run": "autoabs.commands.run",
    "paydown": "autoabs.commands.paydown",
    "cashflows": "autoabs.commands.cashflows",
    "yield-table": "autoabs.commands.yield_table",
    "vector": "autoabs.commands.vector",
    "status": "autoabs.commands.status",
    "breakeven": "autoabs.commands.breakeven",
    "rating-stress": "autoabs.commands.rating_stress",
    "stress": "autoabs.commands.stress",
    "calibrate": "autoabs.commands.calibrate",
    "backtest": "autoabs.commands.backtest",
    "performance": "autoabs.commands.performance",
    "lifetime-loss": "autoabs.commands.lifetime_loss",
    "surveil": "autoabs.commands.surveil",
    "size": "autoabs.commands.size",
    "report": "autoabs.commands.report",
    "export": "autoabs.commands.export",
    "verify": "autoabs.commands.verify",
}

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are input errors (exit 2, one line)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(self.prog, f"option error: {message}")


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every subcommand registered."""
    parser = _Parser(
        prog="autoabs",
        description="Loan-level Monte Carlo for auto-loan ABS.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, module in COMMANDS.items():
        importlib.import_module(module).register(sub, name)
    return parser


def report_input_error(exc: InputError) -> None:
    """Print ``exc`` on stderr; a long listing is capped and written in full to a file.

    The full list goes to a new ``autoabs-problems-*.txt`` in the system's temporary
    directory (always writable, unlike the input's folder), named in the message.
    """
    if not exc.capped:
        print(f"error: {exc}", file=sys.stderr)
        return
    print(f"error: {exc.summary()}", file=sys.stderr)
    try:
        fd, name = tempfile.mkstemp(prefix="autoabs-problems-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"{exc}\n")
    except OSError as err:
        print(f"(the full list could not be written: {err.strerror})", file=sys.stderr)
    else:
        print(f"full list of {len(exc.problems):,} problems: {name}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_BAD_INPUT
        return int(args.func(args) or EXIT_OK)
    except InputError as exc:
        report_input_error(exc)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"error: {os_error_message(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT if is_bad_path(exc) else EXIT_INTERNAL
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place internal errors become exit 1
        import traceback

        traceback.print_exc()
        print(f"internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
