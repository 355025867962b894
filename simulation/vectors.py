"""Deterministic assumption vectors: defaults, prepayments, severity, recovery lag, curtailment.

What a surveillance analyst types first: a monthly (or annual, converted) default rate, a
prepayment speed (CPR/SMM by period, or ABS by loan age), a loss severity and a recovery lag by
charge-off period, and a curtailment rate (partial prepayments), each a single value or a
vector by period whose last value holds. They come as comma lists (``"2,2.5,3"``) or as a CSV
file with a ``period`` column; :class:`AssumptionVectors` holds them validated, in monthly
decimals, and :meth:`AssumptionVectors.projection_options` is what
:func:`~simulation.deterministic.project_deterministic` takes. ``docs/surveillance.md`` lists
the units.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from portfolio.errors import InputError, Problem
from simulation.conversions import cdr_to_mdr, cpr_to_smm, mdr_to_cdr, smm_to_cpr

__all__ = ["VECTOR_COLUMNS", "AssumptionVectors", "assumption_vectors", "parse_vector",
           "read_vector_file"]

VECTOR_COLUMNS: tuple[str, ...] = ("cdr", "cpr", "abs", "severity", "recovery_lag",
                                   "curtailment")
"""Assumption columns of a vector file (besides ``period``), in the options' units: percent
(``cdr``, ``cpr``: monthly unless annual; ``abs``: monthly ABS speed; ``severity``;
``curtailment``: monthly) and months (``recovery_lag``)."""

_UPPER_PERCENT = {"cdr": 100.0, "cpr": 100.0, "abs": 20.0, "severity": 100.0,
                  "curtailment": 100.0}
MAX_RECOVERY_LAG = 60
"""Longest recovery lag accepted, months."""

MSG_RANGE = "must lie in {interval} {unit}; got {value:g}"


def parse_vector(text: str, option: str) -> np.ndarray:
    """A comma list of numbers (one number is a constant vector)."""
    try:
        values = np.array([float(x) for x in str(text).split(",")], dtype=float)
    except ValueError:
        raise InputError(option, f"expected a number or a comma list of numbers, got "
                         f"{text!r}") from None
    if np.any(~np.isfinite(values)):
        raise InputError(option, f"expected finite numbers, got {text!r}")
    return values


def read_vector_file(path: str | Path) -> dict[str, np.ndarray]:
    """Read a vector CSV: ``period`` 1..n consecutive, any of :data:`VECTOR_COLUMNS`.

    Returns the columns given, by period, in the file's units (percent and months). Every
    problem names the file, the 1-based data row and the column.
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise InputError(source, Problem(None, "--vectors", "file not found"))
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(source, f"not a readable CSV file: {exc}") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "period" not in frame.columns:
        raise InputError(source, Problem(None, "period", "required column missing"))
    unknown = [c for c in frame.columns if c not in ("period", *VECTOR_COLUMNS)]
    if unknown:
        raise InputError(source, Problem(None, ", ".join(unknown), "unknown column; expected "
                                         f"period and any of {', '.join(VECTOR_COLUMNS)}"))
    if len(frame) == 0:
        raise InputError(source, "the vector file has no rows")
    problems: list[Problem] = []
    values: dict[str, np.ndarray] = {}
    for column in frame.columns:
        raw = frame[column].str.strip()
        number = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        for i in np.flatnonzero(~np.isfinite(number))[:20]:
            problems.append(Problem(int(i) + 1, column, f"expected a number, got {raw.iloc[i]!r}"))
        values[column] = number
    if problems:
        raise InputError(source, problems)
    period = values.pop("period")
    expected = np.arange(1, len(period) + 1)
    wrong = np.flatnonzero(period != expected)
    if wrong.size:
        i = int(wrong[0])
        raise InputError(source, Problem(i + 1, "period", f"expected periods 1, 2, ... in "
                                         f"order; got {period[i]:g} where {i + 1} belongs"))
    for column, v in values.items():
        bad = _out_of_range(v, column)
        if bad is not None:
            raise InputError(source, Problem(bad[0] + 1, column, bad[1]))
    return values


def _out_of_range(values: np.ndarray, name: str) -> tuple[int, str] | None:
    """The first value of ``name`` outside its range (index, message), or ``None``."""
    if name == "recovery_lag":
        bad = (values < 0) | (values > MAX_RECOVERY_LAG) | (values != np.round(values))
        interval, unit = f"0..{MAX_RECOVERY_LAG}", "whole months"
    else:
        hi = _UPPER_PERCENT[name]
        open_top = name in ("cdr", "cpr", "abs")  # 100% CDR/CPR or 20% ABS: all gone at once
        bad = (values < 0) | (values >= hi if open_top else values > hi)
        interval, unit = f"[0, {hi:g}{')' if open_top else ']'}", "percent"
    hits = np.flatnonzero(bad)
    if hits.size == 0:
        return None
    i = int(hits[0])
    return i, MSG_RANGE.format(interval=interval, unit=unit, value=values[i])


