"""Waterfall: a deal worked by hand, one targeted test per feature, Python-twin parity."""



import numpy as np
import pytest

from portfolio._jit import python_twin
from portfolio.errors import InputError
from simulation._waterfall_kernel import waterfall_kernel
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


# --------------------------------------------------------------------------------------------
# (c) One targeted test per feature.

WATERFALL_WITH_RESERVE = [{"fee": "servicing"}, {"fee": "trustee"}, {"interest": ["A"]},
                          {"interest": ["B"]}, "reserve_deposit", "regular_principal", "residual"]


def test_reserve_draw_covers_interest_and_is_refilled_then_released():
    deal = make_deal(reserve={"initial": 0.01, "target": 0.01},
                     waterfall=WATERFALL_WITH_RESERVE)
    flows = pool_flows([
        (8_000, 40_000, 10_000, 0, 0, 950_000),
        (1_000, 0, 0, 0, 0, 950_000),  # collections 1,000: fees and interest need the reserve
        (7_600, 38_000, 12_000, 0, 0, 900_000),
        (7_000, 900_000, 0, 0, 0, 0),
    ])
    r = run(deal, flows)
    fees_1 = 950_000 * 0.01 / 12 + 100
    a_interest_1 = 752_500 * 0.005
    draw_1 = fees_1 + a_interest_1 + 1_500 - 1_000
    assert r.reserve_draw[0, 1] == pytest.approx(draw_1, abs=1e-8)
    assert r.reserve_balance[0, 1] == pytest.approx(10_000 - draw_1, abs=1e-8)
    np.testing.assert_allclose(r.interest_paid[0, :, 1], [a_interest_1, 1_500])
    assert r.event_of_default_period[0] == -1
    # Period 3 refills the reserve to its target from excess spread before principal.
    assert r.reserve_deposit[0, 2] == pytest.approx(draw_1, abs=1e-8)
    assert r.reserve_balance[0, 2] == pytest.approx(10_000)
    # The last period releases the whole reserve into available funds.
    assert r.reserve_release[0, 3] == pytest.approx(10_000)
    assert r.reserve_balance[0, 3] == 0.0
    assert r.principal_loss[0].sum() == 0.0


def test_reserve_covers_principal_shortfall_at_the_end():
    deal = make_deal(reserve={"initial": 0.02, "target": 0.02},
                     waterfall=WATERFALL_WITH_RESERVE)
    # The last period: the pool's collections fall short of the notes.
    flows = pool_flows([(5_000, 880_000, 0, 120_000, 20_000, 0)])
    r = run(deal, flows)
    # Collections 905,000 + the whole reserve 20,000 - fees 933.33 - interest 5,500 = 918,566.67
    # of principal for 950,000 of notes.
    available = 905_000 + 20_000 - (1_000_000 * 0.01 / 12 + 100) - 4_000 - 1_500
    assert r.reserve_draw[0, 0] == pytest.approx(20_000)
    assert r.principal_paid[0, :, 0].sum() == pytest.approx(available)
    assert r.principal_loss[0, 0] == 0.0
    assert r.principal_loss[0, 1] == pytest.approx(950_000 - available)


def test_full_turbo_sends_all_excess_spread_to_principal():
    deal = make_deal(overcollateralization={"target_current": 0.0, "turbo": True})
    flows = amortising(12)
    r = run(deal, flows)
    outstanding = r.ending_balance[0].sum(axis=0) > 0
    assert np.all(r.residual[0, :-1][outstanding[:-1]] == 0.0)
    # Without turbo and without an OC target the same deal leaks excess spread.
    plain = run(make_deal(overcollateralization={"target_current": 0.0}), flows)
    assert plain.residual[0, 0] > 0.0
    assert r.ending_balance[0, 0, 0] < plain.ending_balance[0, 0, 0]


def test_oc_target_builds_from_excess_spread():
    deal = make_deal(overcollateralization={"target_current": 0.10, "target_initial": 0.02,
                                            "floor": 0.01})
    r = run(deal, amortising(24))
    pool_end = r.pool_balance[0]
    np.testing.assert_allclose(r.oc_target[0, :-1],
                               np.minimum(pool_end, 0.10 * pool_end + 20_000)[:-1])
    # Once built (residual paid), OC sits at the target.
    built = r.residual[0] > 0
    np.testing.assert_allclose(r.oc_amount[0][built], r.oc_target[0][built], rtol=1e-9)


