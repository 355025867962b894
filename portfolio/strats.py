"""Pool stratification tables and concentration measures.

Pure functions over a :class:`~portfolio.tape.LoanTape` (or over an array of exposures):

- :func:`strat_table`: one row per bucket of a column (state, FICO band, APR band, ...) with
  count, balance, shares and balance-weighted averages, plus a ``Total`` row;
- :func:`concentration`: shares by group, Herfindahl-Hirschman index, effective number,
  top-k shares, Gini coefficient and the largest single exposure, as a frozen
  :class:`Concentration`;
- :func:`hhi`, :func:`gini`, :func:`effective_number`, :func:`top_share`: the measures on a plain
  weight array.

Balance-weighted averages ignore loans whose value is unknown (NaN); a bucket in which every
value is unknown shows NaN. Definitions and references: ``docs/strats.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from portfolio.tape import COLUMN_BY_NAME, PAYMENT_TYPES, LoanTape

UNKNOWN = "unknown"
TOTAL = "Total"
NAN_NOTE = (
    "balance-weighted averages (wa_*) exclude loans whose value is unknown (NaN); "
    "shares are of the pool's current balance and loan count"
)

ALIASES: dict[str, str] = {
    "apr": "rate",
    "fico_band": "fico",
    "make": "vehicle_make",
    "model": "vehicle_model",
    "model_year": "vehicle_year",
    "new_used": "vehicle_new",
    "term": "original_term",
    "type": "vehicle_type",
    "dealer": "dealer_id",
}
"""Short names accepted for ``by``."""


@dataclass(frozen=True)
class BucketSpec:
    """Right-open bands ``(-inf, e0), [e0, e1), ..., [ek, inf)`` with one label per band."""

    edges: tuple[float, ...]
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.edges) + 1:
            raise ValueError(f"{len(self.edges)} edges need {len(self.edges) + 1} labels")


def _money(x: float) -> str:
    return f"${x:,.0f}"


def _band_labels(edges: Sequence[float], fmt: Any, integer: bool) -> tuple[str, ...]:
    """Labels ``<e0``, ``e0-e1`` (integer: ``e0-(e1-1)``), ..., ``ek+``."""
    labels = [f"<{fmt(edges[0])}"]
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        labels.append(f"{fmt(lo)}-{fmt(hi - 1)}" if integer else f"{fmt(lo)} to <{fmt(hi)}")
    labels.append(f"{fmt(edges[-1])}+")
    return tuple(labels)


_MONEY_EDGES = (5_000.0, 10_000.0, 15_000.0, 20_000.0, 25_000.0, 30_000.0, 40_000.0, 50_000.0)
_MONEY_SPEC = BucketSpec(_MONEY_EDGES, _band_labels(_MONEY_EDGES, _money, integer=False))
_RATE_EDGES = (0.03, 0.06, 0.09, 0.12, 0.15, 0.18, 0.21, 0.24)
_LTV_EDGES = (0.80, 0.90, 1.00, 1.10, 1.20, 1.30, 1.40)
_PTI_EDGES = (0.05, 0.10, 0.15, 0.20)

DEFAULT_BUCKETS: dict[str, BucketSpec] = {
    "fico": BucketSpec(
        (580, 620, 660, 700, 740, 780),
        ("<580", "580-619", "620-659", "660-699", "700-739", "740-779", "780+"),
    ),
    "rate": BucketSpec(
        _RATE_EDGES, _band_labels(_RATE_EDGES, lambda x: f"{100 * x:.2f}%", integer=False)
    ),
    "ltv": BucketSpec(
        _LTV_EDGES, _band_labels(_LTV_EDGES, lambda x: f"{100 * x:.0f}%", integer=False)
    ),
    "pti": BucketSpec(
        _PTI_EDGES, _band_labels(_PTI_EDGES, lambda x: f"{100 * x:.0f}%", integer=False)
    ),
    "original_term": BucketSpec(
        (37, 49, 61, 73, 85), ("<=36", "37-48", "49-60", "61-72", "73-84", "85+")
    ),
    "remaining_term": BucketSpec(
        (13, 25, 37, 49, 61, 73), ("<=12", "13-24", "25-36", "37-48", "49-60", "61-72", "73+")
    ),
    "age": BucketSpec((4, 7, 13, 25), ("0-3", "4-6", "7-12", "13-24", "25+")),
    "days_past_due": BucketSpec((1, 30, 60, 90), ("current", "1-29", "30-59", "60-89", "90+")),
    "balance": _MONEY_SPEC,
    "original_balance": _MONEY_SPEC,
    "vehicle_value": _MONEY_SPEC,
    "balloon_amount": _MONEY_SPEC,
}
"""Default bands of the numeric columns (FICO, APR, LTV, PTI, terms, age, money, DPD)."""

DISCRETE_COLUMNS = ("vehicle_year",)
"""Numeric columns stratified by value in ascending order (0 = unknown); dates go by year."""


@dataclass(frozen=True)
class _Groups:
    """Loans assigned to groups: ``codes`` shape ``(n_loans,)`` index into ``labels``."""

    column: str
    codes: np.ndarray
    labels: tuple[str, ...]
    ordered: bool


def resolve_column(by: str) -> str:
    """Canonical tape column for ``by`` (accepting :data:`ALIASES`); ValueError otherwise."""
    name = ALIASES.get(by.strip().lower(), by.strip())
    if name not in COLUMN_BY_NAME:
        valid = ", ".join(sorted(set(COLUMN_BY_NAME) | set(ALIASES)))
        raise ValueError(f"unknown strat column {by!r}; expected one of: {valid}")
    return name


def _band(values: np.ndarray, spec: BucketSpec) -> tuple[np.ndarray, tuple[str, ...]]:
    edges = np.asarray(spec.edges, dtype=np.float64)
    codes = np.searchsorted(edges, values, side="right").astype(np.int64)
    unknown = ~np.isfinite(values)
    if unknown.any():
        codes[unknown] = len(spec.labels)
        return codes, (*spec.labels, UNKNOWN)
    return codes, spec.labels


def _first_appearance(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes ``(n,)`` int64 and the distinct values in order of first appearance.

    A NaN or None among object values is a value of its own (``use_na_sentinel=False``); the
    faster sentinel pass is tried first and gives the same codes whenever no value is missing.
    """
    codes, uniques = pd.factorize(values)
    if codes.size and codes.min() < 0:
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return codes.astype(np.int64, copy=False), np.asarray(uniques)


