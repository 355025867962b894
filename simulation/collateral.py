"""From a loan tape and a collateral model to the flat arrays the kernels read.

:func:`prepare_collateral` validates the combination (segments known, tables long enough) once,
and returns a frozen :class:`CollateralInputs`. :func:`expected_flows` runs the expected-value
projection on it; :func:`simulate_chunk` runs the Monte Carlo kernel for a chunk of paths.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numba
import numpy as np
import pandas as pd

from portfolio.amortization import installments
from portfolio.errors import InputError, Problem
from portfolio.tape import LoanTape
from simulation._collateral_kernel import (
    DEFAULTED_PRINCIPAL,
    ENDING_BALANCE,
    N_ACTIVE,
    N_FIELDS,
    PREPAID_PRINCIPAL,
    SCHEDULED_PRINCIPAL,
    TERMINATIONS,
    collateral_paths_kernel,
    expected_intensity_kernel,
    roll_rate_expected_kernel,
    roll_rate_paths_kernel,
)
from simulation.conversions import abs_to_smm, cpr_to_smm, rate_to_intensity
from simulation.model import CollateralModel, Curve

APR_BUCKET = 0.005
"""Width of the APR buckets on which the prepayment rate incentive is evaluated (annual)."""

FIELD_NAMES: tuple[str, ...] = (
    "interest",
    "scheduled_principal",
    "prepaid_principal",
    "defaulted_principal",
    "recoveries",
    "ending_balance",
    "delinquent_30",
    "delinquent_60",
    "delinquent_90p",
    "n_active",
    "delinquent_interest",
)
"""PoolFlows fields, in the order of the last axis of flow arrays (USD; n_active is a count).

``delinquent_interest``: the scheduled interest not collected on the delinquent balances of
the period (what a servicer advancing scheduled interest advances; docs/waterfall.md)."""


@dataclass(frozen=True, eq=False)
class CollateralInputs:
    """Kernel-ready loan arrays (shape ``(n_loans,)``) and tables for one tape and model.

    ``default_intensity`` and ``prepay_intensity`` have shape ``(n_curves, n_ages)``: monthly
    hazard intensities by curve row and loan age at the start of the period. ``default_scale``
    multiplies every default intensity (solved from the expected CNL when the model gives one).
    ``missed0``: payments missed at the cut-off, ``days_past_due // 30`` capped at
    ``chargeoff_months - 1`` (30-59 days past due is one missed payment).
    ``transition`` has shape ``(n_segments, n_ages + chargeoff_months, 4, 6)`` under the
    roll-rate credit model (monthly transition rows by segment, table age and state; see
    :class:`~simulation.model.RollRateAssumptions`) and ``transition_row`` gives each loan's
    segment; both are empty otherwise.
    """

    balance: np.ndarray
    monthly_rate: np.ndarray
    installment: np.ndarray
    remaining_term: np.ndarray
    age0: np.ndarray
    payment_type: np.ndarray
    curve_row: np.ndarray
    loan_default_mult: np.ndarray
    loan_prepay_mult: np.ndarray
    apr_bin: np.ndarray
    value_scale: np.ndarray
    vehicle_age0: np.ndarray
    missed0: np.ndarray
    default_intensity: np.ndarray
    prepay_intensity: np.ndarray
    depreciation: np.ndarray
    apr_bin_rate: np.ndarray
    n_periods: int
    default_scale: float
    model: CollateralModel
    transition: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 4, 6)))
    transition_row: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def roll_rate(self) -> bool:
        """Whether the roll-rate credit model drives defaults (else competing risks)."""
        return self.model.credit_model == "roll_rate"

    @property
    def n_loans(self) -> int:
        """Number of loans."""
        return int(self.balance.shape[0])

    @property
    def initial_balance(self) -> float:
        """Pool balance at the cut-off date, USD."""
        return float(self.balance.sum())

    def with_default_scale(self, scale: float) -> CollateralInputs:
        """Return a copy with another default-intensity scale."""
        return replace(self, default_scale=float(scale))


@dataclass(frozen=True, eq=False)
class MacroPaths:
    """Macro inputs by path and period, shape ``(n_paths, n_periods)`` (or ``(1, n_periods)``).

    Unemployment and market auto-loan rate as annual decimals; used-car index relative to the
    cut-off (1.0). Stresses: ``cnl_multiple`` scales default intensities, ``prepay_multiple``
    prepayment intensities, ``recovery_haircut`` cuts recoveries.
    """

    unemployment: np.ndarray
    market_rate: np.ndarray
    used_car_index: np.ndarray
    cnl_multiple: float = 1.0
    prepay_multiple: float = 1.0
    recovery_haircut: float = 0.0

    @property
    def n_paths(self) -> int:
        """Number of macro paths (1 when shared by every simulated path)."""
        return int(self.unemployment.shape[0])

    def over(self, n_periods: int) -> MacroPaths:
        """Paths cut or extended (holding the last value) to ``n_periods`` columns."""
        have = self.unemployment.shape[1]
        if have == n_periods:
            return self
        idx = np.minimum(np.arange(n_periods), have - 1)
        return replace(
            self,
            unemployment=self.unemployment[:, idx],
            market_rate=self.market_rate[:, idx],
            used_car_index=self.used_car_index[:, idx],
        )

    def rows(self, paths: np.ndarray) -> MacroPaths:
        """Macro rows for the given global path indices (broadcast when shared)."""
        if self.n_paths == 1:
            idx = np.zeros(len(paths), dtype=np.int64)
        else:
            idx = np.asarray(paths)
        return replace(
            self,
            unemployment=self.unemployment[idx],
            market_rate=self.market_rate[idx],
            used_car_index=self.used_car_index[idx],
        )


def flat_macro(model: CollateralModel, n_periods: int) -> MacroPaths:
    """Macro paths that stay at the model's cut-off levels (the base scenario)."""
    ones = np.ones((1, n_periods))
    return MacroPaths(
        unemployment=ones * model.macro.unemployment,
        market_rate=ones * model.macro.market_rate,
        used_car_index=ones.copy(),
    )


