"""Sections 2 and 3, the pool: strats and concentration; diversification and the Vasicek view."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from portfolio.strats import NAN_NOTE, TOTAL, strat_table
from portfolio.tape import COLUMN_BY_NAME, LoanTape
from reports.charts import concentration_chart, vasicek_comparison
from reports.diversification import (
    concentration_by_dimension,
    summarize_pool_paths,
    value_at_risk,
    vasicek_quantile,
)
from reports.model import Block, Cell, Column, Row, Section, Table, Text, money, num, pct, text
from reports.sections._common import chart, kv_table, path_weights
from simulation.run.directory import RunRecord

__all__ = ["CONCENTRATION_EXTRA", "MAX_STRAT_ROWS", "STRAT_DIMENSIONS", "diversification_section",
           "pool_section"]

STRAT_DIMENSIONS: tuple[tuple[str, str], ...] = (
    ("state", "State"),
    ("vehicle_make", "Make"),
    ("fico", "FICO band"),
    ("rate", "APR band"),
    ("original_term", "Original term (months)"),
    ("ltv", "LTV band"),
    ("vehicle_new", "New / used"),
    ("vehicle_year", "Model year"),
)
"""Strat dimensions of the pool section, with their labels."""

CONCENTRATION_EXTRA: tuple[tuple[str, str], ...] = (
    ("vehicle_model", "Model"), ("dealer_id", "Dealer"),
)
"""Further dimensions of the concentration tables (too granular to stratify)."""

MAX_STRAT_ROWS = 15
"""Categorical strat rows shown before the rest is summed into one line."""


def _strat_block(tape: LoanTape, column: str, label: str) -> Table:
    frame = strat_table(tape, column)
    body, total = frame.iloc[:-1], frame.iloc[-1]
    categorical = COLUMN_BY_NAME[column].kind in ("str", "bool", "ptype")
    shown = body.iloc[:MAX_STRAT_ROWS] if categorical else body

    def cells(row: Any) -> tuple[Cell, ...]:
        return (text(row["bucket"]), num(row["count"], ",.0f"), money(row["balance"]),
                pct(row["share_of_balance"]), pct(row["share_of_count"]),
                pct(row["wa_rate"]), num(row["wa_fico"], ".0f"), pct(row["wa_ltv"], 1),
                num(row["wa_original_term"], ".1f"), num(row["wa_remaining_term"], ".1f"))

    rows = [Row(str(r["bucket"]), cells(r)) for _, r in shown.iterrows()]
    if len(shown) < len(body):
        rest = body.iloc[len(shown):]
        rows.append(Row("others", (
            text(f"{len(rest)} others"), num(rest["count"].sum(), ",.0f"),
            money(rest["balance"].sum()), pct(rest["share_of_balance"].sum()),
            pct(rest["share_of_count"].sum()), *(Cell("") for _ in range(5))), "other"))
    rows.append(Row(TOTAL, cells(total), "total"))
    columns = (Column("bucket", label, False), Column("count", "Loans"),
               Column("balance", "Balance"), Column("share_of_balance", "% balance"),
               Column("share_of_count", "% count"), Column("wa_rate", "WA APR"),
               Column("wa_fico", "WA FICO"), Column("wa_ltv", "WA LTV"),
               Column("wa_original_term", "WA orig. term"),
               Column("wa_remaining_term", "WA rem. term"))
    return Table(f"strat-{column}", f"Strat by {label}", columns, tuple(rows))


def _concentration_table(data: RunRecord) -> tuple[Table, list[Any]]:
    dims = (*STRAT_DIMENSIONS, *CONCENTRATION_EXTRA)
    labels = dict(dims)
    concs = concentration_by_dimension(data.tape, [d for d, _ in dims])
    rows = []
    for c in concs:
        top = dict(c.top_shares)
        rows.append(Row(c.dimension, (
            text(labels[c.dimension]), num(c.n_groups, ",.0f"), num(c.hhi, ".4f"),
            num(c.effective_number, ",.1f"), pct(top.get(1), 1), pct(top.get(5), 1),
            pct(top.get(10), 1), num(c.gini, ".3f"),
            text(f"{c.largest_name} ({c.largest_share:.1%})"))))
    table = Table(
        "concentration", "Concentration by current balance",
        (Column("dimension", "Dimension", False), Column("groups", "Groups"),
         Column("hhi", "HHI"), Column("effective_number", "Effective number"),
         Column("top1", "Top 1"), Column("top5", "Top 5"), Column("top10", "Top 10"),
         Column("gini", "Gini"), Column("largest", "Largest group", False)),
        tuple(rows),
        "HHI = sum of squared balance shares (decimal scale); effective number = 1 / HHI; "
        "Gini of group balances; see docs/strats.md.",
    )
    return table, concs


def pool_section(data: RunRecord) -> Section:
    """Section 2: strat tables of the pool's current balance and the concentration table."""
    blocks: list[Block] = [Text((
        "Stratification of the pool's current balance by the dimensions a rating analyst "
        f"reads first; {NAN_NOTE}. Categorical tables show the {MAX_STRAT_ROWS} largest "
        "groups and sum the rest.",))]
    for column, label in STRAT_DIMENSIONS:
        blocks.append(_strat_block(data.tape, column, label))
    table, _ = _concentration_table(data)
    blocks.append(table)
    return Section("pool", 2, "Pool: strats and concentration", tuple(blocks))


