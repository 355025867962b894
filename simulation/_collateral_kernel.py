"""Collateral kernels: Monte Carlo paths and the expected-value projection.

Both kernels trust their inputs (validated and shaped by :mod:`simulation.collateral`): they do
no checking, allocate only per path, and write into caller-allocated ``out`` arrays of shape
``(n_paths, n_periods, N_FIELDS)``. Period index 0 is the first collection period after the
cut-off date.
"""

from __future__ import annotations

import math

import numpy as np

from portfolio._jit import jit, jit_inline, jit_parallel, prange, unsigned
from portfolio.amortization import balance_growth, next_balance, principal_due
from simulation.rng import (
    STREAM_ARREARS,
    STREAM_CURE,
    STREAM_EVENT,
    STREAM_ROLL,
    STREAM_SPLIT,
    path_key,
    uniform,
)

# PoolFlows fields (USD unless noted). ENDING_BALANCE and N_ACTIVE are derived after the kernel
# from the flows; TERMINATIONS (count of loans prepaid, matured or charged off) is internal.
# DELINQUENT_INTEREST: scheduled interest not collected on the delinquent balances (what a
# servicer advancing interest would advance).
INTEREST = 0
SCHEDULED_PRINCIPAL = 1
PREPAID_PRINCIPAL = 2
DEFAULTED_PRINCIPAL = 3
RECOVERIES = 4
ENDING_BALANCE = 5
DELINQUENT_30 = 6
DELINQUENT_60 = 7
DELINQUENT_90P = 8
N_ACTIVE = 9
DELINQUENT_INTEREST = 10
TERMINATIONS = 11
N_FIELDS = 12


@jit
def cutoff_roll_probability(missed, chargeoff_months, cure_probability):
    """P(charge-off) of a loan ``missed >= 1`` payments behind at the cut-off.

    In the pipeline a first missed payment cures with probability ``c = cure_probability``,
    after ``k`` missed payments, ``k`` uniform on ``1..K-1`` (``K = chargeoff_months``), or
    rolls to charge-off. Given that ``missed`` payments are already missed, only cures with
    ``k >= missed`` remain, so ``P(roll) = (1 - c) / (1 - c + c (K - missed) / (K - 1))``; one
    missed payment gives ``1 - c``. No checking (``1 <= missed <= K - 1``).
    """
    late_cure = cure_probability * (chargeoff_months - missed) / (chargeoff_months - 1)
    return (1.0 - cure_probability) / (1.0 - cure_probability + late_cure)


@jit
def _charge_off(o, t, b, count, chargeoff_months, recovery_lag, recovery_value, missed, r):
    """Book ``count`` loans (1, or a probability) that roll to charge-off from period ``t``.

    ``b`` and ``recovery_value`` are already multiplied by ``count``. The loans are ``missed``
    payments behind at ``t``: 0 for a first missed payment at ``t``; a loan delinquent at the
    cut-off enters at ``t = 0`` with the payments it had already missed. The balance shows
    30/60/90+ days delinquent (bucket by payments missed), its scheduled interest ``b * r``
    uncollected, until it is charged off once ``chargeoff_months - 1`` payments are missed; the
    recovery, ``min(b, recovery_value)``, arrives ``recovery_lag`` periods after that. No
    checking.
    """
    for j in range(missed, chargeoff_months - 1):
        o[t + j - missed, DELINQUENT_30 + min(j, 2)] += b
        o[t + j - missed, DELINQUENT_INTEREST] += b * r
    tco = t + chargeoff_months - 1 - missed
    o[tco, DEFAULTED_PRINCIPAL] += b
    o[tco, TERMINATIONS] += count
    o[tco + recovery_lag, RECOVERIES] += min(b, recovery_value)


@jit
def _recovery_value(b, tco, rec_index, value_scale, depreciation, vehicle_age0, vehicle_recovery):
    """Recovery on a loan charged off in period ``tco`` (before the cap at the balance).

    The vehicle's depreciated value at the charge-off times the path's used-car index
    ``rec_index`` (``vehicle_recovery``), else ``rec_index`` as the recovered share of ``b``.
    """
    if vehicle_recovery:
        return value_scale * depreciation[vehicle_age0 + tco + 1] * rec_index
    return b * rec_index


