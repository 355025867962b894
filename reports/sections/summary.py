"""Section 1, the executive summary: headline results by class, key figures, worst scenario."""

from __future__ import annotations

from reports.model import Cell, Column, Row, Section, Table, Text, money, num, pct, text
from reports.sections._common import breakeven_cell, kv_table, stress_by_scenario
from simulation.run.directory import RunRecord

__all__ = ["executive_summary"]


def executive_summary(data: RunRecord) -> Section:
    """Section 1: the deal and pool in brief, headline results by class, worst scenario."""
    s = data.summary
    prov = s.get("provenance", {})
    pool = s["pool"]
    tape_summary = data.tape.summary()
    n_paths = prov.get("n_paths", len(data.frames["pool_paths"]))
    scenario = prov.get("scenario") or "base (flat macro at cut-off levels)"
    intro = (
        f"Deal: {s.get('deal', 'unnamed deal')}. Pool: {len(data.tape):,} loans, "
        f"${data.tape.total_balance:,.0f} current balance. Simulated on {n_paths:,} "
        f"Monte Carlo paths (seed {prov.get('seed', 'n/a')}), scenario: {scenario}"
        f"{', stochastic paths' if prov.get('stochastic') else ''}."
        + (f" Sections 1-7 describe the scenario run {data.base_run} of this stress "
           "directory." if data.base_run else ""),
    )
    key_rows: list[tuple[str, str, Cell]] = [
        ("n_loans", "Loans", num(len(data.tape), ",.0f")),
        ("initial_balance", "Initial pool balance", money(pool.get("initial_balance"))),
        ("wa_rate", "WA APR", pct(tape_summary["wa_rate"])),
        ("wa_fico", "WA FICO", num(tape_summary["wa_fico"], ".0f")),
        ("wa_ltv", "WA LTV", pct(tape_summary["wa_ltv"], 1)),
        ("wa_original_term", "WA original term (months)",
         num(tape_summary["wa_original_term"], ".1f")),
        ("share_new", "New vehicles (share of balance)", pct(tape_summary["share_new"], 1)),
        ("share_30dpd", "30+ days past due at cut-off (share of balance)",
         pct(tape_summary["share_30dpd"], 2)),
        ("cnl_mean", "Pool CNL, mean", pct(pool.get("cnl_mean"), 3)),
        ("cnl_mean_se", "Pool CNL, standard error of the mean", pct(pool.get("cnl_mean_se"), 3)),
        ("cnl_sd", "Pool CNL, standard deviation", pct(pool.get("cnl_sd"), 3)),
        ("cnl_p99", "Pool CNL, 99th percentile", pct(pool.get("cnl_p99"), 3)),
        ("cnl_p99_9", "Pool CNL, 99.9th percentile", pct(pool.get("cnl_p99_9"), 3)),
    ]
    events = s.get("events", {})
    for key, label in (("reserve_draw_probability", "Probability of a reserve draw"),
                       ("event_of_default_probability", "Probability of an event of default"),
                       ("clean_up_call_probability", "Probability of the clean-up call")):
        if key in events:
            key_rows.append((key, label, pct(events[key], 2)))
    key_table = kv_table("key-figures", "Key figures", key_rows)

    rows = []
    for c in s["classes"]:
        name = str(c["name"])
        rows.append(Row(name, (
            text(name), money(c.get("balance")), pct(c.get("hard_ce")),
            pct(c.get("group_hard_ce")), pct(c.get("el"), 4),
            text(c.get("implied_rating")), num(c.get("wal"), ".2f"),
            breakeven_cell(data, name),
        )))
    headline = Table(
        "headline", "Headline results by class",
        (Column("class", "Class", False), Column("balance", "Balance"),
         Column("hard_ce", "Hard CE"), Column("group_hard_ce", "Class-group CE"),
         Column("el", "EL"), Column("implied_rating", "Implied rating*", False),
         Column("wal", "WAL (years)"),
         Column("breakeven_multiple", "Break-even CNL multiple")),
        tuple(rows),
        f"* Implied from (EL, WAL) with the {s.get('el_table', 'idealized EL table')}. "
        "Hard CE = junior classes + OC + reserve at closing, % of the pool; class-group CE "
        "counts only later class groups (every Class A note shares one figure)."
        + ("" if data.breakeven is not None else
           " Break-even multiples: not computed (no breakeven.json or breakeven.csv in the run "
           "directory)."),
    )
    worst = stress_by_scenario(data)
    if worst is None:
        closing = "Worst scenario: not computed (no stress table in the run directory)."
    else:
        name = str(worst.index[0])
        closing = (f"Worst scenario: {name} (largest expected note loss, "
                   f"${float(worst['note_loss'].iloc[0]):,.0f}; largest class EL "
                   f"{float(worst['max_el'].iloc[0]):.4%}), out of {len(worst)} scenarios in "
                   f"{data.stress_file}.")
    warned = tuple(f"Input warning: {w}" for w in prov.get("input_warnings", ()))
    blocks = (Text(intro), *((Text(warned),) if warned else ()), headline, key_table,
              Text((closing,)))
    return Section("summary", 1, "Executive summary", blocks)