def pro_rata_deal(**overrides):
    spec = {
        "notes": [{"name": "A", "balance_usd": 600_000, "coupon": 0.05},
                  {"name": "B", "balance_usd": 300_000, "coupon": 0.07}],
        "pro_rata_groups": [{"classes": ["A", "B"], "switch_to_sequential": True}],
        "overcollateralization": {"target_current": 0.10},
        "triggers": [{"name": "cnl", "metric": "cnl", "threshold": 0.02, "effect": "sequential"}],
    }
    spec.update(overrides)
    return make_deal(**spec)


def test_cnl_trigger_switches_pro_rata_to_sequential():
    r = run(pro_rata_deal(), amortising(24, losses={3: 30_000.0}))
    paid = r.principal_paid[0]
    # Before the breach principal is shared 2:1, in proportion to the balances.
    np.testing.assert_allclose(paid[0, :3], 2.0 * paid[1, :3], rtol=1e-12)
    assert paid[1, 0] > 0
    assert not r.trigger_breached[0, 0, :3].any() and r.trigger_breached[0, 0, 3:].all()
    assert not r.sequential_mode[0, :3].any() and r.sequential_mode[0, 3:].all()
    # After it (non-curable), B gets no principal while A is outstanding.
    a_out = r.ending_balance[0, 0] > 0
    assert np.all(paid[1, 3:][a_out[3:]] == 0.0)


def test_cnl_schedule_steps_up_by_period():
    deal = pro_rata_deal(triggers=[{"name": "cnl", "metric": "cnl",
                                    "schedule": [[1, 0.01], [4, 0.05]], "effect": "sequential",
                                    "curable": True}])
    r = run(deal, amortising(12, losses={1: 20_000.0}))
    # CNL is 2% from period 2: above 1% in periods 2-3, below 5% from period 4 (curable).
    np.testing.assert_array_equal(r.trigger_breached[0, 0, :6],
                                  [False, True, True, False, False, False])


def test_delinquency_trigger_uses_the_rolling_average():
    deal = make_deal(
        notes=[{"name": "A", "balance_usd": 500_000, "coupon": 0.05},
               {"name": "B", "balance_usd": 100_000, "coupon": 0.08}],
        triggers=[{"name": "dq", "metric": "delinquency_60", "window": 3, "threshold": 0.03,
                   "effect": "turbo", "curable": True}])
    ratios = [0.01, 0.01, 0.10, 0.0, 0.0, 0.0, 0.0]
    flows = pool_flows([(7_500, 0, 0, 0, 0, 900_000, 0.6 * q * 900_000, 0.4 * q * 900_000)
                        for q in ratios])
    r = run(deal, flows)
    # Rolling 3-month averages: 1%, 1%, 4%, 3.67%, 3.33%, 0%, 0% against 3%.
    expected = [False, False, True, True, True, False, False]
    np.testing.assert_array_equal(r.trigger_breached[0, 0], expected)
    # Turbo while breached: no residual; otherwise the OC target is met and spread leaks.
    assert np.all(r.residual[0, 2:5] == 0.0) and np.all(r.residual[0, [0, 1, 5]] > 0.0)


def test_oc_trigger_steps_up_the_reserve_target():
    deal = make_deal(reserve={"initial": 0.01, "target": 0.01, "step_up_target": 0.02},
                     overcollateralization={"target_current": 0.08},
                     triggers=[{"name": "oc", "metric": "oc", "threshold": 0.06,
                                "effect": "reserve_step_up", "curable": True}],
                     waterfall=WATERFALL_WITH_RESERVE)
    r = run(deal, amortising(12))
    # Initial OC is 5% < 6%: breached on the first payment date, target 2% of 1,000,000.
    assert r.trigger_breached[0, 0, 0]
    assert r.reserve_deposit[0, 0] == pytest.approx(10_000)
    assert r.reserve_balance[0, 0] == pytest.approx(20_000)
    # OC builds above 6% and the trigger cures; the excess over 1% is released.
    cured = np.flatnonzero(~r.trigger_breached[0, 0])
    assert cured.size and r.reserve_release[0, cured[0]] == pytest.approx(10_000)


