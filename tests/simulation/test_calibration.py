"""Hazard estimation: hand-computed pieces and statistical tests on synthetic panels.

The synthetic panels are drawn from known monthly cause-specific hazards by loan age, with
staggered entry (left truncation), random dropout (right censoring) and an administrative end.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from portfolio.panel import LoanPanel
from simulation.calibration import (
    SegmentScheme,
    estimate_hazards,
    hazard_by_age,
    proportional_hazards,
    smm_to_abs,
    wilson_interval,
)
from simulation.collateral import expected_flows, prepare_collateral
from simulation.conversions import abs_to_smm
from simulation.model import load_model

LEVEL = 0.95


def true_prepay(age: np.ndarray) -> np.ndarray:
    return 0.008 + 0.0005 * np.minimum(age, 40)


def true_default(age: np.ndarray) -> np.ndarray:
    return 0.002 + 0.004 * np.exp(-((age - 15.0) / 10.0) ** 2)


def synthetic_panel(n_loans: int, n_months: int, dropout: float, seed: int,
                    fico: np.ndarray | None = None,
                    default_mult: np.ndarray | None = None) -> LoanPanel:
    """Loans entering at ages 1..24; per month: default (charged off at once, nothing paid) with
    ``h_d``, else prepay (paid off) with ``h_p``, else pay; then leave the data with
    ``dropout`` (censoring)."""
    rng = np.random.default_rng(seed)
    age0 = rng.integers(0, 24, n_loans)
    mult = np.ones(n_loans) if default_mult is None else default_mult
    shape = (n_loans, n_months)
    balance = np.full(shape, np.nan)
    principal = np.full(shape, np.nan)
    paid = np.full(shape, np.nan)
    b = np.full(n_loans, 10_000.0)
    alive = np.ones(n_loans, bool)
    for k in range(n_months):
        a = age0 + k + 1
        u = rng.random(n_loans)
        hd = true_default(a) * mult
        dflt = alive & (u < hd)
        pre = alive & ~dflt & (u < hd + true_prepay(a))
        pay = alive & ~dflt & ~pre
        balance[pay, k] = b[pay] - 100.0
        principal[pay, k], paid[pay, k] = 100.0, 150.0
        balance[pre, k], principal[pre, k], paid[pre, k] = 0.0, b[pre], b[pre] + 20.0
        balance[dflt, k], principal[dflt, k], paid[dflt, k] = 0.0, 0.0, 0.0
        b = np.where(pay, b - 100.0, b)
        alive = pay & (rng.random(n_loans) >= dropout)
    return LoanPanel(
        loan_id=np.arange(n_loans).astype(str).astype(object), rate=np.full(n_loans, 0.06),
        original_term=np.full(n_loans, 120), age0=age0.astype(np.int64),
        cutoff_balance=np.full(n_loans, 10_000.0), scheduled_payment=np.full(n_loans, 150.0),
        first_month=np.ones(n_loans, np.int64), balance=balance, principal_paid=principal,
        total_paid=paid, zero_balance_code=np.zeros(shape, np.int16),
        fico=np.full(n_loans, 700.0) if fico is None else fico,
        original_balance=np.full(n_loans, 12_000.0), vehicle_value=np.full(n_loans, 15_000.0),
        pti=np.full(n_loans, 0.1), vehicle_new=np.zeros(n_loans, bool),
        state=np.full(n_loans, "", dtype=object),
    )


@pytest.fixture(scope="module")
def panel() -> LoanPanel:
    return synthetic_panel(20_000, 36, dropout=0.03, seed=7)


def test_wilson_interval_by_hand() -> None:
    lo, hi = wilson_interval(np.array([5.0, 0.0]), np.array([10.0, 10.0]), 0.95)
    # p = 0.5, n = 10, z = 1.959964: centre 0.5, half-width z/(1+z^2/n) sqrt(p q/n + z^2/4n^2).
    z = 1.959963984540054
    half = z / (1 + z * z / 10) * np.sqrt(0.025 + z * z / 400)
    assert lo[0] == pytest.approx(0.5 - half) and hi[0] == pytest.approx(0.5 + half)
    assert lo[1] == 0.0 and hi[1] == pytest.approx(z * z / 10 / (1 + z * z / 10))


def test_smm_to_abs_inverts_abs_to_smm() -> None:
    ages = np.arange(1, 60)
    assert smm_to_abs(abs_to_smm(0.015, ages), ages) == pytest.approx(np.full(59, 0.015))


def test_proportional_hazards_recovers_exact_ratios() -> None:
    base = np.array([0.01, 0.02, 0.015])
    ratio = np.array([0.5, 1.0, 2.0])
    exposure = np.array([[100.0, 200.0, 50.0], [300.0, 100.0, 100.0], [80.0, 90.0, 300.0]])
    events = ratio[:, None] * base[None, :] * exposure
    fit_base, fit_ratio = proportional_hazards(events, exposure, prior_events=0.0)
    scale = fit_ratio[1]
    assert fit_ratio / scale == pytest.approx(ratio, rel=1e-6)
    assert fit_base * scale == pytest.approx(base, rel=1e-6)
    assert np.sum(fit_ratio * exposure.sum(1)) / exposure.sum() == pytest.approx(1.0)


def test_hazard_by_age_bands_by_hand() -> None:
    age = np.array([1, 1, 2, 3, 4, 4, 4])
    event = np.array([1, 0, 0, 1, 0, 1, 0])
    est = hazard_by_age(age, event, age_band=2)
    assert est.age_lo.tolist() == [1, 3] and est.age_hi.tolist() == [2, 4]
    assert est.at_risk.tolist() == [3, 4] and est.events.tolist() == [1, 2]
    assert est.hazard == pytest.approx([1 / 3, 0.5])
    assert est.at_ages(np.array([1, 2, 3, 9])) == pytest.approx([1 / 3, 1 / 3, 0.5, 0.5])


def _coverage(panel: LoanPanel, censoring: str) -> tuple[float, int, float]:
    """Share of per-age 95% intervals (both causes) covering the true hazard, their number,
    and the mean standardised error of the estimates."""
    cal = estimate_hazards(panel, scheme=SegmentScheme(None, False, None), prepay_age_band=1,
                           default_age_band=1, censoring=censoring)  # type: ignore[arg-type]
    hits, total, z = 0, 0, []
    for est, truth in ((cal.prepay, true_prepay), (cal.default, true_default)):
        keep = est.at_risk >= 200  # cells with a usable normal approximation
        h = truth(est.age_lo[keep].astype(float))
        hits += int(np.sum((est.lower[keep] <= h) & (h <= est.upper[keep])))
        total += int(keep.sum())
        se = np.sqrt(h * (1 - h) / est.at_risk[keep])
        z.extend(((est.hazard[keep] - h) / se).tolist())
    return hits / total, total, float(np.mean(z))


def test_hazards_fall_within_their_bands_at_the_stated_rate(panel: LoanPanel) -> None:
    coverage, k, mean_z = _coverage(panel, "risk_set")
    sigma = np.sqrt(LEVEL * (1 - LEVEL) / k)
    assert k >= 80
    assert abs(coverage - LEVEL) <= 3.5 * sigma, (coverage, k)
    assert abs(mean_z) <= 3.5 / np.sqrt(k)  # no systematic bias


def test_ignoring_censoring_fails(panel: LoanPanel) -> None:
    coverage, k, mean_z = _coverage(panel, "ignore")
    sigma = np.sqrt(LEVEL * (1 - LEVEL) / k)
    assert coverage < LEVEL - 10 * sigma, coverage  # far below the stated rate
    assert mean_z < -3.0  # hazards biased low: censored loans counted as survivors


def test_segment_multipliers_recover_a_known_ratio() -> None:
    rng = np.random.default_rng(3)
    fico = rng.choice([650.0, 760.0], 20_000)
    mult = np.where(fico < 700, 2.0, 1.0)
    panel = synthetic_panel(20_000, 30, dropout=0.02, seed=11, fico=fico, default_mult=mult)
    cal = estimate_hazards(panel, scheme=SegmentScheme((700.0,), False, None))
    seg = cal.segments
    r = seg.loc["fico[,700)", "default_ratio"] / seg.loc["fico[700,)", "default_ratio"]
    lo = seg.loc["fico[,700)", "default_lower"] / seg.loc["fico[700,)", "default_upper"]
    assert r == pytest.approx(2.0, rel=0.15) and lo > 1.0
    # The prepayment hazard does not depend on FICO here.
    pr = seg.loc["fico[,700)", "prepay_ratio"] / seg.loc["fico[700,)", "prepay_ratio"]
    assert pr == pytest.approx(1.0, abs=0.08)


def test_calibrated_model_file_loads_and_runs(panel: LoanPanel, tmp_path: Path) -> None:
    import yaml

    cal = estimate_hazards(panel, through=24, prepay_basis="count")
    model = cal.to_model("synthetic")
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(cal.model_dict("synthetic")))
    loaded = load_model(path)
    assert loaded == model
    assert loaded.default.hazard_curves is not None and "all" in loaded.default.hazard_curves
    assert loaded.factor.type == "none" and loaded.default.scorecard.normalise is False
    # The curves are the estimates: default band of ages 13-18 vs its truth (within 4 se).
    ages = np.arange(13, 19)
    curve = loaded.default.hazard_curves["all"]
    value = np.interp(ages, curve.ages, curve.values)
    est = cal.default
    row = int(np.flatnonzero(est.age_lo == 13)[0])
    assert value == pytest.approx(np.full(6, est.hazard[row]), rel=1e-6)
    assert abs(est.hazard[row] - true_default(ages).mean()) < 4 * np.sqrt(
        est.hazard[row] / est.at_risk[row])
    table = cal.table()
    assert {"cpr", "abs", "cdr", "smm_balance"} <= set(table.columns)
    # It runs in the engine on a tape (segments fall back to "all").
    from portfolio.tape import tape_from_columns

    tape = tape_from_columns({"loan_id": np.array(["x", "y"]), "balance": np.array([1e4, 2e4]),
                              "rate": np.array([0.06, 0.08]), "original_term": np.array([60, 72]),
                              "age": np.array([12, 20])})
    flows = expected_flows(prepare_collateral(tape, loaded)).flows
    assert np.isfinite(flows).all() and flows[:, 3].sum() > 0


def test_survival_matches_simulated_lifetimes() -> None:
    """Product-limit survival from a censored panel vs the true competing-risk survival."""
    panel = synthetic_panel(20_000, 36, dropout=0.03, seed=5)
    cal = estimate_hazards(panel, scheme=SegmentScheme(None, False, None), prepay_age_band=1,
                           default_age_band=1)
    table = cal.survival(10, 34)
    ages = np.arange(11, 35).astype(float)
    hp, hd = true_prepay(ages), true_default(ages)
    surv = np.cumprod(1 - hp - hd)
    cif_d = np.cumsum(np.r_[1.0, surv[:-1]] * hd)
    assert table["survival"].iloc[-1] == pytest.approx(surv[-1], abs=0.02)
    assert table["cif_default"].iloc[-1] == pytest.approx(cif_d[-1], abs=0.01)
    total = table["survival"] + table["cif_prepay"] + table["cif_default"]
    assert total.to_numpy() == pytest.approx(np.ones(len(total)))
