"""The waterfall interpreter: one opcode program run on every path and period.

The kernel trusts its inputs (compiled and shaped by :mod:`simulation.waterfall`): it does no
checking, allocates only per path, and writes into caller-allocated outputs. Period index 0 is
the first collection period. Money in USD, rates annual decimals, accrual fractions in years.
No fastmath: every comparison here decides who gets paid.

The compiled program arrives as one :class:`ProgramArrays` record of packed tables whose rows
(or slots) are named by the constants below. Each deal feature is one inlined helper; the
kernel runs them in the order of a payment date and dispatches the opcodes. A path's state is
two small arrays: ``notes (N_NOTE_ROWS, n_classes)`` and the ``ledger (N_LEDGER,)`` of the
payment date's running amounts, whose first ``N_DEAL_FIELDS`` slots are the deal-level outputs.
Outputs are plain array arguments, never record fields: numba loses writes made through a
record's arrays inside ``prange`` (numba issue #5872).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from portfolio._jit import jit_inline, jit_parallel, prange

# Opcodes (row OPF_CODE of ``ops``); OPF_TARGET and OPF_FIRST_CLASS give the operand.
OP_FEE = 0  # target: fee index
OP_SWAP = 1  # net swap payment of every swap
OP_INTEREST = 2  # classes first_class..target, pro rata on the amounts due
OP_PRIORITY_PRINCIPAL = 3  # target: class; pay until notes through target <= pool balance
OP_RESERVE_DEPOSIT = 4  # deposit up to the reserve target
OP_REGULAR_PRINCIPAL = 5  # principal distribution amount less principal already paid
OP_PRINCIPAL_TO = 6  # target: class; all funds to principal of notes through target
OP_RESIDUAL = 7  # everything left to the certificate holder
OP_PRINCIPAL_PRO_RATA = 8  # classes first_class..target: all funds to principal, pro rata
OPCODE_NAMES = ("fee", "swap", "interest", "priority_principal", "reserve_deposit",
                "regular_principal", "principal_to", "residual", "principal_pro_rata")

# Rows of ``ops (N_OP_FIELDS, n_ops)``; -1 where an opcode takes no operand.
OPF_CODE = 0
OPF_TARGET = 1  # fee index, or the last (most junior) class of the step
OPF_FIRST_CLASS = 2  # interest and pro-rata principal steps: the first (most senior) class
N_OP_FIELDS = 3

# Rows of ``class_param (N_CLASS_PARAMS, n_classes)``, float64.
CP_ORIGINAL_BALANCE = 0  # USD
CP_COUPON = 1  # fixed rate, or spread over the index for floating classes
CP_FLOOR = 2  # on the floating coupon
CP_CAP = 3
N_CLASS_PARAMS = 4

# Rows of ``class_code (N_CLASS_CODES, n_classes)``, int64.
CC_RATE_KIND = 0  # RATE_*
CC_LEGAL_FINAL_PERIOD = 1  # 0-based period index, -1 if none
N_CLASS_CODES = 2

# Note rate kinds.
RATE_FIXED = 0  # 30/360
RATE_FLOATING = 1  # act/360, index + spread, floor, cap
RATE_MONEY_MARKET = 2  # act/360, fixed rate

# Slots of ``deal_param (N_DEAL_PARAMS,)``, float64 (USD or decimal fractions).
DP_INITIAL_POOL = 0
DP_RESERVE_INITIAL = 1  # USD at closing
DP_RESERVE_TARGET_PCT = 2  # of the basis
DP_RESERVE_STEP_UP_PCT = 3  # of the basis, while a reserve_step_up trigger is breached
DP_RESERVE_FLOOR = 4  # USD
DP_OC_CURRENT_PCT = 5  # of the current pool
DP_OC_INITIAL_USD = 6
DP_OC_FLOOR_USD = 7
DP_CLEAN_UP_USD = 8  # 0: no clean-up call
DP_OC_STEP_UP_CURRENT_PCT = 9  # of the current pool, while an oc_step_up trigger is breached
DP_OC_STEP_UP_INITIAL_USD = 10
DP_ADJUSTED_INITIAL_POOL = 11  # initial pool less the YSOC amount at the cut-off (= pool without)
N_DEAL_PARAMS = 12

# Slots of ``deal_code (N_DEAL_CODES,)``, int64.
DC_ACCELERATED_START = 0  # normal program: ops [0, start); accelerated: [start, n_ops)
DC_RESERVE_ON_CURRENT = 1  # 1: reserve target on the current pool, 0: on the initial pool
DC_TURBO_ALWAYS = 2  # 1: every cent to principal (PDA = all notes)
DC_INTEREST_GRACE = 3  # payment dates a controlling-class interest shortfall may last
DC_PRINCIPAL_GRACE = 4  # payment dates a class may stay unpaid after its legal final
DC_LEGAL_FINAL_PRIORITY = 5  # 1: priority principal steps retire classes at their legal final
DC_SERVICER_ADVANCES = 6  # 1: the servicer advances the scheduled interest of delinquent loans
N_DEAL_CODES = 7

# Rows of ``group_ptr (N_ALLOCATIONS, n_classes + 1)``: principal allocations as CSR.
ALLOC_NORMAL = 0  # pro-rata groups as the deal says
ALLOC_SEQUENTIAL = 1  # switchable groups split into single classes
N_ALLOCATIONS = 2

# Rows of ``fee_param (N_FEE_PARAMS, n_fees)``, float64.
FP_RATE = 0  # annual, on the beginning pool balance
FP_USD_PER_MONTH = 1
N_FEE_PARAMS = 2

# Rows of ``trigger_code (N_TRIGGER_CODES, n_triggers)``, int64.
TC_METRIC = 0  # METRIC_*
TC_WINDOW = 1  # months in the rolling average (delinquency)
TC_EFFECT = 2  # EFFECT_*
TC_CURABLE = 3  # 1: the state follows the test, 0: breached for good
N_TRIGGER_CODES = 4

# Trigger metrics and effects.
METRIC_CNL = 0
METRIC_DELINQUENCY_60 = 1
METRIC_OC = 2
EFFECT_SEQUENTIAL = 0
EFFECT_TURBO = 1
EFFECT_RESERVE_STEP_UP = 2
EFFECT_OC_STEP_UP = 3

# PoolFlows fields used here (see simulation.collateral.FIELD_NAMES).
_INTEREST = 0
_SCHEDULED = 1
_PREPAID = 2
_DEFAULTED = 3
_RECOVERIES = 4
_ENDING = 5
_DQ60 = 7
_DQ90P = 8
_DELINQUENT_INTEREST = 10

# Per-class outputs: class_out[field, path, class, period]; also the first rows of ``notes``.
CF_INTEREST_DUE = 0
CF_INTEREST_PAID = 1
CF_PRINCIPAL_PAID = 2
CF_ENDING_BALANCE = 3  # the balance, as it runs down during the payment date
CF_COUPON_RATE = 4
N_CLASS_FIELDS = 5
NOTE_BEGINNING = 5  # balance before the payment date
NOTE_SHORTFALL = 6  # unpaid interest carried to the next period
N_NOTE_ROWS = 7

# Deal-level outputs: deal_out[field, path, period]; also the first slots of the ``ledger``.
DF_AVAILABLE_FUNDS = 0  # pool collections received by the trust, incl. the call price
DF_CALL_PROCEEDS = 1
DF_FEES_PAID = 2
DF_SWAP_NET_RECEIPT = 3  # received minus paid (one of the two is zero)
DF_RESERVE_DRAW = 4  # every reserve-to-waterfall transfer, releases included
DF_RESERVE_RELEASE = 5  # the part of the draw that releases excess over the target
DF_RESERVE_DEPOSIT = 6
DF_RESERVE_BALANCE = 7  # carried from period to period
DF_RESIDUAL = 8
DF_OC_AMOUNT = 9
DF_OC_TARGET = 10
DF_POOL_BALANCE = 11  # ending pool balance held by the trust
DF_PRINCIPAL_DISTRIBUTION_AMOUNT = 12
DF_ADJUSTED_POOL_BALANCE = 13  # pool balance less the YSOC amount, floored at 0
DF_SERVICER_ADVANCE = 14  # scheduled interest of delinquent loans advanced by the servicer
DF_ADVANCE_REIMBURSEMENT = 15  # outstanding advances repaid to the servicer, first
DF_SWAP_ARREARS = 16  # net swap payment owed and unpaid, carried
DF_ADVANCES_OUTSTANDING = 17  # servicer advances not yet reimbursed, carried
DF_INTEREST_DEFAULT_RUN = 18  # consecutive payment dates with a controlling-class shortfall
DF_PRINCIPAL_DEFAULT_RUN = 19  # consecutive payment dates with a class unpaid past its final
DF_CUM_NET_LOSS = 20  # charged-off principal less recoveries since the cut-off, USD
DF_DELINQUENCY_60_RATIO = 21  # the period's 60+ delinquent balance over the pool balance
N_DEAL_FIELDS = 22
L_AVAILABLE = 22  # available funds not yet paid out
L_RESERVE_TARGET = 23
L_SWAP_RECEIPT = 24
L_SWAP_PAID = 25
L_PRINCIPAL_PAID = 26  # note principal paid so far on this payment date
L_POOL_BEGINNING = 27  # pool balance after the previous payment date
L_NOTES_BEGINNING = 28
L_ADJUSTED_BEGINNING = 29  # adjusted pool balance after the previous payment date
L_FEE_ACCRUAL_BALANCE = 30  # balance fees at a rate accrue on: one per month of the period
N_LEDGER = 31

# Path outputs: path_out[field, path, class]; event_period[event, path].
PF_PRINCIPAL_LOSS = 0
PF_INTEREST_SHORTFALL = 1
N_PATH_FIELDS = 2
EV_EVENT_OF_DEFAULT = 0
EV_CLEAN_UP_CALL = 1
N_EVENTS = 2

# Slots of ``StartArrays.deal_state (N_START_FIELDS,)``, float64 USD: the amounts a path
# carries from the payment date before its first period.
ST_RESERVE = 0  # reserve account balance
ST_POOL = 1  # pool balance after the previous payment date
ST_ADJUSTED_POOL = 2  # the same less its yield-supplement OC amount
ST_CUM_NET_LOSS = 3  # charged-off principal less recoveries since the cut-off
ST_SWAP_ARREARS = 4  # net swap payment owed and unpaid
ST_ADVANCES_OUTSTANDING = 5  # servicer advances not yet reimbursed
N_START_FIELDS = 6

# Slots of ``StartArrays.counters (N_START_COUNTERS,)``, int64.
SC_ACCELERATED = 0  # 1: an event of default has accelerated the notes
SC_INTEREST_MISSED_RUN = 1  # consecutive payment dates with a controlling-class shortfall
SC_PRINCIPAL_MISSED_RUN = 2  # consecutive payment dates with a class unpaid past its final
N_START_COUNTERS = 3

_BALANCE_TOLERANCE = 1e-9  # relative to a class's original balance


class ProgramArrays(NamedTuple):
    """The compiled program as the kernel reads it (shapes in the row constants above).

    The fields are the :class:`simulation.waterfall.WaterfallProgram` arrays of the same
    names; numba passes the record by value and the kernel only reads it.
    """

    class_param: np.ndarray
    class_code: np.ndarray
    deal_param: np.ndarray
    deal_code: np.ndarray
    ops: np.ndarray
    group_ptr: np.ndarray
    fee_param: np.ndarray
    swap_class: np.ndarray
    swap_fixed_rate: np.ndarray
    trigger_code: np.ndarray
    ysoc_amount: np.ndarray


class StartArrays(NamedTuple):
    """The state every path starts from: the deal at closing, or after a reporting date.

    ``class_balance`` and ``unpaid_interest`` ``(n_classes,)`` USD; ``deal_state
    (N_START_FIELDS,)`` (``ST_*``); ``fee_arrears (n_fees,)`` USD; ``trigger_breached
    (n_triggers,)`` bool; ``counters (N_START_COUNTERS,)`` int64 (``SC_*``);
    ``delinquency_history (n_history,)`` the 60+ delinquency ratios of the periods before the
    first, oldest first (as many as the longest rolling-average trigger still needs).
    """

    class_balance: np.ndarray
    unpaid_interest: np.ndarray
    deal_state: np.ndarray
    fee_arrears: np.ndarray
    trigger_breached: np.ndarray
    counters: np.ndarray
    delinquency_history: np.ndarray


@jit_inline
def _pay_pro_rata(amount, notes, lo, hi):  # pragma: no cover - jitted
    """Pay up to ``amount`` of principal to classes ``lo..hi-1`` in proportion to their balances.

    Reduces the balances and adds to the principal paid in ``notes``; returns the amount used:
    the classes' balance when ``amount`` covers it, else all of ``amount``.
    """
    owed = 0.0
    for i in range(lo, hi):
        owed += notes[CF_ENDING_BALANCE, i]
    if owed <= 0.0 or amount <= 0.0:
        return 0.0
    if amount >= owed:
        for i in range(lo, hi):
            notes[CF_PRINCIPAL_PAID, i] += notes[CF_ENDING_BALANCE, i]
            notes[CF_ENDING_BALANCE, i] = 0.0
        return owed
    share = amount / owed
    for i in range(lo, hi):
        x = notes[CF_ENDING_BALANCE, i] * share
        notes[CF_ENDING_BALANCE, i] -= x
        notes[CF_PRINCIPAL_PAID, i] += x
    return amount


@jit_inline
def _allocate_principal(amount, notes, group_ptr, alloc):  # pragma: no cover - jitted
    """Pay ``amount`` of principal group by group (sequential), pro rata within a group.

    ``group_ptr[alloc]`` (n_groups + 1,): group g is classes ``group_ptr[alloc, g] ..
    group_ptr[alloc, g+1]-1`` (empty groups are skipped). Reduces the balances and adds to the
    principal paid in ``notes``; returns the amount paid.
    """
    left = amount
    for g in range(group_ptr.shape[1] - 1):
        if left <= 0.0:
            break
        left -= _pay_pro_rata(left, notes, group_ptr[alloc, g], group_ptr[alloc, g + 1])
    return amount - left


@jit_inline
def _through(notes, last):  # pragma: no cover - jitted
    """Aggregate balance of classes 0..last (inclusive)."""
    total = 0.0
    for i in range(last + 1):
        total += notes[CF_ENDING_BALANCE, i]
    return total


@jit_inline
def _matured_notes(notes, class_code, t, last):  # pragma: no cover - jitted
    """Principal owed for legal finals (0 if none).

    The notes through the most junior class ``<= last`` whose legal final period is ``<= t``
    and that still has a balance.
    """
    owed = 0.0
    for i in range(last + 1):
        if 0 <= class_code[CC_LEGAL_FINAL_PERIOD, i] <= t and notes[CF_ENDING_BALANCE, i] > 0.0:
            owed = max(owed, _through(notes, i))
    return owed


@jit_inline
def _open_period(ledger, notes, flows, ysoc_amount, advancing, p,
                 t):  # pragma: no cover - jitted
    """Start payment date ``t`` of path ``p``: book the collections and losses, reset payments.

    The adjusted pool is the ending pool less the YSOC amount after collection period ``t``
    (``ysoc_amount[t + 1]``, 0 past the schedule), floored at 0. With ``advancing`` the
    servicer advances the scheduled interest not collected on delinquent loans.
    """
    ledger[DF_SERVICER_ADVANCE] = flows[p, t, _DELINQUENT_INTEREST] if advancing else 0.0
    ledger[DF_ADVANCE_REIMBURSEMENT] = 0.0
    ledger[DF_POOL_BALANCE] = flows[p, t, _ENDING]
    ysoc = ysoc_amount[t + 1] if t + 1 < ysoc_amount.shape[0] else 0.0
    ledger[DF_ADJUSTED_POOL_BALANCE] = max(flows[p, t, _ENDING] - ysoc, 0.0)
    ledger[DF_AVAILABLE_FUNDS] = (flows[p, t, _INTEREST] + flows[p, t, _SCHEDULED]
                                  + flows[p, t, _PREPAID] + flows[p, t, _RECOVERIES])
    ledger[DF_CUM_NET_LOSS] += flows[p, t, _DEFAULTED] - flows[p, t, _RECOVERIES]
    ledger[DF_CALL_PROCEEDS] = 0.0
    ledger[DF_FEES_PAID] = 0.0
    ledger[DF_RESERVE_DRAW] = 0.0
    ledger[DF_RESERVE_RELEASE] = 0.0
    ledger[DF_RESERVE_DEPOSIT] = 0.0
    ledger[DF_RESIDUAL] = 0.0
    ledger[L_SWAP_PAID] = 0.0
    ledger[L_PRINCIPAL_PAID] = 0.0
    notes_beg = 0.0
    for i in range(notes.shape[1]):
        notes[NOTE_BEGINNING, i] = notes[CF_ENDING_BALANCE, i]
        notes_beg += notes[CF_ENDING_BALANCE, i]
        notes[CF_INTEREST_PAID, i] = 0.0
        notes[CF_PRINCIPAL_PAID, i] = 0.0
    ledger[L_NOTES_BEGINNING] = notes_beg


@jit_inline
def _trigger_hit(metric, window, threshold, dq_ratio, now, ledger,
                 initial_pool):  # pragma: no cover - jitted
    """Whether a trigger's test fails on a payment date (the collection period's data).

    CNL above the threshold; the 60+ delinquency ratio, averaged over the last ``window``
    periods (``dq_ratio[now]`` this one, earlier ones before it), above it; the OC ratio (on
    the adjusted pool) after the previous payment date below it.
    """
    if metric == METRIC_CNL:
        return ledger[DF_CUM_NET_LOSS] / initial_pool > threshold
    if metric == METRIC_DELINQUENCY_60:
        first = max(0, now - window + 1)
        total = 0.0
        for s in range(first, now + 1):
            total += dq_ratio[s]
        return total / (now + 1 - first) > threshold
    pool_beg = ledger[L_ADJUSTED_BEGINNING]
    oc_ratio = (pool_beg - ledger[L_NOTES_BEGINNING]) / pool_beg if pool_beg > 0.0 else 1.0
    return oc_ratio < threshold


@jit_inline
def _apply_triggers(trigger_code, thresholds, breached, flows, p, t, dq_ratio, n_history,
                    ledger, initial_pool, sequential, turbo):  # pragma: no cover - jitted
    """Test every trigger, update ``breached`` in place, return the effects in force.

    Books period ``t``'s 60+ delinquency ratio in ``dq_ratio[n_history + t]`` (0 for an empty
    pool) and the ledger first. ``sequential`` and ``turbo`` are the states without triggers
    (acceleration, a turbo deal); returns ``(sequential, turbo, reserve_step_up,
    oc_step_up)``.
    ``thresholds (n_triggers, n_periods)``.
    """
    now = n_history + t
    balance = flows[p, t, _ENDING]
    dq_ratio[now] = (flows[p, t, _DQ60] + flows[p, t, _DQ90P]) / balance if balance > 0.0 else 0.0
    ledger[DF_DELINQUENCY_60_RATIO] = dq_ratio[now]
    step_up = False
    oc_step_up = False
    for k in range(trigger_code.shape[1]):
        hit = _trigger_hit(trigger_code[TC_METRIC, k], trigger_code[TC_WINDOW, k],
                           thresholds[k, t], dq_ratio, now, ledger, initial_pool)
        if trigger_code[TC_CURABLE, k]:
            breached[k] = hit
        else:
            breached[k] = breached[k] or hit
        if breached[k]:
            effect = trigger_code[TC_EFFECT, k]
            if effect == EFFECT_SEQUENTIAL:
                sequential = True
            elif effect == EFFECT_TURBO:
                turbo = True
            elif effect == EFFECT_RESERVE_STEP_UP:
                step_up = True
            else:
                oc_step_up = True
    return sequential, turbo, step_up, oc_step_up


@jit_inline
def _accrue_interest(notes, class_param, class_code, index, act_fraction,
                     thirty_360_fraction):  # pragma: no cover - jitted
    """Coupon rates and interest due of every class (30/360 fixed, act/360 otherwise).

    Interest due includes the shortfall carried from the previous period; ``act_fraction`` is
    the period's actual days / 360, ``thirty_360_fraction`` its 30/360 days / 360 (both from
    closing in the first period: the stub).
    """
    for i in range(notes.shape[1]):
        kind = class_code[CC_RATE_KIND, i]
        if kind == RATE_FLOATING:
            r = min(class_param[CP_CAP, i],
                    max(class_param[CP_FLOOR, i], index + class_param[CP_COUPON, i]))
            accrual = act_fraction
        elif kind == RATE_MONEY_MARKET:
            r = class_param[CP_COUPON, i]
            accrual = act_fraction
        else:
            r = class_param[CP_COUPON, i]
            accrual = thirty_360_fraction
        notes[CF_COUPON_RATE, i] = r
        notes[CF_INTEREST_DUE, i] = (notes[NOTE_BEGINNING, i] * r * accrual
                                     + notes[NOTE_SHORTFALL, i])


@jit_inline
def _accrue_swaps(ledger, notes, swap_class, swap_fixed_rate, index, act_fraction,
                  thirty_360_fraction):  # pragma: no cover - jitted
    """Net swap payment (trust pays fixed 30/360, receives the index act/360) or receipt.

    Adds the period's net amount of every swap to the carried ``DF_SWAP_ARREARS``; a net receipt
    goes to ``L_SWAP_RECEIPT`` and leaves nothing due.
    """
    swap_due = ledger[DF_SWAP_ARREARS]
    for s in range(swap_class.shape[0]):
        notional = notes[NOTE_BEGINNING, swap_class[s]]
        swap_due += notional * (swap_fixed_rate[s] * thirty_360_fraction - index * act_fraction)
    receipt = 0.0
    if swap_due < 0.0:
        receipt = -swap_due
        swap_due = 0.0
    ledger[DF_SWAP_ARREARS] = swap_due
    ledger[L_SWAP_RECEIPT] = receipt


@jit_inline
def _fee_owed(fee_param, fee_carry, j, accrual_balance):  # pragma: no cover - jitted
    """Fee ``j`` due on this payment date, with its carried arrears.

    ``accrual_balance``: the pool balance at the start of each month of the collection period,
    summed (the beginning pool balance for a one-month period).
    """
    return (fee_param[FP_RATE, j] * accrual_balance / 12.0 + fee_param[FP_USD_PER_MONTH, j]
            + fee_carry[j])


@jit_inline
def _clean_up_call(ledger, notes, fee_param, fee_carry, clean_up_usd):  # pragma: no cover
    """Exercise the clean-up call if allowed and affordable; return whether it was.

    Allowed when the ending pool is positive and at most ``clean_up_usd``; affordable when the
    price (the pool at par) with the period's funds and the reserve pays every fee, the swap,
    interest and note in full. The price becomes a collection and the pool leaves the trust.
    """
    pool_end = ledger[DF_POOL_BALANCE]
    if not (clean_up_usd > 0.0 and 0.0 < pool_end <= clean_up_usd):
        return False
    owed = ledger[L_NOTES_BEGINNING] + ledger[DF_SWAP_ARREARS] + ledger[DF_ADVANCES_OUTSTANDING]
    for i in range(notes.shape[1]):
        owed += notes[CF_INTEREST_DUE, i]
    for j in range(fee_carry.shape[0]):
        owed += _fee_owed(fee_param, fee_carry, j, ledger[L_FEE_ACCRUAL_BALANCE])
    funds = (ledger[DF_AVAILABLE_FUNDS] + pool_end + ledger[L_SWAP_RECEIPT]
             + ledger[DF_RESERVE_BALANCE])  # the period's advance is repaid at once
    if funds >= owed:
        ledger[DF_CALL_PROCEEDS] = pool_end
        ledger[DF_AVAILABLE_FUNDS] += pool_end
        ledger[DF_POOL_BALANCE] = 0.0
        ledger[DF_ADJUSTED_POOL_BALANCE] = 0.0
        return True
    return False


@jit_inline
def _reimburse_advances(ledger, final):  # pragma: no cover - jitted
    """Add the period's servicer advance to available funds; repay outstanding advances first.

    Advances of earlier periods (recoverable or not: a loan charged off never repays its
    arrears) are reimbursed from the funds ahead of every other payment; on the last payment
    date (``final``) the period's own advance too. What stays unpaid is carried.
    """
    advance = ledger[DF_SERVICER_ADVANCE]
    ledger[L_AVAILABLE] += advance
    owed = ledger[DF_ADVANCES_OUTSTANDING] + (advance if final else 0.0)
    pay = min(owed, ledger[L_AVAILABLE])
    ledger[L_AVAILABLE] -= pay
    ledger[DF_ADVANCE_REIMBURSEMENT] = pay
    ledger[DF_ADVANCES_OUTSTANDING] = owed - pay + (0.0 if final else advance)


@jit_inline
def _set_reserve_target(ledger, deal_param, on_current, step_up,
                        release_all):  # pragma: no cover - jitted
    """Set the reserve target and release the reserve's excess over it into available funds.

    Target: max(pct x basis, floor), at most the notes outstanding; the step-up pct while
    ``step_up``; the current or the initial adjusted pool as the basis (``on_current``); 0
    when ``release_all`` (the last period, acceleration).
    """
    if release_all:
        ledger[L_RESERVE_TARGET] = 0.0
    else:
        pct = (deal_param[DP_RESERVE_STEP_UP_PCT] if step_up
               else deal_param[DP_RESERVE_TARGET_PCT])
        basis = (ledger[DF_ADJUSTED_POOL_BALANCE] if on_current
                 else deal_param[DP_ADJUSTED_INITIAL_POOL])
        ledger[L_RESERVE_TARGET] = min(max(pct * basis, deal_param[DP_RESERVE_FLOOR]),
                                       ledger[L_NOTES_BEGINNING])
    reserve = ledger[DF_RESERVE_BALANCE]
    if reserve > ledger[L_RESERVE_TARGET]:
        release = reserve - ledger[L_RESERVE_TARGET]
        ledger[DF_RESERVE_BALANCE] = ledger[L_RESERVE_TARGET]
        ledger[L_AVAILABLE] += release
        ledger[DF_RESERVE_DRAW] += release
        ledger[DF_RESERVE_RELEASE] = release


@jit_inline
def _oc_target(deal_param, pool_end, step_up):  # pragma: no cover - jitted
    """OC target: min(pool, max(x% of the current pool + y% of the initial one, floor)).

    ``pool_end``: the adjusted pool (the pool without yield-supplement OC); the initial
    amounts in ``deal_param`` are on the initial adjusted pool.

    ``step_up`` (an ``oc_step_up`` trigger breached): the step-up x and y.
    """
    if step_up:
        target = (deal_param[DP_OC_STEP_UP_CURRENT_PCT] * pool_end
                  + deal_param[DP_OC_STEP_UP_INITIAL_USD])
    else:
        target = deal_param[DP_OC_CURRENT_PCT] * pool_end + deal_param[DP_OC_INITIAL_USD]
    return min(pool_end, max(target, deal_param[DP_OC_FLOOR_USD]))


@jit_inline
def _principal_distribution_amount(ledger, notes, class_code, t,
                                   pay_all):  # pragma: no cover - jitted
    """Principal distribution amount: notes less (adjusted pool - OC target), within [0, notes].

    ``pay_all`` (turbo, the last period): all notes. From a class's legal final period on, at
    least the notes through that class.
    """
    notes_beg = ledger[L_NOTES_BEGINNING]
    if pay_all:
        return notes_beg
    excess = max(ledger[DF_ADJUSTED_POOL_BALANCE] - ledger[DF_OC_TARGET], 0.0)
    pda = min(max(notes_beg - excess, 0.0), notes_beg)
    return max(pda, _matured_notes(notes, class_code, t, notes.shape[1] - 1))


@jit_inline
def _draw_reserve(ledger, owed):  # pragma: no cover - jitted
    """Cover the shortfall of available funds below ``owed`` from the reserve, as it allows."""
    available = ledger[L_AVAILABLE]
    reserve = ledger[DF_RESERVE_BALANCE]
    if owed > available and reserve > 0.0:
        x = min(reserve, owed - available)
        ledger[DF_RESERVE_BALANCE] = reserve - x
        ledger[DF_RESERVE_DRAW] += x
        ledger[L_AVAILABLE] = available + x


@jit_inline
def _pay_covered(ledger, owed):  # pragma: no cover - jitted
    """Pay what available funds, topped up from the reserve, cover of ``owed``; return it."""
    _draw_reserve(ledger, owed)
    pay = min(owed, ledger[L_AVAILABLE])
    ledger[L_AVAILABLE] -= pay
    return pay


@jit_inline
def _pay_fee(ledger, fee_param, fee_carry, j):  # pragma: no cover - jitted
    """OP_FEE: pay fee ``j`` and its arrears, reserve-covered; carry what stays unpaid."""
    owed = _fee_owed(fee_param, fee_carry, j, ledger[L_FEE_ACCRUAL_BALANCE])
    pay = _pay_covered(ledger, owed)
    ledger[DF_FEES_PAID] += pay
    fee_carry[j] = owed - pay


@jit_inline
def _pay_swap(ledger):  # pragma: no cover - jitted
    """OP_SWAP: pay the net swap payment and its arrears, reserve-covered."""
    pay = _pay_covered(ledger, ledger[DF_SWAP_ARREARS])
    ledger[L_SWAP_PAID] += pay
    ledger[DF_SWAP_ARREARS] -= pay


@jit_inline
def _pay_interest(ledger, notes, first, last):  # pragma: no cover - jitted
    """OP_INTEREST: interest due of classes ``first..last``, reserve-covered, pro rata if short."""
    owed = 0.0
    for i in range(first, last + 1):
        owed += notes[CF_INTEREST_DUE, i]
    _draw_reserve(ledger, owed)
    available = ledger[L_AVAILABLE]
    if owed <= available:
        for i in range(first, last + 1):
            notes[CF_INTEREST_PAID, i] += notes[CF_INTEREST_DUE, i]
        ledger[L_AVAILABLE] = available - owed
    elif owed > 0.0:
        share = available / owed
        spent = 0.0
        for i in range(first, last + 1):
            x = notes[CF_INTEREST_DUE, i] * share
            notes[CF_INTEREST_PAID, i] += x
            spent += x
        ledger[L_AVAILABLE] = max(available - spent, 0.0)


@jit_inline
def _pay_principal(ledger, notes, owed, group_ptr, alloc):  # pragma: no cover - jitted
    """Pay up to ``owed`` of principal from available funds in allocation ``alloc``."""
    paid = _allocate_principal(min(owed, ledger[L_AVAILABLE]), notes, group_ptr, alloc)
    ledger[L_AVAILABLE] -= paid
    ledger[L_PRINCIPAL_PAID] += paid


@jit_inline
def _pay_priority_principal(ledger, notes, last, class_code, t, group_ptr,
                            alloc):  # pragma: no cover - jitted
    """OP_PRIORITY_PRINCIPAL: until the notes through ``last`` are covered by the adjusted pool.

    From the legal final period of a class through ``last`` on (periods up to ``t``; -1: the
    deal does not ask for it), at least the notes through that class (the class is retired
    ahead of junior interest), reserve-covered.
    """
    owed = max(_through(notes, last) - ledger[DF_ADJUSTED_POOL_BALANCE],
               _matured_notes(notes, class_code, t, last), 0.0)
    _draw_reserve(ledger, owed)
    _pay_principal(ledger, notes, owed, group_ptr, alloc)


@jit_inline
def _deposit_reserve(ledger):  # pragma: no cover - jitted
    """OP_RESERVE_DEPOSIT: top the reserve up to its target from available funds."""
    x = min(max(ledger[L_RESERVE_TARGET] - ledger[DF_RESERVE_BALANCE], 0.0),
            ledger[L_AVAILABLE])
    ledger[DF_RESERVE_BALANCE] += x
    ledger[DF_RESERVE_DEPOSIT] += x
    ledger[L_AVAILABLE] -= x


@jit_inline
def _pay_regular_principal(ledger, notes, group_ptr, alloc):  # pragma: no cover - jitted
    """OP_REGULAR_PRINCIPAL: the PDA less the principal already paid this payment date."""
    owed = max(ledger[DF_PRINCIPAL_DISTRIBUTION_AMOUNT] - ledger[L_PRINCIPAL_PAID], 0.0)
    _pay_principal(ledger, notes, owed, group_ptr, alloc)


@jit_inline
def _pay_principal_to(ledger, notes, last, group_ptr):  # pragma: no cover - jitted
    """OP_PRINCIPAL_TO: every available dollar to principal of the notes through ``last``.

    Sequentially, keeping only the pro-rata groups that never switch.
    """
    _pay_principal(ledger, notes, _through(notes, last), group_ptr, ALLOC_SEQUENTIAL)


@jit_inline
def _pay_principal_pro_rata(ledger, notes, first, last):  # pragma: no cover - jitted
    """OP_PRINCIPAL_PRO_RATA: every available dollar to principal of classes ``first..last``.

    Pro rata on their balances (an ``accelerated_waterfall``'s ``{principal: [...]}`` step).
    """
    paid = _pay_pro_rata(ledger[L_AVAILABLE], notes, first, last + 1)
    ledger[L_AVAILABLE] -= paid
    ledger[L_PRINCIPAL_PAID] += paid


@jit_inline
def _pay_residual(ledger):  # pragma: no cover - jitted
    """OP_RESIDUAL: what is left to the certificate holder."""
    ledger[DF_RESIDUAL] += ledger[L_AVAILABLE]
    ledger[L_AVAILABLE] = 0.0


@jit_inline
def _close_period(ledger, notes):  # pragma: no cover - jitted
    """Carry unpaid interest; book the swap's net cash and the OC (adjusted pool - notes)."""
    notes_end = 0.0
    for i in range(notes.shape[1]):
        notes[NOTE_SHORTFALL, i] = max(notes[CF_INTEREST_DUE, i] - notes[CF_INTEREST_PAID, i],
                                       0.0)
        notes_end += notes[CF_ENDING_BALANCE, i]
    ledger[DF_SWAP_NET_RECEIPT] = ledger[L_SWAP_RECEIPT] - ledger[L_SWAP_PAID]
    ledger[DF_OC_AMOUNT] = ledger[DF_ADJUSTED_POOL_BALANCE] - notes_end


@jit_inline
def _missed_payments(ops, n_normal, notes, class_param, class_code,
                     t):  # pragma: no cover - jitted
    """The payment defaults of period ``t``: ``(interest_missed, principal_missed)``.

    Interest: the controlling classes (the first interest step of the normal program
    ``ops[:, :n_normal]`` with a balance outstanding at the start of the period) carry unpaid
    interest. Principal: a class has a balance after the payments of its legal final period or
    a later one.
    """
    interest_missed = False
    for k in range(n_normal):
        if ops[OPF_CODE, k] != OP_INTEREST:
            continue
        first = ops[OPF_FIRST_CLASS, k]
        last = ops[OPF_TARGET, k]
        outstanding = False
        for i in range(first, last + 1):
            if notes[NOTE_BEGINNING, i] > 0.0:
                outstanding = True
        if outstanding:
            for i in range(first, last + 1):
                if notes[NOTE_SHORTFALL, i] > 1e-9 * notes[CF_INTEREST_DUE, i]:
                    interest_missed = True
            break
    principal_missed = False
    for i in range(notes.shape[1]):
        if (0 <= class_code[CC_LEGAL_FINAL_PERIOD, i] <= t and notes[CF_ENDING_BALANCE, i]
                > _BALANCE_TOLERANCE * class_param[CP_ORIGINAL_BALANCE, i]):
            principal_missed = True
    return interest_missed, principal_missed


@jit_parallel(fastmath=False)
def waterfall_kernel(program, initial, flows, index_rates, later_months_balance, act_fraction,
                     thirty_360_fraction, thresholds, class_out, deal_out, path_out, event_period,
                     trigger_breached, sequential_mode, fee_arrears):
    """Run the compiled waterfall on every path; fill the caller-allocated outputs.

    Parameters
    ----------
    program : ProgramArrays
        The compiled deal (:class:`simulation.waterfall.WaterfallProgram`).
    initial : StartArrays
        The state every path starts from (the closing state, or the deal after a reporting
        date; period 0 of the outputs is the period after it).
    flows : numpy.ndarray
        ``(n_paths, n_periods, 11)`` PoolFlows, USD.
    index_rates : numpy.ndarray
        ``(1 or n_paths, n_periods)`` note index, annual decimal.
    later_months_balance : numpy.ndarray
        ``(1 or n_paths, n_periods)`` USD: the pool balance at the start of each month of a
        collection period after its first, summed (0 for a one-month period); fees at a rate
        accrue on it as on the beginning pool balance.
    act_fraction : numpy.ndarray
        ``(n_periods,)`` actual days / 360 of each interest period (act/360 classes).
    thirty_360_fraction : numpy.ndarray
        ``(n_periods,)`` 30/360 days / 360 of each interest period (fixed classes, swaps).
    thresholds : numpy.ndarray
        ``(n_triggers, n_periods)`` trigger thresholds.
    class_out : numpy.ndarray
        ``(N_CLASS_FIELDS, n_paths, n_classes, n_periods)`` zeros; filled with ``CF_*``.
    deal_out : numpy.ndarray
        ``(N_DEAL_FIELDS, n_paths, n_periods)`` zeros; filled with ``DF_*``.
    path_out : numpy.ndarray
        ``(N_PATH_FIELDS, n_paths, n_classes)``; filled with ``PF_*`` after the last period.
    event_period : numpy.ndarray
        ``(N_EVENTS, n_paths)`` int64, -1; set to the period index of each ``EV_*`` event.
    trigger_breached : numpy.ndarray
        ``(n_paths, n_triggers, n_periods)`` bool, False; the trigger states.
    sequential_mode : numpy.ndarray
        ``(n_paths, n_periods)`` bool, False; whether principal was paid sequentially.
    fee_arrears : numpy.ndarray
        ``(n_paths, n_fees, n_periods)`` zeros; each fee owed and unpaid after the period.

    Notes
    -----
    A payment date, on the data of the collection period just ended: triggers, interest and
    swap accruals, clean-up call, reserve target and release, OC target and principal
    distribution amount, the opcodes of the normal program (of the accelerated one after an
    event of default), event-of-default test (a controlling-class interest shortfall or a class
    unpaid after its legal final, lasting more than the deal's grace periods). After the call
    the trust has ended: only the ending balances are written. No input checking.
    """
    n_paths = flows.shape[0]
    n_periods = flows.shape[1]
    n_classes = program.class_param.shape[1]
    shared_index = index_rates.shape[0] == 1
    shared_later_months = later_months_balance.shape[0] == 1
    ops = program.ops
    deal_param = program.deal_param
    n_normal = program.deal_code[DC_ACCELERATED_START]
    on_current = program.deal_code[DC_RESERVE_ON_CURRENT] != 0
    turbo_always = program.deal_code[DC_TURBO_ALWAYS] != 0
    interest_grace = program.deal_code[DC_INTEREST_GRACE]
    principal_grace = program.deal_code[DC_PRINCIPAL_GRACE]
    legal_final_priority = program.deal_code[DC_LEGAL_FINAL_PRIORITY] != 0
    advancing = program.deal_code[DC_SERVICER_ADVANCES] != 0
    initial_pool = deal_param[DP_INITIAL_POOL]
    clean_up_usd = deal_param[DP_CLEAN_UP_USD]
    n_history = initial.delinquency_history.shape[0]
    for p in prange(n_paths):
        notes = np.zeros((N_NOTE_ROWS, n_classes))
        notes[CF_ENDING_BALANCE] = initial.class_balance
        notes[NOTE_SHORTFALL] = initial.unpaid_interest
        ledger = np.zeros(N_LEDGER)
        ledger[DF_RESERVE_BALANCE] = initial.deal_state[ST_RESERVE]
        ledger[L_POOL_BEGINNING] = initial.deal_state[ST_POOL]
        ledger[L_ADJUSTED_BEGINNING] = initial.deal_state[ST_ADJUSTED_POOL]
        ledger[DF_CUM_NET_LOSS] = initial.deal_state[ST_CUM_NET_LOSS]
        ledger[DF_SWAP_ARREARS] = initial.deal_state[ST_SWAP_ARREARS]
        ledger[DF_ADVANCES_OUTSTANDING] = initial.deal_state[ST_ADVANCES_OUTSTANDING]
        fee_carry = initial.fee_arrears.copy()
        breached = initial.trigger_breached.copy()
        dq_ratio = np.zeros(n_history + n_periods)
        dq_ratio[:n_history] = initial.delinquency_history
        accelerated = initial.counters[SC_ACCELERATED] != 0
        interest_missed_run = initial.counters[SC_INTEREST_MISSED_RUN]
        principal_missed_run = initial.counters[SC_PRINCIPAL_MISSED_RUN]
        ended = False
        ix = p - p if shared_index else p  # same integer type as the prange index
        im = p - p if shared_later_months else p
        for t in range(n_periods):
            if ended:
                for i in range(n_classes):
                    class_out[CF_ENDING_BALANCE, p, i, t] = notes[CF_ENDING_BALANCE, i]
                continue
            index = index_rates[ix, t]
            _open_period(ledger, notes, flows, program.ysoc_amount, advancing, p, t)
            ledger[L_FEE_ACCRUAL_BALANCE] = (ledger[L_POOL_BEGINNING]
                                             + later_months_balance[im, t])
            sequential, turbo, step_up, oc_step_up = _apply_triggers(
                program.trigger_code, thresholds, breached, flows, p, t, dq_ratio, n_history,
                ledger, initial_pool, accelerated, turbo_always)
            for k in range(breached.shape[0]):
                trigger_breached[p, k, t] = breached[k]
            sequential_mode[p, t] = sequential
            alloc = ALLOC_SEQUENTIAL if sequential else ALLOC_NORMAL
            _accrue_interest(notes, program.class_param, program.class_code, index,
                             act_fraction[t], thirty_360_fraction[t])
            _accrue_swaps(ledger, notes, program.swap_class, program.swap_fixed_rate, index,
                          act_fraction[t], thirty_360_fraction[t])
            if _clean_up_call(ledger, notes, program.fee_param, fee_carry, clean_up_usd):
                event_period[EV_CLEAN_UP_CALL, p] = t
                ended = True
            ledger[L_AVAILABLE] = ledger[DF_AVAILABLE_FUNDS] + ledger[L_SWAP_RECEIPT]
            pool_end = ledger[DF_POOL_BALANCE]
            final = ended or t == n_periods - 1 or pool_end <= 0.0
            _reimburse_advances(ledger, final)
            _set_reserve_target(ledger, deal_param, on_current, step_up, final or accelerated)
            ledger[DF_OC_TARGET] = _oc_target(deal_param, ledger[DF_ADJUSTED_POOL_BALANCE],
                                              oc_step_up)
            ledger[DF_PRINCIPAL_DISTRIBUTION_AMOUNT] = _principal_distribution_amount(
                ledger, notes, program.class_code, t, final or turbo)

            start = n_normal if accelerated else 0
            stop = ops.shape[1] if accelerated else n_normal
            for k in range(start, stop):
                op = ops[OPF_CODE, k]
                target = ops[OPF_TARGET, k]
                if op == OP_FEE:
                    _pay_fee(ledger, program.fee_param, fee_carry, target)
                elif op == OP_SWAP:
                    _pay_swap(ledger)
                elif op == OP_INTEREST:
                    _pay_interest(ledger, notes, ops[OPF_FIRST_CLASS, k], target)
                elif op == OP_PRIORITY_PRINCIPAL:
                    _pay_priority_principal(ledger, notes, target, program.class_code,
                                            t if legal_final_priority else -1,
                                            program.group_ptr, alloc)
                elif op == OP_RESERVE_DEPOSIT:
                    _deposit_reserve(ledger)
                elif op == OP_REGULAR_PRINCIPAL:
                    _pay_regular_principal(ledger, notes, program.group_ptr, alloc)
                elif op == OP_PRINCIPAL_TO:
                    _pay_principal_to(ledger, notes, target, program.group_ptr)
                elif op == OP_PRINCIPAL_PRO_RATA:
                    _pay_principal_pro_rata(ledger, notes, ops[OPF_FIRST_CLASS, k], target)
                else:  # OP_RESIDUAL
                    _pay_residual(ledger)
            _close_period(ledger, notes)
            if not accelerated:
                interest_missed, principal_missed = _missed_payments(
                    ops, n_normal, notes, program.class_param, program.class_code, t)
                interest_missed_run = interest_missed_run + 1 if interest_missed else 0
                principal_missed_run = principal_missed_run + 1 if principal_missed else 0
                if (interest_missed_run > interest_grace
                        or principal_missed_run > principal_grace):
                    accelerated = True
                    event_period[EV_EVENT_OF_DEFAULT, p] = t
            ledger[DF_INTEREST_DEFAULT_RUN] = interest_missed_run
            ledger[DF_PRINCIPAL_DEFAULT_RUN] = principal_missed_run
            for j in range(fee_carry.shape[0]):
                fee_arrears[p, j, t] = fee_carry[j]

            for f in range(N_CLASS_FIELDS):
                for i in range(n_classes):
                    class_out[f, p, i, t] = notes[f, i]
            for f in range(N_DEAL_FIELDS):
                deal_out[f, p, t] = ledger[f]
            ledger[L_POOL_BEGINNING] = pool_end
            ledger[L_ADJUSTED_BEGINNING] = ledger[DF_ADJUSTED_POOL_BALANCE]
        for i in range(n_classes):
            path_out[PF_PRINCIPAL_LOSS, p, i] = notes[CF_ENDING_BALANCE, i]
            path_out[PF_INTEREST_SHORTFALL, p, i] = notes[NOTE_SHORTFALL, i]