def test_event_of_default_accelerates_and_pays_by_seniority():
    flows = pool_flows([
        (8_000, 40_000, 10_000, 0, 0, 950_000),
        (2_000, 0, 0, 0, 0, 950_000),  # 2,000 cannot pay fees and A interest: EoD
        (7_600, 38_000, 12_000, 0, 0, 900_000),
        (7_000, 30_000, 0, 0, 0, 870_000),
        (6_000, 870_000, 0, 0, 0, 0),
    ])
    r = run(make_deal(), flows)
    assert r.event_of_default_period[0] == 1
    fees_1 = 950_000 * 0.01 / 12 + 100
    assert r.interest_paid[0, 0, 1] == pytest.approx(2_000 - fees_1)
    assert r.interest_shortfall[0].sum() == 0.0  # all caught up by the end
    # Accelerated from period 3: A gets interest (with the carried shortfall) and then all the
    # rest as principal; B gets neither interest nor principal while A is outstanding.
    fees_2 = 950_000 * 0.01 / 12 + 100
    a_due_2 = 752_500 * 0.005 + (752_500 * 0.005 - (2_000 - fees_1))
    assert r.interest_due[0, 0, 2] == pytest.approx(a_due_2)
    assert r.principal_paid[0, 0, 2] == pytest.approx(57_600 - fees_2 - a_due_2)
    assert r.interest_paid[0, 1, 2] == 0.0 and r.principal_paid[0, 1, 2] == 0.0
    assert r.sequential_mode[0, 2:].all()
    assert r.residual[0, 2:4].sum() == 0.0


def test_clean_up_call_buys_the_pool_repays_notes_releases_reserve():
    deal = make_deal(reserve={"initial": 0.005, "target": 0.005}, clean_up_call=0.10,
                     waterfall=WATERFALL_WITH_RESERVE)
    r = run(deal, amortising(12))
    # Ending pool 1,000,000 x (1 - 11/12) = 83,333 <= 10% of the initial pool in period 11.
    assert r.call_period[0] == 10
    assert r.call_proceeds[0, 10] == pytest.approx(1_000_000 / 12)
    assert r.available_funds[0, 10] > r.call_proceeds[0, 10]
    np.testing.assert_array_equal(r.ending_balance[0, :, 10], [0.0, 0.0])
    assert r.reserve_balance[0, 10] == 0.0 and r.reserve_release[0, 10] == pytest.approx(5_000)
    assert r.residual[0, 10] > 0
    assert r.available_funds[0, 11] == 0.0 and r.residual[0, 11] == 0.0
    assert r.pool_balance[0, 10] == 0.0
    assert r.principal_loss[0].sum() == 0.0


def swap_deal(**overrides):
    spec = {
        "notes": [{"name": "A", "balance_usd": 800_000, "type": "floating", "index": "SOFR",
                   "spread": 0.01},
                  {"name": "B", "balance_usd": 150_000, "coupon": 0.12}],
        "swaps": [{"note": "A", "fixed_rate": 0.04}],
        "waterfall": [{"fee": "servicing"}, {"fee": "trustee"}, "swap", {"interest": ["A"]},
                      {"interest": ["B"]}, "regular_principal", "residual"],
    }
    spec.update(overrides)
    return make_deal(**spec)


@pytest.mark.parametrize("index", [0.05, 0.03])
def test_swap_nets_fixed_against_index_senior_to_interest(index):
    r = run(swap_deal(), amortising(6), np.full(6, index))
    # Act/360 between business-day adjusted payment dates: 15 Feb 2025 is a Saturday and 17 Feb
    # Washington's Birthday, so closing 15 Jan to 18 Feb is 34 days; 15 Mar is a Saturday, so
    # 18 Feb to 17 Mar is 27 days. The fixed leg is 30/360 (whole months: 1/12).
    net_0 = 800_000 * (index * 34 / 360 - 0.04 / 12)
    assert r.swap_net_receipt[0, 0] == pytest.approx(net_0, abs=1e-8)
    a_bal_1 = r.ending_balance[0, 0, 0]
    assert r.swap_net_receipt[0, 1] == pytest.approx(a_bal_1 * (index * 27 / 360 - 0.04 / 12))
    assert r.coupon_rate[0, 0, 0] == pytest.approx(index + 0.01)
    assert r.interest_due[0, 0, 0] == pytest.approx(800_000 * (index + 0.01) * 34 / 360)