def _groups(tape: LoanTape, by: str, buckets: Sequence[float] | BucketSpec | None) -> _Groups:
    column = resolve_column(by)
    kind = COLUMN_BY_NAME[column].kind
    values = getattr(tape, column)
    if kind in ("bool", "ptype", "str") and buckets is not None:
        raise ValueError(f"column {column!r} is categorical; buckets apply to numbers only")
    if kind in ("bool", "ptype"):  # factorise the flags or codes, name the few distinct ones
        codes, uniques = _first_appearance(values)
        names = (np.where(uniques, "new", "used") if kind == "bool"
                 else np.asarray(PAYMENT_TYPES)[uniques])
        return _Groups(column, codes, tuple(str(u) for u in names), False)
    if kind == "date":  # by origination year
        years = values.astype("datetime64[Y]")
        values = np.where(np.isnat(years), np.nan, years.astype(np.int64) + 1970.0)
    if kind == "str":
        # Factorise the loans once, then name the distinct values: empty is "unknown" (merged
        # with a literal "unknown"); groups stay in order of first appearance.
        codes, uniques = _first_appearance(np.asarray(values, dtype=object))
        names = [UNKNOWN if u == "" else str(u) for u in uniques]
        merged, groups = pd.factorize(np.asarray(names, dtype=object), use_na_sentinel=False)
        return _Groups(column, merged.astype(np.int64)[codes], tuple(str(u) for u in groups),
                       False)

    x = np.asarray(values, dtype=np.float64)
    if buckets is None and (column in DISCRETE_COLUMNS or kind == "date"):
        x = np.where(x == 0, np.nan, x)
        known = np.unique(x[np.isfinite(x)])
        codes = np.searchsorted(known, x).astype(np.int64)
        labels = tuple(str(int(v)) for v in known)
        if not np.all(np.isfinite(x)):
            codes[~np.isfinite(x)] = len(labels)
            labels = (*labels, UNKNOWN)
        return _Groups(column, codes, labels, True)
    if isinstance(buckets, BucketSpec):
        spec = buckets
    elif buckets is not None:
        edges = tuple(float(e) for e in buckets)
        if len(edges) == 0 or np.any(np.diff(edges) <= 0) or not np.all(np.isfinite(edges)):
            raise ValueError(f"buckets must be finite, strictly increasing edges, got {buckets}")
        spec = BucketSpec(edges, _band_labels(edges, lambda v: f"{v:g}", integer=False))
    elif column in DEFAULT_BUCKETS:
        spec = DEFAULT_BUCKETS[column]
    else:  # pragma: no cover - every numeric column has a default
        raise ValueError(f"no default buckets for {column!r}; pass buckets=")
    codes, labels = _band(x, spec)
    return _Groups(column, codes, labels, True)