@jit
def _cure(o, t, b, months_missed, last, payment_type, r, inst, missed):
    """Book a delinquency cured after ``months_missed`` missed payments (no checking).

    ``missed`` payments were already behind at period ``t`` (0 for a first missed payment).
    The balance shows delinquent (its interest uncollected) while the payments are missed; at
    period
    ``t + months_missed - missed`` the obligor pays every instalment due since ``t`` (or the
    whole balance when the schedule ended meanwhile). Returns the balance after the catch-up
    and the last schedule period paid.
    """
    for j in range(missed, months_missed):
        o[t + j - missed, DELINQUENT_30 + min(j, 2)] += b
        o[t + j - missed, DELINQUENT_INTEREST] += b * r
    paid_at = t + months_missed - missed
    caught_up = min(paid_at, last)
    for s in range(t, caught_up + 1):
        pr = principal_due(payment_type, b, r, inst, s == last)
        o[paid_at, INTEREST] += b * r
        o[paid_at, SCHEDULED_PRINCIPAL] += pr
        b -= pr
    if caught_up == last:
        o[paid_at, TERMINATIONS] += 1.0
    return b, caught_up


@jit_parallel(fastmath=True)
def collateral_paths_kernel(
    balance, monthly_rate, inst, remaining_term, age0, payment_type, curve_row,
    loan_default_mult, loan_prepay_mult, apr_bin, value_scale, vehicle_age0, missed0,
    default_intensity, prepay_intensity, depreciation, apr_bin_rate, rate_incentive,
    market_rate0, default_macro, prepay_macro, market_rate, recovery_index,
    chargeoff_months, recovery_lag, cure_probability, vehicle_recovery, seed, first_path, out,
):  # fmt: skip
    """Simulate loan-level cash flows for a chunk of paths; fill ``out[p, t, field]``.

    Per path: one exponential draw per loan against the cumulative default + prepayment
    intensity; the split between the competing events by a second uniform. A default (first
    missed payment) either cures after 1..chargeoff_months-1 missed months (the arrears are
    paid at the cure and the loan resumes with a fresh event draw) or rolls to charge-off
    ``chargeoff_months - 1`` periods later, with the recovery ``recovery_lag`` periods after
    that. A loan ``missed0[i] > 0`` payments behind at the cut-off starts inside that pipeline:
    it cures or rolls on with the model's probabilities given the payments already missed
    (draws on ``STREAM_ARREARS``). Events are settled in separate functions so that the
    monthly loop stays small. No input checking.
    """
    n_paths = default_macro.shape[0]
    n_periods = default_macro.shape[1]
    n_loans = balance.shape[0]
    n_bins = apr_bin_rate.shape[0]
    for p in prange(n_paths):
        path = first_path + p
        o = out[p]
        # Prepayment multiplier by APR bucket and period: macro term x rate incentive.
        ptab = np.empty((n_bins, n_periods))
        for k in range(n_bins):
            then = max(apr_bin_rate[k] - market_rate0, 0.0)
            for t in range(n_periods):
                now = max(apr_bin_rate[k] - market_rate[p, t], 0.0)
                ptab[k, t] = prepay_macro[p, t] * math.exp(rate_incentive * (now - then))
        dmac = default_macro[p]
        key_event = np.uint64(path_key(seed, STREAM_EVENT, path))
        key_split = np.uint64(path_key(seed, STREAM_SPLIT, path))
        key_cure = np.uint64(path_key(seed, STREAM_CURE, path))
        key_arrears = np.uint64(path_key(seed, STREAM_ARREARS, path))
        for i in range(n_loans):
            b = balance[i]
            r = monthly_rate[i]
            a = inst[i]
            last = remaining_term[i] - 1
            pt = payment_type[i]
            growth = balance_growth(pt, r)
            dm = loan_default_mult[i]
            pm = loan_prepay_mult[i]
            # Hazard rows from the loan's current age and its prepay-multiplier row, indexed
            # directly and unsigned (per-loan array views cost ~15% of the run).
            crow = unsigned(curve_row[i])
            uage = unsigned(age0[i])
            ubin = unsigned(apr_bin[i])
            draw = 0
            t = 0
            m0 = missed0[i]
            if m0 > 0:  # delinquent at the cut-off
                roll = cutoff_roll_probability(m0, chargeoff_months, cure_probability)
                if uniform(key_arrears, i, 0) < roll:
                    tco = chargeoff_months - 1 - m0
                    value = _recovery_value(b, tco, recovery_index[p, tco + recovery_lag],
                                            value_scale[i], depreciation, vehicle_age0[i],
                                            vehicle_recovery)
                    _charge_off(o, 0, b, 1.0, chargeoff_months, recovery_lag, value, m0, r)
                    continue
                missed = m0 + int(uniform(key_arrears, i, 1) * (chargeoff_months - m0))
                b, caught_up = _cure(o, 0, b, missed, last, pt, r, a, m0)
                if caught_up == last:
                    continue
                t = caught_up + 1
            while True:
                # Performing months until the next event (the hot loop: keep it small).
                e = -math.log(uniform(key_event, i, draw))
                h = 0.0
                dh = 0.0
                ph = 0.0
                event = False
                while t <= last:
                    ut = unsigned(t)
                    dh = default_intensity[crow, uage + ut] * dm * dmac[ut]
                    ph = prepay_intensity[crow, uage + ut] * pm * ptab[ubin, ut]
                    h += dh + ph
                    if h > e:
                        event = True
                        break
                    if t == last:
                        break
                    b_next = next_balance(growth, b, a)
                    o[ut, INTEREST] += b * r
                    o[ut, SCHEDULED_PRINCIPAL] += b - b_next
                    b = b_next
                    t += 1
                if not event:  # the final instalment, with any balloon or lease residual
                    o[last, INTEREST] += b * r
                    o[last, SCHEDULED_PRINCIPAL] += b
                    o[last, TERMINATIONS] += 1.0
                    break
                if uniform(key_split, i, draw) * (dh + ph) >= dh:  # prepayment in full
                    pr = principal_due(pt, b, r, a, t == last)
                    o[t, INTEREST] += b * r
                    o[t, SCHEDULED_PRINCIPAL] += pr
                    o[t, PREPAID_PRINCIPAL] += b - pr
                    o[t, TERMINATIONS] += 1.0
                    break
                if chargeoff_months > 1 and uniform(key_cure, i, 2 * draw) < cure_probability:
                    missed = 1 + int(uniform(key_cure, i, 2 * draw + 1) * (chargeoff_months - 1))
                    b, caught_up = _cure(o, t, b, missed, last, pt, r, a, 0)
                    if caught_up == last:
                        break
                    t = caught_up + 1
                    draw += 1
                    continue
                tco = t + chargeoff_months - 1
                value = _recovery_value(b, tco, recovery_index[p, tco + recovery_lag],
                                        value_scale[i], depreciation, vehicle_age0[i],
                                        vehicle_recovery)
                _charge_off(o, t, b, 1.0, chargeoff_months, recovery_lag, value, 0, r)
                break