def test_swap_payment_comes_before_note_interest():
    deal = swap_deal()
    flows = pool_flows([(8_000, 40_000, 10_000, 0, 0, 950_000),
                        (3_000, 0, 0, 0, 0, 950_000), (9_000, 950_000, 0, 0, 0, 0)])
    r = run(deal, flows, np.zeros(3))  # index 0: the trust pays the full fixed leg
    fees_1 = 950_000 * 0.01 / 12 + 100
    swap_1 = r.ending_balance[0, 0, 0] * 0.04 / 12
    # 3,000 pays the fees and part of the swap payment; nothing is left for A's interest.
    assert -r.swap_net_receipt[0, 1] == pytest.approx(3_000 - fees_1)
    assert r.interest_paid[0, 0, 1] == 0.0
    assert r.event_of_default_period[0] == 1
    # The unpaid swap amount is carried and paid first in the next period.
    swap_2 = swap_1 - (3_000 - fees_1) + r.ending_balance[0, 0, 1] * 0.04 / 12
    assert -r.swap_net_receipt[0, 2] == pytest.approx(swap_2)


def test_floating_coupon_floor_and_cap():
    deal = swap_deal(notes=[{"name": "A", "balance_usd": 800_000, "type": "floating",
                             "index": "SOFR", "spread": 0.005, "floor": 0.0, "cap": 0.06},
                            {"name": "B", "balance_usd": 150_000, "coupon": 0.12}], swaps=[],
                     waterfall=[{"fee": "servicing"}, {"fee": "trustee"}, {"interest": ["A"]},
                                {"interest": ["B"]}, "regular_principal", "residual"])
    r = run(deal, amortising(3), np.array([[-0.01, 0.08, 0.03]]))
    np.testing.assert_allclose(r.coupon_rate[0, 0], [0.0, 0.06, 0.035])
    np.testing.assert_allclose(r.coupon_rate[0, 1], [0.12] * 3)


def test_index_paths_per_path():
    deal = swap_deal()
    index = np.array([[0.05] * 6, [0.01] * 6])
    r = run(deal, np.repeat(amortising(6), 2, axis=0), index)
    assert r.swap_net_receipt[0, 0] > 0 > r.swap_net_receipt[1, 0]


def test_money_market_class_accrues_act_360():
    deal = make_deal(notes=[{"name": "A-1", "balance_usd": 100_000, "type": "money_market",
                             "coupon": 0.05},
                            {"name": "A-2", "balance_usd": 700_000, "coupon": 0.06},
                            {"name": "B", "balance_usd": 150_000, "coupon": 0.12}],
                     waterfall=[{"fee": "servicing"}, {"fee": "trustee"},
                                {"interest": ["A-1", "A-2"]}, {"interest": ["B"]},
                                "regular_principal", "residual"])
    r = run(deal, amortising(4))
    # adjusted payment dates 18 Feb and 17 Mar 2025 (see the swap test): 34 and 27 days
    assert r.interest_due[0, 0, 0] == pytest.approx(100_000 * 0.05 * 34 / 360)
    assert r.interest_due[0, 0, 1] == pytest.approx(r.ending_balance[0, 0, 0] * 0.05 * 27 / 360)
    assert r.interest_due[0, 1, 0] == pytest.approx(700_000 * 0.06 / 12)  # 30/360


def test_unpaid_class_at_legal_final_is_an_event_of_default():
    deal = make_deal(notes=[{"name": "A", "balance_usd": 800_000, "coupon": 0.06,
                             "legal_final": "2025-04-15"},
                            {"name": "B", "balance_usd": 150_000, "coupon": 0.12}])
    r = run(deal, amortising(12))
    # Legal final in April 2025 = period index 2 (Feb 0, Mar 1, Apr 2); the pool cannot pay
    # 800,000 by then. The principal distribution amount takes all of A's balance.
    assert r.event_of_default_period[0] == 2
    assert r.principal_distribution_amount[0, 2] >= r.ending_balance[0, 0, 1]
    assert r.residual[0, 2] == 0.0


