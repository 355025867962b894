"""The waterfall interpreter: one opcode program run on every path and period.

The kernel trusts its inputs (compiled and shaped by :mod:`simulation.waterfall`): it does no
checking, allocates only per path, and writes into caller-allocated outputs. Period index 0 is
the first collection period. Money in USD, rates annual decimals, accrual fractions in years.
No fastmath: every comparison here decides who gets paid.

The compiled program arrives as one :class:`ProgramArrays` record of packed tables whose rows
(or slots) are named by the constants below. Outputs are plain array arguments, never record
fields: numba loses writes made through a record's arrays inside ``prange`` (numba issue
#5872).
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
OPCODE_NAMES = ("fee", "swap", "interest", "priority_principal", "reserve_deposit",
                "regular_principal", "principal_to", "residual")

# Rows of ``ops (N_OP_FIELDS, n_ops)``; -1 where an opcode takes no operand.
OPF_CODE = 0
OPF_TARGET = 1  # fee index, or the last (most junior) class of the step
OPF_FIRST_CLASS = 2  # interest steps: the first (most senior) class
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
N_DEAL_PARAMS = 9

# Slots of ``deal_code (N_DEAL_CODES,)``, int64.
DC_ACCELERATED_START = 0  # normal program: ops [0, start); accelerated: [start, n_ops)
DC_RESERVE_ON_CURRENT = 1  # 1: reserve target on the current pool, 0: on the initial pool
DC_TURBO_ALWAYS = 2  # 1: every cent to principal (PDA = all notes)
N_DEAL_CODES = 3

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

# PoolFlows fields used here (see simulation.collateral.FIELD_NAMES).
_INTEREST = 0
_SCHEDULED = 1
_PREPAID = 2
_DEFAULTED = 3
_RECOVERIES = 4
_ENDING = 5
_DQ60 = 7
_DQ90P = 8

# Per-class outputs: class_out[field, path, class, period].
CF_INTEREST_DUE = 0
CF_INTEREST_PAID = 1
CF_PRINCIPAL_PAID = 2
CF_ENDING_BALANCE = 3
CF_COUPON_RATE = 4
N_CLASS_FIELDS = 5

# Deal-level outputs: deal_out[field, path, period].
DF_AVAILABLE_FUNDS = 0  # pool collections received by the trust, incl. the call price
DF_CALL_PROCEEDS = 1
DF_FEES_PAID = 2
DF_SWAP_NET_RECEIPT = 3  # received minus paid (one of the two is zero)
DF_RESERVE_DRAW = 4  # every reserve-to-waterfall transfer, releases included
DF_RESERVE_RELEASE = 5  # the part of the draw that releases excess over the target
DF_RESERVE_DEPOSIT = 6
DF_RESERVE_BALANCE = 7
DF_RESIDUAL = 8
DF_OC_AMOUNT = 9
DF_OC_TARGET = 10
DF_POOL_BALANCE = 11
DF_PRINCIPAL_DISTRIBUTION_AMOUNT = 12
N_DEAL_FIELDS = 13

# Path outputs: path_out[field, path, class]; event_period[event, path].
PF_PRINCIPAL_LOSS = 0
PF_INTEREST_SHORTFALL = 1
N_PATH_FIELDS = 2
EV_EVENT_OF_DEFAULT = 0
EV_CLEAN_UP_CALL = 1
N_EVENTS = 2

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


@jit_inline
def _allocate_principal(amount, balance, paid, group_ptr):  # pragma: no cover - jitted
    """Pay ``amount`` of principal group by group (sequential), pro rata within a group.

    ``group_ptr`` (n_groups + 1,): group g is classes ``group_ptr[g] .. group_ptr[g+1]-1``.
    Reduces ``balance`` and adds to ``paid`` in place; returns the amount paid.
    """
    left = amount
    for g in range(group_ptr.shape[0] - 1):
        if left <= 0.0:
            break
        lo = group_ptr[g]
        hi = group_ptr[g + 1]
        owed = 0.0
        for i in range(lo, hi):
            owed += balance[i]
        if owed <= 0.0:
            continue
        if left >= owed:
            for i in range(lo, hi):
                paid[i] += balance[i]
                balance[i] = 0.0
            left -= owed
        else:
            share = left / owed
            spent = 0.0
            for i in range(lo, hi):
                x = balance[i] * share
                balance[i] -= x
                paid[i] += x
                spent += x
            left -= spent
            left = 0.0
    return amount - left


@jit_inline
def _through(balance, last):  # pragma: no cover - jitted
    """Aggregate balance of classes 0..last (inclusive)."""
    total = 0.0
    for i in range(last + 1):
        total += balance[i]
    return total


@jit_parallel(fastmath=False)
def waterfall_kernel(program, flows, index_rates, act_fraction, thresholds, class_out, deal_out,
                     path_out, event_period, trigger_breached, sequential_mode):
    """Run the compiled waterfall on every path; fill the caller-allocated outputs.

    Parameters
    ----------
    program : ProgramArrays
        The compiled deal (:class:`simulation.waterfall.WaterfallProgram`).
    flows : numpy.ndarray
        ``(n_paths, n_periods, 10)`` PoolFlows, USD.
    index_rates : numpy.ndarray
        ``(1 or n_paths, n_periods)`` note index, annual decimal.
    act_fraction : numpy.ndarray
        ``(n_periods,)`` actual days / 360 of each interest period.
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

    Notes
    -----
    The normal program is ops ``[0, DC_ACCELERATED_START)``, the accelerated one (after an
    event of default) the rest. No input checking.
    """
    n_paths = flows.shape[0]
    n_periods = flows.shape[1]
    original_balance = program.class_param[CP_ORIGINAL_BALANCE]
    coupon = program.class_param[CP_COUPON]
    floor = program.class_param[CP_FLOOR]
    cap = program.class_param[CP_CAP]
    rate_kind = program.class_code[CC_RATE_KIND]
    legal_final_period = program.class_code[CC_LEGAL_FINAL_PERIOD]
    op_code = program.ops[OPF_CODE]
    op_target = program.ops[OPF_TARGET]
    op_first = program.ops[OPF_FIRST_CLASS]
    n_ops = op_code.shape[0]
    n_normal = program.deal_code[DC_ACCELERATED_START]
    normal_group_ptr = program.group_ptr[ALLOC_NORMAL]
    sequential_group_ptr = program.group_ptr[ALLOC_SEQUENTIAL]
    fee_rate = program.fee_param[FP_RATE]
    fee_fixed = program.fee_param[FP_USD_PER_MONTH]
    swap_class = program.swap_class
    swap_fixed_rate = program.swap_fixed_rate
    initial_pool = program.deal_param[DP_INITIAL_POOL]
    reserve_initial = program.deal_param[DP_RESERVE_INITIAL]
    reserve_target_pct = program.deal_param[DP_RESERVE_TARGET_PCT]
    reserve_step_up_pct = program.deal_param[DP_RESERVE_STEP_UP_PCT]
    reserve_floor = program.deal_param[DP_RESERVE_FLOOR]
    reserve_on_current = program.deal_code[DC_RESERVE_ON_CURRENT] != 0
    oc_current_pct = program.deal_param[DP_OC_CURRENT_PCT]
    oc_initial_usd = program.deal_param[DP_OC_INITIAL_USD]
    oc_floor_usd = program.deal_param[DP_OC_FLOOR_USD]
    turbo_always = program.deal_code[DC_TURBO_ALWAYS] != 0
    trig_metric = program.trigger_code[TC_METRIC]
    trig_window = program.trigger_code[TC_WINDOW]
    trig_effect = program.trigger_code[TC_EFFECT]
    trig_curable = program.trigger_code[TC_CURABLE]
    trig_threshold = thresholds
    clean_up_usd = program.deal_param[DP_CLEAN_UP_USD]
    n_classes = original_balance.shape[0]
    n_fees = fee_rate.shape[0]
    n_swaps = swap_class.shape[0]
    n_triggers = trig_metric.shape[0]
    shared_index = index_rates.shape[0] == 1
    for p in prange(n_paths):
        balance = original_balance.copy()
        beginning = np.empty(n_classes)
        shortfall = np.zeros(n_classes)
        due = np.empty(n_classes)
        rate = np.empty(n_classes)
        int_paid = np.empty(n_classes)
        prin_paid = np.empty(n_classes)
        fee_carry = np.zeros(n_fees)
        breached = np.zeros(n_triggers, dtype=np.bool_)
        swap_carry = 0.0
        reserve = reserve_initial
        pool_beg = initial_pool
        cum_net_loss = 0.0
        accelerated = False
        ended = False
        ix = p - p if shared_index else p  # same integer type as the prange index
        for t in range(n_periods):
            if ended:
                for i in range(n_classes):
                    class_out[CF_ENDING_BALANCE, p, i, t] = balance[i]
                continue
            f = flows[p, t]
            index = index_rates[ix, t]
            pool_end = f[_ENDING]
            collections = f[_INTEREST] + f[_SCHEDULED] + f[_PREPAID] + f[_RECOVERIES]
            cum_net_loss += f[_DEFAULTED] - f[_RECOVERIES]
            notes_beg = 0.0
            for i in range(n_classes):
                beginning[i] = balance[i]
                notes_beg += balance[i]
                int_paid[i] = 0.0
                prin_paid[i] = 0.0

            # Triggers, on the collection period's data.
            sequential = accelerated
            turbo = turbo_always
            step_up = False
            for k in range(n_triggers):
                metric = trig_metric[k]
                if metric == METRIC_CNL:
                    hit = cum_net_loss / initial_pool > trig_threshold[k, t]
                elif metric == METRIC_DELINQUENCY_60:
                    first = max(0, t - trig_window[k] + 1)
                    total = 0.0
                    for s in range(first, t + 1):
                        bal_s = flows[p, s, _ENDING]
                        if bal_s > 0.0:
                            total += (flows[p, s, _DQ60] + flows[p, s, _DQ90P]) / bal_s
                    hit = total / (t + 1 - first) > trig_threshold[k, t]
                else:
                    oc_ratio = (pool_beg - notes_beg) / pool_beg if pool_beg > 0.0 else 1.0
                    hit = oc_ratio < trig_threshold[k, t]
                if trig_curable[k]:
                    breached[k] = hit
                else:
                    breached[k] = breached[k] or hit
                trigger_breached[p, k, t] = breached[k]
                if breached[k]:
                    effect = trig_effect[k]
                    if effect == EFFECT_SEQUENTIAL:
                        sequential = True
                    elif effect == EFFECT_TURBO:
                        turbo = True
                    else:
                        step_up = True
            sequential_mode[p, t] = sequential
            group_ptr = sequential_group_ptr if sequential else normal_group_ptr

            # Note rates and interest due (30/360 fixed, act/360 floating and money market).
            for i in range(n_classes):
                kind = rate_kind[i]
                if kind == RATE_FLOATING:
                    r = min(cap[i], max(floor[i], index + coupon[i]))
                    accrual = act_fraction[t]
                elif kind == RATE_MONEY_MARKET:
                    r = coupon[i]
                    accrual = act_fraction[t]
                else:
                    r = coupon[i]
                    accrual = 1.0 / 12.0
                rate[i] = r
                due[i] = beginning[i] * r * accrual + shortfall[i]

            # Swaps: net payment (trust pays fixed, receives index) or net receipt.
            swap_due = swap_carry
            for s in range(n_swaps):
                notional = beginning[swap_class[s]]
                swap_due += notional * (swap_fixed_rate[s] / 12.0 - index * act_fraction[t])
            swap_receipt = 0.0
            if swap_due < 0.0:
                swap_receipt = -swap_due
                swap_due = 0.0

            # Clean-up call: the servicer buys the remaining pool at par, when the price with
            # the period's funds and the reserve pays every fee, interest and note in full.
            call_price = 0.0
            if clean_up_usd > 0.0 and 0.0 < pool_end <= clean_up_usd:
                owed = notes_beg + swap_due
                for i in range(n_classes):
                    owed += due[i]
                for j in range(n_fees):
                    owed += fee_rate[j] * pool_beg / 12.0 + fee_fixed[j] + fee_carry[j]
                if collections + pool_end + swap_receipt + reserve >= owed:
                    call_price = pool_end
                    collections += call_price
                    pool_end = 0.0
                    event_period[EV_CLEAN_UP_CALL, p] = t
                    ended = True
            available = collections + swap_receipt

            final = ended or t == n_periods - 1 or pool_end <= 0.0

            # Reserve target; release of any excess over it into available funds.
            if final or accelerated:
                target = 0.0
            else:
                pct = reserve_step_up_pct if step_up else reserve_target_pct
                basis = pool_end if reserve_on_current else initial_pool
                target = min(max(pct * basis, reserve_floor), notes_beg)
            draw = 0.0
            release = 0.0
            if reserve > target:
                release = reserve - target
                reserve = target
                available += release
                draw += release

            # Principal distribution amount: restore the OC target; turbo, the end and
            # legal final dates take more.
            oc_target = min(pool_end, max(oc_current_pct * pool_end + oc_initial_usd,
                                          oc_floor_usd))
            if final or turbo:
                pda = notes_beg
            else:
                pda = min(max(notes_beg - max(pool_end - oc_target, 0.0), 0.0), notes_beg)
                for i in range(n_classes):
                    if 0 <= legal_final_period[i] <= t and balance[i] > 0.0:
                        pda = max(pda, _through(balance, i))

            fees_paid = 0.0
            swap_paid = 0.0
            deposit = 0.0
            residual = 0.0
            principal_paid = 0.0
            start = n_normal if accelerated else 0
            stop = n_ops if accelerated else n_normal
            for k in range(start, stop):
                op = op_code[k]
                if op == OP_FEE:
                    j = op_target[k]
                    owed = fee_rate[j] * pool_beg / 12.0 + fee_fixed[j] + fee_carry[j]
                    if owed > available and reserve > 0.0:
                        x = min(reserve, owed - available)
                        reserve -= x
                        draw += x
                        available += x
                    pay = min(owed, available)
                    available -= pay
                    fees_paid += pay
                    fee_carry[j] = owed - pay
                elif op == OP_SWAP:
                    if swap_due > available and reserve > 0.0:
                        x = min(reserve, swap_due - available)
                        reserve -= x
                        draw += x
                        available += x
                    pay = min(swap_due, available)
                    available -= pay
                    swap_paid += pay
                    swap_due -= pay
                elif op == OP_INTEREST:
                    owed = 0.0
                    for i in range(op_first[k], op_target[k] + 1):
                        owed += due[i]
                    if owed > available and reserve > 0.0:
                        x = min(reserve, owed - available)
                        reserve -= x
                        draw += x
                        available += x
                    if owed <= available:
                        for i in range(op_first[k], op_target[k] + 1):
                            int_paid[i] += due[i]
                        available -= owed
                    elif owed > 0.0:
                        share = available / owed
                        spent = 0.0
                        for i in range(op_first[k], op_target[k] + 1):
                            x = due[i] * share
                            int_paid[i] += x
                            spent += x
                        available = max(available - spent, 0.0)
                elif op == OP_PRIORITY_PRINCIPAL:
                    owed = max(_through(balance, op_target[k]) - pool_end, 0.0)
                    if owed > available and reserve > 0.0:
                        x = min(reserve, owed - available)
                        reserve -= x
                        draw += x
                        available += x
                    paid = _allocate_principal(min(owed, available), balance, prin_paid,
                                               group_ptr)
                    available -= paid
                    principal_paid += paid
                elif op == OP_RESERVE_DEPOSIT:
                    x = min(max(target - reserve, 0.0), available)
                    reserve += x
                    deposit += x
                    available -= x
                elif op == OP_REGULAR_PRINCIPAL:
                    owed = max(pda - principal_paid, 0.0)
                    paid = _allocate_principal(min(owed, available), balance, prin_paid,
                                               group_ptr)
                    available -= paid
                    principal_paid += paid
                elif op == OP_PRINCIPAL_TO:
                    owed = _through(balance, op_target[k])
                    paid = _allocate_principal(min(owed, available), balance, prin_paid,
                                               sequential_group_ptr)
                    available -= paid
                    principal_paid += paid
                else:  # OP_RESIDUAL
                    residual += available
                    available = 0.0
            swap_carry = swap_due

            # Event of default: the controlling (most senior outstanding) interest step
            # missed interest, or a class is unpaid at its legal final date.
            notes_end = 0.0
            for i in range(n_classes):
                shortfall[i] = max(due[i] - int_paid[i], 0.0)
                notes_end += balance[i]
            if not accelerated:
                default = False
                for k in range(n_normal):
                    if op_code[k] != OP_INTEREST:
                        continue
                    outstanding = False
                    for i in range(op_first[k], op_target[k] + 1):
                        if beginning[i] > 0.0:
                            outstanding = True
                    if outstanding:
                        for i in range(op_first[k], op_target[k] + 1):
                            if shortfall[i] > 1e-9 * due[i]:
                                default = True
                        break
                for i in range(n_classes):
                    if (legal_final_period[i] == t
                            and balance[i] > _BALANCE_TOLERANCE * original_balance[i]):
                        default = True
                if default:
                    accelerated = True
                    event_period[EV_EVENT_OF_DEFAULT, p] = t

            for i in range(n_classes):
                class_out[CF_INTEREST_DUE, p, i, t] = due[i]
                class_out[CF_INTEREST_PAID, p, i, t] = int_paid[i]
                class_out[CF_PRINCIPAL_PAID, p, i, t] = prin_paid[i]
                class_out[CF_ENDING_BALANCE, p, i, t] = balance[i]
                class_out[CF_COUPON_RATE, p, i, t] = rate[i]
            out = deal_out[:, p, t]
            out[DF_AVAILABLE_FUNDS] = collections
            out[DF_CALL_PROCEEDS] = call_price
            out[DF_FEES_PAID] = fees_paid
            out[DF_SWAP_NET_RECEIPT] = swap_receipt - swap_paid
            out[DF_RESERVE_DRAW] = draw
            out[DF_RESERVE_RELEASE] = release
            out[DF_RESERVE_DEPOSIT] = deposit
            out[DF_RESERVE_BALANCE] = reserve
            out[DF_RESIDUAL] = residual
            out[DF_OC_AMOUNT] = pool_end - notes_end
            out[DF_OC_TARGET] = oc_target
            out[DF_POOL_BALANCE] = pool_end
            out[DF_PRINCIPAL_DISTRIBUTION_AMOUNT] = pda
            pool_beg = pool_end
        for i in range(n_classes):
            path_out[PF_PRINCIPAL_LOSS, p, i] = balance[i]
            path_out[PF_INTEREST_SHORTFALL, p, i] = shortfall[i]
