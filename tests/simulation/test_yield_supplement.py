"""Yield-supplement OC: a 3-loan pool worked by hand, and the notes paid on the adjusted pool."""

from __future__ import annotations

import numpy as np
import pytest

from portfolio.tape import tape_from_columns
from simulation.collateral import FIELD_NAMES
from simulation.deal import deal_from_dict
from simulation.deterministic import project_deterministic
from simulation.run import hard_credit_enhancement
from simulation.waterfall import compile_deal, run_waterfall
from simulation.yield_supplement import ysoc_schedule

REQUIRED = 0.06  # j = 0.5% a month


def three_loans(keep=slice(None)):
    """L1: 12,000 at 0% over 12 months (1,000 a month); L2: 6,000 at 3% over 6 months
    (1,008.7682 a month); L3: 10,000 at 9%, above the required rate."""
    return tape_from_columns({
        "loan_id": np.array(["L1", "L2", "L3"], dtype=object)[keep],
        "balance": np.array([12_000.0, 6_000.0, 10_000.0])[keep],
        "rate": np.array([0.0, 0.03, 0.09])[keep],
        "original_term": np.array([12, 6, 12])[keep],
        "remaining_term": np.array([12, 6, 12])[keep],
        "age": np.array([0, 0, 0])[keep],
    })


# By hand, a(n, i) = (1 - (1 + i)^-n) / i:
#   L1 after m months: balance 1,000 (12 - m), PV at 6% 1,000 a(12 - m, 0.005);
#      m = 0: 12,000 - 11,618.9321 = 381.0679; m = 11: 1,000 - 1,000 / 1.005 = 4.9751.
#   L2: balance 1,008.7682 a(6 - m, 0.0025), PV 1,008.7682 a(6 - m, 0.005);
#      m = 0: 6,000 - 5,948.0851 = 51.9149; m = 5: 1,006.2531 - 1,003.7499 = 2.5031.
#   L3 (9% >= 6%): nothing.
HAND = [432.9828, 360.1477, 294.4329, 235.8801, 184.5314, 140.4291, 103.6156, 74.1337,
        49.5043, 29.7519, 14.9006, 4.9751, 0.0]


def test_the_ysoc_schedule_of_three_loans_matches_the_hand_figures():
    ysoc = ysoc_schedule(three_loans(), REQUIRED)
    assert ysoc.shape == (13,)
    np.testing.assert_allclose(ysoc, HAND, atol=5e-5)


def test_a_loan_at_or_above_the_required_rate_has_no_ysoc():
    assert not ysoc_schedule(three_loans(), 0.0).any()  # no APR below 0%
    # at 9%, L3 (9%) adds nothing: the pool's schedule is that of L1 and L2 alone
    np.testing.assert_array_equal(ysoc_schedule(three_loans(), 0.09),
                                  ysoc_schedule(three_loans(slice(0, 2)), 0.09))
    assert ysoc_schedule(three_loans(slice(2, 3)), 0.09)[0] == 0.0


def test_the_schedule_is_the_same_from_the_tape_and_the_prepared_collateral():
    from simulation.collateral import prepare_collateral
    from simulation.model import load_model

    tape = three_loans()
    inputs = prepare_collateral(tape, load_model("examples/prime_assumptions.yaml"))
    np.testing.assert_allclose(ysoc_schedule(inputs, REQUIRED), ysoc_schedule(tape, REQUIRED),
                               rtol=1e-12)


def ysoc_deal(**overrides):
    raw = {
        "name": "captive",
        "closing_date": "2025-01-15",
        "first_payment_date": "2025-02-15",
        "notes": [{"name": "A", "balance_usd": 25_000.0, "coupon": 0.01},
                  {"name": "B", "balance_usd": 2_000.0, "coupon": 0.02}],
        "yield_supplement": {"required_rate": REQUIRED},
        "reserve": {"initial": 0.01, "target": 0.01},
        "waterfall": [{"interest": ["A"]}, {"interest": ["B"]}, "regular_principal",
                      "residual"],
    }
    raw.update(overrides)
    return deal_from_dict(raw, source="captive.yaml")


def scheduled_flows(tape):
    return project_deterministic(tape)[list(FIELD_NAMES)].to_numpy()[None]


