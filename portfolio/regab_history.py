"""A sequence of monthly EX-102 files as loan-by-month arrays of the reported activity fields.

Each monthly SEC Reg AB II auto-loan asset file (Form ABS-EE, exhibit EX-102) reports, per loan,
the period's beginning and ending balance, scheduled and collected principal, the charged-off
principal, recoveries, the delinquency status and payment extensions. :func:`read_regab_history`
streams the files (:func:`portfolio.regab.iter_assets`, constant memory per file), orders them
by reporting period and lines the loans up by ``assetNumber``. The element meanings are those
of the SEC EDGAR ABS XML Technical Specification (Schedule AL, Item 3); ``docs/regab.md``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from portfolio.errors import InputError, Problem
from portfolio.regab import iter_assets

__all__ = ["HISTORY_FIELDS", "RegabHistory", "read_regab_history"]

HISTORY_FIELDS: dict[str, str] = {
    "reportingPeriodBeginningLoanBalanceAmount": "beginning_balance",
    "reportingPeriodActualEndBalanceAmount": "ending_balance",
    "scheduledPrincipalAmount": "scheduled_principal",
    "actualPrincipalCollectedAmount": "principal_collected",
    "chargedoffPrincipalAmount": "charged_off",
    "recoveredAmount": "recovered",
    "repossessedProceedsAmount": "repossession_proceeds",
    "currentDelinquencyStatus": "days_past_due",
    "paymentExtendedNumber": "payment_extended",
    "originalLoanTerm": "original_term",
    "remainingTermToMaturityNumber": "remaining_term",
}
"""EX-102 elements read per loan and month, and their names here (all optional but the two
balances; an absent amount is 0)."""

_REQUIRED = ("reportingPeriodBeginningLoanBalanceAmount", "reportingPeriodActualEndBalanceAmount")


@dataclass(frozen=True, eq=False)
class RegabHistory:
    """Reported monthly activity of the loans of a sequence of EX-102 files.

    ``values[name]`` has shape ``(n_loans, n_months)`` for each name of :data:`HISTORY_FIELDS`
    (USD, days, months; 0 where not reported); ``present`` is True where the loan is in that
    month's file. Month ``m`` (column ``m - 1``) is the ``m``-th reporting period;
    ``periods`` holds their ``reportingPeriodEndingDate`` months and ``sources`` the files.
    """

    loan_id: np.ndarray
    values: dict[str, np.ndarray]
    present: np.ndarray
    periods: tuple[str, ...]
    sources: tuple[str, ...]

    @property
    def n_months(self) -> int:
        """Number of reporting periods."""
        return int(self.present.shape[1])


def _number(text: str | None, source: str, record: int, element: str) -> float:
    if text is None or not text.strip():
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise InputError(source, Problem(record, element,
                                         f"expected a number, got {text.strip()!r}")) from None
    if not np.isfinite(value):
        raise InputError(source, Problem(record, element, f"expected a finite number, got "
                                         f"{text.strip()!r}"))
    return value


def _read_month(path: Path) -> tuple[str, dict[str, dict[str, float]]]:
    """One file: its reporting month (``YYYY-MM``) and ``assetNumber -> field values``."""
    source = str(path)
    loans: dict[str, dict[str, float]] = {}
    months: Counter[str] = Counter()
    for record, elem in iter_assets(path):
        text = {child.tag.rsplit("}", 1)[-1]: child.text for child in elem}
        asset = (text.get("assetNumber") or "").strip()
        if not asset:
            raise InputError(source, Problem(record, "assetNumber", "value missing"))
        if asset in loans:
            raise InputError(source, Problem(record, "assetNumber",
                                             f"asset {asset!r} appears twice in the file"))
        for element in _REQUIRED:
            if text.get(element) is None:
                raise InputError(source, Problem(record, element, "value missing"))
        end = (text.get("reportingPeriodEndingDate") or "").strip()
        parts = end.split("-")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise InputError(source, Problem(record, "reportingPeriodEndingDate",
                                             f"expected MM-DD-YYYY, got {end!r}"))
        months[f"{parts[2]}-{int(parts[0]):02d}"] += 1
        loans[asset] = {name: _number(text.get(element), source, record, element)
                        for element, name in HISTORY_FIELDS.items()}
    if not loans:
        raise InputError(source, "the file has no <assets> records")
    if len(months) > 1:
        raise InputError(source, Problem(None, "reportingPeriodEndingDate", (
            f"one reporting period per file expected, found {', '.join(sorted(months))}")))
    return next(iter(months)), loans


def read_regab_history(paths: list[str | Path]) -> RegabHistory:
    """Read monthly EX-102 files (any order) into a :class:`RegabHistory`.

    Raises
    ------
    InputError
        A file that is not EX-102 XML, a record without ``assetNumber`` or a balance, a
        non-numeric value (naming the file, record and element), two files of the same
        reporting period, or a gap between reporting periods.
    """
    if not paths:
        raise InputError("EX102_DIR", "no EX-102 .xml files given")
    months: dict[str, tuple[str, dict[str, dict[str, float]]]] = {}
    for path in paths:
        month, loans = _read_month(Path(path))
        if month in months:
            raise InputError(str(path), Problem(None, "reportingPeriodEndingDate", (
                f"reporting period {month} is also the period of {months[month][0]}")))
        months[month] = (str(path), loans)
    order = sorted(months)
    index = [int(m[:4]) * 12 + int(m[5:]) - 1 for m in order]
    for a, b, name in zip(index, index[1:], order[1:], strict=False):
        if b != a + 1:
            raise InputError(months[name][0], Problem(None, "reportingPeriodEndingDate", (
                f"period {name} does not follow the previous file's period; a month is "
                "missing")))
    ids = sorted({asset for _, loans in months.values() for asset in loans})
    row = {asset: i for i, asset in enumerate(ids)}
    shape = (len(ids), len(order))
    values = {name: np.zeros(shape) for name in HISTORY_FIELDS.values()}
    present = np.zeros(shape, dtype=bool)
    for k, month in enumerate(order):
        for asset, fields in months[month][1].items():
            i = row[asset]
            present[i, k] = True
            for name, value in fields.items():
                values[name][i, k] = value
    return RegabHistory(loan_id=np.array(ids, dtype=object), values=values, present=present,
                        periods=tuple(order), sources=tuple(months[m][0] for m in order))
