"""Implied rating of a class from its expected loss and WAL through an idealized EL table.

An idealized expected-loss table gives, for each rating on Moody's scale and each WAL (years),
the largest expected loss (decimal of the note balance) compatible with that rating. A class
with expected loss ``EL`` and mean WAL ``W`` gets the best rating whose idealized EL at ``W`` is
at least ``EL``.

The built-in table (``simulation/data/idealized_el.csv``) is **APPROXIMATE**: its values follow
the shape of the well-known Moody's idealized cumulative expected loss rates table but are not
Moody's published figures. Load the licensed table with :func:`load_el_table` for rating work.

References
----------
Moody's Investors Service, *Rating Symbols and Definitions* / idealized expected loss table
(approximate reproduction in the built-in file).
"""

from __future__ import annotations

import csv
import functools
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from portfolio.errors import InputError, Problem

__all__ = [
    "RATING_SCALE",
    "ELTable",
    "builtin_el_table",
    "el_target",
    "implied_rating",
    "implied_rating_index",
    "load_el_table",
]

RATING_SCALE: tuple[str, ...] = (
    "Aaa", "Aa1", "Aa2", "Aa3", "A1", "A2", "A3", "Baa1", "Baa2", "Baa3",
    "Ba1", "Ba2", "Ba3", "B1", "B2", "B3", "Caa1", "Caa2", "Caa3", "Ca/C",
)  # fmt: skip
"""Moody's long-term scale, best first; ``Ca/C`` is the bottom bucket."""

_ALIASES = {"ca-c": "Ca/C", "ca/c": "Ca/C", "ca_c": "Ca/C"}
_CANONICAL = {r.lower(): r for r in RATING_SCALE} | _ALIASES

_BUILTIN_FILE = "idealized_el.csv"
_BUILTIN_SOURCE = "built-in APPROXIMATE idealized EL table (simulation/data/idealized_el.csv)"


@dataclass(frozen=True)
class ELTable:
    """An idealized expected-loss table.

    Attributes
    ----------
    ratings : tuple of str, length n_ratings
        Ratings, best first (always the full :data:`RATING_SCALE`).
    wal_years : ndarray, shape (n_wal,)
        WAL grid in years, strictly increasing.
    expected_loss : ndarray, shape (n_ratings, n_wal)
        Idealized EL, decimal of the note balance; non-decreasing along both axes.
    source : str
        File it came from, or a label for the built-in table.
    approximate : bool
        True for the built-in table, which is an approximate reproduction.
    """

    ratings: tuple[str, ...]
    wal_years: NDArray[np.float64]
    expected_loss: NDArray[np.float64]
    source: str
    approximate: bool = False

    def __post_init__(self) -> None:
        self.wal_years.setflags(write=False)
        self.expected_loss.setflags(write=False)

    def at_wal(self, wal_years: float) -> NDArray[np.float64]:
        """Idealized EL of every rating at one WAL, shape (n_ratings,).

        Linear interpolation in WAL, clamped to the table's WAL range.
        """
        w = float(wal_years)
        if not math.isfinite(w):
            raise ValueError(f"wal_years must be finite; received {wal_years}")
        return np.array([np.interp(w, self.wal_years, row) for row in self.expected_loss])


def _canonical_rating(name: str) -> str | None:
    return _CANONICAL.get(name.strip().lower())


