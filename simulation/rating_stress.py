"""Agency-style deterministic rating stress runs: CNL at a rating multiple, timing, prepayment.

S&P rates US auto ABS by cash-flow runs in which the pool loses a *multiple* of the base-case
expected CNL chosen by rating level (e.g. 3.10x for AAA on a subprime pool), with the losses
front- or back-loaded and prepayments slow or fast; a class passes a rating when it is paid in
full (principal and interest) in every run of that rating. The break-even CNL of a class is the
largest CNL at which it is still paid in full. ``docs/rating_stress.md`` has the conventions
and the comparison with the CPS Auto Receivables Trust 2019-A presale.

Each run is a :func:`~simulation.deterministic.project_deterministic` projection of the tape:

- the **base case** is the model's expected projection (flat macro): its CNL, loss severity
  (1 - recoveries / charge-offs), charge-off and recovery lags, and its default-rate shape by
  period (first missed payments over the expected balance);
- a **timing curve** (cumulative share of lifetime gross defaults by month since the cut-off)
  becomes a monthly default-rate shape: the curve's monthly increment over the pool balance
  left at that speed without defaults, ``shape_t = dG_t * B_0 / B_{t-1}``, so the default
  amounts follow the curve (exactly without defaults, approximately with them);
- the shape is scaled so that the projection's CNL is the target
  (:class:`StressScenario.flows_at_cnl`, interpolating a CNL-by-scale curve);
- a rating's **recovery stress** (a haircut on the base recovery, a longer recovery lag) is
  applied to the same defaults, so the run loses more than the multiple when recoveries are cut;
- **excess-spread compression** (optional): prepayments are taken from the highest-APR loans
  first, so the pool's APR falls as it prepays (:func:`compressed_interest`).

The multiples table is an input (:func:`load_rating_stress_table`). Two are built in
(:data:`BUILTIN_TABLES`): S&P on CPS Auto Receivables Trust 2019-A (subprime) and on CarMax
Auto Owner Trust 2019-2 (prime); without a table the one whose expected CNL is nearest the
pool's is used (:func:`table_for_pool`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, NamedTuple

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from portfolio._yaml import read_yaml_file
from portfolio.errors import InputError
from portfolio.tape import LoanTape
from simulation.collateral import FIELD_NAMES, CollateralInputs, expected_flows, prepare_collateral
from simulation.deal import Deal
from simulation.deterministic import project_deterministic, waterfall_inputs
from simulation.factor import calibrate
from simulation.metrics import breakeven_multiple
from simulation.model import CollateralModel, pydantic_problems
from simulation.ratings import RATING_SCALE
from simulation.waterfall import WaterfallProgram, compile_deal, run_waterfall

__all__ = [
    "BASE_TIMING",
    "BUILTIN_TABLES",
    "PAID_IN_FULL_TOLERANCE",
    "RatingStressTable",
    "StressBase",
    "StressFlows",
    "StressScenario",
    "breakeven_table",
    "compressed_interest",
    "builtin_rating_stress_table",
    "load_rating_stress_table",
    "rating_category",
    "rating_stress_runs",
    "rating_stress_table",
    "stress_base",
    "stressed_flows",
    "table_for_pool",
]

BASE_TIMING = "base"
"""Name of the model's own loss timing, run beside the table's curves."""
PAID_IN_FULL_TOLERANCE = 1e-4
"""A class is paid in full when its principal loss and interest shortfall are at most this
share of its original balance (a cent per $100)."""
BUILTIN_TABLES = {"cps2019a": "rating_stress_cps2019a.yaml",
                  "carmax2019-2": "rating_stress_carmax2019_2.yaml"}
"""Built-in tables by name: S&P on CPS Auto Receivables Trust 2019-A (subprime) and on CarMax
Auto Owner Trust 2019-2 (prime), files in ``simulation/data``."""
_CATEGORIES = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC")
_MOODYS_CATEGORY = {"Aaa": "AAA", "Aa": "AA", "A": "A", "Baa": "BBB", "Ba": "BB", "B": "B",
                    "Caa": "CCC", "Ca/C": "CCC"}
_INTEREST = FIELD_NAMES.index("interest")
_CHARGED_OFF = FIELD_NAMES.index("defaulted_principal")
_RECOVERIES = FIELD_NAMES.index("recoveries")
_ENDING = FIELD_NAMES.index("ending_balance")
_LOG_SCALES = np.linspace(np.log(1e-3), np.log(1e4), 57)
"""Default-shape scales on which each scenario's CNL curve is tabulated."""

