"""Pieces shared by the section builders: block constructors and views of the run."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from reports.charts import to_svg
from reports.model import Cell, Chart, Column, Row, Table, num, text
from scenarios import DEFAULT_SCENARIO
from simulation.run.directory import RunRecord

NOT_COMPUTED = "not computed"

BREAKEVEN_HINT = ("Break-even multiples: not computed (the run was made with "
                  "--no-structuring); `autoabs run DEAL.yaml --out DIR` and `autoabs stress` "
                  "compute them by default, `autoabs breakeven DEAL.yaml` alone.")
"""What a report without break-even multiples says about how to get them."""
AS_OF_BREAKEVEN = ("Break-even multiples: not computed for a run from a reporting date "
                   "(--as-of): they describe the deal at closing (`autoabs breakeven`).")
"""What the report of a run from a reporting date says instead of the break-even hint."""


def as_of_period(summary: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """``{"period", "reporting_date"}`` of a run from a status file, else ``None``."""
    as_of = summary.get("provenance", {}).get("as_of")
    return as_of if isinstance(as_of, Mapping) else None

BASE_SCENARIO = DEFAULT_SCENARIO
"""The scenario the others are compared with (else the first of the stress table): the one
default scenario of run, stress and demo."""

DELTA_COLUMNS = ("el", "pd", "wal", "yield", "cnl")
"""Stress-table measures whose change against the base scenario the report shows."""

TIMELINE_MONTHS = (1, 3, 6, 12, 18, 24, 30, 36, 48, 60, 72, 84)
"""Months shown in the paydown and trigger tables (plus the last month)."""


def kv_table(table_id: str, title: str, rows: Sequence[tuple[str, str, Cell]],
             note: str = "") -> Table:
    """Two-column table of (key, label, value) rows."""
    return Table(table_id, title, (Column("item", "Item", False), Column("value", "Value")),
                 tuple(Row(key, (text(label), cell)) for key, label, cell in rows), note)


def chart(chart_id: str, title: str, caption: str, draw: Callable[[], Figure]) -> Chart:
    """A chart block: ``draw()`` rendered as inline SVG (ids salted with ``chart_id``)."""
    return Chart(chart_id, title, caption, to_svg(draw(), chart_id))


def timeline(n_periods: int) -> list[int]:
    """:data:`TIMELINE_MONTHS` within the horizon, and the last month."""
    months = [m for m in TIMELINE_MONTHS if m <= n_periods]
    if n_periods not in months:
        months.append(n_periods)
    return months


def trigger_names(data: RunRecord) -> list[str]:
    """The deal's performance triggers (columns ``<name> by period`` of ``triggers.parquet``)."""
    suffix = " by period"
    return [c[: -len(suffix)] for c in data.frames["triggers"].columns if c.endswith(suffix)]


def has_triggers(data: RunRecord) -> bool:
    """Whether the deal has performance triggers."""
    return bool(trigger_names(data))


def path_weights(data: RunRecord) -> np.ndarray:
    """Likelihood-ratio weight of each path, shape ``(n_paths,)`` (ones without weights)."""
    pool_paths = data.frames["pool_paths"]
    if "weight" in pool_paths.columns:
        return np.asarray(pool_paths["weight"].to_numpy(dtype=float))
    return np.ones(len(pool_paths))


def class_frame(data: RunRecord) -> pd.DataFrame:
    """The summary's class records, indexed by class name."""
    return pd.DataFrame(data.summary["classes"]).set_index("name", drop=False)


def breakeven_cell(data: RunRecord, name: str) -> Cell:
    """The break-even CNL multiple of class ``name``, or why there is none."""
    if data.breakeven is None:
        return Cell(NOT_COMPUTED)
    value = data.breakeven.get(name)
    if value is not None and math.isinf(value):
        return Cell("no loss at any multiple")
    return Cell(NOT_COMPUTED) if value is None else num(value, ".2f", "x")


def stress_by_scenario(data: RunRecord) -> pd.DataFrame | None:
    """Per scenario: note loss (EL x class balance, USD), largest class EL, worst first."""
    if data.stress is None or data.stress.empty:
        return None
    balance = {str(c["name"]): float(c.get("balance") or 0.0) for c in data.summary["classes"]}
    frame = data.stress.copy()
    frame["note_loss"] = frame["el"] * frame["class"].map(balance).fillna(0.0)
    grouped = frame.groupby("scenario", sort=False).agg(note_loss=("note_loss", "sum"),
                                                        max_el=("el", "max"))
    return grouped.sort_values("note_loss", ascending=False, kind="mergesort")


@dataclass(frozen=True)
class ScenarioDeltas:
    """The stress table with each measure's change against the base scenario.

    ``frame`` has the rows of the stress table (scenario, class, measures) and, for each of
    :data:`DELTA_COLUMNS` present, ``<measure>_delta`` = scenario value - base value of the
    same class.
    """

    base: str
    frame: pd.DataFrame


def scenario_deltas(data: RunRecord) -> ScenarioDeltas | None:
    """The stress table against its base scenario, or None with fewer than two scenarios."""
    stress = data.stress
    if stress is None or stress["scenario"].nunique() < 2:
        return None
    names = [str(s) for s in stress["scenario"].unique()]
    base = BASE_SCENARIO if BASE_SCENARIO in names else names[0]
    frame = stress.copy()
    frame["scenario"] = frame["scenario"].astype(str)
    frame["class"] = frame["class"].astype(str)
    reference = frame[frame["scenario"] == base].set_index("class")
    for column in (c for c in DELTA_COLUMNS if c in frame.columns):
        frame[f"{column}_delta"] = frame[column] - frame["class"].map(reference[column])
    return ScenarioDeltas(base, frame.reset_index(drop=True))