@jit
def _expected_loan(out, b, r, a, n, pt, pd_row, pp_row, rec_row, severity, chargeoff_months,
                   recovery_lag, alive0):
    """Add one loan's expected flows to ``out[t, field]``; return (P(charge-off), E[net loss]).

    ``alive0``: the probability that the loan performs at the cut-off (1 unless it is
    delinquent then; the rest of it is booked by the caller).
    ``pd_row[t]``/``pp_row[t]``: probabilities that the loan, performing at the start of period
    ``t``, misses its first payment (and rolls to charge-off) or prepays in full. A prepaying
    loan pays its interest and scheduled principal plus the rest of its balance. The recovery
    of a loan charged off after defaulting in ``t`` is ``b * (1 - severity)`` when
    ``severity >= 0``, else ``min(b, rec_row[t])``. No checking.
    """
    alive = alive0
    cum_default = 0.0
    cum_loss = 0.0
    for t in range(n):
        pd = alive * pd_row[t]
        pp = alive * pp_row[t]
        performing = alive - pd
        pr = principal_due(pt, b, r, a, t == n - 1)
        out[t, INTEREST] += performing * b * r
        out[t, SCHEDULED_PRINCIPAL] += performing * pr
        out[t, PREPAID_PRINCIPAL] += pp * (b - pr)
        for j in range(chargeoff_months - 1):
            out[t + j, DELINQUENT_30 + min(j, 2)] += pd * b
            out[t + j, DELINQUENT_INTEREST] += pd * b * r
        tco = t + chargeoff_months - 1
        out[tco, DEFAULTED_PRINCIPAL] += pd * b
        rec = b * (1.0 - severity) if severity >= 0.0 else min(b, rec_row[t])
        out[tco + recovery_lag, RECOVERIES] += pd * rec
        cum_loss += pd * (b - rec)
        out[tco, TERMINATIONS] += pd
        out[t, TERMINATIONS] += pp
        cum_default += pd
        alive = performing - pp
        b -= pr
    out[n - 1, TERMINATIONS] += alive
    return cum_default, cum_loss


