"""The ``autoabs`` command line: one subcommand per job, one module per subcommand.

Exit codes: 0 = done, 2 = bad input (one message naming the file, row/field and problem, no
traceback), 1 = internal error, 3 = ``autoabs verify`` found a run that does not match the
ledger.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from portfolio.errors import InputError

# Subcommand name -> module in autoabs.commands exposing ``register(subparsers)`` and
# ``run(args) -> int``. Modules are imported lazily so that ``--help`` stays fast.
COMMANDS: dict[str, str] = {
    "demo": "autoabs.commands.demo",
    "strat": "autoabs.commands.strat",
    "import-regab": "autoabs.commands.import_regab",
    "pool": "autoabs.commands.pool",
    "run": "autoabs.commands.run",
    "paydown": "autoabs.commands.paydown",
    "breakeven": "autoabs.commands.breakeven",
    "stress": "autoabs.commands.stress",
    "calibrate": "autoabs.commands.calibrate",
    "backtest": "autoabs.commands.backtest",
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
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
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
