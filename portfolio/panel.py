"""Loan-level monthly performance panels: readers, validation and event definitions.

A :class:`LoanPanel` holds one pool's monthly history as a struct of arrays: static loan
attributes of shape ``(n_loans,)`` and monthly series of shape ``(n_loans, n_months)`` for panel
months ``1..n_months`` after the cut-off (month 0). Two readers produce it:

- :func:`read_ally_panel`: the wide format of the Ally Auto Receivables Trust panels of
  Lautier, Pozdnyakov & Yan (2024): the first reporting month's EX-102 columns, then
  ``BALk``, ``PRCk``, ``PMTk`` for ``k = 1..N``;
- :func:`read_long_panel`: a canonical long format, one row per loan and month
  (:data:`LONG_REQUIRED` and :data:`LONG_OPTIONAL`).

:func:`panel_events` turns a panel into one competing-risk outcome per loan (prepaid,
defaulted, matured or censored) with explicit rules; ``docs/calibration.md`` documents them.

References
----------
Lautier, J. P., Pozdnyakov, V. and Yan, J. (2024), "On the convergence of credit risk in current
consumer automobile loans", *Journal of the Royal Statistical Society Series A*,
doi:10.1093/jrsssa/qnae137 (source of the Ally panels).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from portfolio._io import atomic_write
from portfolio.credit_score import parse_credit_scores
from portfolio.errors import InputError, Problem

__all__ = [
    "CENSORED",
    "DEFAULTED",
    "EVENT_NAMES",
    "LONG_OPTIONAL",
    "LONG_REQUIRED",
    "MATURED",
    "PREPAID",
    "QUARANTINE_COLUMNS",
    "EventRules",
    "LoanPanel",
    "PanelEvents",
    "QuarantinedLoan",
    "default_quarantine_path",
    "missed_payment_runs",
    "payments_behind",
    "panel_events",
    "read_ally_panel",
    "read_long_panel",
    "read_panel",
    "scheduled_principal",
]

CENSORED, PREPAID, DEFAULTED, MATURED = 0, 1, 2, 3
EVENT_NAMES: tuple[str, ...] = ("censored", "prepaid", "defaulted", "matured")
"""Outcome labels; :attr:`PanelEvents.kind` stores the index into this tuple."""

ZERO_BALANCE_TOLERANCE = 0.005
"""A balance at or below this (USD) is zero."""

MAX_PROBLEMS = 20
"""At most this many problems are listed in one :class:`InputError`."""

ALLY_STATIC: dict[str, str] = {
    "assetNumber": "loan_id",
    "originalInterestRatePercentage": "rate",
    "originalLoanTerm": "original_term",
    "remainingTermtoMaturityNumber": "remaining_term",
    "reportingPeriodActualEndBalanceAmount": "cutoff_balance",
    "reportingPeriodScheduledPaymentAmount": "scheduled_payment",
}
"""Required EX-102 columns of the Ally wide format and their canonical names."""

ALLY_OPTIONAL: dict[str, str] = {
    "obligorCreditScore": "fico",
    "vehicleNewUsedCode": "vehicle_new",
    "originalLoanAmount": "original_balance",
    "vehicleValueAmount": "vehicle_value",
    "paymentToIncomePercentage": "pti",
    "obligorGeographicLocation": "state",
    "reportingPeriodBeginningDate": "cutoff_month",
}
"""Optional EX-102 columns of the Ally wide format (missing ones default to unknown)."""

LONG_REQUIRED: tuple[str, ...] = (
    "loan_id", "period", "balance", "principal_paid", "total_paid", "rate", "original_term",
    "age",
)
"""Required long-format columns. ``period`` counts months after the cut-off (1, 2, ...; an
optional period-0 row gives the cut-off balance); ``balance`` is the ending balance (USD);
``age`` is the loan age in months in that period (``original_term - remaining term`` at the
start of the month plus one, the payment number)."""

LONG_OPTIONAL: tuple[str, ...] = (
    "zero_balance_code", "scheduled_payment", "fico", "vehicle_new", "original_balance",
    "vehicle_value", "pti", "state",
)
"""Optional long-format columns; ``zero_balance_code`` uses the EX-102 codes (1 prepaid or
matured, 2 third-party sale, 3 repurchased, 4 charged off, 5 servicing transfer, 99 unknown)."""

_STATIC_FLOAT = ("fico", "original_balance", "vehicle_value", "pti")

OnError = Literal["raise", "reject"]
MSG_BAD_ON_ERROR = "on_error must be 'raise' or 'reject', got {value!r}"
MSG_ALL_QUARANTINED = "every one of the {n} loans has an impossible history; nothing to read"
QUARANTINE_COLUMNS = ("loan_id", "row", "field", "reason")
"""Columns of the quarantine sidecar CSV (one row per loan and reason)."""


@dataclass(frozen=True)
class QuarantinedLoan:
    """A loan left out of a panel because its history is impossible.

    ``row`` is the 1-based data row (Ally: the loan's row; long format: its first row),
    ``field`` the columns concerned and ``reason`` what is wrong, with the panel month.
    """

    loan_id: str
    row: int
    field: str
    reason: str

    def problem(self) -> Problem:
        """The same finding as a :class:`Problem` (how ``on_error="raise"`` reports it)."""
        return Problem(self.row, self.field, f"{self.reason} of loan {self.loan_id!r}")


@dataclass(frozen=True, eq=False)
class LoanPanel:
    """Monthly loan-level performance after a cut-off date (struct of arrays).

    Static arrays have shape ``(n_loans,)``; monthly arrays ``(n_loans, n_months)`` with column
    ``m - 1`` holding panel month ``m`` (month 0 is the cut-off). Money in USD, rates annual
    decimals, ages and terms in months.

    Attributes
    ----------
    loan_id : numpy.ndarray
        Loan identifiers (object).
    rate : numpy.ndarray
        APR, annual decimal.
    original_term : numpy.ndarray
        Original term (int64).
    age0 : numpy.ndarray
        Loan age at the cut-off (int64): ``original_term`` minus the remaining term. The loan's
        age in panel month ``m`` is ``age0 + m`` (the payment number, the engine's convention).
    cutoff_balance : numpy.ndarray
        Balance at the end of month 0 (or before the loan's first month), USD.
    scheduled_payment : numpy.ndarray
        Contractual monthly payment, USD (level annuity from the cut-off when not given).
    first_month : numpy.ndarray
        First panel month with data (int64, >= 1).
    balance, principal_paid, total_paid : numpy.ndarray
        Ending balance, principal collected and total amount paid per month; NaN when the loan
        is not in the panel that month (before its first month or after its exit).
    zero_balance_code : numpy.ndarray
        EX-102 zero-balance code per month (int16), 0 when not reported.
    fico, original_balance, vehicle_value, pti : numpy.ndarray
        Credit score, amount financed (USD), vehicle value (USD), payment-to-income (decimal);
        NaN = unknown.
    vehicle_new : numpy.ndarray
        True for a new vehicle (bool).
    state : numpy.ndarray
        Obligor state (object).
    recoveries : numpy.ndarray
        Cash recovered on defaulted loans per month (USD; the Ally panels' ``RECk`` +
        ``REPk``, recoveries and repossession proceeds, also after the loan's exit); 0 when the
        data has none.
    cutoff_month : numpy.datetime64
        Calendar month of month 0 when known (NaT otherwise).
    source : str
        File the panel was read from.
    quarantined : tuple of QuarantinedLoan
        Loans left out under ``on_error="reject"`` (impossible histories), with their reasons.
    score_counts : dict
        Credit scores read as unknown (NaN) by reason
        (:func:`portfolio.credit_score.parse_credit_scores`).
    """

    loan_id: np.ndarray
    rate: np.ndarray
    original_term: np.ndarray
    age0: np.ndarray
    cutoff_balance: np.ndarray
    scheduled_payment: np.ndarray
    first_month: np.ndarray
    balance: np.ndarray
    principal_paid: np.ndarray
    total_paid: np.ndarray
    zero_balance_code: np.ndarray
    fico: np.ndarray
    original_balance: np.ndarray
    vehicle_value: np.ndarray
    pti: np.ndarray
    vehicle_new: np.ndarray
    state: np.ndarray
    recoveries: np.ndarray | None = None
    cutoff_month: np.datetime64 = np.datetime64("NaT", "M")
    source: str = "<panel>"
    quarantined: tuple[QuarantinedLoan, ...] = ()
    score_counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.recoveries is None:
            object.__setattr__(self, "recoveries", np.zeros(self.balance.shape))
        n = self.loan_id.shape[0]
        for f in fields(self):
            arr = getattr(self, f.name)
            if not isinstance(arr, np.ndarray) or arr.ndim == 0:
                continue
            if arr.shape[0] != n or (arr.ndim == 2 and arr.shape != self.balance.shape):
                raise ValueError(f"LoanPanel.{f.name} has shape {arr.shape}, loans {n}")
            arr.setflags(write=False)

    @property
    def n_loans(self) -> int:
        """Number of loans."""
        return int(self.loan_id.shape[0])

    @property
    def n_months(self) -> int:
        """Number of panel months after the cut-off."""
        return int(self.balance.shape[1])

    def select(self, keep: np.ndarray) -> LoanPanel:
        """The loans where ``keep`` (bool, shape ``(n_loans,)``) is true."""
        n = self.n_loans
        return replace(self, **{
            f.name: getattr(self, f.name)[keep] for f in fields(self)
            if isinstance(getattr(self, f.name), np.ndarray)
            and getattr(self, f.name).ndim >= 1 and getattr(self, f.name).shape[0] == n
        })

    def balance_at(self, month: int) -> np.ndarray:
        """Ending balance of panel month ``month`` (0 = the cut-off), NaN when absent.

        At month 0 only loans whose first month is 1 are present (a loan of a long panel that
        enters later has no cut-off row of its own).
        """
        if month == 0:
            return np.where(self.first_month == 1, self.cutoff_balance, np.nan)
        return np.asarray(self.balance[:, month - 1])

    def through(self, month: int) -> LoanPanel:
        """The panel as known at the end of ``month`` (months after it dropped)."""
        if not 1 <= month <= self.n_months:
            raise InputError(self.source, Problem(
                None, "month", f"must lie in 1..{self.n_months}, got {month}"))
        cut = {name: getattr(self, name)[:, :month]
               for name in ("balance", "principal_paid", "total_paid", "zero_balance_code",
                            "recoveries")}
        return replace(self, **cut)

    def prior_balance(self) -> np.ndarray:
        """Balance at the start of each month, shape ``(n_loans, n_months)`` (NaN = absent)."""
        prev = np.empty_like(self.balance)
        prev[:, 1:] = self.balance[:, :-1]
        prev[:, 0] = np.nan
        first = self.first_month - 1
        prev[np.arange(self.n_loans), first] = self.cutoff_balance
        return prev

    def pool_balance(self) -> np.ndarray:
        """Panel pool balance by month (NaN counts as 0), shape ``(n_months,)``, USD."""
        return np.asarray(np.nansum(self.balance, axis=0))


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _level_payment(balance: np.ndarray, rate: np.ndarray, n: np.ndarray) -> np.ndarray:
    r = rate / 12.0
    n = np.maximum(n, 1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pay = np.where(r > 0, balance * r / (1.0 - (1.0 + r) ** -n), balance / n)
    return np.asarray(pay)


def scheduled_principal(prior_balance: np.ndarray, rate: np.ndarray,
                        payment: np.ndarray) -> np.ndarray:
    """Contractual principal of a level payment: ``min(B, max(P - B r/12, 0))``.

    Parameters
    ----------
    prior_balance : numpy.ndarray
        Balance at the start of the month, shape ``(n_loans, n_months)``, USD.
    rate, payment : numpy.ndarray
        APR (annual decimal) and monthly payment (USD), shape ``(n_loans,)``.
    """
    interest = prior_balance * (rate[:, None] / 12.0)
    return np.asarray(np.minimum(prior_balance, np.maximum(payment[:, None] - interest, 0.0)))


def _numeric(frame: pd.DataFrame, column: str, source: str, problems: list[Problem],
             row_offset: int = 1) -> np.ndarray:
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna() & (raw.astype(str).str.strip().str.upper() != "NA")
    for i in np.flatnonzero(bad.to_numpy())[:MAX_PROBLEMS]:
        problems.append(Problem(int(i) + row_offset, column,
                                f"expected a number, got {raw.iloc[i]!r}"))
    return np.asarray(values.to_numpy(dtype=float))


def _fill_paid(balance: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Amounts missing in a month with a balance were not collected: 0; without one: NaN."""
    present = ~np.isnan(balance)
    return np.where(present, np.nan_to_num(amount, nan=0.0), np.nan)


def _drop_after_exit(balance: np.ndarray, *amounts: np.ndarray) -> list[np.ndarray]:
    """Clip an overpaid payoff's negative balance to 0; blank (NaN) the rows after the exit.

    Some servicers repeat zero-balance rows or report refunds after the payoff.
    """
    zero = ~np.isnan(balance) & (balance <= ZERO_BALANCE_TOLERANCE)
    after = np.cumsum(zero, axis=1) - zero > 0
    balance = np.where(zero, 0.0, balance)
    return [np.where(after, np.nan, a) for a in (balance, *amounts)]


def _raise(source: str, problems: list[Problem]) -> None:
    if problems:
        raise InputError(source, problems[:MAX_PROBLEMS])


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(str(path), "file not found")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=["", "NA", "NaN"])
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(str(path), f"not a readable CSV file: {exc}") from None


def _check_monthly(loan_id: np.ndarray, balance: np.ndarray, principal: np.ndarray,
                   paid: np.ndarray, first: np.ndarray, row_of: np.ndarray,
                   field: str) -> list[tuple[int, QuarantinedLoan]]:
    """Shared monthly rules: values present exactly from the first month until the exit.

    Returns every broken rule of every loan as ``(loan index, finding)``, in loan order.
    """
    found: list[tuple[int, QuarantinedLoan]] = []

    def flag(i: int | np.integer, reason: str) -> None:
        found.append((int(i), QuarantinedLoan(str(loan_id[i]), int(row_of[i]), field, reason)))

    n, t = balance.shape
    months = np.arange(1, t + 1)[None, :]
    present = ~np.isnan(balance)
    mismatch = ~present & ((np.nan_to_num(principal) != 0) | (np.nan_to_num(paid) != 0))
    for i in np.flatnonzero(mismatch.any(axis=1)):
        flag(i, f"principal or total paid without a balance (month "
                f"{int(np.argmax(mismatch[i])) + 1})")
    # A negative balance is an overpaid payoff (the refund follows): it ends the loan like a
    # zero balance. Negative principal before the exit is an error.
    zero = present & (balance <= ZERO_BALANCE_TOLERANCE)
    after_zero = np.cumsum(zero, axis=1) - zero > 0
    neg = ~after_zero & (principal < -ZERO_BALANCE_TOLERANCE)
    for i in np.flatnonzero(neg.any(axis=1)):
        flag(i, f"negative principal in month {int(np.argmax(neg[i])) + 1}")
    # Present months form one run starting at the first month; a zero balance ends it.
    before = present & (months < first[:, None])
    gap = present & ~np.concatenate([np.ones((n, 1), bool), present[:, :-1]], axis=1)
    gap &= months > first[:, None]
    after = after_zero & present & (balance > ZERO_BALANCE_TOLERANCE)
    for mask, what in ((before, "data before the loan's first month"),
                       (after, "a positive balance after the balance reached zero"),
                       (gap, "a gap in the monthly series")):
        for i in np.flatnonzero(mask.any(axis=1)):
            flag(i, f"{what} (month {int(np.argmax(mask[i])) + 1})")
    found.sort(key=lambda item: item[0])
    return found


def _quarantine(source: str, found: list[tuple[int, QuarantinedLoan]], n_loans: int,
                on_error: OnError) -> tuple[np.ndarray, tuple[QuarantinedLoan, ...]]:
    """Loans to keep (bool ``(n_loans,)``) and the quarantined findings, or raise.

    ``"raise"``: any finding raises one :class:`InputError` listing them (the first
    ``MAX_PROBLEMS``). ``"reject"``: the loans with findings are left out; every loan left out
    raises too, because an empty panel cannot be calibrated or backtested.
    """
    if found and on_error == "raise":
        problems = [q.problem() for _, q in found[:MAX_PROBLEMS]]
        if len(found) > MAX_PROBLEMS:
            problems.append(Problem(None, "", f"... {len(found)} problems in all; "
                                    "on_error='reject' (--on-error reject) quarantines the "
                                    "loans concerned"))
        raise InputError(source, problems)
    keep = np.ones(n_loans, dtype=bool)
    keep[[i for i, _ in found]] = False
    if n_loans and not keep.any():
        summary = Problem(None, "", MSG_ALL_QUARANTINED.format(n=n_loans))
        raise InputError(source, [summary, *(q.problem() for _, q in found[:MAX_PROBLEMS])])
    return keep, tuple(q for _, q in found)


# ---------------------------------------------------------------------------------------------
# Ally wide format
# ---------------------------------------------------------------------------------------------


def read_ally_panel(path: str | Path, frame: pd.DataFrame | None = None, *,
                    on_error: OnError = "raise") -> LoanPanel:
    """Read an Ally Auto Receivables Trust panel (wide format) into a :class:`LoanPanel`.

    Month 0 is the first reporting month of the EX-102 columns (its ending balance
    ``reportingPeriodActualEndBalanceAmount`` is the cut-off balance and
    ``remainingTermtoMaturityNumber`` the remaining term after it); ``BALk``, ``PRCk`` and
    ``PMTk`` are month ``k``. Loans whose balance is already zero at the cut-off are dropped.
    Credit scores are parsed as the EX-102 importer does ("None", "0" and implausible values
    are unknown; :mod:`portfolio.credit_score`).

    Loans with impossible histories (gaps, a positive balance after zero, payments without a
    balance, negative principal) raise under ``on_error="raise"``; under ``"reject"`` they are
    left out and listed in :attr:`LoanPanel.quarantined`.

    Raises
    ------
    InputError
        Missing columns, non-numeric values, negative balances, or (under ``"raise"``) monthly
        series with gaps or values after the balance reached zero (naming the CSV row,
        1 = first loan).
    """
    path = Path(path)
    source = str(path)
    if frame is None:
        frame = _read_csv(path)
    months = sorted(int(m.group(1)) for c in frame.columns
                    if (m := re.fullmatch(r"BAL(\d+)", str(c))))
    missing = [c for c in ALLY_STATIC if c not in frame.columns]
    if months != list(range(1, len(months) + 1)) or not months:
        missing.append("BAL1..BALN (consecutive)")
    missing += [f"{p}{k}" for k in months for p in ("PRC", "PMT") if f"{p}{k}" not in frame.columns]
    if missing:
        raise InputError(source, Problem(None, ", ".join(missing[:8]), "required column missing"))
    problems: list[Problem] = []
    static = {canon: _numeric(frame, col, source, problems)
              for col, canon in ALLY_STATIC.items() if canon != "loan_id"}
    loan_id = frame["assetNumber"].astype(str).str.strip().to_numpy(dtype=object)
    opt: dict[str, Any] = {}
    score_counts: Counter[str] = Counter()
    for col, canon in ALLY_OPTIONAL.items():
        if col not in frame.columns:
            continue
        if canon == "fico":
            opt[canon], score_counts = parse_credit_scores(frame[col])
        elif canon in _STATIC_FLOAT:
            opt[canon] = _numeric(frame, col, source, problems)
        elif canon == "vehicle_new":
            opt[canon] = pd.to_numeric(frame[col], errors="coerce").to_numpy() == 1
        elif canon == "cutoff_month":
            dates = pd.to_datetime(frame[col], format="%m-%d-%Y", errors="coerce").dropna()
            if len(dates):
                opt[canon] = np.datetime64(dates.iloc[0].strftime("%Y-%m"), "M")
        else:
            opt[canon] = frame[col].fillna("").astype(str).str.strip().to_numpy(dtype=object)
    balance = np.column_stack([_numeric(frame, f"BAL{k}", source, problems) for k in months])
    principal = np.column_stack([_numeric(frame, f"PRC{k}", source, problems) for k in months])
    paid = np.column_stack([_numeric(frame, f"PMT{k}", source, problems) for k in months])
    recovered = np.zeros(balance.shape)
    for prefix in ("REC", "REP"):
        if all(f"{prefix}{k}" in frame.columns for k in months):
            recovered += np.nan_to_num(np.column_stack(
                [_numeric(frame, f"{prefix}{k}", source, problems) for k in months]))
    _raise(source, problems)

    rows = np.arange(1, len(frame) + 1)
    for name in ("rate", "original_term", "remaining_term", "cutoff_balance"):
        for i in np.flatnonzero(np.isnan(static[name]))[:MAX_PROBLEMS]:
            problems.append(Problem(int(rows[i]), name, "value missing"))
    rate = static["rate"]
    for i in np.flatnonzero((rate < 0) | (rate >= 1))[:MAX_PROBLEMS]:
        problems.append(Problem(int(rows[i]), "originalInterestRatePercentage",
                                f"expected an annual decimal in [0, 1), got {rate[i]}"))
    term, rem = static["original_term"], static["remaining_term"]
    bad_term = (term < 1) | (rem < 0) | (rem > term)
    for i in np.flatnonzero(bad_term)[:MAX_PROBLEMS]:
        problems.append(Problem(int(rows[i]), "remainingTermtoMaturityNumber",
                                f"expected 0..originalLoanTerm ({term[i]:g}), got {rem[i]:g}"))
    _raise(source, problems)

    keep = static["cutoff_balance"] > ZERO_BALANCE_TOLERANCE
    first = np.ones(len(frame), dtype=np.int64)
    found = _check_monthly(loan_id[keep], balance[keep], principal[keep], paid[keep],
                           first[keep], rows[keep], "BALk/PRCk/PMTk")
    sound, quarantined = _quarantine(source, found, int(keep.sum()), on_error)
    keep[np.flatnonzero(keep)[~sound]] = False
    balance, principal, paid = _drop_after_exit(balance, principal, paid)
    principal, paid = _fill_paid(balance, principal), _fill_paid(balance, paid)
    n_keep = int(keep.sum())
    pay = static["scheduled_payment"][keep]
    fallback = _level_payment(static["cutoff_balance"][keep], rate[keep], rem[keep])
    pay = np.where(np.isfinite(pay) & (pay > 0), pay, fallback)

    def optional(name: str, default: Any, dtype: Any) -> np.ndarray:
        if name in opt:
            return np.asarray(opt[name])[keep].astype(dtype)
        return np.full(n_keep, default, dtype=dtype)

    return LoanPanel(
        loan_id=loan_id[keep],
        rate=rate[keep],
        original_term=term[keep].astype(np.int64),
        age0=(term - rem)[keep].astype(np.int64),
        cutoff_balance=static["cutoff_balance"][keep],
        scheduled_payment=pay,
        first_month=first[keep],
        balance=balance[keep],
        principal_paid=principal[keep],
        total_paid=paid[keep],
        zero_balance_code=np.zeros(balance[keep].shape, dtype=np.int16),
        fico=optional("fico", np.nan, float),
        original_balance=optional("original_balance", np.nan, float),
        vehicle_value=optional("vehicle_value", np.nan, float),
        pti=optional("pti", np.nan, float),
        vehicle_new=optional("vehicle_new", False, bool),
        state=optional("state", "", object),
        recoveries=recovered[keep],
        cutoff_month=opt.get("cutoff_month", np.datetime64("NaT", "M")),
        source=source,
        quarantined=quarantined,
        score_counts=dict(score_counts),
    )


# ---------------------------------------------------------------------------------------------
# Canonical long format
# ---------------------------------------------------------------------------------------------


def read_long_panel(path: str | Path, frame: pd.DataFrame | None = None, *,
                    on_error: OnError = "raise") -> LoanPanel:
    """Read a long-format panel (one row per loan and month) into a :class:`LoanPanel`.

    Columns: :data:`LONG_REQUIRED` and any of :data:`LONG_OPTIONAL`. A loan's static columns
    (rate, original_term, the optional attributes) must be the same on all its rows, and its age
    must rise by one per period. Without a period-0 row the cut-off balance is the first row's
    ``balance + principal_paid``. Credit scores (``fico``) are parsed as the EX-102 importer
    does; loans with impossible histories follow ``on_error`` as in :func:`read_ally_panel`.

    Raises
    ------
    InputError
        Missing columns, bad values, duplicate or missing periods, inconsistent static columns
        (naming the 1-based data row and column); impossible histories under ``"raise"``.
    """
    path = Path(path)
    source = str(path)
    if frame is None:
        frame = _read_csv(path)
    missing = [c for c in LONG_REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(source, Problem(None, ", ".join(missing), "required column missing"))
    if len(frame) == 0:
        raise InputError(source, "the panel has no rows")
    problems: list[Problem] = []
    num = {c: _numeric(frame, c, source, problems)
           for c in LONG_REQUIRED + LONG_OPTIONAL
           if c in frame.columns and c not in ("loan_id", "state", "vehicle_new", "fico")}
    score_counts: Counter[str] = Counter()
    if "fico" in frame.columns:
        num["fico"], score_counts = parse_credit_scores(frame["fico"])
    _raise(source, problems)
    rows = np.arange(1, len(frame) + 1)
    for c in ("period", "balance", "principal_paid", "total_paid", "rate", "original_term", "age"):
        for i in np.flatnonzero(np.isnan(num[c]))[:MAX_PROBLEMS]:
            problems.append(Problem(int(rows[i]), c, "value missing"))
    period = num["period"]
    for i in np.flatnonzero((period < 0) | (period != np.round(period)))[:MAX_PROBLEMS]:
        problems.append(Problem(int(rows[i]), "period",
                                f"expected an integer >= 0, got {period[i]}"))
    for i in np.flatnonzero((num["rate"] < 0) | (num["rate"] >= 1))[:MAX_PROBLEMS]:
        problems.append(Problem(int(rows[i]), "rate",
                                f"expected an annual decimal in [0, 1), got {num['rate'][i]}"))
    _raise(source, problems)

    ids = frame["loan_id"].astype(str).str.strip()
    order = np.lexsort((period, ids.to_numpy()))
    dup = pd.DataFrame({"id": ids, "p": period}).duplicated(keep="first").to_numpy()
    for i in np.flatnonzero(dup)[:MAX_PROBLEMS]:
        problems.append(Problem(int(rows[i]), "period",
                                f"loan {ids.iloc[i]!r} has period {period[i]:g} twice"))
    _raise(source, problems)
    codes, uniques = pd.factorize(ids, sort=False)
    n = len(uniques)
    p_int = period.astype(np.int64)
    n_months = int(p_int.max())
    if n_months < 1:
        raise InputError(source, Problem(None, "period", "no rows with period >= 1"))

    # Static columns: first row of each loan; every row must agree.
    first_row = np.full(n, -1, dtype=np.int64)
    for r in order[::-1]:
        first_row[codes[r]] = r

    def static(col: str, values: np.ndarray) -> np.ndarray:
        per_loan = values[first_row]
        same = (values == per_loan[codes]) | (pd.isna(values) & pd.isna(per_loan[codes]))
        for i in np.flatnonzero(~same)[:MAX_PROBLEMS]:
            problems.append(Problem(int(rows[i]), col,
                                    f"differs between rows of loan {ids.iloc[i]!r}"))
        return per_loan

    rate = static("rate", num["rate"])
    term = static("original_term", num["original_term"])
    age_minus_period = static("age", num["age"] - period)
    opt: dict[str, np.ndarray] = {}
    for c in _STATIC_FLOAT + ("scheduled_payment",):
        if c in num:
            opt[c] = static(c, num[c])
    if "state" in frame.columns:
        opt["state"] = static("state", frame["state"].fillna("").astype(str).to_numpy(object))
    if "vehicle_new" in frame.columns:
        words = frame["vehicle_new"].fillna("").astype(str).str.strip().str.lower()
        is_new = words.isin(["true", "1", "yes", "new"]).to_numpy()
        opt["vehicle_new"] = static("vehicle_new", is_new)
    _raise(source, problems)

    shape = (n, n_months)
    balance = np.full(shape, np.nan)
    principal = np.full(shape, np.nan)
    paid = np.full(shape, np.nan)
    zbc = np.zeros(shape, dtype=np.int16)
    m = p_int >= 1
    balance[codes[m], p_int[m] - 1] = num["balance"][m]
    principal[codes[m], p_int[m] - 1] = num["principal_paid"][m]
    paid[codes[m], p_int[m] - 1] = num["total_paid"][m]
    if "zero_balance_code" in num:
        z = np.nan_to_num(num["zero_balance_code"], nan=0.0).astype(np.int16)
        zbc[codes[m], p_int[m] - 1] = z[m]
    present = ~np.isnan(balance)
    has_month = present.any(axis=1)
    for i in np.flatnonzero(~has_month)[:MAX_PROBLEMS]:
        problems.append(Problem(int(first_row[i]) + 1, "period",
                                f"loan {uniques[i]!r} has no row with period >= 1"))
    _raise(source, problems)
    first = np.argmax(present, axis=1).astype(np.int64) + 1
    cutoff = balance[np.arange(n), first - 1] + principal[np.arange(n), first - 1]
    zero_rows = np.flatnonzero(p_int == 0)
    cutoff[codes[zero_rows]] = num["balance"][zero_rows]
    found = _check_monthly(uniques.to_numpy(dtype=object), balance, principal, paid, first,
                           first_row + 1, "balance/principal_paid/total_paid")
    sound, quarantined = _quarantine(source, found, n, on_error)
    balance, principal, paid = _drop_after_exit(balance, principal, paid)
    principal, paid = _fill_paid(balance, principal), _fill_paid(balance, paid)
    age0 = age_minus_period.astype(np.int64)  # age in period p is age0 + p
    rem = term - age0
    for i in np.flatnonzero(sound & ((rem < 1) | (age0 < 0)))[:MAX_PROBLEMS]:
        problems.append(Problem(int(first_row[i]) + 1, "age",
                                f"age {age0[i] + first[i]:g} in period {first[i]} is outside the "
                                f"original term {term[i]:g}"))
    _raise(source, problems)
    pay = opt.get("scheduled_payment", np.full(n, np.nan))
    pay = np.where(np.isfinite(pay) & (pay > 0), pay, _level_payment(cutoff, rate, rem))

    def get(name: str, default: Any, dtype: Any) -> np.ndarray:
        return opt[name].astype(dtype) if name in opt else np.full(n, default, dtype=dtype)

    return LoanPanel(
        loan_id=uniques.to_numpy(dtype=object),
        rate=rate,
        original_term=term.astype(np.int64),
        age0=age0,
        cutoff_balance=cutoff,
        scheduled_payment=pay,
        first_month=first,
        balance=balance,
        principal_paid=principal,
        total_paid=paid,
        zero_balance_code=zbc,
        fico=get("fico", np.nan, float),
        original_balance=get("original_balance", np.nan, float),
        vehicle_value=get("vehicle_value", np.nan, float),
        pti=get("pti", np.nan, float),
        vehicle_new=get("vehicle_new", False, bool),
        state=get("state", "", object),
        source=source,
        quarantined=quarantined,
        score_counts=dict(score_counts),
    ).select(sound)


def default_quarantine_path(path: str | os.PathLike[str]) -> Path:
    """Quarantine sidecar of a panel: ``<panel stem>.quarantine.csv`` beside it."""
    path = Path(path)
    return path.with_name(f"{path.stem}.quarantine.csv")


def read_panel(path: str | Path, fmt: str = "auto", *, on_error: OnError = "raise",
               quarantine_path: str | os.PathLike[str] | None = None) -> LoanPanel:
    """Read a panel file; ``fmt`` is ``"ally"``, ``"long"`` or ``"auto"`` (by its columns).

    ``on_error`` is the tape loader's policy (:func:`portfolio.loaders.load_tape`):
    ``"raise"`` refuses a file with an impossible loan history; ``"reject"`` quarantines those
    loans and writes their reasons (:data:`QUARANTINE_COLUMNS`, one row per loan and reason)
    to ``quarantine_path`` (default :func:`default_quarantine_path`; header only when none).
    """
    path = Path(path)
    if on_error not in ("raise", "reject"):
        raise InputError(str(path), Problem(None, "on_error",
                                            MSG_BAD_ON_ERROR.format(value=on_error)))
    frame = _read_csv(path)
    if fmt == "auto":
        fmt = "ally" if "BAL1" in frame.columns else "long"
    if fmt == "ally":
        panel = read_ally_panel(path, frame, on_error=on_error)
    elif fmt == "long":
        panel = read_long_panel(path, frame, on_error=on_error)
    else:
        raise InputError(str(path), Problem(None, "--format",
                                            f"expected ally, long or auto, got {fmt!r}"))
    if on_error == "reject":
        sidecar = Path(quarantine_path) if quarantine_path else default_quarantine_path(path)
        table = pd.DataFrame([[q.loan_id, q.row, q.field, q.reason] for q in panel.quarantined],
                             columns=list(QUARANTINE_COLUMNS))
        atomic_write(sidecar, lambda tmp: table.to_csv(tmp, index=False, encoding="utf-8"))
    return panel


# ---------------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRules:
    """How panel months become prepayment and default events.

    Attributes
    ----------
    missed_share : float
        A month is a missed payment when the total paid is below this share of the scheduled
        payment while the balance stays positive.
    payoff_share : float
        A zero balance is a payoff (prepayment, or maturity in the last scheduled month) when
        the principal collected that month is at least this share of the balance before it;
        otherwise the balance was removed without being paid: a charge-off.
    stall_months : int
        A run of missed payments still open at the end of the data that has lasted this many
        months counts as a default (rolled to charge-off) although the panel keeps its balance.
    """

    missed_share: float = 0.5
    payoff_share: float = 0.5
    stall_months: int = 6

    def __post_init__(self) -> None:
        if not 0.0 < self.missed_share <= 1.0:
            raise InputError("--missed-share", f"must lie in (0, 1], got {self.missed_share}")
        if not 0.0 < self.payoff_share <= 1.0:
            raise InputError("--payoff-share", f"must lie in (0, 1], got {self.payoff_share}")
        if self.stall_months < 1:
            raise InputError("--stall-months", f"must be >= 1, got {self.stall_months}")


@dataclass(frozen=True, eq=False)
class PanelEvents:
    """One competing-risk outcome per loan; arrays of shape ``(n_loans,)`` (int64).

    Attributes
    ----------
    entry : numpy.ndarray
        First panel month at risk.
    exit : numpy.ndarray
        Event month (prepayment: payoff month; default: first missed payment of the run that
        rolled to charge-off) or, for censored and matured loans, the last month at risk.
        ``exit < entry`` when the loan was never at risk.
    kind : numpy.ndarray
        Index into :data:`EVENT_NAMES`.
    chargeoff : numpy.ndarray
        Month the panel removed a defaulted loan's balance; 0 when a stalled default keeps it.
    n_months : int
        Months of data the outcomes are based on.
    """

    entry: np.ndarray
    exit: np.ndarray
    kind: np.ndarray
    chargeoff: np.ndarray
    n_months: int

    def counts(self) -> dict[str, int]:
        """Number of loans per outcome."""
        return {name: int(np.sum(self.kind == k)) for k, name in enumerate(EVENT_NAMES)}

    def at_risk(self, n_months: int) -> np.ndarray:
        """Boolean ``(n_loans, n_months)``: loan at risk in month ``m`` (column ``m - 1``)."""
        m = np.arange(1, n_months + 1)[None, :]
        return np.asarray((m >= self.entry[:, None]) & (m <= self.exit[:, None]))


def missed_payment_runs(panel: LoanPanel, rules: EventRules | None = None) -> np.ndarray:
    """Length of the run of missed payments ending in each month, ``(n_loans, n_months)``.

    A month is missed when the loan is present with a positive balance and the total paid is
    below ``rules.missed_share`` of the scheduled payment; a paid month resets the run to 0.
    """
    rules = rules or EventRules()
    n, t = panel.balance.shape
    present = ~np.isnan(panel.balance)
    missed = present & (panel.balance > ZERO_BALANCE_TOLERANCE) & (
        panel.total_paid < rules.missed_share * panel.scheduled_payment[:, None])
    run = np.zeros((n, t), dtype=np.int64)
    acc = np.zeros(n, dtype=np.int64)
    for k in range(t):
        acc = np.where(missed[:, k], acc + 1, 0)
        run[:, k] = acc
    return run


PAID_AHEAD_LIMIT = 3.0
"""Payments a borrower may pay ahead and then skip without falling behind (contractual
delinquency; see :func:`payments_behind`)."""


def payments_behind(panel: LoanPanel, rules: EventRules | None = None,
                    paid_ahead_limit: float = PAID_AHEAD_LIMIT) -> tuple[np.ndarray, np.ndarray]:
    """Contractual delinquency at each month's end, and what was paid beyond it.

    Arrears ``A_m = max(A_{m-1} + P - paid_m, -paid_ahead_limit * P)`` in USD, from 0 at the
    loan's first month (``P`` the scheduled payment, ``paid_m`` the total paid): an extra
    payment is credit against later ones up to ``paid_ahead_limit`` payments, and what is paid
    beyond that limit reduces the balance for good (a curtailment or payoff). The loan is
    ``floor(A_m / P + 1 - rules.missed_share)`` payments behind (floored at 0), so arrears of
    ``missed_share`` of a payment count as one missed payment, as in
    :func:`missed_payment_runs`.

    Returns
    -------
    tuple of numpy.ndarray
        Payments behind (int64) and the amount paid beyond the paid-ahead limit (USD), both
        ``(n_loans, n_months)``; 0 in months without a positive balance.
    """
    rules = rules or EventRules()
    n, t = panel.balance.shape
    pay = panel.scheduled_payment
    paid = np.nan_to_num(panel.total_paid)
    present = ~np.isnan(panel.balance) & (panel.balance > ZERO_BALANCE_TOLERANCE)
    arrears = np.zeros(n)
    behind = np.zeros((n, t), dtype=np.int64)
    beyond = np.zeros((n, t))
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(t):
            free = arrears + pay - paid[:, k]
            floor = -paid_ahead_limit * pay
            beyond[:, k] = np.where(present[:, k], np.maximum(floor - free, 0.0), 0.0)
            arrears = np.where(present[:, k], np.maximum(free, floor), 0.0)
            count = np.floor(arrears / pay + 1.0 - rules.missed_share)
            behind[:, k] = np.where(np.isfinite(count), np.maximum(count, 0), 0)
    return behind, beyond


def panel_events(panel: LoanPanel, rules: EventRules | None = None) -> PanelEvents:
    """Classify every loan's history into prepaid, defaulted, matured or censored.

    Rules (see :class:`EventRules` and ``docs/calibration.md``), using only the panel's months:

    - zero balance with ``zero_balance_code`` 1, or without a code and principal collected
      >= ``payoff_share`` of the prior balance: a payoff in that month, *matured* when it is
      the loan's last scheduled month (age >= original term), else *prepaid*;
    - zero balance with code 4, or without a code and less principal collected: a charge-off.
      The loan *defaulted* in the first month of the run of missed payments that ends just
      before the charge-off (the charge-off month itself when the month before was paid);
    - zero balance with another code (sale, repurchase, transfer): *censored* the month before;
    - a run of missed payments still open at the end of the data: *defaulted* at its first
      month when it has lasted ``stall_months``; otherwise *censored* the month before it began
      (its outcome is not yet known);
    - a loan the panel stops reporting before its last month, with a balance left, after
      recoveries came in: *defaulted* at the first month of the run open in its last reported
      month (that month when it was paid), charged off in its last reported month;
    - otherwise *censored* at the last month with data.
    """
    rules = rules or EventRules()
    n, t = panel.balance.shape
    prev = panel.prior_balance()
    present = ~np.isnan(panel.balance)
    zero = present & (panel.balance <= ZERO_BALANCE_TOLERANCE)
    run = missed_payment_runs(panel, rules)
    entry = panel.first_month.astype(np.int64)
    last = np.where(present.any(axis=1), t - np.argmax(present[:, ::-1], axis=1), 0)
    exit_ = last.copy()
    kind = np.full(n, CENSORED, dtype=np.int64)
    chargeoff = np.zeros(n, dtype=np.int64)

    has_zero = zero.any(axis=1)
    zi = np.flatnonzero(has_zero)
    zk = np.argmax(zero[zi], axis=1)  # 0-based month of the zero balance
    code = panel.zero_balance_code[zi, zk]
    principal = panel.principal_paid[zi, zk]
    payoff = (code == 1) | ((code == 0) & (principal >= rules.payoff_share * prev[zi, zk]))
    charged = (code == 4) | ((code == 0) & ~payoff)
    other = ~payoff & ~charged
    month = zk + 1
    matured = panel.age0[zi] + month >= panel.original_term[zi]
    kind[zi[payoff & matured]] = MATURED
    kind[zi[payoff & ~matured]] = PREPAID
    exit_[zi[payoff]] = month[payoff]
    run_before = np.where(zk > 0, run[zi, np.maximum(zk - 1, 0)], 0)
    kind[zi[charged]] = DEFAULTED
    exit_[zi[charged]] = (month - run_before)[charged]
    chargeoff[zi[charged]] = month[charged]
    exit_[zi[other]] = month[other] - 1

    # Loans without a zero balance: look at the run open at their last month.
    open_ = np.flatnonzero(~has_zero & (last > 0))
    open_run = run[open_, np.maximum(last[open_] - 1, 0)]
    stalled = open_run >= rules.stall_months
    kind[open_[stalled]] = DEFAULTED
    exit_[open_] = last[open_] - open_run  # the month before the open run began
    exit_[open_[stalled]] += 1  # a stalled run: the default month is its first month

    # Loans the panel drops before its last month while they still carry a balance, after
    # recoveries came in: the vehicle was repossessed and sold and the balance written off, but
    # the file stops reporting the loan instead of showing a zero balance. Charged off in the
    # last reported month; defaulted at the first missed payment of the run open then (that
    # month itself when it was paid).
    recoveries = panel.recoveries if panel.recoveries is not None else np.zeros((n, t))
    recovered = np.nansum(recoveries, axis=1) > 0.0
    dropped = (last[open_] < t) & recovered[open_]
    rows = open_[dropped]
    kind[rows] = DEFAULTED
    exit_[rows] = last[rows] - np.maximum(open_run[dropped], 1) + 1
    chargeoff[rows] = last[rows]
    return PanelEvents(entry=entry, exit=exit_, kind=kind, chargeoff=chargeoff, n_months=t)
