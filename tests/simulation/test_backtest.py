"""Backtest: actual-balance conventions on a hand-built panel, CLI, and the AART 2017-3 test."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autoabs.cli import main
from portfolio.panel import read_long_panel
from simulation.backtest import backtest, panel_tape
from simulation.calibration import SegmentScheme, estimate_hazards

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "performance"
ALLY = DATA / "aart2171_2017.csv"


def _rows(loan_id: str, values: list[tuple[float, float, float]]) -> list[dict[str, object]]:
    return [{"loan_id": loan_id, "period": k + 1, "balance": b, "principal_paid": p,
             "total_paid": t, "rate": 0.12, "original_term": 24, "age": 4 + k,
             "scheduled_payment": 100.0, "fico": 700} for k, (b, p, t) in enumerate(values)]


@pytest.fixture()
def small_panel(tmp_path: Path):
    rows = []
    # P: pays 1,000 -> 920 ..., pays off in month 4.
    rows += _rows("P", [(920.0, 80.0, 100.0), (840.0, 80.0, 100.0), (760.0, 80.0, 100.0),
                        (0.0, 760.0, 770.0), ])
    # S: pays months 1-2, stops paying from month 3 (balance kept to the end: stalled default).
    rows += _rows("S", [(920.0, 80.0, 100.0), (840.0, 80.0, 100.0)] + [(840.0, 0.0, 0.0)] * 7)
    # K: pays every month.
    rows += _rows("K", [(1000.0 - 80.0 * (k + 1), 80.0, 100.0) for k in range(9)])
    path = tmp_path / "small.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return read_long_panel(path)


def _flat_model(chargeoff_months: int):
    from simulation.model import model_from_dict

    return model_from_dict({
        "default": {"hazard_curves": {"all": {"ages": [1], "values": [0.0]}},
                    "scorecard": {"normalise": False}},
        "delinquency": {"chargeoff_months": chargeoff_months},
        "prepayment": {"cpr": 0.0, "rate_incentive": 0.0},
        "factor": {"type": "none"},
    })


def test_actual_balance_holds_a_defaulted_loan_until_its_chargeoff(small_panel) -> None:
    result = backtest(small_panel, _flat_model(3), 1, scheme=SegmentScheme(None, False, None))
    t = result.table
    assert result.n_loans == 3 and result.start_balance == pytest.approx(2760.0)
    # S defaults in month 3 (first missed payment); charge-off at 3 + 3 - 1 = 5.
    s_balance = np.array([840.0, 840.0, 840.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    p_balance = np.array([840.0, 760.0, 0.0, 0, 0, 0, 0, 0])
    k_balance = 1000.0 - 80.0 * np.arange(2, 10)
    assert t["actual_balance"].to_numpy() == pytest.approx(s_balance + p_balance + k_balance)
    cutoff = 3000.0
    assert t["actual_defaulted"].to_numpy() == pytest.approx(
        np.r_[0, 0, 0, 840, 840, 840, 840, 840] / cutoff * 100)
    # P's payoff in month 4: 760 less that month's scheduled principal (100 - 7.60) less the
    # principal arrears from months 2-3 (scheduled 90.80 and 91.60, paid 80 each).
    assert t["actual_prepaid"].iloc[-1] == pytest.approx(
        (760.0 - 92.4 - 10.8 - 11.6) / cutoff * 100)
    assert t.index.tolist() == list(range(2, 10))


def test_backtest_from_the_cutoff(small_panel) -> None:
    """From month 0 every loan starts at its cut-off balance (1,000 each) and the first
    compared month is 1; S misses from month 3 and is charged off in month 3 + 3 - 1 = 5
    holding its month-2 balance of 840."""
    result = backtest(small_panel, _flat_model(3), 0, scheme=SegmentScheme(None, False, None))
    t = result.table
    assert result.n_loans == 3 and result.start_balance == pytest.approx(3000.0)
    assert t.index.tolist() == list(range(1, 10))
    s_balance = np.array([920.0, 840.0, 840.0, 840.0] + [0.0] * 5)
    p_balance = np.array([920.0, 840.0, 760.0] + [0.0] * 6)
    k_balance = 1000.0 - 80.0 * np.arange(1, 10)
    assert t["actual_balance"].to_numpy() == pytest.approx(s_balance + p_balance + k_balance)
    assert t["actual_defaulted"].to_numpy() == pytest.approx(
        np.r_[0, 0, 0, 0, 840, 840, 840, 840, 840] / 3000.0 * 100)
    tape, idx = panel_tape(small_panel, 0, SegmentScheme(None, False, None))
    assert idx.tolist() == [0, 1, 2] and tape.age.tolist() == [3, 3, 3]


def test_panel_tape_uses_the_amortising_term(small_panel) -> None:
    tape, idx = panel_tape(small_panel, 2, SegmentScheme((650.0,), False, None))
    assert idx.tolist() == [0, 1, 2]
    assert tape.age.tolist() == [5, 5, 5]  # age 4 in month 1
    # 840 at 1%/month with 100 a month: n = -ln(1 - 8.4/100) / ln(1.01) = 8.8 -> 9 payments.
    assert tape.remaining_term.tolist() == [9, 9, 9]
    assert tape.segment.tolist() == ["fico[650,)"] * 3


def test_cli_bad_inputs(small_panel, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    panel = small_panel.source
    assert main(["backtest", panel, "--model", str(tmp_path / "none.yaml"),
                 "--from-month", "2"]) == 2
    assert "none.yaml: --model: file not found" in capsys.readouterr().err
    model = tmp_path / "m.yaml"
    assert main(["calibrate", panel, "--out", str(model), "--segments", "none"]) == 0
    assert main(["backtest", panel, "--model", str(model), "--from-month", "9",
                 "--out", str(tmp_path / "bt")]) == 2
    assert "need 0 <= from-month < to-month <= 9" in capsys.readouterr().err
    assert main(["calibrate", panel, "--out", str(model), "--segments", "zip"]) == 2
    assert "unknown dimension(s) ['zip']" in capsys.readouterr().err


def test_cli_quarantines_a_reinstated_loan_and_prints_the_counts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = _rows("K", [(1000.0 - 80.0 * (k + 1), 80.0, 100.0) for k in range(9)])
    # R pays off in month 2 and shows a balance again in month 3 (reinstated).
    rows += _rows("R", [(920.0, 80.0, 100.0), (0.0, 920.0, 930.0), (500.0, 0.0, 0.0)])
    frame = pd.DataFrame(rows).assign(fico="None")
    path = tmp_path / "messy.csv"
    frame.to_csv(path, index=False)
    model = tmp_path / "m.yaml"
    assert main(["calibrate", str(path), "--out", str(model), "--segments", "none"]) == 2
    assert "a positive balance after the balance reached zero (month 3) of loan 'R'" in (
        capsys.readouterr().err)
    assert main(["calibrate", str(path), "--out", str(model), "--segments", "none",
                 "--on-error", "reject"]) == 0
    printed = capsys.readouterr().out
    assert f"1 loans quarantined (impossible histories); reasons in {tmp_path}" in printed
    assert "credit scores read as unknown: 12 fico_unknown" in printed
    assert pd.read_csv(tmp_path / "messy.quarantine.csv")["loan_id"].tolist() == ["R"]
    assert main(["backtest", str(path), "--model", str(model), "--from-month", "0",
                 "--on-error", "reject", "--out", str(tmp_path / "bt")]) == 0
    assert "Projected 1 loans active at month 0" in capsys.readouterr().out


@pytest.mark.data
def test_aart2171_backtest_from_month_24(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Calibrate on months 1-24, project 25-43 from month 24's pool: mean |error| <= 0.75 pp."""
    if not ALLY.is_file():
        pytest.skip(f"real panel data not found: {ALLY}")
    model = tmp_path / "aart2171.yaml"
    assert main(["calibrate", str(ALLY), "--through-month", "24", "--out", str(model)]) == 0
    capsys.readouterr()
    out = tmp_path / "bt"
    assert main(["backtest", str(ALLY), "--model", str(model), "--from-month", "24",
                 "--out", str(out), "--paths", "100"]) == 0
    printed = capsys.readouterr().out
    print(printed)
    table = pd.read_csv(out / "backtest.csv", index_col="month")
    assert table.index.tolist() == list(range(25, 44))
    for month, err in table["factor_error_pp"].items():
        assert f"{month:>5} " in printed and f"{err:+8.3f}" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    mae = float(np.mean(np.abs(table["factor_error_pp"])))
    assert metrics["factor_mae_pp"] == pytest.approx(mae, rel=1e-6)
    assert mae <= 0.75
    assert (out / "backtest.png").stat().st_size > 10_000
    # The calibration window really ends at month 24: no later month shapes the model.
    from portfolio.panel import read_panel

    panel = read_panel(ALLY)
    a = estimate_hazards(panel, through=24).to_model()
    b = estimate_hazards(panel.through(24)).to_model()
    assert a.default == b.default and a.prepayment == b.prepayment


