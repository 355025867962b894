"""SEC Regulation AB II auto-loan asset data (Form ABS-EE, exhibit EX-102) to a :class:`LoanTape`.

:func:`import_regab` streams an EX-102 XML file record by record with constant memory: the
expat-based ``xml.etree.ElementTree.XMLPullParser`` (the machinery under ``iterparse``) is fed
64 KiB at a time, every finished ``<assets>`` record is converted and then deleted from the root,
so at most one chunk of records is ever held as elements. Converted values go into typed
``array.array`` buffers (repeated strings such as make, model and state are shared); the peak
memory of an import grows by about 700 bytes per active loan.

Loans with a ``zeroBalanceCode`` are not in the active pool: they are counted per code and left
out of the tape. Records that fail validation are rejected with the record number, the EX-102
element and the value, never dropped silently. The element mapping, code lists and unit rules
are documented in ``docs/regab.md``.

References
----------
SEC, EDGAR ABS XML Technical Specification v1.5 (auto loan asset data, code lists in section
4.1) and schema ``eis_ABS_AutoLoanAssetData.xsd``; Regulation AB, 17 CFR 229.1125, Schedule AL,
Item 3.
"""

from __future__ import annotations

import gc
import math
import xml.etree.ElementTree as ET
from array import array
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from portfolio.credit_score import parse_credit_score
from portfolio.errors import InputError, Problem
from portfolio.tape import BALLOON, LEVEL, LoanTape, tape_from_columns

AUTOLOAN_NAMESPACE = "http://www.sec.gov/edgar/document/absee/autoloan/assetdata"
"""XML namespace of EX-102 auto-loan asset data (files may also omit the namespace)."""
ROOT_ELEMENT = "assetData"
RECORD_ELEMENT = "assets"

# -- EX-102 elements read by the importer (Schedule AL Item 3 numbers in docs/regab.md) ----------
ASSET_NUMBER = "assetNumber"
END_BALANCE = "reportingPeriodActualEndBalanceAmount"
ORIGINAL_AMOUNT = "originalLoanAmount"
CURRENT_RATE = "reportingPeriodInterestRatePercentage"
ORIGINAL_RATE = "originalInterestRatePercentage"
ORIGINAL_TERM = "originalLoanTerm"
REMAINING_TERM = "remainingTermToMaturityNumber"
PAYMENT_TYPE = "paymentTypeCode"
CREDIT_SCORE = "obligorCreditScore"
PTI = "paymentToIncomePercentage"
VEHICLE_VALUE = "vehicleValueAmount"
NEW_USED = "vehicleNewUsedCode"
MAKE = "vehicleManufacturerName"
MODEL = "vehicleModelName"
MODEL_YEAR = "vehicleModelYear"
VEHICLE_TYPE = "vehicleTypeCode"
STATE = "obligorGeographicLocation"
ORIGINATION_DATE = "originationDate"
PERIOD_END = "reportingPeriodEndingDate"
DELINQUENCY = "currentDelinquencyStatus"
ZERO_BALANCE_CODE = "zeroBalanceCode"

ELEMENT_TO_COLUMN: dict[str, str] = {
    ASSET_NUMBER: "loan_id",
    END_BALANCE: "balance",
    ORIGINAL_AMOUNT: "original_balance",
    CURRENT_RATE: "rate",
    ORIGINAL_RATE: "rate",
    ORIGINAL_TERM: "original_term",
    REMAINING_TERM: "remaining_term",
    PAYMENT_TYPE: "payment_type",
    CREDIT_SCORE: "fico",
    PTI: "pti",
    VEHICLE_VALUE: "vehicle_value",
    NEW_USED: "vehicle_new",
    MAKE: "vehicle_make",
    MODEL: "vehicle_model",
    MODEL_YEAR: "vehicle_year",
    VEHICLE_TYPE: "vehicle_type",
    STATE: "state",
    ORIGINATION_DATE: "origination_date",
    PERIOD_END: "age",
    DELINQUENCY: "days_past_due",
}
"""EX-102 element -> tape column it feeds (``reportingPeriodEndingDate`` feeds ``age``)."""

