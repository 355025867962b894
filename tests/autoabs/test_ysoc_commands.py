"""The captive YSOC example through every command that compiles a deal."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autoabs import cli
from autoabs.pipeline import resolve_inputs
from simulation.waterfall import compile_deal
from simulation.yield_supplement import ysoc_schedule

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TARGETS = "A=Aaa,B=Aa2,C=A2,D=Baa2"


@pytest.fixture(scope="module")
def captive(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("captive")
    text = (EXAMPLES / "captive_ysoc_deal.yaml").read_text()
    assert "loans: 20000" in text
    path = tmp / "deal.yaml"
    path.write_text(text.replace("loans: 20000", "loans: 600"))
    (tmp / "prime_assumptions.yaml").write_text(
        (EXAMPLES / "prime_assumptions.yaml").read_text())
    return path


def test_run_reports_hard_ce_on_the_adjusted_pool(captive: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert cli.main(["run", str(captive), "--paths", "64", "--chunk-size", "32",
                     "--no-report", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    inputs = resolve_inputs(str(captive), require_model=False)
    tape = inputs.tape
    adjusted = tape.total_balance - ysoc_schedule(tape, 0.09)[0]
    assert 0.0 < adjusted < tape.total_balance
    notes = compile_deal(inputs.deal, tape).original_balance
    reserve = 0.0025 * adjusted
    ce_a = (notes[5:].sum() + adjusted - notes.sum() + reserve) / adjusted  # B, C, D junior
    by_class = {c["name"]: c for c in summary["classes"]}
    assert by_class["A-1"]["group_hard_ce"] == pytest.approx(ce_a, rel=1e-9)
    assert by_class["D"]["hard_ce"] == pytest.approx((adjusted - notes.sum() + reserve)
                                                     / adjusted, rel=1e-9)


def test_paydown_and_cashflows_pay_against_the_adjusted_pool(captive: Path,
                                                             tmp_path: Path) -> None:
    assert cli.main(["paydown", str(captive), "--abs", "1.3,1.8"]) == 0
    assert cli.main(["cashflows", str(captive), "--abs", "1.3", "--cdr", "1",
                     "--out", str(tmp_path / "cf")]) == 0
    table = pd.read_csv(tmp_path / "cf" / "cashflows.csv")
    deal = table[table["class"] == "A-1"]
    inputs = resolve_inputs(str(captive), require_model=False)
    ysoc = ysoc_schedule(inputs.tape, 0.09)
    n = min(len(deal), ysoc.size - 1)
    live = deal.pool_balance.to_numpy()[:n] > 0.0
    np.testing.assert_allclose(
        deal.adjusted_pool_balance.to_numpy()[:n][live],
        np.maximum(deal.pool_balance.to_numpy()[:n] - ysoc[1:n + 1], 0.0)[live], rtol=1e-9)
    notes_end = table.groupby("period").ending_balance.sum().to_numpy()
    # the OC after each payment date is on the adjusted pool
    np.testing.assert_allclose(deal.oc_amount, deal.adjusted_pool_balance.to_numpy()
                               - notes_end, atol=1e-4)


def test_size_breakeven_stress_rating_stress_and_yield_table_run(captive: Path,
                                                                 tmp_path: Path) -> None:
    assert cli.main(["size", str(captive), "--targets", TARGETS, "--paths", "256",
                     "--out", str(tmp_path / "sized.yaml")]) == 0
    assert "yield_supplement" in (tmp_path / "sized.yaml").read_text()
    assert cli.main(["breakeven", str(captive)]) == 0
    assert cli.main(["stress", str(captive), "--scenarios", "baseline", "--paths", "32",
                     "--no-grid", "--no-report", "--out", str(tmp_path / "stress")]) == 0
    assert cli.main(["rating-stress", str(captive), "--targets", TARGETS]) == 0
    assert cli.main(["yield-table", str(captive), "--prices", "100", "--abs", "1.3"]) == 0
