"""Waterfall: a deal worked by hand, one targeted test per feature, Python-twin parity."""


import numpy as np

from simulation.collateral import FIELD_NAMES
from simulation.deal import deal_from_dict
from simulation.waterfall import compile_deal, run_waterfall

F = {name: k for k, name in enumerate(FIELD_NAMES)}
POOL = 1_000_000.0


def pool_flows(rows):
    """PoolFlows (1, T, 10) from rows (interest, scheduled, prepaid, defaulted, recoveries,
    ending balance[, dq60, dq90p])."""
    out = np.zeros((1, len(rows), len(FIELD_NAMES)))
    for t, row in enumerate(rows):
        out[0, t, :6] = row[:6]
        if len(row) > 6:
            out[0, t, F["delinquent_60"]] = row[6]
            out[0, t, F["delinquent_90p"]] = row[7]
    return out


def amortising(n=12, pool=POOL, rate=0.10, losses=None, recoveries=None):
    """A pool paying 1/n of its original balance a month with 10% APR interest."""
    rows = []
    bal = pool
    losses = losses or {}
    recoveries = recoveries or {}
    for t in range(n):
        sched = min(pool / n, bal)
        d = min(losses.get(t, 0.0), bal - sched)
        interest = bal * rate / 12
        bal = bal - sched - d
        rows.append((interest, sched, 0.0, d, recoveries.get(t, 0.0), bal))
    return pool_flows(rows)


def make_deal(**overrides):
    base = {
        "name": "test",
        "closing_date": "2025-01-15",
        "first_payment_date": "2025-02-15",
        "initial_pool_balance": POOL,
        "notes": [
            {"name": "A", "balance_usd": 800_000, "coupon": 0.06},
            {"name": "B", "balance_usd": 150_000, "coupon": 0.12},
        ],
        "fees": [{"name": "servicing", "rate": 0.01}, {"name": "trustee", "usd_per_month": 100}],
        "overcollateralization": {"target_current": 0.05},
        "waterfall": [{"fee": "servicing"}, {"fee": "trustee"}, {"interest": ["A"]},
                      {"interest": ["B"]}, "regular_principal", "residual"],
    }
    base.update(overrides)
    return deal_from_dict(base, source="test.yaml")


def run(deal, flows, index=None):
    result = run_waterfall(compile_deal(deal), flows, index)
    imbalance = result.cash_imbalance()
    assert np.all(np.abs(imbalance) <= 1e-6 * np.maximum(result.available_funds, 1.0))
    return result


# --------------------------------------------------------------------------------------------
# (a) Two-class sequential deal worked by hand, six periods.
#
# Pool 1,000,000. Class A 800,000 at 6% fixed (30/360: balance x 0.06/12 = balance x 0.005),
# class B 150,000 at 12% fixed (150,000 x 0.01 = 1,500 a month). Servicing 1% a year on the
# beginning pool balance (/12), trustee 100 a month. OC target 5% of the current pool, so the
# principal distribution amount is PDA = notes - (pool_end - 0.05 x pool_end) = notes - 0.95 x
# pool_end. Order: servicing, trustee, A interest, B interest, principal (sequential), residual.
# Period 6 is the last: the pool is gone, everything goes to principal.
HAND_FLOWS = [
    # interest, scheduled, prepaid, defaulted, recoveries, ending pool
    (8_000, 40_000, 10_000, 0, 0, 950_000),
    (7_600, 38_000, 12_000, 0, 0, 900_000),
    (7_200, 36_000, 9_000, 5_000, 0, 850_000),
    (6_800, 34_000, 6_000, 10_000, 2_000, 800_000),
    (6_000, 30_000, 0, 170_000, 3_000, 600_000),
    (4_800, 580_000, 0, 20_000, 5_000, 0),
]
# Collections = interest + scheduled + prepaid + recoveries:
HAND_COLLECTIONS = [58_000.0, 57_600.0, 52_200.0, 48_800.0, 39_000.0, 589_800.0]
# Fees = beginning pool x 0.01/12 + 100:
#   1,000,000/1200 = 833.333...; 950,000/1200 = 791.666...; 900,000/1200 = 750;
#   850,000/1200 = 708.333...;   800,000/1200 = 666.666...; 600,000/1200 = 500.
HAND_FEES = [933.3333333333334, 891.6666666666666, 850.0, 808.3333333333334,
             766.6666666666666, 600.0]