def test_priority_principal_is_paid_before_junior_interest():
    waterfall = [{"fee": "servicing"}, {"fee": "trustee"}, {"interest": ["A"]},
                 {"priority_principal": "A"}, {"interest": ["B"]}, "regular_principal",
                 "residual"]
    flows = pool_flows([(8_000, 40_000, 0, 260_000, 0, 700_000),
                        (6_000, 700_000, 0, 0, 0, 0)])
    r = run(make_deal(waterfall=waterfall), flows)
    # A (800,000) exceeds the pool (700,000) by 100,000: the first priority principal amount.
    available = 48_000 - (1_000_000 * 0.01 / 12 + 100) - 4_000
    assert r.principal_paid[0, 0, 0] == pytest.approx(available)
    assert r.interest_paid[0, 1, 0] == 0.0 and r.interest_due[0, 1, 0] == 1_500.0
    assert r.event_of_default_period[0] == -1  # B is not the controlling class
    # The regular order pays B interest before any principal.
    plain = run(make_deal(), flows)
    assert plain.interest_paid[0, 1, 0] == 1_500.0


def test_run_waterfall_rejects_bad_shapes():
    program = compile_deal(make_deal())
    with pytest.raises(InputError, match="pool flows"):
        run_waterfall(program, np.zeros((2, 5, 9)))
    with pytest.raises(InputError, match="index rates"):
        run_waterfall(program, np.zeros((2, 5, len(FIELD_NAMES))), np.zeros((3, 5)))


def test_compile_needs_a_pool_balance_and_notes_within_it():
    deal = make_deal(initial_pool_balance=None)
    with pytest.raises(InputError, match="initial_pool_balance"):
        compile_deal(deal)
    with pytest.raises(InputError, match="notes: note balances add up"):
        compile_deal(deal, 900_000.0)
    assert compile_deal(deal, 2_000_000.0).original_balance.sum() == 950_000.0


# --------------------------------------------------------------------------------------------
# (e) Python twin of the interpreter.


def test_python_twin_parity():
    deal = pro_rata_deal(
        reserve={"initial": 0.01, "target": 0.01, "step_up_target": 0.02},
        triggers=[{"name": "cnl", "metric": "cnl", "threshold": 0.02, "effect": "sequential"},
                  {"name": "oc", "metric": "oc", "threshold": 0.05, "effect": "reserve_step_up",
                   "curable": True}],
        waterfall=WATERFALL_WITH_RESERVE, clean_up_call=0.1)
    program = compile_deal(deal)
    flows = np.concatenate([amortising(18, losses={3: 30_000.0}),
                            amortising(18, losses={1: 5_000.0, 6: 90_000.0}),
                            amortising(18)])
    jitted = run_waterfall(program, flows)
    twin = run_waterfall(program, flows, kernel=python_twin(waterfall_kernel))
    for name in ("ending_balance", "interest_paid", "principal_paid", "reserve_balance",
                 "residual", "trigger_breached", "sequential_mode", "call_period",
                 "event_of_default_period", "principal_loss"):
        np.testing.assert_allclose(getattr(twin, name), getattr(jitted, name), rtol=1e-12,
                                   atol=1e-9, err_msg=name)


def test_clean_up_call_is_not_exercised_into_a_note_loss():
    deal = make_deal(clean_up_call=0.10)
    # 300,000 of losses in period 2: when the pool falls below 10% the notes exceed it by far.
    r = run(deal, amortising(12, losses={1: 300_000.0}))
    assert r.call_period[0] == -1
    assert r.principal_loss[0, 1] > 0.0


# --------------------------------------------------------------------------------------------
# Conventions: stub accrual from closing, and the yield at par of every class.


def stub_deal():
    return make_deal(
        closing_date="2023-07-26", first_payment_date="2023-08-15",
        notes=[{"name": "A-1", "balance_usd": 100_000, "type": "money_market", "coupon": 0.056},
               {"name": "A-2", "balance_usd": 500_000, "coupon": 0.0572},
               {"name": "A-3", "balance_usd": 200_000, "type": "floating", "index": "SOFR",
                "spread": 0.008},
               {"name": "B", "balance_usd": 150_000, "coupon": 0.12}],
        waterfall=[{"fee": "servicing"}, {"fee": "trustee"},
                   {"interest": ["A-1", "A-2", "A-3"]}, {"interest": ["B"]},
                   "regular_principal", "residual"])