# -- Code lists (EDGAR ABS XML Technical Specification v1.5, section 4.1) -------------------------
PAYMENT_TYPE_CODES: dict[str, int] = {
    "1": LEVEL,  # Bi-Weekly: modelled as a monthly level-pay loan
    "2": LEVEL,  # Monthly
    "3": LEVEL,  # Quarterly: modelled as a monthly level-pay loan
    "4": BALLOON,  # Balloon (EX-102 gives no balloon amount; the tape carries 0.0)
    "98": LEVEL,  # Other
}
VEHICLE_TYPE_CODES: dict[str, str] = {
    "1": "car",
    "2": "truck",
    "3": "suv",
    "4": "motorcycle",
    "98": "other",
    "99": "unknown",
}
NEW_USED_CODES: dict[str, bool] = {"1": True, "2": False}
ZERO_BALANCE_CODES: dict[str, str] = {
    "1": "prepaid or matured",
    "2": "third-party sale",
    "3": "repurchased or replaced",
    "4": "charged-off",
    "5": "servicing transfer",
    "99": "unavailable",
}
ZERO_BALANCE_WITHOUT_CODE = "none"
"""Key in ``zero_balance_counts`` for records with a zero end balance but no zeroBalanceCode."""

SEGMENT = "all"
"""Segment given to every imported loan (see docs/regab.md for why FICO is not used here)."""

OnError = Literal["raise", "reject"]

# -- Messages --------------------------------------------------------------------------------------
FILE_NOT_FOUND = "file not found"
NOT_XML = "not a well-formed XML file ({detail})"
EMPTY_FILE = "file is empty; expected an EX-102 <assetData> document"
WRONG_ROOT = (
    "root element is <{found}>, expected <assetData> of an EX-102 auto-loan asset data file"
)
WRONG_NAMESPACE = (
    "namespace {found!r} is not the EX-102 auto-loan namespace " + repr(AUTOLOAN_NAMESPACE)
)
BROKEN_RECORD = "broken XML{where}: {detail}; the file is truncated or malformed"
UNEXPECTED_ELEMENT = "unexpected element <{found}> under <assetData>; expected <assets>"
BAD_ON_ERROR = "on_error must be 'raise' or 'reject', got {value!r}"

_CHUNK_BYTES = 1 << 16
_NAN = math.nan
_MAX_TERM = 1200  # months; a sanity bound, far above any auto loan
_NO_DATE = np.iinfo(np.int64).min  # origination month index meaning "unknown" (NaT)


@dataclass(frozen=True, eq=False)
class RegabImport:
    """Result of :func:`import_regab`.

    Parameters
    ----------
    tape : LoanTape
        The active loans (no zero-balance code, validation passed), in file order.
    source : str
        The imported file.
    n_records : int
        ``<assets>`` records read.
    n_active : int
        Loans in ``tape``.
    zero_balance_counts : dict of str to int
        Records left out because their balance was reduced to zero, by ``zeroBalanceCode``
        (``"1"`` prepaid or matured, ``"4"`` charged-off, ...; repeated codes are joined with
        ``"+"``; :data:`ZERO_BALANCE_WITHOUT_CODE` for a zero end balance without a code).
    rejected : list of Problem
        One or more problems per rejected record; ``Problem.row`` is the 1-based record number
        and ``Problem.field`` the EX-102 element. Empty when ``on_error="raise"``.
    n_rejected : int
        Number of rejected records.
    coerced : dict of str to int
        Values accepted after a documented conversion, by kind: ``"fico_unknown"`` (no usable
        score, set to NaN), ``"pti_percent"`` and ``"rate_percent"`` (given in percent, divided by
        100), ``"pti_unknown"``, ``"vehicle_value_unknown"``, ``"original_balance_unknown"``,
        ``"vehicle_year_unknown"`` (non-positive or implausible values set to unknown).
    reporting_period_end : datetime.date or None
        The most common ``reportingPeriodEndingDate`` (the cut-off date of the tape).
    """

    tape: LoanTape
    source: str
    n_records: int
    n_active: int
    zero_balance_counts: dict[str, int]
    rejected: list[Problem]
    n_rejected: int
    coerced: dict[str, int] = field(default_factory=dict)
    reporting_period_end: date | None = None

    @property
    def n_zero_balance(self) -> int:
        """Records left out because of a zero balance."""
        return sum(self.zero_balance_counts.values())

    def rejected_frame(self) -> pd.DataFrame:
        """Rejected records as a DataFrame with columns ``record``, ``element``, ``message``."""
        return pd.DataFrame(
            {
                "record": [p.row for p in self.rejected],
                "element": [p.field for p in self.rejected],
                "message": [p.message for p in self.rejected],
            }
        )