@dataclass(frozen=True, eq=False)
class AssumptionVectors:
    """Validated deterministic assumptions by period ``1..n`` (the last value holds after).

    Attributes
    ----------
    mdr : numpy.ndarray
        Monthly default rate (decimal) by period since the cut-off.
    smm : numpy.ndarray or None
        Monthly prepayment rate (decimal) by period; ``None`` when an ABS speed is given.
    abs_speed : numpy.ndarray or None
        ABS speed (monthly decimal, applied by loan age) by period; ``None`` with ``smm``.
    severity : numpy.ndarray
        Loss severity (decimal of the charged-off balance) by charge-off period.
    recovery_lag : numpy.ndarray
        Months from charge-off to recovery (int64) by charge-off period.
    curtailment : numpy.ndarray
        Monthly partial-prepayment rate (decimal of the balance after scheduled principal).
    """

    mdr: np.ndarray
    smm: np.ndarray | None
    abs_speed: np.ndarray | None
    severity: np.ndarray
    recovery_lag: np.ndarray
    curtailment: np.ndarray

    def projection_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`~simulation.deterministic.project_deterministic`."""
        prepay = {"abs_speed": self.abs_speed} if self.abs_speed is not None else {
            "smm": self.smm}
        return {"mdr": self.mdr, **prepay, "severity": self.severity,
                "recovery_lag": self.recovery_lag, "curtailment": self.curtailment}

    def by_period(self, n_periods: int) -> pd.DataFrame:
        """The vectors over periods ``1..n_periods`` (last value held), with CDR and CPR.

        CPR (from the SMM) appears only for CPR/SMM inputs; an ABS speed depends on each
        loan's age, so its SMM is a loan-level quantity.
        """
        def hold(v: np.ndarray) -> np.ndarray:
            return v[np.minimum(np.arange(n_periods), v.size - 1)]

        table = {"mdr": hold(self.mdr), "cdr": mdr_to_cdr(hold(self.mdr))}
        if self.smm is None:
            table["abs"] = hold(np.asarray(self.abs_speed))
        else:
            table["smm"] = hold(self.smm)
            table["cpr"] = smm_to_cpr(hold(self.smm))
        table |= {"severity": hold(self.severity), "recovery_lag": hold(self.recovery_lag),
                  "curtailment": hold(self.curtailment)}
        return pd.DataFrame(table, index=pd.RangeIndex(1, n_periods + 1, name="period"))


def assumption_vectors(given: Mapping[str, tuple[np.ndarray, str]], *,
                       annual: bool = False) -> AssumptionVectors:
    """Validate options or file columns (percent, months) into :class:`AssumptionVectors`.

    Parameters
    ----------
    given : mapping
        ``name -> (values, where)`` for any of :data:`VECTOR_COLUMNS`; ``values`` in percent
        (months for ``recovery_lag``), ``where`` the option or ``file:column`` named in errors.
    annual : bool
        ``cdr`` and ``cpr`` are annual rates (CDR, CPR) converted by 12-month compounding;
        otherwise monthly rates (MDR, SMM).

    Notes
    -----
    Defaults: no defaults, no prepayments, severity 100%, no lag, no curtailment (a missing
    severity is a loss of the whole charged-off balance, the conservative reading).
    """
    unknown = sorted(set(given) - set(VECTOR_COLUMNS))
    if unknown:
        raise InputError(", ".join(unknown), "unknown assumption vector")
    if "cpr" in given and "abs" in given:
        raise InputError(f"{given['cpr'][1]} and {given['abs'][1]}",
                         "give a CPR/SMM or an ABS speed, not both")
    for name, (values, where) in given.items():
        if values.ndim != 1 or values.size == 0:
            raise InputError(where, "expected at least one value")
        bad = _out_of_range(values, name)
        if bad is not None:
            place = "" if values.size == 1 else f"value {bad[0] + 1} (period {bad[0] + 1})"
            raise InputError(where, Problem(None, place, bad[1]))

    def get(name: str, default: float) -> np.ndarray:
        return given[name][0] if name in given else np.array([default])

    to_monthly = cdr_to_mdr if annual else (lambda v: v)
    mdr = np.asarray(to_monthly(get("cdr", 0.0) / 100.0))
    smm = abs_speed = None
    if "abs" in given:
        abs_speed = get("abs", 0.0) / 100.0
    else:
        smm = np.asarray((cpr_to_smm if annual else (lambda v: v))(get("cpr", 0.0) / 100.0))
    return AssumptionVectors(
        mdr=mdr, smm=smm, abs_speed=abs_speed, severity=get("severity", 100.0) / 100.0,
        recovery_lag=get("recovery_lag", 0.0).astype(np.int64),
        curtailment=get("curtailment", 0.0) / 100.0,
    )