def test_the_notes_principal_follows_the_adjusted_pool():
    tape = three_loans()
    program = compile_deal(ysoc_deal(), tape)
    adjusted0 = 28_000.0 - HAND[0]
    assert program.initial_adjusted_pool_balance == pytest.approx(adjusted0, abs=5e-5)
    flows = scheduled_flows(tape)
    tf = run_waterfall(program, flows)
    pool = flows[0, :, FIELD_NAMES.index("ending_balance")]
    after = np.append(HAND[1:], np.zeros(pool.size - 12))  # YSOC after each period
    np.testing.assert_allclose(tf.adjusted_pool_balance[0], pool - after, atol=5e-5)
    # No OC target: the principal distribution amount takes the notes down to the adjusted
    # pool every period (notes 27,000 start 567.02 below it, so period 1 pays the pool's
    # principal less the 72.84 fall of the YSOC amount less that cushion).
    notes = 27_000.0 - np.cumsum(tf.principal_paid[0].sum(axis=0))
    period1 = (28_000.0 - pool[0]) - (HAND[0] - HAND[1]) - (adjusted0 - 27_000.0)
    assert tf.principal_paid[0, :, 0].sum() == pytest.approx(period1, abs=1e-4)
    np.testing.assert_allclose(notes[:11], tf.adjusted_pool_balance[0, :11], atol=1e-6)
    np.testing.assert_allclose(tf.oc_amount[0, :11], 0.0, atol=1e-6)
    assert np.abs(tf.cash_imbalance()).max() < 1e-9
    # without the yield supplement the same notes are paid down to the pool itself: slower
    plain = run_waterfall(compile_deal(ysoc_deal(yield_supplement=None), tape), flows)
    assert plain.principal_paid[0, :, 0].sum() == pytest.approx(period1 - HAND[1], abs=1e-4)
    assert (np.cumsum(plain.principal_paid[0].sum(axis=0))[:11]
            < np.cumsum(tf.principal_paid[0].sum(axis=0))[:11]).all()


def test_oc_target_reserve_and_hard_ce_are_on_the_adjusted_pool():
    tape = three_loans()
    deal = ysoc_deal(overcollateralization={"target_current": 0.02, "target_initial": 0.01})
    program = compile_deal(deal, tape)
    adjusted0 = program.initial_adjusted_pool_balance  # 28,000 - 432.9828
    assert program.initial_reserve_balance == pytest.approx(0.01 * adjusted0, abs=1e-6)
    tf = run_waterfall(program, scheduled_flows(tape))
    adjusted = tf.adjusted_pool_balance[0, :6]
    np.testing.assert_allclose(tf.oc_target[0, :6], np.minimum(
        adjusted, 0.02 * adjusted + 0.01 * adjusted0), rtol=1e-12)
    # principal distribution amount = notes - (adjusted pool - OC target)
    notes_beg = 27_000.0 - np.concatenate([[0.0], np.cumsum(tf.principal_paid[0].sum(axis=0))])
    np.testing.assert_allclose(tf.principal_distribution_amount[0, :6],
                               np.clip(notes_beg[:6] - (adjusted - tf.oc_target[0, :6]), 0.0,
                                       notes_beg[:6]), atol=1e-9)
    ce = hard_credit_enhancement(deal, program)
    reserve = 0.01 * adjusted0
    np.testing.assert_allclose(ce, [(2_000.0 + adjusted0 - 27_000.0 + reserve) / adjusted0,
                                    (adjusted0 - 27_000.0 + reserve) / adjusted0], rtol=1e-12)


def test_a_balance_alone_cannot_compile_a_ysoc_deal():
    with pytest.raises(ValueError, match="yield_supplement"):
        compile_deal(ysoc_deal(), 28_000.0)


def test_notes_above_the_adjusted_pool_are_an_input_error():
    from portfolio.errors import InputError

    deal = ysoc_deal(notes=[{"name": "A", "balance_usd": 27_800.0, "coupon": 0.01}],
                     waterfall=[{"interest": ["A"]}, "regular_principal", "residual"])
    with pytest.raises(InputError, match=r"yield_supplement.required_rate.*adjusted pool"):
        compile_deal(deal, three_loans())


def test_the_schedule_does_not_depend_on_the_block_of_loans(monkeypatch):
    import simulation.yield_supplement as ys

    whole = ysoc_schedule(three_loans(), REQUIRED)
    monkeypatch.setattr(ys, "_BLOCK", 1)
    np.testing.assert_allclose(ysoc_schedule(three_loans(), REQUIRED), whole, rtol=1e-13)