def import_regab(path: str | Path, *, on_error: OnError = "raise") -> RegabImport:
    """Import an EX-102 auto-loan asset-data XML file as a loan tape.

    Parameters
    ----------
    path : str or Path
        EX-102 XML file (root ``<assetData>``, one ``<assets>`` element per loan).
    on_error : {"raise", "reject"}
        ``"raise"``: the first invalid record raises :class:`InputError`. ``"reject"``: invalid
        records are left out and listed in ``RegabImport.rejected``.

    Returns
    -------
    RegabImport
        The tape of active loans and the counts of every record left out.

    Raises
    ------
    InputError
        The file is missing, not XML, not EX-102 auto-loan data or truncated (message names the
        record and the last element read); or, with ``on_error="raise"``, a record is invalid
        (message names the record number, the element and the value).

    Notes
    -----
    Units: rates and payment-to-income become annual decimals (values above 1 are read as
    percent); terms in months; ``age`` is the months from ``originationDate`` to
    ``reportingPeriodEndingDate``. Memory of the parse is constant in the file size; the
    peak grows only with the tape, by about 700 bytes per active loan (buffers, id strings and
    the final arrays; the XML is about 3.7 KB per loan). The cyclic garbage collector is paused
    during the parse (see :func:`_gc_paused`).
    """
    if on_error not in ("raise", "reject"):
        message = BAD_ON_ERROR.format(value=on_error)
        raise InputError("import_regab", Problem(None, "on_error", message))
    source = str(path)
    builder = _TapeBuilder(source, raise_on_error=on_error == "raise")
    with _gc_paused():
        for record_number, element in iter_assets(path):
            builder.add(record_number, element)
    return builder.finish()


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector, restoring its previous state on exit.

    The parse allocates about 60 short-lived, acyclic elements per record, freed by reference
    counting; without the pause, the collector's periodic full passes over the heap (large after
    importing NumPy and pandas) take about half of the import time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def iter_assets(path: str | Path) -> Iterator[tuple[int, ET.Element]]:
    """Yield ``(record_number, <assets> element)`` from an EX-102 file with constant memory.

    Parameters
    ----------
    path : str or Path
        EX-102 XML file.

    Yields
    ------
    tuple of (int, xml.etree.ElementTree.Element)
        1-based record number and the finished record. The element is deleted from the tree
        after the consumer resumes the iterator: use it before asking for the next one.

    Raises
    ------
    InputError
        Missing file, not XML, wrong root element or namespace, or a broken record.
    """
    source = str(path)
    p = Path(path)
    if not p.is_file():
        raise InputError(source, FILE_NOT_FOUND)
    parser: ET.XMLPullParser[Any] = ET.XMLPullParser(events=("start",))
    # Only the first "start" event (the root) is needed. XMLPullParser queues events, and a
    # syntax error, in a deque; reading that deque directly avoids a Python generator step per
    # element (read_events). Fall back to read_events when the private attribute moves.
    queue = getattr(parser, "_events_queue", None)
    private_queue = isinstance(queue, deque)
    events: deque[Any] = queue if isinstance(queue, deque) else deque()

    root: ET.Element | None = None
    record_tag = ""
    n_done = 0
    n_bytes = 0
    with p.open("rb") as fh:
        while True:
            chunk = fh.read(_CHUNK_BYTES)
            n_bytes += len(chunk)
            error: ET.ParseError | None = None
            try:
                if chunk:
                    parser.feed(chunk)
                else:
                    parser.close()
                if not private_queue:  # pragma: no cover - other Python versions
                    events.extend(parser.read_events())
            except ET.ParseError as exc:
                error = exc
            if root is None:
                root = _first_element(events)
                if root is not None:
                    record_tag = _check_root(source, root.tag)
            if events and isinstance(events[-1], ET.ParseError):
                error = events[-1]
            if error is not None:
                raise _parse_error(source, error, root, n_done, n_bytes) from None
            events.clear()
            if root is None:
                if not chunk:
                    raise InputError(source, EMPTY_FILE)
                continue
            # Children before the last are finished; the last may still be open until close().
            n_finished = len(root) if not chunk else len(root) - 1
            if n_finished > 0:
                for elem in root[:n_finished]:
                    n_done += 1
                    if elem.tag != record_tag:
                        local = _local(elem.tag)
                        raise InputError(
                            source,
                            Problem(n_done, local, UNEXPECTED_ELEMENT.format(found=local)),
                        )
                    yield n_done, elem
                del root[:n_finished]
            if not chunk:
                return