@cache  # the in-sample run serves the defaults test and the pool-factor xfail alike
def _roll_rate_backtest(calibrate_on: Path, through: int | None, project: Path,
                        from_month: int) -> dict[str, float]:
    from portfolio.panel import read_panel
    from simulation.calibration import estimate_roll_rates
    from simulation.model import model_from_dict

    panel = read_panel(calibrate_on, on_error="reject")
    model = model_from_dict(estimate_hazards(panel, through=through).model_dict(
        roll_rates=estimate_roll_rates(panel, through=through)))
    assert model.credit_model == "roll_rate"
    target = panel if project == calibrate_on else read_panel(project, on_error="reject")
    return backtest(target, model, from_month).metrics()


@pytest.mark.data
def test_aart2171_roll_rate_in_sample_from_month_24() -> None:
    """Issue 18 acceptance: calibrated on months 1-24, projected from month 24, cumulative
    defaults at month 43 within +-20% of actual (competing risks: -68%), pool factor mean
    absolute error <= 0.2 pp."""
    if not ALLY.is_file():
        pytest.skip(f"real panel data not found: {ALLY}")
    m = _roll_rate_backtest(ALLY, 24, ALLY, 24)
    print(m)
    assert abs(m["defaulted_final_rel"]) <= 0.20


@pytest.mark.data
@pytest.mark.xfail(strict=True, reason=(
    "acceptance missed since loans the panel drops after recoveries count as charge-offs "
    "(portfolio.panel.panel_events): pool factor MAE 0.211 pp (0.153 pp when they were "
    "censored); the calibrated roll rates now project +11% defaults; docs/calibration.md"))