def test_first_period_accrues_from_closing_30_360_fixed_act_360_otherwise():
    r = run(stub_deal(), amortising(12), np.full(12, 0.053))
    # closing 26 Jul 2023 to 15 Aug 2023: 19 days 30/360, 20 actual days
    assert r.interest_due[0, 0, 0] == pytest.approx(100_000 * 0.056 * 20 / 360)
    assert r.interest_due[0, 1, 0] == pytest.approx(500_000 * 0.0572 * 19 / 360)
    assert r.interest_due[0, 2, 0] == pytest.approx(200_000 * 0.061 * 20 / 360)
    assert r.interest_due[0, 3, 0] == pytest.approx(150_000 * 0.12 * 19 / 360)
    # later periods: whole 30/360 months; act/360 15 Aug -> 15 Sep = 31 days
    assert r.interest_due[0, 1, 1] == pytest.approx(r.ending_balance[0, 1, 0] * 0.0572 / 12)
    assert r.interest_due[0, 0, 1] == pytest.approx(r.ending_balance[0, 0, 0] * 0.056 * 31 / 360)


def test_at_par_without_losses_every_class_yields_its_coupon_in_its_own_convention():
    from simulation import metrics

    program = compile_deal(stub_deal())
    r = run_waterfall(program, amortising(12), np.full(12, 0.053))
    assert r.principal_loss.max() == 0.0 and r.interest_shortfall.max() == 0.0
    cash = (r.interest_paid + r.principal_paid)[0]
    y = metrics.cashflow_yield(cash, program.original_balance, program.yield_fractions(12))
    np.testing.assert_allclose(y, [0.056, 0.0572, 0.061, 0.12], rtol=0, atol=1e-12)
    # the yield the issue reported (4.97% for a 5.60% A-1) came from whole-month periods
    assert metrics.cashflow_yield(cash[0], 100_000.0, 1 / 12) < 0.0545
# (f) Deal features of issue 13: legal final in the priority principal amount, a deal-file
# post-acceleration order, event-of-default grace periods, OC target step-up.

LEGAL_FINAL_WATERFALL = [{"fee": "servicing"}, {"fee": "trustee"}, {"interest": ["A"]},
                         {"priority_principal": "A"}, {"interest": ["B"]}, "reserve_deposit",
                         "regular_principal", "residual"]
# A 100,000 at 6% (legal final 2025-03-15 = period 2), B 800,000 at 12%; reserve 1% of the
# initial pool (10,000); OC target 10% of the current pool.
LEGAL_FINAL_FLOWS = [(8_000, 20_000, 0, 0, 0, 980_000),
                     (7_000, 20_000, 50_000, 0, 0, 910_000),
                     (6_000, 910_000, 0, 0, 0, 0)]


def legal_final_deal(legal_final="2025-03-15"):
    return make_deal(notes=[{"name": "A", "balance_usd": 100_000, "coupon": 0.06,
                             "legal_final": legal_final},
                            {"name": "B", "balance_usd": 800_000, "coupon": 0.12}],
                     reserve={"initial": 0.01, "target": 0.01},
                     overcollateralization={"target_current": 0.10},
                     legal_final_in_priority_principal=True, waterfall=LEGAL_FINAL_WATERFALL)


def test_class_at_legal_final_is_paid_ahead_of_junior_interest_from_the_reserve():
    r = run(legal_final_deal(), pool_flows(LEGAL_FINAL_FLOWS))
    # Period 1: collections 28,000; fees 833.3333 + 100; A interest 500; no priority amount
    # (A 100,000 < pool 980,000, legal final not reached); B interest 8,000; PDA = 900,000 -
    # (980,000 - 98,000) = 18,000 to A (A = 82,000); residual 566.6667.
    assert r.principal_paid[0, 0, 0] == pytest.approx(18_000.0)
    assert r.residual[0, 0] == pytest.approx(28_000 - 933.3333333333334 - 500 - 8_000 - 18_000)
    # Period 2 (A's legal final): collections 77,000; fees 816.6667 + 100; A interest 410;
    # left 75,673.3333. The priority principal amount is all of A, 82,000: the reserve gives
    # 6,326.6667 and A is retired. B's interest 8,000 then gets the reserve's last 3,673.3333.
    left = 77_000 - (980_000 * 0.01 / 12 + 100) - 410
    assert r.principal_paid[0, 0, 1] == pytest.approx(82_000.0)
    assert r.ending_balance[0, 0, 1] == 0.0
    np.testing.assert_allclose(r.interest_paid[0, :, 1], [410.0, 10_000 - (82_000 - left)])
    assert r.reserve_draw[0, 1] == pytest.approx(10_000.0)
    assert r.reserve_balance[0, 1] == 0.0
    assert r.interest_due[0, 1, 2] == pytest.approx(8_000 + 8_000 - (10_000 - (82_000 - left)))
    assert r.event_of_default_period[0] == -1  # A, the controlling class, was paid in full
    # Without the legal final, B's interest is paid before any A principal and A stays out.
    plain = run(legal_final_deal(legal_final=None), pool_flows(LEGAL_FINAL_FLOWS))
    assert plain.interest_paid[0, 1, 1] == 8_000.0 and plain.reserve_draw[0, 1] == 0.0
    assert plain.principal_paid[0, 0, 1] == pytest.approx(63_000.0)  # PDA 882,000 - 819,000
    # Without the proviso, the PDA rises to A's balance but is paid after B's interest.
    off = run(legal_final_deal().model_copy(update={"legal_final_in_priority_principal": False}),
              pool_flows(LEGAL_FINAL_FLOWS))
    assert off.interest_paid[0, 1, 1] == 8_000.0
    assert off.principal_paid[0, 0, 1] == pytest.approx(left - 8_000)
    assert off.event_of_default_period[0] == 1


