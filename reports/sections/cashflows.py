"""Section 6, cash flows: pool and class balance fan charts, prepayment and default speeds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reports.charts import class_balance_fans, pool_balance_fan
from reports.model import Block, Column, Row, Section, Table, Text, money, num, pct, text
from reports.sections._common import chart, timeline
from simulation.run.directory import RunRecord

__all__ = ["cashflow_section"]


def cashflow_section(data: RunRecord) -> Section:
    """Section 6: pool and class balance fans, CPR/CDR by month, ``paydown.csv`` if present."""
    pfq = data.frames["pool_factor_quantiles"]
    cbq = data.frames["class_balance_quantiles"]
    balances = {name: cbq[cbq["class"].astype(str) == name].set_index("period")
                [["p5", "p50", "p95"]] for name in data.classes}
    pool_chart = chart("chart-pool-fan", "Pool balance fan chart",
                       "Pool factor (balance / initial balance) by month: median and bands.",
                       lambda: pool_balance_fan(pfq))
    class_chart = chart("chart-class-fans", "Class balance fan charts",
                        "Class balance factor by month: P50 line, P5-P95 band.",
                        lambda: class_balance_fans(balances))
    flows = data.frames["pool_flows"]
    initial = float(data.summary["pool"].get("initial_balance") or np.nan)
    begin = np.concatenate([[initial], flows["ending_balance"].to_numpy(dtype=float)[:-1]])
    sched = flows["scheduled_principal"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        smm = flows["prepaid_principal"].to_numpy(dtype=float) / (begin - sched)
        mdr = flows["defaulted_principal"].to_numpy(dtype=float) / begin
    cpr = 1.0 - (1.0 - smm) ** 12
    cdr = 1.0 - (1.0 - mdr) ** 12
    rows = []
    for m in timeline(len(flows)):
        i = m - 1
        rows.append(Row(str(m), (
            num(m, ".0f"), pct(flows["ending_balance"].iloc[i] / initial, 2),
            pct(pfq["p5"].iloc[i] if "p5" in pfq else None, 2),
            pct(pfq["p95"].iloc[i] if "p95" in pfq else None, 2),
            pct(cpr[i], 2), pct(cdr[i], 2),
            money(flows["prepaid_principal"].iloc[i]),
            money(flows["defaulted_principal"].iloc[i]),
            money(flows["recoveries"].iloc[i]))))
    paydown = Table(
        "paydown", "Prepayment and default speeds (mean pool flows)",
        (Column("month", "Month"), Column("factor", "Mean pool factor"),
         Column("factor_p5", "Factor P5"), Column("factor_p95", "Factor P95"),
         Column("cpr", "CPR"), Column("cdr", "CDR"), Column("prepaid", "Prepaid principal"),
         Column("defaulted", "Defaulted principal"), Column("recoveries", "Recoveries")),
        tuple(rows),
        "CPR = 1 - (1 - SMM)^12 with SMM = prepaid / (beginning balance - scheduled "
        "principal); CDR likewise from defaulted / beginning balance; from the mean flows.",
    )
    blocks: list[Block] = [pool_chart, class_chart, paydown]
    if data.paydown is not None:
        blocks.append(_generic_table("paydown-file", "Prepayment table (paydown.csv)",
                                     data.paydown))
    else:
        blocks.append(Text(("No paydown.csv in the run directory; the table above is derived "
                            "from the mean pool flows.",)))
    return Section("cashflows", 6, "Cash-flow fan charts", tuple(blocks))


def _generic_table(table_id: str, title: str, frame: pd.DataFrame, max_rows: int = 60) -> Table:
    columns = tuple(Column(str(c), str(c), pd.api.types.is_numeric_dtype(frame[c]))
                    for c in frame.columns)
    rows = []
    for i, (_, r) in enumerate(frame.head(max_rows).iterrows()):
        cells = tuple(num(r[c.key], ",.6g") if c.numeric else text(r[c.key]) for c in columns)
        rows.append(Row(str(i), cells))
    note = f"First {max_rows} of {len(frame)} rows." if len(frame) > max_rows else ""
    return Table(table_id, title, columns, tuple(rows), note)
