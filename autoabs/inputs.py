"""Reading the files a command names: existence checks, column maps, loan tapes.

Shared by the command modules and :mod:`autoabs.pipeline` (which resolves a deal's pool).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import yaml

from portfolio.errors import InputError, Problem
from portfolio.loaders import load_tape
from portfolio.regab import import_regab
from portfolio.tape import LoanTape

__all__ = ["Log", "existing_file", "load_tape_file", "read_columns_map"]


class Log(Protocol):
    """Where progress messages go (a rich ``Console``, or a quiet sink)."""

    def print(self, *args: Any, **kwargs: Any) -> None:
        """Show a message."""


def existing_file(path: str, field: str = "") -> Path:
    """Return ``path`` as a Path, or raise an InputError naming it when it is not a file."""
    p = Path(path)
    if not p.is_file():
        what = "is not a file" if p.exists() else "file not found"
        raise InputError(str(p), Problem(None, field, what))
    return p


def read_columns_map(path: str) -> dict[str, str]:
    """Read a YAML mapping ``file column -> canonical column``."""
    file = existing_file(path, "--columns-map")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(str(file), Problem(None, "--columns-map",
                                            f"not valid YAML: {exc}")) from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise InputError(str(file), Problem(
            None, "--columns-map",
            "expected a mapping of file column names to canonical names, e.g. "
            f"'LoanNumber: loan_id'; got {type(data).__name__}",
        ))
    return data


def load_tape_file(tape_path: str, columns_map: str | None, on_error: str, console: Log, *,
         columns: dict[str, str] | None = None) -> LoanTape:
    """Load a tape file: CSV/Parquet through the loader, ``.xml`` through the EX-102 importer.

    ``console.print`` reports what was loaded and rejected.
    """
    path = existing_file(tape_path, "TAPE")
    if path.suffix.lower() == ".xml":
        imported = import_regab(path, on_error=on_error)  # type: ignore[arg-type]
        console.print(f"EX-102 {tape_path}: {imported.n_active:,} active loans imported")
        return imported.tape
    if columns_map:
        columns = read_columns_map(columns_map)
    result = load_tape(path, columns=columns, on_error=on_error)  # type: ignore[arg-type]
    console.print(f"Tape {tape_path}: {result.n_loaded:,} loans loaded")
    if result.n_rejected:
        console.print(
            f"[yellow]{result.n_rejected:,} of {result.n_rows:,} rows rejected; "
            f"reasons in {result.reject_path}[/yellow]"
        )
    return result.tape