def _first_element(events: deque[Any]) -> ET.Element | None:
    """Return the element of the first ("start", element) event queued, if any."""
    for event in events:
        if isinstance(event, tuple) and isinstance(event[-1], ET.Element):
            return event[-1]
    return None


def _local(tag: str) -> str:
    """Local name of a possibly namespaced tag ``{uri}name``."""
    return tag.rsplit("}", 1)[-1]


def _check_root(source: str, tag: str) -> str:
    """Validate the root tag and return the tag ``<assets>`` records carry."""
    namespace, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    if local != ROOT_ELEMENT:
        raise InputError(source, Problem(None, local, WRONG_ROOT.format(found=local)))
    if namespace and namespace != AUTOLOAN_NAMESPACE:
        raise InputError(source, Problem(None, local, WRONG_NAMESPACE.format(found=namespace)))
    return f"{{{namespace}}}{RECORD_ELEMENT}" if namespace else RECORD_ELEMENT


def _parse_error(
    source: str, exc: ET.ParseError, root: ET.Element | None, n_done: int, n_bytes: int
) -> InputError:
    """Return the InputError for an expat error, naming the record and the last element read."""
    if root is None:
        return InputError(source, EMPTY_FILE if n_bytes == 0 else NOT_XML.format(detail=exc))
    if not len(root):
        return InputError(source, Problem(n_done + 1, "", BROKEN_RECORD.format(where="",
                                                                              detail=exc)))
    current = root[-1]  # the record being read when the error occurred
    asset = current.findtext(f"{current.tag[: -len(RECORD_ELEMENT)]}{ASSET_NUMBER}")
    children = list(current)
    parts = [f"assetNumber {asset.strip()}"] if asset else []
    if children:
        parts.append(f"after <{_local(children[-1].tag)}>")
    where = f" ({', '.join(parts)})" if parts else ""
    record = n_done + len(root)
    return InputError(source, Problem(record, "", BROKEN_RECORD.format(where=where, detail=exc)))


class _LocalNames(dict[str, str]):
    """Cache: namespaced tag ``{uri}name`` -> local name ``name``."""

    def __missing__(self, tag: str) -> str:
        name = self[tag] = _local(tag)
        return name


_TAG = attrgetter("tag")
_TEXT = attrgetter("text")


class _Reject(Exception):
    """Internal: a record failed validation."""


