"""Argument helpers shared by subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path

from portfolio.errors import InputError


def add_command(
    subparsers: argparse._SubParsersAction, name: str, summary: str, example: str
) -> argparse.ArgumentParser:
    """Add a subcommand whose help ends with a usage example."""
    return subparsers.add_parser(  # type: ignore[no-any-return]
        name,
        help=summary,
        description=f"{summary}\n\nexample:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def existing_file(path: str) -> Path:
    """Return ``path`` as a Path, or raise an InputError naming it when it is not a file."""
    p = Path(path)
    if not p.is_file():
        raise InputError(str(p), "file not found")
    return p