def _wavg_by(codes: np.ndarray, n: int, w: np.ndarray, x: np.ndarray,
             w_by_group: np.ndarray, w_total: float) -> tuple[np.ndarray, float]:
    """Per-group ``(n,)`` and whole-pool balance-weighted means of ``x``, ignoring NaN.

    ``w_by_group`` and ``w_total`` are the sums of ``w`` by group and over the pool, shared by
    every measure without unknown values. Sums run in loan order (``np.bincount``); the pool's
    is the bincount of one group.
    """
    ok = np.isfinite(x)
    one_group = np.zeros(codes.size, dtype=np.int64)
    if ok.all():
        wx = w * x
        den, den_total = w_by_group, w_total
    else:  # unknown values weigh +0.0, which leaves every sum's bits unchanged
        with np.errstate(invalid="ignore"):
            wx = np.where(ok, w * x, 0.0)
        w_known = np.where(ok, w, 0.0)
        den = np.bincount(codes, weights=w_known, minlength=n)
        den_total = float(np.bincount(one_group, weights=w_known, minlength=1)[0])
    num = np.bincount(codes, weights=wx, minlength=n)
    num_total = float(np.bincount(one_group, weights=wx, minlength=1)[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        by_group = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return by_group, (num_total / den_total if den_total > 0 else float("nan"))


STRAT_COLUMNS = (
    "bucket", "count", "balance", "share_of_balance", "share_of_count",
    "wa_rate", "wa_fico", "wa_ltv", "wa_original_term", "wa_remaining_term",
)
"""Columns of :func:`strat_table` output."""


def strat_table(
    tape: LoanTape, by: str, buckets: Sequence[float] | BucketSpec | None = None
) -> pd.DataFrame:
    """Stratify the pool by one column.

    Parameters
    ----------
    tape : LoanTape
        The pool, ``n_loans >= 1`` with positive total balance.
    by : str
        Tape column (or an alias in :data:`ALIASES`, e.g. ``"apr"``, ``"new_used"``).
        Categorical columns group by value (empty = ``unknown``), rows sorted by balance
        descending; ``vehicle_year`` groups by model year; other numeric columns use
        :data:`DEFAULT_BUCKETS` (FICO, APR, LTV, PTI, term, age, balance bands).
    buckets : sequence of float or BucketSpec, optional
        Custom band edges ``e0 < e1 < ... < ek`` for a numeric column: bands
        ``<e0, [e0, e1), ..., >= ek``. NaN values go to ``unknown``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`STRAT_COLUMNS`: ``count`` (loans), ``balance`` (USD, current),
        ``share_of_balance`` and ``share_of_count`` (decimals), and balance-weighted averages
        ``wa_rate`` (annual decimal), ``wa_fico``, ``wa_ltv`` (decimal), ``wa_original_term`` and
        ``wa_remaining_term`` (months). Non-empty buckets only, then a ``Total`` row equal to
        the whole pool. ``attrs`` holds ``dimension`` (the column) and ``note``.

    Notes
    -----
    Balance-weighted averages ignore loans whose value is unknown (NaN); a bucket with no known
    value shows NaN.
    """
    n_loans = len(tape)
    if n_loans == 0 or not tape.total_balance > 0:
        raise ValueError("strat_table needs a pool with at least one loan and positive balance")
    g = _groups(tape, by, buckets)
    k = len(g.labels)
    w = tape.balance
    count = np.bincount(g.codes, minlength=k).astype(np.int64)
    balance = np.bincount(g.codes, weights=w, minlength=k)
    measures = {
        "wa_rate": tape.rate,
        "wa_fico": tape.fico,
        "wa_ltv": tape.ltv,
        "wa_original_term": tape.original_term.astype(np.float64),
        "wa_remaining_term": tape.remaining_term.astype(np.float64),
    }
    w_total = float(np.bincount(np.zeros(n_loans, dtype=np.int64), weights=w, minlength=1)[0])
    averages = {name: _wavg_by(g.codes, k, w, x, balance, w_total)
                for name, x in measures.items()}
    frame = pd.DataFrame(
        {
            "bucket": list(g.labels),
            "count": count,
            "balance": balance,
            "share_of_balance": balance / balance.sum(),
            "share_of_count": count / n_loans,
            **{name: by_group for name, (by_group, _) in averages.items()},
        }
    )
    frame = frame[frame["count"] > 0]
    if not g.ordered:
        is_unknown = frame["bucket"] == UNKNOWN
        frame = frame.assign(_u=is_unknown).sort_values(
            ["_u", "balance", "bucket"], ascending=[True, False, True], kind="mergesort"
        ).drop(columns="_u")
    total = {
        "bucket": TOTAL,
        "count": n_loans,
        "balance": float(w.sum()),
        "share_of_balance": 1.0,
        "share_of_count": 1.0,
        **{name: pool for name, (_, pool) in averages.items()},
    }
    out = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
    out.attrs["dimension"] = g.column
    out.attrs["note"] = NAN_NOTE
    return out


# --------------------------------------------------------------------------------------------
# Concentration
# --------------------------------------------------------------------------------------------


def _weights(weights: Any) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"weights must be a non-empty 1-D array, got shape {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative")
    if not w.sum() > 0:
        raise ValueError("weights must have a positive sum")
    return w


def hhi(weights: Any) -> float:
    """Herfindahl-Hirschman index of exposures: ``sum(s_i ** 2)``, ``s = w / sum(w)``.

    Parameters
    ----------
    weights : array_like, shape (n,)
        Non-negative exposures (e.g. USD balance per group), positive sum.

    Returns
    -------
    float
        In ``[1/n, 1]``: ``1/n`` for equal exposures, 1 for a single non-zero exposure.

    References
    ----------
    Herfindahl (1950); Hirschman (1945). Shares as decimals, not the antitrust 0-10,000 scale.
    """
    w = _weights(weights)
    s = w / w.sum()
    return float(np.dot(s, s))


def effective_number(weights: Any) -> float:
    """Effective number of equal exposures ``1 / HHI`` (shape ``(n,)`` weights)."""
    return 1.0 / hhi(weights)


def gini(weights: Any) -> float:
    """Gini coefficient of exposures.

    Parameters
    ----------
    weights : array_like, shape (n,)
        Non-negative exposures, positive sum.

    Returns
    -------
    float
        ``G = sum_i sum_j |w_i - w_j| / (2 n^2 mean(w))``, in ``[0, 1 - 1/n]``: 0 for equal
        exposures, ``1 - 1/n`` when one exposure holds everything.

    Notes
    -----
    Computed on ascending order statistics: ``G = 2 sum_i i w_(i) / (n sum w) - (n + 1) / n``.

    References
    ----------
    Gini (1912); the population (not bias-corrected) form.
    """
    w = np.sort(_weights(weights))
    n = w.size
    ranks = np.arange(1, n + 1, dtype=np.float64)
    g = 2.0 * np.dot(ranks, w) / (n * w.sum()) - (n + 1.0) / n
    return float(max(g, 0.0))


def top_share(weights: Any, k: int) -> float:
    """Share of the ``k`` largest exposures (1.0 when ``k >= n``), shape ``(n,)`` weights."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    w = _weights(weights)
    if k >= w.size:
        return 1.0
    return float(np.sum(np.partition(w, w.size - k)[w.size - k:]) / w.sum())


@dataclass(frozen=True, eq=False)
class Concentration:
    """Concentration of exposures across the groups of one dimension.

    ``names``, ``exposures`` and ``shares`` have shape ``(n_groups,)`` and are sorted by
    exposure, largest first (ties by name). Exposures in USD (current balance) for a tape.
    """

    dimension: str
    names: tuple[str, ...]
    exposures: np.ndarray
    shares: np.ndarray
    hhi: float
    effective_number: float
    top_shares: tuple[tuple[int, float], ...]
    """``(k, share of the k largest groups)`` for each requested k."""
    gini: float
    largest_name: str
    largest_share: float

    def __post_init__(self) -> None:
        self.exposures.setflags(write=False)
        self.shares.setflags(write=False)

    @property
    def n_groups(self) -> int:
        """Number of groups."""
        return len(self.names)

    def top(self, k: int) -> float:
        """Share of the ``k`` largest groups."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        return float(self.shares[:k].sum())

    def to_frame(self) -> pd.DataFrame:
        """Return groups with ``exposure``, ``share``, ``cumulative_share``, largest first."""
        return pd.DataFrame(
            {
                "name": list(self.names),
                "exposure": self.exposures,
                "share": self.shares,
                "cumulative_share": np.cumsum(self.shares),
            }
        )


def concentration(
    tape_or_weights: LoanTape | pd.Series | Mapping[str, float] | Sequence[float] | np.ndarray,
    by: str | None = None,
    *,
    top: Sequence[int] = (1, 5, 10),
) -> Concentration:
    """Concentration of the pool (or of given exposures) across groups.

    Parameters
    ----------
    tape_or_weights : LoanTape, pandas.Series, mapping or array_like
        A tape, grouped by ``by`` with current balance as the exposure; or exposures directly:
        a Series or mapping (name -> exposure) or an array (names ``"0"``, ``"1"``, ...).
    by : str, optional
        Grouping column for a tape (as in :func:`strat_table`: categorical by value, numeric by
        its default bands); for exposures, only a label for ``dimension``.
    top : sequence of int
        The k of the top-k shares.

    Returns
    -------
    Concentration
        Shares, HHI, effective number, top-k shares, Gini and the largest exposure.
    """
    if isinstance(tape_or_weights, LoanTape):
        if by is None:
            raise ValueError("concentration of a tape needs by= (the grouping column)")
        g = _groups(tape_or_weights, by, None)
        exposure = np.bincount(g.codes, weights=tape_or_weights.balance, minlength=len(g.labels))
        keep = np.bincount(g.codes, minlength=len(g.labels)) > 0
        names = np.asarray(g.labels, dtype=object)[keep]
        w = exposure[keep]
        dimension = g.column
    else:
        if isinstance(tape_or_weights, pd.Series):
            names = tape_or_weights.index.astype(str).to_numpy(dtype=object)
            w = tape_or_weights.to_numpy(dtype=np.float64)
        elif isinstance(tape_or_weights, Mapping):
            names = np.asarray([str(k) for k in tape_or_weights], dtype=object)
            w = np.asarray(list(tape_or_weights.values()), dtype=np.float64)
        else:
            w = np.asarray(tape_or_weights, dtype=np.float64)
            names = np.arange(w.size).astype(str).astype(object)
        dimension = by or "exposure"
    w = _weights(w)
    order = np.lexsort((names.astype(str), -w))
    w, names = w[order], names[order]
    shares = w / w.sum()
    h = float(np.dot(shares, shares))
    return Concentration(
        dimension=dimension,
        names=tuple(str(x) for x in names),
        exposures=w,
        shares=shares,
        hhi=h,
        effective_number=1.0 / h,
        top_shares=tuple((int(k), float(shares[: int(k)].sum())) for k in top),
        gini=gini(w),
        largest_name=str(names[0]),
        largest_share=float(shares[0]),
    )
