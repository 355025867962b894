"""Spreads over a benchmark curve: the curve file, its interpolation, yield <-> spread.

Term sheets of US auto ABS quote fixed classes as a spread over an interpolated benchmark at
the class's WAL ("iSwp + 26", "EDSF + 11", "IntS + 30": interpolated swaps or the Eurodollar
strip) and floating classes as a margin over the index. :class:`BenchmarkCurve` holds the
curve read from a file of (tenor, rate) rows; :func:`spread_to_benchmark` and
:func:`yield_from_spread` convert between a class's yield and its spread (the I-spread:
yield minus the benchmark rate linearly interpolated at the WAL, flat beyond the ends).
Price <-> yield and the discount margin are in :mod:`simulation.metrics`. Conventions and
sources: ``docs/metrics.md``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from portfolio.errors import InputError, Problem

__all__ = [
    "BenchmarkCurve",
    "load_benchmark_curve",
    "parse_tenor",
    "spread_to_benchmark",
    "yield_from_spread",
]

_TENOR = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([DWMY]?)\s*$", re.IGNORECASE)
_TENOR_YEARS = {"": 1.0, "Y": 1.0, "M": 1.0 / 12.0, "W": 7.0 / 365.0, "D": 1.0 / 365.0}
_MAX_RATE = 1.0


@dataclass(frozen=True, eq=False)
class BenchmarkCurve:
    """A benchmark rate curve: ``tenor_years`` strictly increasing, ``rate`` annual decimals."""

    tenor_years: NDArray[np.float64]
    rate: NDArray[np.float64]
    source: str

    def __post_init__(self) -> None:
        self.tenor_years.setflags(write=False)
        self.rate.setflags(write=False)

    def rate_at(self, years: ArrayLike) -> NDArray[np.float64]:
        """Benchmark rate at ``years`` (linear in tenor, flat beyond the first and last)."""
        return np.asarray(np.interp(np.asarray(years, dtype=np.float64), self.tenor_years,
                                    self.rate))


def parse_tenor(text: str) -> float:
    """Tenor in years from ``"1M"``, ``"2Y"``, ``"13W"``, ``"30D"`` or a number of years."""
    match = _TENOR.match(str(text))
    if match is None:
        raise ValueError(f"tenor {text!r} is not a number of years or N D/W/M/Y (e.g. 3M, 2Y)")
    return float(match.group(1)) * _TENOR_YEARS[match.group(2).upper()]


def load_benchmark_curve(path: str | Path) -> BenchmarkCurve:
    """Read a benchmark curve CSV with columns ``tenor`` and ``rate`` (annual decimal).

    Raises
    ------
    InputError
        Naming the file, the row (1-based data row) and the field of every bad value: a
        missing column, an unreadable tenor, a rate that is not a finite decimal in
        [-1, 1], tenors not strictly increasing, fewer than one row.
    """
    path = Path(path)
    try:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise InputError(str(path), f"cannot read the curve file: {exc.strerror}") from None
    if not rows or not {"tenor", "rate"} <= rows[0].keys():
        raise InputError(str(path), Problem(None, "tenor, rate",
                                            "expected a CSV header with columns tenor and rate "
                                            "and at least one row"))
    problems: list[Problem] = []
    tenors: list[float] = []
    rates: list[float] = []
    for k, row in enumerate(rows, start=1):
        try:
            tenor = parse_tenor(row["tenor"] or "")
        except ValueError as exc:
            problems.append(Problem(k, "tenor", str(exc)))
            continue
        try:
            rate = float(row["rate"] or "")
        except ValueError:
            problems.append(Problem(k, "rate", f"expected a decimal rate, got {row['rate']!r}"))
            continue
        if not np.isfinite(rate) or abs(rate) > _MAX_RATE:
            problems.append(Problem(k, "rate", f"expected a finite annual decimal in [-1, 1] "
                                               f"(0.045 = 4.5%), got {rate}"))
            continue
        if tenor <= 0.0 or (tenors and tenor <= tenors[-1]):
            problems.append(Problem(k, "tenor", f"tenors must be > 0 and strictly increasing; "
                                                f"{row['tenor']!r} follows {tenors[-1:]}"))
            continue
        tenors.append(tenor)
        rates.append(rate)
    if problems:
        raise InputError(str(path), problems)
    return BenchmarkCurve(np.array(tenors), np.array(rates), str(path))


def spread_to_benchmark(annual_yield: ArrayLike, wal_years: ArrayLike,
                        curve: BenchmarkCurve) -> NDArray[np.float64]:
    """I-spread (decimal): the class yield minus the benchmark rate interpolated at its WAL."""
    return np.asarray(np.asarray(annual_yield, dtype=np.float64) - curve.rate_at(wal_years))


def yield_from_spread(spread: ArrayLike, wal_years: ArrayLike,
                      curve: BenchmarkCurve) -> NDArray[np.float64]:
    """Yield of a class quoted at ``spread`` (decimal) over the benchmark at its WAL."""
    return np.asarray(curve.rate_at(wal_years) + np.asarray(spread, dtype=np.float64))