class _TapeBuilder:
    """Validate records one at a time and append them to typed column buffers."""

    def __init__(self, source: str, *, raise_on_error: bool) -> None:
        self.source = source
        self.raise_on_error = raise_on_error
        self.n_records = 0
        self.zero_balance: Counter[str] = Counter()
        self.coerced: Counter[str] = Counter()
        self.period_ends: Counter[str] = Counter()
        self.rejected: list[Problem] = []
        self.n_rejected = 0
        self.seen: dict[str, int] = {}
        self.local_names = _LocalNames()
        self.month_years: dict[str, int | None] = {}
        self.period_months: dict[str, int | None] = {}
        self.strings: dict[str, str] = {}
        # Column buffers (one entry per active loan).
        self.loan_id: list[str] = []
        self.balance = array("d")
        self.rate = array("d")
        self.original_term = array("q")
        self.remaining_term = array("q")
        self.age = array("q")
        self.original_balance = array("d")
        self.payment_type = array("b")
        self.fico = array("d")
        self.pti = array("d")
        self.vehicle_value = array("d")
        self.vehicle_new = array("b")
        self.vehicle_make: list[str] = []
        self.vehicle_model: list[str] = []
        self.vehicle_year = array("q")
        self.vehicle_type: list[str] = []
        self.state: list[str] = []
        self.origination_month = array("q")  # months since 1970-01, _NO_DATE = unknown
        self.days_past_due = array("q")

    # -- per record ---------------------------------------------------------------------------

    def add(self, record: int, elem: ET.Element) -> None:
        """Validate one ``<assets>`` element and append it, count it or reject it."""
        self.n_records += 1
        # C-level loops: local element name -> text (None for an empty element).
        names = map(self.local_names.__getitem__, map(_TAG, elem))
        values = dict(zip(names, map(_TEXT, elem), strict=True))
        problems: list[Problem] = []
        try:
            self._add_record(record, values, elem, problems)
        except _Reject:
            self._reject(record, problems)

    def _reject(self, record: int, problems: list[Problem]) -> None:
        if self.raise_on_error:
            raise InputError(self.source, problems)
        self.n_rejected += 1
        self.rejected.extend(problems)

    def _add_record(
        self, record: int, v: dict[str, str | None], elem: ET.Element, problems: list[Problem]
    ) -> None:
        get = v.get
        loan_id = (get(ASSET_NUMBER) or "").strip()
        suffix = f" (assetNumber {loan_id})" if loan_id else ""

        def bad(element: str, message: str) -> None:
            problems.append(Problem(record, element, message + suffix))

        if not loan_id:
            bad(ASSET_NUMBER, "missing; every record needs its asset number")

        if get(ZERO_BALANCE_CODE) is not None:
            local_names = self.local_names
            codes = sorted({
                text.strip()
                for c in elem
                if local_names[c.tag] == ZERO_BALANCE_CODE and (text := c.text or "").strip()
            })
            if codes:
                for code in codes:
                    if code not in ZERO_BALANCE_CODES:
                        bad(ZERO_BALANCE_CODE, _unknown_code(code, ZERO_BALANCE_CODES))
                if problems:
                    raise _Reject
                self.zero_balance["+".join(codes)] += 1
                return

        # Required: balance, rate, original term.
        balance = _float(get(END_BALANCE))
        if balance is None or balance < 0.0:
            bad(END_BALANCE, _expected("the end-of-period balance in USD (>= 0)",
                                       get(END_BALANCE)))
            balance = 0.0
        elif balance == 0.0 and not problems:
            self.zero_balance[ZERO_BALANCE_WITHOUT_CODE] += 1
            return

        rate_element = CURRENT_RATE if get(CURRENT_RATE) is not None else ORIGINAL_RATE
        rate = _float(get(rate_element))
        if rate is None or not 0.0 <= rate <= 100.0:
            bad(rate_element, _expected(
                f"an annual rate in [0, 1] or percent in (1, 100] ({CURRENT_RATE} or "
                f"{ORIGINAL_RATE})", get(rate_element)))
            rate = 0.0
        elif rate > 1.0:
            rate /= 100.0
            self.coerced["rate_percent"] += 1

        original_term = _int(get(ORIGINAL_TERM))
        if original_term is None or not 0 < original_term <= _MAX_TERM:
            bad(ORIGINAL_TERM, _expected(f"the original term in months (1-{_MAX_TERM})",
                                         get(ORIGINAL_TERM)))
            original_term = 0

        # Dates, age and remaining term.
        period_end = get(PERIOD_END)
        end_month = None
        if period_end is not None:
            self.period_ends[period_end] += 1
            end_month = _cached(self.period_months, period_end, _period_month)
            if end_month is None:
                bad(PERIOD_END, _expected("a date MM-DD-YYYY", period_end))
        origination_text = get(ORIGINATION_DATE)
        origination = None
        if origination_text is not None:
            origination = _cached(self.month_years, origination_text, _month_year)
            if origination is None:
                bad(ORIGINATION_DATE, _expected("a date MM/YYYY", origination_text))
        age: int | None = None
        if origination is not None and end_month is not None:
            age = end_month - origination
            if age < 0:
                bad(ORIGINATION_DATE, f"origination {get(ORIGINATION_DATE)!r} is after the "
                    f"reporting period end {period_end!r}")

        if get(REMAINING_TERM) is not None:
            remaining = _int(get(REMAINING_TERM))
            if remaining is None or not 0 <= remaining <= _MAX_TERM:
                bad(REMAINING_TERM, _expected(f"the remaining term in months (0-{_MAX_TERM})",
                                              get(REMAINING_TERM)))
                remaining = 0
        elif age is not None:
            remaining = max(original_term - age, 0)
        else:
            bad(REMAINING_TERM, f"missing, and the loan age cannot be derived without "
                f"{ORIGINATION_DATE} and {PERIOD_END}")
            remaining = 0
        if age is None:
            age = max(original_term - remaining, 0)

        # Optional numbers: malformed text -> reject; implausible value -> unknown (counted).
        original_balance = self._optional_amount(v, ORIGINAL_AMOUNT, "original_balance", bad)
        vehicle_value = self._optional_amount(v, VEHICLE_VALUE, "vehicle_value", bad)
        pti = _NAN
        if get(PTI) is not None:
            value = _float(get(PTI))
            if value is None:
                bad(PTI, _expected("a payment-to-income ratio", get(PTI)))
            elif 0.0 < value <= 1.0:
                pti = value
            elif 1.0 < value <= 100.0:
                pti = value / 100.0
                self.coerced["pti_percent"] += 1
            else:
                self.coerced["pti_unknown"] += 1

        days_past_due = 0
        if get(DELINQUENCY) is not None:
            dpd = _int(get(DELINQUENCY))
            if dpd is None or dpd < 0:
                bad(DELINQUENCY, _expected("days past due (>= 0)", get(DELINQUENCY)))
            else:
                days_past_due = dpd

        # Codes.
        payment_type = _code(get(PAYMENT_TYPE), PAYMENT_TYPE_CODES, LEVEL)
        if payment_type is None:
            bad(PAYMENT_TYPE, _unknown_code(get(PAYMENT_TYPE), PAYMENT_TYPE_CODES))
            payment_type = LEVEL
        vehicle_new = _code(get(NEW_USED), NEW_USED_CODES, False)
        if vehicle_new is None:
            bad(NEW_USED, _unknown_code(get(NEW_USED), NEW_USED_CODES))
            vehicle_new = False
        vehicle_type = _code(get(VEHICLE_TYPE), VEHICLE_TYPE_CODES, "unknown")
        if vehicle_type is None:
            bad(VEHICLE_TYPE, _unknown_code(get(VEHICLE_TYPE), VEHICLE_TYPE_CODES))
            vehicle_type = "unknown"

        if loan_id and loan_id in self.seen:
            bad(ASSET_NUMBER, f"duplicate asset number, first seen in record {self.seen[loan_id]}")
        if problems:
            raise _Reject

        # Descriptors with documented fallbacks: these never reject a record.
        fico = self._credit_score(get(CREDIT_SCORE))
        year = self._model_year(get(MODEL_YEAR))
        intern = self.strings.setdefault
        make = (get(MAKE) or "").strip()
        model = (get(MODEL) or "").strip()
        state = (get(STATE) or "").strip().upper()

        self.seen[loan_id] = record
        self.loan_id.append(loan_id)
        self.balance.append(balance)
        self.rate.append(rate)
        self.original_term.append(original_term)
        self.remaining_term.append(remaining)
        self.age.append(age)
        self.original_balance.append(original_balance)
        self.payment_type.append(payment_type)
        self.fico.append(fico)
        self.pti.append(pti)
        self.vehicle_value.append(vehicle_value)
        self.vehicle_new.append(vehicle_new)
        self.vehicle_make.append(intern(make, make))
        self.vehicle_model.append(intern(model, model))
        self.vehicle_year.append(year)
        self.vehicle_type.append(vehicle_type)
        self.state.append(intern(state, state))
        self.origination_month.append(_NO_DATE if origination is None else origination)
        self.days_past_due.append(days_past_due)

    def _optional_amount(
        self, v: dict[str, str | None], element: str, column: str, bad: Callable[[str, str], None]
    ) -> float:
        """Return an optional USD amount: NaN if absent or <= 0 (counted); report bad text."""
        text = v.get(element)
        if text is None:
            return _NAN
        value = _float(text)
        if value is None:
            bad(element, _expected("an amount in USD", text))
            return _NAN
        if value <= 0.0:
            self.coerced[f"{column}_unknown"] += 1
            return _NAN
        return value

    def _credit_score(self, text: str | None) -> float:
        """Credit score as a float; NaN (counted) for "None", "0", words or implausible values."""
        score, reason = parse_credit_score(text)
        if reason is not None:
            self.coerced[reason] += 1
        return score

    def _model_year(self, text: str | None) -> int:
        """Model year as an int; 0 (counted) when not a plausible four-digit year."""
        if text is None:
            return 0
        year = _int(text)
        if year is not None and 1900 <= year <= 2100:
            return year
        self.coerced["vehicle_year_unknown"] += 1
        return 0

    # -- result -------------------------------------------------------------------------------

    def finish(self) -> RegabImport:
        """Convert the buffers into a :class:`LoanTape` and the import summary."""
        months = _np(self.origination_month, np.int64)
        origination = np.full(months.shape, np.datetime64("NaT"), "datetime64[D]")
        known = months != _NO_DATE
        origination[known] = months[known].astype("datetime64[M]").astype("datetime64[D]")
        columns: dict[str, Any] = {
            "loan_id": np.array(self.loan_id, dtype=object),
            "balance": _np(self.balance, np.float64),
            "rate": _np(self.rate, np.float64),
            "original_term": _np(self.original_term, np.int64),
            "remaining_term": _np(self.remaining_term, np.int64),
            "age": _np(self.age, np.int64),
            "original_balance": _np(self.original_balance, np.float64),
            "payment_type": _np(self.payment_type, np.int8),
            "fico": _np(self.fico, np.float64),
            "pti": _np(self.pti, np.float64),
            "vehicle_value": _np(self.vehicle_value, np.float64),
            "vehicle_new": _np(self.vehicle_new, np.int8).astype(bool),
            "vehicle_make": np.array(self.vehicle_make, dtype=object),
            "vehicle_model": np.array(self.vehicle_model, dtype=object),
            "vehicle_year": _np(self.vehicle_year, np.int64),
            "vehicle_type": np.array(self.vehicle_type, dtype=object),
            "state": np.array(self.state, dtype=object),
            "origination_date": origination,
            "days_past_due": _np(self.days_past_due, np.int64),
            "segment": np.full(len(self.loan_id), SEGMENT, dtype=object),
        }
        tape = tape_from_columns(columns)
        period_end = None
        if self.period_ends:
            period_end = _period_date(self.period_ends.most_common(1)[0][0])
        return RegabImport(
            tape=tape,
            source=self.source,
            n_records=self.n_records,
            n_active=len(tape),
            zero_balance_counts=dict(sorted(self.zero_balance.items())),
            rejected=self.rejected,
            n_rejected=self.n_rejected,
            coerced=dict(sorted(self.coerced.items())),
            reporting_period_end=period_end,
        )


