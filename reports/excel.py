"""The Excel workbook of a run: the run directory's tables as formatted sheets (xlsxwriter).

A workbook is a sequence of :class:`Sheet`: a title, a frame and, per column, a header label
and a number format. :func:`run_sheets` turns a run directory, read with
:func:`simulation.run.directory.read_run` (the one reader), into the sheets of
:data:`SHEET_NAMES` that it has data for; :func:`paydown_sheet` makes the prepayment table
alone (``autoabs paydown --xlsx``); :func:`write_workbook` writes any of them. Cells hold
numbers, not text: percent, currency and year formats are Excel number formats, so the values
stay usable in formulas. Headers are frozen and columns sized to their contents
(``docs/reports.md``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter

from portfolio._io import atomic_write
from portfolio.strats import strat_table
from reports.sections.pool import STRAT_DIMENSIONS
from simulation.run.directory import RunRecord, read_run

__all__ = [
    "CLASS_SUMMARY_COLUMNS",
    "NUMBER_FORMATS",
    "SHEET_NAMES",
    "Sheet",
    "paydown_sheet",
    "run_sheets",
    "write_run_workbook",
    "write_workbook",
    "yield_table_sheet",
]

NUMBER_FORMATS: Mapping[str, str] = {
    "currency": "$#,##0",
    "percent": "0.00%",
    "small_percent": "0.0000%",
    "years": "0.00",
    "bp": "0.00",
    "multiple": '0.00"x"',
    "factor": "0.0000",
    "integer": "#,##0",
    "decimal": "0.00",
    "text": "@",
}
"""Excel number format of each column kind."""

SHEET_NAMES = ("Class summary", "Class cash flows", "Pool cash flows", "Pool factor pctl",
               "Class balance pctl", "Paydown", "Strats", "Scenarios")
"""Sheets of a run workbook, in order (a sheet without data in the run is left out)."""

CLASS_SUMMARY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("name", "Class", "text"),
    ("balance", "Balance", "currency"),
    ("hard_ce", "Hard CE", "percent"),
    ("el", "EL", "small_percent"),
    ("el_se", "EL se", "small_percent"),
    ("pd", "PD", "small_percent"),
    ("lgd", "LGD", "percent"),
    ("wal", "WAL (y)", "years"),
    ("yield", "Yield", "percent"),
    ("promised_yield", "Promised yield", "percent"),
    ("dirr", "DIRR (bp)", "bp"),
    ("implied_rating", "Rating*", "text"),
)
"""``summary.json`` class fields shown, with header and column kind (the CLI table's order)."""

_KIND_BY_COLUMN: Mapping[str, str] = {
    "class": "text", "scenario": "text", "bucket": "text", "dimension": "text",
    "period": "integer", "count": "integer", "first_principal_period": "integer",
    "last_principal_period": "integer", "window_months": "integer",
    "first_principal_date": "text", "last_principal_date": "text",
    "interest_due": "currency", "interest_paid": "currency", "principal_paid": "currency",
    "ending_balance": "currency", "coupon_rate": "percent", "interest": "currency",
    "scheduled_principal": "currency", "prepaid_principal": "currency",
    "defaulted_principal": "currency", "recoveries": "currency", "delinquent_30": "currency",
    "delinquent_60": "currency", "delinquent_90p": "currency", "n_active": "decimal",
    "delinquent_interest": "currency",
    "balance": "currency", "share_of_balance": "percent", "share_of_count": "percent",
    "wa_rate": "percent", "wa_fico": "decimal", "wa_ltv": "percent",
    "wa_original_term": "decimal", "wa_remaining_term": "decimal",
    "abs_speed": "percent", "wal_years": "years", "wal": "years", "el": "small_percent",
    "el_se": "small_percent", "pd": "small_percent", "yield": "percent",
    "trigger_breach": "percent", "cnl": "percent", "pool_cnl_mean": "percent",
    "p1": "factor", "p5": "factor", "p25": "factor", "p50": "factor", "p75": "factor",
    "p95": "factor", "p99": "factor", "price": "decimal", "modified_duration": "years",
    "spread": "small_percent", "spread_kind": "text",
}
_LABELS: Mapping[str, str] = {
    "abs_speed": "ABS speed", "wal_years": "WAL (y)", "wal": "WAL (y)", "el": "EL",
    "el_se": "EL se", "pd": "PD", "cnl": "Pool CNL", "pool_cnl_mean": "Pool CNL",
    "n_active": "Active loans", "delinquent_30": "30-59 dpd", "delinquent_60": "60-89 dpd",
    "delinquent_90p": "90+ dpd", "wa_rate": "WA APR", "wa_fico": "WA FICO", "wa_ltv": "WA LTV",
    "wa_original_term": "WA original term", "wa_remaining_term": "WA remaining term",
}
_MIN_WIDTH, _MAX_WIDTH = 8, 40


@dataclass(frozen=True)
class Sheet:
    """One worksheet: a frame, a header label and an Excel number-format kind per column.

    Attributes
    ----------
    name : str
        Sheet name (at most 31 characters, Excel's limit).
    frame : pandas.DataFrame
        The rows, columns in display order.
    labels : tuple of str
        Header of each column.
    kinds : tuple of str
        Key of :data:`NUMBER_FORMATS` for each column.
    """

    name: str
    frame: pd.DataFrame
    labels: tuple[str, ...]
    kinds: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.name) > 31:
            raise ValueError(f"sheet name {self.name!r} is longer than Excel's 31 characters")
        if not len(self.labels) == len(self.kinds) == self.frame.shape[1]:
            raise ValueError(f"sheet {self.name!r}: one label and one kind per column")


