"""Section 8, scenarios: side-by-side comparison with deltas, ranking, sensitivity grid."""

from __future__ import annotations

import pandas as pd

from portfolio._format import percent_text
from reports.charts import scenario_chart
from reports.model import Block, Cell, Column, Row, Section, Table, Text, money, num, pct, text
from reports.sections._common import (
    DELTA_COLUMNS,
    ScenarioDeltas,
    chart,
    has_triggers,
    scenario_deltas,
    stress_by_scenario,
)
from simulation.run.directory import STRESS_COLUMNS, RunRecord

__all__ = ["scenario_section"]

_LABELS = {"el": "EL", "el_se": "EL se", "pd": "PD", "wal": "WAL (years)", "yield": "Yield",
           "trigger_breach": "Trigger breach prob.", "cnl": "Pool CNL"}


def _measure_cell(column: str, value: object) -> Cell:
    if column == "wal":
        return num(value, ".2f")
    return pct(value, 4 if column in ("el", "el_se") else 2)


def scenario_section(data: RunRecord) -> Section:
    """Section 8: scenarios side by side with deltas, ranked by loss; the sensitivity grid."""
    blocks: list[Block] = []
    deltas = scenario_deltas(data)
    if deltas is None:
        blocks.append(Text((
            "One scenario in this run directory, shown above: no scenario comparison. "
            "`autoabs stress` (or `autoabs demo`) compares several with common random "
            "numbers.",)))
    else:
        blocks += [_side_by_side(data, deltas), _detail(deltas, has_triggers(data)),
                   _el_chart(data), _ranking(data)]
    if data.sensitivity_grid is not None:
        blocks += _grid_tables(data, data.sensitivity_grid)
    return Section("scenarios", 8, "Scenarios and sensitivities", tuple(blocks))


def _side_by_side(data: RunRecord, deltas: ScenarioDeltas) -> Table:
    frame = deltas.frame
    names = list(dict.fromkeys(frame["scenario"]))
    others = [n for n in names if n != deltas.base]
    el = frame.pivot_table(index="class", columns="scenario", values="el", sort=False)
    el_delta = frame.pivot_table(index="class", columns="scenario", values="el_delta",
                                 sort=False)
    order = [c for c in data.classes if c in el.index] + [c for c in el.index
                                                          if c not in data.classes]
    columns = (Column("class", "Class", False),
               *(Column(f"el|{n}", f"EL {n}") for n in names),
               *(Column(f"el_delta|{n}", f"Δ EL {n} vs {deltas.base}") for n in others))
    rows = [Row(c, (text(c), *(pct(el.at[c, n], 4) for n in names),
                    *(pct(el_delta.at[c, n], 4) for n in others))) for c in order]
    if "cnl" in frame.columns:
        cnl = frame.groupby("scenario", sort=False)["cnl"].first()
        base_cnl = float(cnl[deltas.base])
        rows.append(Row("pool-cnl", (text("Pool CNL (mean)"),
                                     *(pct(cnl[n], 2) for n in names),
                                     *(pct(float(cnl[n]) - base_cnl, 2) for n in others)),
                        "total"))
    return Table("scenario-comparison", f"Scenarios side by side ({', '.join(names)})",
                 columns, tuple(rows),
                 f"Δ = scenario - {deltas.base}, same seed and paths in every scenario (common "
                 "random numbers), so a difference is the scenario's, not Monte Carlo noise.")


def _detail(deltas: ScenarioDeltas, triggers: bool) -> Table:
    frame = deltas.frame
    present = [c for c in STRESS_COLUMNS if c in frame.columns
               and (triggers or c != "trigger_breach")]
    changed = [c for c in DELTA_COLUMNS if f"{c}_delta" in frame.columns]
    columns = (Column("scenario", "Scenario", False), Column("class", "Class", False),
               *(Column(c, _LABELS[c]) for c in present),
               *(Column(f"{c}_delta", f"Δ {_LABELS[c]}") for c in changed))
    rows = []
    for _, r in frame.iterrows():
        cells = [text(r["scenario"]), text(r["class"])]
        cells += [_measure_cell(c, r[c]) for c in present]
        cells += [_measure_cell(c, r[f"{c}_delta"]) for c in changed]
        rows.append(Row(f"{r['scenario']}|{r['class']}", tuple(cells)))
    return Table("scenarios", "Scenario results by class", columns, tuple(rows),
                 f"Δ columns: change against {deltas.base} for the same class.")


def _el_chart(data: RunRecord) -> Block:
    stress = data.stress
    assert stress is not None
    el = stress.pivot_table(index="scenario", columns="class", values="el", sort=False)
    order = [c for c in data.classes if c in el.columns]
    el = el[order + [c for c in el.columns if c not in order]]
    return chart("chart-scenarios", "Class EL by scenario",
                 "Expected loss of each class under each scenario of the run.",
                 lambda: scenario_chart(el))


def _ranking(data: RunRecord) -> Table:
    worst = stress_by_scenario(data)
    assert worst is not None
    return Table(
        "scenario-ranking", "Scenarios ranked by expected note loss",
        (Column("scenario", "Scenario", False), Column("note_loss", "Expected note loss"),
         Column("max_el", "Largest class EL")),
        tuple(Row(str(s), (text(s), money(r["note_loss"]), pct(r["max_el"], 4)))
              for s, r in worst.iterrows()),
        "Expected note loss = sum over classes of EL x class balance.",
    )


def _grid_tables(data: RunRecord, grid: pd.DataFrame) -> list[Block]:
    """One table per class: principal loss by CNL multiple (rows) and ABS speed (columns)."""
    speeds = sorted(grid["abs_speed"].unique())
    multiples = sorted(grid["cnl_multiple"].unique())
    classes = [c for c in data.classes if c in set(grid["class"].astype(str))]
    blocks: list[Block] = []
    indexed = grid.assign(**{"class": grid["class"].astype(str)}).set_index(
        ["class", "cnl_multiple", "abs_speed"])
    for name in classes:
        rows = []
        for m in multiples:
            cells = [num(m, ".2f", "x")]
            for v in speeds:
                key = (name, m, v)
                cells.append(pct(indexed.at[key, "loss"], 2) if key in indexed.index
                             else text("n/a"))
            rows.append(Row(f"{m:g}", tuple(cells)))
        columns = (Column("cnl_multiple", "CNL multiple"),
                   *(Column(f"abs|{v:g}", f"{v * 100:.1f}% ABS") for v in speeds))
        blocks.append(Table(f"grid-{name}", f"Sensitivity grid, class {name}: principal loss",
                            columns, tuple(rows)))
    short = grid.loc[~grid["reached"].astype(bool)].drop_duplicates(["cnl_multiple",
                                                                       "abs_speed"])
    note = ("Deterministic expected-value projection (no Monte Carlo): loss = share of the "
            "class balance lost at the CNL multiple (of the base-case CNL) and ABS speed. "
            "docs/scenarios.md.")
    if len(short):
        listed = ", ".join(f"{float(m):g}x at {percent_text(float(v), 1)} ABS" for m, v
                          in zip(short["cnl_multiple"], short["abs_speed"], strict=True))
        note += (f" {len(short)} cell(s) cannot reach their multiple even at a 100% monthly "
                 f"default rate and are run at the highest: {listed}.")
    blocks.append(Text((note,)))
    return blocks
