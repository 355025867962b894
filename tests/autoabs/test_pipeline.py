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
