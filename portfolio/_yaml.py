"""YAML reading for input files: dates stay strings so that validation names the field.

PyYAML turns ``2023-07-26`` into a date while parsing and raises a bare ``ValueError`` for an
impossible one (``2023-13-40``) before any field is known; leaving timestamps as strings lets
pydantic parse them and report ``closing_date: ...`` like any other field error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from portfolio.errors import InputError

_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _InputLoader(yaml.SafeLoader):
    """SafeLoader without the implicit timestamp resolver."""


_InputLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: str) -> Any:
    """Parse YAML text with the safe loader, leaving dates as strings."""
    return yaml.load(text, Loader=_InputLoader)  # noqa: S506 - a SafeLoader subclass


def read_yaml_file(path: Path) -> Any:
    """Parse a YAML input file; a missing, unreadable or malformed file is an InputError."""
    if not path.is_file():
        raise InputError(str(path), "file not found")
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"not a UTF-8 text file: {exc}") from None
    except yaml.YAMLError as exc:
        raise InputError(str(path), f"not valid YAML: {exc}") from None
