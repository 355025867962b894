"""Run inputs: the pool must lie at or before the deal's cut-off date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from autoabs.pipeline import check_tape_dates, resolve_inputs
from portfolio.errors import InputError
from portfolio.tape import tape_from_columns

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def three_loans(dates: list[str]):
    return tape_from_columns({
        "loan_id": np.array(["L1", "L2", "L3"], dtype=object),
        "balance": np.array([10_000.0, 12_000.0, 9_000.0]),
        "rate": np.array([0.06, 0.07, 0.08]),
        "original_term": np.array([60, 72, 60]),
        "age": np.array([3, 2, 1]),
        "origination_date": np.array(dates, dtype="datetime64[D]"),
    })


def test_a_tape_originated_after_the_cutoff_is_an_input_error_naming_row_and_loan():
    tape = three_loans(["2023-03-10", "2023-07-05", "NaT"])
    with pytest.raises(InputError) as info:
        check_tape_dates(tape, dt.date(2023, 6, 30), "tape.csv")
    text = str(info.value)
    assert "tape.csv" in text and "row 2" in text and "L2" in text
    assert "after the deal's cut-off date 2023-06-30" in text
    check_tape_dates(tape, dt.date(2023, 7, 5), "tape.csv")  # on the cut-off date: fine


def test_a_stated_cutoff_rejects_later_loans_an_implied_one_warns(tmp_path: Path):
    from autoabs.pipeline import input_warnings
    from simulation.deal import deal_from_dict

    tape = three_loans(["2023-03-10", "2023-07-05", "NaT"])
    base = {"name": "w", "closing_date": "2023-07-26", "first_payment_date": "2023-08-15",
            "notes": [{"name": "A", "balance": 0.9, "coupon": 0.05}],
            "waterfall": [{"interest": ["A"]}, "regular_principal", "residual"]}
    (late,) = input_warnings(deal_from_dict(base), tape)
    assert "1 loans are originated after 2023-06-30" in late and "cutoff_date" in late
    path = tmp_path / "tape.csv"
    tape.to_frame().to_csv(path, index=False)
    deal = tmp_path / "deal.yaml"
    deal.write_text("name: w\ncutoff_date: 2023-06-30\nclosing_date: 2023-07-26\n"
                    "first_payment_date: 2023-08-15\nnotes: [{name: A, balance: 0.9, "
                    "coupon: 0.05}]\nwaterfall: [{interest: [A]}, regular_principal]\n")
    with pytest.raises(InputError, match="row 2, origination_date: loan L2"):
        resolve_inputs(deal, tape=path, require_model=False)


def test_a_synthetic_pool_of_a_deal_is_drawn_at_the_deal_cutoff(tmp_path: Path):
    deal = (EXAMPLES / "prime_deal.yaml").read_text().replace(
        "loans: 20000", "loans: 300")
    path = tmp_path / "prime_deal.yaml"
    path.write_text(deal)
    (tmp_path / "prime_assumptions.yaml").write_text(
        (EXAMPLES / "prime_assumptions.yaml").read_text())
    inputs = resolve_inputs(path)
    cutoff = np.datetime64(inputs.deal.pool_cutoff_date, "D")
    assert inputs.tape.origination_date.max() <= cutoff
    assert inputs.tape.origination_date.max() >= cutoff - np.timedelta64(62, "D")


def test_guarding_warnings_fees_pool_balance_and_rep_lines():
    from autoabs.pipeline import input_warnings
    from simulation.deal import deal_from_dict

    base = {"name": "w", "closing_date": "2023-07-26", "first_payment_date": "2023-08-15",
            "notes": [{"name": "A", "balance": 0.9, "coupon": 0.05}],
            "waterfall": [{"interest": ["A"]}, "regular_principal", "residual"]}
    tape = three_loans(["2023-03-10", "2023-04-05", "NaT"])  # 31,000 USD
    assert input_warnings(deal_from_dict(base), tape) == ()
    # 10 bp a year of 31,000 USD is 31 USD: 2.60 a month is just over
    fees = {**base, "fees": [{"name": "trustee", "usd_per_month": 2.60}],
            "waterfall": [{"fee": "trustee"}, *base["waterfall"]]}
    (fee_warning,) = input_warnings(deal_from_dict(fees), tape)
    assert "10.1 bp" in fee_warning and "fees.usd_per_month" in fee_warning
    assert input_warnings(deal_from_dict({**fees, "fees": [
        {"name": "trustee", "usd_per_month": 2.58}]}), tape) == ()
    sized = {**base, "initial_pool_balance": 31_000 / 1.006}
    (gap,) = input_warnings(deal_from_dict(sized), tape)
    assert "+0.60%" in gap and "initial_pool_balance" in gap
    assert input_warnings(deal_from_dict({**base, "initial_pool_balance": 31_000 / 1.004}),
                          tape) == ()
    big = tape_from_columns({**{k: getattr(tape, k) for k in ("loan_id", "rate",
                                                              "original_term", "age")},
                             "balance": np.array([3e6, 2e6, 1e6])})
    (rep,) = input_warnings(deal_from_dict(base), big)
    assert "representative lines" in rep and "loan_count" in rep
    counted = tape_from_columns({**{k: getattr(big, k) for k in ("loan_id", "rate",
                                                                 "original_term", "age",
                                                                 "balance")},
                                 "loan_count": np.array([120, 80, 40])})
    (split,) = input_warnings(deal_from_dict(base), counted)
    assert "3 representative lines standing for 240 loans" in split


def test_rep_lines_are_split_into_their_loans():
    tape = tape_from_columns({
        "loan_id": np.array(["R1", "R2"], dtype=object),
        "balance": np.array([3_000_000.0, 500_000.0]),
        "rate": np.array([0.05, 0.09]),
        "original_term": np.array([60, 72]),
        "age": np.array([6, 3]),
        "loan_count": np.array([150, 20]),
    })
    loans = tape.split_rep_lines()
    assert len(loans) == 170 and not loans.is_rep_lines
    assert loans.total_balance == pytest.approx(tape.total_balance, rel=1e-15)
    assert loans.balance[0] == pytest.approx(20_000.0) and loans.balance[-1] == 25_000.0
    assert loans.loan_id[0] == "R1#1" and loans.loan_id[149] == "R1#150"
    assert loans.loan_id[150] == "R2#1"
    np.testing.assert_array_equal(loans.rate[150:], 0.09)
    np.testing.assert_allclose(loans.original_balance[:150].sum(), tape.original_balance[0])
    with pytest.raises(ValueError, match="170 loans"):
        tape.split_rep_lines(max_loans=100)
