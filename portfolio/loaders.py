"""Loan-tape loaders: CSV and Parquet files into a validated :class:`~portfolio.tape.LoanTape`.

:func:`load_tape` reads a file, maps the user's column names onto the canonical ones, and hands
the frame to :func:`validate_frame`, the one validation every producer of a tape shares (file
loaders, the Reg AB II importer, the synthetic generator). Validation is vectorised: each rule is
one boolean mask over all rows; Python only loops over the failing rows to format messages.

Every problem is collected and reported with its 1-based record number (the first loan is row 1)
and canonical column. Under ``on_error="raise"`` one :class:`~portfolio.errors.InputError` lists
them all; under ``on_error="reject"`` the good rows load and the bad ones go to a sidecar CSV.
The rules, units and the sidecar format are documented in ``docs/tape.md``.
"""

from __future__ import annotations

import csv
import io
import os
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from portfolio._io import atomic_write
from portfolio.errors import InputError, Problem
from portfolio.tape import (
    BALLOON,
    COLUMN_BY_NAME,
    COLUMNS,
    EQUAL_PRINCIPAL,
    LEASE,
    LEVEL,
    PAYMENT_TYPES,
    REQUIRED_COLUMNS,
    LoanTape,
    tape_from_columns,
)

__all__ = [
    "ALIASES",
    "BOOL_WORDS",
    "CAPS",
    "DAYS_PAST_DUE_MAX",
    "LINE_MONEY_MAX",
    "MONEY_MAX",
    "NA_TOKENS",
    "TERM_MAX_MONTHS",
    "OnError",
    "TapeLoad",
    "default_reject_path",
    "load_tape",
    "validate_frame",
]

OnError = Literal["raise", "reject"]

# --------------------------------------------------------------------------------------------
# Formats, tokens and limits
# --------------------------------------------------------------------------------------------

CSV_SUFFIXES: tuple[str, ...] = (".csv",)
PARQUET_SUFFIXES: tuple[str, ...] = (".parquet", ".pq")
REJECT_SUFFIX = ".rejects.csv"
"""Default sidecar name: ``<tape stem>.rejects.csv`` next to the tape."""

NA_TOKENS: frozenset[str] = frozenset({"", "na", "nan", "null", "none"})
"""Cell texts read as missing, compared after stripping and lower-casing."""

ALIASES: Mapping[str, str] = {"residual_value": "balloon_amount"}
"""Accepted alternative names of canonical columns."""

BOOL_WORDS: Mapping[str, bool] = {
    "true": True, "false": False, "1": True, "0": False,
    "yes": True, "no": False, "new": True, "used": False,
}
"""Boolean-like texts of ``vehicle_new``, compared case-insensitively."""

RATE_MAX = 1.0
FICO_MIN, FICO_MAX = 300.0, 900.0
LTV_MAX = 3.0
PTI_MAX = 1.0
PERCENT_MAX = 100.0
"""Values above a decimal limit but at most this look like percentages and get a hint."""
BALANCE_TOLERANCE = 1.05
"""``balance`` may exceed ``original_balance`` by at most this factor (capitalised fees)."""
VEHICLE_YEAR_MIN, VEHICLE_YEAR_MAX = 1980, 2030
DATE_YEAR_MIN, DATE_YEAR_MAX = 1900, 2100
"""Dates outside these years are reported as impossible."""
AGE_TOLERANCE_MONTHS = 0
"""Allowed gap between ``age`` and ``original_term - remaining_term`` when both are given."""
MONEY_MAX = 10_000_000.0
"""Largest amount (USD) one loan's balance, original balance, balloon or vehicle value may hold:
a line's amount divided by its ``loan_count`` (1 when the tape has none)."""
LINE_MONEY_MAX = 1e11
"""Largest amount (USD) on one tape line: a representative line without a ``loan_count`` may
stand for a prospectus's whole hypothetical pool (a few $bn); 100 billion keeps sums finite."""
TERM_MAX_MONTHS = 360
"""Longest original or remaining term and oldest age, months (30 years: far beyond any auto
loan, the bound keeps the projection horizon and its arrays finite)."""
DAYS_PAST_DUE_MAX = 999
"""Largest ``days_past_due`` (three digits, as servicing systems carry it)."""
MONTHS_BEFORE_CUTOFF_MAX = 12
"""Largest ``months_before_cutoff``: a line's own cut-off at most a year before the pool's
(deals with two cut-off dates have them a month or two apart)."""
LOAN_COUNT_MAX = 5_000_000
"""Loans one representative line may stand for (the synthetic pool's limit): the Monte Carlo
splits rep lines into their loans, so the bound keeps that expansion allocatable."""
CAPS: Mapping[str, tuple[float, str]] = {
    "balance": (MONEY_MAX, "USD"),
    "original_balance": (MONEY_MAX, "USD"),
    "balloon_amount": (MONEY_MAX, "USD"),
    "vehicle_value": (MONEY_MAX, "USD"),
    "original_term": (TERM_MAX_MONTHS, "months"),
    "remaining_term": (TERM_MAX_MONTHS, "months"),
    "age": (TERM_MAX_MONTHS, "months"),
    "days_past_due": (DAYS_PAST_DUE_MAX, "days"),
    "loan_count": (LOAN_COUNT_MAX, "loans"),
    "months_before_cutoff": (MONTHS_BEFORE_CUTOFF_MAX, "months"),
}
"""Upper caps of the numeric columns that have no narrower range check, with their unit."""

_ISO_DATE = r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
_US_DATE = r"^(\d{1,2})/(\d{1,2})/(\d{4})$"
_MONTH_YEAR = r"^(\d{1,2})/(\d{4})$"

# --------------------------------------------------------------------------------------------
# Message templates
# --------------------------------------------------------------------------------------------

MSG_BAD_ON_ERROR = "on_error must be 'raise' or 'reject', got {value!r}"
MSG_UNKNOWN_SUFFIX = "unsupported tape format {suffix!r}, expected a file ending in {allowed}"
MSG_FILE_NOT_FOUND = "tape file not found"
MSG_NOT_A_FILE = "tape path is not a file"
MSG_UNREADABLE = "cannot read the file as {kind}: {error}"
MSG_REJECT_PATH_IS_TAPE = "reject_path must differ from the tape itself"
MSG_NO_ROWS = "the tape holds no loans"
MSG_ALL_REJECTED = "all {n_rows} rows were rejected{where}"

MSG_DUPLICATE_HEADER = "column name appears {count} times in the header"
MSG_MISSING_COLUMN = "required column is missing (the file has columns {found})"
MSG_NEED_TERM_COLUMN = "the file needs a remaining_term or an age column and has neither"
MSG_MAPPING_UNKNOWN_TARGET = (
    "the column mapping sends {user!r} to {target!r}, which is not a tape column "
    "(tape columns: {allowed})"
)
MSG_MAPPING_SOURCE_ABSENT = (
    "the column mapping names {user!r} for {target!r}, but the file has no column {user!r}"
)
MSG_SUPPLIED_TWICE = "supplied by more than one file column: {users}"

