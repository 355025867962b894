"""Vector-driven deterministic runs: a three-loan pool worked by hand, period by period.

The hand case below is written from the conventions of ``docs/surveillance.md`` alone (it
shares no code with the engine): per loan, the scheduled balance of a level-payment loan, a
dollar share ``D`` of it still performing (recast schedule: curtailments scale it), a loan
count share ``N`` (only full payoffs and defaults end a loan), defaults ``MDR_t`` of the
performing share, full prepayments ``SMM_t`` and curtailments ``C_t`` of the survivors,
charge-off ``chargeoff - 1`` months after the first missed payment, recovery
``(1 - severity_s)`` in ``s + lag_s`` for a charge-off in ``s``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from autoabs.cli import main
from portfolio.errors import InputError
from portfolio.tape import tape_from_columns
from simulation.deterministic import project_deterministic
from simulation.vectors import assumption_vectors, parse_vector, read_vector_file

LOANS = [(10_000.0, 0.12, 4), (6_000.0, 0.06, 3), (3_000.0, 0.0, 2)]


@pytest.fixture
def three_loans():
    return tape_from_columns({
        "loan_id": np.array(["a", "b", "c"]),
        "balance": np.array([b for b, _, _ in LOANS]),
        "rate": np.array([r for _, r, _ in LOANS]),
        "original_term": np.array([n for _, _, n in LOANS]),
        "remaining_term": np.array([n for _, _, n in LOANS]),
    })


def _held(v, t):
    return v[min(t, len(v) - 1)]


def hand_worked(mdr, smm, curtail, severity, lag, chargeoff, horizon):
    """Expected flows by period (0-based rows), loan by loan, with the textbook formulas."""
    f = {k: np.zeros(horizon) for k in ("interest", "sched", "prepaid", "co", "rec", "dq30",
                                        "ending", "active")}
    pending = []  # (last period still on the books, balance) of defaulted loans
    count_exits = np.zeros(horizon)
    for balance, apr, n in LOANS:
        r = apr / 12
        pay = balance * r / (1 - (1 + r) ** -n) if r else balance / n
        b, dollars, count = balance, 1.0, 1.0
        for t in range(n):
            q_d, q_p, c = _held(mdr, t), _held(smm, t), _held(curtail, t)
            d = dollars * q_d
            performing = dollars - d
            sched = b if t == n - 1 else pay - b * r
            left = performing * (b - sched)
            f["interest"][t] += performing * b * r
            f["sched"][t] += performing * sched
            f["prepaid"][t] += left * q_p + left * (1 - q_p) * c
            s = t + chargeoff - 1
            f["co"][s] += d * b
            f["rec"][s + _held(lag, s)] += d * b * (1 - _held(severity, s))
            if chargeoff > 1:
                f["dq30"][t] += d * b
            pending.append((s - 1, t, d * b))
            count_d = count * q_d
            count_exits[s] += count_d
            count_exits[t] += (count - count_d) * q_p
            count = (count - count_d) * (1 - q_p)
            dollars = performing * (1 - q_p) * (1 - c)
            b -= sched
            f["ending"][t] += dollars * b
        count_exits[n - 1] += count
    for last, first, amount in pending:  # delinquent balances stay in the pool until charge-off
        for t in range(first, last + 1):
            f["ending"][t] += amount
    f["active"] = len(LOANS) - np.cumsum(count_exits)
    return f


def _compare(got, want):
    n = len(got)
    for ours, theirs in (("interest", "interest"), ("scheduled_principal", "sched"),
                         ("prepaid_principal", "prepaid"), ("defaulted_principal", "co"),
                         ("recoveries", "rec"), ("delinquent_30", "dq30"),
                         ("ending_balance", "ending"), ("n_active", "active")):
        np.testing.assert_allclose(got[ours].to_numpy(), want[theirs][:n], atol=1e-8, rtol=0,
                                   err_msg=ours)
    assert np.all(want["rec"][n:] == 0) and np.all(want["co"][n:] == 0)


def test_vector_run_matches_the_hand_worked_pool_period_by_period(three_loans):
    mdr = [0.01, 0.03, 0.02]
    smm = [0.05, 0.02]
    curtail = [0.0, 0.01, 0.02]
    severity = [0.6, 0.4, 0.5, 0.3]
    lag = [1, 0, 2, 1]
    got = project_deterministic(three_loans, mdr=mdr, smm=smm, curtailment=curtail,
                                severity=severity, recovery_lag=lag, chargeoff_months=2)
    _compare(got, hand_worked(mdr, smm, curtail, severity, lag, 2, 12))
    # The hand case really exercises every vector: recoveries land at three different lags.
    assert got["recoveries"].gt(0).sum() >= 3


def test_annual_rates_convert_by_twelve_month_compounding(three_loans):
    vectors = assumption_vectors({"cdr": (np.array([6.0, 12.0]), "--cdr"),
                                  "cpr": (np.array([18.0]), "--cpr"),
                                  "severity": (np.array([45.0]), "--severity"),
                                  "recovery_lag": (np.array([3.0]), "--lag")}, annual=True)
    mdr = [1 - 0.94 ** (1 / 12), 1 - 0.88 ** (1 / 12)]
    smm = [1 - 0.82 ** (1 / 12)]
    got = project_deterministic(three_loans, **vectors.projection_options(), chargeoff_months=1)
    _compare(got, hand_worked(mdr, smm, [0.0], [0.45], [3], 1, 12))


def test_abs_vector_applies_the_abs_formula_by_loan_age():
    # One loan aged 2 at the cut-off: ages 3, 4 in periods 1, 2; SMM = ABS / (1 - ABS (age-1)).
    tape = tape_from_columns({"loan_id": np.array(["x"]), "balance": np.array([1200.0]),
                              "rate": np.array([0.0]), "original_term": np.array([5]),
                              "remaining_term": np.array([3])})
    got = project_deterministic(tape, abs_speed=[0.02, 0.03])
    smm1, smm2 = 0.02 / (1 - 0.02 * 2), 0.03 / (1 - 0.03 * 3)
    assert got.loc[1, "prepaid_principal"] == pytest.approx(smm1 * 800.0, abs=1e-10)
    assert got.loc[2, "prepaid_principal"] == pytest.approx((1 - smm1) * smm2 * 400.0, abs=1e-10)


def test_scalar_options_still_give_the_constant_run(three_loans):
    got = project_deterministic(three_loans, mdr=0.01, smm=0.02, severity=0.4, recovery_lag=1,
                                chargeoff_months=2)
    _compare(got, hand_worked([0.01], [0.02], [0.0], [0.4], [1], 2, 12))


def test_vector_file_and_options(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("period,cdr,cpr,severity,recovery_lag,curtailment\n"
                    "1,1,5,60,1,0\n2,3,2,40,0,1\n", encoding="utf-8")
    values = read_vector_file(path)
    np.testing.assert_array_equal(values["cdr"], [1.0, 3.0])
    np.testing.assert_array_equal(parse_vector("2, 2.5,3", "--cdr"), [2.0, 2.5, 3.0])
    bad = tmp_path / "bad.csv"
    bad.write_text("period,cdr\n1,1\n2,x\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.csv: row 2, cdr: expected a number, got 'x'"):
        read_vector_file(bad)
    bad.write_text("period,cdr\n1,1\n3,1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 2, period: expected periods 1, 2"):
        read_vector_file(bad)
    bad.write_text("period,severity\n1,120\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 1, severity: must lie in \[0, 100\] percent"):
        read_vector_file(bad)
    bad.write_text("period,cdx\n1,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="cdx: unknown column"):
        read_vector_file(bad)
    with pytest.raises(InputError, match=r"--lag: value 2 \(period 2\): must lie in 0..60"):
        assumption_vectors({"recovery_lag": (np.array([1.0, 1.5]), "--lag")})
    with pytest.raises(InputError, match="--cpr: expected a number or a comma list"):
        parse_vector("5,,", "--cpr")


def test_cli_vector_run_writes_what_the_projection_gives(tmp_path, capsys):
    vec = tmp_path / "v.csv"
    vec.write_text("period,cdr,severity\n1,0.2,60\n2,0.4,40\n", encoding="utf-8")
    out = tmp_path / "run.csv"
    code = main(["vector", "examples/prime_deal.yaml", "--vectors", str(vec), "--cpr", "1,1.5",
                 "--lag", "2", "--curtailment", "0.1", "--csv", str(out),
                 "--xlsx", str(tmp_path / "run.xlsx")])
    assert code == 0
    pool = pd.read_csv(out, index_col="period")
    classes = pd.read_csv(tmp_path / "run.classes.csv")
    assert {"cnl", "mdr", "smm", "cpr", "severity", "recovery_lag", "curtailment"} <= set(pool)
    assert pool.loc[1, "mdr"] == pytest.approx(0.002) and pool.loc[5, "mdr"] == pytest.approx(
        0.004)
    assert pool.loc[3, "severity"] == pytest.approx(0.4)
    # The class table runs on the same pool projection.
    first = classes[classes["class"] == classes["class"].iloc[0]].set_index("period")
    np.testing.assert_allclose(first["pool_balance"].to_numpy()[:10],
                               pool["ending_balance"].to_numpy()[:10], rtol=1e-9)
    assert (tmp_path / "run.xlsx").is_file()
    # Bad input: exit 2, a message naming the place, no traceback.
    code = main(["vector", "examples/prime_deal.yaml", "--vectors", str(vec), "--cdr", "1",
                 "--csv", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "--cdr" in err and "Traceback" not in err


def test_vectors_of_a_line_with_an_earlier_cutoff_run_from_its_own_cutoff(three_loans):
    # Loan a's own cut-off is one month before the pool's: its vectors (severity and lag by
    # its own charge-off month too) run from its own month 1, and its months 1 and 2 are
    # collected in period 1; b and c run on the pool's months.
    options = dict(mdr=[0.01, 0.03, 0.02], smm=[0.05, 0.02], curtailment=[0.0, 0.01],
                   severity=[0.6, 0.4, 0.5], recovery_lag=[1, 0, 2], chargeoff_months=2)
    cols = {f: getattr(three_loans, f) for f in ("loan_id", "balance", "rate", "original_term",
                                                 "remaining_term")}
    early = tape_from_columns({**cols, "months_before_cutoff": np.array([1, 0, 0])})
    got = project_deterministic(early, **options)
    a_alone = project_deterministic(three_loans.subset(np.array([0])), **options)
    bc = project_deterministic(three_loans.subset(np.array([1, 2])), **options)
    for field in ("interest", "scheduled_principal", "prepaid_principal",
                  "defaulted_principal", "recoveries"):
        a = a_alone[field].to_numpy()
        folded = np.concatenate([[a[0] + a[1]], a[2:], [0.0]])
        want = np.pad(folded, (0, max(0, len(got) - len(folded))))[:len(got)] + np.pad(
            bc[field].to_numpy(), (0, len(got)))[:len(got)]
        np.testing.assert_allclose(got[field].to_numpy(), want, atol=1e-9, rtol=0,
                                   err_msg=field)
    assert got["recoveries"].sum() == pytest.approx(
        a_alone["recoveries"].sum() + bc["recoveries"].sum(), rel=1e-12)
