"""Collateral assumptions: a YAML file validated into a :class:`CollateralModel`.

The pydantic model is the validating edge; :mod:`simulation.collateral` turns it, together with
a :class:`~portfolio.tape.LoanTape`, into the flat arrays the kernels read. Every default is
documented in ``docs/methodology.md`` with its source.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, model_validator

from portfolio._yaml import read_yaml_file
from portfolio.errors import InputError
from portfolio.schema import MAX_MONTH, InputModel, pydantic_problems
from simulation.lognormal_cnl import cnl_sd_for_aaa_level

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Multiplier = Annotated[float, Field(gt=0.0, le=100.0)]
Sensitivity = Annotated[float, Field(ge=-50.0, le=50.0)]
"""Elasticity of a log-multiplier to a macro or rate move in decimal units (-4.0: 1 point of
unemployment more cuts prepayments by about 4%); bounded so that exp() stays finite."""
Coefficient = Annotated[float, Field(ge=-10.0, le=10.0)]
"""Scorecard coefficient: change of the log default multiplier per unit of its driver."""
Age = Annotated[int, Field(ge=0, le=MAX_MONTH)]


_Strict = InputModel


class Curve(_Strict):
    """Piecewise-linear curve of monthly values by loan age (months); flat beyond the ends."""

    ages: list[Age]
    values: list[Fraction]

    @model_validator(mode="after")
    def _check(self) -> Curve:
        if len(self.ages) != len(self.values) or not self.ages:
            raise ValueError("ages and values must be non-empty lists of the same length")
        if any(b <= a for a, b in zip(self.ages, self.ages[1:], strict=False)):
            raise ValueError("ages must be strictly increasing")
        return self


class LossTiming(_Strict):
    """Cumulative share of lifetime losses by loan age (static-pool loss timing)."""

    ages: list[Annotated[int, Field(gt=0, le=MAX_MONTH)]]
    cumulative: list[Fraction]

    @model_validator(mode="after")
    def _check(self) -> LossTiming:
        if len(self.ages) != len(self.cumulative) or not self.ages:
            raise ValueError("ages and cumulative must be non-empty lists of the same length")
        if any(b <= a for a, b in zip(self.ages, self.ages[1:], strict=False)):
            raise ValueError("ages must be strictly increasing")
        if any(b < a for a, b in zip(self.cumulative, self.cumulative[1:], strict=False)):
            raise ValueError("cumulative must be non-decreasing")
        if abs(self.cumulative[-1] - 1.0) > 1e-9:
            raise ValueError(f"cumulative must end at 1.0, got {self.cumulative[-1]}")
        return self


class Scorecard(_Strict):
    """Log-linear loan-level default multiplier.

    ``ln m = fico * (FICO - 700)/100 + ltv * (LTV - 1) + pti * (PTI - 0.10)/0.10
    + term * (original_term - 60)/12 + used * [used] + apr * (APR - 0.10)/0.01``.
    Unknown (NaN) inputs contribute 0. With ``normalise`` the balance-weighted mean multiplier
    of the pool is 1, so the base curve keeps its meaning as the pool-average hazard.
    """

    fico: Coefficient = -1.0
    ltv: Coefficient = 1.0
    pti: Coefficient = 0.15
    term: Coefficient = 0.10
    used: Coefficient = 0.25
    apr: Coefficient = 0.03
    normalise: bool = True


class DefaultAssumptions(_Strict):
    """Default (first missed payment that rolls to charge-off) hazard assumptions."""

    expected_cnl: Annotated[float, Field(gt=0.0, lt=1.0)] | None = None
    loss_timing: LossTiming | None = None
    hazard_curves: dict[str, Curve] | None = None
    segment_multipliers: dict[str, Multiplier] = {}
    scorecard: Scorecard = Scorecard()
    unemployment_elasticity: Sensitivity = 12.0

    @model_validator(mode="after")
    def _check(self) -> DefaultAssumptions:
        if (self.expected_cnl is None) == (self.hazard_curves is None):
            raise ValueError("give exactly one of expected_cnl (with loss_timing) or hazard_curves")
        if self.expected_cnl is not None and self.loss_timing is None:
            raise ValueError("expected_cnl needs a loss_timing curve")
        return self


class DelinquencyAssumptions(_Strict):
    """Delinquency pipeline from first missed payment to charge-off."""

    chargeoff_months: Annotated[int, Field(ge=1, le=12)] = 4
    cure_probability: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0


class PrepaymentAssumptions(_Strict):
    """Voluntary prepayment: exactly one of ABS speed, CPR, or an SMM curve by loan age."""

    abs_speed: Annotated[float, Field(ge=0.0, lt=0.2)] | None = None
    cpr: Annotated[float, Field(ge=0.0, lt=1.0)] | None = None
    smm_curve: Curve | None = None
    segment_multipliers: dict[str, Multiplier] = {}
    rate_incentive: Sensitivity = 5.0
    unemployment_elasticity: Sensitivity = -4.0

    @model_validator(mode="after")
    def _check(self) -> PrepaymentAssumptions:
        given = [x is not None for x in (self.abs_speed, self.cpr, self.smm_curve)]
        if sum(given) != 1:
            raise ValueError("give exactly one of abs_speed, cpr or smm_curve")
        return self


class Depreciation(_Strict):
    """Vehicle value as a share of its new value: first-year loss, then a constant annual rate."""

    first_year: Fraction = 0.20
    annual: Fraction = 0.15


class RecoveryAssumptions(_Strict):
    """Recovery on charged-off loans.

    ``vehicle``: proceeds = min(balance, value at charge-off x used-car index x
    wholesale_ratio x repossession_rate x (1 - liquidation_cost)), where the value is the
    vehicle value at origination carried forward on the depreciation curve; ``severity``:
    proceeds = balance x (1 - severity).
    """

    method: Literal["vehicle", "severity"] = "vehicle"
    severity: Fraction = 0.5
    liquidation_cost: Fraction = 0.10
    wholesale_ratio: Fraction = 0.75
    repossession_rate: Fraction = 0.80
    lag_months: Annotated[int, Field(ge=0, le=24)] = 3
    depreciation: Depreciation = Depreciation()
    used_vehicle_age_months: Annotated[int, Field(ge=0, le=360)] = 36
    default_ltv: Annotated[float, Field(gt=0.0, le=10.0)] = 1.0


class FactorAssumptions(_Strict):
    """Per-path systematic credit factor that multiplies the default hazard.

    ``lognormal`` multiplies the hazards by a mean-one lognormal; ``lognormal_cnl`` makes the
    pool CNL itself lognormal with mean ``default.expected_cnl`` and sd ``cnl_sd`` (Moody's
    form); ``vasicek`` is the Gaussian one-factor model with asset correlation ``rho``.
    ``cnl_aaa_level`` (a published Aaa loss level) gives ``cnl_sd`` instead: the sd at which a
    class attached there has the Aaa idealized EL at ``cnl_aaa_wal_years``
    (:func:`simulation.lognormal_cnl.cnl_sd_for_aaa_level`).
    """

    type: Literal["none", "lognormal", "lognormal_cnl", "vasicek"] = "lognormal"
    cnl_sd: Annotated[float, Field(gt=0.0, lt=1.0)] | None = None
    cnl_aaa_level: Annotated[float, Field(gt=0.0, lt=1.0)] | None = None
    cnl_aaa_wal_years: Annotated[float, Field(ge=1.0, le=10.0)] = 2.0
    multiplier_cv: Annotated[float, Field(gt=0.0, le=10.0)] | None = None
    rho: Annotated[float, Field(gt=0.0, lt=1.0)] | None = None

    @model_validator(mode="after")
    def _check(self) -> FactorAssumptions:
        if self.type == "lognormal" and (self.cnl_sd is None) == (self.multiplier_cv is None):
            raise ValueError("lognormal factor needs exactly one of cnl_sd or multiplier_cv")
        if self.type == "vasicek" and self.rho is None:
            raise ValueError("vasicek factor needs rho (asset correlation)")
        if self.type == "lognormal_cnl" and self.cnl_sd is None:
            raise ValueError("lognormal_cnl factor needs cnl_sd")
        if self.type == "lognormal_cnl" and self.multiplier_cv is not None:
            raise ValueError("multiplier_cv applies to a lognormal factor, not lognormal_cnl")
        if self.type not in ("lognormal", "lognormal_cnl") and (self.cnl_sd
                                                                 or self.multiplier_cv):
            raise ValueError(
                f"cnl_sd and multiplier_cv apply to a lognormal factor, not {self.type}"
            )
        if self.type != "vasicek" and self.rho is not None:
            raise ValueError(f"rho applies to a vasicek factor, not {self.type}")
        if self.cnl_aaa_level is not None and self.type not in ("lognormal", "lognormal_cnl"):
            raise ValueError(f"cnl_aaa_level applies to a lognormal factor, not {self.type}")
        if self.cnl_aaa_level is not None and self.cnl_sd is None:
            raise ValueError("cnl_aaa_level needs default.expected_cnl (it gives cnl_sd)")
        return self


ROLL_STATES: tuple[str, ...] = ("current", "30", "60", "90")
"""Roll-rate states a loan can be in at a month end (payments behind: 0, 1, 2, 3)."""
ROLL_TARGETS: tuple[str, ...] = (*ROLL_STATES, "chargeoff", "prepaid")
"""Columns of a transition row: the four states, charge-off (a fourth missed payment, 120+
days) and prepayment in full."""
ROW_SUM_TOLERANCE = 1e-6
MSG_ROW_SUM = "row {state!r} of age band {band} sums to {total:.8f}, not 1"
MSG_IMPOSSIBLE = ("row {state!r} of age band {band}: a loan {behind} payment(s) behind can "
                  "only move to current..{reach} or prepay, but {target!r} has {value:g}")

TransitionRow = Annotated[list[Fraction], Field(min_length=6, max_length=6)]


class RollRateAssumptions(_Strict):
    """Monthly delinquency transition matrices by segment and loan-age band.

    ``age_bands`` are the first loan ages (months) of the bands, starting at 1; the last band
    runs on. ``matrices[segment][band]`` is a 4 x 6 list: one row per state in
    :data:`ROLL_STATES`, one column per target in :data:`ROLL_TARGETS`; each row sums to 1. A
    loan ``s`` payments behind moves to ``k <= s`` (a cure, ``k = 0``, or a partial catch-up:
    it pays ``s - k + 1`` instalments), stays (``k = s``, pays one), rolls forward (``s + 1``,
    pays none; from 90 that is the charge-off) or prepays in full. Segments as in
    ``default.hazard_curves`` (``all`` is the fallback).
    """

    age_bands: list[Annotated[int, Field(ge=1, le=MAX_MONTH)]]
    matrices: dict[str, list[list[TransitionRow]]]

    @model_validator(mode="after")
    def _check(self) -> RollRateAssumptions:
        bands = self.age_bands
        if not bands or bands[0] != 1:
            raise ValueError("age_bands must be a non-empty list of first ages starting at 1")
        if any(b <= a for a, b in zip(bands, bands[1:], strict=False)):
            raise ValueError("age_bands must be strictly increasing")
        if not self.matrices:
            raise ValueError("matrices needs at least one segment (e.g. 'all')")
        for segment, by_band in self.matrices.items():
            if len(by_band) != len(bands):
                raise ValueError(f"segment {segment!r} has {len(by_band)} matrices for "
                                 f"{len(bands)} age bands")
            for band, matrix in zip(bands, by_band, strict=True):
                if len(matrix) != len(ROLL_STATES):
                    raise ValueError(f"segment {segment!r} age band {band}: expected "
                                     f"{len(ROLL_STATES)} rows {ROLL_STATES}, got {len(matrix)}")
                for behind, row in enumerate(matrix):
                    state = ROLL_STATES[behind]
                    total = sum(row)
                    if abs(total - 1.0) > ROW_SUM_TOLERANCE:
                        raise ValueError(f"segment {segment!r}: " + MSG_ROW_SUM.format(
                            state=state, band=band, total=total))
                    for k in range(behind + 2, len(ROLL_STATES) + 1):
                        if row[k] > 0.0:
                            raise ValueError(f"segment {segment!r}: " + MSG_IMPOSSIBLE.format(
                                state=state, band=band, behind=behind,
                                reach=ROLL_TARGETS[behind + 1], target=ROLL_TARGETS[k],
                                value=row[k]))
        return self


class MacroLevels(_Strict):
    """Macro levels at the cut-off date, from which scenario paths are measured."""

    unemployment: Fraction = 0.042
    market_rate: Fraction = 0.07


class CollateralModel(_Strict):
    """All collateral assumptions of a run.

    ``credit_model`` chooses how loans default: ``competing_risk`` (default and prepayment
    hazards, the delinquency pipeline of ``delinquency``) or ``roll_rate`` (monthly
    transitions between delinquency states, ``roll_rate``; the default section's scorecard,
    segment multipliers and unemployment elasticity then move the roll-forward probabilities).
    """

    name: str = "unnamed"
    credit_model: Literal["competing_risk", "roll_rate"] = "competing_risk"
    default: DefaultAssumptions
    delinquency: DelinquencyAssumptions = DelinquencyAssumptions()
    prepayment: PrepaymentAssumptions
    recovery: RecoveryAssumptions = RecoveryAssumptions()
    factor: FactorAssumptions = FactorAssumptions(type="none")
    macro: MacroLevels = MacroLevels()
    roll_rate: RollRateAssumptions | None = None

    @model_validator(mode="before")
    @classmethod
    def _cnl_sd_from_aaa_level(cls, raw: object) -> object:
        """Fill ``factor.cnl_sd`` from ``factor.cnl_aaa_level`` and ``default.expected_cnl``."""
        if not isinstance(raw, dict):
            return raw
        factor, default = raw.get("factor"), raw.get("default")
        if not (isinstance(factor, dict) and isinstance(default, dict)):
            return raw
        level, cnl = _number(factor.get("cnl_aaa_level")), _number(default.get("expected_cnl"))
        wal = _number(factor.get("cnl_aaa_wal_years", 2.0))
        lognormal = factor.get("type", "lognormal") in ("lognormal", "lognormal_cnl")
        if (level is None or cnl is None or wal is None or not lognormal
                or not 0.0 < cnl < 1.0 or not 1.0 <= wal <= 10.0):
            return raw  # the field validation reports what is wrong
        try:
            derived = cnl_sd_for_aaa_level(cnl, level, wal)
        except InputError as exc:
            raise ValueError(str(exc)) from None
        given = factor.get("cnl_sd")
        if given is not None and abs((_number(given) or math.inf) - derived) > 1e-6:
            raise ValueError(f"factor.cnl_sd {given} disagrees with factor.cnl_aaa_level "
                             f"{level} (which gives cnl_sd {derived:.6f}): give one of them")
        return {**raw, "factor": {**factor, "cnl_sd": derived}}

    @model_validator(mode="after")
    def _check(self) -> CollateralModel:
        if self.credit_model == "roll_rate":
            if self.roll_rate is None:
                raise ValueError("credit_model roll_rate needs a roll_rate section with the "
                                 "transition matrices (autoabs calibrate writes them from a "
                                 "loan-level panel); use credit_model competing_risk without")
            if self.delinquency.chargeoff_months != 4:
                raise ValueError("credit_model roll_rate charges off at 120+ days: "
                                 "delinquency.chargeoff_months must be 4, got "
                                 f"{self.delinquency.chargeoff_months}")
        if self.factor.cnl_sd is not None and self.default.expected_cnl is None:
            raise ValueError("factor.cnl_sd needs default.expected_cnl")
        return self


def _number(value: object) -> float | None:
    """``value`` as a float when it is a plain number, else None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def load_model(path: str | Path) -> CollateralModel:
    """Read and validate an assumptions YAML file.

    Raises
    ------
    InputError
        Naming the file and every invalid field (dotted path) with the problem.
    """
    path = Path(path)
    return model_from_dict(read_yaml_file(path), source=str(path))


def model_from_dict(raw: object, source: str = "<assumptions>") -> CollateralModel:
    """Validate a parsed assumptions mapping; errors name ``source`` and each field."""
    if not isinstance(raw, dict):
        raise InputError(source, "expected a mapping of assumption sections at the top level")
    try:
        return CollateralModel.model_validate(raw)
    except ValidationError as exc:
        raise InputError(source, pydantic_problems(exc)) from None