def _sheet(name: str, frame: pd.DataFrame) -> Sheet:
    """A sheet whose labels and kinds follow the column names (unknown numbers: decimal)."""
    columns = [str(c) for c in frame.columns]
    kinds = tuple(_KIND_BY_COLUMN.get(c, "decimal" if pd.api.types.is_numeric_dtype(frame[c])
                                      else "text") for c in columns)
    labels = tuple(_LABELS.get(c, c.replace("_", " ").capitalize()) for c in columns)
    return Sheet(name, frame, labels, kinds)


def class_summary_sheet(record: RunRecord) -> Sheet:
    """``summary.json``'s classes, one row each, as stored (no rounding)."""
    rows = [{key: c.get(key) for key, _, _ in CLASS_SUMMARY_COLUMNS}
            for c in record.summary["classes"]]
    frame = pd.DataFrame(rows, columns=[key for key, _, _ in CLASS_SUMMARY_COLUMNS])
    labels = tuple(label for _, label, _ in CLASS_SUMMARY_COLUMNS)
    kinds = tuple(kind for _, _, kind in CLASS_SUMMARY_COLUMNS)
    if record.breakeven is not None:
        frame["breakeven"] = [record.breakeven.get(name) for name in frame["name"]]
        labels, kinds = (*labels, "Break-even CNL multiple"), (*kinds, "multiple")
    return Sheet("Class summary", frame, labels, kinds)


def paydown_sheet(paydown: pd.DataFrame) -> Sheet:
    """The prepayment table (:func:`simulation.structuring.prepayment_table`) as a sheet."""
    return _sheet("Paydown", paydown.reset_index(drop=True))


def yield_table_sheet(table: pd.DataFrame) -> Sheet:
    """The yield table (:func:`simulation.structuring.yield_table`) as a sheet."""
    return _sheet("Yield table", table.reset_index(drop=True))


def _strats(record: RunRecord) -> pd.DataFrame:
    tape = record.tape
    frames = []
    for column, label in STRAT_DIMENSIONS:
        frame = strat_table(tape, column)
        frames.append(frame.assign(bucket=frame["bucket"].astype(str)).assign(dimension=label))
    strats = pd.concat(frames, ignore_index=True)
    return strats[["dimension", *(c for c in strats.columns if c != "dimension")]]