def test_unpaid_legal_final_defaults_after_the_principal_grace_periods():
    notes = [{"name": "A", "balance_usd": 800_000, "coupon": 0.06, "legal_final": "2025-04-15"},
             {"name": "B", "balance_usd": 150_000, "coupon": 0.12}]
    r = run(make_deal(notes=notes, events_of_default={"principal_grace_periods": 2}),
            amortising(12))
    # Legal final at period index 2; A is still outstanding on the two grace payment dates.
    assert r.event_of_default_period[0] == 4


ACCELERATED = [{"fee": "servicing"}, {"fee": "trustee"},
               {"interest": ["A-1", "A-2", "A-3"]}, {"principal": ["A-1"]},
               {"principal": ["A-2", "A-3"]}, {"interest": ["B"]}, {"principal": ["B"]},
               "residual"]


def accelerated_deal(**overrides):
    spec = {"notes": [{"name": "A-1", "balance_usd": 50_000, "coupon": 0.06},
                      {"name": "A-2", "balance_usd": 300_000, "coupon": 0.06},
                      {"name": "A-3", "balance_usd": 400_000, "coupon": 0.06},
                      {"name": "B", "balance_usd": 200_000, "coupon": 0.12}],
            "waterfall": [{"fee": "servicing"}, {"fee": "trustee"},
                          {"interest": ["A-1", "A-2", "A-3"]}, {"interest": ["B"]},
                          "regular_principal", "residual"],
            "accelerated_waterfall": ACCELERATED}
    spec.update(overrides)
    return make_deal(**spec)


EOD_FLOWS = [(8_000, 40_000, 10_000, 0, 0, 950_000),
             (2_000, 0, 0, 0, 0, 950_000),  # cannot pay the fees and the A interest: EoD
             (7_600, 38_000, 12_000, 0, 0, 900_000),
             (7_000, 30_000, 0, 0, 0, 870_000),
             (6_000, 870_000, 0, 0, 0, 0)]


def test_post_acceleration_order_pays_a1_first_then_the_other_a_pro_rata():
    r = run(accelerated_deal(), pool_flows(EOD_FLOWS))
    assert r.event_of_default_period[0] == 1
    # Period 1: PDA = 950,000 - 0.95 x 950,000 = 47,500 to A-1 (A-1 = 2,500).
    assert r.ending_balance[0, 0, 0] == pytest.approx(2_500.0)
    # Period 3, accelerated: fees, all A interest due (with the period-2 shortfall), A-1's
    # 2,500, then the rest to in proportion 300,000 : 400,000; B gets nothing.
    fees = 950_000 * 0.01 / 12 + 100
    a_due = r.interest_due[0, :3, 2].sum()
    assert r.interest_paid[0, :3, 2].sum() == pytest.approx(a_due)
    rest = 57_600 - fees - a_due - 2_500
    np.testing.assert_allclose(r.principal_paid[0, :3, 2], [2_500, rest * 3 / 7, rest * 4 / 7])
    assert r.interest_paid[0, 3, 2] == 0.0 and r.principal_paid[0, 3, 2] == 0.0
    # The default order would have paid A-2 before any A-3 principal.
    default = run(accelerated_deal(accelerated_waterfall=None), pool_flows(EOD_FLOWS))
    assert default.principal_paid[0, 2, 2] == 0.0
    assert compile_deal(accelerated_deal()).describe()[-4:] == [
        "accelerated: 4 principal_pro_rata A-2,A-3", "accelerated: 5 interest B",
        "accelerated: 6 principal_pro_rata B", "accelerated: 7 residual"]


