"""Section 9, methodology: formulas and sources, the run's assumptions, manifest and files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portfolio._format import percent_text
from reports.model import Column, Row, Section, Table, Text, num, text
from reports.sections._common import kv_table
from reports.sections.manifest import manifest_tables
from simulation.run.directory import MANIFEST, OPTIONAL_FILES, SUMMARY, RunRecord

__all__ = ["METHODOLOGY", "methodology_section"]

METHODOLOGY: tuple[tuple[str, str, str], ...] = (
    ("CNL", "cumulative (charged-off principal - recoveries) / initial pool balance",
     "docs/metrics.md; DESIGN conventions"),
    ("EL, PD, LGD", "EL = E[w L]; PD = E[w 1{L > 10^-10}]; LGD = EL / PD (ratio estimator)",
     "docs/metrics.md"),
    ("WAL", "sum t P_t / sum P_t / 12 (years), paths with principal paid",
     "Fabozzi; docs/metrics.md"),
    ("Yield, DIRR", "IRR at par, 12 x monthly rate; DIRR = promised - realised yield (bp)",
     "Moody's; docs/metrics.md"),
    ("Implied rating", "best rating whose idealized EL at the class WAL >= class EL",
     "Moody's idealized EL table (built-in: approximate); docs/metrics.md"),
    ("VaR, ES", "VaR_a = inf{x: F_w(x) >= a}; ES_a = (E[L 1{L > VaR}] + VaR (1 - a - "
     "P(L > VaR))) / (1 - a)", "Acerbi and Tasche (2002)"),
    ("Vasicek large pool", "P(DR <= x) = Phi((sqrt(1 - rho) Phi^-1(x) - Phi^-1(PD)) / "
     "sqrt(rho))", "Vasicek (2002), Risk 15(12)"),
    ("Basel other-retail R", "R = 0.03 w + 0.16 (1 - w), w = (1 - e^(-35 PD)) / (1 - e^(-35))",
     "BCBS Basel II para. 330; CRE31.15"),
    ("Basel capital K", "K = LGD [Phi((Phi^-1(PD) + sqrt(R) Phi^-1(0.999)) / sqrt(1 - R)) - PD]",
     "BCBS Basel II para. 328; CRE31.14"),
    ("HHI, effective number", "HHI = sum s_i^2 (balance shares); N_eff = 1 / HHI",
     "Herfindahl (1950); docs/strats.md"),
    ("Diversity score", "D = PD (1 - PD) / Var(DR)",
     "Cifuentes and O'Connor (1996), Moody's binomial expansion"),
    ("Collateral model", "loan-level hazards x systematic factor, competing-risk event times",
     "docs/calibration.md, docs/scenarios.md, docs/waterfall.md"),
)
"""The measures of the report: name, formula and source."""


def _sampling_text(prov: Mapping[str, Any]) -> str:
    """How the run drew its factor: plain, importance mixture (and on what), stratified."""
    vr = prov.get("variance_reduction") or {}
    if not vr:
        return "n/a"
    parts = [str(vr.get("importance", "n/a"))]
    if vr.get("stratified"):
        parts.append(f"stratified in blocks of {vr.get('strata')}")
    if vr.get("antithetic"):
        parts.append("antithetic pairs")
    if vr.get("applied_to"):
        parts.append(f"applied to {vr['applied_to']}")
    return "; ".join(parts)


def methodology_section(data: RunRecord, pdf_renderer: str) -> Section:
    """Section 9: formulas with sources, the run's assumptions, manifest and files read."""
    formulas = Table(
        "methodology", "Formulas and sources",
        (Column("measure", "Measure", False), Column("formula", "Formula", False),
         Column("source", "Source", False)),
        tuple(Row(m, (text(m), text(f), text(s))) for m, f, s in METHODOLOGY),
    )
    prov = data.summary.get("provenance", {})
    assumptions = kv_table("assumptions", "Simulation settings of the run", [
        ("el_table", "Idealized EL table", text(data.summary.get("el_table", "n/a"))),
        ("scenario", "Scenario", text(prov.get("scenario") or "base (no scenario file)")),
        ("stochastic", "Stochastic scenario paths", text(prov.get("stochastic"))),
        ("factor", "Systematic factor", text(_factor_text(prov.get("factor")))),
        ("sampling", "Sampling of the factor", text(_sampling_text(prov))),
        ("effective_sample_size", "Effective sample size (paths)",
         num(prov.get("effective_sample_size"), ",.0f")),
        ("n_periods", "Months simulated", num(prov.get("n_periods"), ",.0f")),
    ])
    manifest = (manifest_tables(data.manifest, MANIFEST) if data.manifest is not None
                else manifest_tables(prov, f"{SUMMARY} provenance, no {MANIFEST}"))
    hashes = data.file_hashes()
    files = Table(
        "report-inputs", "Files read by this report (SHA-256)",
        (Column("file", "File", False), Column("sha256", "SHA-256", False)),
        tuple(Row(n, (text(n), text(h))) for n, h in hashes.items()),
        "Absent optional files: " + (", ".join(f for f in OPTIONAL_FILES
                                                if f not in data.locations) or "none") + ".",
    )
    note = Text((f"PDF renderer: {pdf_renderer}.",
                 "The report reads the run directory only; it never runs a simulation. "
                 "Display values are rounded; each table cell carries its full-precision value "
                 "in the HTML (data-value)."))
    return Section("methodology", 9, "Methodology, assumptions and run manifest",
                   (formulas, assumptions, *manifest, files, note))


def _factor_text(factor: Any) -> str:
    if not isinstance(factor, Mapping):
        return "n/a"
    kind = factor.get("kind", "n/a")
    if kind == "lognormal":
        return f"lognormal pool-loss multiplier, sigma = {factor.get('sigma', float('nan')):.4f}"
    if kind == "vasicek":
        return (f"Gaussian one-factor (Vasicek), rho = {factor.get('rho', float('nan')):.4f}, "
                f"horizon PD = {percent_text(factor.get('pd_horizon'), 4)}")
    return str(kind)
