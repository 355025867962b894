"""The surveillance report of a deal at a reporting date (issue 14, item 7): HTML and PDF.

:func:`surveillance_model` turns a :class:`SurveillanceData` (the deal, its status, the closing
run, the projection and the performance to date, all computed already: this module runs
nothing) into a :class:`~reports.model.Report` of six sections; :func:`write_surveillance_report`
writes it through the committee report's renderer chain (:func:`reports.build.write_report`).
Layout and sources: ``docs/surveillance.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

import simulation.estimators as estimators
from reports.build import ReportFiles, write_report
from reports.charts import expected_vs_actual, trigger_headroom_chart
from reports.model import Block, Column, Report, Row, Section, Table, Text, money, num, pct, text
from reports.sections._common import chart, kv_table, timeline
from simulation.deal import Deal
from simulation.lifetime_loss import LifetimeLossEstimate
from simulation.run.results import DealSimulationResult
from simulation.status import DealStatus
from simulation.surveillance import (
    BREACHED_BELOW,
    ClassCoverage,
    TriggerHeadroom,
    class_coverage,
    trigger_headroom,
)

__all__ = ["SURVEILLANCE_HTML", "SURVEILLANCE_PDF", "SurveillanceData", "surveillance_model",
           "write_surveillance_report"]

SURVEILLANCE_HTML = "surveillance.html"
SURVEILLANCE_PDF = "surveillance.pdf"

PERFORMANCE_COLUMNS = ("cnl", "delinquent_60", "delinquent_90", "cpr")
"""Indicator columns (``autoabs performance``) the report needs, decimals by month."""


@dataclass(frozen=True)
class SurveillanceData:
    """Everything the surveillance report shows, computed by the caller.

    Attributes
    ----------
    deal : Deal
        The deal.
    status : DealStatus
        Its state at the reporting date.
    thresholds : numpy.ndarray
        ``(n_triggers, n_periods)`` trigger thresholds by deal period.
    closing : DealSimulationResult
        The run from closing: the closing expectation, CE and rating at closing.
    projection : DealSimulationResult
        The run projecting the deal past the reporting date (may be ``closing``).
    periods_elapsed : int
        Deal periods before the projection's period 1 (0 for a run from closing).
    projection_label : str
        What the projection is, as the report states it.
    performance : pandas.DataFrame or None
        Monthly indicators to date (``autoabs performance``; index month = deal period).
    lifetime : tuple of LifetimeLossEstimate
        Lifetime-CNL estimates from the performance panel (empty without one).
    run_dir : str
        Where the projection's run directory is.
    """

    deal: Deal
    status: DealStatus
    thresholds: np.ndarray
    closing: DealSimulationResult
    projection: DealSimulationResult
    periods_elapsed: int
    projection_label: str
    performance: pd.DataFrame | None
    lifetime: tuple[LifetimeLossEstimate, ...]
    run_dir: str


def _expected(closing: DealSimulationResult) -> pd.DataFrame:
    """Closing expectation by month from the closing run's mean pool flows (decimals).

    ``cnl`` = cumulative (defaulted - recoveries) / initial pool; ``dq60`` = (60-89 + 90+
    days delinquent) / pool balance; ``cpr`` from ``SMM = prepaid / (prior balance -
    scheduled - defaulted)``, the definitions of ``autoabs performance``.
    """
    f = closing.pool.mean_flows
    b0 = closing.pool.initial_balance
    balance = f["ending_balance"].to_numpy(dtype=float)
    prior = np.concatenate([[b0], balance[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        smm = f["prepaid_principal"].to_numpy(dtype=float) / (
            prior - f["scheduled_principal"].to_numpy(dtype=float)
            - f["defaulted_principal"].to_numpy(dtype=float))
        dq = (f["delinquent_60"] + f["delinquent_90p"]).to_numpy(dtype=float) / balance
    return pd.DataFrame({
        "cnl": np.cumsum((f["defaulted_principal"] - f["recoveries"]).to_numpy(dtype=float)) / b0,
        "dq60": np.where(balance > 0, dq, np.nan),
        "cpr": 1.0 - (1.0 - smm) ** 12,
    }, index=f.index)


def _actual(data: SurveillanceData) -> pd.DataFrame:
    """Realised indicators through the reporting month (empty frame without performance)."""
    perf = data.performance
    if perf is None:
        return pd.DataFrame({"cnl": [], "dq60": [], "cpr": []}, dtype=float)
    upto = perf.loc[perf.index <= data.status.period]
    return pd.DataFrame({"cnl": upto["cnl"], "dq60": upto["delinquent_60"] + upto["delinquent_90"],
                         "cpr": upto["cpr"]}, index=upto.index)


def _summary_section(data: SurveillanceData) -> Section:
    s = data.status
    b0 = s.original_pool_balance
    notes = sum(c.balance for c in s.classes.values())
    rows = [
        ("deal", "Deal", text(s.deal)),
        ("reporting_date", "Reporting date (payment period)",
         text(f"{s.reporting_date} (period {s.period}; collection period ended "
              f"{s.collection_period_end})")),
        ("pool", "Pool balance (USD)", money(s.pool_balance)),
        ("pool_factor", "Pool factor (pool / original pool)", pct(s.pool_balance / b0, 2)),
        ("notes", "Notes outstanding (USD)", money(notes)),
        ("reserve", "Reserve account (USD)", money(s.reserve_balance)),
        ("oc", "Overcollateralisation (USD; % of the pool)",
         text(f"${s.oc_amount:,.0f} ({s.oc_amount / max(s.pool_balance, 1e-300):.2%})")),
        ("cnl", "CNL to date (% of the original pool)", pct(s.cumulative_net_loss / b0, 3)),
        ("dq60", "60+ days delinquent (% of the pool)",
         pct((s.delinquent_60 + s.delinquent_90) / max(s.pool_balance, 1e-300), 2)),
        ("sequential", "Principal paid sequentially", text("yes" if s.sequential else "no")),
        ("projection", "Projection", text(data.projection_label)),
    ]
    table = kv_table("headline", "Deal at the reporting date", rows,
                     "Source: the status file (servicer/trustee report of the period).")
    return Section("summary", 0, "Summary at the reporting date", (table,))


def _performance_section(data: SurveillanceData) -> Section:
    expected, actual = _expected(data.closing), _actual(data)
    k = data.status.period
    horizon = expected.index[expected.index <= max(3 * k, 36)]
    view = expected.loc[horizon]
    charts = [
        chart("chart-cnl", "CNL to date against the closing loss-timing curve",
              "Cumulative net loss, % of the original pool, by month since the cut-off: "
              "realised (performance to date) and expected at closing (mean of the closing "
              "run's paths: the expected loss-timing curve times the expected CNL).",
              lambda: expected_vs_actual(view["cnl"], actual["cnl"], title="Cumulative net "
                                         "loss", ylabel="CNL", reporting_month=k)),
        chart("chart-delinquency", "60+ day delinquency",
              "Balance 60 or more days past due, % of the pool balance, by month: realised "
              "and expected at closing (closing run, mean flows).",
              lambda: expected_vs_actual(view["dq60"], actual["dq60"], title="60+ day "
                                         "delinquency", ylabel="60+ delinquent",
                                         reporting_month=k)),
        chart("chart-prepayment", "Prepayment speed (CPR)",
              "Conditional prepayment rate, annual %, by month: CPR = 1 - (1 - SMM)^12, SMM = "
              "prepaid / (prior balance - scheduled principal - charge-offs); realised and "
              "expected at closing.",
              lambda: expected_vs_actual(view["cpr"], actual["cpr"], title="Prepayment speed",
                                         ylabel="CPR", reporting_month=k)),
    ]
    blocks: list[Block] = list(charts)
    rows = []
    for m in timeline(k):
        got = actual.loc[m] if m in actual.index else None
        exp = expected.loc[m]
        rows.append(Row(str(m), (
            num(m, ".0f"),
            pct(None if got is None else got["cnl"], 3), pct(exp["cnl"], 3),
            pct(None if got is None else got["dq60"], 2), pct(exp["dq60"], 2),
            pct(None if got is None else got["cpr"], 2), pct(exp["cpr"], 2))))
    blocks.append(Table(
        "performance", "Performance to date against the closing expectation",
        (Column("month", "Month"), Column("cnl", "CNL realised"),
         Column("cnl_expected", "CNL expected"), Column("dq60", "60+ realised"),
         Column("dq60_expected", "60+ expected"), Column("cpr", "CPR realised"),
         Column("cpr_expected", "CPR expected")),
        tuple(rows),
        "Realised: autoabs performance indicators of the loan-level history (n/a without "
        "one); expected: the closing run's mean pool flows. Percent of the original pool "
        "(CNL) or of the pool balance (60+), CPR annual."))
    if data.performance is None:
        cnl = data.status.cumulative_net_loss / data.status.original_pool_balance
        cnl = data.status.cumulative_net_loss / data.status.original_pool_balance
        blocks.append(Text(("No performance history was given (--panel or --performance): "
                            "the realised lines are missing; the status gives CNL to date "
                            f"{cnl:.3%}.",)))
    return Section("performance", 0, "Performance to date against the closing expectation",
                   tuple(blocks))


def _value_path(data: SurveillanceData, h: TriggerHeadroom, window: int) -> pd.Series:
    """The trigger metric by deal period to the reporting date (the status's value last)."""
    perf, k = data.performance, data.status.period
    path = pd.Series(dtype=float)
    if perf is not None and h.metric == "cnl":
        path = perf["cnl"].loc[perf.index < k]
    elif perf is not None and h.metric == "delinquency_60":
        dq = (perf["delinquent_60"] + perf["delinquent_90"]).rolling(window, min_periods=1)
        path = dq.mean().loc[perf.index < k]
    if h.value is not None:
        path = pd.concat([path, pd.Series([h.value], index=[k])])
    return path.astype(float)


def _trigger_section(data: SurveillanceData, headroom: list[TriggerHeadroom]) -> Section:
    rows = []
    for h in headroom:
        rows.append(Row(h.name, (
            text(h.name), text(h.metric), pct(h.value, 3), pct(h.threshold, 2),
            pct(h.headroom, 3), pct(h.headroom_ratio, 1), text("yes" if h.breached else "no"),
            pct(h.breach_probability, 1),
            text("none projected" if h.median_breach_period is None
                 else f"period {h.median_breach_period}"))))
    table = Table(
        "trigger-headroom", "Trigger headroom and projected breach",
        (Column("trigger", "Trigger", False), Column("metric", "Metric", False),
         Column("value", "Value now"), Column("threshold", "Threshold now"),
         Column("headroom", "Headroom"), Column("headroom_ratio", "Headroom / threshold"),
         Column("breached", "Breached", False),
         Column("probability", "P(first breach, remaining life)"),
         Column("median", "Median month of first breach", False)),
        tuple(rows),
        "Value: the status file's tested metric (decimal shown in %); threshold: the step of "
        "the deal's schedule in force in the reporting period; headroom = threshold - value "
        "(value - threshold for an OC test). Probability and median month: the projection's "
        "paths breaching for the first time after the reporting date (the median among them).")
    blocks: list[Block] = [table]
    n = data.thresholds.shape[1]
    for k, (trig, h) in enumerate(zip(data.deal.triggers, headroom, strict=True)):
        last = int(h.breach_by_period.index.max()) if len(h.breach_by_period) else n
        periods = pd.RangeIndex(1, min(n, last) + 1)
        thresholds = pd.Series(data.thresholds[k, : len(periods)], index=periods)
        values = _value_path(data, h, trig.window)
        blocks.append(chart(
            f"chart-headroom-{h.name}", f"Trigger {h.name}: headroom",
            f"{h.metric} by deal period: value to the reporting date (performance history and "
            "the status), threshold schedule (% , left axis) and the projected probability of "
            "a first breach by each later period (right axis).",
            lambda t=thresholds, v=values, hh=h: trigger_headroom_chart(  # type: ignore[misc]
                hh.name, t, v, hh.breach_by_period, breached_below=hh.metric in BREACHED_BELOW)))
    if not headroom:
        blocks = [Text(("The deal has no performance triggers.",))]
    return Section("triggers", 0, "Triggers: headroom and projected breach", tuple(blocks))


def _coverage_section(coverage: list[ClassCoverage], data: SurveillanceData) -> Section:
    rows = []
    for c in coverage:
        rows.append(Row(c.name, (
            text(c.name), money(c.balance), pct(c.hard_ce_now, 2), pct(c.hard_ce_closing, 2),
            pct(c.remaining_cnl, 3), money(c.remaining_net_loss),
            num(c.coverage_multiple, ".2f", "x") if np.isfinite(c.coverage_multiple)
            else text("no loss expected"),
            text(c.rating_now), text(c.rating_closing))))
    table = Table(
        "coverage", "Credit enhancement coverage by class",
        (Column("class", "Class", False), Column("balance", "Balance now (USD)"),
         Column("ce_now", "Hard CE now"), Column("ce_closing", "Hard CE at closing"),
         Column("remaining_cnl", "Remaining expected CNL"),
         Column("remaining_loss", "Remaining expected net loss (USD)"),
         Column("coverage", "Coverage multiple"), Column("rating_now", "Implied rating now",
                                                         False),
         Column("rating_closing", "Implied rating at closing", False)),
        tuple(rows),
        "Hard CE = (junior classes + OC + reserve) / pool balance, from the status (now) and "
        "the deal at closing; remaining expected CNL: mean net loss of the projection after "
        "the reporting date over the original pool; coverage multiple = hard CE x pool "
        "balance / remaining expected net loss; implied ratings from (EL, WAL) of the "
        f"projection and of the closing run through the {data.projection.el_table.source}.")
    return Section("coverage", 0, "Coverage: enhancement against the remaining loss", (table,))


def _lifetime_section(data: SurveillanceData) -> Section:
    s = data.status
    to_date = s.cumulative_net_loss / s.original_pool_balance
    pool = data.projection.pool
    cnl, w = pool.cnl, pool.weights
    mean = estimators.mean(cnl, w).value
    p5, p95 = estimators.quantile(cnl, np.array([0.05, 0.95]), w)
    rows = [Row("projection", (text("deal projection (engine paths)"), pct(to_date, 3),
                               pct(float(mean), 3), pct(float(p5), 3), pct(float(p95), 3),
                               text("mean; P5-P95 of the paths' lifetime CNL")))]
    for e in data.lifetime:
        basis = ("front- / back-loaded timing curve" if e.method == "timing"
                 else "P5-P95 of the Monte Carlo paths")
        rows.append(Row(e.method, (text(e.method.replace("_", " ")), pct(e.cnl_to_date, 3),
                                   pct(e.cnl, 3), pct(e.low, 3), pct(e.high, 3), text(basis))))
    table = Table(
        "lifetime-cnl", "Lifetime CNL: projection and range",
        (Column("method", "Method", False), Column("to_date", "CNL to date"),
         Column("projected", "Projected lifetime CNL"), Column("low", "Low"),
         Column("high", "High"), Column("range", "Range", False)),
        tuple(rows),
        "% of the original pool. Deal projection: the run of the deal's collateral model; "
        "timing and Monte Carlo: autoabs lifetime-loss on the performance panel as of the "
        "reporting month (docs/surveillance.md, lifetime CNL). CNL to date of the deal "
        "projection row is the status's.")
    blocks: list[Block] = [table]
    if not data.lifetime:
        blocks.append(Text(("The two lifetime-loss methods need a loan-level panel (--panel); "
                            "only the deal projection is shown.",)))
    return Section("lifetime", 0, "Lifetime CNL", tuple(blocks))


def _projection_section(data: SurveillanceData, pdf_renderer: str) -> Section:
    summary = data.projection.class_summary()
    rows = []
    for name, r in summary.iterrows():
        rows.append(Row(str(name), (text(name), pct(r["el"], 4), pct(r["pd"], 3),
                                    num(r["wal"], ".2f"), text(r["implied_rating"]))))
    table = Table(
        "projection", "Projected class performance",
        (Column("class", "Class", False), Column("el", "Expected loss"),
         Column("pd", "Probability of loss"), Column("wal", "WAL (years)"),
         Column("rating", "Implied rating", False)),
        tuple(rows),
        "EL: mean principal loss / original class balance; PD: share of paths with a loss; "
        "WAL in years of 365 days; over the projection's paths.")
    prov = data.projection.provenance
    notes = Text((
        f"Projection: {data.projection_label}; {prov.get('n_paths', 'n/a'):,} paths, seed "
        f"{prov.get('seed', 'n/a')}, scenario {prov.get('scenario', 'n/a')}; run directory "
        f"{data.run_dir} (manifest.json, ledger entry; autoabs verify checks it).",
        "Sources: status file (deal state), deal file (thresholds, structure), the run "
        "(expectation, projection, ratings), the performance history (realised indicators).",
        f"PDF renderer: {pdf_renderer}.",
    ))
    return Section("projection", 0, "Projection and sources", (table, notes))


def surveillance_model(data: SurveillanceData, *, pdf_renderer: str = "not rendered") -> Report:
    """The surveillance report model: six numbered sections."""
    headroom = trigger_headroom(data.deal, data.status, data.thresholds, data.projection,
                                periods_elapsed=data.periods_elapsed)
    coverage = class_coverage(data.deal, data.status, data.projection, data.closing,
                              periods_elapsed=data.periods_elapsed)
    built = (
        _summary_section(data),
        _performance_section(data),
        _trigger_section(data, headroom),
        _coverage_section(coverage, data),
        _lifetime_section(data),
        _projection_section(data, pdf_renderer),
    )
    sections = tuple(replace(s, number=n) for n, s in enumerate(built, start=1))
    s = data.status
    subtitle = (f"Surveillance report - period {s.period}, reporting date {s.reporting_date}")
    return Report(data.deal.name, subtitle, sections, pdf_renderer,
                  document="surveillance report",
                  source="the status file, the performance history and the runs")


def write_surveillance_report(data: SurveillanceData, out_dir: str | Path, *,
                              renderer: str | None = None) -> ReportFiles:
    """Write ``surveillance.html`` and ``surveillance.pdf`` into ``out_dir``."""
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    return write_report(lambda label: surveillance_model(data, pdf_renderer=label),
                        root / SURVEILLANCE_HTML, root / SURVEILLANCE_PDF, renderer=renderer)