def load_el_table(
    path: str | Path,
    *,
    unit: Literal["percent", "decimal"] = "percent",
    approximate: bool = False,
) -> ELTable:
    """Read and validate an idealized expected-loss table from a CSV file.

    Parameters
    ----------
    path : str or Path
        CSV file. Lines starting with ``#`` are comments. The header is ``rating`` followed by
        the WAL in years of each column (e.g. ``rating,1,2,...,10``); each row is one rating of
        :data:`RATING_SCALE` (``Ca/C`` may be written ``Ca-C``), best first, every rating once.
    unit : {"percent", "decimal"}, default "percent"
        Unit of the EL values in the file (percent is how the tables are published).
    approximate : bool, default False
        Label the table as approximate.

    Returns
    -------
    ELTable
        With EL in decimals.

    Raises
    ------
    InputError
        Naming the file, the row (1-based data row, comments and header not counted) and the
        column of every problem: unreadable file, bad header, unknown, duplicate, out-of-order
        or missing ratings, missing, non-numeric, negative or above-100% values, EL decreasing
        with WAL or improving from a rating to a worse one.
    """
    source = str(path)
    if unit not in ("percent", "decimal"):
        raise ValueError(f"unit must be 'percent' or 'decimal'; received {unit!r}")
    scale = 100.0 if unit == "percent" else 1.0
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            lines = [ln for ln in fh if ln.strip() and not ln.lstrip().startswith("#")]
    except OSError as exc:
        raise InputError(source, f"cannot read the idealized EL table: {exc.strerror}") from None
    records = list(csv.reader(lines))
    if not records:
        raise InputError(source, "empty file: expected a header 'rating,<WAL years>...'")
    header, rows = [c.strip() for c in records[0]], records[1:]
    problems = _check_header(header)
    if problems:
        raise InputError(source, problems)
    columns = header[1:]
    wal = np.array([float(c) for c in columns])

    values: dict[str, NDArray[np.float64]] = {}
    order: list[tuple[int, str]] = []
    for i, rec in enumerate(rows, start=1):
        cells = [c.strip() for c in rec]
        if len(cells) != len(header):
            problems.append(
                Problem(i, "rating", f"expected {len(header)} fields, received {len(cells)}")
            )
            continue
        rating = _canonical_rating(cells[0])
        if not cells[0]:
            problems.append(Problem(i, "rating", "missing rating"))
            continue
        if rating is None:
            problems.append(
                Problem(
                    i,
                    "rating",
                    f"unknown rating {cells[0]!r}; expected one of Moody's "
                    f"scale {', '.join(RATING_SCALE)}",
                )
            )
            continue
        if rating in values:
            problems.append(Problem(i, "rating", f"duplicate rating {rating}"))
            continue
        row = np.full(len(columns), np.nan)
        for j, (col, cell) in enumerate(zip(columns, cells[1:], strict=True)):
            try:
                v = float(cell)
            except ValueError:
                problems.append(
                    Problem(i, col, f"expected an EL in {unit} for {rating}, received {cell!r}")
                )
                continue
            if not math.isfinite(v) or v < 0.0 or v > scale:
                problems.append(
                    Problem(
                        i,
                        col,
                        f"EL for {rating} must lie in [0, {scale:g}] {unit}; received {cell}",
                    )
                )
                continue
            row[j] = v / scale
        for j in range(1, len(columns)):
            if row[j] < row[j - 1]:  # NaN compares False: already reported
                problems.append(
                    Problem(
                        i,
                        columns[j],
                        f"non-monotone: EL for {rating} at WAL {columns[j]} "
                        f"is below the EL at WAL {columns[j - 1]}",
                    )
                )
        values[rating] = row
        order.append((i, rating))

    missing = [r for r in RATING_SCALE if r not in values]
    if missing:
        problems.append(Problem(None, "rating", f"missing ratings: {', '.join(missing)}"))
    rank = {r: k for k, r in enumerate(RATING_SCALE)}
    for (_, prev), (i, cur) in zip(order, order[1:], strict=False):
        if rank[cur] < rank[prev]:
            problems.append(
                Problem(i, "rating", f"{cur} listed after {prev}; list ratings best first")
            )
    by_rank = sorted(order, key=lambda ir: rank[ir[1]])
    for (_, better), (i, worse) in zip(by_rank, by_rank[1:], strict=False):
        for j, col in enumerate(columns):
            if values[worse][j] < values[better][j]:
                problems.append(
                    Problem(
                        i,
                        col,
                        f"non-monotone: EL for {worse} is below the EL for the "
                        f"better rating {better} at WAL {col}",
                    )
                )
    if problems:
        raise InputError(source, problems)
    el = np.vstack([values[r] for r in RATING_SCALE])
    return ELTable(RATING_SCALE, wal, el, source, approximate)


def _check_header(header: list[str]) -> list[Problem]:
    if not header or header[0].lower() != "rating":
        first = header[0] if header else ""
        return [Problem(None, "rating", f"first column must be 'rating'; received {first!r}")]
    if len(header) < 2:
        return [Problem(None, "rating", "expected at least one WAL column after 'rating'")]
    problems: list[Problem] = []
    prev = -math.inf
    for col in header[1:]:
        try:
            w = float(col)
        except ValueError:
            problems.append(
                Problem(
                    None,
                    col or "(empty)",
                    f"column header must be a WAL in years; received {col!r}",
                )
            )
            continue
        if not (math.isfinite(w) and w > 0.0 and w > prev):
            problems.append(
                Problem(None, col, "WAL columns must be positive years in increasing order")
            )
        prev = w if math.isfinite(w) else prev
    return problems


