"""The base of every input schema (deal, assumptions, scenario) and its error translation.

:class:`InputModel` is the one place where input files' numbers are required to be finite:
``allow_inf_nan=False`` makes pydantic refuse ``.inf``, ``-.inf`` and ``.nan`` in every float
field of every model built on it, nested lists and mappings included. Ranges stay declarative
on each field (``Field(ge=..., le=...)``); ``tests/portfolio/test_schema.py`` walks the schemas
and fails for a numeric field without both bounds.
"""

from __future__ import annotations

import reprlib

from pydantic import BaseModel, ConfigDict, ValidationError

from portfolio.errors import Problem

__all__ = ["MAX_MONTH", "MONEY_MAX", "InputModel", "pydantic_problems"]

MAX_MONTH = 600
"""Last month (loan age or deal period) an input may name: 50 years."""
MONEY_MAX = 1e12
"""Largest amount (USD) a deal file may give: a trillion, hundreds of times any auto ABS."""

_SHOW = reprlib.Repr()
"""How a rejected value is quoted: never the whole input (an alias bomb expands to gigabytes)."""
_SHOW.maxstring = _SHOW.maxother = 60
_SHOW.maxlist = _SHOW.maxtuple = _SHOW.maxdict = 4
_SHOW.maxlevel = 2


class InputModel(BaseModel):
    """Frozen, unknown fields refused, every float finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def pydantic_problems(exc: ValidationError) -> list[Problem]:
    """Translate pydantic errors into :class:`Problem` entries with dotted field paths.

    The value received is quoted in short form (at most a few items, 60 characters), and not
    at all for a mapping.
    """
    problems = []
    for err in exc.errors(include_url=False, include_context=False):
        field = ".".join(str(p) for p in err["loc"]) or "<top>"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif err["type"] != "missing" and not isinstance(err.get("input"), dict):
            msg = f"{msg} (got {_SHOW.repr(err['input'])})"
        problems.append(Problem(None, field, msg))
    return problems