@jit
def expected_flows_kernel(
    balance, monthly_rate, inst, remaining_term, payment_type, default_prob, prepay_prob,
    severity, out, default_by_loan, loss_by_loan, chargeoff_months, recovery_lag,
):  # fmt: skip
    """Expected pool flows given per-loan monthly event probabilities (deterministic mode).

    ``default_prob[i, t]`` and ``prepay_prob[i, t]`` as in :func:`_expected_loan`; recovery
    ``(1 - severity)`` of the charged-off balance. Fills ``out[t, field]`` and, per loan, the
    lifetime charge-off probability and expected net loss (USD). No input checking.
    """
    no_cap = np.zeros(1)
    for i in range(balance.shape[0]):
        default_by_loan[i], loss_by_loan[i] = _expected_loan(
            out, balance[i], monthly_rate[i], inst[i], remaining_term[i], payment_type[i],
            default_prob[i], prepay_prob[i], no_cap, severity, chargeoff_months, recovery_lag,
            1.0)


PROJECTION_LOAN_BLOCK = 1024
"""Loans whose multiplier-free rows :func:`expected_intensity_kernel` tabulates at a time."""


@jit_parallel()
def expected_intensity_kernel(
    balance, monthly_rate, inst, remaining_term, age0, payment_type, curve_row,
    loan_default_mult, loan_prepay_mult, apr_bin, value_scale, vehicle_age0, missed0,
    default_intensity, prepay_intensity, depreciation, default_macro, prepay_table,
    recovery_index, cure_probability, chargeoff_months, recovery_lag, vehicle_recovery, out,
    default_by_loan, loss_by_loan,
):  # fmt: skip
    """Expected pool flows on one macro path at K systematic default multipliers at once.

    The Monte Carlo engine's conditional expectation. ``default_macro[k, t]`` is the default
    multiplier row of projection ``k`` (scale, factor and macro term); ``prepay_table[apr_bin,
    t]`` and ``recovery_index[t]`` are the path's, shared by all ``k``. Per loan and period,
    competing intensities ``lambda_d`` and ``lambda_p`` (as in :func:`collateral_paths_kernel`)
    give an event with probability ``1 - exp(-(lambda_d + lambda_p))`` split in proportion;
    cured delinquencies (share ``cure_probability``) stay performing. Recovery: the vehicle
    value capped at the balance (``vehicle_recovery``), else ``recovery_index`` as the
    recovered share. A loan delinquent at the cut-off rolls to charge-off with
    :func:`cutoff_roll_probability`; its cured share performs from period 0.

    What does not depend on ``k`` (intensities before the multiplier, prepayment intensities,
    recovery values, the cut-off roll) is tabulated once per block of
    :data:`PROJECTION_LOAN_BLOCK` loans; the projections then run in parallel, one ``k`` per
    thread, each adding its loans into ``out[k]`` in loan order: the arithmetic of each ``k`` is
    that of a projection alone, bit for bit, whatever K and the thread count.

    ``out`` ``(K, n_periods, N_FIELDS)``; ``default_by_loan``/``loss_by_loan`` ``(K, n_loans)``
    get each loan's lifetime charge-off probability and expected net loss (USD), or are
    ``(0, n_loans)`` to skip them. No input checking.
    """
    n_mult, n_periods = default_macro.shape
    n_loans = balance.shape[0]
    n_ages = default_intensity.shape[1]
    n_dep = depreciation.shape[0]
    block = PROJECTION_LOAN_BLOCK
    keep_loans = default_by_loan.shape[0] > 0
    severity = -1.0 if vehicle_recovery else 1.0 - recovery_index[0]
    base_default = np.empty((block, n_periods))  # lambda_d before the multiplier row
    lam_prepay = np.empty((block, n_periods))
    rec_row = np.empty((block, n_periods))
    roll = np.empty(block)  # P(a loan delinquent at the cut-off rolls to charge-off)
    roll_value = np.empty(block)  # its recovery
    pd_row = np.empty((n_mult, n_periods))
    pp_row = np.empty((n_mult, n_periods))
    for first in range(0, n_loans, block):
        stop = min(first + block, n_loans)
        for i in prange(first, stop):
            j = i - first
            row = curve_row[i]
            for t in range(remaining_term[i]):
                age = min(age0[i] + t, n_ages - 1)
                base_default[j, t] = default_intensity[row, age] * loan_default_mult[i]
                lam_prepay[j, t] = (prepay_intensity[row, age] * loan_prepay_mult[i]
                                    * prepay_table[apr_bin[i], t])
                trec = min(t + chargeoff_months - 1 + recovery_lag, n_periods - 1)
                dep = depreciation[min(vehicle_age0[i] + t + chargeoff_months, n_dep - 1)]
                rec_row[j, t] = value_scale[i] * dep * recovery_index[trec]
            roll[j] = 0.0
            roll_value[j] = 0.0
            if missed0[i] > 0:
                b = balance[i]
                roll[j] = cutoff_roll_probability(missed0[i], chargeoff_months, cure_probability)
                tco = chargeoff_months - 1 - missed0[i]
                roll_value[j] = min(b, _recovery_value(
                    b, tco, recovery_index[min(tco + recovery_lag, n_periods - 1)],
                    value_scale[i], depreciation, vehicle_age0[i], vehicle_recovery))
        for k in prange(n_mult):
            o = out[k]
            for i in range(first, stop):
                j = i - first
                for t in range(remaining_term[i]):
                    lam_d = base_default[j, t] * default_macro[k, t]
                    total = lam_d + lam_prepay[j, t]
                    event = -math.expm1(-total)
                    share_d = lam_d / total if total > 0.0 else 0.0
                    pd_row[k, t] = event * share_d * (1.0 - cure_probability)
                    pp_row[k, t] = event * (1.0 - share_d)
                b = balance[i]
                lost = 0.0
                if missed0[i] > 0:
                    _charge_off(o, 0, roll[j] * b, roll[j], chargeoff_months, recovery_lag,
                                roll[j] * roll_value[j], missed0[i], monthly_rate[i])
                    lost = roll[j] * (b - roll_value[j])
                cum_default, cum_loss = _expected_loan(
                    o, b, monthly_rate[i], inst[i], remaining_term[i], payment_type[i],
                    pd_row[k], pp_row[k], rec_row[j], severity, chargeoff_months, recovery_lag,
                    1.0 - roll[j])
                if keep_loans:
                    default_by_loan[k, i] = roll[j] + cum_default
                    loss_by_loan[k, i] = lost + cum_loss


