"""The assumptions and dates a report states, read from the run's ``manifest.json``.

The manifest's ``config`` holds the canonical deal (``config.deal``), the assumptions file
(``config.assumptions``, :class:`portfolio` model schema) and the scenario; ``started`` is the
run date. A figure the manifest does not give is shown as ``not given``, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from portfolio._format import number_text, percent_text
from reports.model import Cell, text
from simulation.run.directory import RunRecord

__all__ = ["NOT_GIVEN", "assumption_rows", "deal_config", "run_dates", "scenario_name"]

NOT_GIVEN = "not given"

_CUTOFF_KEYS = ("cutoff_date", "cut_off_date", "statistical_cutoff_date")
_LOSS_TIMING_MONTHS = (12, 24, 36)


def _get(mapping: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(mapping, Mapping):
            return None
        mapping = mapping.get(key)
    return mapping


def deal_config(manifest: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The canonical deal of the run (``manifest.config.deal``), or None."""
    deal = _get(manifest, "config", "deal")
    return deal if isinstance(deal, Mapping) else None


def run_dates(manifest: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """(label, date) of the cut-off, closing, first payment and run; ``not given`` if absent."""
    deal = deal_config(manifest) or {}
    cutoff = next((deal[k] for k in _CUTOFF_KEYS if deal.get(k)), None)
    started = _get(manifest, "started")
    return [
        ("cut-off", str(cutoff or NOT_GIVEN)),
        ("closing", str(deal.get("closing_date") or NOT_GIVEN)),
        ("first payment", str(deal.get("first_payment_date") or NOT_GIVEN)),
        ("run", str(started)[:10] if started else NOT_GIVEN),
    ]


def scenario_name(data: RunRecord) -> str:
    """The scenario of the run: the manifest's, else the summary's provenance."""
    name = (_get(data.manifest, "config", "scenario", "name")
            or _get(data.manifest, "inputs", "scenario", "source")
            or data.summary.get("provenance", {}).get("scenario"))
    return str(name) if name else "flat macro at the cut-off levels (no scenario)"


def _loss_timing(default: Mapping[str, Any]) -> str:
    timing = default.get("loss_timing")
    if default.get("hazard_curves"):
        return "hazard curves of the assumptions file"
    if not isinstance(timing, Mapping):
        return NOT_GIVEN
    ages: Sequence[float] = timing.get("ages") or ()
    cumulative: Sequence[float] = timing.get("cumulative") or ()
    points = dict(zip(ages, cumulative, strict=False))
    shown = [f"{percent_text(points[m], 0)} by month {m}" for m in _LOSS_TIMING_MONTHS
             if m in points]
    return ", ".join(shown) or ", ".join(
        f"{percent_text(c, 0)} by month {a:g}" for a, c in points.items())


def _prepayment(prepayment: Mapping[str, Any]) -> str:
    if prepayment.get("abs_speed") is not None:
        return f"{percent_text(prepayment['abs_speed'], 2)} ABS"
    if prepayment.get("cpr") is not None:
        return f"{percent_text(prepayment['cpr'], 1)} CPR"
    if prepayment.get("smm_curve"):
        return "SMM curve of the assumptions file"
    return NOT_GIVEN


def _recovery(recovery: Mapping[str, Any]) -> str:
    if recovery.get("method") == "vehicle":
        dep = recovery.get("depreciation") or {}
        return (f"vehicle value: repossession {percent_text(recovery.get('repossession_rate'), 0)}"
                f", wholesale {percent_text(recovery.get('wholesale_ratio'), 0)} of a value "
                f"depreciating {percent_text(dep.get('first_year'), 0)} in year one and "
                f"{percent_text(dep.get('annual'), 0)} a year after, liquidation cost "
                f"{percent_text(recovery.get('liquidation_cost'), 0)}")
    if recovery.get("severity") is not None:
        return f"loss severity {percent_text(recovery['severity'], 0)}"
    return NOT_GIVEN


def _fees(fees: Sequence[Mapping[str, Any]] | None) -> str:
    parts = []
    for fee in fees or ():
        if fee.get("rate") is not None:
            parts.append(f"{fee['name']} {percent_text(fee['rate'], 2)} a year")
        if fee.get("usd_per_month") is not None:
            parts.append(f"{fee['name']} ${number_text(fee['usd_per_month'], ',.0f')} a month")
    return "; ".join(parts) or "none"


def assumption_rows(manifest: Mapping[str, Any] | None,
                    scenario: str) -> list[tuple[str, str, Cell]]:
    """(key, label, cell) rows of the assumptions table: CNL, timing, speeds, recovery, fees."""
    model = _get(manifest, "config", "assumptions") or {}
    default = model.get("default") or {}
    factor = model.get("factor") or {}
    recovery = model.get("recovery") or {}
    deal = deal_config(manifest) or {}
    cnl = default.get("expected_cnl")
    sd = factor.get("cnl_sd")
    lag = recovery.get("lag_months")
    macro = model.get("macro") or {}
    return [
        ("expected_cnl", "Expected CNL (assumption)",
         text(percent_text(cnl, 2) if cnl is not None else NOT_GIVEN)),
        ("cnl_sd", "CNL standard deviation (assumption)",
         text(percent_text(sd, 2) if sd is not None else
              f"from the factor ({factor.get('type', NOT_GIVEN)})")),
        ("loss_timing", "Loss timing (cumulative share of losses)", text(_loss_timing(default))),
        ("prepayment", "Prepayment speed", text(_prepayment(model.get("prepayment") or {}))),
        ("recovery", "Recovery", text(_recovery(recovery))),
        ("recovery_lag", "Recovery lag",
         text(f"{lag} months" if lag is not None else NOT_GIVEN)),
        ("fees", "Fees", text(_fees(deal.get("fees")))),
        ("macro", "Macro at cut-off",
         text(f"unemployment {percent_text(macro['unemployment'], 1)}, market rate "
              f"{percent_text(macro['market_rate'], 2)}"
              if {"unemployment", "market_rate"} <= macro.keys() else NOT_GIVEN)),
        ("scenario", "Scenario", text(scenario)),
    ]
