"""Section 8, scenarios: the stress table, class EL by scenario, scenarios ranked by loss."""

from __future__ import annotations

from reports.charts import scenario_chart
from reports.model import Column, Row, Section, Table, Text, money, num, pct, text
from reports.sections._common import chart, stress_by_scenario
from simulation.run.directory import STRESS_COLUMNS, RunRecord

__all__ = ["scenario_section"]


def scenario_section(data: RunRecord) -> Section:
    """Section 8: the stress table of the run directory, or a sentence when it has none."""
    stress = data.stress
    if stress is None or stress.empty:
        return Section("scenarios", 8, "Scenarios", (Text((
            "No stress table in this run directory (stress.csv or stress.json): the run has "
            "one scenario, shown above. Run `autoabs stress` for the scenario comparison.",)),))
    present = [c for c in STRESS_COLUMNS if c in stress.columns]
    labels = {"el": "EL", "el_se": "EL se", "pd": "PD", "wal": "WAL (years)", "yield": "Yield",
              "trigger_breach": "Trigger breach prob.", "cnl": "Pool CNL"}
    columns = (Column("scenario", "Scenario", False), Column("class", "Class", False),
               *(Column(c, labels[c]) for c in present))
    rows = []
    for _, r in stress.iterrows():
        cells = [text(r["scenario"]), text(r["class"])]
        for c in present:
            cells.append(num(r[c], ".3f") if c == "wal"
                         else pct(r[c], 4 if c in ("el", "el_se") else 2))
        rows.append(Row(f"{r['scenario']}|{r['class']}", tuple(cells)))
    table = Table("scenarios", f"Scenario comparison ({data.stress_file})", columns,
                  tuple(rows))
    el = stress.pivot_table(index="scenario", columns="class", values="el", sort=False)
    order = [c for c in data.classes if c in el.columns]
    el = el[order + [c for c in el.columns if c not in order]]
    el_chart = chart("chart-scenarios", "Class EL by scenario",
                     "Expected loss of each class under each stress scenario of the run.",
                     lambda: scenario_chart(el))
    worst = stress_by_scenario(data)
    assert worst is not None
    ranking = Table(
        "scenario-ranking", "Scenarios ranked by expected note loss",
        (Column("scenario", "Scenario", False), Column("note_loss", "Expected note loss"),
         Column("max_el", "Largest class EL")),
        tuple(Row(str(s), (text(s), money(r["note_loss"]), pct(r["max_el"], 4)))
              for s, r in worst.iterrows()),
        "Expected note loss = sum over classes of EL x class balance.",
    )
    return Section("scenarios", 8, "Scenarios", (table, el_chart, ranking))
