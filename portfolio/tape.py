"""The canonical loan tape: a frozen struct of NumPy arrays, one element per loan.

Columns, units and defaults are declared once in :data:`COLUMNS`; loaders, the Reg AB II importer
and the synthetic generator all produce a :class:`LoanTape` through :func:`tape_from_columns`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

PAYMENT_TYPES: tuple[str, ...] = ("level", "equal_principal", "balloon", "lease")
"""Payment-type labels; ``LoanTape.payment_type`` stores the index into this tuple (int8)."""

LEVEL, EQUAL_PRINCIPAL, BALLOON, LEASE = range(4)


@dataclass(frozen=True)
class Column:
    """Declaration of one canonical tape column."""

    name: str
    kind: str  # "float", "int", "str", "bool", "date", "ptype"
    unit: str
    required: bool
    default: Any
    doc: str


COLUMNS: tuple[Column, ...] = (
    Column("loan_id", "str", "-", True, None, "unique loan identifier"),
    Column("balance", "float", "USD", True, None, "current principal balance at the cut-off date"),
    Column("rate", "float", "annual decimal", True, None, "APR, 0.0725 = 7.25%"),
    Column("original_term", "int", "months", True, None, "original term to maturity"),
    Column("remaining_term", "int", "months", False, None,
           "remaining term; derived as original_term - age when absent"),
    Column("age", "int", "months", False, None,
           "months since origination; derived as original_term - remaining_term when absent"),
    Column("original_balance", "float", "USD", False, None,
           "amount financed; derived from balance by reversing the schedule when absent"),
    Column("payment_type", "ptype", "-", False, "level",
           "one of level, equal_principal, balloon, lease"),
    Column("balloon_amount", "float", "USD", False, 0.0,
           "final balloon payment, or the residual value of a lease (alias residual_value)"),
    Column("fico", "float", "score", False, np.nan, "obligor credit score; NaN = unknown"),
    Column("ltv", "float", "decimal", False, np.nan,
           "original loan-to-value, 1.05 = 105%; derived as original_balance / vehicle_value"),
    Column("pti", "float", "decimal", False, np.nan,
           "payment-to-income, 0.12 = 12%; NaN = unknown"),
    Column("vehicle_value", "float", "USD", False, np.nan,
           "vehicle value at origination; derived as original_balance / ltv"),
    Column("vehicle_new", "bool", "-", False, False,
           "True for a new vehicle; default False (used, the conservative choice)"),
    Column("vehicle_make", "str", "-", False, "", "manufacturer"),
    Column("vehicle_model", "str", "-", False, "", "model name"),
    Column("vehicle_year", "int", "year", False, 0, "model year; 0 = unknown"),
    Column("vehicle_type", "str", "-", False, "unknown", "car, truck, suv, van, motorcycle, other"),
    Column("state", "str", "-", False, "", "obligor state, two-letter code"),
    Column("dealer_id", "str", "-", False, "", "originating dealer"),
    Column("origination_date", "date", "-", False, None, "origination date; NaT = unknown"),
    Column("days_past_due", "int", "days", False, 0, "days past due at the cut-off date"),
    Column("segment", "str", "-", False, "all",
           "credit segment that selects the base hazard curve (e.g. prime, subprime)"),
    Column("loan_count", "int", "loans", False, 1,
           "loans a representative line stands for (prospectus rep lines); 1 = one loan"),
    Column("months_before_cutoff", "int", "months", False, 0,
           "whole months by which the line's own cut-off date precedes the pool's: its "
           "collections of those months are paid on the first payment date; 0 = the pool's"),
)
COLUMN_BY_NAME = {c.name: c for c in COLUMNS}
REQUIRED_COLUMNS = tuple(c.name for c in COLUMNS if c.required)

_DTYPES: dict[str, Any] = {
    "float": np.float64,
    "int": np.int64,
    "str": object,
    "bool": np.bool_,
    "date": "datetime64[D]",
    "ptype": np.int8,
}


@dataclass(frozen=True, eq=False)
class LoanTape:
    """Validated loan tape as a struct of arrays; every array has shape ``(n_loans,)``.

    Money in USD, rates as annual decimals, terms and ages in months. ``payment_type`` holds the
    index into :data:`PAYMENT_TYPES`. String columns are object arrays. See :data:`COLUMNS`
    for every column's unit and default.
    """

    loan_id: np.ndarray
    balance: np.ndarray
    rate: np.ndarray
    original_term: np.ndarray
    remaining_term: np.ndarray
    age: np.ndarray
    original_balance: np.ndarray
    payment_type: np.ndarray
    balloon_amount: np.ndarray
    fico: np.ndarray
    ltv: np.ndarray
    pti: np.ndarray
    vehicle_value: np.ndarray
    vehicle_new: np.ndarray
    vehicle_make: np.ndarray
    vehicle_model: np.ndarray
    vehicle_year: np.ndarray
    vehicle_type: np.ndarray
    state: np.ndarray
    dealer_id: np.ndarray
    origination_date: np.ndarray
    days_past_due: np.ndarray
    segment: np.ndarray
    loan_count: np.ndarray
    months_before_cutoff: np.ndarray

    def __post_init__(self) -> None:
        n = self.loan_id.shape[0]
        for f in fields(self):
            arr = getattr(self, f.name)
            if arr.shape != (n,):
                raise ValueError(f"LoanTape.{f.name} has shape {arr.shape}, expected ({n},)")
            arr.setflags(write=False)

    def __len__(self) -> int:
        return int(self.loan_id.shape[0])

    @property
    def n_loans(self) -> int:
        """Number of loans."""
        return len(self)

    @property
    def total_balance(self) -> float:
        """Current pool balance, USD."""
        return float(self.balance.sum())

    @property
    def monthly_rate(self) -> np.ndarray:
        """Monthly note rate ``rate / 12``, shape ``(n_loans,)``."""
        return self.rate / 12.0

    def payment_type_labels(self) -> np.ndarray:
        """Payment types as strings."""
        return np.asarray(PAYMENT_TYPES, dtype=object)[self.payment_type]

    def to_frame(self) -> pd.DataFrame:
        """Return the tape as a DataFrame with canonical column names and labels."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["payment_type"] = self.payment_type_labels()
        return pd.DataFrame(data)

    @property
    def is_rep_lines(self) -> bool:
        """Whether some line stands for more than one loan (``loan_count > 1``)."""
        return bool(self.loan_count.size and self.loan_count.max() > 1)

    def split_rep_lines(self, max_loans: int = 5_000_000) -> LoanTape:
        """One row per loan: each line repeated ``loan_count`` times, amounts divided by it.

        Balances, original balance, balloon amount and vehicle value are per loan afterwards;
        rates, terms, scores and ratios are the line's. Loan ids get ``#k`` (k = 1..count).

        Raises
        ------
        ValueError
            When the split tape would exceed ``max_loans`` loans.
        """
        counts = self.loan_count.astype(np.int64)
        total = int(counts.sum())
        if total > max_loans:
            raise ValueError(f"the rep lines stand for {total:,} loans, more than the "
                             f"{max_loans:,} a Monte Carlo run takes")
        index = np.repeat(np.arange(len(self)), counts)
        data = {f.name: getattr(self, f.name)[index] for f in fields(self)}
        share = 1.0 / counts[index]
        for name in ("balance", "original_balance", "balloon_amount", "vehicle_value"):
            data[name] = data[name] * share
        ordinal = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts) + 1
        data["loan_id"] = np.array([f"{i}#{k}" for i, k in zip(data["loan_id"], ordinal,
                                                                  strict=True)], dtype=object)
        data["loan_count"] = np.ones(total, dtype=np.int64)
        return LoanTape(**data)

    def subset(self, mask_or_index: np.ndarray) -> LoanTape:
        """Return the loans selected by a boolean mask or an index array."""
        return LoanTape(**{f.name: getattr(self, f.name)[mask_or_index] for f in fields(self)})

    def summary(self) -> dict[str, float]:
        """Headline pool statistics (balance-weighted averages)."""
        w = self.balance / self.balance.sum()

        def wavg(x: np.ndarray) -> float:
            ok = np.isfinite(x)
            return float(np.sum(w[ok] * x[ok]) / np.sum(w[ok])) if ok.any() else float("nan")

        return {
            "n_loans": float(len(self)),
            "total_balance": self.total_balance,
            "average_balance": float(self.balance.mean()),
            "wa_rate": wavg(self.rate),
            "wa_fico": wavg(self.fico),
            "wa_ltv": wavg(self.ltv),
            "wa_pti": wavg(self.pti),
            "wa_original_term": wavg(self.original_term.astype(float)),
            "wa_remaining_term": wavg(self.remaining_term.astype(float)),
            "wa_age": wavg(self.age.astype(float)),
            "share_new": float(np.sum(w * self.vehicle_new)),
            "share_30dpd": float(np.sum(w * (self.days_past_due >= 30))),
        }


