"""The run manifest as readable tables: one per group, nested records as small tables.

Each top-level entry of ``manifest.json`` that is an object becomes a group table of
(key, value) rows, nested objects flattened into dotted keys; a list of objects (the deal's
notes, fees or waterfall steps) becomes its own small table with one column per field; a list
of scalars is joined with commas. Nothing is shown as a Python ``repr``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from reports.model import Cell, Column, Row, Table, finite, text

__all__ = ["manifest_tables", "value_cell"]

_GENERAL = "run"


def value_cell(value: Any) -> Cell:
    """A manifest value as a cell: numbers with their value, scalars as text, lists joined."""
    if isinstance(value, bool) or value is None:
        return text("" if value is None else ("yes" if value else "no"))
    if isinstance(value, int):
        return Cell(str(value), float(value))
    if isinstance(value, float):
        v = finite(value)
        shown = np.format_float_positional(value, trim="-") if v is not None else str(value)
        return Cell(shown, v)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return text(", ".join(_scalar_text(v) for v in value))
    return text(value)


def _scalar_text(value: Any) -> str:
    if isinstance(value, Mapping | list):
        return json.dumps(value, sort_keys=True)
    return value_cell(value).text


def _is_records(value: Any) -> bool:
    return (isinstance(value, list) and bool(value)
            and all(isinstance(v, Mapping) for v in value))


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _flatten(data: Mapping[str, Any], prefix: str,
             records: list[tuple[str, list[Mapping[str, Any]]]]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key in data:
        value, name = data[key], f"{prefix}{key}"
        if isinstance(value, Mapping):
            out += _flatten(value, f"{name}.", records)
        elif _is_records(value):
            records.append((name, value))
        else:
            out.append((name, value))
    return out


def _records_table(name: str, records: list[Mapping[str, Any]]) -> Table:
    fields = list(dict.fromkeys(k for r in records for k in r))
    columns = tuple(Column(f, f, False) for f in fields)
    rows = tuple(Row(str(i), tuple(value_cell(r.get(f)) if not isinstance(r.get(f), Mapping)
                                   else text(_scalar_text(r.get(f))) for f in fields))
                 for i, r in enumerate(records))
    return Table(f"manifest-{_slug(name)}", f"Manifest: {name}", columns, rows)


def manifest_tables(manifest: Mapping[str, Any], source: str) -> list[Table]:
    """The manifest grouped by its top-level entries, each a table; records as small tables."""
    general: list[tuple[str, Any]] = []
    groups: list[tuple[str, list[tuple[str, Any]]]] = []
    records: list[tuple[str, list[Mapping[str, Any]]]] = []
    for key, value in manifest.items():
        if isinstance(value, Mapping):
            nested: list[tuple[str, list[Mapping[str, Any]]]] = []
            groups.append((key, _flatten(value, "", nested)))
            records += [(f"{key}.{name}", recs) for name, recs in nested]
        elif _is_records(value):
            records.append((key, value))
        else:
            general.append((key, value))
    tables = []
    for name, items in [(_GENERAL, general), *groups]:
        if items:
            tables.append(Table(
                f"manifest-{_slug(name)}" if name != _GENERAL else "manifest",
                f"Run manifest ({source}): {name}",
                (Column("key", "Key", False), Column("value", "Value", False)),
                tuple(Row(f"{name}.{k}" if name != _GENERAL else k, (text(k), value_cell(v)))
                      for k, v in items)))
    tables += [_records_table(name, recs) for name, recs in records]
    return tables