# ---------------------------------------------------------------------------------------------
# Roll-rate credit model: monthly transitions between delinquency states
# ---------------------------------------------------------------------------------------------

# Columns of a transition row (simulation.model.ROLL_TARGETS): states 0..3 payments behind
# (current, 30, 60, 90), then charge-off (a fourth missed payment) and prepayment in full. A
# loan ``s`` behind rolls forward to column ``s + 1``, which is CHARGE_OFF from 90.
N_ROLL_STATES = 4
CHARGE_OFF = 4
PREPAY = 5


@jit_inline
def _moved_row(table, segment, age, s, roll_mult, prepay_mult):
    """Roll-forward and prepayment probabilities of state ``s`` after the multipliers.

    ``table[segment, age, s]``: the base transition row (6 columns). The roll-forward
    ``[s + 1]`` is multiplied by ``roll_mult`` (loan x systematic factor x macro) and the
    prepayment ``[PREPAY]`` by ``prepay_mult``, capped so that they sum to at most 1; the other
    columns keep their proportions and take the rest. Returns ``(roll, prepay, scale)``: the
    other columns' probabilities are ``table[segment, age, s, k] * scale``, and when they are
    all zero the rest, ``1 - roll - prepay``, stays in state ``s`` (the caller adds it). No
    checking.
    """
    roll = min(table[segment, age, s, s + 1] * roll_mult, 1.0)
    prepay = min(table[segment, age, s, PREPAY] * prepay_mult, 1.0 - roll)
    rest = 1.0 - table[segment, age, s, s + 1] - table[segment, age, s, PREPAY]
    scale = (1.0 - roll - prepay) / rest if rest > 1e-15 else 0.0
    return roll, prepay, scale


