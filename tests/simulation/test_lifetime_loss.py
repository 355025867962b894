"""Lifetime-CNL methods: hand-computed timing shares, the Monte Carlo decomposition on the Ally
panel, the CLI, and the AART 2017-3 backtest script (slow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autoabs.cli import main
from portfolio.panel import missed_payment_runs, read_long_panel, read_panel
from simulation.lifetime_loss import (
    monte_carlo_projection,
    pool_timing_share,
    realised_loss,
    timing_extrapolation,
)
from simulation.model import LossTiming

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "performance"
ALLY = DATA / "aart2171_2017.csv"
CURVE = LossTiming(ages=[12, 24], cumulative=[0.5, 1.0])


def test_pool_timing_share_by_hand():
    # F(a) = a/24 to age 12 (0.5), then to 1 at 24. Loans aged 0 and 12, equal weights.
    # Month 6: (F(6) - 0) + (F(18) - F(12)) = 0.25 + 0.25 over remaining 1 + 0.5.
    g = pool_timing_share(CURVE, np.array([0, 12]), np.array([1.0, 1.0]), np.array([6, 12, 30]))
    np.testing.assert_allclose(g, [0.5 / 1.5, 1.0 / 1.5, 1.0], rtol=1e-12)
    # Back-loaded (age axis x2): F(6) = 0.125, F(12) = 0.25, F(18) = 0.375.
    back = pool_timing_share(CURVE, np.array([0, 12]), np.array([1.0, 1.0]), np.array([6]), 2.0)
    np.testing.assert_allclose(back, [(0.125 + 0.125) / (1.0 + 0.75)], rtol=1e-12)


def _loan(loan_id, months, *, age0=0, term=24, pay=100.0):
    """Rows of a long panel from (balance, principal, total paid) per month."""
    return [{"loan_id": loan_id, "period": k + 1, "balance": b, "principal_paid": p,
             "total_paid": t, "rate": 0.0, "original_term": term, "age": age0 + k + 1,
             "scheduled_payment": pay} for k, (b, p, t) in enumerate(months)]


@pytest.fixture()
def small_panel(tmp_path):
    paid = [(1000.0 - 100.0 * (k + 1), 100.0, 100.0) for k in range(6)]
    rows = _loan("K", paid)  # pays every month
    # A: misses months 2 and 3, charged off in month 4 (balance removed unpaid).
    rows += _loan("A", [(900.0, 100.0, 100.0), (900.0, 0.0, 0.0), (900.0, 0.0, 0.0),
                        (0.0, 0.0, 0.0)])
    # B: misses month 2, pays again from month 3.
    rows += _loan("B", [(900.0, 100.0, 100.0), (900.0, 0.0, 0.0), (800.0, 100.0, 100.0),
                        (700.0, 100.0, 100.0), (600.0, 100.0, 100.0), (500.0, 100.0, 100.0)])
    # C: misses months 2 and 3, pays from month 4.
    rows += _loan("C", [(900.0, 100.0, 100.0), (900.0, 0.0, 0.0), (900.0, 0.0, 0.0),
                        (800.0, 100.0, 100.0), (700.0, 100.0, 100.0), (600.0, 100.0, 100.0)])
    path = tmp_path / "small.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return read_long_panel(path)


def test_timing_extrapolation_divides_cnl_to_date_by_the_expected_share(small_panel):
    # A's 900 charged off in month 4, no recovery: CNL = 900 / 4000 by month 4.
    done = realised_loss(small_panel, 4)
    assert done.cnl == pytest.approx(900 / 4000) and done.severity == pytest.approx(1.0)
    est = timing_extrapolation(small_panel, 4, CURVE, stretch=0.5)
    g4 = pool_timing_share(CURVE, small_panel.age0, small_panel.cutoff_balance, np.array([4]))
    assert est.cnl == pytest.approx(done.cnl / g4[0])
    assert est.low < est.cnl < est.high  # front-loaded: lower; back-loaded: higher
    to_6 = timing_extrapolation(small_panel, 4, CURVE, horizon_month=6)
    g = pool_timing_share(CURVE, small_panel.age0, small_panel.cutoff_balance, np.array([4, 6]))
    assert to_6.cnl == pytest.approx(done.cnl * g[1] / g[0])


def test_monte_carlo_projection_adds_the_engine_to_the_realised_cnl():
    if not ALLY.is_file():
        pytest.skip(f"shared Ally panel {ALLY} not present (../shared/data is not in the repo)")
    panel = read_panel(ALLY, on_error="reject")
    est = monte_carlo_projection(panel, 24, horizon_month=43, n_paths=200, seed=3)
    d = est.details
    done = realised_loss(panel, 24)
    assert est.cnl_to_date == pytest.approx(done.cnl)
    assert est.cnl == pytest.approx(done.cnl + d["projected_cnl"])
    assert d["severity"] == pytest.approx(done.severity)
    # The loans behind at month 24 start in their delinquency state (roll-rate model).
    behind = missed_payment_runs(panel.through(24))[:, 23]
    assert d["delinquent_loans"] > 0 and d["delinquent_loans"] >= 0.5 * np.sum(behind > 0)
    assert est.low <= d["p50"] <= est.high and est.low < est.high
    assert d["projected_cnl"] > 0
    again = monte_carlo_projection(panel, 24, horizon_month=43, n_paths=200, seed=3)
    assert again.cnl == est.cnl and again.high == est.high


def test_cli_lifetime_loss(small_panel, tmp_path, capsys):
    out = tmp_path / "est.json"
    code = main(["lifetime-loss", small_panel.source, "--as-of-month", "4", "--method",
                 "timing", "--out", str(out)])
    assert code == 0
    (est,) = json.loads(out.read_text(encoding="utf-8"))
    assert est["method"] == "timing" and est["cnl_to_date"] == pytest.approx(900 / 4000)
    assert main(["lifetime-loss", small_panel.source, "--as-of-month", "9"]) == 2
    err = capsys.readouterr().err
    assert "--as-of-month" in err and "1..6" in err and "Traceback" not in err
    assert main(["lifetime-loss", small_panel.source, "--as-of-month", "4", "--to-month",
                 "3"]) == 2
    assert "--to-month" in capsys.readouterr().err


@pytest.mark.slow
def test_surveillance_backtest_script_meets_the_month_24_tolerance():
    if not ALLY.is_file():
        pytest.skip(f"shared Ally panel {ALLY} not present (../shared/data is not in the repo)")
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "surveillance_backtest.py"),
                           str(ALLY), "--paths", "300"], capture_output=True, text=True,
                          timeout=900, check=False)
    assert "better method at month 24" in done.stdout, done.stderr
    assert done.returncode == 0, done.stdout