def diversification_section(data: RunRecord) -> Section:
    """Section 3: HHI by dimension, default statistics, Vasicek and Basel, diversity score."""
    pp = data.frames["pool_paths"]
    w = path_weights(data)
    cnl = pp["cnl"].to_numpy(dtype=float)
    div = summarize_pool_paths(pp["defaulted_principal"], cnl, pp["pool_wal_years"], w)
    _, concs = _concentration_table(data)
    balances = data.tape.balance
    shares = balances / balances.sum()
    loan_hhi = float(np.dot(shares, shares))
    labels = dict((*STRAT_DIMENSIONS, *CONCENTRATION_EXTRA))
    conc_rows = [Row("loan", (text("Loan (obligor)"), num(len(balances), ",.0f"),
                              num(loan_hhi, ".6f"), num(1.0 / loan_hhi, ",.1f")))]
    conc_rows += [Row(c.dimension, (text(labels[c.dimension]), num(c.n_groups, ",.0f"),
                                    num(c.hhi, ".6f"), num(c.effective_number, ",.1f")))
                  for c in concs]
    hhi_table = Table(
        "hhi", "HHI and effective number by dimension",
        (Column("dimension", "Dimension", False), Column("groups", "Groups"),
         Column("hhi", "HHI"), Column("effective_number", "Effective number (1/HHI)")),
        tuple(conc_rows),
    )
    conc_chart = chart(
        "chart-concentration", "Effective number by dimension",
        "Grey: number of groups; blue: the number of equal groups with the same HHI.",
        lambda: concentration_chart([labels[c.dimension] for c in concs],
                                    [c.effective_number for c in concs],
                                    [c.n_groups for c in concs]))
    stats = kv_table("diversification", "Default statistics, Vasicek and Basel IRB", [
        ("pd", "Mean lifetime default rate (PD)", pct(div.pd, 3)),
        ("default_rate_sd", "Default rate, standard deviation",
         pct(math.sqrt(div.default_rate_variance), 3)),
        ("lgd", "Loss given default (mean CNL / mean default rate)", pct(div.lgd, 2)),
        ("rho_fitted", "Vasicek asset correlation fitted to the simulated default rates",
         num(div.rho_fitted, ".4f")),
        ("basel_r", "Basel other-retail correlation R at PD", num(div.basel_r, ".6f")),
        ("basel_k", "Basel other-retail capital K at PD, LGD (% of exposure)",
         pct(div.basel_k, 3)),
        ("pool_wal_years", "Mean pool WAL (years)", num(div.pool_wal_years, ".3f")),
        ("pd_annual", "One-year PD equivalent 1 - (1 - PD)^(1 / WAL)", pct(div.pd_annual, 3)),
        ("basel_r_annual", "Basel R at the one-year PD", num(div.basel_r_annual, ".6f")),
        ("basel_k_annual", "Basel K at the one-year PD, LGD", pct(div.basel_k_annual, 3)),
        ("diversity_score", "Diversity score (binomial expansion)",
         num(div.diversity_score, ",.1f")),
        ("effective_loans", "Effective number of loans (1 / HHI of loan balances)",
         num(1.0 / loan_hhi, ",.1f")),
    ], "Basel IRB formulas use the run's simulated PD and LGD; Basel defines PD over one year, "
       "so the one-year equivalent is shown too (no maturity adjustment applies to retail).")
    definition = Text((
        "Diversity score: D = PD (1 - PD) / Var(DR), where DR is the per-path lifetime default "
        "rate of the pool (defaulted principal / initial balance) and PD its mean. D is the "
        "number of independent, equally sized loans with default probability PD whose default "
        "rate has the same variance as the pool's: Moody's binomial expansion technique "
        "(Cifuentes and O'Connor, 1996) applied to the simulated default-rate distribution. "
        "It counts granularity and correlation together; the effective number of loans counts "
        "granularity only.",
    ))
    curves = {f"Vasicek, fitted rho = {div.rho_fitted:.4f}": div.rho_fitted,
              f"Vasicek, Basel R = {div.basel_r:.4f}": div.basel_r}
    vas_chart = chart(
        "chart-vasicek", "Vasicek large-pool loss vs simulated CNL",
        "Loss = LGD x DR with DR Vasicek(PD, rho): the asymptotic single-risk-factor "
        "distribution at the simulated PD and LGD, with the fitted and the Basel correlation.",
        lambda: vasicek_comparison(cnl, w, div.pd, div.lgd, curves))
    q_rows = []
    for q in (0.5, 0.95, 0.99, 0.999):
        sim = value_at_risk(cnl, q, w)
        fitted = (div.lgd * vasicek_quantile(div.pd, div.rho_fitted, q)
                  if 0.0 < div.rho_fitted < 1.0 else div.lgd * div.pd)
        basel = div.lgd * vasicek_quantile(div.pd, div.basel_r, q) \
            if math.isfinite(div.basel_r) else math.nan
        q_rows.append(Row(f"q{q * 100:g}", (text(f"{q:.1%}"), pct(sim, 3), pct(fitted, 3),
                                            pct(basel, 3))))
    q_table = Table(
        "vasicek-quantiles", "Loss quantiles: simulated vs Vasicek",
        (Column("level", "Level", False), Column("simulated", "Simulated CNL"),
         Column("vasicek_fitted", "Vasicek (fitted rho)"),
         Column("vasicek_basel", "Vasicek (Basel R)")),
        tuple(q_rows),
        "Vasicek quantile: LGD x Phi((Phi^-1(PD) + sqrt(rho) Phi^-1(q)) / sqrt(1 - rho)).",
    )
    return Section("diversification", 3, "Diversification",
                   (hhi_table, conc_chart, stats, definition, vas_chart, q_table))
