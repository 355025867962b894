"""Scenario files: a YAML file (or a library name) validated into a :class:`Scenario`.

A scenario gives monthly paths from the cut-off (month 0) as sparse knots ``{month: value}`` or
as a list of monthly values, interpolated linearly and held flat after the last knot:

- ``policy_rate``: overnight policy rate (fed funds), the mean path of the short rate;
- ``index_rate``: the note index (SOFR-like 1M/3M term rate);
- ``market_auto_rate``: market auto-loan APR that drives the prepayment rate incentive;
- ``unemployment``: unemployment rate;
- ``used_car_index``: used-car price index relative to the cut-off (1.0 at month 0).

Rates are annual decimals; fields named ``*_bp`` are basis points. A file may start from
another scenario (``base: baseline`` or a relative path): its own top-level fields replace the
base's, series inside ``paths`` one by one. ``rate_shock`` shifts every rate by a BCBS-shaped
amount by tenor (:class:`RateShock`). :func:`scenario_paths` turns a scenario into
deterministic monthly arrays, optionally aligned to the cut-off levels of an assumptions file.
See ``docs/scenarios.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from portfolio._yaml import read_yaml_file
from portfolio.errors import InputError, Problem
from portfolio.schema import MAX_MONTH, InputModel, pydantic_problems
from simulation.model import MacroLevels

SERIES = ("policy_rate", "index_rate", "market_auto_rate", "unemployment", "used_car_index")
"""Path names, in the order of :class:`PathSet`."""

_BOUNDS: dict[str, tuple[float, float, str]] = {
    "policy_rate": (-0.10, 1.0, "between -0.10 and 1.0 (annual decimal)"),
    "index_rate": (-0.10, 1.0, "between -0.10 and 1.0 (annual decimal)"),
    "market_auto_rate": (-0.10, 1.0, "between -0.10 and 1.0 (annual decimal)"),
    "unemployment": (0.0, 1.0, "between 0 and 1 (decimal)"),
    "used_car_index": (1e-300, 100.0, "> 0 (1.0 at the cut-off)"),
}

Rate = Annotated[float, Field(ge=-0.10, le=1.0)]
Correlation = Annotated[float, Field(ge=-1.0, le=1.0)]


def _as_knots(value: object) -> object:
    """Lists of monthly values become ``{0: v0, 1: v1, ...}``; anything else passes on."""
    if isinstance(value, list | tuple):
        return dict(enumerate(value))
    return value


Knots = Annotated[dict[int, float], BeforeValidator(_as_knots)]
"""Sparse monthly knots ``{month: value}`` (or a list of monthly values from month 0)."""


_Strict = InputModel


class PathSet(_Strict):
    """Monthly scenario paths as knots; every series is required once the base is resolved."""

    policy_rate: Knots | None = None
    index_rate: Knots | None = None
    market_auto_rate: Knots | None = None
    unemployment: Knots | None = None
    used_car_index: Knots | None = None

    @field_validator(*SERIES)
    @classmethod
    def _check_knots(
        cls, knots: dict[int, float] | None, info: ValidationInfo
    ) -> dict[int, float] | None:
        if knots is None:
            return None
        months = list(knots)
        if not months:
            raise ValueError("needs at least the month-0 value")
        if months[0] != 0:
            raise ValueError(f"the first knot must be month 0 (the cut-off), got month {months[0]}")
        for a, b in zip(months, months[1:], strict=False):
            if b <= a:
                raise ValueError(f"months must be strictly increasing, got month {b} after {a}")
        if months[-1] > MAX_MONTH:
            raise ValueError(f"months must be at most {MAX_MONTH}, got {months[-1]}")
        name = str(info.field_name)
        lo, hi, expected = _BOUNDS[name]
        for month, value in knots.items():
            if not (lo <= value <= hi) or not np.isfinite(value):
                raise ValueError(f"month {month}: must be {expected}, got {value!r}")
        if name == "used_car_index" and abs(knots[0] - 1.0) > 1e-12:
            raise ValueError(f"month 0 must be 1.0 (the index is relative to the cut-off), "
                             f"got {knots[0]!r}")
        return knots


class ZeroCurve(_Strict):
    """Zero-coupon curve at the cut-off: continuously compounded zero rates by tenor.

    Linear in tenor between the given tenors, flat outside them.
    """

    tenors_years: list[Annotated[float, Field(gt=0.0, le=100.0)]]
    zero_rates: list[Rate]

    @model_validator(mode="after")
    def _check(self) -> ZeroCurve:
        if len(self.tenors_years) != len(self.zero_rates) or not self.tenors_years:
            raise ValueError("tenors_years and zero_rates must be non-empty lists of one length")
        t = self.tenors_years
        if any(b <= a for a, b in zip(t, t[1:], strict=False)):
            raise ValueError("tenors_years must be strictly increasing")
        return self

    def zero_rate(self, tenor_years: np.ndarray) -> np.ndarray:
        """Zero rate at the given tenors (years), annual decimal, continuous compounding."""
        return np.asarray(np.interp(tenor_years, self.tenors_years, self.zero_rates))


class RateShock(_Strict):
    """Instantaneous rate shock by tenor, in the shape of the BCBS IRRBB standard.

    ``dR(tau) = parallel + short e^{-tau / x} + long (1 - e^{-tau / x})`` with ``x`` the decay
    (4 years in BCBS d368). It shifts the zero curve at each tenor, the overnight paths
    (policy and index rate) by ``dR(0)``, and the market auto-loan rate by
    ``pass_through x dR(market_rate_tenor_years)`` (:class:`Transmission`).
    """

    parallel_bp: Annotated[float, Field(ge=-1000.0, le=1000.0)] = 0.0
    short_bp: Annotated[float, Field(ge=-1000.0, le=1000.0)] = 0.0
    long_bp: Annotated[float, Field(ge=-1000.0, le=1000.0)] = 0.0
    decay_years: Annotated[float, Field(gt=0.0, le=100.0)] = 4.0

    def at(self, tenor_years: np.ndarray | float) -> np.ndarray:
        """Shock at the given tenors (years), annual decimal."""
        tau = np.asarray(tenor_years, dtype=float)
        w = np.exp(-tau / self.decay_years)
        return np.asarray((self.parallel_bp + self.short_bp * w + self.long_bp * (1.0 - w)) * 1e-4)


class Stresses(_Strict):
    """Assumption stresses applied on top of the macro channels (see ``MacroPaths``)."""

    cnl_multiple: Annotated[float, Field(gt=0.0, le=100.0)] = 1.0
    prepay_multiple: Annotated[float, Field(gt=0.0, le=100.0)] = 1.0
    recovery_haircut: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0


class Transmission(_Strict):
    """How rate moves reach the market auto-loan rate.

    A shift ``d`` of the ``market_rate_tenor_years`` zero rate moves the market auto-loan rate
    by ``market_rate_pass_through x d``: in rate shocks through :class:`RateShock`, in the
    stochastic layer through the Hull-White yield at that tenor.
    """

    market_rate_pass_through: Annotated[float, Field(ge=0.0, le=2.0)] = 1.0
    market_rate_tenor_years: Annotated[float, Field(gt=0.0, le=30.0)] = 2.0


class ShortRateSettings(_Strict):
    """Short-rate model of the stochastic layer."""

    model: Literal["hull_white", "vasicek"] = "hull_white"
    mean_reversion: Annotated[float, Field(ge=1e-3, le=10.0)] = 0.10
    volatility: Annotated[float, Field(ge=0.0, le=0.2)] = 0.010
    long_run_rate: Rate | None = None

    @model_validator(mode="after")
    def _check(self) -> ShortRateSettings:
        if self.model == "vasicek" and self.long_run_rate is None:
            raise ValueError("vasicek needs long_run_rate (b in dr = a (b - r) dt + sigma dW)")
        if self.model == "hull_white" and self.long_run_rate is not None:
            raise ValueError("long_run_rate applies to vasicek; hull_white follows the "
                             "scenario's policy_rate path")
        return self


class OUShock(_Strict):
    """Mean-reverting (Ornstein-Uhlenbeck) deviation from a scenario path."""

    volatility: Annotated[float, Field(ge=0.0, le=2.0)]
    mean_reversion: Annotated[float, Field(ge=1e-3, le=20.0)]


class Correlations(_Strict):
    """Correlations of the monthly innovations and of the credit factor.

    ``rate_*`` / ``unemployment_used_car``: between the monthly innovations of the short rate,
    unemployment and (log) used-car index. ``credit_rate`` / ``credit_unemployment``: between the
    per-path credit factor ``z`` and the standardised rate and unemployment deviations at
    ``credit_horizon_months`` (see :mod:`scenarios.stochastic`).
    """

    rate_unemployment: Correlation = -0.3
    rate_used_car: Correlation = 0.0
    unemployment_used_car: Correlation = -0.3
    credit_rate: Correlation = 0.1
    credit_unemployment: Correlation = 0.5
    credit_horizon_months: Annotated[int, Field(ge=1, le=MAX_MONTH)] = 24

    def innovation_matrix(self) -> np.ndarray:
        """3 x 3 correlation of (rate, unemployment, used-car) innovations."""
        return np.array([
            [1.0, self.rate_unemployment, self.rate_used_car],
            [self.rate_unemployment, 1.0, self.unemployment_used_car],
            [self.rate_used_car, self.unemployment_used_car, 1.0],
        ])

    @model_validator(mode="after")
    def _check(self) -> Correlations:
        if np.linalg.eigvalsh(self.innovation_matrix()).min() < 1e-8:
            raise ValueError("rate_unemployment, rate_used_car and unemployment_used_car do not "
                             "form a positive definite correlation matrix")
        return self


class StochasticSettings(_Strict):
    """Parameters of the stochastic layer (defaults are judgemental; see docs/scenarios.md)."""

    short_rate: ShortRateSettings = ShortRateSettings()
    unemployment: OUShock = OUShock(volatility=0.010, mean_reversion=0.5)
    used_car: OUShock = OUShock(volatility=0.08, mean_reversion=0.5)
    correlations: Correlations = Correlations()
    unemployment_floor: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.01


class Scenario(_Strict):
    """A policy-rate and macro scenario (see the module notes and ``docs/scenarios.md``)."""

    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    source: str = ""
    base: str | None = None
    paths: PathSet = PathSet()
    curve: ZeroCurve | None = None
    rate_shock: RateShock = RateShock()
    stresses: Stresses = Stresses()
    transmission: Transmission = Transmission()
    stochastic: StochasticSettings = StochasticSettings()


# --------------------------------------------------------------------------------------------
# Loading


DEFAULT_SCENARIO = "baseline"
"""The one default scenario: of ``autoabs run``, ``stress`` and ``demo`` and of
:func:`autoabs.api.run` and :func:`autoabs.api.stress` (the library's baseline path); their
output and reports name it."""
STRESS_SCENARIOS = (DEFAULT_SCENARIO, "adverse", "severely_adverse")
"""The default scenarios of ``autoabs stress`` and :func:`autoabs.api.stress`."""


def library_dir() -> Path:
    """Directory of the built-in scenario files."""
    return Path(str(resources.files("scenarios").joinpath("library")))


def library_names() -> list[str]:
    """Names of the built-in scenarios, sorted."""
    return sorted(p.stem for p in library_dir().glob("*.yaml"))


def _is_path(name_or_path: str | Path) -> bool:
    s = str(name_or_path)
    return isinstance(name_or_path, Path) or s.endswith((".yaml", ".yml")) or "/" in s or "\\" in s


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a built-in scenario by name or a scenario YAML file, resolving its ``base``.

    Raises
    ------
    InputError
        Naming the file (or the unknown name, with the available ones) and every invalid field
        as a dotted path.
    """
    return _load(name_or_path, ())


def _locate(name_or_path: str | Path, relative_to: Path | None) -> Path:
    if _is_path(name_or_path):
        path = Path(name_or_path)
        if relative_to is not None and not path.is_absolute():
            path = relative_to / path
        if not path.is_file():
            raise InputError(str(path), "file not found")
        return path
    name = str(name_or_path)
    path = library_dir() / f"{name}.yaml"
    if not path.is_file():
        raise InputError(name, Problem(
            None, "scenario",
            f"unknown library scenario {name!r}; available: {', '.join(library_names())} "
            "(or give a path to a .yaml file)"))
    return path


def _load(name_or_path: str | Path, chain: tuple[Path, ...], relative_to: Path | None = None
          ) -> Scenario:
    path = _locate(name_or_path, relative_to)
    key = path.resolve()
    if key in chain:
        cycle = " -> ".join(str(p) for p in (*chain, key))
        raise InputError(str(path), Problem(None, "base", f"scenarios form a cycle: {cycle}"))
    return _resolve(read_yaml_file(path), str(path), (*chain, key), path.parent)


def scenario_from_dict(raw: object, source: str = "<scenario>",
                       relative_to: Path | None = None) -> Scenario:
    """Validate a parsed scenario mapping (resolving ``base``); errors name ``source``."""
    return _resolve(raw, source, (), relative_to)


def _resolve(raw: object, source: str, chain: tuple[Path, ...], here: Path | None) -> Scenario:
    if not isinstance(raw, dict):
        raise InputError(source, Problem(
            None, "<top>", f"expected a mapping of scenario fields, got {type(raw).__name__}"))
    try:
        own = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise InputError(source, pydantic_problems(exc)) from None
    if own.base is not None:
        try:
            base = _load(own.base, chain, here)
        except InputError as exc:
            # An unknown library name reads better without repeating the name as a source.
            detail = ("; ".join(p.message for p in exc.problems) if exc.source == own.base
                      else str(exc))
            raise InputError(source, Problem(None, "base", detail)) from None
        merged = base.model_dump(exclude={"base"})
        given = own.model_dump(exclude_unset=True)
        for field, value in given.items():
            if field == "paths":
                merged["paths"].update(value)
            else:
                merged[field] = value
        try:
            own = Scenario.model_validate(merged)
        except ValidationError as exc:
            raise InputError(source, pydantic_problems(exc)) from None
    missing = [s for s in SERIES if getattr(own.paths, s) is None]
    if missing:
        raise InputError(source, [
            Problem(None, f"paths.{s}", "missing (give it here or in a base scenario)")
            for s in missing
        ])
    return own


# --------------------------------------------------------------------------------------------
# Deterministic monthly arrays


@dataclass(frozen=True, eq=False)
class MonthlyPaths:
    """A scenario's deterministic monthly arrays at months ``0..n`` (shape ``(n + 1,)``).

    Rates and unemployment are annual decimals; ``used_car_index`` is relative to the cut-off.
    ``zero_rates[k]`` is the continuously compounded zero rate for tenor ``k / 12`` years on the
    scenario curve (after any rate shock) and ``discount_factors[k] = exp(-zero_rates[k] k/12)``.
    """

    months: np.ndarray
    policy_rate: np.ndarray
    index_rate: np.ndarray
    market_auto_rate: np.ndarray
    unemployment: np.ndarray
    used_car_index: np.ndarray
    zero_rates: np.ndarray
    discount_factors: np.ndarray

    @property
    def n_periods(self) -> int:
        """Number of monthly periods ``n``."""
        return int(self.months.shape[0] - 1)


def interpolate(knots: dict[int, float], n_periods: int) -> np.ndarray:
    """Values at months ``0..n_periods`` from knots, linear between them and flat after."""
    months = np.fromiter(knots.keys(), dtype=float)
    values = np.fromiter(knots.values(), dtype=float)
    return np.asarray(np.interp(np.arange(n_periods + 1, dtype=float), months, values))


def scenario_paths(
    scenario: Scenario, n_periods: int, levels: MacroLevels | None = None
) -> MonthlyPaths:
    """Deterministic monthly arrays of a scenario over ``n_periods`` months.

    Parameters
    ----------
    scenario : Scenario
        A resolved scenario (from :func:`load_scenario`).
    n_periods : int
        Horizon in months, ``>= 1``.
    levels : MacroLevels, optional
        Cut-off levels of an assumptions file (``model.macro``). When given, the unemployment
        and market auto-loan rate paths are shifted so that month 0 equals these levels: the
        scenario is read as *changes* from its own month 0 (so a stress keeps its size relative
        to baseline whatever the assumptions file's starting levels).

    Notes
    -----
    Order: interpolate the knots, align to ``levels``, derive the curve when the scenario gives
    none (zero rate = average of the unshocked policy path up to the tenor), then apply the
    rate shock (policy and index ``+ dR(0)``, market auto rate ``+ pass_through dR(tenor)``, zero
    curve ``+ dR(tau)``). Unemployment is floored at 0 after alignment.
    """
    if n_periods < 1:
        raise InputError(scenario.name, Problem(None, "n_periods",
                                                f"must be at least 1, got {n_periods}"))
    p = scenario.paths
    series = {s: interpolate(getattr(p, s), n_periods) for s in SERIES}
    if levels is not None:
        series["unemployment"] = np.maximum(
            series["unemployment"] + (levels.unemployment - series["unemployment"][0]), 0.0)
        series["market_auto_rate"] = (
            series["market_auto_rate"] + (levels.market_rate - series["market_auto_rate"][0]))
    months = np.arange(n_periods + 1)
    tenor = months / 12.0
    if scenario.curve is not None:
        zero = scenario.curve.zero_rate(tenor)
    else:
        from scenarios.short_rate import linear_mean_integral

        integral = linear_mean_integral(series["policy_rate"])
        zero = np.concatenate([[series["policy_rate"][0]], integral[1:] / tenor[1:]])
    shock = scenario.rate_shock
    short = float(shock.at(0.0))
    tr = scenario.transmission
    series["policy_rate"] = series["policy_rate"] + short
    series["index_rate"] = series["index_rate"] + short
    series["market_auto_rate"] = series["market_auto_rate"] + tr.market_rate_pass_through * float(
        shock.at(tr.market_rate_tenor_years))
    zero = zero + shock.at(tenor)
    return MonthlyPaths(
        months=months,
        policy_rate=series["policy_rate"],
        index_rate=series["index_rate"],
        market_auto_rate=series["market_auto_rate"],
        unemployment=series["unemployment"],
        used_car_index=series["used_car_index"],
        zero_rates=np.asarray(zero),
        discount_factors=np.asarray(np.exp(-zero * tenor)),
    )
