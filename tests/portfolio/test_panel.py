"""Panel readers, validation and event definitions (hand-built panels and the Ally data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from portfolio.errors import InputError
from portfolio.panel import (
    CENSORED,
    DEFAULTED,
    MATURED,
    PREPAID,
    QUARANTINE_COLUMNS,
    EventRules,
    panel_events,
    read_ally_panel,
    read_long_panel,
    read_panel,
)
from simulation.performance import panel_activity

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "performance"


def _loan(loan_id: str, rows: list[tuple[float, float, float]], *, age0: int = 10,
          term: int = 60, first: int = 1, **extra: object) -> list[dict[str, object]]:
    """Long rows for one loan: (balance, principal_paid, total_paid) from period ``first``."""
    return [
        {"loan_id": loan_id, "period": first + k, "balance": b, "principal_paid": p,
         "total_paid": t, "rate": 0.06, "original_term": term, "age": age0 + first + k,
         "scheduled_payment": 200.0, **extra}
        for k, (b, p, t) in enumerate(rows)
    ]


def _paying(balance: float, months: int) -> list[tuple[float, float, float]]:
    return [(balance - 150.0 * (k + 1), 150.0, 200.0) for k in range(months)]


@pytest.fixture()
def long_frame() -> pd.DataFrame:
    rows: list[dict[str, object]] = []
    # A: pays 3 months, pays off in month 4 -> prepaid at 4.
    rows += _loan("A", _paying(5000, 3) + [(0.0, 4550.0, 4570.0)])
    # B: pays 2 months, misses 3 (months 3-5), charged off in month 6 -> defaulted at 3.
    rows += _loan("B", _paying(5000, 2) + [(4700.0, 0.0, 0.0)] * 3 + [(0.0, 0.0, 10.0)])
    # C: pays 2 months, then misses 6 to the end (months 3-8) -> stalled default at 3.
    rows += _loan("C", _paying(5000, 2) + [(4700.0, 0.0, 0.0)] * 6)
    # D: pays 5 months, misses months 6-8 (open run of 3 < 6) -> censored at 5.
    rows += _loan("D", _paying(5000, 5) + [(4250.0, 0.0, 0.0)] * 3)
    # E: misses one month then cures; data stop after month 6 -> censored at 6.
    rows += _loan("E", _paying(5000, 2) + [(4700.0, 0.0, 0.0), (4400.0, 300.0, 400.0)]
                  + _paying(4400, 2))
    # F: last scheduled payment in month 2 -> matured.
    rows += _loan("F", [(190.0, 190.0, 200.0), (0.0, 190.0, 191.0)], age0=58, term=60)
    # G: enters in month 3, pays to the end -> censored at 8.
    rows += _loan("G", _paying(3000, 6), first=3)
    return pd.DataFrame(rows)


def test_long_reader_and_events(long_frame: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "panel.csv"
    long_frame.to_csv(path, index=False)
    panel = read_panel(path)
    assert panel.n_loans == 7 and panel.n_months == 8
    assert list(panel.loan_id) == list("ABCDEFG")
    assert panel.first_month.tolist() == [1, 1, 1, 1, 1, 1, 3]
    assert panel.age0.tolist() == [10, 10, 10, 10, 10, 58, 10]
    assert panel.cutoff_balance[0] == pytest.approx(5000.0)
    ev = panel_events(panel)
    assert ev.kind.tolist() == [PREPAID, DEFAULTED, DEFAULTED, CENSORED, CENSORED, MATURED,
                                CENSORED]
    assert ev.exit.tolist() == [4, 3, 3, 5, 6, 2, 8]
    assert ev.chargeoff.tolist() == [0, 6, 0, 0, 0, 0, 0]
    assert ev.entry.tolist() == [1, 1, 1, 1, 1, 1, 3]
    # Known only through month 5: B's and C's runs are open (3 months) -> censored at 2.
    early = panel_events(panel.through(5))
    assert early.kind[:3].tolist() == [PREPAID, CENSORED, CENSORED]
    assert early.exit[:3].tolist() == [4, 2, 2]
    # A shorter stall rule turns D's open run into a default at its first month.
    assert panel_events(panel, EventRules(stall_months=3)).kind[3] == DEFAULTED


def test_zero_balance_codes_override_the_principal_rule(long_frame: pd.DataFrame,
                                                        tmp_path: Path) -> None:
    frame = long_frame.copy()
    frame["zero_balance_code"] = 0
    frame.loc[(frame.loan_id == "A") & (frame.period == 4), "zero_balance_code"] = 3
    frame.loc[(frame.loan_id == "B") & (frame.period == 6), "zero_balance_code"] = 1
    path = tmp_path / "coded.csv"
    frame.to_csv(path, index=False)
    ev = panel_events(read_long_panel(path))
    assert ev.kind[0] == CENSORED and ev.exit[0] == 3  # repurchased: censored the month before
    assert ev.kind[1] == PREPAID and ev.exit[1] == 6


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda f: f.drop(columns=["total_paid"]), "total_paid: required column missing"),
        (lambda f: f.assign(balance=f.balance.astype(object).where(f.index != 2, "x")),
         "row 3, balance: expected a number, got 'x'"),
        (lambda f: pd.concat([f, f.iloc[[1]]]), "has period 2 twice"),
        (lambda f: f.drop(index=[1]), "a gap in the monthly series"),
        (lambda f: f.assign(rate=f.rate.where(f.index != 5, 0.07)), "rate: differs between rows"),
        (lambda f: f.assign(rate=f.rate * 100), "expected an annual decimal"),
        (lambda f: f.assign(balance=f.balance.where(f.index != 1, 0.0)),
         "a positive balance after the balance reached zero"),
    ],
)
def test_long_reader_rejects_bad_input(long_frame: pd.DataFrame, tmp_path: Path, edit,
                                       needle: str) -> None:
    path = tmp_path / "bad.csv"
    edit(long_frame).to_csv(path, index=False)
    with pytest.raises(InputError, match="bad.csv") as info:
        read_long_panel(path)
    assert needle in str(info.value)


def _ally_frame() -> pd.DataFrame:
    base = {"assetNumber": ["1", "2", "3"], "originalInterestRatePercentage": [0.06] * 3,
            "originalLoanTerm": [60] * 3, "remainingTermtoMaturityNumber": [50, 50, 40],
            "reportingPeriodActualEndBalanceAmount": [5000.0, 8000.0, 0.0],
            "reportingPeriodScheduledPaymentAmount": [200.0, 300.0, 100.0],
            "obligorCreditScore": [700, 650, 800], "vehicleNewUsedCode": [2, 1, 2],
            "reportingPeriodBeginningDate": ["05-01-2017"] * 3}
    months = {  # loan 1 pays off in month 2 then repeats a zero row; loan 2 overpays then refunds
        "BAL": [[4850.0, 0.0, 0.0], [0.0 - 12.0, 0.0, None], [None, None, None]],
        "PRC": [[150.0, 4850.0, 0.0], [8000.0, -12.0, None], [None, None, None]],
        "PMT": [[200.0, 4870.0, 0.0], [8050.0, None, None], [None, None, None]],
    }
    frame = pd.DataFrame(base)
    for prefix, values in months.items():
        for k in range(3):
            frame[f"{prefix}{k + 1}"] = [row[k] for row in values]
    return frame


def test_ally_reader_small(tmp_path: Path) -> None:
    path = tmp_path / "ally.csv"
    _ally_frame().to_csv(path, index=False, na_rep="NA")
    panel = read_ally_panel(path)
    assert panel.n_loans == 2  # loan 3 was already paid off at the cut-off
    assert panel.age0.tolist() == [10, 10]
    assert panel.vehicle_new.tolist() == [False, True]
    assert str(panel.cutoff_month) == "2017-05"
    assert np.isnan(panel.balance[0, 2]) and panel.balance[1, 0] == 0.0  # overpayment -> 0
    ev = panel_events(panel)
    assert ev.kind.tolist() == [PREPAID, PREPAID] and ev.exit.tolist() == [2, 1]


def test_ally_reader_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "ally.csv"
    _ally_frame().drop(columns=["PMT2", "originalLoanTerm"]).to_csv(path, index=False)
    with pytest.raises(InputError, match="originalLoanTerm, PMT2: required column missing"):
        read_ally_panel(path)


@pytest.mark.data
def test_real_ally_panels() -> None:
    if not DATA.is_dir():
        pytest.skip(f"real panel data not found in {DATA}")
    panel = read_panel(DATA / "aart2171_2017.csv")
    assert (panel.n_loans, panel.n_months) == (2171 - 41, 43)  # 41 paid off at the cut-off
    counts = panel_events(panel).counts()
    assert counts["prepaid"] + counts["defaulted"] + counts["censored"] == panel.n_loans
    assert 60 <= counts["defaulted"] <= 120 and counts["matured"] == 0
    new = read_panel(DATA / "aart1342new_2017.csv")
    assert new.vehicle_new.all() and new.n_months == 43


def _messy_ally_frame() -> pd.DataFrame:
    """Ally wide panel as real EX-102-derived files come: score strings, a reinstated loan.

    Loan 1 scores "None", loan 2 "0", loan 3 "712.5", loan 4 "n/a!" (unparseable), loan 5 705.
    Loan 3's balance reaches zero in month 2 and is positive again in month 3 (reinstated);
    loan 4 has a gap (month 2 missing, month 3 present).
    """
    n = 5
    frame = pd.DataFrame({
        "assetNumber": [str(k) for k in range(1, n + 1)],
        "originalInterestRatePercentage": [0.06] * n, "originalLoanTerm": [60] * n,
        "remainingTermtoMaturityNumber": [50] * n,
        "reportingPeriodActualEndBalanceAmount": [5000.0] * n,
        "reportingPeriodScheduledPaymentAmount": [200.0] * n,
        "obligorCreditScore": ["None", "0", "712.5", "n/a!", "705"],
    })
    paying = [[4850.0, 4700.0, 4550.0], [150.0] * 3, [200.0] * 3]
    months = {1: paying, 2: paying,
              3: [[4850.0, 0.0, 4400.0], [150.0, 0.0, 150.0], [200.0, 0.0, 200.0]],
              4: [[4850.0, None, 4550.0], [150.0, None, 150.0], [200.0, None, 200.0]],
              5: paying}
    for k in range(3):
        for prefix, column in (("BAL", 0), ("PRC", 1), ("PMT", 2)):
            frame[f"{prefix}{k + 1}"] = [months[loan][column][k] for loan in range(1, n + 1)]
    return frame


def test_ally_panel_with_score_strings_and_a_reinstated_loan(tmp_path: Path) -> None:
    path = tmp_path / "messy.csv"
    _messy_ally_frame().to_csv(path, index=False, na_rep="NA")
    with pytest.raises(InputError, match="messy.csv") as info:
        read_panel(path)
    text = str(info.value)
    assert "row 3" in text and "a positive balance after the balance reached zero (month 3)" \
        in text and "loan '3'" in text
    assert "row 4" in text and "a gap in the monthly series (month 3)" in text

    panel = read_panel(path, on_error="reject")
    assert panel.loan_id.tolist() == ["1", "2", "5"]
    assert np.isnan(panel.fico[:2]).all() and panel.fico[2] == 705.0
    assert panel.score_counts == {"fico_unknown": 2, "fico_unparseable": 1}
    assert [(q.loan_id, q.row) for q in panel.quarantined] == [("3", 3), ("4", 4)]
    sidecar = pd.read_csv(tmp_path / "messy.quarantine.csv", dtype={"loan_id": str})
    assert sidecar.columns.tolist() == list(QUARANTINE_COLUMNS)
    assert sidecar["loan_id"].tolist() == ["3", "4"]
    assert sidecar["reason"].tolist() == [
        "a positive balance after the balance reached zero (month 3)",
        "a gap in the monthly series (month 3)"]
    assert panel_events(panel).counts()["censored"] == 3


def test_long_panel_quarantines_a_reinstated_loan_with_its_reason(long_frame: pd.DataFrame,
                                                                  tmp_path: Path) -> None:
    frame = long_frame.assign(fico="None")
    frame.loc[frame.loan_id == "A", "fico"] = "700.0"
    # A pays off in month 4; give it a positive balance again in a month 5 row.
    reinstated = frame[frame.loan_id == "A"].iloc[[-1]].assign(period=5, age=15, balance=80.0,
                                                               principal_paid=0.0)
    path = tmp_path / "long.csv"
    pd.concat([frame, reinstated]).to_csv(path, index=False)
    sidecar = tmp_path / "q.csv"
    panel = read_panel(path, on_error="reject", quarantine_path=sidecar)
    assert "A" not in panel.loan_id.tolist() and panel.n_loans == 6
    assert np.isnan(panel.fico).all()
    assert panel.score_counts == {"fico_unknown": len(frame) - 4}
    (finding,) = panel.quarantined
    assert (finding.loan_id, finding.row, finding.field) == (
        "A", 1, "balance/principal_paid/total_paid")
    assert finding.reason == "a positive balance after the balance reached zero (month 5)"
    assert pd.read_csv(sidecar)["loan_id"].tolist() == ["A"]


def test_every_loan_quarantined_is_an_error(tmp_path: Path) -> None:
    frame = _messy_ally_frame().iloc[[2, 3]]
    path = tmp_path / "broken.csv"
    frame.to_csv(path, index=False, na_rep="NA")
    with pytest.raises(InputError, match="every one of the 2 loans has an impossible history"):
        read_panel(path, on_error="reject")
    with pytest.raises(InputError, match="on_error must be 'raise' or 'reject'"):
        read_panel(path, on_error="skip")  # type: ignore[arg-type]


@pytest.mark.data
@pytest.mark.parametrize(("name", "n_loans"), [("aart2171_2017.csv", 2171 - 41),
                                                ("aart1342new_2017.csv", 1324)])
def test_real_ally_panels_load_under_the_reject_policy(name: str, n_loans: int,
                                                       tmp_path: Path) -> None:
    """Both shared Ally panels load whole: nothing quarantined, every score a number."""
    if not (DATA / name).is_file():
        pytest.skip(f"real panel data not found: {DATA / name}")
    sidecar = tmp_path / "q.csv"
    panel = read_panel(DATA / name, on_error="reject", quarantine_path=sidecar)
    assert panel.n_loans == n_loans and panel.quarantined == ()
    assert panel.score_counts == {} and np.isfinite(panel.fico).all()
    assert pd.read_csv(sidecar).columns.tolist() == list(QUARANTINE_COLUMNS)


def test_a_loan_dropped_after_recoveries_is_charged_off_in_its_last_month(tmp_path: Path) -> None:
    # Loan 1 pays month 1, misses 2 and 3 with repossession proceeds in month 3, then the file
    # stops reporting it with 4,700 left: written off in month 3, defaulted at month 2. Loan 2
    # misses month 2 and drops without recoveries: censored at 1 (its outcome is unknown).
    # Loan 3 pays every month.
    n = 5
    frame = pd.DataFrame({
        "assetNumber": ["1", "2", "3"], "originalInterestRatePercentage": [0.0] * 3,
        "originalLoanTerm": [60] * 3, "remainingTermtoMaturityNumber": [50] * 3,
        "reportingPeriodActualEndBalanceAmount": [5000.0] * 3,
        "reportingPeriodScheduledPaymentAmount": [100.0] * 3,
        "obligorCreditScore": [700] * 3, "vehicleNewUsedCode": [2] * 3,
        "reportingPeriodBeginningDate": ["05-01-2017"] * 3})
    rows = {"1": [(4900.0, 100.0, 100.0), (4900.0, 0.0, 0.0), (4900.0, 0.0, 0.0)],
            "2": [(4900.0, 100.0, 100.0), (4900.0, 0.0, 0.0)],
            "3": [(5000.0 - 100.0 * (k + 1), 100.0, 100.0) for k in range(n)]}
    for k in range(n):
        for prefix, j in (("BAL", 0), ("PRC", 1), ("PMT", 2)):
            frame[f"{prefix}{k + 1}"] = [rows[i][k][j] if k < len(rows[i]) else None
                                         for i in ("1", "2", "3")]
        frame[f"REP{k + 1}"] = [3000.0 if (i == "1" and k == 2) else None
                                for i in ("1", "2", "3")]
    path = tmp_path / "dropped.csv"
    frame.to_csv(path, index=False, na_rep="NA")
    panel = read_ally_panel(path)
    ev = panel_events(panel)
    assert ev.kind.tolist() == [DEFAULTED, CENSORED, CENSORED]
    assert ev.exit.tolist() == [2, 1, 5] and ev.chargeoff.tolist() == [3, 0, 0]
    activity = panel_activity(panel)
    assert activity.charged_off[0].tolist() == [0.0, 0.0, 4900.0, 0.0, 0.0]
    assert activity.ending_balance[0, 2] == 0.0 and activity.recoveries[0, 2] == 3000.0
