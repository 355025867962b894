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
            if bal <= TOL and principal < 0.5 * prior:  # balance removed unpaid: charge-off
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