MSG_MISSING_VALUE = "required value is missing"
MSG_NOT_NUMBER = "expected a number, got {value}"
MSG_NOT_WHOLE = "expected a whole number of {unit}, got {value}"
MSG_NOT_BOOL = "expected a boolean-like value (one of {allowed}), got {value}"
MSG_BAD_DATE = (
    "impossible or unreadable date {value}, expected YYYY-MM-DD, MM/DD/YYYY or MM/YYYY"
)
MSG_UNKNOWN_PAYMENT_TYPE = "unknown payment type {value} (allowed: {allowed})"
MSG_NOT_POSITIVE = "must be > 0, got {value}"
MSG_NEGATIVE = "must be >= 0, got {value}"
MSG_ABOVE_CAP = "must be at most {cap:,.0f} {unit}, got {value}"
MSG_ABOVE_CAP_PER_LOAN = "must be at most {cap:,.0f} {unit} per loan (loan_count), got {value}"
MSG_LOAN_COUNT = "must be a whole number of loans >= 1, got {value}"
MSG_RATE_RANGE = "must be an annual decimal in [0, 1) (0.0725 = 7.25%), got {value}"
MSG_RATE_PERCENT = (
    "must be an annual decimal in [0, 1) (0.0725 = 7.25%), got {value} "
    "(looks like a percent: write {decimal})"
)
MSG_REMAINING_ABOVE_ORIGINAL = "remaining term {value} exceeds original_term {original}"
MSG_AGE_INCONSISTENT = (
    "age {value} disagrees with original_term {original} - remaining_term {remaining} "
    "= {expected}"
)
MSG_AGE_EXHAUSTS_TERM = "age {value} leaves no remaining term on original_term {original}"
MSG_TERM_MISSING = "remaining_term and age are both missing, give at least one"
MSG_BALANCE_ABOVE_ORIGINAL = (
    "balance {value} exceeds original_balance {original} by more than "
    f"{BALANCE_TOLERANCE - 1:.0%}"
)
MSG_FICO_RANGE = f"must be in [{FICO_MIN:.0f}, {FICO_MAX:.0f}] or empty, got {{value}}"
MSG_LTV_RANGE = f"must be a decimal in (0, {LTV_MAX:g}] (1.05 = 105%), got {{value}}"
MSG_LTV_PERCENT = (
    f"must be a decimal in (0, {LTV_MAX:g}] (1.05 = 105%), got {{value}} "
    "(looks like a percent: write {decimal})"
)
MSG_PTI_RANGE = f"must be a decimal in [0, {PTI_MAX:g}] (0.12 = 12%), got {{value}}"
MSG_PTI_PERCENT = (
    f"must be a decimal in [0, {PTI_MAX:g}] (0.12 = 12%), got {{value}} "
    "(looks like a percent: write {decimal})"
)
MSG_BALLOON_NOT_POSITIVE = "a {ptype} loan needs balloon_amount > 0, got {value}"
MSG_BALLOON_NOT_BELOW_ORIGINAL = (
    "balloon_amount {value} of a {ptype} loan must be below original_balance {limit}"
)
MSG_BALLOON_ABOVE_BALANCE = (
    "balloon_amount {value} of a {ptype} loan exceeds its current balance {limit}"
)
MSG_BALLOON_ON_AMORTISING = "a {ptype} loan cannot carry a balloon_amount, got {value}"
MSG_VEHICLE_YEAR = (
    f"must be a model year in {VEHICLE_YEAR_MIN}..{VEHICLE_YEAR_MAX} or 0 (unknown), "
    "got {value}"
)
MSG_DUPLICATE_ID = "duplicate loan_id {value}, also in row(s) {others}"
MSG_FILE_COLUMN = " (file column {user!r})"

_FIELD_ORDER = {c.name: i for i, c in enumerate(COLUMNS)}

# --------------------------------------------------------------------------------------------
# Public result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TapeLoad:
    """Outcome of :func:`load_tape`.

    Attributes
    ----------
    tape : LoanTape
        The validated loans, in file order (rejected rows removed).
    n_rows : int
        Records in the file.
    n_loaded : int
        Loans in ``tape``; ``n_loaded + n_rejected == n_rows``.
    n_rejected : int
        Records written to the reject sidecar (0 under ``on_error="raise"``).
    reject_path : Path or None
        The sidecar CSV written under ``on_error="reject"``, else ``None``.
    source : str
        The tape file as given.
    ignored_columns : tuple of str
        File columns that are neither canonical, an alias, nor in the column mapping.
    problems : tuple of Problem
        Every row problem behind the rejected rows, in row order (empty when none).
    """

    tape: LoanTape
    n_rows: int
    n_loaded: int
    n_rejected: int
    reject_path: Path | None
    source: str
    ignored_columns: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()


# --------------------------------------------------------------------------------------------
# Column parsing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Parsed:
    """One canonical column after conversion.

    ``values`` is float64 (NaN = absent) for float and int kinds, object for str, bool for bool,
    datetime64[D] for date and int8 codes for the payment type; absent entries of str, bool and
    ptype already hold the column default.
    """

    values: np.ndarray
    missing: np.ndarray
    invalid: np.ndarray

    @property
    def given(self) -> np.ndarray:
        """Rows holding a valid, converted value."""
        return ~self.missing & ~self.invalid


DISTINCT_PROBE_ROWS = 4_096
"""Leading rows of a text column sampled to decide how to parse it: when at most a quarter of
them are distinct (states, makes, terms, dates, flags), each distinct text is parsed once and
broadcast to the rows; otherwise (ids, amounts) the cells are parsed as they stand, where
factorising first would cost more than it saves. Both give the same values."""


@dataclass(frozen=True)
class _Texts:
    """The stripped texts of one column and which of them are missing (null or an NA token).

    ``texts`` holds one entry per distinct cell text when ``codes`` (shape ``(n_rows,)``) maps
    every row to its entry, else one entry per row (``codes`` is ``None``).
    """

    texts: pd.Series
    missing: np.ndarray
    codes: np.ndarray | None

    def per_row(self, values: np.ndarray) -> np.ndarray:
        """``values`` aligned with :attr:`texts`, broadcast to the rows."""
        return values if self.codes is None else values[self.codes]


def _texts(s: pd.Series) -> _Texts:
    """The column as text (nulls stay null), each distinct text once when the column repeats."""
    text = s.astype(str)
    codes = None
    probe = text.iloc[:DISTINCT_PROBE_ROWS]
    if 4 * probe.nunique(dropna=False) <= len(probe):
        codes, uniques = pd.factorize(text, use_na_sentinel=False)
        text = pd.Series(uniques, dtype=text.dtype)
    stripped = text.str.strip()
    missing = text.isna().to_numpy() | stripped.str.lower().isin(NA_TOKENS).to_numpy()
    return _Texts(stripped, missing, codes)


