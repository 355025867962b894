"""Compile a :class:`~simulation.deal.Deal` into opcode arrays and run it on PoolFlows.

:func:`compile_deal` turns the validated deal into a frozen :class:`WaterfallProgram` (class,
opcode, CSR and parameter arrays) once; :func:`run_waterfall` checks the shapes of a chunk of
PoolFlows (and index paths), allocates the outputs and calls the trusting numba interpreter in
:mod:`simulation._waterfall_kernel`. The result is a frozen :class:`TrancheFlows`. The opcodes
and conventions are documented in ``docs/waterfall.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

import simulation._waterfall_kernel as K
from portfolio.errors import InputError, Problem
from portfolio.tape import LoanTape
from simulation.collateral import FIELD_NAMES, CollateralInputs
from simulation.dates import BusinessDayCalendar, PaymentSchedule, payment_schedule
from simulation.deal import Deal, _step_kind, deal_problems, note_balances
from simulation.yield_supplement import ysoc_schedule

_RATE_KIND = {"fixed": K.RATE_FIXED, "floating": K.RATE_FLOATING,
              "money_market": K.RATE_MONEY_MARKET}
_METRIC = {"cnl": K.METRIC_CNL, "delinquency_60": K.METRIC_DELINQUENCY_60, "oc": K.METRIC_OC}
_EFFECT = {"sequential": K.EFFECT_SEQUENTIAL, "turbo": K.EFFECT_TURBO,
           "reserve_step_up": K.EFFECT_RESERVE_STEP_UP, "oc_step_up": K.EFFECT_OC_STEP_UP}
_NO_CAP = 1e9


@dataclass(frozen=True, eq=False)
class WaterfallStart:
    """The deal after the payments of payment date ``period``: where a projection starts.

    Built from a reporting date's status file (:func:`simulation.asof.waterfall_start`); the
    closing state is ``period`` 0 with the closing balances. USD unless noted; arrays by class
    (most senior first), fee and trigger in the program's order.

    Attributes
    ----------
    period : int
        Payment periods already paid (the projection's first period is ``period + 1``).
    class_balance, unpaid_interest : numpy.ndarray
        ``(n_classes,)`` note balances and interest owed and unpaid, after the payment date.
    reserve_balance, pool_balance, adjusted_pool_balance : float
        The reserve account, and the pool (less its yield-supplement OC amount) at the end of
        the collection period just reported.
    cumulative_net_loss : float
        Charged-off principal less recoveries since the cut-off (the CNL trigger counts it
        against the original pool).
    fee_arrears : numpy.ndarray
        ``(n_fees,)`` fees owed and unpaid.
    swap_arrears, advances_outstanding : float
        Net swap payment owed and unpaid; servicer advances not yet reimbursed.
    trigger_breached : numpy.ndarray
        ``(n_triggers,)`` bool, each trigger's state on the payment date.
    event_of_default : bool
        The notes have been accelerated after an event of default.
    interest_default_run, principal_default_run : int
        Consecutive payment dates, up to ``period``, with a controlling-class interest
        shortfall, and with a class unpaid after its legal final (the grace-period counts).
    delinquency_history : numpy.ndarray
        The pool's 60+ delinquency ratios of the last periods up to ``period``, oldest first,
        as many as the longest rolling-average trigger needs (may be empty).
    """

    period: int
    class_balance: np.ndarray
    unpaid_interest: np.ndarray
    reserve_balance: float
    pool_balance: float
    adjusted_pool_balance: float
    cumulative_net_loss: float
    fee_arrears: np.ndarray
    swap_arrears: float
    advances_outstanding: float
    trigger_breached: np.ndarray
    event_of_default: bool = False
    interest_default_run: int = 0
    principal_default_run: int = 0
    delinquency_history: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def arrays(self) -> K.StartArrays:
        """The state as the interpreter kernel reads it."""
        deal_state = np.zeros(K.N_START_FIELDS)
        deal_state[K.ST_RESERVE] = self.reserve_balance
        deal_state[K.ST_POOL] = self.pool_balance
        deal_state[K.ST_ADJUSTED_POOL] = self.adjusted_pool_balance
        deal_state[K.ST_CUM_NET_LOSS] = self.cumulative_net_loss
        deal_state[K.ST_SWAP_ARREARS] = self.swap_arrears
        deal_state[K.ST_ADVANCES_OUTSTANDING] = self.advances_outstanding
        counters = np.zeros(K.N_START_COUNTERS, dtype=np.int64)
        counters[K.SC_ACCELERATED] = self.event_of_default
        counters[K.SC_INTEREST_MISSED_RUN] = self.interest_default_run
        counters[K.SC_PRINCIPAL_MISSED_RUN] = self.principal_default_run
        return K.StartArrays(
            class_balance=np.ascontiguousarray(self.class_balance, dtype=np.float64),
            unpaid_interest=np.ascontiguousarray(self.unpaid_interest, dtype=np.float64),
            deal_state=deal_state,
            fee_arrears=np.ascontiguousarray(self.fee_arrears, dtype=np.float64),
            trigger_breached=np.ascontiguousarray(self.trigger_breached, dtype=np.bool_),
            counters=counters,
            delinquency_history=np.ascontiguousarray(self.delinquency_history,
                                                     dtype=np.float64))


@dataclass(frozen=True, eq=False)
class WaterfallProgram:
    """A compiled deal: packed tables the interpreter kernel reads.

    Rows and slots are named by the constants of :mod:`simulation._waterfall_kernel` (``K``).
    Classes, most senior first: ``class_param (N_CLASS_PARAMS, n_classes)`` float64 (original
    balance in USD, coupon or spread over the index, floor and cap of the floating coupon) and
    ``class_code (N_CLASS_CODES, n_classes)`` int64 (``RATE_*`` kind, 0-based legal final
    period or -1). Deal-level ``deal_param (N_DEAL_PARAMS,)`` float64 (initial pool, reserve,
    OC target and its step-up, clean-up call) and ``deal_code (N_DEAL_CODES,)`` int64 (start of
    the accelerated program, reserve basis, turbo, event-of-default grace periods, legal final
    in the priority principal amount). Opcodes ``ops (N_OP_FIELDS, n_ops)`` int64 (code, target,
    first class of an interest or pro-rata principal step): the normal program is ops
    ``[0, DC_ACCELERATED_START)``, the accelerated one (after an event of default) the rest.
    Principal allocation
    ``group_ptr (N_ALLOCATIONS, n_classes + 1)`` int64, normal and sequential rows: group g =
    classes ``ptr[g] .. ptr[g+1]-1``, paid in order, pro rata within a group; a row ends in
    repeats of ``n_classes`` (empty groups). Fees ``fee_param (N_FEE_PARAMS, n_fees)``, swaps
    ``swap_class``, ``swap_fixed_rate (n_swaps,)``, triggers ``trigger_code (N_TRIGGER_CODES,
    n_triggers)`` with the threshold schedule as ``trig_sched_ptr`` CSR over
    ``trig_sched_period`` (0-based first period) and ``trig_sched_threshold``. Yield-supplement
    OC ``ysoc_amount (n_months + 1,)`` USD at the cut-off and after each collection period
    (:func:`simulation.yield_supplement.ysoc_schedule`; ``[0.0]`` without one).

    ``start`` is the state the program runs from: ``None`` for closing; a
    :class:`WaterfallStart` for a program made by :meth:`starting_after`, whose periods,
    schedule, thresholds, legal finals and YSOC amounts then run from the period after it.
    """

    deal_name: str
    classes: tuple[str, ...]
    fee_names: tuple[str, ...]
    trigger_names: tuple[str, ...]
    closing_date: dt.date
    first_payment_date: dt.date
    business_day_calendar: BusinessDayCalendar
    index_rate: float
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
    trig_sched_ptr: np.ndarray
    trig_sched_period: np.ndarray
    trig_sched_threshold: np.ndarray
    ysoc_amount: np.ndarray
    start: WaterfallStart | None = None

    @property
    def periods_elapsed(self) -> int:
        """Payment periods paid before the program's first period (0 from closing)."""
        return self.start.period if self.start is not None else 0

    @property
    def start_balance(self) -> np.ndarray:
        """Class balances before the program's first period, USD ``(n_classes,)``."""
        if self.start is None:
            return self.original_balance
        return np.asarray(self.start.class_balance, dtype=np.float64)

    def starting_after(self, start: WaterfallStart) -> WaterfallProgram:
        """The program run from ``start``, the deal after payment date ``start.period``.

        Period 0 of its runs is period ``start.period + 1`` of the deal; a legal final
        already past counts as due from that first period; the YSOC amounts are the
        program's from the reporting date on (``ysoc_amount[start.period:]``).
        """
        if self.start is not None:
            raise ValueError("the program already starts after a reporting date")
        n_classes, n_fees = self.n_classes, self.fee_param.shape[1]
        n_triggers = self.trigger_code.shape[1]
        for name, arr, n in (("class_balance", start.class_balance, n_classes),
                             ("unpaid_interest", start.unpaid_interest, n_classes),
                             ("fee_arrears", start.fee_arrears, n_fees),
                             ("trigger_breached", start.trigger_breached, n_triggers)):
            if np.shape(arr) != (n,):
                raise ValueError(f"start.{name} must have shape ({n},), got {np.shape(arr)}")
        k = start.period
        class_code = self.class_code.copy()
        final = class_code[K.CC_LEGAL_FINAL_PERIOD]
        class_code[K.CC_LEGAL_FINAL_PERIOD] = np.where(final >= 0, np.maximum(final - k, 0), -1)
        later = self.ysoc_amount[k:]
        return replace(self, class_code=class_code, start=start,
                       ysoc_amount=later if later.size else np.zeros(1))

    def start_arrays(self) -> K.StartArrays:
        """The state every path starts from, as the kernel reads it (closing by default)."""
        if self.start is not None:
            return self.start.arrays()
        return WaterfallStart(
            period=0, class_balance=self.original_balance,
            unpaid_interest=np.zeros(self.n_classes),
            reserve_balance=self.initial_reserve_balance,
            pool_balance=self.initial_pool_balance,
            adjusted_pool_balance=self.initial_adjusted_pool_balance, cumulative_net_loss=0.0,
            fee_arrears=np.zeros(self.fee_param.shape[1]), swap_arrears=0.0,
            advances_outstanding=0.0,
            trigger_breached=np.zeros(self.trigger_code.shape[1], dtype=np.bool_)).arrays()

    @property
    def n_classes(self) -> int:
        """Number of note classes."""
        return len(self.classes)

    @property
    def initial_pool_balance(self) -> float:
        """Pool balance at the cut-off date the program was compiled for, USD."""
        return float(self.deal_param[K.DP_INITIAL_POOL])

    @property
    def initial_adjusted_pool_balance(self) -> float:
        """Pool balance at the cut-off less its yield-supplement OC amount, USD."""
        return float(self.deal_param[K.DP_ADJUSTED_INITIAL_POOL])

    @property
    def initial_reserve_balance(self) -> float:
        """Reserve account funded at closing, USD."""
        return float(self.deal_param[K.DP_RESERVE_INITIAL])

    @property
    def original_balance(self) -> np.ndarray:
        """Class balances at closing, USD, shape ``(n_classes,)``."""
        return np.asarray(self.class_param[K.CP_ORIGINAL_BALANCE])

    def describe(self) -> list[str]:
        """The compiled programs as readable lines (``normal: 0 fee servicing`` ...)."""
        split = int(self.deal_code[K.DC_ACCELERATED_START])
        lines = []
        for label, lo, hi in (("normal", 0, split), ("accelerated", split, self.ops.shape[1])):
            for k in range(lo, hi):
                op, target, first = (int(x) for x in self.ops[:, k])
                name = K.OPCODE_NAMES[op]
                if op == K.OP_FEE:
                    arg = self.fee_names[target]
                elif op == K.OP_INTEREST:
                    arg = ",".join(self.classes[first:target + 1])
                elif op in (K.OP_PRIORITY_PRINCIPAL, K.OP_PRINCIPAL_TO):
                    arg = self.classes[target]
                elif op == K.OP_PRINCIPAL_PRO_RATA:
                    arg = ",".join(self.classes[first:target + 1])
                else:
                    arg = ""
                lines.append(f"{label}: {k - lo} {name} {arg}".rstrip())
        return lines

    def schedule(self, n_periods: int) -> PaymentSchedule:
        """Payment dates, accrual fractions and times of the program's ``n_periods`` dates.

        From closing, times from the closing date; after a reporting date (:attr:`start`),
        the dates after it with times from its payment date (the settlement of a purchase
        then).
        """
        k = self.periods_elapsed
        return payment_schedule(self.closing_date, self.first_payment_date, k + n_periods,
                                self.business_day_calendar).after(k)

    def yield_fractions(self, n_periods: int) -> np.ndarray:
        """Each class's accrual fraction per period, ``(n_classes, n_periods)``.

        30/360 for fixed classes, actual/360 for money-market and floating classes: the day
        count in which each class's yield is quoted (``docs/metrics.md``).
        """
        sched = self.schedule(n_periods)
        fixed = self.class_code[K.CC_RATE_KIND] == K.RATE_FIXED
        return np.where(fixed[:, None], sched.thirty_360[None, :], sched.act_360[None, :])

    def thresholds(self, n_periods: int) -> np.ndarray:
        """Trigger thresholds by trigger and period, shape ``(n_triggers, n_periods)``.

        The program's periods: after a reporting date, the deal's periods after it.
        """
        n = self.trigger_code.shape[1]
        total = self.periods_elapsed + n_periods
        out = np.zeros((n, total))
        for k in range(n):
            lo, hi = self.trig_sched_ptr[k], self.trig_sched_ptr[k + 1]
            for j in range(lo, hi):
                out[k, min(self.trig_sched_period[j], total):] = self.trig_sched_threshold[j]
        return out[:, self.periods_elapsed:]


@dataclass(frozen=True, eq=False)
class TrancheFlows:
    """Waterfall results for a chunk of paths (USD unless noted; period index 0 = period 1).

    Attributes
    ----------
    classes : tuple of str
        Class names, most senior first.
    original_balance : numpy.ndarray
        ``(n_classes,)`` USD at closing.
    interest_due, interest_paid, principal_paid, ending_balance : numpy.ndarray
        ``(n_paths, n_classes, n_periods)``. ``interest_due`` includes unpaid interest carried
        from earlier periods (no interest on interest).
    coupon_rate : numpy.ndarray
        ``(n_paths, n_classes, n_periods)`` annual coupon of the period (floating: index +
        spread after floor and cap).
    principal_loss, interest_shortfall : numpy.ndarray
        ``(n_paths, n_classes)``: balance left after the last period (or when the trust ends at
        the clean-up call), written off; unpaid interest at the end.
    available_funds : numpy.ndarray
        ``(n_paths, n_periods)`` pool collections received by the trust (interest, scheduled
        and prepaid principal, recoveries, and the clean-up call price), zero after the call.
    call_proceeds, fees_paid, reserve_balance, reserve_draw, reserve_release, reserve_deposit,
    residual, oc_amount, oc_target, pool_balance, adjusted_pool_balance,
    principal_distribution_amount : numpy.ndarray
        ``(n_paths, n_periods)``. ``reserve_draw`` is every transfer from the reserve to the
        waterfall, its release of excess over the target (``reserve_release``) included.
        ``oc_amount`` = adjusted pool balance - notes after the payment date; ``pool_balance``
        is the ending pool balance held by the trust (zero from the call on),
        ``adjusted_pool_balance`` the pool balance less the yield-supplement OC amount
        (floored at 0; the pool balance without ``yield_supplement``).
    servicer_advance, advance_reimbursement : numpy.ndarray
        ``(n_paths, n_periods)`` scheduled interest of delinquent loans advanced into the
        period's funds (``servicer_advances`` deals), and advances repaid to the servicer
        ahead of every other payment.
    advances_outstanding, swap_arrears : numpy.ndarray
        ``(n_paths, n_periods)`` servicer advances not yet reimbursed, and net swap payment
        owed and unpaid, after each payment date.
    fee_arrears : numpy.ndarray
        ``(n_paths, n_fees, n_periods)`` each fee owed and unpaid after each payment date.
    cumulative_net_loss, delinquency_60_ratio : numpy.ndarray
        ``(n_paths, n_periods)`` charged-off principal less recoveries since the cut-off (USD,
        what the CNL trigger tests), and the period's 60+ delinquent balance over the pool
        balance (0 for an empty pool; what rolling-average triggers average).
    interest_default_run, principal_default_run : numpy.ndarray
        ``(n_paths, n_periods)`` int64, consecutive payment dates up to each with a
        controlling-class interest shortfall, and with a class unpaid after its legal final
        (what the events of default count against their grace periods).
    swap_net_receipt : numpy.ndarray
        ``(n_paths, n_periods)`` net swap cash, positive = received by the trust.
    trigger_breached : numpy.ndarray
        ``(n_paths, n_triggers, n_periods)`` bool, trigger state on each payment date.
    sequential_mode : numpy.ndarray
        ``(n_paths, n_periods)`` bool, principal paid sequentially (switch or acceleration).
    event_of_default_period, call_period : numpy.ndarray
        ``(n_paths,)`` int64 period index of the event of default (acceleration from the next
        period) and of the clean-up call; -1 if none.
    """

    classes: tuple[str, ...]
    trigger_names: tuple[str, ...]
    original_balance: np.ndarray
    interest_due: np.ndarray
    interest_paid: np.ndarray
    principal_paid: np.ndarray
    ending_balance: np.ndarray
    coupon_rate: np.ndarray
    principal_loss: np.ndarray
    interest_shortfall: np.ndarray
    available_funds: np.ndarray
    call_proceeds: np.ndarray
    fees_paid: np.ndarray
    swap_net_receipt: np.ndarray
    reserve_draw: np.ndarray
    reserve_release: np.ndarray
    reserve_deposit: np.ndarray
    reserve_balance: np.ndarray
    residual: np.ndarray
    oc_amount: np.ndarray
    oc_target: np.ndarray
    pool_balance: np.ndarray
    adjusted_pool_balance: np.ndarray
    servicer_advance: np.ndarray
    advance_reimbursement: np.ndarray
    advances_outstanding: np.ndarray
    swap_arrears: np.ndarray
    fee_arrears: np.ndarray
    cumulative_net_loss: np.ndarray
    delinquency_60_ratio: np.ndarray
    interest_default_run: np.ndarray
    principal_default_run: np.ndarray
    principal_distribution_amount: np.ndarray
    trigger_breached: np.ndarray
    sequential_mode: np.ndarray
    event_of_default_period: np.ndarray
    call_period: np.ndarray

    @property
    def n_paths(self) -> int:
        """Number of paths."""
        return int(self.ending_balance.shape[0])

    @property
    def n_periods(self) -> int:
        """Number of periods."""
        return int(self.ending_balance.shape[2])

    def cash_imbalance(self) -> np.ndarray:
        """Sources minus uses of cash per path and period, ``(n_paths, n_periods)`` (USD).

        Sources: collections + servicer advances + reserve draws + swap receipts; uses: advance
        reimbursements + fees + note interest + note principal + swap payments + reserve
        deposits + residual. Zero up to rounding.
        """
        swap_in = np.maximum(self.swap_net_receipt, 0.0)
        swap_out = np.maximum(-self.swap_net_receipt, 0.0)
        sources = self.available_funds + self.servicer_advance + self.reserve_draw + swap_in
        uses = (self.advance_reimbursement + self.fees_paid + self.interest_paid.sum(axis=1)
                + self.principal_paid.sum(axis=1) + swap_out + self.reserve_deposit
                + self.residual)
        return np.asarray(sources - uses)


def _period_of(first_payment_date: dt.date, date: dt.date) -> int:
    """0-based index of the payment date in ``date``'s month."""
    return (date.year - first_payment_date.year) * 12 + date.month - first_payment_date.month


def _group_ptr(n_classes: int, groups: list[list[int]]) -> list[int]:
    """CSR start indices of consecutive groups covering classes 0..n-1 (singletons between).

    Padded with ``n_classes`` (empty groups) to length ``n_classes + 1``.
    """
    starts = set(range(n_classes))
    for g in groups:
        starts -= set(g[1:])
    return sorted(starts) + [n_classes] * (n_classes + 1 - len(starts))


def _accelerated_ops(steps: list[str | dict[str, str | list[str]]], index: dict[str, int],
                     fee_index: dict[str, int]) -> list[tuple[int, int, int]]:
    """Opcodes (code, target, first class) of a validated ``accelerated_waterfall``."""
    ops: list[tuple[int, int, int]] = []
    for step in steps:
        kind, arg = _step_kind(step)
        if kind == "fee":
            ops.append((K.OP_FEE, fee_index[str(arg)], -1))
        elif kind == "swap":
            ops.append((K.OP_SWAP, -1, -1))
        elif kind in ("interest", "principal"):
            names = [arg] if isinstance(arg, str) else list(arg or [])
            group = sorted(index[c] for c in names)
            code = K.OP_INTEREST if kind == "interest" else K.OP_PRINCIPAL_PRO_RATA
            ops.append((code, group[-1], group[0]))
    return ops


def compile_deal(deal: Deal, pool: LoanTape | CollateralInputs | float | None = None,
                 source: str = "<deal>", *,
                 ysoc_amount: np.ndarray | None = None) -> WaterfallProgram:
    """Compile a validated deal for its pool.

    Parameters
    ----------
    deal : Deal
        From :func:`simulation.deal.load_deal` or :func:`~simulation.deal.deal_from_dict`.
    pool : LoanTape, CollateralInputs or float, optional
        The pool's loans (a tape, or the collateral prepared from it), or only its balance at
        the cut-off date in USD; defaults to the deal's ``initial_pool_balance``. A deal with
        ``yield_supplement`` needs the loans: its YSOC schedule is computed from them here.
    source : str
        Name of the deal file, for error messages.
    ysoc_amount : numpy.ndarray, optional
        A deal with ``yield_supplement``: its YSOC schedule (USD at the cut-off and after each
        collection period) when the cut-off loans are not at hand (a projection from a
        reporting date, :func:`simulation.asof.deal_program`); computed from ``pool`` if not
        given.

    Raises
    ------
    InputError
        When the pool balance is unknown or not positive, the notes exceed the (adjusted) pool,
        or the YSOC amount takes the whole pool.
    ValueError
        When a deal with ``yield_supplement`` is given a balance instead of the loans.
    """
    loans = pool if isinstance(pool, LoanTape | CollateralInputs) else None
    balance: float | None
    if isinstance(pool, LoanTape):
        balance = pool.total_balance
    elif isinstance(pool, CollateralInputs):
        balance = pool.initial_balance
    else:
        balance = pool if pool is not None else deal.initial_pool_balance
    if balance is None or not np.isfinite(balance) or balance <= 0.0:
        raise InputError(source, Problem(None, "initial_pool_balance",
                                         f"need a positive pool balance, got {balance!r}"))
    problems = deal_problems(deal, balance)
    if problems:
        raise InputError(source, problems)
    pool = float(balance)
    ysoc = _ysoc(deal, loans, pool, source, ysoc_amount)
    adjusted = pool - float(ysoc[0])
    index = {n.name: k for k, n in enumerate(deal.notes)}
    n_classes = len(deal.notes)

    # Opcodes: the normal program, then the accelerated one.
    fee_index = {f.name: k for k, f in enumerate(deal.fees)}
    ops: list[tuple[int, int, int]] = []  # (code, target, first class)
    interest_steps: list[tuple[int, int, int]] = []
    senior_items: list[tuple[int, int, int]] = []
    for step in deal.waterfall:
        kind, arg = _step_kind(step)
        if kind == "fee":
            ops.append((K.OP_FEE, fee_index[str(arg)], -1))
            senior_items.append(ops[-1])
        elif kind == "swap":
            ops.append((K.OP_SWAP, -1, -1))
            senior_items.append(ops[-1])
        elif kind == "interest":
            names = [arg] if isinstance(arg, str) else list(arg or [])
            group = sorted(index[c] for c in names)
            ops.append((K.OP_INTEREST, group[-1], group[0]))
            interest_steps.append(ops[-1])
        elif kind == "priority_principal":
            ops.append((K.OP_PRIORITY_PRINCIPAL, index[str(arg)], -1))
        elif kind == "reserve_deposit":
            ops.append((K.OP_RESERVE_DEPOSIT, -1, -1))
        elif kind == "regular_principal":
            ops.append((K.OP_REGULAR_PRINCIPAL, -1, -1))
    ops.append((K.OP_RESIDUAL, -1, -1))
    n_normal = len(ops)
    if deal.accelerated_waterfall is None:
        ops += senior_items
        for interest in interest_steps:
            ops += [interest, (K.OP_PRINCIPAL_TO, interest[K.OPF_TARGET], -1)]
    else:
        ops += _accelerated_ops(deal.accelerated_waterfall, index, fee_index)
    ops.append((K.OP_RESIDUAL, -1, -1))

    groups = [[index[c] for c in g.classes] for g in deal.pro_rata_groups]
    fixed_groups = [[index[c] for c in g.classes] for g in deal.pro_rata_groups
                    if not g.switch_to_sequential]

    # Triggers: threshold schedules as CSR (0-based first period).
    sched_ptr = [0]
    sched_period: list[int] = []
    sched_threshold: list[float] = []
    for trig in deal.triggers:
        steps = trig.schedule if trig.schedule is not None else [(1, trig.threshold or 0.0)]
        sched_period += [p - 1 for p, _ in steps]
        sched_threshold += [v for _, v in steps]
        sched_ptr.append(len(sched_period))

    class_param = np.empty((K.N_CLASS_PARAMS, n_classes))
    class_param[K.CP_ORIGINAL_BALANCE] = note_balances(deal, pool)
    class_param[K.CP_COUPON] = [n.spread if n.type == "floating" else n.coupon
                                for n in deal.notes]
    class_param[K.CP_FLOOR] = [(n.floor if n.floor is not None else 0.0)
                               if n.type == "floating" else -_NO_CAP for n in deal.notes]
    class_param[K.CP_CAP] = [n.cap if n.cap is not None else _NO_CAP for n in deal.notes]
    class_code = np.empty((K.N_CLASS_CODES, n_classes), dtype=np.int64)
    class_code[K.CC_RATE_KIND] = [_RATE_KIND[n.type] for n in deal.notes]
    class_code[K.CC_LEGAL_FINAL_PERIOD] = [
        _period_of(deal.first_payment_date, n.legal_final) if n.legal_final else -1
        for n in deal.notes]

    # The reserve and OC amounts are fractions of the initial adjusted pool (the pool without
    # yield supplement: the pool itself).
    r = deal.reserve
    oc = deal.overcollateralization
    deal_param = np.zeros(K.N_DEAL_PARAMS)
    deal_param[K.DP_INITIAL_POOL] = pool
    deal_param[K.DP_ADJUSTED_INITIAL_POOL] = adjusted
    if r is not None:
        deal_param[K.DP_RESERVE_INITIAL] = r.initial * adjusted
        deal_param[K.DP_RESERVE_TARGET_PCT] = r.target
        deal_param[K.DP_RESERVE_STEP_UP_PCT] = (r.step_up_target if r.step_up_target is not None
                                                else r.target)
        deal_param[K.DP_RESERVE_FLOOR] = r.floor * adjusted
    deal_param[K.DP_OC_CURRENT_PCT] = oc.target_current
    deal_param[K.DP_OC_INITIAL_USD] = oc.target_initial * adjusted
    deal_param[K.DP_OC_FLOOR_USD] = oc.floor * adjusted
    deal_param[K.DP_OC_STEP_UP_CURRENT_PCT] = (oc.step_up_target_current
                                               if oc.step_up_target_current is not None
                                               else oc.target_current)
    deal_param[K.DP_OC_STEP_UP_INITIAL_USD] = (oc.step_up_target_initial
                                               if oc.step_up_target_initial is not None
                                               else oc.target_initial) * adjusted
    deal_param[K.DP_CLEAN_UP_USD] = (deal.clean_up_call or 0.0) * pool
    deal_code = np.zeros(K.N_DEAL_CODES, dtype=np.int64)
    deal_code[K.DC_ACCELERATED_START] = n_normal
    deal_code[K.DC_RESERVE_ON_CURRENT] = r is not None and r.basis == "current"
    deal_code[K.DC_TURBO_ALWAYS] = oc.turbo
    deal_code[K.DC_INTEREST_GRACE] = deal.events_of_default.interest_grace_periods
    deal_code[K.DC_PRINCIPAL_GRACE] = deal.events_of_default.principal_grace_periods
    deal_code[K.DC_LEGAL_FINAL_PRIORITY] = deal.legal_final_in_priority_principal
    deal_code[K.DC_SERVICER_ADVANCES] = deal.servicer_advances

    fee_param = np.empty((K.N_FEE_PARAMS, len(deal.fees)))
    fee_param[K.FP_RATE] = [f.rate or 0.0 for f in deal.fees]
    fee_param[K.FP_USD_PER_MONTH] = [f.usd_per_month or 0.0 for f in deal.fees]
    trigger_code = np.empty((K.N_TRIGGER_CODES, len(deal.triggers)), dtype=np.int64)
    trigger_code[K.TC_METRIC] = [_METRIC[t.metric] for t in deal.triggers]
    trigger_code[K.TC_WINDOW] = [t.window for t in deal.triggers]
    trigger_code[K.TC_EFFECT] = [_EFFECT[t.effect] for t in deal.triggers]
    trigger_code[K.TC_CURABLE] = [t.curable for t in deal.triggers]
    return WaterfallProgram(
        deal_name=deal.name,
        classes=deal.class_names,
        fee_names=tuple(f.name for f in deal.fees),
        trigger_names=tuple(t.name for t in deal.triggers),
        closing_date=deal.closing_date,
        first_payment_date=deal.first_payment_date,
        business_day_calendar=deal.business_day_calendar,
        index_rate=deal.index_rate,
        class_param=class_param,
        class_code=class_code,
        deal_param=deal_param,
        deal_code=deal_code,
        ops=np.array(ops, dtype=np.int64).T.copy(),
        group_ptr=np.array([_group_ptr(n_classes, groups), _group_ptr(n_classes, fixed_groups)],
                           dtype=np.int64),
        fee_param=fee_param,
        swap_class=np.array([index[s.note] for s in deal.swaps], dtype=np.int64),
        swap_fixed_rate=np.array([s.fixed_rate for s in deal.swaps], dtype=np.float64),
        trigger_code=trigger_code,
        trig_sched_ptr=np.array(sched_ptr, dtype=np.int64),
        trig_sched_period=np.array(sched_period, dtype=np.int64),
        trig_sched_threshold=np.array(sched_threshold, dtype=np.float64),
        ysoc_amount=ysoc,
    )


def _ysoc(deal: Deal, loans: LoanTape | CollateralInputs | None, pool: float,
          source: str, given: np.ndarray | None = None) -> np.ndarray:
    """The YSOC schedule of the deal's pool (``[0.0]`` without ``yield_supplement``).

    ``given`` if not ``None``, else computed from ``loans``. Checks that the adjusted pool at
    the cut-off is positive and covers the notes.
    """
    if deal.yield_supplement is None:
        return np.zeros(1)
    if given is not None:
        ysoc = np.asarray(given, dtype=np.float64)
    elif loans is None:
        raise ValueError(f"{source}: the deal has yield_supplement, whose YSOC schedule is "
                         "computed from the loans: compile it with the LoanTape or "
                         "CollateralInputs of its pool, not a balance")
    else:
        ysoc = ysoc_schedule(loans, deal.yield_supplement.required_rate)
    adjusted = pool - float(ysoc[0])
    notes = float(sum(note_balances(deal, pool)))
    if adjusted <= 0.0 or notes > adjusted * (1.0 + 1e-12):
        raise InputError(source, Problem(
            None, "yield_supplement.required_rate",
            f"at {deal.yield_supplement.required_rate:.4%} the YSOC amount is "
            f"{float(ysoc[0]):,.2f} USD, leaving an adjusted pool balance of {adjusted:,.2f} "
            f"USD (pool {pool:,.2f} USD) below the notes' {notes:,.2f} USD"))
    return ysoc


def _index_paths(program: WaterfallProgram, index_rates: np.ndarray | float | None,
                 n_paths: int, n_periods: int) -> np.ndarray:
    if index_rates is None:
        return np.full((1, n_periods), program.index_rate)
    arr = np.asarray(index_rates, dtype=np.float64)
    if arr.ndim == 0:
        return np.full((1, n_periods), float(arr))
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[0] not in (1, n_paths) or arr.shape[1] < n_periods:
        raise InputError("index rates", f"expected shape (1 or {n_paths}, >= {n_periods}), "
                                        f"got {np.shape(index_rates)}")
    if not np.isfinite(arr).all():
        raise InputError("index rates", "contain NaN or infinite values")
    return np.ascontiguousarray(arr[:, :n_periods])


def _later_months_paths(later_months_balance: np.ndarray | None, n_paths: int,
                        n_periods: int) -> np.ndarray:
    if later_months_balance is None:
        return np.zeros((1, n_periods))
    arr = np.asarray(later_months_balance, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[0] not in (1, n_paths) or arr.shape[1] < n_periods:
        raise InputError("later-months balance", f"expected shape (1 or {n_paths}, "
                         f">= {n_periods}), got {np.shape(later_months_balance)}")
    if not (np.isfinite(arr).all() and (arr >= 0.0).all()):
        raise InputError("later-months balance", "contains negative, NaN or infinite values")
    return np.ascontiguousarray(arr[:, :n_periods])


def run_waterfall(
    program: WaterfallProgram,
    pool_flows: np.ndarray,
    index_rates: np.ndarray | float | None = None,
    *,
    later_months_balance: np.ndarray | None = None,
    kernel: Callable[..., None] | None = None,
) -> TrancheFlows:
    """Run the compiled waterfall on a chunk of PoolFlows.

    Parameters
    ----------
    program : WaterfallProgram
        From :func:`compile_deal` (compiled for the same initial pool balance).
    pool_flows : numpy.ndarray
        ``(n_paths, n_periods, 11)`` in :data:`simulation.collateral.FIELD_NAMES` order, USD;
        a single path may be given as ``(n_periods, 11)``.
    index_rates : numpy.ndarray or float, optional
        Note index (annual decimal) by path and period, ``(n_paths or 1, >= n_periods)`` or
        ``(n_periods,)``; defaults to the deal's flat ``index_rate``.
    later_months_balance : numpy.ndarray, optional
        USD by path and period, ``(n_paths or 1, >= n_periods)`` or ``(n_periods,)``: the pool
        balance at the start of each month of a collection period after its first, summed
        (the ``later_months_balance`` column of
        :func:`~simulation.deterministic.project_deterministic`, non-zero when lines were cut
        off before the pool); fees at a rate accrue on it as on the beginning pool balance,
        one month's fee per month of the collection period. Defaults to 0 (one-month periods).
    kernel : callable, optional
        The interpreter to call; the jitted kernel by default (tests pass its Python twin).

    Returns
    -------
    TrancheFlows
        Per class, deal-level and event arrays (see :class:`TrancheFlows`).

    Raises
    ------
    InputError
        On a wrongly shaped or non-finite flow or index array.
    """
    flows = np.asarray(pool_flows, dtype=np.float64)
    if flows.ndim == 2:
        flows = flows[None]
    if flows.ndim != 3 or flows.shape[2] != len(FIELD_NAMES) or flows.shape[1] < 1:
        raise InputError("pool flows", f"expected shape (n_paths, n_periods, "
                                       f"{len(FIELD_NAMES)}), got {np.shape(pool_flows)}")
    if not np.isfinite(flows).all():
        raise InputError("pool flows", "contain NaN or infinite values")
    flows = np.ascontiguousarray(flows)
    n_paths, n_periods = flows.shape[0], flows.shape[1]
    n_classes = program.n_classes
    n_triggers = program.trigger_code.shape[1]
    index = _index_paths(program, index_rates, n_paths, n_periods)
    later_months = _later_months_paths(later_months_balance, n_paths, n_periods)

    class_out = np.zeros((K.N_CLASS_FIELDS, n_paths, n_classes, n_periods))
    deal_out = np.zeros((K.N_DEAL_FIELDS, n_paths, n_periods))
    path_out = np.zeros((K.N_PATH_FIELDS, n_paths, n_classes))
    event_period = np.full((K.N_EVENTS, n_paths), -1, dtype=np.int64)
    breached = np.zeros((n_paths, n_triggers, n_periods), dtype=np.bool_)
    sequential = np.zeros((n_paths, n_periods), dtype=np.bool_)
    arrays = K.ProgramArrays(*(getattr(program, name) for name in K.ProgramArrays._fields))
    sched = program.schedule(n_periods)
    fee_arrears = np.zeros((n_paths, program.fee_param.shape[1], n_periods))
    (kernel or K.waterfall_kernel)(arrays, program.start_arrays(), flows, index, later_months,
                                   sched.act_360, sched.thirty_360, program.thresholds(n_periods),
                                   class_out, deal_out, path_out, event_period, breached,
                                   sequential, fee_arrears)
    return TrancheFlows(
        classes=program.classes,
        trigger_names=program.trigger_names,
        original_balance=program.original_balance.copy(),
        interest_due=class_out[K.CF_INTEREST_DUE],
        interest_paid=class_out[K.CF_INTEREST_PAID],
        principal_paid=class_out[K.CF_PRINCIPAL_PAID],
        ending_balance=class_out[K.CF_ENDING_BALANCE],
        coupon_rate=class_out[K.CF_COUPON_RATE],
        principal_loss=path_out[K.PF_PRINCIPAL_LOSS],
        interest_shortfall=path_out[K.PF_INTEREST_SHORTFALL],
        available_funds=deal_out[K.DF_AVAILABLE_FUNDS],
        call_proceeds=deal_out[K.DF_CALL_PROCEEDS],
        fees_paid=deal_out[K.DF_FEES_PAID],
        swap_net_receipt=deal_out[K.DF_SWAP_NET_RECEIPT],
        reserve_draw=deal_out[K.DF_RESERVE_DRAW],
        reserve_release=deal_out[K.DF_RESERVE_RELEASE],
        reserve_deposit=deal_out[K.DF_RESERVE_DEPOSIT],
        reserve_balance=deal_out[K.DF_RESERVE_BALANCE],
        residual=deal_out[K.DF_RESIDUAL],
        oc_amount=deal_out[K.DF_OC_AMOUNT],
        oc_target=deal_out[K.DF_OC_TARGET],
        pool_balance=deal_out[K.DF_POOL_BALANCE],
        adjusted_pool_balance=deal_out[K.DF_ADJUSTED_POOL_BALANCE],
        servicer_advance=deal_out[K.DF_SERVICER_ADVANCE],
        advance_reimbursement=deal_out[K.DF_ADVANCE_REIMBURSEMENT],
        advances_outstanding=deal_out[K.DF_ADVANCES_OUTSTANDING],
        swap_arrears=deal_out[K.DF_SWAP_ARREARS],
        fee_arrears=fee_arrears,
        cumulative_net_loss=deal_out[K.DF_CUM_NET_LOSS],
        delinquency_60_ratio=deal_out[K.DF_DELINQUENCY_60_RATIO],
        interest_default_run=deal_out[K.DF_INTEREST_DEFAULT_RUN].astype(np.int64),
        principal_default_run=deal_out[K.DF_PRINCIPAL_DEFAULT_RUN].astype(np.int64),
        principal_distribution_amount=deal_out[K.DF_PRINCIPAL_DISTRIBUTION_AMOUNT],
        trigger_breached=breached,
        sequential_mode=sequential,
        event_of_default_period=event_period[K.EV_EVENT_OF_DEFAULT],
        call_period=event_period[K.EV_CLEAN_UP_CALL],
    )