# -- scalar parsers (return None for malformed text) -------------------------------------------


def _np(buffer: array, dtype: type) -> np.ndarray:
    """Copy an ``array.array`` buffer into a NumPy array of ``dtype``."""
    if len(buffer) == 0:
        return np.zeros(0, dtype)
    return np.frombuffer(buffer, dtype=dtype).copy()


def _float(text: str | None) -> float | None:
    """XSD decimal text to float; None when missing or malformed (NaN/inf are malformed)."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _int(text: str | None) -> int | None:
    """XSD integer text to int; accepts ``"75.0"``; None when missing or malformed."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        value = _float(text)
        if value is not None and value.is_integer():
            return int(value)
        return None


def _month_year(text: str | None) -> int | None:
    """``MM/YYYY`` to a month index (months since 1970-01); None when missing or malformed."""
    if text is None:
        return None
    month, sep, year = text.strip().partition("/")
    if sep and month.isdigit() and year.isdigit() and len(year) == 4 and 1 <= int(month) <= 12:
        return (int(year) - 1970) * 12 + int(month) - 1
    return None


def _period_date(text: str | None) -> date | None:
    """``MM-DD-YYYY`` (month and day may have one digit) to a date; None when malformed."""
    if text is None:
        return None
    parts = text.strip().split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[2]) != 4:
        return None
    try:
        return date(int(parts[2]), int(parts[0]), int(parts[1]))
    except ValueError:
        return None