@jit_inline
def _pay_instalments(o, t, b, j, n, last, payment_type, r, inst):
    """Pay ``n`` scheduled instalments in period ``t`` from schedule position ``j``.

    ``j`` instalments of the remaining schedule were paid before; the one with index ``last``
    is the final (balloon or residual included). Books interest and scheduled principal and,
    when the schedule is paid off, a termination. Returns the balance and the new position.
    No checking.
    """
    while n > 0 and j <= last:
        pr = principal_due(payment_type, b, r, inst, j == last)
        o[t, INTEREST] += b * r
        o[t, SCHEDULED_PRINCIPAL] += pr
        b -= pr
        j += 1
        n -= 1
    if j > last:
        o[t, TERMINATIONS] += 1.0
    return b, j


@jit_parallel(fastmath=True)
def roll_rate_paths_kernel(
    balance, monthly_rate, inst, remaining_term, age0, payment_type, transition_row,
    loan_default_mult, loan_prepay_mult, apr_bin, value_scale, vehicle_age0, missed0,
    transition, current_roll, current_prepay, depreciation, apr_bin_rate, rate_incentive,
    market_rate0, default_macro,
    prepay_macro, market_rate, recovery_index, recovery_lag, vehicle_recovery, seed,
    first_path, out,
):  # fmt: skip
    """Simulate loan-level cash flows under the roll-rate model; fill ``out[p, t, field]``.

    ``transition[row, a, s, k]``: monthly probability that a loan of segment ``row``, table
    age ``a`` (loan age ``a + 1``) and ``s`` payments behind moves to column ``k`` (see
    :func:`_moved_row` for the multipliers: ``loan_default_mult[i] * default_macro[p, t]`` on
    the roll-forward, the loan, macro and rate-incentive prepayment multipliers on
    prepayment); ``current_roll`` and ``current_prepay`` are its columns 1 and 5 of state 0,
    contiguous for the hot loop. A loan starts in state ``missed0[i]``. In state 0 one uniform
    per sojourn (``STREAM_EVENT``) against the product of the monthly stay probabilities gives
    the month it leaves, a second (``STREAM_SPLIT``) whether it rolls or prepays; in states
    1..3 one uniform per loan and period (``STREAM_ROLL``) picks the target: roll forward
    below the moved roll probability, prepayment next, else a state ``0..s`` in proportion to
    the base row. A loan ``s`` behind in
    period ``t`` has paid ``j = t + missed0 - s`` instalments of its remaining schedule; after
    the schedule's end every payment settles the whole balance. Charge-off (from 90) books the
    balance as defaulted in ``t`` and the recovery ``recovery_lag`` periods later. No input
    checking.
    """
    n_paths = default_macro.shape[0]
    n_periods = default_macro.shape[1]
    n_loans = balance.shape[0]
    n_bins = apr_bin_rate.shape[0]
    for p in prange(n_paths):
        path = first_path + p
        o = out[p]
        ptab = np.empty((n_bins, n_periods))
        for k in range(n_bins):
            then = max(apr_bin_rate[k] - market_rate0, 0.0)
            for t in range(n_periods):
                now = max(apr_bin_rate[k] - market_rate[p, t], 0.0)
                ptab[k, t] = prepay_macro[p, t] * math.exp(rate_incentive * (now - then))
        dmac = default_macro[p]
        key_event = np.uint64(path_key(seed, STREAM_EVENT, path))
        key_split = np.uint64(path_key(seed, STREAM_SPLIT, path))
        key_roll = np.uint64(path_key(seed, STREAM_ROLL, path))
        for i in range(n_loans):
            b = balance[i]
            r = monthly_rate[i]
            a = inst[i]
            last = remaining_term[i] - 1
            pt = payment_type[i]
            dm = loan_default_mult[i]
            pm = loan_prepay_mult[i]
            trow = unsigned(transition_row[i])
            uage = unsigned(age0[i])
            ubin = unsigned(apr_bin[i])
            growth = balance_growth(pt, r)
            s = missed0[i]
            j = 0
            t = 0
            draw = 0
            while True:
                if s == 0:
                    # Current: months until the loan leaves state 0 (the hot loop).
                    u = uniform(key_event, i, draw)
                    survival = 1.0
                    roll = 0.0
                    prepay = 0.0
                    while True:
                        ut = unsigned(t)
                        roll = min(current_roll[trow, uage + ut] * dm * dmac[ut], 1.0)
                        prepay = min(current_prepay[trow, uage + ut] * pm * ptab[ubin, ut],
                                     1.0 - roll)
                        survival *= 1.0 - roll - prepay
                        if survival < u:
                            break
                        o[ut, INTEREST] += b * r
                        if j == last:  # the final instalment, with any balloon or residual
                            o[ut, SCHEDULED_PRINCIPAL] += b
                            o[ut, TERMINATIONS] += 1.0
                            break
                        b_next = next_balance(growth, b, a)
                        o[ut, SCHEDULED_PRINCIPAL] += b - b_next
                        b = b_next
                        j += 1
                        t += 1
                    if survival >= u:
                        break
                    if uniform(key_split, i, draw) * (roll + prepay) >= roll:
                        pr = principal_due(pt, b, r, a, j == last)
                        o[t, INTEREST] += b * r
                        o[t, SCHEDULED_PRINCIPAL] += pr
                        o[t, PREPAID_PRINCIPAL] += b - pr
                        o[t, TERMINATIONS] += 1.0
                        break
                    draw += 1
                    s = 1
                    o[t, DELINQUENT_30] += b
                    o[t, DELINQUENT_INTEREST] += b * r
                    t += 1
                    continue
                # Delinquent: one uniform picks the target: roll forward, prepay, or (the
                # rest) a state 0..s in proportion to the base row.
                ut = unsigned(t)
                roll, prepay, scale = _moved_row(transition, trow, uage + ut, s, dm * dmac[ut],
                                                 pm * ptab[ubin, ut])
                u = uniform(key_roll, i, t)
                target = s
                if u < roll:
                    target = s + 1
                elif u < roll + prepay:
                    target = PREPAY
                elif scale > 0.0:
                    v = (u - roll - prepay) / scale
                    c = 0.0
                    for k in range(s):
                        c += transition[trow, uage + ut, s, k]
                        if v < c:
                            target = k
                            break
                if target == PREPAY:
                    pr = principal_due(pt, b, r, a, j == last)
                    o[t, INTEREST] += b * r
                    o[t, SCHEDULED_PRINCIPAL] += pr
                    o[t, PREPAID_PRINCIPAL] += b - pr
                    o[t, TERMINATIONS] += 1.0
                    break
                if target == CHARGE_OFF:
                    value = _recovery_value(b, t, recovery_index[p, t + recovery_lag],
                                            value_scale[i], depreciation, vehicle_age0[i],
                                            vehicle_recovery)
                    o[t, DEFAULTED_PRINCIPAL] += b
                    o[t, TERMINATIONS] += 1.0
                    o[t + recovery_lag, RECOVERIES] += min(b, value)
                    break
                if target <= s:  # pays s - target + 1 instalments (all once the term is over)
                    n_pay = s - target + 1 if t <= last else last + 1
                    b, j = _pay_instalments(o, t, b, j, n_pay, last, pt, r, a)
                    if j > last:
                        break
                s = target
                if s > 0:
                    o[t, DELINQUENT_30 + s - 1] += b
                    o[t, DELINQUENT_INTEREST] += b * r
                t += 1