def test_aart2171_roll_rate_in_sample_pool_factor_from_month_24() -> None:
    """Issue 18 acceptance: the same backtest's pool factor mean absolute error <= 0.2 pp."""
    if not ALLY.is_file():
        pytest.skip(f"real panel data not found: {ALLY}")
    assert _roll_rate_backtest(ALLY, 24, ALLY, 24)["factor_mae_pp"] <= 0.20


@pytest.mark.data
@pytest.mark.parametrize(("calibrate_on", "project"), [
    ("aart1342new_2017.csv", "aart2171_2017.csv"),
    ("aart2171_2017.csv", "aart1342new_2017.csv"),
])
def test_ally_roll_rate_out_of_sample_from_month_0(calibrate_on: str, project: str) -> None:
    """Issue 18 acceptance: calibrate on one Ally panel, project the other from the cut-off:
    cumulative defaults within +-25% at the end in both directions; pool factor error <= 0.6
    pp where it holds (new -> used). Used -> new misses it (about 1.1 pp): the used-vehicle
    panel has no new loans, so the new pool prepays at the used pool's speed; the test pins
    the figure so that a change shows."""
    a, b = DATA / calibrate_on, DATA / project
    if not (a.is_file() and b.is_file()):
        pytest.skip(f"real panel data not found: {a}, {b}")
    m = _roll_rate_backtest(a, None, b, 0)
    print(calibrate_on, "->", project, m)
    assert abs(m["defaulted_final_rel"]) <= 0.25
    if project == "aart2171_2017.csv":
        assert m["factor_mae_pp"] <= 0.6
    else:
        assert m["factor_mae_pp"] <= 1.2


def test_backtest_compares_delinquency_and_reports_errors_at_checkpoints(small_panel) -> None:
    """S misses from month 3: 30 days in month 3, 60 in month 4 with its 840 held (charged
    off in month 5 under a 3-month pipeline); P and K stay current. Errors at 12/24/36 months
    lie past this 9-month projection, so only the end is reported."""
    result = backtest(small_panel, _flat_model(3), 0, scheme=SegmentScheme(None, False, None))
    t = result.table
    assert t["actual_delinquent_30"].to_numpy() == pytest.approx(
        np.r_[0, 0, 840, 0, 0, 0, 0, 0, 0] / 3000.0 * 100)
    assert t["actual_delinquent_60"].to_numpy() == pytest.approx(
        np.r_[0, 0, 0, 840, 0, 0, 0, 0, 0] / 3000.0 * 100)
    assert t["actual_delinquent_90p"].sum() == 0
    assert t["projected_delinquent_30"].sum() == 0  # no hazards: nothing projected
    m = result.metrics()
    assert "factor_error_pp_12m" not in m
    assert m["factor_error_pp_end"] == pytest.approx(t["factor_error_pp"].iloc[-1])
    assert m["defaulted_error_pp_end"] == pytest.approx(-840 / 3000.0 * 100)
    assert m["delinquent_30p_error_pp_end"] == 0.0


def test_roll_rate_backtest_starts_loans_in_their_state(small_panel) -> None:
    """At month 4 S has missed two payments (not yet a default: the run is shorter than
    stall_months): under roll rates it enters the tape 60 days past due, otherwise current."""
    scheme = SegmentScheme(None, False, None)
    tape, idx = panel_tape(small_panel, 4, scheme, delinquency=True)
    behind = dict(zip(small_panel.loan_id[idx], tape.days_past_due.tolist(), strict=True))
    assert behind == {"S": 60, "K": 0}
    tape, _ = panel_tape(small_panel, 4, scheme)
    assert tape.days_past_due.tolist() == [0, 0]