def test_interest_grace_period_delays_the_event_of_default():
    one_miss = run(make_deal(events_of_default={"interest_grace_periods": 1}),
                   pool_flows(EOD_FLOWS))
    assert one_miss.event_of_default_period[0] == -1  # cured on the next payment date
    two_misses = pool_flows(EOD_FLOWS[:2] + [(2_000, 0, 0, 0, 0, 950_000)] + EOD_FLOWS[2:])
    r = run(make_deal(events_of_default={"interest_grace_periods": 1}), two_misses)
    assert r.event_of_default_period[0] == 2
    assert run(make_deal(), pool_flows(EOD_FLOWS)).event_of_default_period[0] == 1


def test_cnl_trigger_steps_up_the_oc_target():
    deal = make_deal(overcollateralization={"target_current": 0.05,
                                            "step_up_target_current": 0.12},
                     triggers=[{"name": "cnl", "metric": "cnl", "threshold": 0.02,
                                "effect": "oc_step_up"}])
    r = run(deal, amortising(12, losses={3: 30_000.0}))
    pool_end = r.pool_balance[0]
    # CNL 3% > 2% from period 4 (index 3): the target goes from 5% to 12% of the current pool.
    np.testing.assert_allclose(r.oc_target[0, :3], 0.05 * pool_end[:3])
    np.testing.assert_allclose(r.oc_target[0, 3:-1], 0.12 * pool_end[3:-1])
    assert r.trigger_breached[0, 0, 3:].all() and not r.sequential_mode[0].any()
    # Excess spread is trapped until OC reaches 12%; the 5% target releases it earlier.
    built = np.flatnonzero(r.residual[0, 3:-1] > 0.0) + 3
    assert built.size
    np.testing.assert_allclose(r.oc_amount[0, built], 0.12 * pool_end[built], rtol=1e-9)
    plain = run(make_deal(), amortising(12, losses={3: 30_000.0}))
    assert plain.residual[0, 3:built[0]].sum() > 0.0 == r.residual[0, 3:built[0]].sum()


def test_python_twin_parity_of_the_deal_features():
    deal = accelerated_deal(
        notes=[{"name": "A-1", "balance_usd": 50_000, "coupon": 0.06,
                "legal_final": "2025-04-15"},
               {"name": "A-2", "balance_usd": 300_000, "coupon": 0.06},
               {"name": "A-3", "balance_usd": 400_000, "coupon": 0.06},
               {"name": "B", "balance_usd": 200_000, "coupon": 0.12}],
        reserve={"initial": 0.01, "target": 0.01},
        overcollateralization={"target_current": 0.05, "step_up_target_current": 0.10},
        triggers=[{"name": "cnl", "metric": "cnl", "threshold": 0.02, "effect": "oc_step_up"}],
        events_of_default={"interest_grace_periods": 1}, legal_final_in_priority_principal=True,
        waterfall=[{"fee": "servicing"}, {"fee": "trustee"},
                   {"interest": ["A-1", "A-2", "A-3"]}, {"priority_principal": "A-3"},
                   {"interest": ["B"]}, "reserve_deposit", "regular_principal", "residual"])
    program = compile_deal(deal)
    flows = np.concatenate([amortising(18, losses={3: 30_000.0}),
                            amortising(18, losses={1: 250_000.0}),
                            pool_flows(EOD_FLOWS[:2] + [(2_000, 0, 0, 0, 0, 950_000)]
                                       + [(7_600, 50_000, 0, 0, 0, 900_000)] * 15)])
    jitted = run_waterfall(program, flows)
    twin = run_waterfall(program, flows, kernel=python_twin(waterfall_kernel))
    assert (jitted.event_of_default_period >= 0).any()
    for name in ("ending_balance", "interest_paid", "principal_paid", "reserve_balance",
                 "oc_target", "residual", "trigger_breached", "event_of_default_period"):
        np.testing.assert_allclose(getattr(twin, name), getattr(jitted, name), rtol=1e-12,
                                   atol=1e-9, err_msg=name)
