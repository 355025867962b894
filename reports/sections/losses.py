"""Sections 4 and 5: the pool CNL distribution (VaR, ES); the classes' credit and cash flow."""

from __future__ import annotations

import numpy as np

from reports.charts import cnl_histogram
from reports.diversification import expected_shortfall, value_at_risk
from reports.model import Column, Row, Section, Table, money, num, pct, text
from reports.sections._common import breakeven_cell, chart, class_frame, kv_table, path_weights
from simulation.run.directory import RunRecord

__all__ = ["TAIL_LEVELS", "class_section", "loss_section"]

TAIL_LEVELS = (0.95, 0.99, 0.999)
"""Confidence levels of VaR and expected shortfall."""


def loss_section(data: RunRecord) -> Section:
    """Section 4: weighted pool CNL histogram, VaR and expected shortfall, moments."""
    w = path_weights(data)
    cnl = data.frames["pool_paths"]["cnl"].to_numpy(dtype=float)
    tail = {lv: (value_at_risk(cnl, lv, w), expected_shortfall(cnl, lv, w)) for lv in TAIL_LEVELS}
    wn = w / w.sum()
    mean = float(np.sum(wn * cnl))
    sd = float(np.sqrt(np.sum(wn * (cnl - mean) ** 2)))
    ess = float(w.sum() ** 2 / np.sum(w * w))
    rows = [Row(f"{lv:g}", (text(f"{lv:.1%}"), pct(var, 3), pct(es, 3)))
            for lv, (var, es) in tail.items()]
    table = Table(
        "tail", "Value at risk and expected shortfall of pool CNL",
        (Column("level", "Confidence", False), Column("var", "VaR"),
         Column("es", "Expected shortfall")),
        tuple(rows),
        "VaR = weighted quantile (inverted empirical CDF); ES = mean of the worst (1 - level) "
        "of the weighted distribution (Acerbi-Tasche). Weights = the paths' likelihood ratios.",
    )
    moments = kv_table("cnl-moments", "Pool CNL distribution", [
        ("mean", "Mean (weighted)", pct(mean, 3)),
        ("sd", "Standard deviation (weighted)", pct(sd, 3)),
        ("n_paths", "Paths", num(len(cnl), ",.0f")),
        ("ess", "Effective sample size (Kish)", num(ess, ",.1f")),
    ])
    hist = chart("chart-cnl", "Pool CNL histogram",
                 "Weighted histogram of the per-path CNL; solid lines VaR, dashed lines ES.",
                 lambda: cnl_histogram(cnl, w, tail))
    return Section("loss", 4, "Loss distribution", (hist, table, moments))


def class_section(data: RunRecord) -> Section:
    """Section 5: per class EL, PD, LGD (with standard errors), rating; WAL, yield, DIRR."""
    frame = class_frame(data)
    credit_rows, cash_rows = [], []
    for name in data.classes:
        c = frame.loc[name]
        credit_rows.append(Row(name, (
            text(name), money(c["balance"]), pct(c["hard_ce"]), pct(c["el"], 4),
            pct(c["el_se"], 4), pct(c["pd"], 3), pct(c["pd_se"], 3), pct(c["lgd"], 2),
            pct(c.get("lgd_se"), 2), text(c["implied_rating"]), breakeven_cell(data, name))))
        cash_rows.append(Row(name, (
            text(name), num(c["wal"], ".3f"), num(c["wal_se"], ".4f"), pct(c["yield"], 3),
            pct(c["yield_se"], 4), pct(c.get("promised_yield"), 3), num(c["dirr"], ".2f"),
            num(c["dirr_se"], ".2f"))))
    credit = Table(
        "classes", "Classes: credit",
        (Column("class", "Class", False), Column("balance", "Balance"),
         Column("hard_ce", "Hard CE"), Column("el", "EL"), Column("el_se", "EL se"),
         Column("pd", "PD"), Column("pd_se", "PD se"), Column("lgd", "LGD"),
         Column("lgd_se", "LGD se"), Column("implied_rating", "Implied rating", False),
         Column("breakeven_multiple", "Break-even multiple")),
        tuple(credit_rows),
        "EL = mean principal loss / class balance; PD = probability of any principal loss; "
        "LGD = EL / PD; se = Monte Carlo standard error of the mean. n/a: no path lost "
        "principal.",
    )
    cash = Table(
        "classes-cashflow", "Classes: cash flow",
        (Column("class", "Class", False), Column("wal", "WAL (years)"),
         Column("wal_se", "WAL se"), Column("yield", "Yield"), Column("yield_se", "Yield se"),
         Column("promised_yield", "Promised yield"), Column("dirr", "DIRR (bp)"),
         Column("dirr_se", "DIRR se")),
        tuple(cash_rows),
        "Yield at par, annual, compounded monthly; DIRR = promised yield (no-loss flows) minus "
        "realised yield, in basis points (docs/metrics.md).",
    )
    return Section("classes", 5, "Classes", (credit, cash))
