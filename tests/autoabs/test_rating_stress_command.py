"""``autoabs rating-stress`` on the CPS-shaped example (a smaller pool) and its input errors."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from autoabs.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TARGETS = "A=Aaa,B=Aa2,C=A2,D=Baa2,E=Ba2"


@pytest.fixture()
def cps_deal(tmp_path: Path) -> Path:
    raw = yaml.safe_load((EXAMPLES / "cps_shaped_deal.yaml").read_text(encoding="utf-8"))
    raw["pool"] = {"synthetic": "subprime", "loans": 600, "seed": 2019}
    raw["assumptions"] = str(EXAMPLES / "cps_assumptions.yaml")
    path = tmp_path / "cps.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_rating_stress_prints_pass_fail_and_breakeven(cps_deal: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rs"
    assert main(["rating-stress", str(cps_deal), "--targets", TARGETS, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "CPS Auto Receivables Trust 2019-A" in printed
    assert re.search(r"base-case CNL 18\.\d\d%", printed)  # expected CNL 18.25%
    for multiple in ("3.10x", "2.60x", "2.10x", "1.60x", "1.23x"):
        assert multiple in printed
    runs = pd.read_csv(out / "rating_stress_runs.csv")
    breakeven = pd.read_csv(out / "breakeven.csv")
    assert len(runs) == 5 * 3 * 2 and len(breakeven) == 5 * 3 * 2
    # A class passes a rating exactly when its stressed CNL is within its break-even CNL (up to
    # the bisection's tolerance on either side: near the boundary either answer is right).
    merged = runs.merge(breakeven, on=["class", "timing", "abs_speed"])
    passing, gap = merged["passes"], merged["target_cnl"] - merged["breakeven_cnl"]
    assert (gap[passing] <= 2e-3).all() and (gap[~passing] >= -2e-3).all(), merged
    # Seniority: break-even CNL falls down the capital structure in every run.
    for _, group in breakeven.groupby(["timing", "abs_speed"]):
        assert group["breakeven_cnl"].is_monotonic_decreasing


def test_rating_stress_bad_table_exits_2(cps_deal: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "table.yaml"
    bad.write_text("source: x\nmultiples: {AAA: 2.0, AA: 3.0}\n", encoding="utf-8")
    assert main(["rating-stress", str(cps_deal), "--targets", TARGETS, "--table",
                 str(bad)]) == 2
    assert "table.yaml" in capsys.readouterr().err
    assert main(["rating-stress", str(cps_deal), "--targets", "A=Aaa"]) == 2
    assert "no target for B, C, D, E" in capsys.readouterr().err


def test_breakeven_by_timing_on_a_zero_interest_deal(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """`autoabs breakeven --timing`: without interest a class's break-even CNL is its
    attachment point (B: the 5% OC, A: 20%) under every timing curve, as presales print it."""
    from tests.simulation.test_rating_stress import N_LOANS, TERM

    pd.DataFrame({"loan_id": [f"L{k}" for k in range(N_LOANS)], "balance": 10_000.0,
                  "rate": 0.0, "original_term": TERM, "remaining_term": TERM,
                  "segment": "all"}).to_csv(tmp_path / "tape.csv", index=False)
    (tmp_path / "model.yaml").write_text(yaml.safe_dump({
        "default": {"hazard_curves": {"all": {"ages": [1], "values": [0.007]}},
                    "scorecard": {"normalise": False}},
        "delinquency": {"chargeoff_months": 4},
        "prepayment": {"abs_speed": 0.01, "rate_incentive": 0.0},
        "recovery": {"method": "severity", "severity": 0.5, "lag_months": 2},
        "factor": {"type": "none"}}), encoding="utf-8")
    (tmp_path / "deal.yaml").write_text(yaml.safe_dump({
        "name": "zero-interest", "closing_date": "2024-01-01",
        "first_payment_date": "2024-02-01", "pool": {"tape": "tape.csv"},
        "assumptions": "model.yaml",
        "notes": [{"name": "A", "balance": 0.80, "coupon": 0.0},
                  {"name": "B", "balance": 0.15, "coupon": 0.0}],
        "overcollateralization": {"target_initial": 0.05, "floor": 0.05},
        "waterfall": [{"interest": ["A"]}, {"interest": ["B"]}, "regular_principal",
                      "residual"]}), encoding="utf-8")
    args = ["breakeven", str(tmp_path / "deal.yaml"), "--timing", "--table", "carmax2019-2"]
    assert main([*args, "--csv"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert set(frame["timing"]) == {"base", "front", "back"}
    for name, attach in (("A", 0.20), ("B", 0.05)):
        got = frame.loc[frame["class"] == name, "breakeven_cnl"].to_numpy()
        assert got == pytest.approx(attach, abs=3e-3)
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "break-even CNL by loss timing" in printed
    assert "CarMax Auto Owner Trust 2019-2" in printed
    assert "front: CNL (gross)" in printed
