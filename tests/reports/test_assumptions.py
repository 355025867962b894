"""The assumptions and dates of the report, read from a hand-made manifest."""

from __future__ import annotations

import pandas as pd

from reports.assumptions import NOT_GIVEN, assumption_rows, run_dates
from reports.sections.cashflows import prospectus_paydown
from reports.sections.manifest import manifest_tables

MANIFEST = {
    "started": "2026-12-02T19:40:00Z",
    "seed": 7,
    "config": {
        "deal": {"closing_date": "2023-07-26", "first_payment_date": None,
                 "fees": [{"name": "servicing", "rate": 0.01, "usd_per_month": None},
                          {"name": "trustee", "rate": None, "usd_per_month": 2500.0}],
                 "notes": [{"name": "A", "coupon": 0.05}, {"name": "B", "coupon": 0.06}]},
        "assumptions": {
            "default": {"expected_cnl": 0.024, "hazard_curves": None,
                        "loss_timing": {"ages": [6, 12, 24, 36],
                                        "cumulative": [0.05, 0.2, 0.55, 0.8]}},
            "factor": {"cnl_sd": 0.01, "type": "lognormal"},
            "prepayment": {"abs_speed": 0.013},
            "recovery": {"method": "severity", "severity": 0.5, "lag_months": 3},
            "macro": {"unemployment": 0.042, "market_rate": 0.075},
        },
    },
}


def test_dates_come_from_the_deal_and_say_not_given_when_absent() -> None:
    assert run_dates(MANIFEST) == [("cut-off", NOT_GIVEN), ("closing", "2023-07-26"),
                                   ("first payment", NOT_GIVEN), ("run", "2026-12-02")]
    assert run_dates(None) == [(label, NOT_GIVEN) for label in
                               ("cut-off", "closing", "first payment", "run")]
    with_cutoff = {**MANIFEST, "config": {**MANIFEST["config"], "deal": {
        **MANIFEST["config"]["deal"], "cutoff_date": "2023-06-30"}}}
    assert run_dates(with_cutoff)[0] == ("cut-off", "2023-06-30")


def test_assumption_rows_state_the_manifest_figures() -> None:
    rows = {key: cell.text for key, _, cell in assumption_rows(MANIFEST, "baseline")}
    assert rows["expected_cnl"] == "2.40%" and rows["cnl_sd"] == "1.00%"
    assert rows["loss_timing"] == "20% by month 12, 55% by month 24, 80% by month 36"
    assert rows["prepayment"] == "1.30% ABS"
    assert rows["recovery"] == "loss severity 50%" and rows["recovery_lag"] == "3 months"
    assert rows["fees"] == "servicing 1.00% a year; trustee $2,500 a month"
    assert rows["macro"] == "unemployment 4.2%, market rate 7.50%"
    assert rows["scenario"] == "baseline"
    empty = {key: cell.text for key, _, cell in assumption_rows(None, "x")}
    assert empty["expected_cnl"] == NOT_GIVEN and empty["prepayment"] == NOT_GIVEN


def test_manifest_tables_group_and_tabulate_records_without_reprs() -> None:
    tables = {t.id: t for t in manifest_tables(MANIFEST, "manifest.json")}
    assert {"manifest", "manifest-config", "manifest-config-deal-notes",
            "manifest-config-deal-fees"} <= set(tables)
    notes = tables["manifest-config-deal-notes"]
    assert [c.key for c in notes.columns] == ["name", "coupon"]
    assert [r.cells[1].value for r in notes.rows] == [0.05, 0.06]
    for table in tables.values():
        for row in table.rows:
            for cell in row.cells:
                assert "{" not in cell.text and "'" not in cell.text, (table.id, cell.text)
    keys = {r.key for r in tables["manifest-config"].rows}
    assert "config.assumptions.default.loss_timing.ages" in keys


def test_prospectus_paydown_shows_abs_in_percent_wal_two_places_and_windows() -> None:
    paydown = pd.DataFrame([
        {"class": "A", "abs_speed": 0.013, "wal_years": 1.23456, "first_principal_period": 1,
         "last_principal_period": 20, "first_principal_date": "2023-08-15",
         "last_principal_date": "2025-03-17"},
        {"class": "B", "abs_speed": 0.013, "wal_years": 3.0, "first_principal_period": 20,
         "last_principal_period": 34, "first_principal_date": "", "last_principal_date": ""},
    ])
    table = prospectus_paydown(paydown)
    assert [c.label for c in table.columns] == ["Class", "WAL (years) at 1.30% ABS",
                                                "Principal window at 1.30% ABS"]
    assert [c.text for c in table.rows[0].cells] == ["A", "1.23",
                                                     "months 1-20 (2023-08 to 2025-03)"]
    assert table.rows[0].cells[1].value == 1.23456
    assert [c.text for c in table.rows[1].cells] == ["B", "3.00", "months 20-34"]