def _curve_table(curve: Curve, n_ages: int) -> np.ndarray:
    """Monthly values by table index ``a`` (loan age ``a + 1`` in the curve's ages)."""
    return np.interp(np.arange(1, n_ages + 1), curve.ages, curve.values)


def _depreciation_table(model: CollateralModel, n_ages: int) -> np.ndarray:
    """Vehicle value as a share of new value by vehicle age in months (index = months)."""
    dep = model.recovery.depreciation
    months = np.arange(n_ages, dtype=float)
    first = (1.0 - dep.first_year) ** (np.minimum(months, 12.0) / 12.0)
    later = (1.0 - dep.annual) ** (np.maximum(months - 12.0, 0.0) / 12.0)
    return np.asarray(first * later)


def _scorecard_log_multiplier(tape: LoanTape, model: CollateralModel) -> np.ndarray:
    sc = model.default.scorecard
    terms = [
        sc.fico * (tape.fico - 700.0) / 100.0,
        sc.ltv * (tape.ltv - 1.0),
        sc.pti * (tape.pti - 0.10) / 0.10,
        sc.term * (tape.original_term - 60.0) / 12.0,
        sc.used * (~tape.vehicle_new).astype(float),
        sc.apr * (tape.rate - 0.10) / 0.01,
    ]
    total = np.zeros(len(tape))
    for term in terms:
        total += np.nan_to_num(np.asarray(term, dtype=float), nan=0.0)
    return total


def _segment_codes(tape: LoanTape) -> tuple[np.ndarray, list[str]]:
    """Each loan's index into the tape's distinct segments (first-seen order), and those."""
    codes, uniques = pd.factorize(tape.segment)
    return codes.astype(np.int64), [str(u) for u in uniques]


