"""Fees accrue per month of the collection period: a first period longer than a month (lines
cut off before the pool) owes a month of servicing fee for each month, worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from portfolio._jit import python_twin
from portfolio.errors import InputError
from portfolio.tape import tape_from_columns
from simulation._waterfall_kernel import waterfall_kernel
from simulation.collateral import FIELD_NAMES
from simulation.deal import deal_from_dict
from simulation.deterministic import project_deterministic
from simulation.waterfall import compile_deal, run_waterfall


def tape(months_before_cutoff: list[int]):
    """Zero-rate 12-month loans of 1,200 (100 of principal a month), one per cut-off offset."""
    n = len(months_before_cutoff)
    return tape_from_columns({
        "loan_id": [f"L{i}" for i in range(n)], "balance": [1_200.0] * n, "rate": [0.0] * n,
        "original_term": [12] * n, "remaining_term": [12] * n,
        "months_before_cutoff": months_before_cutoff})


def test_later_months_balance_is_each_early_months_opening_balance():
    # A line cut off one month early opens its second month at 1,100; two months early, its
    # second and third at 1,100 and 1,000; a line cut off with the pool adds nothing.
    frame = project_deterministic(tape([0, 1, 2]))
    assert frame["later_months_balance"].iloc[0] == pytest.approx(1_100.0 + 1_100.0 + 1_000.0)
    assert not frame["later_months_balance"].iloc[1:].any()
    assert not project_deterministic(tape([0, 0]))["later_months_balance"].any()


def test_prepayments_in_the_early_month_lower_the_next_months_balance():
    # SMM 10%: of the 1,100 left after January's scheduled principal 110 prepays: 990.
    frame = project_deterministic(tape([1]), smm=0.10)
    assert frame["later_months_balance"].iloc[0] == pytest.approx(990.0)


def deal():
    return deal_from_dict({
        "name": "fee months",
        "closing_date": "2025-01-15",
        "first_payment_date": "2025-02-15",
        "initial_pool_balance": 120_000.0,
        "notes": [{"name": "A", "balance_usd": 100_000.0, "coupon": 0.0}],
        "fees": [{"name": "servicing", "rate": 0.12}, {"name": "trustee", "usd_per_month": 10.0}],
        "waterfall": [{"fee": "servicing"}, {"fee": "trustee"}, {"interest": ["A"]},
                      "regular_principal", "residual"],
    }, source="fee.yaml")


def pool_flows():
    out = np.zeros((1, 3, len(FIELD_NAMES)))
    out[0, :, FIELD_NAMES.index("interest")] = 5_000.0
    out[0, :, FIELD_NAMES.index("scheduled_principal")] = 10_000.0
    out[0, :, FIELD_NAMES.index("ending_balance")] = [110_000.0, 100_000.0, 90_000.0]
    return out


@pytest.mark.parametrize("kernel", [None, python_twin(waterfall_kernel)], ids=["jit", "python"])
def test_the_servicing_fee_accrues_on_each_month_of_the_first_period(kernel):
    # 1% a month: period 1 on 120,000 at the start and 50,000 at the start of its second month
    # (1,700), plus the trustee's 10 once a payment date; then 1% of 110,000 and of 100,000.
    later = np.array([50_000.0, 0.0, 0.0])
    r = run_waterfall(compile_deal(deal()), pool_flows(), later_months_balance=later,
                      kernel=kernel)
    np.testing.assert_allclose(r.fees_paid[0], [1_710.0, 1_110.0, 1_010.0])
    base = run_waterfall(compile_deal(deal()), pool_flows(), kernel=kernel)
    np.testing.assert_allclose(base.fees_paid[0], [1_210.0, 1_110.0, 1_010.0])
    assert np.abs(r.cash_imbalance()).max() < 1e-9


def test_a_misshapen_later_months_balance_is_refused():
    with pytest.raises(InputError, match="later-months balance"):
        run_waterfall(compile_deal(deal()), pool_flows(), later_months_balance=np.zeros(2))
    with pytest.raises(InputError, match="negative"):
        run_waterfall(compile_deal(deal()), pool_flows(),
                      later_months_balance=np.array([-1.0, 0.0, 0.0]))