def _text_to_float(text: pd.Series) -> np.ndarray:
    """Numbers of a text column, NaN where a cell is missing (null) or unreadable.

    Arrow's cast parses a column whose every cell is a number in one vectorised pass (correctly
    rounded: the same bits as ``pd.to_numeric``, about 15 times faster); a column with an
    unreadable cell goes through ``pd.to_numeric``, which turns exactly those cells into NaN.
    """
    try:
        parsed = pc.cast(pa.array(text, type=pa.string(), from_pandas=True), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return np.asarray(parsed.to_numpy(zero_copy_only=False), dtype=np.float64)


def _finite_numbers(s: pd.Series) -> np.ndarray | None:
    """The numbers of a text column whose every cell is a finite number as written, else None.

    One Arrow cast of the cells as they stand: a blank, a padded or an NA-token cell, or any
    unreadable one, fails it (``nan``/``inf`` parse, and are caught by the finiteness test),
    so a column that passes has nothing to strip, nothing missing and nothing invalid, and its
    numbers are the bits :func:`_text_to_float` gives after stripping.
    """
    if s.dtype != object and not pd.api.types.is_string_dtype(s):
        return None
    try:
        cells = pa.array(s, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if not (pa.types.is_string(cells.type) or pa.types.is_large_string(cells.type)):
        return None  # e.g. Python bools or numbers in an object column: the text path
    try:
        parsed = pc.cast(cells, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if parsed.null_count:
        return None
    values = np.asarray(parsed.to_numpy(zero_copy_only=False), dtype=np.float64)
    return values if np.isfinite(values).all() else None


def _parse_number(s: pd.Series) -> _Parsed:
    n = len(s)
    if pd.api.types.is_numeric_dtype(s):
        values = s.to_numpy(dtype=np.float64, na_value=np.nan)
        missing = np.isnan(values)
    else:
        fast = _finite_numbers(s)
        if fast is not None:
            none = np.zeros(n, dtype=bool)
            return _Parsed(fast, none, none.copy())
        t = _texts(s)
        missing = t.per_row(t.missing)
        values = t.per_row(_text_to_float(t.texts.where(~t.missing)))
    invalid = ~missing & ~np.isfinite(values)
    values = np.where(missing | invalid, np.nan, values)
    return _Parsed(values, missing, invalid)


def _word_index(text: pd.Series, words: tuple[str, ...]) -> np.ndarray:
    """Position in ``words`` of each cell's lower-cased text, -1 for none of them.

    One hash lookup per cell, no Python per row.
    """
    return np.asarray(pd.Index(words, dtype=object).get_indexer(pd.Index(text.str.lower())),
                      np.int64)


def _parse_bool(s: pd.Series, default: bool) -> _Parsed:
    if pd.api.types.is_bool_dtype(s):
        missing = s.isna().to_numpy()
        values = s.to_numpy(dtype=bool, na_value=default)
        invalid = np.zeros(len(s), dtype=bool)
    else:
        t = _texts(s)
        word = t.per_row(_word_index(t.texts, tuple(BOOL_WORDS)))
        missing = t.per_row(t.missing)
        invalid = ~missing & (word < 0)
        values = np.asarray(tuple(BOOL_WORDS.values()), dtype=bool)[np.maximum(word, 0)]
    values = np.where(missing | invalid, default, values)
    return _Parsed(values, missing, invalid)


def _parse_date(s: pd.Series) -> _Parsed:
    n = len(s)
    if pd.api.types.is_datetime64_any_dtype(s):
        stamps = s.dt.tz_localize(None) if s.dt.tz is not None else s  # wall-clock dates
        missing = stamps.isna().to_numpy()
        return _Parsed(
            stamps.to_numpy(dtype="datetime64[D]"), missing, np.zeros(n, dtype=bool)
        )
    t = _texts(s)
    parsed = np.full(len(t.texts), np.datetime64("NaT"), dtype="datetime64[D]")
    present = np.flatnonzero(~t.missing)
    if present.size:
        # Tapes repeat dates heavily: each distinct text is parsed once (_texts), then broadcast.
        text = pd.Series(t.texts.iloc[present].to_numpy(dtype=object), dtype=object)
        iso = text.str.extract(_ISO_DATE)
        us = text.str.extract(_US_DATE)
        my = text.str.extract(_MONTH_YEAR)
        month_year = my[0].notna()
        parts = pd.DataFrame(
            {
                "year": pd.to_numeric(iso[0].fillna(us[2]).fillna(my[1]), errors="coerce"),
                "month": pd.to_numeric(iso[1].fillna(us[0]).fillna(my[0]), errors="coerce"),
                "day": pd.to_numeric(iso[2].fillna(us[1]), errors="coerce").where(
                    ~month_year, 1.0
                ),
            }
        )
        plausible = parts["year"].between(DATE_YEAR_MIN, DATE_YEAR_MAX)
        stamps = pd.to_datetime(parts.where(plausible), errors="coerce")  # impossible: NaT
        parsed[present] = stamps.to_numpy(dtype="datetime64[D]")
    missing = t.per_row(t.missing)
    values = t.per_row(parsed)
    invalid = ~missing & np.isnat(values)
    return _Parsed(values, missing, invalid)


def _parse_payment_type(s: pd.Series) -> _Parsed:
    t = _texts(s)
    codes = t.per_row(_word_index(t.texts, PAYMENT_TYPES))
    missing = t.per_row(t.missing)
    invalid = ~missing & (codes < 0)
    return _Parsed(np.where(missing | invalid, LEVEL, codes).astype(np.int8), missing, invalid)


def _parse_str(s: pd.Series, default: str) -> _Parsed:
    t = _texts(s)
    texts = t.texts.to_numpy(dtype=object)
    texts[t.missing] = default
    # A repeated text is one Python string shared by its rows (memory of the distinct texts).
    return _Parsed(t.per_row(texts), t.per_row(t.missing), np.zeros(len(s), dtype=bool))


def _parse(name: str, s: pd.Series) -> _Parsed:
    col = COLUMN_BY_NAME[name]
    if col.kind in ("float", "int"):
        return _parse_number(s)
    if col.kind == "bool":
        return _parse_bool(s, bool(col.default))
    if col.kind == "date":
        return _parse_date(s)
    if col.kind == "ptype":
        return _parse_payment_type(s)
    return _parse_str(s, "" if col.default is None else str(col.default))


# --------------------------------------------------------------------------------------------
# Problem collection
# --------------------------------------------------------------------------------------------


_PLAIN_TEXT = r"^[\x20-\x26\x28-\x5b\x5d-\x7e]*$"
"""Printable ASCII without ``'`` and ``\\``: such a cell's ``repr`` is its text in single quotes."""
_FORMATTER = string.Formatter()


def _large_text(text: str) -> pa.Scalar:
    """``text`` as an Arrow scalar of the type message pieces are joined in (large strings)."""
    return pa.scalar(text, type=pa.large_string())


class _Cells:
    """Raw cells of one column, shown as the user wrote them (text quoted)."""

    def __init__(self, raw: pd.Series | None) -> None:
        self.raw = raw

    def take(self, idx: np.ndarray) -> np.ndarray:
        """The cells of rows ``idx`` as messages show them, object array of str.

        Text cells of plain ASCII are quoted in one vectorised pass (``'text'``, what ``repr``
        gives; blank ones are ``empty``); any other cell goes through :func:`_show_cell`.
        """
        if self.raw is None:
            return np.full(idx.size, "empty", dtype=object)
        cells = self.raw.iloc[idx]
        if not pd.api.types.is_string_dtype(cells):
            return np.array([_show_cell(v) for v in cells.tolist()], dtype=object)
        text = pa.array(cells, type=pa.large_string(), from_pandas=True)
        plain = pc.fill_null(pc.match_substring_regex(text, _PLAIN_TEXT), False)
        blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(text), ""), False)
        quote = _large_text("'")
        shown = pc.binary_join_element_wise(quote, text, quote, _large_text("")).to_numpy(
            zero_copy_only=False)
        shown[np.asarray(blank)] = "empty"
        other = np.flatnonzero(~np.asarray(plain))  # nulls, quotes, backslashes, non-ASCII
        shown[other] = [_show_cell(v) for v in cells.iloc[other].tolist()]
        return np.asarray(shown, dtype=object)


def _show_cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return "empty"
    if isinstance(v, str):
        return repr(v) if v.strip() else "empty"
    return _show_number(v)


def _show_number(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, float) and np.isfinite(v) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    if isinstance(v, float):
        return f"{v:.10g}"
    return str(v)


def _show_values(values: np.ndarray) -> np.ndarray:
    """Computed values of failing rows as messages show them (:func:`_show_number`).

    Object array of str: text as it is, numbers formatted once per distinct value.
    """
    if values.dtype == object:
        if pd.api.types.infer_dtype(values, skipna=False) == "string":
            return values
        return np.array([_show_number(v) for v in values.tolist()], dtype=object)
    distinct, where = np.unique(values, return_inverse=True)
    return np.array([_show_number(v) for v in distinct.tolist()], dtype=object)[where]


def _format_rows(template: str, n_rows: int, per_row: Mapping[str, np.ndarray],
                 scalars: Mapping[str, Any], suffix: str) -> np.ndarray:
    """``template.format(**scalars, **row values) + suffix`` for ``n_rows`` rows at once.

    The template is split into literal text, scalar fields (formatted once, with their format
    spec) and row fields (object arrays of str, inserted as they are); the pieces are joined
    element-wise by Arrow. Returns an object array of str, shape ``(n_rows,)``.
    """
    pieces: list[Any] = []
    for literal, name, spec, conversion in _FORMATTER.parse(template):
        pieces.append(literal)
        if name is None:
            continue
        if name in per_row:
            if spec or conversion:
                raise ValueError(f"row field {name!r} of {template!r} takes no format spec")
            pieces.append(pa.array(per_row[name], type=pa.large_string()))
        else:
            value = _FORMATTER.convert_field(scalars[name], conversion)
            pieces.append(_FORMATTER.format_field(value, spec or ""))
    pieces.append(suffix)
    if all(isinstance(piece, str) for piece in pieces):
        return np.full(n_rows, "".join(pieces), dtype=object)
    joined = pc.binary_join_element_wise(
        *[_large_text(p) if isinstance(p, str) else p for p in pieces if p != ""],
        _large_text(""))
    return np.asarray(joined.to_numpy(zero_copy_only=False), dtype=object)


@dataclass(frozen=True)
class _Found:
    """Every row problem, sorted by row and then canonical column order; shape ``(n,)`` each.

    ``rows`` are 0-based; ``fields`` and ``messages`` object arrays of str.
    """

    rows: np.ndarray
    fields: np.ndarray
    messages: np.ndarray

    def problems(self) -> list[Problem]:
        """The problems as :class:`Problem` entries (1-based rows)."""
        return list(map(Problem, (self.rows + 1).tolist(), self.fields.tolist(),
                        self.messages.tolist()))

    def reasons(self) -> np.ndarray:
        """One text per row with a problem, in row order: ``field: message`` joined by ``; ``."""
        if self.rows.size == 0:
            return np.empty(0, dtype=object)
        each = pc.binary_join_element_wise(
            pa.array(self.fields, type=pa.large_string()), _large_text(": "),
            pa.array(self.messages, type=pa.large_string()), _large_text(""),
        )
        starts = np.flatnonzero(np.r_[True, self.rows[1:] != self.rows[:-1]])
        offsets = pa.array(np.r_[starts, self.rows.size], type=pa.int64())
        by_row = pc.binary_join(pa.LargeListArray.from_arrays(offsets, each), _large_text("; "))
        return np.asarray(by_row.to_numpy(zero_copy_only=False), dtype=object)


class _Collector:
    """Accumulates row problems from boolean masks; formats messages for failing rows only.

    Messages are built column-wise: one vectorised pass per rule, no Python per row.
    """

    def __init__(self, n: int, user_names: Mapping[str, str]) -> None:
        self.bad = np.zeros(n, dtype=bool)
        self.user_names = user_names
        self._rules: list[tuple[np.ndarray, int, str, np.ndarray]] = []

    def add(self, mask: np.ndarray, field: str, template: str, **values: Any) -> None:
        """Record ``template`` for every row where ``mask`` holds.

        Keyword values may be :class:`_Cells` (raw cells), arrays aligned with the rows (shown
        as numbers or text), or scalars (inserted as they are).
        """
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            return
        self.bad[idx] = True
        per_row: dict[str, np.ndarray] = {}
        scalars: dict[str, Any] = {}
        for key, v in values.items():
            if isinstance(v, _Cells):
                per_row[key] = v.take(idx)
            elif isinstance(v, np.ndarray):
                per_row[key] = _show_values(v[idx])
            else:
                scalars[key] = v
        user = self.user_names.get(field, field)
        suffix = MSG_FILE_COLUMN.format(user=user) if user != field else ""
        order = _FIELD_ORDER.get(field, len(_FIELD_ORDER))
        messages = _format_rows(template, idx.size, per_row, scalars, suffix)
        self._rules.append((idx, order, field, messages))

    def found(self) -> _Found:
        """All problems sorted by row, then by canonical column order.

        Within one row and column, rules keep the order they were added in (a stable sort).
        """
        if not self._rules:
            empty = np.empty(0, dtype=object)
            return _Found(np.empty(0, dtype=np.int64), empty, empty)
        rows = np.concatenate([idx for idx, _, _, _ in self._rules])
        order = np.concatenate([np.full(idx.size, o) for idx, o, _, _ in self._rules])
        fields = np.concatenate([np.full(idx.size, f, dtype=object)
                                 for idx, _, f, _ in self._rules])
        messages = np.concatenate([m for _, _, _, m in self._rules])
        sort = np.lexsort((order, rows))
        return _Found(rows[sort], fields[sort], messages[sort])


# --------------------------------------------------------------------------------------------
# Column mapping
# --------------------------------------------------------------------------------------------


def _resolve_columns(
    names: list[str], mapping: Mapping[str, str] | None
) -> tuple[dict[str, str], tuple[str, ...], list[Problem]]:
    """Map file columns to canonical names.

    Returns ``{canonical: file column}``, the ignored file columns, and file-level problems.
    """
    problems: list[Problem] = []
    counts = pd.Series(names, dtype=object).value_counts(sort=False)
    for name, count in counts[counts > 1].items():
        problems.append(Problem(None, str(name), MSG_DUPLICATE_HEADER.format(count=count)))
    mapping = dict(mapping or {})
    present = set(names)
    allowed = ", ".join([c.name for c in COLUMNS] + list(ALIASES))
    sources: dict[str, list[str]] = {}
    for user, target in mapping.items():
        canonical = ALIASES.get(target, target)
        if canonical not in COLUMN_BY_NAME:
            problems.append(
                Problem(
                    None,
                    str(user),
                    MSG_MAPPING_UNKNOWN_TARGET.format(user=user, target=target, allowed=allowed),
                )
            )
        elif user not in present:
            problems.append(
                Problem(None, canonical, MSG_MAPPING_SOURCE_ABSENT.format(user=user, target=target))
            )
        else:
            sources.setdefault(canonical, []).append(user)
    ignored: list[str] = []
    for name in dict.fromkeys(names):  # file order, duplicates once
        if name in mapping:
            continue
        canonical = ALIASES.get(name, name)
        if canonical in COLUMN_BY_NAME:
            sources.setdefault(canonical, []).append(name)
        else:
            ignored.append(name)
    resolved: dict[str, str] = {}
    for canonical, users in sources.items():
        if len(users) > 1:
            listed = ", ".join(map(repr, users))
            problems.append(Problem(None, canonical, MSG_SUPPLIED_TWICE.format(users=listed)))
        else:
            resolved[canonical] = users[0]
    return resolved, tuple(ignored), problems


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Validation:
    """Everything :func:`_validate` found; the public functions decide what to raise."""

    n_rows: int
    file_problems: list[Problem]
    row_problems: list[Problem]
    found: _Found
    bad: np.ndarray
    parsed: dict[str, _Parsed]
    ignored_columns: tuple[str, ...]


def _validate(df: pd.DataFrame, mapping: Mapping[str, str] | None) -> _Validation:
    """Run every rule over every row of ``df``; one list of rules, read top to bottom."""
    names = [str(c) for c in df.columns]
    frame = df.set_axis(names, axis=1)
    resolved, ignored, file_problems = _resolve_columns(names, mapping)
    repeated = {n for n in names if names.count(n) > 1} if len(set(names)) < len(names) else set()
    resolved = {c: u for c, u in resolved.items() if u not in repeated}
    found = ", ".join(repr(n) for n in dict.fromkeys(names)) or "none"
    for name in REQUIRED_COLUMNS:
        already = any(p.field == name for p in file_problems)
        if name not in resolved and not already:
            file_problems.append(Problem(None, name, MSG_MISSING_COLUMN.format(found=found)))
    if "remaining_term" not in resolved and "age" not in resolved:
        file_problems.append(Problem(None, "remaining_term", MSG_NEED_TERM_COLUMN))

    n = len(frame)
    raw = {c: frame[u] for c, u in resolved.items()}
    parsed = {c: _parse(c, s) for c, s in raw.items()}
    absent = _Parsed(
        np.full(n, np.nan), np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    )
    out = _Collector(n, resolved)

    def cells(name: str) -> _Cells:
        return _Cells(raw.get(name))

    def col(name: str) -> _Parsed:
        return parsed.get(name, absent)

    # --- conversion: missing required values and unreadable cells ---------------------------
    for name, p in parsed.items():
        spec = COLUMN_BY_NAME[name]
        if spec.required:
            out.add(p.missing, name, MSG_MISSING_VALUE)
        if spec.kind in ("float", "int"):
            out.add(p.invalid, name, MSG_NOT_NUMBER, value=cells(name))
            if spec.kind == "int":
                fractional = p.given & (p.values != np.round(p.values))
                out.add(fractional, name, MSG_NOT_WHOLE, unit=spec.unit, value=cells(name))
        elif spec.kind == "bool":
            allowed = "/".join(BOOL_WORDS)
            out.add(p.invalid, name, MSG_NOT_BOOL, allowed=allowed, value=cells(name))
        elif spec.kind == "date":
            out.add(p.invalid, name, MSG_BAD_DATE, value=cells(name))
        elif spec.kind == "ptype":
            out.add(
                p.invalid, name, MSG_UNKNOWN_PAYMENT_TYPE,
                allowed=", ".join(PAYMENT_TYPES), value=cells(name),
            )

    def numbers(name: str) -> tuple[np.ndarray, np.ndarray]:
        """Values and the rows where they are valid (whole numbers for int columns)."""
        p = col(name)
        if COLUMN_BY_NAME[name].kind == "int":
            return p.values, p.given & (p.values == np.round(p.values))
        return p.values, p.given

    balance, has_balance = numbers("balance")
    rate, has_rate = numbers("rate")
    original, has_original = numbers("original_term")
    remaining, has_remaining = numbers("remaining_term")
    age, has_age = numbers("age")
    orig_bal, has_orig_bal = numbers("original_balance")
    balloon, has_balloon = numbers("balloon_amount")

    with np.errstate(invalid="ignore"):
        # --- amounts, rate and terms ----------------------------------------------------------
        out.add(has_balance & (balance <= 0), "balance", MSG_NOT_POSITIVE, value=cells("balance"))
        looks_percent = has_rate & (rate >= RATE_MAX) & (rate < PERCENT_MAX)
        out.add(
            has_rate & ((rate < 0) | (rate >= PERCENT_MAX)), "rate", MSG_RATE_RANGE,
            value=cells("rate"),
        )
        out.add(looks_percent, "rate", MSG_RATE_PERCENT, value=cells("rate"), decimal=rate / 100)
        out.add(
            has_original & (original <= 0), "original_term", MSG_NOT_POSITIVE,
            value=cells("original_term"),
        )
        out.add(
            has_remaining & (remaining <= 0), "remaining_term", MSG_NOT_POSITIVE,
            value=cells("remaining_term"),
        )
        out.add(
            has_remaining & has_original & (original > 0) & (remaining > original),
            "remaining_term", MSG_REMAINING_ABOVE_ORIGINAL,
            value=cells("remaining_term"), original=original,
        )
        out.add(has_age & (age < 0), "age", MSG_NEGATIVE, value=cells("age"))
        terms_ok = has_original & (original > 0) & (age >= 0)
        both = terms_ok & has_remaining & (remaining > 0) & (remaining <= original)
        out.add(
            both & (np.abs(age - (original - remaining)) > AGE_TOLERANCE_MONTHS),
            "age", MSG_AGE_INCONSISTENT,
            value=cells("age"), original=original, remaining=remaining,
            expected=original - remaining,
        )
        age_only = terms_ok & col("remaining_term").missing
        out.add(
            age_only & (age >= original), "age", MSG_AGE_EXHAUSTS_TERM,
            value=cells("age"), original=original,
        )
        if "remaining_term" in parsed or "age" in parsed:
            out.add(
                col("remaining_term").missing & col("age").missing,
                "remaining_term", MSG_TERM_MISSING,
            )
        out.add(
            has_orig_bal & (orig_bal <= 0), "original_balance", MSG_NOT_POSITIVE,
            value=cells("original_balance"),
        )
        out.add(
            has_balance & has_orig_bal & (orig_bal > 0)
            & (balance > orig_bal * BALANCE_TOLERANCE),
            "balance", MSG_BALANCE_ABOVE_ORIGINAL, value=cells("balance"), original=orig_bal,
        )

        # --- balloons and leases --------------------------------------------------------------
        ptype = col("payment_type")
        ptype_codes = ptype.values if "payment_type" in parsed else np.full(n, LEVEL, np.int8)
        has_ptype = ~ptype.invalid
        labels = np.asarray(PAYMENT_TYPES, dtype=object)[ptype_codes]
        with_balloon = has_ptype & np.isin(ptype_codes, (BALLOON, LEASE))
        balloon_readable = ~col("balloon_amount").invalid
        out.add(
            with_balloon & balloon_readable & ~(has_balloon & (balloon > 0)),
            "balloon_amount", MSG_BALLOON_NOT_POSITIVE,
            ptype=labels, value=cells("balloon_amount"),
        )
        checkable = with_balloon & has_balloon & (balloon > 0)
        out.add(
            checkable & has_orig_bal & (orig_bal > 0) & (balloon >= orig_bal),
            "balloon_amount", MSG_BALLOON_NOT_BELOW_ORIGINAL,
            ptype=labels, value=cells("balloon_amount"), limit=orig_bal,
        )
        out.add(
            checkable & ~has_orig_bal & col("original_balance").missing & has_balance
            & (balance > 0) & (balloon > balance),
            "balloon_amount", MSG_BALLOON_ABOVE_BALANCE,
            ptype=labels, value=cells("balloon_amount"), limit=balance,
        )
        amortising = has_ptype & np.isin(ptype_codes, (LEVEL, EQUAL_PRINCIPAL))
        out.add(
            amortising & has_balloon & (balloon != 0),
            "balloon_amount", MSG_BALLOON_ON_AMORTISING,
            ptype=labels, value=cells("balloon_amount"),
        )

        # --- credit attributes ----------------------------------------------------------------
        fico, has_fico = numbers("fico")
        out.add(
            has_fico & ((fico < FICO_MIN) | (fico > FICO_MAX)), "fico", MSG_FICO_RANGE,
            value=cells("fico"),
        )
        ltv, has_ltv = numbers("ltv")
        ltv_percent = has_ltv & (ltv > LTV_MAX) & (ltv <= PERCENT_MAX * LTV_MAX)
        out.add(
            has_ltv & ((ltv <= 0) | (ltv > PERCENT_MAX * LTV_MAX)), "ltv", MSG_LTV_RANGE,
            value=cells("ltv"),
        )
        out.add(ltv_percent, "ltv", MSG_LTV_PERCENT, value=cells("ltv"), decimal=ltv / 100)
        pti, has_pti = numbers("pti")
        pti_percent = has_pti & (pti > PTI_MAX) & (pti <= PERCENT_MAX)
        out.add(
            has_pti & ((pti < 0) | (pti > PERCENT_MAX)), "pti", MSG_PTI_RANGE,
            value=cells("pti"),
        )
        out.add(pti_percent, "pti", MSG_PTI_PERCENT, value=cells("pti"), decimal=pti / 100)
        vehicle_value, has_vehicle_value = numbers("vehicle_value")
        out.add(
            has_vehicle_value & (vehicle_value <= 0), "vehicle_value", MSG_NOT_POSITIVE,
            value=cells("vehicle_value"),
        )

        # --- vehicle and servicing ------------------------------------------------------------
        year, has_year = numbers("vehicle_year")
        out.add(
            has_year & (year != 0) & ((year < VEHICLE_YEAR_MIN) | (year > VEHICLE_YEAR_MAX)),
            "vehicle_year", MSG_VEHICLE_YEAR, value=cells("vehicle_year"),
        )
        dpd, has_dpd = numbers("days_past_due")
        out.add(has_dpd & (dpd < 0), "days_past_due", MSG_NEGATIVE, value=cells("days_past_due"))
        early, has_early = numbers("months_before_cutoff")
        out.add(has_early & (early < 0), "months_before_cutoff", MSG_NEGATIVE,
                value=cells("months_before_cutoff"))
        count, has_count = numbers("loan_count")
        loans = np.where(has_count & (count >= 1), count, 1.0)
        for name, (cap, unit) in CAPS.items():
            values, given = numbers(name)
            if unit == "USD":  # per loan when the line carries a count, else per line
                per_loan = has_count & (values / loans > cap)
                out.add(given & per_loan, name, MSG_ABOVE_CAP_PER_LOAN, value=cells(name),
                        cap=cap, unit=unit)
                cap = LINE_MONEY_MAX
            out.add(given & (values > cap), name, MSG_ABOVE_CAP, value=cells(name), cap=cap,
                    unit=unit)
        out.add(has_count & (count < 1), "loan_count", MSG_LOAN_COUNT,
                value=cells("loan_count"))

    # --- duplicate ids ------------------------------------------------------------------------
    if "loan_id" in parsed:
        ids = pd.Series(parsed["loan_id"].values)
        present = ~parsed["loan_id"].missing
        dup = present & ids.duplicated(keep=False).to_numpy()
        if dup.any():
            dup_idx = np.flatnonzero(dup)
            groups = ids.iloc[dup_idx].groupby(ids.iloc[dup_idx], sort=False).groups
            rows_of = {key: (np.asarray(ix) + 1).tolist() for key, ix in groups.items()}
            others = np.empty(n, dtype=object)
            for i in dup_idx.tolist():
                others[i] = ", ".join(str(r) for r in rows_of[ids.iat[i]] if r != i + 1)
            out.add(dup, "loan_id", MSG_DUPLICATE_ID, value=cells("loan_id"), others=others)

    collected = out.found()
    return _Validation(
        n_rows=n,
        file_problems=file_problems,
        row_problems=collected.problems(),
        found=collected,
        bad=out.bad,
        parsed=parsed,
        ignored_columns=ignored,
    )


def _build_tape(parsed: Mapping[str, _Parsed], keep: np.ndarray) -> LoanTape:
    """Convert the kept rows of validated columns into a :class:`LoanTape`."""
    columns: dict[str, Any] = {}
    for spec in COLUMNS:
        p = parsed.get(spec.name)
        if p is None:
            columns[spec.name] = None
            continue
        values = p.values[keep]
        if spec.kind in ("float", "int") and spec.default is not None:
            values = np.where(p.missing[keep], float(spec.default), values)
        columns[spec.name] = values
    original = columns["original_term"]
    remaining, age = columns["remaining_term"], columns["age"]
    if remaining is not None and age is not None:
        columns["remaining_term"] = np.where(np.isnan(remaining), original - age, remaining)
        columns["age"] = np.where(np.isnan(age), original - remaining, age)
    for spec in COLUMNS:
        if spec.kind == "int" and columns[spec.name] is not None:
            columns[spec.name] = np.asarray(columns[spec.name]).astype(np.int64)
    return tape_from_columns(columns)


def _rejects_frame(df: pd.DataFrame, validation: _Validation) -> pd.DataFrame:
    """Original values of the rejected rows plus ``row`` (1-based) and ``reasons``."""
    idx = np.flatnonzero(validation.bad)
    reasons = validation.found.reasons()  # the rows with a problem are the rejected rows
    original = df.iloc[idx].reset_index(drop=True)
    original.columns = [
        f"{c}_original" if str(c) in ("row", "reasons") else str(c) for c in original.columns
    ]
    rows = idx + 1
    rejects = pd.concat(
        [
            pd.DataFrame({"row": rows.astype(np.int64)}),
            original,
            pd.DataFrame({"reasons": pd.Series(reasons, dtype=str)}),
        ],
        axis=1,
    )
    return rejects


def _check_on_error(on_error: str, source: str) -> None:
    if on_error not in ("raise", "reject"):
        raise InputError(source, Problem(None, "on_error", MSG_BAD_ON_ERROR.format(value=on_error)))


def validate_frame(
    df: pd.DataFrame,
    source: str,
    *,
    columns: Mapping[str, str] | None = None,
    on_error: OnError = "raise",
) -> tuple[LoanTape, pd.DataFrame]:
    """Validate a tape held in a DataFrame and convert its good rows into a :class:`LoanTape`.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per loan, in record order (row 1 is ``df.iloc[0]``). Cells may be text (as read
        from CSV, so unreadable values are reported with their text) or typed values.
    source : str
        Name of the input, used in every message (a path, ``"EX-102 <accession>"``, ...).
    columns : Mapping[str, str], optional
        Maps the frame's column names to canonical names, e.g. ``{"APR": "rate"}``.
    on_error : {"raise", "reject"}
        ``"raise"``: any problem raises one :class:`InputError` listing all of them.
        ``"reject"``: the bad rows are returned as the rejects frame.

    Returns
    -------
    tape : LoanTape
        The good rows, in order, with defaults and derivations applied.
    rejects : pandas.DataFrame
        Column ``row`` (1-based), the original columns of each rejected row, and ``reasons``
        (every problem of the row, ``"field: message"`` joined by ``"; "``). Empty (no rows)
        under ``on_error="raise"``.

    Raises
    ------
    InputError
        File-level problems (missing required columns, bad mapping, duplicate headers) under
        either policy; row problems under ``"raise"``; no rows, or every row rejected.
    """
    _check_on_error(on_error, source)
    validation = _validate(df, columns)
    _raise_for_file(source, validation)
    if validation.row_problems and on_error == "raise":
        raise InputError(source, validation.row_problems)
    if validation.bad.all():
        summary = Problem(None, "", MSG_ALL_REJECTED.format(n_rows=validation.n_rows, where=""))
        raise InputError(source, [summary, *validation.row_problems])
    rejects = _rejects_frame(df, validation)
    return _build_tape(validation.parsed, ~validation.bad), rejects


def _raise_for_file(source: str, validation: _Validation) -> None:
    if validation.file_problems:
        raise InputError(source, validation.file_problems + validation.row_problems)
    if validation.n_rows == 0:
        raise InputError(source, MSG_NO_ROWS)


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def default_reject_path(path: str | os.PathLike[str]) -> Path:
    """Sidecar path for a tape: ``<tape stem>.rejects.csv`` in the tape's directory."""
    p = Path(path)
    return p.with_name(p.stem + REJECT_SUFFIX)


def _read_csv(path: Path, source: str) -> pd.DataFrame:
    """Read every cell as the exact text in the file; the header row is kept verbatim.

    Arrow's multi-threaded reader takes a well-formed file (every record as wide as the header,
    valid UTF-8); anything it refuses goes through pandas' reader, whose handling of short rows
    (padded with missing cells) and whose messages for unreadable files are the loader's.
    """
    frame = _read_csv_arrow(path)
    return frame if frame is not None else _read_csv_pandas(path, source)


def _read_csv_arrow(path: Path) -> pd.DataFrame | None:
    """The file as text cells through Arrow, or ``None`` when Arrow cannot read it as it is."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            first = next((row for row in csv.reader(fh) if row), None)
    except (UnicodeDecodeError, csv.Error, OSError):
        return None
    if not first:
        return None
    names = [str(i) for i in range(len(first))]
    try:
        table = pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(column_names=names, encoding="utf8"),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), null_values=[],
                strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError):
        return None
    if table.num_rows == 0:
        return None
    grid = table.to_pandas()
    header = [str(v).strip() for v in grid.iloc[0].tolist()]
    frame = grid.iloc[1:].reset_index(drop=True)
    frame.columns = pd.Index(header, dtype=object)
    return frame


def _read_csv_pandas(path: Path, source: str) -> pd.DataFrame:
    """:func:`_read_csv` through pandas' reader (short rows padded with missing cells)."""
    try:
        grid = pd.read_csv(
            path,
            dtype=str,
            header=None,
            keep_default_na=False,
            na_filter=False,
            encoding="utf-8-sig",
            skip_blank_lines=True,
        )
    except pd.errors.EmptyDataError:
        raise InputError(source, MSG_NO_ROWS) from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise InputError(source, MSG_UNREADABLE.format(kind="CSV", error=exc)) from None
    header = ["" if pd.isna(v) else str(v).strip() for v in grid.iloc[0].tolist()]
    frame = grid.iloc[1:].reset_index(drop=True)
    frame.columns = pd.Index(header, dtype=object)
    return frame


def _read_parquet(path: Path, source: str) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise InputError(source, MSG_UNREADABLE.format(kind="Parquet", error=exc)) from None
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
        frame = frame.reset_index()  # a stored index (e.g. loan_id) is a column like any other
    else:
        frame = frame.reset_index(drop=True)
    frame.columns = pd.Index([str(c) for c in frame.columns], dtype=object)
    return frame


def _write_csv_atomic(frame: pd.DataFrame, target: Path) -> None:
    """Write ``frame`` as CSV to ``target`` atomically."""
    atomic_write(target, lambda tmp: _write_csv(frame, tmp))


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """``frame.to_csv(path, index=False)`` (minimal quoting, newline line ends, UTF-8).

    A frame of text and integer columns without line breaks in its cells is rendered column-
    wise by Arrow (a cell with a comma or a quote is quoted, its quotes doubled: what pandas'
    minimal quoting writes), the same bytes, many times faster for a 500,000-row reject
    sidecar. Any other frame is written by pandas.
    """
    lines = _csv_lines(frame)
    if lines is None:
        frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
        return
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow([str(c) for c in frame.columns])
    with open(path, "wb") as fh:
        fh.write(header.getvalue().encode("utf-8"))
        for body in _utf8_bytes(lines):  # the lines back to back are the file body
            fh.write(body.data)


_CSV_QUOTED = np.frombuffer(b',"', dtype=np.uint8)
"""Bytes that make pandas' minimal quoting quote a cell (delimiter, quote)."""
_CSV_LINE_BREAKS = np.frombuffer(b"\n\r", dtype=np.uint8)


def _utf8_bytes(text: pa.Array | pa.ChunkedArray) -> list[np.ndarray]:
    """The UTF-8 bytes of a large-string array's cells, back to back, one array per chunk.

    An ASCII byte never occurs inside a multi-byte UTF-8 character, so searching these bytes
    for ``,`` or a line break finds exactly the cells that hold one.
    """
    out = []
    for chunk in text.chunks if isinstance(text, pa.ChunkedArray) else [text]:
        _, offsets, data = chunk.buffers()
        bounds = np.frombuffer(offsets, dtype=np.int64)[[chunk.offset, chunk.offset + len(chunk)]]
        if data is not None and bounds[1] > bounds[0]:
            out.append(np.frombuffer(data, dtype=np.uint8)[bounds[0]:bounds[1]])
    return out


def _holds_any(text: pa.Array | pa.ChunkedArray, characters: np.ndarray) -> bool:
    """Whether some cell of ``text`` holds one of the ASCII ``characters``."""
    return any(bool(np.isin(part, characters).any()) for part in _utf8_bytes(text))


def _csv_lines(frame: pd.DataFrame) -> pa.Array | pa.ChunkedArray | None:
    """One CSV line per row of ``frame``, each ending in a newline, or None.

    None when a column is neither text nor integer, or a cell holds a line break (pandas'
    writer handles those).
    """
    if len(frame.columns) < 2:
        return None  # a lone empty field is quoted by the csv module: leave it to pandas
    fields = []
    for name in frame.columns:
        try:
            cells = pa.array(frame[name], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return None
        if pa.types.is_integer(cells.type):
            fields.append(pc.fill_null(pc.cast(cells, pa.large_string()), _large_text("")))
            continue
        if not (pa.types.is_string(cells.type) or pa.types.is_large_string(cells.type)):
            return None
        text = pc.fill_null(pc.cast(cells, pa.large_string()), _large_text(""))
        if _holds_any(text, _CSV_LINE_BREAKS):
            return None
        if _holds_any(text, _CSV_QUOTED):
            quote = _large_text('"')
            quoted = pc.binary_join_element_wise(
                quote, pc.replace_substring(text, '"', '""'), quote, _large_text(""))
            special = pc.or_(pc.match_substring(text, ","), pc.match_substring(text, '"'))
            text = pc.if_else(special, quoted, text)
        fields.append(text)
    lines = pc.binary_join_element_wise(*fields, _large_text(","))
    return pc.binary_join_element_wise(lines, _large_text("\n"), _large_text(""))


_READERS: dict[str, Callable[[Path, str], pd.DataFrame]] = {
    **{s: _read_csv for s in CSV_SUFFIXES},
    **{s: _read_parquet for s in PARQUET_SUFFIXES},
}


def load_tape(
    path: str | os.PathLike[str],
    *,
    columns: Mapping[str, str] | None = None,
    on_error: OnError = "raise",
    reject_path: str | os.PathLike[str] | None = None,
) -> TapeLoad:
    """Read, validate and convert a loan tape file.

    Parameters
    ----------
    path : str or PathLike
        A ``.csv``, ``.parquet`` or ``.pq`` file (chosen by extension, case-insensitive).
    columns : Mapping[str, str], optional
        Maps file column names to canonical names, e.g. ``{"LoanNumber": "loan_id",
        "APR": "rate"}``. Unmapped canonical columns (and the alias ``residual_value``) are
        taken as they are; other columns are ignored and listed in
        :attr:`TapeLoad.ignored_columns`.
    on_error : {"raise", "reject"}
        ``"raise"``: any problem raises one :class:`InputError` listing every problem with its
        row and column. ``"reject"``: good rows load; rejected rows go to the sidecar CSV.
    reject_path : str or PathLike, optional
        Sidecar for ``on_error="reject"``; default ``<tape stem>.rejects.csv`` next to the tape.
        Written atomically on every ``"reject"`` load (header only when nothing was rejected).

    Returns
    -------
    TapeLoad
        The tape and the counts; ``n_loaded + n_rejected == n_rows``.

    Raises
    ------
    InputError
        Unknown extension, missing or unreadable file, file-level problems (missing required
        columns, bad mapping), an empty tape, any row problem under ``"raise"``, or every row
        rejected under ``"reject"``.
    """
    tape_path = Path(path)
    source = str(path)
    _check_on_error(on_error, source)
    reader = _READERS.get(tape_path.suffix.lower())
    if reader is None:
        allowed = ", ".join(CSV_SUFFIXES + PARQUET_SUFFIXES)
        suffix = tape_path.suffix or "(no extension)"
        raise InputError(source, MSG_UNKNOWN_SUFFIX.format(suffix=suffix, allowed=allowed))
    if not tape_path.exists():
        raise InputError(source, MSG_FILE_NOT_FOUND)
    if not tape_path.is_file():
        raise InputError(source, MSG_NOT_A_FILE)
    sidecar: Path | None = None
    if on_error == "reject":
        sidecar = Path(reject_path) if reject_path is not None else default_reject_path(tape_path)
        if sidecar.resolve() == tape_path.resolve():
            raise InputError(source, Problem(None, "reject_path", MSG_REJECT_PATH_IS_TAPE))

    frame = reader(tape_path, source)
    validation = _validate(frame, columns)
    _raise_for_file(source, validation)
    if validation.row_problems and on_error == "raise":
        raise InputError(source, validation.row_problems)
    keep = ~validation.bad
    n_rejected = int(validation.bad.sum())
    if sidecar is not None:
        _write_csv_atomic(_rejects_frame(frame, validation), sidecar)
    if not keep.any():
        where = f", reasons in {sidecar}"
        summary = Problem(None, "", MSG_ALL_REJECTED.format(n_rows=validation.n_rows, where=where))
        raise InputError(source, [summary, *validation.row_problems])
    tape = _build_tape(validation.parsed, keep)
    return TapeLoad(
        tape=tape,
        n_rows=validation.n_rows,
        n_loaded=len(tape),
        n_rejected=n_rejected,
        reject_path=sidecar,
        source=source,
        ignored_columns=validation.ignored_columns,
        problems=tuple(validation.row_problems),
    )
