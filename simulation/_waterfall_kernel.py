"""The waterfall interpreter: one opcode program run on every path and period.

The kernel trusts its inputs (compiled and shaped by :mod:`simulation.waterfall`): it does no
checking, allocates only per path, and writes into caller-allocated outputs. Period index 0 is
the first collection period. Money in USD, rates annual decimals, accrual fractions in years.
No fastmath: every comparison here decides who gets paid.
"""

from __future__ import annotations

import numpy as np

from portfolio._jit import jit_inline, jit_parallel, prange

# Opcodes (``op_code``); ``op_target`` and the CSR ``op_ptr``/``op_classes`` give the operand.
OP_FEE = 0  # target: fee index
OP_SWAP = 1  # net swap payment of every swap
OP_INTEREST = 2  # classes op_classes[op_ptr[k]:op_ptr[k+1]], pro rata on the amounts due
OP_PRIORITY_PRINCIPAL = 3  # target: class; pay until notes through target <= pool balance
OP_RESERVE_DEPOSIT = 4  # deposit up to the reserve target
OP_REGULAR_PRINCIPAL = 5  # principal distribution amount less principal already paid
OP_PRINCIPAL_TO = 6  # target: class; all funds to principal of notes through target
OP_RESIDUAL = 7  # everything left to the certificate holder
OPCODE_NAMES = ("fee", "swap", "interest", "priority_principal", "reserve_deposit",
                "regular_principal", "principal_to", "residual")

# Note rate kinds.
RATE_FIXED = 0  # 30/360
RATE_FLOATING = 1  # act/360, index + spread, floor, cap
RATE_MONEY_MARKET = 2  # act/360, fixed rate

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

_BALANCE_TOLERANCE = 1e-9  # relative to a class's original balance


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
def waterfall_kernel(
    flows, index_rates, act_fraction, initial_pool,
    original_balance, rate_kind, coupon, floor, cap, legal_final_period,
    op_code, op_target, op_ptr, op_classes, program_ptr,
    normal_group_ptr, sequential_group_ptr,
    fee_rate, fee_fixed, swap_class, swap_fixed_rate,
    reserve_initial, reserve_target_pct, reserve_step_up_pct, reserve_floor, reserve_on_current,
    oc_current_pct, oc_initial_usd, oc_floor_usd, turbo_always,
    trig_metric, trig_window, trig_effect, trig_curable, trig_threshold, clean_up_usd,
    class_out, deal_out, trigger_breached, sequential_mode, principal_loss, interest_shortfall,
    event_of_default_period, call_period,
):  # fmt: skip
    """Run the compiled waterfall on every path; fill the caller-allocated outputs.

    Shapes: ``flows (n_paths, n_periods, 10)``; ``index_rates (1 or n_paths, n_periods)``;
    ``act_fraction (n_periods,)`` actual days / 360; class arrays ``(n_classes,)``;
    ``trig_threshold (n_triggers, n_periods)``; outputs as in
    :class:`simulation.waterfall.TrancheFlows` (``class_out (N_CLASS_FIELDS, n_paths,
    n_classes, n_periods)``, ``deal_out (N_DEAL_FIELDS, n_paths, n_periods)``). The normal
    program is ops ``program_ptr[0]:program_ptr[1]``, the accelerated one (after an event of
    default) ``program_ptr[1]:program_ptr[2]``. No input checking.
    """
    n_paths = flows.shape[0]
    n_periods = flows.shape[1]
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
        event_of_default_period[p] = -1
        call_period[p] = -1
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
                    call_period[p] = t
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
            start = program_ptr[1] if accelerated else program_ptr[0]
            stop = program_ptr[2] if accelerated else program_ptr[1]
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
                    for m in range(op_ptr[k], op_ptr[k + 1]):
                        owed += due[op_classes[m]]
                    if owed > available and reserve > 0.0:
                        x = min(reserve, owed - available)
                        reserve -= x
                        draw += x
                        available += x
                    if owed <= available:
                        for m in range(op_ptr[k], op_ptr[k + 1]):
                            i = op_classes[m]
                            int_paid[i] += due[i]
                        available -= owed
                    elif owed > 0.0:
                        share = available / owed
                        spent = 0.0
                        for m in range(op_ptr[k], op_ptr[k + 1]):
                            i = op_classes[m]
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
                for k in range(program_ptr[0], program_ptr[1]):
                    if op_code[k] != OP_INTEREST:
                        continue
                    outstanding = False
                    for m in range(op_ptr[k], op_ptr[k + 1]):
                        if beginning[op_classes[m]] > 0.0:
                            outstanding = True
                    if outstanding:
                        for m in range(op_ptr[k], op_ptr[k + 1]):
                            i = op_classes[m]
                            if shortfall[i] > 1e-9 * due[i]:
                                default = True
                        break
                for i in range(n_classes):
                    if (legal_final_period[i] == t
                            and balance[i] > _BALANCE_TOLERANCE * original_balance[i]):
                        default = True
                if default:
                    accelerated = True
                    event_of_default_period[p] = t

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
            principal_loss[p, i] = balance[i]
            interest_shortfall[p, i] = shortfall[i]