def _segment_values(tape: LoanTape, table: dict[str, float]) -> np.ndarray:
    """Per-loan value of a by-segment table; segments not in the table get 1.0."""
    codes, segments = _segment_codes(tape)
    return np.array([table.get(s, 1.0) for s in segments], dtype=float)[codes]


def _vehicle_age_at_origination(tape: LoanTape, model: CollateralModel) -> np.ndarray:
    """Months since the vehicle was new at loan origination (0 for new vehicles)."""
    used_age = np.full(len(tape), float(model.recovery.used_vehicle_age_months))
    orig = tape.origination_date
    known = (tape.vehicle_year > 0) & ~np.isnat(orig)
    if known.any():
        orig_year = orig[known].astype("datetime64[Y]").astype(int) + 1970
        orig_month = orig[known].astype("datetime64[M]").astype(int) % 12
        # A model year is on sale from about October of the previous year.
        months = (orig_year - tape.vehicle_year[known]) * 12 + orig_month + 3
        used_age[known] = np.clip(months, 0, 360)
    return np.where(tape.vehicle_new, 0.0, used_age).astype(np.int64)


def prepare_collateral(
    tape: LoanTape, model: CollateralModel, source: str = "<tape>"
) -> CollateralInputs:
    """Validate a tape against a model and build the kernel arrays.

    A tape of representative lines (``loan_count > 1``) is split into one row per loan first
    (:meth:`LoanTape.split_rep_lines`), so the Monte Carlo draws every borrower.

    Raises
    ------
    InputError
        When a loan's segment has no hazard curve in the model, or a line has a cut-off of its
        own (``months_before_cutoff > 0``, deterministic projections only), naming the rows.
    """
    if len(tape) == 0:
        raise InputError(source, "the tape has no loans")
    early = np.flatnonzero(tape.months_before_cutoff > 0)
    if early.size:
        raise InputError(source, [
            Problem(int(i) + 1, "months_before_cutoff",
                    f"{int(tape.months_before_cutoff[i])}: the Monte Carlo projects every loan "
                    "from the pool's cut-off; lines with an earlier cut-off of their own run "
                    "in the deterministic projections only (paydown, cashflows)")
            for i in early[:20]
        ])
    if tape.is_rep_lines:
        # each borrower defaults and prepays on its own: a rep line is split into its loans
        try:
            tape = tape.split_rep_lines()
        except ValueError as exc:
            raise InputError(source, Problem(None, "loan_count", str(exc))) from None
    final_exceeds = np.flatnonzero((tape.payment_type >= 2) & (tape.balloon_amount > tape.balance))
    if final_exceeds.size:
        raise InputError(source, [
            Problem(int(i) + 1, "balloon_amount",
                    f"balloon/residual {tape.balloon_amount[i]:,.2f} exceeds the current balance "
                    f"{tape.balance[i]:,.2f}")
            for i in final_exceeds[:20]
        ])
    co = model.delinquency.chargeoff_months
    lag = model.recovery.lag_months
    rem = tape.remaining_term.astype(np.int64)
    age0 = tape.age.astype(np.int64)
    n_ages = int((age0 + rem).max()) + 1
    n_periods = int(rem.max()) + co + lag

    # Default curves: one row per segment curve, or one shape row from the loss timing.
    d = model.default
    if d.hazard_curves is not None:
        names = list(d.hazard_curves)
        lookup = {name: k for k, name in enumerate(names)}
        fallback = lookup.get("all")
        codes, segments = _segment_codes(tape)
        missing_row = -1 if fallback is None else fallback
        rows = np.array([lookup.get(s, missing_row) for s in segments], dtype=np.int64)[codes]
        bad = np.flatnonzero(rows < 0)
        if bad.size:
            problems = [
                Problem(int(i) + 1, "segment",
                        f"no hazard curve for segment {tape.segment[i]!r}; the model has {names}")
                for i in bad[:20]
            ]
            raise InputError(source, problems)
        default_table = np.vstack([rate_to_intensity(_curve_table(c, n_ages))
                                   for c in d.hazard_curves.values()])
    else:
        rows = np.zeros(len(tape), dtype=np.int64)
        default_table = np.zeros((1, n_ages))  # shape filled by calibration
    curve_row = rows.astype(np.int64)

    # Prepayment: one table shared by all segments (segment multipliers per loan).
    p = model.prepayment
    if p.abs_speed is not None:
        smm = abs_to_smm(p.abs_speed, np.arange(1, n_ages + 1))
    elif p.cpr is not None:
        smm = np.full(n_ages, float(cpr_to_smm(p.cpr)))
    else:
        assert p.smm_curve is not None
        smm = _curve_table(p.smm_curve, n_ages)
    prepay_row = rate_to_intensity(smm)
    prepay_table = np.repeat(prepay_row[None, :], default_table.shape[0], axis=0)

    # Loan multipliers.
    log_mult = _scorecard_log_multiplier(tape, model)
    mult = np.exp(log_mult)
    if d.scorecard.normalise:
        mult /= np.average(mult, weights=tape.balance)
    mult *= _segment_values(tape, d.segment_multipliers)
    prepay_mult = _segment_values(tape, p.segment_multipliers)

    # APR buckets for the rate incentive.
    n_bins = int(tape.rate.max() / APR_BUCKET) + 1
    apr_bin = np.minimum((tape.rate / APR_BUCKET).astype(np.int64), n_bins - 1)
    apr_bin_rate = (np.arange(n_bins) + 0.5) * APR_BUCKET

    # Vehicle values for recoveries.
    veh_age_orig = _vehicle_age_at_origination(tape, model)
    vehicle_age0 = veh_age_orig + age0
    dep = _depreciation_table(model, int(vehicle_age0.max()) + n_periods + 2)
    value = tape.vehicle_value.copy()
    missing = ~np.isfinite(value) | (value <= 0)
    value[missing] = tape.original_balance[missing] / model.recovery.default_ltv
    value_scale = value / dep[veh_age_orig]

    r = tape.rate / 12.0
    final = np.where(tape.payment_type >= 2, tape.balloon_amount, 0.0)
    inst = installments(
        tape.payment_type.astype(np.int64), tape.balance.astype(np.float64), r, rem,
        final.astype(np.float64),
    )

    transition = np.zeros((0, 0, 4, 6))
    transition_row = np.zeros(0, np.int64)
    if model.credit_model == "roll_rate":
        transition_row, transition = _transition_table(tape, model, n_ages + co, source)

    inputs = CollateralInputs(
        balance=np.ascontiguousarray(tape.balance, dtype=np.float64),
        monthly_rate=np.ascontiguousarray(r, dtype=np.float64),
        installment=inst,
        remaining_term=rem,
        age0=age0,
        payment_type=tape.payment_type.astype(np.int64),
        curve_row=curve_row,
        loan_default_mult=mult,
        loan_prepay_mult=prepay_mult,
        apr_bin=apr_bin,
        value_scale=value_scale,
        vehicle_age0=vehicle_age0.astype(np.int64),
        missed0=np.minimum(tape.days_past_due.astype(np.int64) // 30, co - 1),
        default_intensity=default_table,
        prepay_intensity=prepay_table,
        depreciation=dep,
        apr_bin_rate=apr_bin_rate,
        n_periods=n_periods,
        default_scale=1.0,
        model=model,
        transition=transition,
        transition_row=transition_row,
    )
    if d.expected_cnl is not None:
        shape = loss_timing_shape(inputs, tape)
        inputs = replace(inputs, default_intensity=shape[None, :])
    return inputs


def _transition_table(tape: LoanTape, model: CollateralModel, n_ages: int,
                      source: str) -> tuple[np.ndarray, np.ndarray]:
    """Roll-rate rows by segment, table age and state; and each loan's segment row.

    Returns ``(row_of_loan (n_loans,), table (n_segments, n_ages, 4, 6))``; table age ``a``
    is loan age ``a + 1``, in the age band whose first age is the largest not above it.

    Raises
    ------
    InputError
        When a loan's segment has no matrices (and there is no ``all``), naming the rows.
    """
    rr = model.roll_rate
    assert rr is not None  # the model requires it under roll_rate
    names = list(rr.matrices)
    lookup = {name: k for k, name in enumerate(names)}
    fallback = lookup.get("all", -1)
    rows = np.array([lookup.get(s, fallback) for s in tape.segment], dtype=np.int64)
    bad = np.flatnonzero(rows < 0)
    if bad.size:
        raise InputError(source, [
            Problem(int(i) + 1, "segment", f"no roll_rate matrices for segment "
                    f"{tape.segment[i]!r}; the model has {names}") for i in bad[:20]])
    band = np.searchsorted(np.asarray(rr.age_bands), np.arange(1, n_ages + 1), side="right") - 1
    by_band = np.array([rr.matrices[name] for name in names], dtype=np.float64)
    return rows, np.ascontiguousarray(by_band[:, band])


def loss_timing_shape(inputs: CollateralInputs, tape: LoanTape) -> np.ndarray:
    """Default-intensity shape by loan age implied by a static-pool loss-timing curve.

    For a representative new loan (level pay at the pool's WA APR and WA original term, under
    the model's prepayment curve) losses at age ``a`` are proportional to
    ``lambda(a) S(a) f(a)``, with ``S`` the prepayment survival and ``f`` the scheduled balance
    fraction; so ``lambda(a) = timing'(a) / (S(a) f(a))``, with ``f`` floored at 5% so that the
    tail beyond the WA term stays finite. Unit scale: :func:`calibrate` sets the level.
    """
    model = inputs.model
    lt = model.default.loss_timing
    assert lt is not None
    n_ages = inputs.default_intensity.shape[1]
    ages = np.arange(n_ages + 1)
    cumulative = np.interp(ages, [0, *lt.ages], [0.0, *lt.cumulative])
    marginal = np.diff(cumulative)  # index a: loan age a + 1
    w = tape.balance / tape.balance.sum()
    r = float(np.sum(w * tape.rate)) / 12.0
    n = float(np.sum(w * tape.original_term))
    a = np.arange(n_ages, dtype=float)
    growth = (1.0 + r) ** n
    sched = np.clip((growth - (1.0 + r) ** a) / (growth - 1.0), 0.05, 1.0)
    if model.prepayment.abs_speed is not None:
        smm = abs_to_smm(model.prepayment.abs_speed, a + 1.0)
    else:
        smm = 1.0 - np.exp(-inputs.prepay_intensity[0])
    survival = np.concatenate([[1.0], np.cumprod(1.0 - np.minimum(smm, 0.999))[:-1]])
    shape = marginal / (np.maximum(survival, 1e-3) * sched)
    return np.asarray(shape / max(shape.max(), 1e-300))


def _finish_flows(raw: np.ndarray, initial_balance: float, n_loans: int) -> np.ndarray:
    """Derive ending balance and active count from the flows; drop the internal field.

    ``raw`` has shape ``(..., n_periods, N_FIELDS)``; the result ``(..., n_periods, 11)``.
    A loan's balance leaves the pool only as scheduled, prepaid or charged-off principal, so
    ``ending_balance_t = B_0 - cumsum(scheduled + prepaid + defaulted)``.
    """
    principal = raw[..., SCHEDULED_PRINCIPAL] + raw[..., PREPAID_PRINCIPAL]
    principal = principal + raw[..., DEFAULTED_PRINCIPAL]
    ending = initial_balance - np.cumsum(principal, axis=-1)
    ending[np.abs(ending) < 1e-9 * max(initial_balance, 1.0)] = 0.0
    raw[..., ENDING_BALANCE] = ending
    raw[..., N_ACTIVE] = n_loans - np.cumsum(raw[..., TERMINATIONS], axis=-1)
    return raw[..., :TERMINATIONS]


def _recovery_index(inputs: CollateralInputs, macro: MacroPaths) -> np.ndarray:
    rec = inputs.model.recovery
    keep = 1.0 - macro.recovery_haircut
    if rec.method == "vehicle":
        realised = rec.wholesale_ratio * rec.repossession_rate * (1.0 - rec.liquidation_cost)
        return np.ascontiguousarray(macro.used_car_index * realised * keep)
    return np.full(macro.used_car_index.shape, (1.0 - rec.severity) * keep)


def _default_macro(
    inputs: CollateralInputs, macro: MacroPaths, factor_multiplier: np.ndarray
) -> np.ndarray:
    m = inputs.model
    unemployment_term = np.exp(
        m.default.unemployment_elasticity * (macro.unemployment - m.macro.unemployment)
    )
    scale = inputs.default_scale * macro.cnl_multiple
    return np.ascontiguousarray(scale * factor_multiplier[:, None] * unemployment_term)


def _prepay_macro(inputs: CollateralInputs, macro: MacroPaths) -> np.ndarray:
    m = inputs.model
    shift = macro.unemployment - m.macro.unemployment
    term = np.exp(m.prepayment.unemployment_elasticity * shift)
    return np.ascontiguousarray(macro.prepay_multiple * term)


def simulate_chunk(
    inputs: CollateralInputs,
    macro: MacroPaths,
    factor_multiplier: np.ndarray,
    seed: int,
    first_path: int,
) -> np.ndarray:
    """Monte Carlo PoolFlows for paths ``first_path .. first_path + n - 1``.

    Parameters
    ----------
    inputs : CollateralInputs
        From :func:`prepare_collateral`.
    macro : MacroPaths
        Rows for exactly these paths, each ``(n, inputs.n_periods)``, or one shared row.
    factor_multiplier : numpy.ndarray
        Systematic default multiplier per path, shape ``(n,)``.
    seed : int
        Run seed; with the global path index it keys every random draw.
    first_path : int
        Global index of the chunk's first path.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, n_periods, 11)``; fields in :data:`FIELD_NAMES` order.
    """
    n = factor_multiplier.shape[0]
    if macro.n_paths == 1 and n > 1:
        macro = macro.rows(np.arange(n))
    if macro.n_paths != n:  # the kernel indexes macro rows by path without bounds checks
        raise ValueError(f"macro has {macro.n_paths} rows for {n} paths")
    raw = np.zeros((n, inputs.n_periods, N_FIELDS))
    m = inputs.model
    if inputs.roll_rate:
        roll_rate_paths_kernel(
            inputs.balance, inputs.monthly_rate, inputs.installment, inputs.remaining_term,
            inputs.age0, inputs.payment_type, inputs.transition_row, inputs.loan_default_mult,
            inputs.loan_prepay_mult, inputs.apr_bin, inputs.value_scale, inputs.vehicle_age0,
            inputs.missed0, inputs.transition,
            np.ascontiguousarray(inputs.transition[:, :, 0, 1]),
            np.ascontiguousarray(inputs.transition[:, :, 0, 5]), inputs.depreciation,
            inputs.apr_bin_rate, float(m.prepayment.rate_incentive), float(m.macro.market_rate),
            _default_macro(inputs, macro, factor_multiplier), _prepay_macro(inputs, macro),
            np.ascontiguousarray(macro.market_rate), _recovery_index(inputs, macro),
            int(m.recovery.lag_months), m.recovery.method == "vehicle", np.uint64(seed),
            int(first_path), raw,
        )  # fmt: skip
        return _finish_flows(raw, inputs.initial_balance, inputs.n_loans)
    collateral_paths_kernel(
        inputs.balance, inputs.monthly_rate, inputs.installment, inputs.remaining_term,
        inputs.age0, inputs.payment_type, inputs.curve_row, inputs.loan_default_mult,
        inputs.loan_prepay_mult, inputs.apr_bin, inputs.value_scale, inputs.vehicle_age0,
        inputs.missed0, inputs.default_intensity, inputs.prepay_intensity, inputs.depreciation,
        inputs.apr_bin_rate, float(m.prepayment.rate_incentive), float(m.macro.market_rate),
        _default_macro(inputs, macro, factor_multiplier), _prepay_macro(inputs, macro),
        np.ascontiguousarray(macro.market_rate), _recovery_index(inputs, macro),
        int(m.delinquency.chargeoff_months), int(m.recovery.lag_months),
        float(m.delinquency.cure_probability), m.recovery.method == "vehicle",
        np.uint64(seed), int(first_path), raw,
    )  # fmt: skip
    return _finish_flows(raw, inputs.initial_balance, inputs.n_loans)


def prepay_table(inputs: CollateralInputs, macro: MacroPaths) -> np.ndarray:
    """Prepayment multiplier by APR bucket and period on one macro path ``(n_bins, n_periods)``.

    The macro term times the rate incentive ``exp(incentive * (max(APR - m_t, 0) -
    max(APR - m_0, 0)))``, as the Monte Carlo kernel computes it per path.
    """
    m = inputs.model
    now = np.maximum(inputs.apr_bin_rate[:, None] - macro.market_rate[0][None, :], 0.0)
    then = np.maximum(inputs.apr_bin_rate - m.macro.market_rate, 0.0)[:, None]
    incentive = np.exp(m.prepayment.rate_incentive * (now - then))
    return np.ascontiguousarray(_prepay_macro(inputs, macro)[0][None, :] * incentive)


class ExpectedProjection(NamedTuple):
    """An expected projection: pool flows and per-loan default probability and loss.

    ``flows`` ``(n_periods, 11)`` in :data:`FIELD_NAMES` order; per loan ``(n_loans,)`` the
    lifetime charge-off probability and the expected net loss (USD).
    """

    flows: np.ndarray
    default_by_loan: np.ndarray
    loss_by_loan: np.ndarray

    def idiosyncratic_cnl_variance(self, initial_balance: float) -> float:
        """Variance of CNL from loan-level Bernoulli defaults given the macro path."""
        p = np.clip(self.default_by_loan, 1e-300, 1.0)
        loss_if_default = self.loss_by_loan / p
        return float(np.sum(p * (1.0 - p) * loss_if_default**2) / initial_balance**2)


def expected_flows(
    inputs: CollateralInputs,
    macro: MacroPaths | None = None,
    default_multiplier: float = 1.0,
) -> ExpectedProjection:
    """Expected PoolFlows on one macro path given the systematic default multiplier.

    This is the conditional expectation of the Monte Carlo engine (competing risks: up to the
    months that cured loans spend delinquent; roll rates: exact); see
    :class:`ExpectedProjection`.
    """
    if macro is None:
        macro = flat_macro(inputs.model, inputs.n_periods)
    macro = macro.over(inputs.n_periods)
    m = inputs.model
    raw = np.zeros((inputs.n_periods, N_FIELDS))
    default_by_loan = np.zeros(inputs.n_loans)
    loss_by_loan = np.zeros(inputs.n_loans)
    if inputs.roll_rate:
        roll_rate_expected_kernel(
            inputs.balance, inputs.monthly_rate, inputs.installment, inputs.remaining_term,
            inputs.age0, inputs.payment_type, inputs.transition_row, inputs.loan_default_mult,
            inputs.loan_prepay_mult, inputs.apr_bin, inputs.value_scale, inputs.vehicle_age0,
            inputs.missed0, inputs.transition, inputs.depreciation,
            _default_macro(inputs, macro, np.array([default_multiplier]))[0],
            prepay_table(inputs, macro), _recovery_index(inputs, macro)[0],
            int(m.recovery.lag_months), m.recovery.method == "vehicle", raw, default_by_loan,
            loss_by_loan,
        )  # fmt: skip
        flows = _finish_flows(raw, inputs.initial_balance, inputs.n_loans)
        return ExpectedProjection(flows, default_by_loan, loss_by_loan)
    raw, default_by_loan, loss_by_loan = _expected_intensity(
        inputs, macro, np.array([default_multiplier], dtype=float), keep_loans=True)
    flows = _finish_flows(raw[0], inputs.initial_balance, inputs.n_loans)
    return ExpectedProjection(flows, default_by_loan[0], loss_by_loan[0])


def _expected_intensity(
    inputs: CollateralInputs, macro: MacroPaths, multipliers: np.ndarray, keep_loans: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Competing-risks expected projections at ``multipliers`` ``(k,)`` on one macro path.

    Raw flows ``(k, n_periods, N_FIELDS)`` and, with ``keep_loans``, per-loan charge-off
    probability and expected net loss ``(k, n_loans)`` (else ``(0, n_loans)``).
    """
    m = inputs.model
    raw = np.zeros((len(multipliers), inputs.n_periods, N_FIELDS))
    per_loan = (len(multipliers) if keep_loans else 0, inputs.n_loans)
    default_by_loan, loss_by_loan = np.zeros(per_loan), np.zeros(per_loan)
    expected_intensity_kernel(
        inputs.balance, inputs.monthly_rate, inputs.installment, inputs.remaining_term,
        inputs.age0, inputs.payment_type, inputs.curve_row, inputs.loan_default_mult,
        inputs.loan_prepay_mult, inputs.apr_bin, inputs.value_scale, inputs.vehicle_age0,
        inputs.missed0, inputs.default_intensity, inputs.prepay_intensity, inputs.depreciation,
        _default_macro(inputs, macro, multipliers), prepay_table(inputs, macro),
        _recovery_index(inputs, macro)[0], float(m.delinquency.cure_probability),
        int(m.delinquency.chargeoff_months), int(m.recovery.lag_months),
        m.recovery.method == "vehicle", raw, default_by_loan, loss_by_loan,
    )  # fmt: skip
    return raw, default_by_loan, loss_by_loan


def expected_flows_by_multiplier(
    inputs: CollateralInputs, multipliers: np.ndarray, macro: MacroPaths | None = None
) -> np.ndarray:
    """:func:`expected_flows` at each systematic default multiplier, bit for bit.

    Shape ``(k, n_periods, len(FIELD_NAMES))``, in the order of ``multipliers``; only the pool
    flows are kept (not the per-loan arrays).

    Competing risks: one pass over the loans for all the multipliers
    (:func:`~simulation._collateral_kernel.expected_intensity_kernel`, the multipliers spread
    over numba's threads). Roll rates: independent serial kernel calls that release the GIL, on
    numba's thread count of Python threads.
    """
    multipliers = np.asarray(multipliers, dtype=float)
    if macro is None:
        macro = flat_macro(inputs.model, inputs.n_periods)
    macro = macro.over(inputs.n_periods)
    if not inputs.roll_rate:
        raw, _, _ = _expected_intensity(inputs, macro, multipliers, keep_loans=False)
        return _finish_flows(raw, inputs.initial_balance, inputs.n_loans)

    def flows_at(multiplier: float) -> np.ndarray:
        return expected_flows(inputs, macro, default_multiplier=float(multiplier)).flows

    with ThreadPoolExecutor(max_workers=numba.get_num_threads()) as pool:
        return np.stack(list(pool.map(flows_at, multipliers)))


def cnl_of_flows(flows: np.ndarray, initial_balance: float) -> np.ndarray:
    """Cumulative net loss ratio at the horizon: (charge-offs - recoveries) / initial balance."""
    from simulation._collateral_kernel import RECOVERIES

    net = flows[..., DEFAULTED_PRINCIPAL].sum(axis=-1) - flows[..., RECOVERIES].sum(axis=-1)
    return np.asarray(net / initial_balance)