def run_sheets(record: RunRecord) -> list[Sheet]:
    """The sheets of :data:`SHEET_NAMES` that the run has data for, in that order.

    A deal run gives class summary, per-period weighted mean cash flows by class (when the run
    kept them) and of the pool, pool-factor percentiles (P1..P99) and class-balance
    percentiles (P5/P50/P95) by period, the paydown table (``--structuring``), strats by
    :data:`reports.sections.pool.STRAT_DIMENSIONS`, and the scenario table of a stress
    directory. A pool run gives its pool cash flows and pool-factor percentiles.
    """
    frames = record.frames
    sheets: list[Sheet] = []
    if record.kind == "deal":
        sheets.append(class_summary_sheet(record))
        if "class_flows" in frames:
            sheets.append(_sheet("Class cash flows", frames["class_flows"]))
    flows = frames["pool_flows" if record.kind == "deal" else "flows"]
    means = flows[[c for c in flows.columns if not str(c).endswith("_se")]]
    sheets.append(_sheet("Pool cash flows", means.reset_index()))
    sheets.append(_sheet("Pool factor pctl", frames["pool_factor_quantiles"].reset_index()))
    if record.kind == "deal":
        sheets.append(_sheet("Class balance pctl", frames["class_balance_quantiles"]))
        if record.paydown is not None:
            sheets.append(paydown_sheet(record.paydown))
        sheets.append(_sheet("Strats", _strats(record)))
        if record.stress is not None:
            sheets.append(_sheet("Scenarios", record.stress))
    return sheets


def _cell(value: Any) -> Any:
    """A value xlsxwriter can store: None for NaN / None; numbers as float; text as is."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) or hasattr(value, "dtype"):
        number = float(value)
        if math.isnan(number):
            return None
        return "inf" if math.isinf(number) else number
    return str(value)


def _write(path: Path, sheets: Sequence[Sheet]) -> None:
    book = xlsxwriter.Workbook(str(path), {"constant_memory": False})
    header = book.add_format({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top",
                              "bg_color": "#DCE6F1"})
    formats = {kind: book.add_format({"num_format": code})
               for kind, code in NUMBER_FORMATS.items()}
    for sheet in sheets:
        ws = book.add_worksheet(sheet.name)
        ws.freeze_panes(1, 1 if sheet.kinds and sheet.kinds[0] == "text" else 0)
        widths = [len(label) for label in sheet.labels]
        for j, label in enumerate(sheet.labels):
            ws.write_string(0, j, label, header)
        for i, row in enumerate(sheet.frame.itertuples(index=False), start=1):
            for j, (value, kind) in enumerate(zip(row, sheet.kinds, strict=True)):
                cell = _cell(value)
                if cell is None:
                    ws.write_blank(i, j, None, formats[kind])
                elif isinstance(cell, str):
                    ws.write_string(i, j, cell, formats["text"])
                    widths[j] = max(widths[j], len(cell))
                else:
                    ws.write_number(i, j, cell, formats[kind])
                    widths[j] = max(widths[j], 12)
        for j, width in enumerate(widths):
            ws.set_column(j, j, min(max(width + 2, _MIN_WIDTH), _MAX_WIDTH))
    book.close()


def write_workbook(target: str | os.PathLike[str], sheets: Sequence[Sheet]) -> Path:
    """Write ``sheets`` to the ``.xlsx`` file ``target`` (atomically); return its path."""
    if not sheets:
        raise ValueError("a workbook needs at least one sheet")
    names = [s.name for s in sheets]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate sheet names: {names}")
    return atomic_write(target, lambda tmp: _write(tmp, sheets))


def write_run_workbook(run_dir: str | os.PathLike[str],
                       target: str | os.PathLike[str]) -> Path:
    """Read a run directory (``read_run``) and write its workbook to ``target``.

    Raises
    ------
    portfolio.errors.InputError
        When the run directory or one of its files is missing or unreadable.
    """
    return write_workbook(target, run_sheets(read_run(run_dir)))