@functools.cache
def builtin_el_table() -> ELTable:
    """The built-in idealized EL table, labelled APPROXIMATE (see the module docstring)."""
    ref = resources.files("simulation").joinpath("data", _BUILTIN_FILE)
    with resources.as_file(ref) as path:
        table = load_el_table(path, unit="percent", approximate=True)
    return ELTable(
        table.ratings,
        table.wal_years.copy(),
        table.expected_loss.copy(),
        _BUILTIN_SOURCE,
        approximate=True,
    )


def implied_rating_index(
    el: ArrayLike, wal_years: ArrayLike, table: ELTable | None = None
) -> NDArray[np.int64]:
    """Index into ``table.ratings`` of the implied rating, vectorised.

    Parameters
    ----------
    el : array_like
        Expected loss, decimal of the class balance, ``>= 0``.
    wal_years : array_like, broadcastable with ``el``
        WAL in years (> 0).
    table : ELTable, optional
        Idealized EL table; the built-in APPROXIMATE table by default.

    Returns
    -------
    ndarray of int64, broadcast shape
        Smallest index ``k`` (best rating) with ``idealized EL[k](WAL) >= el``; the last index
        (``Ca/C``) when ``el`` exceeds every entry.
    """
    tbl = builtin_el_table() if table is None else table
    e, w = np.broadcast_arrays(
        np.asarray(el, dtype=np.float64), np.asarray(wal_years, dtype=np.float64)
    )
    if not (np.all(np.isfinite(e)) and np.all(np.isfinite(w))):
        raise ValueError("el and wal_years must be finite")
    if np.any(e < 0.0) or np.any(w <= 0.0):
        raise ValueError("need el >= 0 and wal_years > 0")
    out = np.empty(e.shape, dtype=np.int64)
    last = len(tbl.ratings) - 1
    for idx in np.ndindex(e.shape):
        column = tbl.at_wal(float(w[idx]))
        k = int(np.searchsorted(column, e[idx], side="left"))
        out[idx] = min(k, last)
    return out


def implied_rating(el: float, wal_years: float, table: ELTable | None = None) -> str:
    """Best rating whose idealized EL at the class's WAL is at least the class's EL.

    Parameters
    ----------
    el : float
        Class expected loss, decimal of the original class balance.
    wal_years : float
        Class (mean) WAL in years; the table is interpolated linearly in WAL and clamped to its
        WAL range (below 1 year the 1-year column applies, above 10 years the 10-year column).
    table : ELTable, optional
        Idealized EL table; the built-in APPROXIMATE table by default.

    Returns
    -------
    str
        A rating of :data:`RATING_SCALE`; ``Aaa`` for ``el == 0``.
    """
    tbl = builtin_el_table() if table is None else table
    return tbl.ratings[int(implied_rating_index(el, wal_years, tbl))]


def el_target(rating: str, wal_years: float, table: ELTable | None = None) -> float:
    """Idealized EL of ``rating`` at a WAL: the largest EL a class can have and keep it.

    Parameters
    ----------
    rating : str
        A rating of :data:`RATING_SCALE` (case-insensitive).
    wal_years : float
        WAL in years; linear interpolation, clamped to the table's WAL range.
    table : ELTable, optional
        Idealized EL table; the built-in APPROXIMATE table by default.

    Returns
    -------
    float
        EL, decimal of the class balance.

    Raises
    ------
    InputError
        For a rating not on the scale.
    """
    tbl = builtin_el_table() if table is None else table
    canonical = _canonical_rating(rating)
    if canonical is None or canonical not in tbl.ratings:
        raise InputError(
            "rating",
            Problem(
                None,
                "rating",
                f"unknown rating {rating!r}; expected one of {', '.join(tbl.ratings)}",
            ),
        )
    w = float(wal_years)
    if not (math.isfinite(w) and w > 0.0):
        raise ValueError(f"wal_years must be a positive number; received {wal_years}")
    row = tbl.expected_loss[tbl.ratings.index(canonical)]
    return float(np.interp(w, tbl.wal_years, row))
