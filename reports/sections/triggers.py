"""Section 7, triggers and reserve: breach probabilities by month, events over the life."""

from __future__ import annotations

import pandas as pd

from reports.charts import trigger_chart
from reports.model import Block, Column, Row, Section, Table, num, pct
from reports.sections._common import chart, kv_table, timeline, trigger_names
from simulation.run.directory import RunRecord

__all__ = ["trigger_section"]


def trigger_section(data: RunRecord) -> Section | None:
    """Section 7: trigger breach probabilities by month, reserve draws, events.

    None for a deal without triggers (its reserve-draw and event probabilities are in the key
    figures of the executive summary).
    """
    trig = data.frames["triggers"]
    names = trigger_names(data)
    if not names:
        return None
    reserve = trig["reserve draw in period"] if "reserve draw in period" in trig else None
    by_period = pd.DataFrame({n: trig[f"{n} by period"] for n in names}, index=trig.index)
    blocks: list[Block] = []
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