# A interest = beginning A balance x 0.005:
#   p1 800,000 -> 4,000; p2 752,500 -> 3,762.5; p3 705,000 -> 3,525; p4 658,675 -> 3,293.375;
#   p5 615,476.708333 -> 3,077.383541667; p6 581,820.758541667 -> 2,909.103792708.
HAND_A_INTEREST = [4_000.0, 3_762.5, 3_525.0, 3_293.375, 3_077.383541666667,
                   2_909.1037927083335]
HAND_B_INTEREST = [1_500.0] * 6
# Available for principal = collections - fees - A interest - B interest:
#   p1 58,000 - 933.3333 - 4,000 - 1,500 = 51,566.6667; PDA = 950,000 - 0.95 x 950,000 = 47,500
#      -> A pays 47,500 (A = 752,500), residual 51,566.6667 - 47,500 = 4,066.6667
#   p2 57,600 - 891.6667 - 3,762.5 - 1,500 = 51,445.8333; PDA = 902,500 - 855,000 = 47,500
#      -> A = 705,000, residual 3,945.8333
#   p3 52,200 - 850 - 3,525 - 1,500 = 46,325; PDA = 855,000 - 807,500 = 47,500 > 46,325
#      -> all 46,325 to A (A = 658,675), residual 0
#   p4 48,800 - 808.3333 - 3,293.375 - 1,500 = 43,198.2917; PDA = 808,675 - 760,000 = 48,675
#      -> A = 615,476.7083, residual 0
#   p5 39,000 - 766.6667 - 3,077.3835 - 1,500 = 33,655.9498; PDA = 765,476.7083 - 570,000
#      = 195,476.7083 -> A = 581,820.7585, residual 0
#   p6 589,800 - 600 - 2,909.1038 - 1,500 = 584,790.8962; last period: PDA = all notes
#      -> A repaid 581,820.7585, B gets 584,790.8962 - 581,820.7585 = 2,970.1377,
#      B loses 150,000 - 2,970.1377 = 147,029.8623.
HAND_A_PRINCIPAL = [47_500.0, 47_500.0, 46_325.0, 43_198.291666666664, 33_655.949791666666,
                    581_820.7585416667]
HAND_B_PRINCIPAL = [0.0, 0.0, 0.0, 0.0, 0.0, 2_970.137665624963]
HAND_RESIDUAL = [4_066.6666666666642, 3_945.8333333333358, 0.0, 0.0, 0.0, 0.0]
HAND_A_BALANCE = [752_500.0, 705_000.0, 658_675.0, 615_476.7083333334, 581_820.7585416667, 0.0]
HAND_B_LOSS = 147_029.86233437504


def test_two_class_sequential_deal_worked_by_hand():
    r = run(make_deal(), pool_flows(HAND_FLOWS))
    tol = {"rtol": 0.0, "atol": 1e-8}
    np.testing.assert_allclose(r.available_funds[0], HAND_COLLECTIONS, **tol)
    np.testing.assert_allclose(r.fees_paid[0], HAND_FEES, **tol)
    np.testing.assert_allclose(r.interest_paid[0, 0], HAND_A_INTEREST, **tol)
    np.testing.assert_allclose(r.interest_paid[0, 1], HAND_B_INTEREST, **tol)
    np.testing.assert_allclose(r.principal_paid[0, 0], HAND_A_PRINCIPAL, **tol)
    np.testing.assert_allclose(r.principal_paid[0, 1], HAND_B_PRINCIPAL, **tol)
    np.testing.assert_allclose(r.residual[0], HAND_RESIDUAL, **tol)
    np.testing.assert_allclose(r.ending_balance[0, 0], HAND_A_BALANCE, **tol)
    np.testing.assert_allclose(r.principal_loss[0], [0.0, HAND_B_LOSS], **tol)
    np.testing.assert_allclose(r.interest_shortfall[0], [0.0, 0.0], **tol)
    assert r.event_of_default_period[0] == -1 and r.call_period[0] == -1
