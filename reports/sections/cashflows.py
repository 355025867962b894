"""Section 6, cash flows: pool and class balance fan charts, prepayment and default speeds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from portfolio._format import percent_text
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
        blocks.append(prospectus_paydown(data.paydown)
                      if set(PAYDOWN_COLUMNS) <= set(data.paydown.columns)
                      else _generic_table("paydown-file", "Prepayment table (paydown.csv)",
                                          data.paydown))
    else:
        blocks.append(Text(("No paydown.csv in the run directory (the run was made with "
                            "--no-structuring); the table above is derived from the mean pool "
                            "flows.",)))
    return Section("cashflows", 6, "Cash-flow fan charts", tuple(blocks))


PAYDOWN_COLUMNS = ("class", "abs_speed", "wal_years", "first_principal_period",
                   "last_principal_period")
"""Columns of ``paydown.csv`` (:func:`simulation.structuring.prepayment_table`) the
prospectus-style table needs; the dates are used when present."""


def _window(row: pd.Series) -> str:
    first, last = int(row["first_principal_period"]), int(row["last_principal_period"])
    if first <= 0 or last <= 0:
        return "no principal"
    months = f"months {first}-{last}"
    start, end = row.get("first_principal_date"), row.get("last_principal_date")
    if isinstance(start, str) and isinstance(end, str) and start and end:
        return f"{months} ({start[:7]} to {end[:7]})"
    return months


def prospectus_paydown(paydown: pd.DataFrame) -> Table:
    """WAL (years, two decimals) and principal window of each class by ABS speed.

    The layout of a prospectus's "weighted average life of the notes" tables: a row per
    class, a column pair per ABS speed shown in percent (0.013 -> 1.30% ABS).
    """
    speeds = sorted(paydown["abs_speed"].unique())
    classes = list(dict.fromkeys(paydown["class"].astype(str)))
    indexed = paydown.assign(**{"class": paydown["class"].astype(str)}).set_index(
        ["class", "abs_speed"])
    columns = [Column("class", "Class", False)]
    for v in speeds:
        label = percent_text(v, 2)
        columns += [Column(f"wal|{v:g}", f"WAL (years) at {label} ABS"),
                    Column(f"window|{v:g}", f"Principal window at {label} ABS", False)]
    rows = []
    for name in classes:
        cells = [text(name)]
        for v in speeds:
            row = indexed.loc[(name, v)]
            cells += [num(row["wal_years"], ".2f"), text(_window(row))]
        rows.append(Row(name, tuple(cells)))
    return Table("paydown-file", "Weighted average life and principal window by ABS speed "
                 "(paydown.csv)", tuple(columns), tuple(rows),
                 "ABS: the absolute prepayment model, a monthly prepayment rate relative to the "
                 "original number of loans; no losses, to the clean-up call; principal window "
                 "= first to last month of principal paid. docs/methodology.md (ABS to SMM).")


def _generic_table(table_id: str, title: str, frame: pd.DataFrame, max_rows: int = 60) -> Table:
    columns = tuple(Column(str(c), str(c), pd.api.types.is_numeric_dtype(frame[c]))
                    for c in frame.columns)
    rows = []
    for i, (_, r) in enumerate(frame.head(max_rows).iterrows()):
        cells = tuple(num(r[c.key], ",.6g") if c.numeric else text(r[c.key]) for c in columns)
        rows.append(Row(str(i), cells))
    note = f"First {max_rows} of {len(frame)} rows." if len(frame) > max_rows else ""
    return Table(table_id, title, columns, tuple(rows), note)