@jit
def roll_rate_expected_kernel(
    balance, monthly_rate, inst, remaining_term, age0, payment_type, transition_row,
    loan_default_mult, loan_prepay_mult, apr_bin, value_scale, vehicle_age0, missed0,
    transition, depreciation, default_macro, prepay_table, recovery_index, recovery_lag,
    vehicle_recovery, out, default_by_loan, loss_by_loan,
):  # fmt: skip
    """Expected pool flows on one macro path under the roll-rate model (exact).

    Per loan, the probability of each state 0..3 at the start of every period is carried
    forward through the moved transition rows of :func:`roll_rate_paths_kernel`; since a loan
    ``s`` behind in period ``t`` has paid ``t + missed0 - s`` instalments, the state vector
    alone fixes the balances, so the flows are the Monte Carlo kernel's conditional
    expectation given the path. Fills ``out[t, field]`` and per loan the lifetime charge-off
    probability and expected net loss (USD). No input checking.
    """
    n_periods = default_macro.shape[0]
    max_term = 0
    for i in range(balance.shape[0]):
        max_term = max(max_term, remaining_term[i])
    sched = np.empty(max_term + 1)  # balance after j instalments
    paid_interest = np.empty(max_term + 1)  # interest of instalments 0..j-1
    mass = np.empty(N_ROLL_STATES)
    moved = np.empty(N_ROLL_STATES)
    for i in range(balance.shape[0]):
        r = monthly_rate[i]
        n = remaining_term[i]
        last = n - 1
        b = balance[i]
        sched[0] = b
        paid_interest[0] = 0.0
        for j in range(n):
            paid_interest[j + 1] = paid_interest[j] + b * r
            b -= principal_due(payment_type[i], b, r, inst[i], j == last)
            sched[j + 1] = b
        sched[n] = 0.0
        row = transition_row[i]
        dm = loan_default_mult[i]
        pm = loan_prepay_mult[i]
        prepay_row = prepay_table[apr_bin[i]]
        m0 = missed0[i]
        mass[:] = 0.0
        mass[m0] = 1.0
        cum_default = 0.0
        cum_loss = 0.0
        for t in range(n_periods):
            alive = mass[0] + mass[1] + mass[2] + mass[3]
            if alive <= 0.0:
                break
            moved[:] = 0.0
            for s in range(N_ROLL_STATES):
                q = mass[s]
                if q <= 0.0:
                    continue
                j = t + m0 - s
                bj = sched[j]
                age = age0[i] + t
                roll, prepay, scale = _moved_row(transition, row, age, s, dm * default_macro[t],
                                                 pm * prepay_row[t])
                # prepayment in full
                w = q * prepay
                out[t, INTEREST] += w * bj * r
                out[t, SCHEDULED_PRINCIPAL] += w * (bj - sched[j + 1])
                out[t, PREPAID_PRINCIPAL] += w * sched[j + 1]
                out[t, TERMINATIONS] += w
                # roll forward
                w = q * roll
                if s + 1 == CHARGE_OFF:
                    rec = min(bj, _recovery_value(
                        bj, t, recovery_index[t + recovery_lag], value_scale[i], depreciation,
                        vehicle_age0[i], vehicle_recovery))
                    out[t, DEFAULTED_PRINCIPAL] += w * bj
                    out[t, TERMINATIONS] += w
                    out[t + recovery_lag, RECOVERIES] += w * rec
                    cum_default += w
                    cum_loss += w * (bj - rec)
                else:
                    moved[s + 1] += w
                    out[t, DELINQUENT_30 + s] += w * bj
                    out[t, DELINQUENT_INTEREST] += w * bj * r
                # cure, catch-up or stay: pays s - k + 1 instalments (the rest after the term)
                for k in range(s + 1):
                    w = q * transition[row, age, s, k] * scale
                    if k == s and scale == 0.0:
                        w += q * (1.0 - roll - prepay)
                    if w <= 0.0:
                        continue
                    j2 = min(j + (s - k + 1 if t <= last else n), n)
                    out[t, INTEREST] += w * (paid_interest[j2] - paid_interest[j])
                    out[t, SCHEDULED_PRINCIPAL] += w * (bj - sched[j2])
                    if j2 == n:
                        out[t, TERMINATIONS] += w
                    else:
                        moved[k] += w
                        if k > 0:
                            out[t, DELINQUENT_30 + k - 1] += w * sched[j2]
                            out[t, DELINQUENT_INTEREST] += w * sched[j2] * r
            mass[:] = moved
        default_by_loan[i] = cum_default
        loss_by_loan[i] = cum_loss
