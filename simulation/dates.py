"""Deal dates: payment dates on a business-day calendar, accrual fractions and the time axis.

A deal has a cut-off date (the pool is measured at its end), a closing date (the notes are
issued and start to accrue) and a first payment date. Collection period ``t`` is the calendar
month before payment date ``t`` (the first one runs from the day after the cut-off). Payment
date ``t`` is the deal's day of month (the first payment date's, clipped to the month's end),
moved to the next business day ("following") on a US calendar of the ``holidays`` library.

Fixed-rate classes accrue 30/360 on the unadjusted dates, the first period from closing to
the first payment date; money-market and floating classes accrue actual days / 360 between
the adjusted payment dates, the first period from closing. WAL, yield and duration measure
time in years of 365 days from settlement (the closing date) to each actual payment date.
Formulas and sources: ``docs/metrics.md``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, get_args

import holidays
import numpy as np

__all__ = [
    "BUSINESS_DAY_CALENDARS",
    "BusinessDayCalendar",
    "PaymentSchedule",
    "business_day_following",
    "default_cutoff_date",
    "holiday_dates",
    "payment_schedule",
    "scheduled_payment_dates",
    "thirty_360_days",
]

BusinessDayCalendar = Literal["us_fed", "nyse", "weekends_only"]
"""``us_fed``: Federal Reserve (bank) holidays, the "Business Day" of US auto ABS indentures
(banks closed in New York); ``nyse``: NYSE holidays; ``weekends_only``: Saturdays and Sundays.
"""

BUSINESS_DAY_CALENDARS: tuple[str, ...] = get_args(BusinessDayCalendar)

_HOLIDAYS_MARKET = {"us_fed": "FED", "nyse": "NYSE"}
DAYS_PER_YEAR_WAL = 365.0
"""Days in a year of the time axis (WAL, yield times, duration), as prospectuses print WAL."""


@lru_cache(maxsize=64)
def _holiday_set(calendar: str, first_year: int, last_year: int) -> frozenset[dt.date]:
    if calendar == "weekends_only":
        return frozenset()
    market = _HOLIDAYS_MARKET[calendar]
    return frozenset(holidays.financial_holidays(market, years=range(first_year, last_year + 1)))


def holiday_dates(calendar: BusinessDayCalendar, first_year: int,
                  last_year: int) -> frozenset[dt.date]:
    """Weekday holidays of ``calendar`` in ``first_year .. last_year`` (from ``holidays``)."""
    if calendar not in BUSINESS_DAY_CALENDARS:
        raise ValueError(f"calendar must be one of {BUSINESS_DAY_CALENDARS}; got {calendar!r}")
    return _holiday_set(calendar, first_year, last_year)


def business_day_following(dates: np.ndarray, calendar: BusinessDayCalendar) -> np.ndarray:
    """Each date moved to the next business day (unchanged if it is one), ``datetime64[D]``."""
    d = np.asarray(dates, dtype="datetime64[D]")
    if d.size == 0:
        return d.copy()
    years = d.astype("datetime64[Y]").astype(np.int64) + 1970
    hol = holiday_dates(calendar, int(years.min()), int(years.max()) + 1)
    holidays_d = np.array(sorted(hol), dtype="datetime64[D]")
    return np.busday_offset(d, 0, roll="forward", holidays=holidays_d)


def scheduled_payment_dates(first_payment_date: dt.date, n_periods: int) -> np.ndarray:
    """Unadjusted monthly dates from the first payment date, ``datetime64[D]`` ``(n_periods,)``.

    The day of month is the first payment date's, clipped to the end of shorter months.
    """
    first = np.datetime64(first_payment_date, "M")
    months = first + np.arange(n_periods)
    day = first_payment_date.day - 1
    month_end = (months + 1).astype("datetime64[D]") - np.timedelta64(1, "D")
    return np.asarray(np.minimum(months.astype("datetime64[D]") + np.timedelta64(day, "D"),
                                 month_end))


def thirty_360_days(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Days between dates under 30/360 (bond basis), elementwise, float64.

    ``360 (Y2 - Y1) + 30 (M2 - M1) + (D2 - D1)`` with ``D1 = 31 -> 30`` and ``D2 = 31 -> 30``
    when ``D1`` is then 30 (ISDA 2006 section 4.16(f), SIFMA's 30/360 for US corporate and
    ABS fixed-rate notes).
    """
    s = np.asarray(start, dtype="datetime64[D]")
    e = np.asarray(end, dtype="datetime64[D]")
    y1, m1, d1 = _ymd(s)
    y2, m2, d2 = _ymd(e)
    d1 = np.where(d1 == 31, 30, d1)
    d2 = np.where((d2 == 31) & (d1 == 30), 30, d2)
    return np.asarray(360.0 * (y2 - y1) + 30.0 * (m2 - m1) + (d2 - d1), dtype=np.float64)


