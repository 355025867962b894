"""Section 7, triggers and reserve: breach probabilities by month, events over the life."""

from __future__ import annotations

import pandas as pd

from reports.charts import trigger_chart
from reports.model import Block, Column, Row, Section, Table, Text, num, pct
from reports.sections._common import chart, kv_table, timeline
from simulation.run.directory import RunRecord

__all__ = ["trigger_section"]


def _trigger_names(triggers: pd.DataFrame) -> list[str]:
    return [c[: -len(" by period")] for c in triggers.columns if c.endswith(" by period")]


def trigger_section(data: RunRecord) -> Section:
    """Section 7: trigger breach probabilities in and by each month, reserve draws, events."""
    trig = data.frames["triggers"]
    names = _trigger_names(trig)
    reserve = trig["reserve draw in period"] if "reserve draw in period" in trig else None
    by_period = pd.DataFrame({n: trig[f"{n} by period"] for n in names}, index=trig.index)
    blocks: list[Block] = []
    if not names:
        blocks.append(Text(("The deal has no performance triggers; the chart shows the "
                            "probability of a reserve draw in each month.",)))
    blocks.append(chart("chart-triggers", "Trigger breach probability by month",
                        "Probability that each trigger has been breached at or before the "
                        "month; dashed: probability of a reserve draw in the month.",
                        lambda: trigger_chart(by_period, reserve)))
    columns = [Column("month", "Month")]
    for n in names:
        columns += [Column(f"{n} in period", f"{n}: in month"),
                    Column(f"{n} by period", f"{n}: by month")]
    if reserve is not None:
        columns.append(Column("reserve draw in period", "Reserve draw in month"))
    rows = []
    for m in timeline(len(trig)):
        cells = [num(m, ".0f")]
        cells += [pct(trig[c.key].iloc[m - 1], 2) for c in columns[1:]]
        rows.append(Row(str(m), tuple(cells)))
    blocks.append(Table("triggers", "Probability of breach by month", tuple(columns),
                        tuple(rows), "In month: breached in that month; by month: breached "
                        "in that month or before."))
    events = data.summary.get("events", {})
    blocks.append(kv_table("events", "Events over the life of the deal", [
        ("reserve_draw_probability", "Reserve draw (any month)",
         pct(events.get("reserve_draw_probability"), 2)),
        ("event_of_default_probability", "Event of default",
         pct(events.get("event_of_default_probability"), 2)),
        ("clean_up_call_probability", "Clean-up call exercised",
         pct(events.get("clean_up_call_probability"), 2)),
    ]))
    return Section("triggers", 7, "Triggers and reserve", tuple(blocks))