def _month_index(day: date | None) -> int | None:
    """Months since 1970-01 of a date; None for None."""
    return None if day is None else (day.year - 1970) * 12 + day.month - 1


def _period_month(text: str) -> int | None:
    """``MM-DD-YYYY`` to a month index (months since 1970-01); None when malformed."""
    return _month_index(_period_date(text))


def _cached(
    cache: dict[str, int | None], text: str, parse: Callable[[str], int | None]
) -> int | None:
    """Parse ``text`` once per distinct value (dates repeat across a pool)."""
    try:
        return cache[text]
    except KeyError:
        value = cache[text] = parse(text)
        return value


def _code(text: str | None, codes: dict[str, Any], default: Any) -> Any:
    """Look up a code-list value: ``default`` when absent or blank, None when not in the list."""
    if text is None:
        return default
    value = codes.get(text)
    if value is None:
        token = text.strip()
        value = codes.get(token) if token else default
    return value


def _expected(what: str, text: str | None) -> str:
    """Message for a missing or malformed value."""
    if text is None:
        return f"missing; expected {what}"
    return f"expected {what}, got {text!r}"


def _unknown_code(text: str | None, codes: dict[str, Any]) -> str:
    """Message for a code outside its EX-102 code list."""
    return f"unknown code {text!r}; expected one of {', '.join(codes)}"
