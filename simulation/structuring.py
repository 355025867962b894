"""Deterministic structuring tables: the prepayment (paydown) table and break-even CNL.

Both run the compiled waterfall on deterministic pool flows, as prospectuses and rating
reports do:

- :func:`prepayment_table`: WAL and principal window of each class at several ABS speeds with
  no losses, to the clean-up call and to maturity (the WAL lines under the prospectus
  decrement tables).
- :func:`yield_table`: yield, WAL and modified duration of each class at each ABS speed and
  price, without losses (the term sheet's "prepayment speed x price" yield table).
- :func:`deterministic_run` and :func:`cashflow_table`: the deal's waterfall on a
  deterministic projection (from closing, or from a reporting date's status), and its
  per-period table by class (dates, balances, interest, principal, shortfalls, OC, reserve,
  triggers) that a structurer reconciles with Intex.
- :func:`decrement_table`: percent of each class's initial principal outstanding after each
  payment date at each ABS speed (the prospectus "percent of initial note principal amount at
  various ABS percentages" table; see docs/tieout.md).
- :func:`breakeven_cnl`: per class, the largest multiple of the base-case expected CNL at which
  the class loses nothing, on the expected-value projection (bracketing + bisection).
- :func:`structuring_tables`: the paydown table and the break-even multiples a run writes,
  computed once for a deal and pool: neither depends on the run's scenario or paths, so
  ``autoabs stress`` computes them once for all its scenarios.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy.interpolate import CubicSpline
from scipy.optimize import brentq

import simulation.metrics as metrics
from portfolio.tape import LoanTape
from simulation.asof import deal_program
from simulation.collateral import (
    CollateralInputs,
    cnl_of_flows,
    expected_flows,
    expected_flows_by_multiplier,
)
from simulation.dates import PaymentSchedule
from simulation.deal import Deal
from simulation.deterministic import project_deterministic, waterfall_inputs
from simulation.pricing import BenchmarkCurve, spread_to_benchmark
from simulation.status import DealStatus
from simulation.waterfall import TrancheFlows, WaterfallProgram, compile_deal, run_waterfall


@dataclass(frozen=True, eq=False)
class StructuringTables:
    """The deterministic structuring tables of a run (``paydown.csv``, ``breakeven.csv``).

    Attributes
    ----------
    paydown : pandas.DataFrame
        :func:`prepayment_table` of the deal at the default ABS speeds, to the call.
    breakeven : pandas.DataFrame
        :func:`breakeven_cnl` of the deal on the prepared collateral.
    """

    paydown: pd.DataFrame
    breakeven: pd.DataFrame


def structuring_tables(deal: Deal, tape: LoanTape, inputs: CollateralInputs) -> StructuringTables:
    """The paydown table and break-even multiples of ``deal`` on its pool.

    Both are deterministic projections on flat macro: they depend on the deal, the tape and
    the prepared collateral only, never on a run's scenario, seed or paths, so one value
    serves every scenario of a stress run.
    """
    return StructuringTables(prepayment_table(deal, tape), breakeven_cnl(deal, inputs))


DEFAULT_ABS_SPEEDS = (0.005, 0.010, 0.013, 0.015, 0.018, 0.020)
"""ABS speeds of the prospectus prepayment table (monthly decimals)."""


def prepayment_table(
    deal: Deal,
    tape: LoanTape,
    abs_speeds: tuple[float, ...] = DEFAULT_ABS_SPEEDS,
    *,
    to_call: bool = True,
) -> pd.DataFrame:
    """WAL (years) and principal window of each class at each ABS speed, without losses.

    Parameters
    ----------
    deal, tape
        The deal and its pool.
    abs_speeds : tuple of float
        ABS prepayment speeds (0.013 = 1.3% ABS).
    to_call : bool
        Exercise the clean-up call when the pool falls to its level (``True``) or run every
        class to maturity (``False``).

    Returns
    -------
    pandas.DataFrame
        Rows (class, abs_speed) with ``wal_years``, ``first_principal_period``,
        ``last_principal_period``, ``first_principal_date``, ``last_principal_date`` and
        ``window_months`` (last - first + 1).
    """
    rows = []
    for speed, program, principal, schedule in _paydown_runs(deal, tape, abs_speeds, to_call):
        dates = schedule.paid
        for c, name in enumerate(program.classes):
            paid = np.flatnonzero(principal[c] > 1e-6)
            first, last = (int(paid[0]), int(paid[-1])) if paid.size else (-1, -1)
            rows.append({
                "class": name,
                "abs_speed": speed,
                "wal_years": float(metrics.wal_years(principal[c], schedule.years)),
                "first_principal_period": first + 1,
                "last_principal_period": last + 1,
                "first_principal_date": str(dates[first]) if paid.size else "",
                "last_principal_date": str(dates[last]) if paid.size else "",
                "window_months": last - first + 1 if paid.size else 0,
            })
    return pd.DataFrame(rows)


def decrement_table(
    deal: Deal,
    tape: LoanTape,
    abs_speeds: tuple[float, ...] = DEFAULT_ABS_SPEEDS,
    *,
    to_call: bool = True,
) -> pd.DataFrame:
    """Percent of each class's initial principal outstanding after each payment date.

    The prospectus decrement table: no losses, every loan prepaying at the ABS speed, the
    clean-up call exercised (``to_call``) or not. Period 0 is the closing date (100%).

    Returns
    -------
    pandas.DataFrame
        Rows (abs_speed, period) for periods ``0..T``, ``T`` the last period in which any class
        is paid, with ``payment_date`` (``""`` for the closing row) and one column per class
        holding the outstanding balance in percent of its initial balance (unrounded;
        prospectuses print whole percents, ``*`` for more than 0 but less than 0.5).

    Notes
    -----
    With ``B_t`` the balance after payment date ``t``, ``tau_t`` the years (act/365) from
    closing to payment date ``t`` and the class fully paid by ``T``,
    ``sum_{t=0}^{T-1} B_t / B_0 x (tau_{t+1} - tau_t)`` is the WAL of :func:`prepayment_table`
    (the sum of ``tau_t x principal_t`` telescopes): the table and the WAL line printed under
    it agree.
    """
    frames = []
    for speed, program, principal, schedule in _paydown_runs(deal, tape, abs_speeds, to_call):
        dates = schedule.paid
        paid_any = np.flatnonzero(principal.sum(axis=0) > 1e-6)
        last = int(paid_any[-1]) + 1 if paid_any.size else 0
        original = program.original_balance[:, None]
        outstanding = np.maximum(original - np.cumsum(principal[:, :last], axis=1), 0.0)
        percent = np.hstack([np.full_like(original, 100.0), 100.0 * outstanding / original])
        frame = pd.DataFrame(percent.T, columns=list(program.classes))
        frame.insert(0, "payment_date", [""] + [str(d) for d in dates[:last]])
        frame.insert(0, "period", np.arange(last + 1))
        frame.insert(0, "abs_speed", speed)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def yield_table(
    deal: Deal,
    tape: LoanTape,
    prices: tuple[float, ...],
    abs_speeds: tuple[float, ...] = DEFAULT_ABS_SPEEDS,
    *,
    to_call: bool = True,
    curve: BenchmarkCurve | None = None,
) -> pd.DataFrame:
    """Yield of each class at each ABS speed and price, without losses (a term-sheet table).

    Parameters
    ----------
    deal, tape
        The deal and its pool.
    prices : tuple of float
        Prices in percent of the original class balance (99.5 = 99.5%), settling at closing.
    abs_speeds : tuple of float
        ABS prepayment speeds (0.013 = 1.3% ABS).
    to_call : bool
        Exercise the clean-up call (``True``) or run to maturity.
    curve : BenchmarkCurve, optional
        Benchmark curve (:func:`simulation.pricing.load_benchmark_curve`) for the spread of
        the fixed-coupon classes.

    Returns
    -------
    pandas.DataFrame
        Rows (class, abs_speed, price) with ``yield`` (the class's own convention: act/360
        money-market yield for money-market and floating classes, 30/360 monthly for fixed;
        a floating class's yield uses the deal's flat ``index_rate``), ``wal_years``,
        ``modified_duration``, ``spread`` (decimal: the I-spread of a fixed or money-market
        class over ``curve`` at its WAL, NaN without a curve; the discount margin over the
        deal's flat index of a floating class) and ``spread_kind`` (``"i_spread"`` or
        ``"discount_margin"``).
    """
    if not prices or any(not np.isfinite(p) or p <= 0.0 for p in prices):
        raise ValueError(f"prices must be positive percentages of par; got {prices}")
    program = _deal_program(deal, tape, to_call)
    floating = np.array([n.type == "floating" for n in deal.notes])
    rows = []
    for speed in abs_speeds:
        tf = _no_loss_flows(program, tape, speed)
        schedule = program.schedule(tf.n_periods)
        accrual = program.yield_fractions(tf.n_periods)
        cash = (tf.interest_paid + tf.principal_paid)[0]
        wal = metrics.wal_years(tf.principal_paid[0], schedule.years)
        for price in prices:
            usd = program.original_balance * price / 100.0
            y = metrics.cashflow_yield(cash, usd, accrual)
            duration = metrics.modified_duration(cash, y, accrual)
            i_spread = (spread_to_benchmark(y, wal, curve) if curve is not None
                        else np.full_like(y, np.nan))
            margin = metrics.discount_margin(cash, usd, accrual, program.index_rate)
            spread = np.where(floating, margin, i_spread)
            for c, name in enumerate(program.classes):
                rows.append({"class": name, "abs_speed": speed, "price": price,
                             "yield": float(y[c]), "wal_years": float(wal[c]),
                             "modified_duration": float(duration[c]),
                             "spread": float(spread[c]),
                             "spread_kind": "discount_margin" if floating[c] else "i_spread"})
    return pd.DataFrame(rows)


class DeterministicRun(NamedTuple):
    """One deterministic run of a deal: its program, the pool projection and the waterfall.

    ``flows`` are the pool flows ``(n_periods, 11)`` the waterfall ran on; ``projection`` the
    :func:`~simulation.deterministic.project_deterministic` frame, whose ``period`` index
    counts the deal's payment periods from a reporting date (the first is the one after it)
    and whose ``cnl`` then adds the realised net loss, over the original pool.
    """

    program: WaterfallProgram
    projection: pd.DataFrame
    flows: np.ndarray
    tranche_flows: TrancheFlows


def deterministic_run(deal: Deal, tape: LoanTape, *, to_call: bool = True,
                      status: DealStatus | None = None, status_source: str = "<status>",
                      **projection: Any) -> DeterministicRun:
    """The deal's waterfall on the deterministic projection of ``tape``.

    ``status`` (the deal at a reporting date, ``tape`` its current loans) starts the
    waterfall from that date (:func:`simulation.asof.deal_program`); ``projection`` holds
    the keyword options of :func:`~simulation.deterministic.project_deterministic`, by month
    from the tape's date.
    """
    program = _deal_program(deal, tape, to_call, status, status_source)
    frame = project_deterministic(tape, **projection)
    flows, later_months = waterfall_inputs(frame)
    tf = run_waterfall(program, flows[None], later_months_balance=later_months)
    if status is not None:
        frame = frame.set_axis(pd.RangeIndex(status.period + 1, status.period + 1 + len(frame),
                                             name="period"))
        net = (frame["defaulted_principal"] - frame["recoveries"]).cumsum()
        frame["cnl"] = (status.cumulative_net_loss + net) / status.original_pool_balance
    return DeterministicRun(program, frame, flows, tf)


def cashflow_table(run: DeterministicRun) -> pd.DataFrame:
    """The per-period cash flows of every class of a deterministic run, with the accounts.

    Returns
    -------
    pandas.DataFrame
        One row per (class, period) up to the last period with a note balance or payment:
        ``class``, ``period`` (the deal's payment period), ``payment_date``,
        ``collection_period_end``, ``accrual_days`` (the class's day count), ``coupon_rate``,
        ``beginning_balance``, ``interest_due`` (with carried shortfall), ``interest_paid``,
        ``interest_shortfall``, ``principal_paid``, ``ending_balance``, then the deal's
        ``pool_balance``, ``adjusted_pool_balance`` (less the yield-supplement OC),
        ``available_funds``, ``oc_amount`` (adjusted pool - notes), ``oc_target``,
        ``reserve_balance``, ``reserve_draw``, ``servicer_advance``,
        ``advance_reimbursement``, ``sequential`` and ``triggers_breached`` (names,
        ``;``-separated). USD, annual decimals.
    """
    program, tf = run.program, run.tranche_flows
    schedule = program.schedule(tf.n_periods)
    days = np.rint(program.yield_fractions(tf.n_periods) * 360.0).astype(np.int64)
    active = (tf.ending_balance[0].sum(axis=0) > 0.0) | (
        (tf.interest_paid[0] + tf.principal_paid[0]).sum(axis=0) > 0.0)
    n = int(np.flatnonzero(active)[-1]) + 1 if active.any() else 1
    ending = tf.ending_balance[0][:, :n]
    beginning = np.concatenate([program.start_balance[:, None], ending[:, :-1]], axis=1)
    breached = [";".join(name for k, name in enumerate(tf.trigger_names)
                         if tf.trigger_breached[0, k, t]) for t in range(n)]
    frames = []
    for c, name in enumerate(program.classes):
        frames.append(pd.DataFrame({
            "class": name,
            "period": program.periods_elapsed + np.arange(1, n + 1),
            "payment_date": schedule.paid[:n].astype(str),
            "collection_period_end": schedule.collection_end[:n].astype(str),
            "accrual_days": days[c, :n],
            "coupon_rate": tf.coupon_rate[0, c, :n],
            "beginning_balance": beginning[c],
            "interest_due": tf.interest_due[0, c, :n],
            "interest_paid": tf.interest_paid[0, c, :n],
            "interest_shortfall": tf.interest_due[0, c, :n] - tf.interest_paid[0, c, :n],
            "principal_paid": tf.principal_paid[0, c, :n],
            "ending_balance": ending[c],
            "pool_balance": tf.pool_balance[0, :n],
            "adjusted_pool_balance": tf.adjusted_pool_balance[0, :n],
            "available_funds": tf.available_funds[0, :n],
            "oc_amount": tf.oc_amount[0, :n],
            "oc_target": tf.oc_target[0, :n],
            "reserve_balance": tf.reserve_balance[0, :n],
            "reserve_draw": tf.reserve_draw[0, :n],
            "servicer_advance": tf.servicer_advance[0, :n],
            "advance_reimbursement": tf.advance_reimbursement[0, :n],
            "sequential": tf.sequential_mode[0, :n],
            "triggers_breached": breached,
        }))
    return pd.concat(frames, ignore_index=True)


def _paydown_runs(
    deal: Deal, tape: LoanTape, abs_speeds: tuple[float, ...], to_call: bool
) -> Iterator[tuple[float, WaterfallProgram, np.ndarray, PaymentSchedule]]:
    """The no-loss waterfall run at each ABS speed: (speed, program, principal, schedule).

    ``principal`` is the principal paid per class and period, shape (classes, periods);
    ``schedule`` the payment schedule of those periods.
    """
    program = _deal_program(deal, tape, to_call)
    for speed in abs_speeds:
        principal = _no_loss_flows(program, tape, speed).principal_paid[0]
        yield speed, program, principal, program.schedule(principal.shape[1])


def _deal_program(deal: Deal, tape: LoanTape, to_call: bool, status: DealStatus | None = None,
                  status_source: str = "<status>") -> WaterfallProgram:
    """The deal's program, with its clean-up call (``to_call``) or run to maturity."""
    run_deal = deal if to_call else deal.model_copy(update={"clean_up_call": None})
    return deal_program(run_deal, tape, status, status_source=status_source)


def _no_loss_flows(program: WaterfallProgram, tape: LoanTape, abs_speed: float) -> TrancheFlows:
    """The waterfall on the pool's no-loss projection at an ABS speed (one path)."""
    return _waterfall_on_projection(program, project_deterministic(tape, abs_speed=abs_speed))


def _waterfall_on_projection(program: WaterfallProgram, projection: pd.DataFrame) -> TrancheFlows:
    """The waterfall on one deterministic projection, its later months' fees included."""
    flows, later_months = waterfall_inputs(projection)
    return run_waterfall(program, flows[None], later_months_balance=later_months)
_LOSS_TOLERANCE = 1e-4
"""Principal loss (share of the class) below which a class counts as whole."""
_MAX_DEFAULT_MULTIPLIER = 1e4
"""Default-intensity multiplier of the largest stress: about every loan defaults."""
_LADDER = (2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
"""Default multipliers projected (in turn, while some class is still whole) before searching."""
_SCAN_POINTS = 34
"""Grid points of one scan of the interpolated flows (the 32 inside are one waterfall run)."""


class _DefaultStress:
    """The expected projection at default-intensity multipliers ``k``, each projected once.

    A CNL multiple ``x`` is the multiplier whose projected CNL is ``x`` times the base CNL
    (``k = 1``). CNL rises with ``k``, about in proportion until every loan defaults, so a
    multiple asked for is set on a cubic spline in ``log k`` of the flows already projected
    (the CNL of the spline's flows solved for the multiple; beyond the projections, in
    proportion to ``-log(1 - x / x_max)``); the multiple evaluated is then the projection's
    own CNL over the base CNL, exactly. :meth:`surrogate_breakeven` runs the waterfall on the
    spline's flows: a guess that costs no projection.
    """

    def __init__(self, inputs: CollateralInputs, program: WaterfallProgram) -> None:
        self.inputs, self.program = inputs, program
        self._by_k: dict[float, tuple[float, np.ndarray, np.ndarray]] = {}  # cnl, loss, flows
        self._spline: CubicSpline | None = None
        self._project_together((1.0, _MAX_DEFAULT_MULTIPLIER))
        self.base_cnl = self._project(1.0)[0]
        self.max_multiple = self._project(_MAX_DEFAULT_MULTIPLIER)[0] / self.base_cnl

    def _project(self, k: float) -> tuple[float, np.ndarray]:
        if k not in self._by_k:
            flows = expected_flows(self.inputs, default_multiplier=k).flows
            cnl, loss = self._losses(flows)
            self._by_k[k] = (cnl, loss, flows)
            self._spline = None
        cnl, loss, _ = self._by_k[k]
        return cnl, loss

    def _project_together(self, ks: tuple[float, ...]) -> None:
        """Project the multipliers not yet projected side by side, one per numba thread.

        The flows are the same, bit for bit, as projecting one at a time.
        """
        new = [k for k in ks if k not in self._by_k]
        if new:
            for k, flows in zip(new, expected_flows_by_multiplier(self.inputs, np.array(new)),
                                strict=True):
                cnl, loss = self._losses(flows)
                self._by_k[k] = (cnl, loss, flows)
            self._spline = None

    def _losses(self, flows: np.ndarray) -> tuple[float, np.ndarray]:
        """(CNL, principal loss share of each class) of pool flows, through the waterfall."""
        loss = run_waterfall(self.program, flows[None]).principal_loss[0]
        return (float(cnl_of_flows(flows, self.inputs.initial_balance)),
                loss / self.program.original_balance)

    def at_multiple(self, multiple: float) -> tuple[float, np.ndarray]:
        """(multiple evaluated, principal loss share of each class) near ``multiple``."""
        cnl, loss = self._project(self._multiplier_for(multiple))
        return cnl / self.base_cnl, loss

    def project_ladder(self) -> None:
        """Project the ladder's multipliers and, for a class losing at base, smaller ones.

        The ladder stops once every class that loses at the largest stress loses at one of
        its multipliers; below the base, the multiplier halves (to 1/64) until no class loses.
        """
        can_lose = self._by_k[_MAX_DEFAULT_MULTIPLIER][1] > _LOSS_TOLERANCE
        for rung in range(0, len(_LADDER), 2):  # two rungs at a time: one per core
            largest = max(k for k in self._by_k if k < _MAX_DEFAULT_MULTIPLIER)
            if not np.any(can_lose & (self._by_k[largest][1] <= _LOSS_TOLERANCE)):
                break
            self._project_together(_LADDER[rung:rung + 2])
        k = 1.0
        while np.any(self._project(k)[1] > _LOSS_TOLERANCE) and k > _LADDER[-1] ** -1:
            k /= 2.0

    def known(self, c: int) -> list[tuple[float, float]]:
        """(multiple, loss share of class ``c``) at every multiplier projected so far."""
        return [(cnl / self.base_cnl, float(loss[c])) for cnl, loss, _ in self._by_k.values()]

    def surrogate_breakeven(self, c: int, tol: float) -> float | None:
        """Class ``c``'s break-even multiple on the spline's flows: the search's first guess.

        The bracket between projections is scanned on a grid of ``log k`` (every grid point a
        path of one waterfall run), and the crossing cell scanned again, until it is narrower
        than ``tol / 4`` in the multiple. None when the projections at ``0 < k < max`` do not
        bracket the class's break-even.
        """
        points = sorted((k, float(loss[c])) for k, (_, loss, _) in self._by_k.items()
                        if 0.0 < k < _MAX_DEFAULT_MULTIPLIER)
        whole = [k for k, share in points if share <= _LOSS_TOLERANCE]
        losing = [k for k, share in points if share > _LOSS_TOLERANCE and whole and k > whole[-1]]
        if not whole or not losing:
            return None
        spline = self._flows_spline()
        lo, hi = float(np.log(whole[-1])), float(np.log(losing[0]))
        x_hi = self._by_k[losing[0]][0] / self.base_cnl  # dx / dlog k <= x: tol in log k
        while hi - lo > 0.25 * tol / x_hi:
            grid = np.linspace(lo, hi, _SCAN_POINTS)
            shares = (run_waterfall(self.program, spline(grid[1:-1])).principal_loss[:, c]
                      / self.program.original_balance[c])
            first = int(np.argmax(np.append(shares > _LOSS_TOLERANCE, True)))  # losing cell
            lo, hi = grid[first], grid[first + 1]
        flows = spline(0.5 * (lo + hi))
        return float(cnl_of_flows(flows, self.inputs.initial_balance)) / self.base_cnl

    def _multiplier_for(self, multiple: float) -> float:
        if multiple <= 0.0:
            return 0.0
        if multiple >= self.max_multiple:
            return _MAX_DEFAULT_MULTIPLIER
        points = sorted((cnl / self.base_cnl, k) for k, (cnl, _, _) in self._by_k.items()
                        if 0.0 < k < _MAX_DEFAULT_MULTIPLIER)
        below = [(x, k) for x, k in points if x <= multiple]
        above = [(x, k) for x, k in points if x >= multiple]
        for x, k in below[-1:] + above[:1]:
            if x == multiple:
                return k

        def saturation(x: float) -> float:  # about proportional to k, until every loan defaults
            return float(-np.log1p(-x / self.max_multiple))

        z = saturation(multiple)
        if not below or not above:  # proportional beyond the projections
            x, k = (below or above)[-1 if below else 0]
            return min(k * z / saturation(x), _MAX_DEFAULT_MULTIPLIER)
        spline, target = self._flows_spline(), multiple * self.base_cnl

        def excess_cnl(log_k: float) -> float:
            return float(cnl_of_flows(spline(log_k), self.inputs.initial_balance)) - target

        return float(np.exp(brentq(excess_cnl, np.log(below[-1][1]), np.log(above[0][1]),
                                   xtol=1e-12)))

    def _flows_spline(self) -> CubicSpline:
        """Cubic spline in ``log k`` of the flows projected at ``0 < k < max``."""
        if self._spline is None:
            ks = sorted(k for k in self._by_k if 0.0 < k < _MAX_DEFAULT_MULTIPLIER)
            self._spline = CubicSpline(np.log(ks), np.stack([self._by_k[k][2] for k in ks]))
        return self._spline


def breakeven_cnl(
    deal: Deal, inputs: CollateralInputs, *, tol: float = 5e-3
) -> pd.DataFrame:
    """Break-even CNL multiple of each class on the expected-value projection.

    The base case is the model's expected projection at a default multiplier of 1 (flat macro);
    a stress multiple ``x`` scales the default intensity to the level whose projected CNL is
    ``x`` times the base CNL. A class breaks even at the largest ``x`` at which its principal
    loss is zero (losses below one cent per $100 of the class are treated as zero), found to
    ``tol`` by :func:`simulation.metrics.breakeven_multiple` on projections of the pool.

    Every projection serves every class (one waterfall run gives all their losses): a ladder of
    default multipliers brackets every class, a waterfall run on flows interpolated between the
    ladder's projections guesses each break-even, and the search on projections starts just
    either side of the guess, so it usually takes two more projections per class
    (``tests/simulation/test_structuring.py`` counts them; ``docs/metrics.md``).

    Returns
    -------
    pandas.DataFrame
        Per class: ``breakeven_multiple``, ``breakeven_cnl`` (decimal of the pool),
        ``base_cnl`` and ``bracketed`` (False when even the largest stress, where about every
        loan defaults, leaves the class whole).
    """
    program = compile_deal(deal, inputs)
    stress = _DefaultStress(inputs, program)
    stress.project_ladder()
    rows = []
    for c, name in enumerate(program.classes):
        def loss(multiple: float, c: int = c) -> tuple[float, float]:
            at, shares = stress.at_multiple(multiple)
            return at, float(shares[c])

        known = stress.known(c)
        if all(share > _LOSS_TOLERANCE for _, share in known) and loss(0.0)[1] > _LOSS_TOLERANCE:
            multiple, bracketed = 0.0, True  # loses with no defaults at all (fees exceed cash)
        else:
            result = metrics.breakeven_multiple(loss, hi=2.0, tol=tol,
                                                loss_tolerance=_LOSS_TOLERANCE,
                                                max_multiple=stress.max_multiple, known=known,
                                                near=stress.surrogate_breakeven(c, tol))
            multiple, bracketed = result.multiple, result.bracketed
        rows.append({
            "class": name,
            "breakeven_multiple": multiple,
            "breakeven_cnl": multiple * stress.base_cnl,
            "base_cnl": stress.base_cnl,
            "bracketed": bracketed,
        })
    return pd.DataFrame(rows)
