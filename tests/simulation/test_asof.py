"""Projections from a reporting date continue the run from closing.

A status file derived from a run at period 12 and projected from there must give, period by
period, what the run itself gave from period 13 on:

- the waterfall alone, on any pool flows (here paths that breach the delinquency and CNL
  triggers, draw the reserve and accelerate after an event of default): bit for bit;
- the whole deterministic run, the month-12 pool given as a tape of its loans at their
  expected balances: to rounding (the tape's balances are products of survival shares).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autoabs.cli import main
from portfolio.errors import InputError
from portfolio.tape import LoanTape, tape_from_columns
from simulation.asof import deal_program
from simulation.collateral import FIELD_NAMES
from simulation.conversions import abs_to_smm
from simulation.deal import load_deal
from simulation.deterministic import project_deterministic, waterfall_inputs
from simulation.status import load_status, status_from_run, write_status
from simulation.structuring import deterministic_run
from simulation.waterfall import run_waterfall

DEAL = "examples/subprime_turbo_deal.yaml"
MONTH = 12
ABS, MDR, SEVERITY = 0.015, 0.004, 0.55


@pytest.fixture(scope="module")
def deal():
    return load_deal(DEAL)


def _loans(n: int = 40) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    term = rng.choice([48, 60, 72], n)
    return {"loan_id": np.array([f"L{k}" for k in range(n)]),
            "balance": np.round(rng.uniform(8_000, 40_000, n), 2),
            "rate": np.round(rng.uniform(0.08, 0.22, n), 4),
            "original_term": term, "remaining_term": term - rng.integers(0, 12, n)}


def _level_pay_balance(balance, rate, n, k):
    """Scheduled balance after ``k`` of ``n`` level payments (textbook annuity)."""
    r = rate / 12.0
    growth = (1.0 + r) ** n
    return balance * (growth - (1.0 + r) ** k) / (growth - 1.0)


def _tape_after(loans: dict[str, np.ndarray], months: int):
    """The pool after ``months`` of the deterministic run: each loan at its expected balance.

    Performing share ``prod (1 - MDR)(1 - SMM_age)`` (charge-off in the month of default, no
    recovery lag: nothing is left in a delinquency pipeline) times the scheduled balance.
    """
    age0 = loans["original_term"] - loans["remaining_term"]
    ages = age0[:, None] + np.arange(1, months + 1)[None, :]
    share = np.prod((1.0 - MDR) * (1.0 - abs_to_smm(np.full(months, ABS)[None, :], ages)),
                    axis=1)
    balance = share * _level_pay_balance(loans["balance"], loans["rate"],
                                         loans["remaining_term"], months)
    return tape_from_columns({**loans, "balance": balance,
                              "remaining_term": loans["remaining_term"] - months})


OPTIONS = {"abs_speed": ABS, "mdr": MDR, "severity": SEVERITY}


def test_a_deterministic_projection_from_the_status_continues_the_run(deal, tmp_path):
    loans = _loans()
    closing = deterministic_run(deal, tape_from_columns(loans), **OPTIONS)
    status = status_from_run(deal, closing.program, closing.tranche_flows, closing.flows, MONTH)
    path = write_status(status, tmp_path / "status.yaml")
    status = load_status(path, deal)  # through the file, as a user would
    later = deterministic_run(deal, _tape_after(loans, MONTH), status=status, **OPTIONS)

    a, b = closing.tranche_flows, later.tranche_flows
    n = b.n_periods
    assert a.n_periods == MONTH + n
    pool = [FIELD_NAMES.index(f) for f in FIELD_NAMES if f != "n_active"]
    np.testing.assert_allclose(later.flows[:, pool], closing.flows[MONTH:, pool], rtol=1e-9,
                               atol=1e-6)
    for name in ("interest_paid", "principal_paid", "ending_balance", "interest_due"):
        np.testing.assert_allclose(getattr(b, name)[0], getattr(a, name)[0][:, MONTH:],
                                   rtol=1e-9, atol=1e-6, err_msg=name)
    for name in ("reserve_balance", "oc_amount", "oc_target", "residual", "fees_paid",
                 "pool_balance", "available_funds", "principal_distribution_amount"):
        np.testing.assert_allclose(getattr(b, name)[0], getattr(a, name)[0][MONTH:],
                                   rtol=1e-9, atol=1e-6, err_msg=name)
    np.testing.assert_array_equal(b.trigger_breached[0], a.trigger_breached[0][:, MONTH:])
    np.testing.assert_array_equal(b.sequential_mode[0], a.sequential_mode[0][MONTH:])
    assert b.call_period[0] == (a.call_period[0] - MONTH if a.call_period[0] >= 0 else -1)
    # the dates are the deal's: payment dates after the reporting date, times from it
    sched_a, sched_b = closing.program.schedule(a.n_periods), later.program.schedule(n)
    np.testing.assert_array_equal(sched_b.paid, sched_a.paid[MONTH:])
    assert sched_b.years[0] == pytest.approx(
        (sched_a.paid[MONTH] - sched_a.paid[MONTH - 1]).astype(float) / 365.0)
    # realised plus projected net loss over the original pool
    np.testing.assert_allclose(later.projection["cnl"].to_numpy(),
                               closing.projection["cnl"].to_numpy()[MONTH:], rtol=1e-9)
    assert later.projection.index[0] == MONTH + 1


def _paths(deal, loans):
    """Pool flows of one pool under several default rates: quiet, stressed, broken."""
    tape = tape_from_columns(loans)
    flows = [waterfall_inputs(project_deterministic(tape, abs_speed=ABS, mdr=mdr,
                                                    severity=SEVERITY, recovery_lag=2,
                                                    chargeoff_months=4))[0]
             for mdr in (0.002, 0.012, 0.03, 0.08)]
    n = max(f.shape[0] for f in flows)
    padded = np.zeros((len(flows), n, len(FIELD_NAMES)))
    for k, f in enumerate(flows):
        padded[k, :f.shape[0]] = f
    return tape, padded


def test_the_waterfall_from_each_paths_status_continues_it_bit_for_bit(deal):
    tape, flows = _paths(deal, _loans())
    program = deal_program(deal, tape)
    full = run_waterfall(program, flows)
    # the paths do what the test is about: delinquency trigger, CNL step-up, acceleration
    assert full.trigger_breached[:, 0, :MONTH].any() and full.trigger_breached[:, 1].any()
    assert (full.event_of_default_period >= 0).any()
    for p in range(flows.shape[0]):
        status = status_from_run(deal, program, full, flows, MONTH, path=p)
        later = run_waterfall(deal_program(deal, tape, status), flows[p, MONTH:])
        for name in ("interest_due", "interest_paid", "principal_paid", "ending_balance",
                     "coupon_rate", "trigger_breached", "fee_arrears"):
            np.testing.assert_array_equal(getattr(later, name)[0],
                                          getattr(full, name)[p][..., MONTH:], err_msg=name)
        for name in ("available_funds", "fees_paid", "reserve_draw", "reserve_balance",
                     "residual", "oc_amount", "oc_target", "pool_balance",
                     "principal_distribution_amount", "sequential_mode", "swap_arrears",
                     "interest_default_run"):
            np.testing.assert_array_equal(getattr(later, name)[0],
                                          getattr(full, name)[p][MONTH:], err_msg=name)
        np.testing.assert_array_equal(later.principal_loss[0], full.principal_loss[p])
        eod = full.event_of_default_period[p]
        assert later.event_of_default_period[0] == (eod - MONTH if eod >= MONTH else -1)


def test_a_status_that_does_not_fit_the_deal_is_refused_naming_the_field(deal, tmp_path):
    loans = _loans()
    closing = deterministic_run(deal, tape_from_columns(loans), **OPTIONS)
    status = status_from_run(deal, closing.program, closing.tranche_flows, closing.flows, MONTH)
    tape = _tape_after(loans, MONTH)
    bad = status.model_copy(update={"reporting_date": status.collection_period_end})
    with pytest.raises(InputError, match=r"s\.yaml.*reporting_date.*payment date of period 12"):
        deal_program(deal, tape, bad, status_source="s.yaml")
    triggers = dict(status.triggers)
    triggers.pop("cnl_step_up")
    with pytest.raises(InputError, match="triggers.*missing cnl_step_up"):
        deal_program(deal, tape, status.model_copy(update={"triggers": triggers}))
    short = dict(status.triggers)
    short["delinquency"] = short["delinquency"].model_copy(update={"history": [0.01]})
    with pytest.raises(InputError, match=r"triggers\.delinquency\.history.*last 2"):
        deal_program(deal, tape, status.model_copy(update={"triggers": short}))
    with pytest.raises(InputError, match=r"oc_amount.*pool balance less the notes"):
        deal_program(deal, tape, status.model_copy(update={"oc_amount": status.oc_amount + 5}))
    paid = {c: s.model_copy(update={"balance": 0.0}) for c, s in status.classes.items()}
    with pytest.raises(InputError, match="nothing to project"):
        deal_program(deal, tape, status.model_copy(update={
            "classes": paid, "oc_amount": status.pool_balance}))


def _write_tape(tape: LoanTape, path: Path) -> Path:
    tape.to_frame().to_csv(path, index=False)
    return path


def _cli_inputs(deal, tmp_path: Path) -> tuple[Path, Path, Path]:
    loans = _loans()
    closing_tape = _write_tape(tape_from_columns(loans), tmp_path / "closing.csv")
    assert main(["status", DEAL, "--tape", str(closing_tape), "--month", str(MONTH),
                 "--abs", "1.5", "--cdr", "0.4", "--severity", "55",
                 "--out", str(tmp_path / "status.yaml")]) == 0
    current = _write_tape(_tape_after(loans, MONTH), tmp_path / "current.csv")
    return closing_tape, current, tmp_path / "status.yaml"


def test_cli_cashflows_and_vector_project_from_a_status(deal, tmp_path, capsys):
    _, current, status = _cli_inputs(deal, tmp_path)
    assert main(["cashflows", DEAL, "--tape", str(current), "--as-of", str(status),
                 "--abs", "1.5", "--out", str(tmp_path / "cf")]) == 0
    assert "from period 12" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "cf" / "cashflows.csv")
    assert table["period"].min() == MONTH + 1
    first = table[table["period"] == MONTH + 1].set_index("class")
    reported = load_status(status, deal)
    for name, c in reported.classes.items():
        assert first.loc[name, "beginning_balance"] == pytest.approx(c.balance, abs=1e-9)
    assert main(["vector", DEAL, "--tape", str(current), "--as-of", str(status),
                 "--abs", "1.5", "--cdr", "0.4", "--severity", "55",
                 "--csv", str(tmp_path / "v.csv")]) == 0
    pool = pd.read_csv(tmp_path / "v.csv", index_col="period")
    assert pool.index[0] == MONTH + 1
    assert pool["cnl"].iloc[0] > reported.cumulative_net_loss / reported.original_pool_balance


def test_cli_as_of_errors_exit_2_naming_the_file(deal, tmp_path, capsys):
    _, current, status = _cli_inputs(deal, tmp_path)
    capsys.readouterr()
    assert main(["cashflows", DEAL, "--as-of", str(status)]) == 2
    assert "--tape" in capsys.readouterr().err
    text = status.read_text(encoding="utf-8").replace("reporting_date: '", "reporting_date: '1")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("period: 12", "period: 13"), encoding="utf-8")
    assert main(["cashflows", DEAL, "--tape", str(current), "--as-of", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "Traceback" not in err
    # valid on its own, but not the deal's payment date of its period: found by the run
    import yaml

    raw = yaml.safe_load(status.read_text(encoding="utf-8"))
    raw["reporting_date"] = raw["collection_period_end"]
    off = tmp_path / "off_date.yaml"
    off.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert main(["run", DEAL, "--tape", str(current), "--as-of", str(off), "--paths", "8",
                 "--no-report", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "off_date.yaml" in err and "reporting_date" in err and "Traceback" not in err


def test_cli_monte_carlo_run_from_a_status(deal, tmp_path, capsys, monkeypatch):
    """``run --as-of``: every path starts from the reported state, CNL counts what is realised."""
    import json

    monkeypatch.setenv("AUTOABS_PDF_RENDERER", "none")
    _, current, status_file = _cli_inputs(deal, tmp_path)
    status = load_status(status_file, deal)
    out = tmp_path / "run"
    assert main(["run", DEAL, "--tape", str(current), "--as-of", str(status_file),
                 "--paths", "64", "--out", str(out)]) == 0
    report = (out / "report.html").read_text(encoding="utf-8")
    assert (f"Projected from the reporting date after payment period {MONTH} "
            f"({status.reporting_date})") in report
    assert f"Balance and hard CE after period {MONTH}" in report
    printed = capsys.readouterr().out
    assert f"after period {MONTH} ({status.reporting_date})" in " ".join(printed.split())
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["provenance"]["as_of"] == {"period": MONTH,
                                              "reporting_date": str(status.reporting_date)}
    rows = {r["name"]: r for r in summary["classes"]}
    pool, reserve = status.pool_balance, status.reserve_balance
    notes = sum(c.balance for c in status.classes.values())
    junior = 0.0
    for name in reversed(list(status.classes)):  # hard CE from the reported state, by hand
        row, balance = rows[name], status.classes[name].balance
        assert row["balance"] == pytest.approx(balance)
        assert row["hard_ce"] == pytest.approx((junior + pool - notes + reserve) / pool)
        junior += balance
        if balance == 0.0:  # paid before the reporting date: nothing to yield or lose
            assert row["yield"] is None and row["el"] == 0.0
    realised = status.cumulative_net_loss / status.original_pool_balance
    paths = pd.read_parquet(out / "pool_paths.parquet")
    assert (paths["cnl"] >= realised - 1e-12).all()
    assert summary["pool"]["initial_balance"] == pytest.approx(status.original_pool_balance)


def test_cli_stress_from_a_status_runs_every_scenario_from_it(deal, tmp_path):
    import json

    _, current, status_file = _cli_inputs(deal, tmp_path)
    out = tmp_path / "stress"
    assert main(["stress", DEAL, "--tape", str(current), "--as-of", str(status_file),
                 "--scenarios", "baseline,severely_adverse", "--paths", "32", "--no-report",
                 "--out", str(out)]) == 0
    for name in ("baseline", "severely_adverse"):
        summary = json.loads((out / "scenarios" / name / "summary.json").read_text())
        assert summary["provenance"]["as_of"]["period"] == MONTH
        assert not (out / "scenarios" / name / "paydown.csv").exists()


def test_deterministic_runs_say_they_start_delinquent_loans_current(deal, tmp_path, capsys):
    _, current, status = _cli_inputs(deal, tmp_path)
    frame = pd.read_csv(current)
    frame.loc[:1, "days_past_due"] = 45
    frame.to_csv(current, index=False)
    late = frame.loc[:1, "balance"].sum()
    capsys.readouterr()
    assert main(["cashflows", DEAL, "--tape", str(current), "--as-of", str(status),
                 "--out", str(tmp_path / "cf")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"2 loans ({late:,.2f} USD) are 30+ days past due" in out
    assert "starts every loan current" in out


def test_a_yield_supplement_deal_projects_on_the_current_loans_ysoc(tmp_path):
    """From a status, the YSOC amounts are the current loans' (the receivables form at that
    date) and the targets stay on the original adjusted pool; without the adjusted pool
    balances the status is refused naming both fields."""
    from simulation.yield_supplement import ysoc_schedule

    deal = load_deal("examples/captive_ysoc_deal.yaml")
    loans = _loans()
    loans["rate"] = np.round(loans["rate"] / 1.5, 4)  # some APRs below the required rate
    closing = deterministic_run(deal, tape_from_columns(loans), **OPTIONS)
    status = status_from_run(deal, closing.program, closing.tranche_flows, closing.flows, MONTH)
    current = _tape_after(loans, MONTH)
    program = deal_program(deal, current, status)
    np.testing.assert_array_equal(
        program.ysoc_amount, ysoc_schedule(current, deal.yield_supplement.required_rate))
    assert program.initial_adjusted_pool_balance == status.original_adjusted_pool_balance
    assert program.start.adjusted_pool_balance == status.adjusted_pool_balance
    bare = status.model_copy(update={"adjusted_pool_balance": None,
                                     "original_adjusted_pool_balance": None})
    with pytest.raises(InputError, match=r"(?s)s\.yaml.*original_adjusted_pool_balance.*"
                                         r"adjusted_pool_balance"):
        deal_program(deal, current, bare, status_source="s.yaml")
