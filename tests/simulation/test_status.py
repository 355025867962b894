"""Status files: derived from a deterministic run, written, read back and validated."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from autoabs.cli import main
from portfolio.errors import InputError
from simulation.deal import load_deal
from simulation.status import load_status

DEAL = "examples/subprime_turbo_deal.yaml"
REST = ["--abs", "1.5", "--severity", "55", "--lag", "2", "--chargeoff-months", "4"]
VECTORS = ["--cdr", "0.6", *REST]


def _derive(out, vectors):
    assert main(["status", DEAL, "--month", "12", *vectors, "--out", str(out / "s.yaml")]) == 0
    assert main(["vector", DEAL, *vectors, "--csv", str(out / "v.csv")]) == 0
    return out


@pytest.fixture(scope="module")
def derived(tmp_path_factory):
    return _derive(tmp_path_factory.mktemp("status"), VECTORS)


@pytest.mark.parametrize(("mdr", "breached"), [("0.6", False), ("5", True)])
def test_status_is_the_run_at_the_reporting_period(tmp_path, mdr, breached):
    derived = _derive(tmp_path, ["--cdr", mdr, *REST])
    status = load_status(derived / "s.yaml", load_deal(DEAL))
    pool = pd.read_csv(derived / "v.csv", index_col="period")
    classes = pd.read_csv(derived / "v.classes.csv")
    at = classes[classes["period"] == 12].set_index("class")
    assert status.period == 12
    for name, c in status.classes.items():
        assert c.balance == pytest.approx(at.loc[name, "ending_balance"], abs=1e-6)
    assert status.pool_balance == pytest.approx(pool.loc[12, "ending_balance"], abs=1e-6)
    b0 = status.original_pool_balance
    net = (pool.loc[:12, "defaulted_principal"] - pool.loc[:12, "recoveries"]).sum()
    assert status.cumulative_net_loss == pytest.approx(net, rel=1e-9)
    assert status.triggers["cnl_step_up"].value == pytest.approx(net / b0, rel=1e-9)
    # 60+ delinquency ratio of the last 3 collection periods, by hand.
    ratio = ((pool["delinquent_60"] + pool["delinquent_90p"]) / pool["ending_balance"])
    dq = status.triggers["delinquency"]
    np.testing.assert_allclose(dq.history, ratio.loc[10:12].to_numpy(), rtol=1e-9)
    assert dq.value == pytest.approx(np.mean(dq.history))
    # The waterfall's own verdict agrees with the recomputed value and threshold.
    assert dq.breached == (dq.value > 0.08) == breached
    step_up = status.triggers["cnl_step_up"]  # 6% of the pool in year 1
    assert step_up.breached == (step_up.value > 0.06) == breached
    assert status.reserve_balance == pytest.approx(at["reserve_balance"].iloc[0])
    assert str(status.reporting_date) == at["payment_date"].iloc[0]


def test_status_file_errors_name_the_field(derived, tmp_path, capsys):
    raw = yaml.safe_load((derived / "s.yaml").read_text(encoding="utf-8"))
    deal = load_deal(DEAL)
    bad = dict(raw, pool_balance=-1.0)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad), encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.yaml.*pool_balance"):
        load_status(path)
    wrong = dict(raw, classes={"A": {"balance": 1.0}})
    path.write_text(yaml.safe_dump(wrong), encoding="utf-8")
    load_status(path)  # valid on its own ...
    with pytest.raises(InputError, match="expected the deal's classes"):
        load_status(path, deal)  # ... but not this deal's
    long = yaml.safe_load(yaml.safe_dump(raw))
    long["triggers"]["delinquency"]["history"] = [0.01] * 4
    long["triggers"]["nope"] = {"breached": False}
    path.write_text(yaml.safe_dump(long), encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_status(path, deal)
    text = str(err.value)
    assert "triggers.delinquency.history: holds 4 values; the trigger averages 3" in text
    assert "not triggers of the deal: nope" in text
    assert main(["status", DEAL, "--month", "999", *VECTORS, "--out", str(path)]) == 2
    assert "--month" in capsys.readouterr().err


def test_a_curable_trigger_reports_how_long_its_cure_has_held(tmp_path):
    # Defaults only in months 1-4: the 3-month 60+ delinquency average breaches early, then
    # falls back and the (curable) turbo trigger cures. The counter counts the periods
    # without a breach since the last one, read off the waterfall's own verdicts by period.
    vectors = ["--cdr", "6,6,6,6,0", *REST]
    derived = _derive(tmp_path, vectors)
    status = load_status(derived / "s.yaml", load_deal(DEAL))
    classes = pd.read_csv(derived / "v.classes.csv").drop_duplicates("period")
    flags = ["delinquency" in str(v).split(";") for v in
             classes.set_index("period").loc[:12, "triggers_breached"]]
    assert any(flags) and not flags[-1]  # breached, then cured by month 12
    last_breach = max(k for k, hit in enumerate(flags, start=1) if hit)
    dq = status.triggers["delinquency"]
    assert not dq.breached and dq.cure_counter == 12 - last_breach > 0
    assert status.triggers["cnl_step_up"].cure_counter == 0  # not curable