Multiple = Annotated[float, Field(ge=1.0, le=20.0, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Speed = Annotated[float, Field(ge=0.0, lt=0.2, allow_inf_nan=False)]
LagMonths = Annotated[int, Field(ge=0, le=36)]


def rating_category(rating: str) -> str:
    """Letter category of a Moody's (``Aa2`` -> ``AA``) or S&P-style (``AA-`` -> ``AA``) rating.

    Raises
    ------
    InputError
        Not a rating of either scale.
    """
    text = rating.strip()
    letters = text.rstrip("+-")
    if letters.upper() in _CATEGORIES and letters == letters.upper():
        return letters.upper()
    canonical = {r.lower(): r for r in RATING_SCALE}.get(text.lower())
    if canonical is not None:
        return _MOODYS_CATEGORY.get(canonical.rstrip("123"), "CCC")
    raise InputError("rating", f"unknown rating {rating!r}: expected Moody's (Aaa, Aa2, ...) "
                               "or a letter category (AAA, AA, A, BBB, BB, B)")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimingCurve(_Strict):
    """Cumulative share of lifetime gross defaults by month since the cut-off (ends at 1)."""

    months: list[Annotated[int, Field(ge=1, le=480)]]
    cumulative: list[Share]

    @model_validator(mode="after")
    def _check(self) -> TimingCurve:
        if len(self.months) != len(self.cumulative) or not self.months:
            raise ValueError("months and cumulative must be non-empty lists of the same length")
        if any(b <= a for a, b in zip(self.months, self.months[1:], strict=False)):
            raise ValueError("months must be strictly increasing")
        if any(b < a for a, b in zip(self.cumulative, self.cumulative[1:], strict=False)):
            raise ValueError("cumulative must be non-decreasing")
        if abs(self.cumulative[-1] - 1.0) > 1e-9:
            raise ValueError(f"cumulative must end at 1.0, got {self.cumulative[-1]}")
        return self

    def increments(self, n_periods: int) -> np.ndarray:
        """Share of lifetime defaults in each month 1..n (linear between the points, 0 at 0)."""
        months = np.arange(0, n_periods + 1)
        cum = np.interp(months, [0, *self.months], [0.0, *self.cumulative])
        return np.asarray(np.diff(cum))


class RatingStressTable(_Strict):
    """Coverage multiples by rating category, loss-timing curves and prepayment stresses.

    ``recovery_haircut`` (share of the base recovery lost) and ``recovery_lag_months`` (months
    from charge-off to recovery) are per rating category; a category without an entry keeps
    the model's recovery. ``high_apr_prepays_first`` turns on excess-spread compression in
    every run.
    """

    source: str
    multiples: dict[str, Multiple]
    loss_timing: dict[str, TimingCurve] = {}
    abs_speeds: list[Speed] = []
    presale_expected_cnl: list[Share] = []
    recovery_haircut: dict[str, Share] = {}
    recovery_lag_months: dict[str, LagMonths] = {}
    high_apr_prepays_first: bool = False

    @model_validator(mode="after")
    def _check(self) -> RatingStressTable:
        bad = [k for k in self.multiples if k not in _CATEGORIES]
        if bad:
            raise ValueError(f"multiples: unknown rating categories {bad}; use {_CATEGORIES}")
        for name, column in (("multiples", self.multiples),
                             ("recovery_haircut", self.recovery_haircut)):
            ordered = [column[c] for c in _CATEGORIES if c in column]
            if any(b > a for a, b in zip(ordered, ordered[1:], strict=False)):
                raise ValueError(f"{name} must not increase down the rating scale")
        for name, keys in (("recovery_haircut", list(self.recovery_haircut)),
                           ("recovery_lag_months", list(self.recovery_lag_months))):
            extra = [k for k in keys if k not in self.multiples]
            if extra:
                raise ValueError(f"{name}: categories {extra} have no multiple")
        if BASE_TIMING in self.loss_timing:
            raise ValueError(f"loss_timing: {BASE_TIMING!r} is the model's own timing, "
                             "always run; name the curve otherwise")
        return self

    def multiple(self, rating: str) -> float:
        """The CNL multiple of a rating's category."""
        category = rating_category(rating)
        if category not in self.multiples:
            raise InputError("rating stress table", f"no multiple for {category} (rating "
                             f"{rating}); the table ({self.source}) has "
                             f"{', '.join(self.multiples)}")
        return self.multiples[category]

    def recovery(self, rating: str, base: StressBase) -> tuple[float, int]:
        """Loss severity and recovery lag of a rating's runs.

        Severity ``1 - (1 - base severity) x (1 - haircut)``: the haircut is a share of the
        base recovery. The lag is the category's, else the model's.
        """
        category = rating_category(rating)
        haircut = self.recovery_haircut.get(category, 0.0)
        severity = 1.0 - (1.0 - base.severity) * (1.0 - haircut)
        return severity, self.recovery_lag_months.get(category, base.recovery_lag)


def load_rating_stress_table(path: str | Path) -> RatingStressTable:
    """Read and validate a rating stress table YAML (errors name the file and the field)."""
    raw = read_yaml_file(Path(path))
    if not isinstance(raw, dict):
        raise InputError(str(path), "expected a mapping (source, multiples, loss_timing, "
                                    "abs_speeds)")
    try:
        return RatingStressTable.model_validate(raw)
    except ValidationError as exc:
        raise InputError(str(path), pydantic_problems(exc)) from None


def builtin_rating_stress_table(name: str = "cps2019a") -> RatingStressTable:
    """A built-in table by name (:data:`BUILTIN_TABLES`)."""
    if name not in BUILTIN_TABLES:
        raise InputError("rating stress table", f"no built-in table {name!r}; the built-in "
                         f"ones are {', '.join(BUILTIN_TABLES)}")
    ref = resources.files("simulation").joinpath("data", BUILTIN_TABLES[name])
    with resources.as_file(ref) as path:
        return load_rating_stress_table(path)


def rating_stress_table(spec: str) -> RatingStressTable:
    """A built-in table by name, else the table file at path ``spec``."""
    if spec in BUILTIN_TABLES:
        return builtin_rating_stress_table(spec)
    if not Path(spec).is_file():
        raise InputError(spec, f"no such rating stress table file (built-in names: "
                               f"{', '.join(BUILTIN_TABLES)})")
    return load_rating_stress_table(spec)


def table_for_pool(base_cnl: float) -> RatingStressTable:
    """The built-in table whose presale expected CNL is nearest the pool's base CNL.

    Nearest in ratio (``|ln(base / presale midpoint)|``): a prime pool (about 2% CNL) gets
    the CarMax 2019-2 prime multiples, a subprime pool (about 18%) the CPS 2019-A ones.
    """
    tables = [builtin_rating_stress_table(name) for name in BUILTIN_TABLES]
    return min(tables, key=lambda t: abs(np.log(max(base_cnl, 1e-12)
                                                 / float(np.mean(t.presale_expected_cnl)))))


@dataclass(frozen=True)
class StressBase:
    """The base case of the stress runs, from the model's expected projection.

    Attributes
    ----------
    cnl : float
        Base-case CNL (decimal of the initial pool).
    severity : float
        Loss given charge-off, 1 - recoveries / charged-off principal.
    chargeoff_months, recovery_lag : int
        From the model.
    default_shape : numpy.ndarray
        ``(n_periods,)`` monthly default rate (first missed payments over the expected pool
        balance) of the base case: the model's own timing.
    abs_speed : float or None
        The model's ABS speed (None when it uses CPR or an SMM curve).
    """

    cnl: float
    severity: float
    chargeoff_months: int
    recovery_lag: int
    default_shape: np.ndarray
    abs_speed: float | None


def stress_base(tape: LoanTape, model: CollateralModel,
                inputs: CollateralInputs | None = None) -> StressBase:
    """Base case of the stress runs (see :class:`StressBase`).

    ``inputs``: the tape's collateral already prepared and calibrated with ``model``
    (``calibrate(prepare_collateral(tape, model))[0]``), so as not to prepare it again.
    """
    if inputs is None:
        inputs, _ = calibrate(prepare_collateral(tape, model))
    base = expected_flows(inputs).flows
    charged = base[:, _CHARGED_OFF]
    recovered = base[:, _RECOVERIES]
    co = model.delinquency.chargeoff_months
    first_missed = np.roll(charged, -(co - 1))
    first_missed[len(first_missed) - (co - 1):] = 0.0
    balance = np.concatenate([[inputs.initial_balance], base[:-1, _ENDING]])
    shape = np.divide(first_missed, balance, out=np.zeros_like(balance), where=balance > 0)
    return StressBase(
        cnl=float((charged.sum() - recovered.sum()) / inputs.initial_balance),
        severity=float(1.0 - recovered.sum() / max(charged.sum(), 1e-300)),
        chargeoff_months=co, recovery_lag=model.recovery.lag_months, default_shape=shape,
        abs_speed=model.prepayment.abs_speed)


class StressFlows(NamedTuple):
    """Pool flows of one stress run, as :func:`~simulation.waterfall.run_waterfall` takes them."""

    flows: np.ndarray
    """``(..., n_periods, 11)`` in :data:`~simulation.collateral.FIELD_NAMES` order, USD."""
    cnl: float | np.ndarray
    """The pool CNL reached (share of the cut-off balance)."""
    later_months_balance: np.ndarray
    """``(..., n_periods)`` USD: see :func:`~simulation.deterministic.waterfall_inputs`."""


class StressScenario:
    """One loss timing and prepayment speed: pool flows at any target CNL.

    The CNL of the projection with the default shape scaled by ``k`` (at the base recovery) is
    tabulated on a log grid of ``k`` once; :meth:`flows_at_cnl` interpolates the scale for a
    target and projects once. ``high_apr_prepays_first`` compresses the pool's interest as in
    :func:`compressed_interest`.
    """

    def __init__(self, tape: LoanTape, base: StressBase, timing: str,
                 curve: TimingCurve | None, abs_speed: float, *,
                 high_apr_prepays_first: bool = False) -> None:
        self.tape, self.base, self.timing, self.abs_speed = tape, base, timing, abs_speed
        self.high_apr_prepays_first = high_apr_prepays_first
        if curve is None:
            self.shape = base.default_shape
        else:
            no_loss = self._project(np.zeros(1))
            n = len(no_loss)
            pool = np.concatenate([[tape.total_balance], no_loss["ending_balance"].to_numpy()])
            self.shape = np.divide(curve.increments(n) * tape.total_balance, pool[:-1],
                                   out=np.zeros(n), where=pool[:-1] > 0)
        cnl = [self._cnl(float(np.exp(lk))) for lk in _LOG_SCALES]
        self._cnl_grid = np.maximum.accumulate(np.asarray(cnl))
        self.max_cnl = float(self._cnl_grid[-1])

    def _project(self, mdr: np.ndarray, recovery: tuple[float, int] | None = None,
                 abs_speed: float | None = None) -> pd.DataFrame:
        severity, lag = recovery or (self.base.severity, self.base.recovery_lag)
        return project_deterministic(
            self.tape, mdr=np.minimum(mdr, 1.0),
            abs_speed=self.abs_speed if abs_speed is None else abs_speed,
            severity=severity, recovery_lag=lag, chargeoff_months=self.base.chargeoff_months)

    def _cnl(self, scale: float) -> float:
        return float(self._project(self.shape * scale)["cnl"].iloc[-1])

    def _scale_for(self, target: float) -> float:
        """Default-shape scale whose projection (base recovery) loses ``target``.

        Read off the tabulated curve in log CNL against log scale (close to linear: CNL is
        about proportional to the scale until prepayment and the one default per loan bend
        it), then corrected once with the curve's local slope. Beyond the most this scenario
        can lose (every default rate at 100%) it is the scale of that maximum.
        """
        ok = np.concatenate([[True], np.diff(self._cnl_grid) > 0.0]) & (self._cnl_grid > 0.0)
        log_cnl, log_k = np.log(self._cnl_grid[ok]), _LOG_SCALES[ok]
        log_target = np.log(max(target, 1e-300))
        guess = float(np.interp(log_target, log_cnl, log_k))
        reached = self._cnl(float(np.exp(guess)))
        if reached > 0.0 and log_cnl[0] < log_target < log_cnl[-1]:
            j = int(np.clip(np.searchsorted(log_cnl, log_target), 1, len(log_cnl) - 1))
            slope = (log_cnl[j] - log_cnl[j - 1]) / (log_k[j] - log_k[j - 1])
            guess += (log_target - np.log(reached)) / slope
        return float(np.exp(guess))

    def flows_at_cnl(self, target: float,
                     recovery: tuple[float, int] | None = None) -> StressFlows:
        """Pool flows ``(n_periods, 11)`` at CNL ``target``, the CNL reached, later months.

        ``recovery``: the run's (severity, recovery lag); the defaults are those that lose
        ``target`` at the base recovery, so a harsher recovery loses more than ``target``.
        """
        mdr = self.shape * self._scale_for(target)
        flows = self._project(mdr, recovery)
        out, later_months = waterfall_inputs(flows)
        if self.high_apr_prepays_first:
            no_prepay = self._project(mdr, recovery, abs_speed=0.0)["ending_balance"].to_numpy()
            with_prepay = out[:, _ENDING]
            start = np.concatenate([[1.0], np.divide(with_prepay, no_prepay,
                                                     out=np.zeros_like(no_prepay),
                                                     where=no_prepay > 0)])[:-1]
            out[:, _INTEREST] = compressed_interest(out[:, _INTEREST], 1.0 - start,
                                                    self.tape.rate, self.tape.balance)
        return StressFlows(out, float(flows["cnl"].iloc[-1]), later_months)


def compressed_interest(interest: np.ndarray, prepaid_share: np.ndarray, rates: np.ndarray,
                        balances: np.ndarray) -> np.ndarray:
    """Interest by period when prepayments come from the highest-APR loans first.

    Parameters
    ----------
    interest : numpy.ndarray
        ``(n_periods,)`` interest collected with prepayments spread evenly over the loans.
    prepaid_share : numpy.ndarray
        ``(n_periods,)`` share of the pool that prepayment has taken by the start of each
        period (1 - balance with prepayments / balance without).
    rates, balances : numpy.ndarray
        ``(n_loans,)`` APR (annual decimal) and cut-off balance of each loan.

    Returns
    -------
    numpy.ndarray
        ``interest x WAC_left / WAC``: ``WAC`` is the cut-off balance-weighted APR and
        ``WAC_left`` that of the lowest-APR loans making up the ``1 - prepaid_share`` of the
        pool left (the loan at the boundary in part).

    Notes
    -----
    The loans left keep their cut-off balance weights (amortization differences between high-
    and low-APR loans are ignored). This is the WAC compression of S&P's "EMEA ABS WAC
    Compression and Prepayment Loss Model" (2023), see ``docs/rating_stress.md``.
    """
    order = np.argsort(rates, kind="stable")  # lowest APR first
    weight = np.asarray(balances, dtype=float)[order] / float(np.sum(balances))
    rate = np.asarray(rates, dtype=float)[order]
    wac = float(np.sum(weight * rate))
    if wac <= 0.0:
        return np.asarray(interest, dtype=float).copy()
    cum_weight = np.concatenate([[0.0], np.cumsum(weight)])
    cum_interest = np.concatenate([[0.0], np.cumsum(weight * rate)])
    left = np.clip(1.0 - np.asarray(prepaid_share, dtype=float), 0.0, 1.0)
    # interest-weighted share of the lowest-APR loans up to ``left`` of the pool (linear in
    # the boundary loan), over ``left``: the WAC of what is left
    rate_mass = np.interp(left, cum_weight, cum_interest)
    wac_left = np.divide(rate_mass, left, out=np.zeros_like(left), where=left > 0)
    return np.asarray(interest, dtype=float) * wac_left / wac


def _scenarios(tape: LoanTape, base: StressBase,
               table: RatingStressTable) -> list[StressScenario]:
    curves: dict[str, TimingCurve | None] = {BASE_TIMING: None, **table.loss_timing}
    speeds = list(table.abs_speeds) or ([base.abs_speed] if base.abs_speed is not None
                                        else [0.015])
    return [StressScenario(tape, base, name, curve, speed,
                           high_apr_prepays_first=table.high_apr_prepays_first)
            for name, curve in curves.items() for speed in speeds]


def _paid_in_full(program: WaterfallProgram, runs: StressFlows) -> np.ndarray:
    """``(n_runs, n_classes)`` True where the class is paid in full (principal and interest)."""
    tf = run_waterfall(program, runs.flows, later_months_balance=runs.later_months_balance)
    short = (tf.principal_loss + tf.interest_shortfall) / program.original_balance[None, :]
    return np.asarray(short <= PAID_IN_FULL_TOLERANCE)


def rating_stress_runs(deal: Deal, tape: LoanTape, model: CollateralModel,
                       targets: dict[str, str],
                       table: RatingStressTable | None = None, *,
                       base: StressBase | None = None) -> pd.DataFrame:
    """Pass/fail of each class in every stress run of its target rating.

    ``table``: the built-in one nearest the pool's base CNL when omitted
    (:func:`table_for_pool`); ``base``: :func:`stress_base` of ``tape`` and ``model`` if
    already computed.

    Returns
    -------
    pandas.DataFrame
        One row per (class, timing, abs_speed): ``rating``, ``multiple``, ``severity`` and
        ``recovery_lag`` of the rating's runs, ``target_cnl`` (multiple x base CNL),
        ``pool_cnl`` (reached: above the target when the rating cuts recoveries),
        ``principal_loss`` and ``interest_shortfall`` (shares of the class), ``passes``.
    """
    base = base or stress_base(tape, model)
    table = table or table_for_pool(base.cnl)
    program = compile_deal(deal, tape)
    rows = []
    for scenario in _scenarios(tape, base, table):
        for c, name in enumerate(program.classes):
            rating = targets[name]
            target = table.multiple(rating) * base.cnl
            severity, lag = table.recovery(rating, base)
            flows, reached, later_months = scenario.flows_at_cnl(target, (severity, lag))
            tf = run_waterfall(program, flows[None], later_months_balance=later_months)
            loss = float(tf.principal_loss[0, c] / program.original_balance[c])
            short = float(tf.interest_shortfall[0, c] / program.original_balance[c])
            rows.append({"class": name, "rating": rating, "timing": scenario.timing,
                         "abs_speed": scenario.abs_speed, "multiple": table.multiple(rating),
                         "severity": severity, "recovery_lag": lag,
                         "base_cnl": base.cnl, "target_cnl": target, "pool_cnl": reached,
                         "principal_loss": loss, "interest_shortfall": short,
                         "passes": loss + short <= PAID_IN_FULL_TOLERANCE})
    return pd.DataFrame(rows)


def breakeven_table(deal: Deal, tape: LoanTape, model: CollateralModel,
                    table: RatingStressTable | None = None, *,
                    tol: float = 2e-3, base: StressBase | None = None) -> pd.DataFrame:
    """Break-even CNL of each class under each timing curve and prepayment speed.

    The largest CNL at which the class is paid in full (bisection on the multiple of the base
    CNL, :func:`simulation.metrics.breakeven_multiple`), with the gross defaults it implies
    (CNL / severity), as presales print "break-even cumulative gross losses". Break-evens are
    at the base recovery (a loss level, whatever the rating); excess-spread compression
    applies when the table turns it on. ``table`` and ``base`` as in
    :func:`rating_stress_runs`.

    Returns
    -------
    pandas.DataFrame
        One row per (class, timing, abs_speed): ``breakeven_cnl``, ``breakeven_multiple``,
        ``breakeven_gross_loss``, ``base_cnl``, ``bracketed`` (False when the class is paid
        even at the most this scenario can lose).
    """
    base = base or stress_base(tape, model)
    table = table or table_for_pool(base.cnl)
    program = compile_deal(deal, tape)
    rows = []
    for scenario in _scenarios(tape, base, table):
        max_multiple = scenario.max_cnl / base.cnl * (1 - 1e-9)
        for c, name in enumerate(program.classes):
            def short(multiple: float, c: int = c,
                      scenario: StressScenario = scenario) -> float:
                run = scenario.flows_at_cnl(multiple * base.cnl)
                return 0.0 if _paid_in_full(program, run)[0, c] else 1.0

            result = breakeven_multiple(short, hi=2.0, tol=tol, max_multiple=max_multiple)
            rows.append({"class": name, "timing": scenario.timing,
                         "abs_speed": scenario.abs_speed,
                         "breakeven_multiple": result.multiple,
                         "breakeven_cnl": result.multiple * base.cnl,
                         "breakeven_gross_loss": result.multiple * base.cnl / base.severity,
                         "base_cnl": base.cnl, "bracketed": result.bracketed})
    return pd.DataFrame(rows)


def stressed_flows(tape: LoanTape, base: StressBase, ratings: Sequence[str],
                   table: RatingStressTable) -> dict[str, StressFlows]:
    """Pool flows of every stress run by rating category (flows ``(n_runs, T, 11)``).

    The flows do not depend on the capital structure, so a sizing search runs each candidate
    structure's waterfall on them (:func:`simulation.sizing.size_deal_to_stress`). ``T``
    depends on the category's recovery lag.
    """
    scenarios = _scenarios(tape, base, table)
    out: dict[str, StressFlows] = {}
    for rating in ratings:
        category = rating_category(rating)
        if category not in out:
            target = table.multiple(rating) * base.cnl
            recovery = table.recovery(rating, base)
            runs = [s.flows_at_cnl(target, recovery) for s in scenarios]
            out[category] = StressFlows(*(np.stack(field) for field in zip(*runs, strict=True)))
    return out
