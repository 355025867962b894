"""``autoabs rating-stress`` on the CPS-shaped example (a smaller pool) and its input errors."""

from __future__ import annotations

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
