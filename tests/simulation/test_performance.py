"""Monthly performance indicators against a hand computation on the raw Ally panels.

The reference reads the CSV with pandas and walks each loan's months in plain Python with the
definitions of ``docs/surveillance.md``; it shares no code with ``simulation.performance`` or
the panel reader.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autoabs.cli import main
from portfolio.panel import read_long_panel, read_panel
from simulation.performance import (
    INDICATOR_COLUMNS,
    LoanActivity,
    panel_activity,
    performance_indicators,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "performance"
PANELS = ("aart2171_2017.csv", "aart1342new_2017.csv")
CHECKED_MONTHS = (6, 18, 30)
TOL = 0.005


def _hand_indicators(path: Path, months: tuple[int, ...]) -> dict[int, dict[str, float]]:
    raw = pd.read_csv(path, low_memory=False)
    n = max(int(c[3:]) for c in raw.columns if c.startswith("BAL") and c[3:].isdigit())
    raw = raw[raw["reportingPeriodActualEndBalanceAmount"] > TOL]
    b0 = raw["reportingPeriodActualEndBalanceAmount"].sum()
    keys = ("prior", "due", "prepaid", "gross", "rec", "end", "age_w", "dq1", "dq2", "dq3")
    sums = {k: np.zeros(n + 1) for k in keys}
    for _, loan in raw.iterrows():
        r = loan["originalInterestRatePercentage"] / 12
        pay = loan["reportingPeriodScheduledPaymentAmount"]
        age0 = loan["originalLoanTerm"] - loan["remainingTermtoMaturityNumber"]
        prior = loan["reportingPeriodActualEndBalanceAmount"]
        arrears, missed_run, gone = 0.0, 0, False
        # Dropped by the file before month n with a balance, after recoveries: written off in
        # its last reported month.
        reported = [k for k in range(1, n + 1) if not pd.isna(loan[f"BAL{k}"])]
        recovered = sum(0.0 if pd.isna(loan[f"{col}{k}"]) else loan[f"{col}{k}"]
                        for col in ("REC", "REP") for k in range(1, n + 1))
        last = reported[-1] if reported else 0
        dropped = 0 < last < n and loan[f"BAL{last}"] > TOL and recovered > 0
        for k in range(1, n + 1):
            for col in ("REC", "REP"):
                value = loan[f"{col}{k}"]
                sums["rec"][k] += 0.0 if pd.isna(value) else value
            bal = loan[f"BAL{k}"]
            if gone or pd.isna(bal):
                continue
            principal = 0.0 if pd.isna(loan[f"PRC{k}"]) else loan[f"PRC{k}"]
            paid = 0.0 if pd.isna(loan[f"PMT{k}"]) else loan[f"PMT{k}"]
            sums["prior"][k] += prior
            sums["age_w"][k] += prior * (age0 + k)
            due = min(prior, max(pay - prior * r, 0.0))
            if (bal <= TOL and principal < 0.5 * prior) or (dropped and k == last):
                # balance removed unpaid, or the loan dropped after recoveries: charge-off
                sums["gross"][k] += prior - principal
                gone = True
                continue
            sums["due"][k] += due
            sums["prepaid"][k] += max(principal - due - arrears, 0.0)
            arrears = max(arrears + due - principal, 0.0)
            ending = max(bal, 0.0) if bal > TOL else 0.0
            sums["end"][k] += ending
            missed_run = missed_run + 1 if (ending > TOL and paid < 0.5 * pay) else 0
            if missed_run:
                sums[f"dq{min(missed_run, 3)}"][k] += ending
            prior = ending
            gone = ending == 0.0
    out = {}
    for m in months:
        smm = sums["prepaid"][m] / (sums["prior"][m] - sums["due"][m] - sums["gross"][m])
        mdr = sums["gross"][m] / (sums["prior"][m] - sums["due"][m])
        age = sums["age_w"][m] / sums["prior"][m]
        net = sums["gross"][1:m + 1] - sums["rec"][1:m + 1]
        out[m] = {
            "pool_factor": sums["end"][m] / b0,
            "smm": smm,
            "cpr": 1 - (1 - smm) ** 12,
            "abs_speed": smm / (1 + smm * (age - 1)),
            "gross_loss": sums["gross"][m],
            "recoveries": sums["rec"][m],
            "cnl": net.sum() / b0,
            "cumulative_gross_loss": sums["gross"][1:m + 1].sum() / b0,
            "mdr": mdr,
            "cdr": 1 - (1 - mdr) ** 12,
            "severity": net.sum() / sums["gross"][1:m + 1].sum(),
            "annualised_net_loss": 12 * net[-1] / ((sums["prior"][m] + sums["end"][m]) / 2),
            "delinquent_30": sums["dq1"][m] / sums["end"][m],
            "delinquent_60": sums["dq2"][m] / sums["end"][m],
            "delinquent_90": sums["dq3"][m] / sums["end"][m],
        }
    return out


@pytest.mark.parametrize("name", PANELS)
def test_indicators_match_a_hand_computation_on_the_ally_panels(name):
    path = DATA / name
    if not path.is_file():
        pytest.skip(f"shared Ally panel {path} not present (../shared/data is not in the repo)")
    table = performance_indicators(panel_activity(read_panel(path)))
    assert list(table.columns) == list(INDICATOR_COLUMNS) and len(table) == 43
    want = _hand_indicators(path, CHECKED_MONTHS)
    for month, values in want.items():
        for column, value in values.items():
            got = table.loc[month, column]
            assert math.isclose(got, value, rel_tol=1e-9, abs_tol=1e-12), (month, column, got,
                                                                           value)
    # The checks have something to check: losses, recoveries and every bucket occur.
    assert table.loc[30, "cnl"] > 0 and table["gross_loss"].sum() > 0
    assert (table.loc[list(CHECKED_MONTHS), ["delinquent_30", "delinquent_60",
                                             "delinquent_90"]] > 0).all().all()


def _activity(**over: np.ndarray) -> LoanActivity:
    base = dict(prior_balance=np.array([[1000.0, 600.0]]), ending_balance=np.array([[600.0, 0.0]]),
                scheduled_due=np.array([[100.0, 0.0]]), regular_principal=np.array([[100.0, 0.0]]),
                prepaid_principal=np.array([[300.0, 0.0]]), charged_off=np.array([[0.0, 600.0]]),
                recoveries=np.array([[0.0, 240.0]]), delinquency_bucket=np.zeros((1, 2), np.int8),
                age=np.array([[5, 6]]), extended=None, cutoff_balance=1000.0)
    return LoanActivity(**{**base, **over})


def test_formulas_on_a_one_loan_pool():
    t = performance_indicators(_activity())
    assert t.loc[1, "smm"] == pytest.approx(300 / 900)
    assert t.loc[1, "abs_speed"] == pytest.approx((1 / 3) / (1 + (1 / 3) * 4))
    assert t.loc[2, "mdr"] == pytest.approx(1.0) and t.loc[2, "cdr"] == pytest.approx(1.0)
    assert t.loc[2, "cnl"] == pytest.approx(0.36) and t.loc[2, "severity"] == pytest.approx(0.6)
    assert t.loc[2, "recovery_rate"] == pytest.approx(0.4)
    assert t.loc[2, "annualised_net_loss"] == pytest.approx(12 * 360 / 300)
    assert "extended" not in t
    ext = performance_indicators(_activity(extended=np.array([[True, False]])))
    assert ext.loc[1, "extended"] == 1 and ext.loc[1, "extended_ratio"] == pytest.approx(1.0)


def test_cli_performance_writes_the_indicators(tmp_path, capsys):
    rows = [{"loan_id": "A", "period": k + 1, "balance": b, "principal_paid": p,
             "total_paid": t, "rate": 0.12, "original_term": 12, "age": k + 1,
             "scheduled_payment": 100.0} for k, (b, p, t) in
            enumerate([(910.0, 90.0, 100.0), (910.0, 0.0, 0.0), (0.0, 0.0, 0.0)])]
    rows += [{"loan_id": "B", "period": k + 1, "balance": b, "principal_paid": p,
              "total_paid": t, "rate": 0.12, "original_term": 12, "age": k + 1,
              "scheduled_payment": 100.0} for k, (b, p, t) in
             enumerate([(910.0, 90.0, 100.0), (0.0, 910.0, 919.1)])]
    panel_csv = tmp_path / "long.csv"
    pd.DataFrame(rows).to_csv(panel_csv, index=False)
    out = tmp_path / "perf.csv"
    assert main(["performance", str(panel_csv), "--csv", str(out),
                 "--xlsx", str(tmp_path / "perf.xlsx")]) == 0
    table = pd.read_csv(out, index_col="month")
    direct = performance_indicators(panel_activity(read_long_panel(panel_csv)))
    pd.testing.assert_frame_equal(table, direct, check_dtype=False, check_index_type=False)
    assert table.loc[3, "gross_loss"] == pytest.approx(910.0)  # A: balance removed unpaid
    assert table.loc[2, "delinquent_30"] == pytest.approx(1.0)  # A: one missed payment
    assert table.loc[2, "smm"] == pytest.approx((910 - 90.9) / (910 + 910 - 90.9 - 90.9))
    assert (tmp_path / "perf.xlsx").is_file()
    bad = tmp_path / "bad.csv"
    bad.write_text("loan_id,period\nA,1\n", encoding="utf-8")
    assert main(["performance", str(bad), "--csv", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err and "required column missing" in err and "Traceback" not in err


NS = "http://www.sec.gov/edgar/document/absee/autoloan/assetdata"


def _ex102(path: Path, period_end: str, records: list[dict[str, object]]) -> Path:
    body = "".join("<assets>" + "".join(f"<{k}>{v}</{k}>" for k, v in rec.items()) + "</assets>"
                   for rec in records)
    path.write_text(f'<?xml version="1.0" encoding="utf-8"?><assetData xmlns="{NS}">{body}'
                    "</assetData>", encoding="utf-8")
    return path


def _rec(asset, period_end, begin, end, sched, collected, *, co=0.0, rec=0.0, dpd=0,
         ext=0, rem=20):
    return {"assetNumber": asset, "reportingPeriodEndingDate": period_end,
            "originalLoanTerm": 36, "remainingTermToMaturityNumber": rem,
            "reportingPeriodBeginningLoanBalanceAmount": begin,
            "reportingPeriodActualEndBalanceAmount": end, "scheduledPrincipalAmount": sched,
            "actualPrincipalCollectedAmount": collected, "chargedoffPrincipalAmount": co,
            "recoveredAmount": rec, "currentDelinquencyStatus": dpd,
            "paymentExtendedNumber": ext}


@pytest.fixture()
def ex102_dir(tmp_path):
    d = tmp_path / "ex102"
    d.mkdir()
    # Files named out of order on purpose: the reader orders them by reporting period.
    _ex102(d / "c.xml", "05-31-2026", [
        _rec("A", "05-31-2026", 1000, 900, 100, 100, rem=20),
        _rec("B", "05-31-2026", 2000, 1500, 100, 500, rem=24)])
    _ex102(d / "a.xml", "06-30-2026", [
        _rec("A", "06-30-2026", 900, 900, 100, 0, dpd=35, ext=1, rem=19),
        _rec("B", "06-30-2026", 1500, 1400, 100, 100, rem=23)])
    _ex102(d / "b.xml", "07-31-2026", [
        _rec("A", "07-31-2026", 900, 0, 100, 0, co=900, dpd=65, rem=18),
        _rec("B", "07-31-2026", 1400, 1300, 100, 100, rec=0, rem=22)])
    _ex102(d / "d.xml", "08-31-2026", [
        _rec("B", "08-31-2026", 1300, 1200, 100, 100, rem=21),
        _rec("A", "08-31-2026", 0, 0, 0, 0, rec=360, rem=17)])
    return d


def test_ex102_history_indicators_by_hand(ex102_dir, tmp_path):
    out = tmp_path / "perf.csv"
    assert main(["performance", str(ex102_dir), "--csv", str(out)]) == 0
    t = pd.read_csv(out, index_col="month")
    assert len(t) == 4
    assert t.loc[1, "pool_factor"] == pytest.approx(2400 / 3000)
    assert t.loc[1, "smm"] == pytest.approx(400 / (3000 - 200))  # B prepays 400 over schedule
    assert t.loc[1, "abs_speed"] == pytest.approx(
        (400 / 2800) / (1 + (400 / 2800) * ((1000 * 16 + 2000 * 12) / 3000 - 1)))
    assert t.loc[2, "delinquent_30"] == pytest.approx(900 / 2300)
    assert t.loc[2, "extended"] == 1 and t.loc[2, "extended_ratio"] == pytest.approx(900 / 2300)
    assert t.loc[3, "gross_loss"] == 900 and t.loc[3, "mdr"] == pytest.approx(900 / (2300 - 100))
    assert t.loc[3, "delinquent_60"] == 0  # A left the pool: no balance to be delinquent
    assert t.loc[4, "recoveries"] == 360
    assert t.loc[4, "cnl"] == pytest.approx((900 - 360) / 3000)
    assert t.loc[4, "severity"] == pytest.approx(0.6)
    assert t.loc[4, "annualised_net_loss"] == pytest.approx(12 * -360 / ((1300 + 1200) / 2))


def test_ex102_history_errors_name_file_record_and_element(ex102_dir, capsys):
    _ex102(ex102_dir / "e.xml", "08-31-2026", [_rec("B", "08-31-2026", 1, 1, 0, 0)])
    assert main(["performance", str(ex102_dir)]) == 2
    assert "reporting period 2026-08 is also the period of" in capsys.readouterr().err
    (ex102_dir / "e.xml").unlink()
    _ex102(ex102_dir / "f.xml", "10-31-2026", [_rec("B", "10-31-2026", 1, 1, 0, 0)])
    assert main(["performance", str(ex102_dir)]) == 2
    assert "a month is missing" in capsys.readouterr().err
    (ex102_dir / "f.xml").unlink()
    bad = _rec("B", "09-30-2026", 1, 1, 0, 0)
    bad["actualPrincipalCollectedAmount"] = "ten"
    _ex102(ex102_dir / "g.xml", "09-30-2026", [_rec("A", "09-30-2026", 0, 0, 0, 0), bad])
    assert main(["performance", str(ex102_dir)]) == 2
    err = capsys.readouterr().err
    assert "g.xml" in err and "row 2" in err and "actualPrincipalCollectedAmount" in err
    assert "expected a number, got 'ten'" in err and "Traceback" not in err