def original_balance_from_current(
    balance: np.ndarray, rate: np.ndarray, original_term: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """Amount financed implied by a level-pay loan's current balance, USD.

    Reverses the annuity balance formula
    ``B_k = B_0 [(1+r)^n - (1+r)^k] / [(1+r)^n - 1]`` with monthly rate ``r = rate/12``.
    """
    r = np.asarray(rate, float) / 12.0
    n = np.asarray(original_term, float)
    k = np.asarray(age, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth_n = (1.0 + r) ** n
        factor = np.where(r > 0, (growth_n - (1.0 + r) ** k) / (growth_n - 1.0), (n - k) / n)
        out = np.where(factor > 0, balance / factor, balance)
    return np.asarray(out, dtype=np.float64)


def tape_from_columns(columns: dict[str, Any]) -> LoanTape:
    """Build a :class:`LoanTape` from already-validated canonical columns.

    Missing optional columns take their defaults; derived columns (age, remaining_term,
    original_balance, ltv, vehicle_value) are filled where absent or NaN. ``payment_type`` may be
    given as labels or int codes. The caller has validated values; this function only converts.
    """
    n = len(np.asarray(columns["loan_id"]))
    out: dict[str, np.ndarray] = {}
    for col in COLUMNS:
        value = columns.get(col.name)
        if col.kind == "ptype":
            if value is None:
                arr = np.zeros(n, np.int8)
            else:
                v = np.asarray(value)
                if v.dtype.kind in "iu":
                    arr = v.astype(np.int8)
                else:
                    lookup = {p: i for i, p in enumerate(PAYMENT_TYPES)}
                    arr = np.array([lookup[str(x)] for x in v], dtype=np.int8)
        elif value is None:
            if col.default is None and col.kind != "date":
                arr = np.zeros(n, _DTYPES[col.kind])  # derived below
            elif col.kind == "date":
                arr = np.full(n, np.datetime64("NaT"), "datetime64[D]")
            else:
                arr = np.full(n, col.default, dtype=_DTYPES[col.kind])
        else:
            arr = np.asarray(value)
            if col.kind == "str":
                arr = arr.astype(object)
            elif col.kind == "date":
                arr = arr.astype("datetime64[D]")
            else:
                arr = arr.astype(_DTYPES[col.kind])
        out[col.name] = np.ascontiguousarray(arr)

    have = {k for k, v in columns.items() if v is not None}
    if "age" not in have:
        out["age"] = out["original_term"] - out["remaining_term"]
    if "remaining_term" not in have:
        out["remaining_term"] = out["original_term"] - out["age"]
    if "original_balance" not in have:
        out["original_balance"] = original_balance_from_current(
            out["balance"], out["rate"], out["original_term"], out["age"]
        )
    else:
        ob = out["original_balance"]
        missing = ~np.isfinite(ob)
        if missing.any():
            ob = ob.copy()
            ob[missing] = original_balance_from_current(
                out["balance"], out["rate"], out["original_term"], out["age"]
            )[missing]
            out["original_balance"] = ob
    ltv, value = out["ltv"].copy(), out["vehicle_value"].copy()
    fill_ltv = ~np.isfinite(ltv) & np.isfinite(value) & (value > 0)
    ltv[fill_ltv] = out["original_balance"][fill_ltv] / value[fill_ltv]
    fill_value = ~np.isfinite(value) & np.isfinite(ltv) & (ltv > 0)
    value[fill_value] = out["original_balance"][fill_value] / ltv[fill_value]
    out["ltv"], out["vehicle_value"] = ltv, value
    return LoanTape(**out)
