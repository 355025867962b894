"""Section 1, the executive summary written as a committee memo.

The deal, pool and dates; the capital structure with implied ratings, hard CE and break-even
multiples; the key risks in sentences generated from the numbers of the run; the assumptions
of the run from its ``manifest.json`` (``reports.assumptions``); the key pool figures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from portfolio._format import percent_text
from reports.assumptions import assumption_rows, deal_config, run_dates, scenario_name
from reports.diversification import concentration_by_dimension
from reports.model import Cell, Column, Row, Section, Table, Text, money, num, pct, text
from reports.sections._common import (
    AS_OF_BREAKEVEN,
    BREAKEVEN_HINT,
    as_of_period,
    breakeven_cell,
    kv_table,
    scenario_deltas,
    stress_by_scenario,
    trigger_names,
)
from simulation.run.directory import RunRecord

__all__ = ["CONCENTRATION_FLAG_SHARE", "executive_summary", "key_risks"]

CONCENTRATION_FLAG_SHARE = 0.10
"""A state, make or dealer holding this share of the pool balance or more is flagged.

The 10% level is Regulation AB's (17 CFR 229.1111(b)(14)): a prospectus describes the
economic factors of any state or region holding 10% or more of the pool assets.
"""

_FLAGGED_DIMENSIONS = (("state", "state"), ("vehicle_make", "make"), ("dealer_id", "dealer"))


def executive_summary(data: RunRecord) -> Section:
    """Section 1: memo, capital structure, key risks, assumptions and key pool figures."""
    s = data.summary
    prov = s.get("provenance", {})
    n_paths = prov.get("n_paths", len(data.frames["pool_paths"]))
    dates = run_dates(data.manifest)
    deal = deal_config(data.manifest)
    pool_source = (data.manifest or {}).get("inputs", {}).get("pool", {}).get("source")
    memo = (
        f"Deal: {s.get('deal', 'unnamed deal')}. Pool: {len(data.tape):,} loans, "
        f"${data.tape.total_balance:,.0f} current balance"
        + (f" ({pool_source})" if pool_source else "") + ".",
        "Dates: " + "; ".join(f"{label} {value}" for label, value in dates) + ".",
        f"Scenario: {scenario_name(data)}. Simulated on {n_paths:,} Monte Carlo paths "
        f"(seed {prov.get('seed', 'n/a')})"
        + (", stochastic scenario paths." if prov.get("stochastic") else ".")
        + (f" Sections 1-6 describe the scenario run {data.base_run} of this directory."
           if data.base_run else ""),
        *_as_of_memo(s),
    )
    risks = key_risks(data)
    warned = tuple(f"Input warning: {w}" for w in prov.get("input_warnings", ()))
    blocks = (
        Text(memo),
        *((Text(warned),) if warned else ()),
        _capital_structure(data, deal),
        Text(("Key risks:", *risks)),
        kv_table("memo-assumptions", "Assumptions (manifest.json)",
                 assumption_rows(data.manifest, scenario_name(data)),
                 "" if data.manifest is not None else
                 "No manifest.json in the run directory: the assumptions are not known."),
        _key_figures(data),
    )
    return Section("summary", 1, "Executive summary", blocks)


def _coupon_text(note: Mapping[str, Any] | None) -> str:
    if note is None:
        return "n/a"
    if note.get("coupon") is not None:
        return percent_text(float(note["coupon"]), 2)
    if note.get("index"):
        spread = note.get("spread") or 0.0
        return f"{note['index']} + {spread * 1e4:.0f} bp"
    return "n/a"


def _as_of_memo(summary: Mapping[str, Any]) -> tuple[str, ...]:
    as_of = as_of_period(summary)
    if as_of is None:
        return ()
    return (f"Projected from the reporting date after payment period {as_of['period']} "
            f"({as_of['reporting_date']}): note balances, reserve, OC, losses to date and "
            "trigger states as the status file reports them, the pool from the current tape; "
            "CNL counts realised plus projected net losses over the original pool.",)


def _capital_structure(data: RunRecord, deal: Mapping[str, Any] | None) -> Table:
    notes = {str(n["name"]): n for n in (deal or {}).get("notes", ())}
    initial = float(data.summary["pool"].get("initial_balance") or math.nan)
    as_of = as_of_period(data.summary)
    when = (f"after period {as_of['period']} ({as_of['reporting_date']})" if as_of
            else "at closing")
    pool = "original pool" if as_of else "pool"
    rows = []
    for c in data.summary["classes"]:
        name = str(c["name"])
        balance = c.get("balance")
        share = float(balance) / initial if balance is not None and initial > 0 else None
        rows.append(Row(name, (
            text(name), money(balance), pct(share, 2), text(_coupon_text(notes.get(name))),
            text((notes.get(name) or {}).get("legal_final") or "not given"),
            pct(c.get("hard_ce")), pct(c.get("group_hard_ce")), text(c.get("implied_rating")),
            pct(c.get("el"), 4),
            num(c.get("wal"), ".2f"), breakeven_cell(data, name),
        )))
    return Table(
        "headline", "Capital structure and results by class",
        (Column("class", "Class", False), Column("balance", "Balance"),
         Column("share", "% of pool"), Column("coupon", "Coupon", False),
         Column("legal_final", "Legal final", False), Column("hard_ce", "Hard CE"),
         Column("group_hard_ce", "Class-group CE"),
         Column("implied_rating", "Implied rating*", False), Column("el", "EL"),
         Column("wal", "WAL (years)"), Column("breakeven_multiple", "Break-even CNL multiple")),
        tuple(rows),
        f"* Implied from (EL, WAL) with the {data.summary.get('el_table', 'idealized EL table')}"
        f"; not an agency rating. Balance and hard CE {when}: hard CE = junior classes + OC + "
        f"reserve, % of the pool then; % of pool: of the {pool}. Class-group CE counts only "
        "later class groups (every Class A note shares one figure, as deals publish it)."
        + ("" if data.breakeven is not None
           else f" {AS_OF_BREAKEVEN if as_of else BREAKEVEN_HINT}"),
    )


def key_risks(data: RunRecord) -> tuple[str, ...]:
    """The key risks of the run in sentences, each generated from its numbers."""
    return (_breakeven_risk(data), *_scenario_risk(data), _trigger_risk(data),
            _concentration_risk(data))


def _breakeven_risk(data: RunRecord) -> str:
    if data.breakeven is None:
        return AS_OF_BREAKEVEN if as_of_period(data.summary) else BREAKEVEN_HINT
    finite = {n: v for n, v in data.breakeven.items() if v is not None and math.isfinite(v)}
    if not finite:
        return "No class loses principal at any CNL multiple tried."
    name = min(finite, key=lambda n: finite[n])
    cnl = data.summary["pool"].get("cnl_mean")
    at = (f", a pool CNL of about {percent_text(finite[name] * float(cnl), 2)} against the "
          f"simulated mean of {percent_text(float(cnl), 2)}" if cnl is not None else "")
    return (f"Class {name} is closest to its break-even: it first loses principal at "
            f"{finite[name]:.2f}x the base-case CNL{at}.")


def _scenario_risk(data: RunRecord) -> tuple[str, ...]:
    worst = stress_by_scenario(data)
    if worst is None:
        return ("Scenarios: only one scenario was run; `autoabs stress` compares several.",)
    name = str(worst.index[0])
    deltas = scenario_deltas(data)
    sentence = (f"Worst of {len(worst)} scenarios: {name}, with an expected note loss of "
                f"${float(worst['note_loss'].iloc[0]):,.0f} and a largest class EL of "
                f"{percent_text(float(worst['max_el'].iloc[0]), 4)}")
    if deltas is not None and name != deltas.base:
        rows = deltas.frame[deltas.frame["scenario"] == name]
        moved = rows.iloc[int(rows["el_delta"].abs().to_numpy().argmax())] if len(rows) else None
        if "cnl_delta" in rows and len(rows):
            sentence += (f"; pool CNL {percent_text(float(rows['cnl'].iloc[0]), 2)} "
                         f"({_signed_points(float(rows['cnl_delta'].iloc[0]))} against "
                         f"{deltas.base})")
        if moved is not None and float(moved["el_delta"]) != 0.0:
            sentence += (f"; class {moved['class']} moves most, EL "
                         f"{_signed_points(float(moved['el_delta']), 4)}")
    return (sentence + ".",)


def _signed_points(delta: float, decimals: int = 2) -> str:
    shown = percent_text(abs(delta), decimals)
    return shown if shown.startswith("<") or delta == 0.0 else (
        ("+" if delta > 0 else "-") + shown)


def _trigger_risk(data: RunRecord) -> str:
    trig = data.frames["triggers"]
    names = trigger_names(data)
    events = data.summary.get("events", {})
    reserve = events.get("reserve_draw_probability")
    tail = (f" Probability of a reserve draw over the life: {percent_text(reserve, 2)}."
            if reserve is not None else "")
    if not names:
        return "The deal has no performance triggers." + tail
    breach = ", ".join(f"{n} {percent_text(float(trig[f'{n} by period'].iloc[-1]), 2)}"
                       for n in names)
    return f"Probability of a trigger breach over the life: {breach}." + tail


def _concentration_risk(data: RunRecord) -> str:
    dims = [d for d, _ in _FLAGGED_DIMENSIONS]
    labels = dict(_FLAGGED_DIMENSIONS)
    flags = [f"{labels[c.dimension]} {c.largest_name} {percent_text(c.largest_share, 1)}"
             for c in concentration_by_dimension(data.tape, dims)
             if c.largest_share >= CONCENTRATION_FLAG_SHARE]
    threshold = percent_text(CONCENTRATION_FLAG_SHARE, 0)
    if not flags:
        return (f"Concentration: no state, make or dealer holds {threshold} or more of the "
                "pool balance.")
    return (f"Concentration flags (a group with {threshold} or more of the pool balance, "
            f"Regulation AB Item 1111(b)(14)): {'; '.join(flags)}.")


def _key_figures(data: RunRecord) -> Table:
    pool = data.summary["pool"]
    tape_summary = data.tape.summary()
    rows: list[tuple[str, str, Cell]] = [
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
    events = data.summary.get("events", {})
    for key, label in (("reserve_draw_probability", "Probability of a reserve draw"),
                       ("event_of_default_probability", "Probability of an event of default"),
                       ("clean_up_call_probability", "Probability of the clean-up call")):
        if key in events:
            rows.append((key, label, pct(events[key], 2)))
    return kv_table("key-figures", "Key figures", rows)