def _ymd(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    months = d.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def default_cutoff_date(first_payment_date: dt.date) -> dt.date:
    """Cut-off when a deal gives none: the end of the month before the first collection period.

    The first collection period is the calendar month before the first payment date's month
    (e.g. first payment 2023-08-15: collection period July 2023, cut-off 2023-06-30).
    """
    month_start = np.datetime64(first_payment_date, "M") - np.timedelta64(1, "M")
    return (month_start.astype("datetime64[D]") - np.timedelta64(1, "D")).item()


@dataclass(frozen=True, eq=False)
class PaymentSchedule:
    """The time axis of a deal for ``n_periods`` payment dates.

    Attributes
    ----------
    closing_date : datetime.date
        Issue and settlement date; interest accrues from it and times are measured from it.
    scheduled : numpy.ndarray
        ``(n_periods,)`` datetime64[D], unadjusted payment dates (the deal's day of month).
    paid : numpy.ndarray
        ``(n_periods,)`` datetime64[D], payment dates moved to the next business day.
    collection_end : numpy.ndarray
        ``(n_periods,)`` datetime64[D], last day of each collection period.
    act_360 : numpy.ndarray
        ``(n_periods,)`` actual days / 360 of each interest period between adjusted dates,
        the first from closing (money-market and floating classes).
    thirty_360 : numpy.ndarray
        ``(n_periods,)`` 30/360 days / 360 between unadjusted dates, the first from closing
        (fixed classes); 1/12 for a whole month.
    years : numpy.ndarray
        ``(n_periods,)`` actual days / 365 from closing to each adjusted payment date.
    """

    closing_date: dt.date
    scheduled: np.ndarray
    paid: np.ndarray
    collection_end: np.ndarray
    act_360: np.ndarray
    thirty_360: np.ndarray
    years: np.ndarray

    def __post_init__(self) -> None:
        for name in ("scheduled", "paid", "collection_end", "act_360", "thirty_360", "years"):
            getattr(self, name).setflags(write=False)

    @property
    def n_periods(self) -> int:
        """Number of payment dates."""
        return int(self.paid.shape[0])

    def after(self, k: int) -> PaymentSchedule:
        """The payment dates after the ``k``-th, with times from it (``k`` = 0: unchanged).

        Settlement on the ``k``-th payment date (a purchase on a reporting date): its
        ``closing_date`` is that date, accruals stay those of the deal's periods.
        """
        if k == 0:
            return self
        if not 0 < k < self.n_periods:
            raise ValueError(f"k must lie in 0..{self.n_periods - 1}; got {k}")
        settle = self.paid[k - 1]
        return PaymentSchedule(
            closing_date=settle.astype(dt.date), scheduled=self.scheduled[k:],
            paid=self.paid[k:], collection_end=self.collection_end[k:],
            act_360=self.act_360[k:], thirty_360=self.thirty_360[k:],
            years=(self.paid[k:] - settle).astype(np.float64) / DAYS_PER_YEAR_WAL)


def payment_schedule(closing_date: dt.date, first_payment_date: dt.date, n_periods: int,
                     calendar: BusinessDayCalendar = "us_fed") -> PaymentSchedule:
    """Payment dates, accrual fractions and times of a deal (see :class:`PaymentSchedule`).

    Parameters
    ----------
    closing_date, first_payment_date : datetime.date
        ``closing_date < first_payment_date``.
    n_periods : int
        Number of monthly payment dates, ``>= 1``.
    calendar : {"us_fed", "nyse", "weekends_only"}, default "us_fed"
        Business days for the "following" adjustment of the payment dates.

    Returns
    -------
    PaymentSchedule

    References
    ----------
    Prospectus definitions of "Payment Date" (the 15th, or the next Business Day) and of the
    interest periods of fixed (30/360, unadjusted) and floating/money-market (actual/360)
    notes, e.g. CarMax Auto Owner Trust 2023-3, prospectus of July 2023; ``docs/metrics.md``.
    """
    if n_periods < 1:
        raise ValueError(f"n_periods must be >= 1; got {n_periods}")
    if first_payment_date <= closing_date:
        raise ValueError(f"first_payment_date {first_payment_date} must be after closing_date "
                         f"{closing_date}")
    closing = np.datetime64(closing_date, "D")
    scheduled = scheduled_payment_dates(first_payment_date, n_periods)
    paid = business_day_following(scheduled, calendar)
    act_days = np.diff(np.concatenate([[closing], paid])).astype(np.float64)
    thirty_days = thirty_360_days(np.concatenate([[closing], scheduled[:-1]]), scheduled)
    collection_end = (scheduled.astype("datetime64[M]").astype("datetime64[D]")
                      - np.timedelta64(1, "D"))
    years = (paid - closing).astype(np.float64) / DAYS_PER_YEAR_WAL
    return PaymentSchedule(closing_date=closing_date, scheduled=scheduled, paid=paid,
                           collection_end=collection_end, act_360=act_days / 360.0,
                           thirty_360=thirty_days / 360.0, years=years)
