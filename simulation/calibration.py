"""Hazard calibration from loan-level performance panels into a :class:`CollateralModel`.

Competing risks in discrete (monthly) time. For cause ``c`` (voluntary prepayment or default)
and loan age ``a`` the cause-specific hazard is ``h_c(a) = P(event c at age a | no event
before a)``; its maximum-likelihood estimate from a panel with staggered entry (left
truncation) and right censoring is the life-table ratio ``d_c(a) / n(a)`` of events to the
loans at risk at that age (Allison 1982). A loan is at risk from its first panel month to its
event or censoring month only, which is what handles censoring; :func:`estimate_hazards` with
``censoring="ignore"`` keeps censored loans in the risk set to the end of the window, the
classic mistake, for comparison. Ages are grouped into bands (one hazard per band) to smooth
sparse cells; bands carry Wilson score confidence intervals.

Segments (FICO band x new/used x APR band) enter as proportional multipliers on the age curve,
fitted by the Poisson maximum-likelihood iteration of the piecewise-constant proportional
hazards model with a credibility pseudo-count (:func:`proportional_hazards`). The result
becomes a :class:`~simulation.model.CollateralModel`: ``default.hazard_curves`` per segment
(monthly default probabilities by age) and ``prepayment.smm_curve`` with
``prepayment.segment_multipliers``. See ``docs/calibration.md``.

References
----------
Allison, P. D. (1982), "Discrete-time methods for the analysis of event histories",
*Sociological Methodology* 13, 61-98.
Kalbfleisch, J. D. and Prentice, R. L. (2002), *The Statistical Analysis of Failure Time Data*,
2nd ed., Wiley (cause-specific hazards, left truncation, product-limit estimators).
Laird, N. and Olivier, D. (1981), "Covariance analysis of censored survival data using
log-linear analysis techniques", *JASA* 76, 231-240 (piecewise-exponential Poisson fit).
Wilson, E. B. (1927), "Probable inference, the law of succession, and statistical inference",
*JASA* 22, 209-212.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from portfolio.errors import InputError, Problem
from portfolio.panel import (
    CENSORED,
    DEFAULTED,
    PREPAID,
    EventRules,
    LoanPanel,
    PanelEvents,
    panel_events,
    payments_behind,
    scheduled_principal,
)
from simulation.conversions import mdr_to_cdr, smm_to_cpr
from simulation.model import ROLL_STATES, ROLL_TARGETS, CollateralModel, model_from_dict

__all__ = [
    "Calibration",
    "HazardEstimate",
    "RollRateEstimate",
    "SegmentScheme",
    "delinquency_states",
    "estimate_hazards",
    "estimate_roll_rates",
    "hazard_by_age",
    "person_months",
    "proportional_hazards",
    "smm_to_abs",
    "wilson_interval",
]

Censoring = Literal["risk_set", "ignore"]
PrepayBasis = Literal["balance", "count"]
CREDIBILITY_EVENTS = 2.0
"""Pseudo-events at the pooled rate added to each segment's observed events (shrinkage)."""
CREDIBILITY_MONTHS = 20.0
"""Pseudo loan-months at the pooled transition row added to each roll-rate cell (shrinkage)."""
NOT_AT_RISK = -1
CHARGED_OFF_STATE = len(ROLL_STATES)
PREPAID_STATE = len(ROLL_STATES) + 1


# ---------------------------------------------------------------------------------------------
# Small pure functions
# ---------------------------------------------------------------------------------------------


def wilson_interval(events: np.ndarray, at_risk: np.ndarray,
                    level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion ``events / at_risk``.

    Parameters
    ----------
    events, at_risk : numpy.ndarray
        Event and trial counts, same shape; cells with ``at_risk == 0`` give NaN.
    level : float
        Two-sided confidence level.

    Returns
    -------
    tuple of numpy.ndarray
        Lower and upper bounds, same shape as the inputs.

    References
    ----------
    Wilson (1927); Brown, Cai and DasGupta (2001), *Statistical Science* 16, 101-133.
    """
    d = np.asarray(events, dtype=float)
    n = np.asarray(at_risk, dtype=float)
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = d / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        lower = np.where(n > 0, np.maximum(centre - half, 0.0), np.nan)
        upper = np.where(n > 0, np.minimum(centre + half, 1.0), np.nan)
    return lower, upper


def smm_to_abs(smm: np.ndarray, age: np.ndarray) -> np.ndarray:
    """ABS speed equivalent to a monthly SMM at loan age ``age`` (months).

    Inverts ``SMM = ABS / (1 - ABS (age - 1))``: ``ABS = SMM / (1 + SMM (age - 1))``.
    """
    s = np.asarray(smm, dtype=float)
    k = np.asarray(age, dtype=float)
    return np.asarray(s / (1.0 + s * (k - 1.0)))


def proportional_hazards(events: np.ndarray, exposure: np.ndarray, *,
                         prior_events: float = CREDIBILITY_EVENTS,
                         iterations: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``E[events_sb] = ratio_s * base_b * exposure_sb`` (Poisson maximum likelihood).

    Parameters
    ----------
    events, exposure : numpy.ndarray
        Shape ``(n_segments, n_bands)``: events and loan-months at risk per segment and age band.
    prior_events : float
        Pseudo-events at the pooled rate added to each segment's observed and expected events
        (credibility shrinkage of sparse segments towards 1).
    iterations : int
        Alternating updates of ``ratio`` and ``base``.

    Returns
    -------
    tuple of numpy.ndarray
        ``base`` ``(n_bands,)`` (monthly rates) and ``ratio`` ``(n_segments,)``, normalised so
        that the exposure-weighted mean ratio is 1. Segments without exposure get ratio 1.

    References
    ----------
    Laird and Olivier (1981).
    """
    o = np.asarray(events, dtype=float)
    e = np.asarray(exposure, dtype=float)
    ratio = np.ones(o.shape[0])
    base = np.zeros(o.shape[1])
    for _ in range(iterations):
        denom = (ratio[:, None] * e).sum(axis=0)
        base = np.divide(o.sum(axis=0), denom, out=np.zeros_like(denom), where=denom > 0)
        expected = (base[None, :] * e).sum(axis=1)
        new = (o.sum(axis=1) + prior_events) / (expected + prior_events)
        new = np.where(expected > 0, new, 1.0)
        if np.allclose(new, ratio, rtol=1e-10, atol=0.0):
            ratio = new
            break
        ratio = new
    seg_exposure = e.sum(axis=1)
    scale = float(np.sum(ratio * seg_exposure) / max(seg_exposure.sum(), 1e-300))
    if scale > 0:
        ratio, base = ratio / scale, base * scale
    return base, ratio


# ---------------------------------------------------------------------------------------------
# Segments
# ---------------------------------------------------------------------------------------------


def _band_label(name: str, value: float, edges: tuple[float, ...]) -> str:
    if not np.isfinite(value):
        return f"{name}[na]"
    k = int(np.searchsorted(edges, value, side="right"))
    lo = f"{edges[k - 1]:g}" if k > 0 else ""
    hi = f"{edges[k]:g}" if k < len(edges) else ""
    return f"{name}[{lo},{hi})"


@dataclass(frozen=True)
class SegmentScheme:
    """Segmentation of loans by FICO band, new/used and APR band.

    Labels read like ``fico[680,740)/used/apr[0.05,0.1)`` (lower bound inclusive; an empty
    bound is open); a scheme with no dimension labels every loan ``all``. The labels are the
    keys of ``default.hazard_curves``, so :meth:`from_labels` recovers the scheme from a model.
    """

    fico_edges: tuple[float, ...] | None = (620.0, 680.0, 740.0)
    new_used: bool = True
    apr_edges: tuple[float, ...] | None = (0.05, 0.10)

    def labels(self, fico: np.ndarray, vehicle_new: np.ndarray, rate: np.ndarray) -> np.ndarray:
        """Segment label per loan, shape ``(n_loans,)`` (object)."""
        n = len(rate)
        out = []
        for i in range(n):
            parts = []
            if self.fico_edges is not None:
                parts.append(_band_label("fico", float(fico[i]), self.fico_edges))
            if self.new_used:
                parts.append("new" if vehicle_new[i] else "used")
            if self.apr_edges is not None:
                parts.append(_band_label("apr", float(rate[i]), self.apr_edges))
            out.append("/".join(parts) if parts else "all")
        return np.array(out, dtype=object)

    @classmethod
    def from_labels(cls, labels: list[str]) -> SegmentScheme:
        """Recover the scheme from segment labels (e.g. a model's hazard-curve keys)."""
        edges: dict[str, set[float]] = {"fico": set(), "apr": set()}
        seen: set[str] = set()
        new_used = False
        for label in labels:
            if label == "all":
                continue
            for part in label.split("/"):
                m = re.fullmatch(r"(fico|apr)\[([^,\]]*)(?:,([^)]*))?[)\]]", part)
                if m:
                    seen.add(m.group(1))
                    for bound in (m.group(2), m.group(3)):
                        if bound and bound != "na":
                            edges[m.group(1)].add(float(bound))
                elif part in ("new", "used"):
                    new_used = True
                else:
                    raise InputError("segments", Problem(
                        None, "default.hazard_curves", f"unrecognised segment label {label!r}"))
        return cls(
            fico_edges=tuple(sorted(edges["fico"])) if "fico" in seen else None,
            new_used=new_used,
            apr_edges=tuple(sorted(edges["apr"])) if "apr" in seen else None,
        )

    @classmethod
    def parse(cls, dimensions: str, fico_edges: tuple[float, ...] = (620.0, 680.0, 740.0),
              apr_edges: tuple[float, ...] = (0.05, 0.10)) -> SegmentScheme:
        """Scheme from a comma list of ``fico``, ``new_used``, ``apr`` (or ``none``)."""
        dims = {d.strip() for d in dimensions.split(",") if d.strip()} - {"none"}
        unknown = dims - {"fico", "new_used", "apr"}
        if unknown:
            raise InputError("--segments", f"unknown dimension(s) {sorted(unknown)}; "
                             "expected a comma list of fico, new_used, apr, or none")
        return cls(fico_edges=fico_edges if "fico" in dims else None,
                   new_used="new_used" in dims,
                   apr_edges=apr_edges if "apr" in dims else None)


# ---------------------------------------------------------------------------------------------
# Person-months
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PersonMonths:
    """Loan-month records at risk; every array has shape ``(n_records,)``.

    ``age`` is the loan age in the month (months), ``prepaid``/``defaulted`` the event flags,
    ``exposure_balance`` the balance after scheduled principal (USD) and ``prepaid_principal``
    the principal paid above schedule and arrears (payoffs and curtailments, USD).
    """

    loan: np.ndarray
    month: np.ndarray
    age: np.ndarray
    prepaid: np.ndarray
    defaulted: np.ndarray
    exposure_balance: np.ndarray
    prepaid_principal: np.ndarray


def _scheduled_and_excess(panel: LoanPanel,
                          prev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scheduled principal and principal paid above schedule and arrears, ``(n, t)`` USD."""
    n, t = panel.balance.shape
    sched = scheduled_principal(np.nan_to_num(prev), panel.rate, panel.scheduled_payment)
    paid = np.nan_to_num(panel.principal_paid)
    excess = np.zeros((n, t))
    arrears = np.zeros(n)
    for k in range(t):
        excess[:, k] = np.maximum(paid[:, k] - sched[:, k] - arrears, 0.0)
        arrears = np.maximum(arrears + sched[:, k] - paid[:, k], 0.0)
    return sched, excess


def person_months(panel: LoanPanel, events: PanelEvents,
                  censoring: Censoring = "risk_set") -> PersonMonths:
    """Expand loans into the loan-months at risk.

    With ``censoring="ignore"`` censored loans stay at risk, event-free, to the window's end.
    """
    n, t = panel.balance.shape
    exit_ = events.exit
    if censoring == "ignore":
        exit_ = np.where(events.kind == 0, t, exit_)
    elif censoring != "risk_set":
        raise InputError("--censoring", f"expected risk_set or ignore, got {censoring!r}")
    months = np.arange(1, t + 1)[None, :]
    at_risk = (months >= events.entry[:, None]) & (months <= exit_[:, None])
    prev = panel.prior_balance()
    sched, excess = _scheduled_and_excess(panel, prev)
    is_event = months == events.exit[:, None]
    prepaid = is_event & (events.kind == PREPAID)[:, None]
    defaulted = is_event & (events.kind == DEFAULTED)[:, None]
    # A loan's balance after it leaves the panel is unknown: censored-ignored months get none.
    observed = ~np.isnan(prev)
    li, mi = np.nonzero(at_risk)
    exposure = np.where(observed, np.nan_to_num(prev) - sched, 0.0)
    return PersonMonths(
        loan=li, month=mi + 1, age=panel.age0[li] + mi + 1,
        prepaid=prepaid[li, mi], defaulted=defaulted[li, mi],
        exposure_balance=np.maximum(exposure[li, mi], 0.0),
        prepaid_principal=np.where(defaulted[li, mi], 0.0, excess[li, mi] * observed[li, mi]),
    )


# ---------------------------------------------------------------------------------------------
# Estimates
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class HazardEstimate:
    """Discrete-time hazard of one cause by age band; arrays of shape ``(n_bands,)``.

    ``age_lo``/``age_hi`` bound each band (inclusive, months); ``at_risk`` counts loan-months,
    ``events`` events; ``hazard = events / at_risk`` (monthly) with the Wilson interval
    ``[lower, upper]`` at ``level``. Bands without loans at risk are left out.
    """

    cause: str
    age_lo: np.ndarray
    age_hi: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    hazard: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    level: float

    def at_ages(self, ages: np.ndarray) -> np.ndarray:
        """Hazard at integer ages (step function; flat beyond the first and last bands)."""
        idx = np.searchsorted(self.age_hi, np.asarray(ages), side="left")
        return np.asarray(self.hazard[np.clip(idx, 0, len(self.hazard) - 1)])


def _bands(age: np.ndarray, width: int) -> np.ndarray:
    return np.asarray((np.asarray(age) - 1) // width, dtype=np.int64)


def _merge_tail(band: np.ndarray, event: np.ndarray, min_events: float) -> np.ndarray:
    """Merge the oldest bands until the last one holds at least ``min_events`` events.

    The curve is flat beyond its last band, so that band's rate should rest on data.
    """
    band = band.copy()
    counts = np.bincount(band, weights=np.asarray(event, dtype=float))
    last = len(counts) - 1
    while last > 0 and counts[last:].sum() < min_events:
        last -= 1
    band[band > last] = last
    return band


def hazard_by_age(age: np.ndarray, event: np.ndarray, *, age_band: int = 1,
                  level: float = 0.95, cause: str = "event") -> HazardEstimate:
    """Life-table hazard by age band from loan-month records.

    Parameters
    ----------
    age : numpy.ndarray
        Loan age of each loan-month at risk, shape ``(n_records,)`` (months, >= 1).
    event : numpy.ndarray
        Whether the event happened in that loan-month, shape ``(n_records,)``.
    age_band : int
        Band width in months (1 = one hazard per age).
    level : float
        Confidence level of the Wilson intervals.
    cause : str
        Label carried by the result.
    """
    if age_band < 1:
        raise InputError("--age-band", f"must be >= 1, got {age_band}")
    if len(age) == 0:
        raise InputError("panel", "no loan-months at risk in the estimation window")
    band = _bands(age, age_band)
    nb = int(band.max()) + 1
    n = np.bincount(band, minlength=nb).astype(float)
    d = np.bincount(band, weights=np.asarray(event, dtype=float), minlength=nb)
    keep = n > 0
    lo, hi = wilson_interval(d[keep], n[keep], level)
    idx = np.flatnonzero(keep)
    return HazardEstimate(
        cause=cause, age_lo=idx * age_band + 1, age_hi=(idx + 1) * age_band,
        at_risk=n[keep], events=d[keep], hazard=d[keep] / n[keep], lower=lo, upper=hi,
        level=level,
    )


def _ratio_interval(y: np.ndarray, x: np.ndarray, band: np.ndarray, nb: int,
                    level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ratio estimator sum(y)/sum(x) per band with a normal (linearisation) interval."""
    sy = np.bincount(band, weights=y, minlength=nb)
    sx = np.bincount(band, weights=x, minlength=nb)
    r = np.divide(sy, sx, out=np.zeros(nb), where=sx > 0)
    resid = np.bincount(band, weights=(y - r[band] * x) ** 2, minlength=nb)
    se = np.divide(np.sqrt(resid), sx, out=np.zeros(nb), where=sx > 0)
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    return r, np.maximum(r - z * se, 0.0), np.minimum(r + z * se, 1.0)


@dataclass(frozen=True, eq=False)
class Calibration:
    """Estimated hazards of a panel window and the model they imply.

    Attributes
    ----------
    prepay, default : HazardEstimate
        Pooled cause-specific hazards (count basis) by age band.
    prepay_smm : pandas.DataFrame
        Balance-basis SMM by prepayment age band (payoffs plus curtailments over the balance
        after scheduled principal) with ``lower``/``upper`` bounds.
    prepay_curve, default_curve : pandas.Series
        Baseline monthly rates by age band (index: first age of the band; the oldest bands
        are merged until the last holds ``min_tail_events``), from the proportional-hazards fit
        across segments; the model's curves, flat beyond the last band.
    segments : pandas.DataFrame
        Per segment: loans, loan-months, events, expected events, ratio (with credibility) and
        its exact Poisson interval, for prepayment and default.
    chargeoff_months : int
        Median months from the first missed payment to the charge-off, inclusive.
    counts : dict
        Loans per outcome in the window.
    scheme : SegmentScheme
    window : tuple of int
        First and last panel month used.
    prepay_basis : str
    source : str
    """

    prepay: HazardEstimate
    default: HazardEstimate
    prepay_smm: pd.DataFrame
    prepay_curve: pd.Series
    default_curve: pd.Series
    segments: pd.DataFrame
    chargeoff_months: int
    counts: dict[str, int]
    scheme: SegmentScheme
    window: tuple[int, int]
    prepay_basis: str
    source: str
    rules: EventRules = field(default_factory=EventRules)

    def table(self) -> pd.DataFrame:
        """Hazards by age band with bounds and their CPR/ABS/CDR equivalents.

        One row per band of either cause (``cause`` column).
        """
        rows = []
        for est in (self.prepay, self.default):
            mid = (est.age_lo + est.age_hi) / 2.0
            frame = pd.DataFrame({
                "cause": est.cause, "age_lo": est.age_lo, "age_hi": est.age_hi,
                "loan_months": est.at_risk.astype(np.int64), "events": est.events.astype(np.int64),
                "hazard": est.hazard, "lower": est.lower, "upper": est.upper,
            })
            if est.cause == "prepayment":
                frame["cpr"] = smm_to_cpr(est.hazard)
                frame["abs"] = smm_to_abs(est.hazard, mid)
                smm = self.prepay_smm.set_index("age_lo")
                frame["smm_balance"] = smm["smm"].reindex(est.age_lo).to_numpy()
                frame["smm_balance_lower"] = smm["lower"].reindex(est.age_lo).to_numpy()
                frame["smm_balance_upper"] = smm["upper"].reindex(est.age_lo).to_numpy()
            else:
                frame["cdr"] = mdr_to_cdr(est.hazard)
                frame["cdr_lower"] = mdr_to_cdr(est.lower)
                frame["cdr_upper"] = mdr_to_cdr(est.upper)
            rows.append(frame)
        return pd.concat(rows, ignore_index=True)

    def survival(self, start_age: int, end_age: int) -> pd.DataFrame:
        """Product-limit survival and cumulative incidences of a loan alive at ``start_age``.

        ``S(a) = prod_{j=start+1..a} (1 - h_p(j) - h_d(j))`` and
        ``CIF_c(a) = sum_j S(j-1) h_c(j)`` (Kaplan-Meier / Aalen-Johansen form on the band
        hazards, count basis). Rows are ages ``start_age + 1 .. end_age``.
        """
        ages = np.arange(start_age + 1, end_age + 1)
        hp, hd = self.prepay.at_ages(ages), self.default.at_ages(ages)
        surv = np.cumprod(1.0 - hp - hd)
        before = np.r_[1.0, surv[:-1]]
        return pd.DataFrame({"survival": surv, "cif_prepay": np.cumsum(before * hp),
                             "cif_default": np.cumsum(before * hd)},
                            index=pd.Index(ages, name="age"))

    def model_dict(self, name: str | None = None,
                   roll_rates: RollRateEstimate | None = None) -> dict[str, Any]:
        """The calibrated assumptions as a plain mapping (the YAML file's content).

        With ``roll_rates`` the file selects ``credit_model: roll_rate`` and carries the
        matrices (charge-off at 120+ days, ``chargeoff_months`` 4); the hazard curves stay in
        it for the competing-risk model.
        """

        def step_curve(curve: pd.Series) -> dict[str, list[Any]]:
            """One point per age: each band's rate from its first age to the next band's."""
            starts = [int(a) for a in curve.index]
            ends = starts[1:] + [starts[-1] + 1]
            ages: list[int] = []
            values: list[float] = []
            for lo, hi, value in zip(starts, ends, curve.to_numpy(), strict=True):
                for a in range(lo, hi):
                    ages.append(a)
                    values.append(round(float(min(max(value, 0.0), 1.0)), 8))
            return {"ages": ages, "values": values}

        seg = self.segments
        base_d = step_curve(self.default_curve)
        curves: dict[str, Any] = {"all": base_d}
        for label, ratio in zip(seg.index, seg["default_ratio"], strict=True):
            curves[str(label)] = {"ages": base_d["ages"],
                                  "values": [round(min(v * float(ratio), 1.0), 8)
                                             for v in base_d["values"]]}
        prepay_mult = {str(k): round(float(v), 6)
                       for k, v in zip(seg.index, seg["prepay_ratio"], strict=True) if v > 0}
        zero_scorecard = {"fico": 0.0, "ltv": 0.0, "pti": 0.0, "term": 0.0, "used": 0.0,
                          "apr": 0.0, "normalise": False}
        out: dict[str, Any] = {
            "name": name or f"calibrated: {self.source} months {self.window[0]}-{self.window[1]}",
            "credit_model": "competing_risk",
            "default": {"hazard_curves": curves, "scorecard": zero_scorecard,
                        "unemployment_elasticity": 0.0},
            "delinquency": {"chargeoff_months": int(self.chargeoff_months),
                            "cure_probability": 0.0},
            "prepayment": {"smm_curve": step_curve(self.prepay_curve),
                           "segment_multipliers": prepay_mult, "rate_incentive": 0.0,
                           "unemployment_elasticity": 0.0},
            "factor": {"type": "none"},
        }
        if roll_rates is not None:
            out["credit_model"] = "roll_rate"
            out["delinquency"]["chargeoff_months"] = CHARGED_OFF_STATE
            out["roll_rate"] = roll_rates.model_section()
        return out

    def to_model(self, name: str | None = None) -> CollateralModel:
        """The calibrated :class:`CollateralModel` (validated)."""
        return model_from_dict(self.model_dict(name), source="calibration")


def _chargeoff_months(events: PanelEvents) -> int:
    seen = (events.kind == DEFAULTED) & (events.chargeoff > 0)
    if not seen.any():
        return 4
    lag = events.chargeoff[seen] - events.exit[seen] + 1
    return int(np.clip(np.round(np.median(lag)), 1, 12))


def estimate_hazards(
    panel: LoanPanel,
    *,
    through: int | None = None,
    scheme: SegmentScheme | None = None,
    rules: EventRules | None = None,
    prepay_age_band: int = 3,
    default_age_band: int = 6,
    prepay_basis: PrepayBasis = "balance",
    level: float = 0.95,
    censoring: Censoring = "risk_set",
    min_tail_events: float = 5.0,
) -> Calibration:
    """Estimate prepayment and default hazards by age and segment from panel months 1..through.

    Parameters
    ----------
    panel : LoanPanel
        The performance panel.
    through : int, optional
        Last month used (default: all); events are classified from these months only.
    scheme : SegmentScheme, optional
        Segmentation (default FICO x new/used x APR bands).
    rules : EventRules, optional
        Event definitions (see :func:`portfolio.panel.panel_events`).
    prepay_age_band, default_age_band : int
        Age band widths (months) of the prepayment and default curves.
    prepay_basis : {"balance", "count"}
        The model's SMM curve: balance basis (payoffs plus curtailments per unit of balance,
        the market SMM) or the loan-count hazard of full payoffs.
    level : float
        Confidence level of every interval.
    censoring : {"risk_set", "ignore"}
        ``ignore`` keeps censored loans at risk to the window end (biased; for comparison).
    min_tail_events : float
        The model curves merge their oldest bands until the last holds this many events; the
        curve is flat beyond it.
    """
    if not 0.5 <= level < 1.0:
        raise InputError("--level", f"must lie in [0.5, 1), got {level}")
    if prepay_basis not in ("balance", "count"):
        raise InputError("--prepay-basis", f"expected balance or count, got {prepay_basis!r}")
    window = panel if through is None else panel.through(through)
    rules = rules or EventRules()
    scheme = scheme or SegmentScheme()
    events = panel_events(window, rules)
    pm = person_months(window, events, censoring)
    prepay = hazard_by_age(pm.age, pm.prepaid, age_band=prepay_age_band, level=level,
                           cause="prepayment")
    default = hazard_by_age(pm.age, pm.defaulted, age_band=default_age_band, level=level,
                            cause="default")

    # Balance-basis SMM by prepayment band.
    bp = _bands(pm.age, prepay_age_band)
    nbp = int(bp.max()) + 1
    smm, smm_lo, smm_hi = _ratio_interval(pm.prepaid_principal, pm.exposure_balance, bp, nbp,
                                          level)
    keep_p = np.bincount(bp, minlength=nbp) > 0
    prepay_smm = pd.DataFrame({"age_lo": np.flatnonzero(keep_p) * prepay_age_band + 1,
                               "smm": smm[keep_p], "lower": smm_lo[keep_p],
                               "upper": smm_hi[keep_p]})

    # Segments: proportional multipliers on the age curves.
    labels = scheme.labels(window.fico, window.vehicle_new, window.rate)
    seg_names, seg_of_loan = np.unique(labels.astype(str), return_inverse=True)
    s = seg_of_loan[pm.loan]
    ns = len(seg_names)
    bd = _merge_tail(_bands(pm.age, default_age_band), pm.defaulted, min_tail_events)
    nbd = int(bd.max()) + 1
    bp = _merge_tail(bp, pm.prepaid, min_tail_events)

    def grid(band: np.ndarray, nb: int, weights: np.ndarray) -> np.ndarray:
        flat = np.bincount(s * nb + band, weights=weights, minlength=ns * nb)
        return flat.reshape(ns, nb)

    ones = np.ones(len(pm.age))
    exp_p, exp_d = grid(bp, nbp, ones), grid(bd, nbd, ones)
    ev_p = grid(bp, nbp, pm.prepaid.astype(float))
    ev_d = grid(bd, nbd, pm.defaulted.astype(float))
    base_p, ratio_p = proportional_hazards(ev_p, exp_p)
    base_d, ratio_d = proportional_hazards(ev_d, exp_d)
    if prepay_basis == "balance":
        x = grid(bp, nbp, pm.exposure_balance)
        y = grid(bp, nbp, pm.prepaid_principal)
        denom = (ratio_p[:, None] * x).sum(axis=0)
        base_p = np.divide(y.sum(axis=0), denom, out=np.zeros(nbp), where=denom > 0)
    keep_d = exp_d.sum(axis=0) > 0
    keep_pc = exp_p.sum(axis=0) > 0
    prepay_curve = pd.Series(base_p[keep_pc], name="prepayment",
                             index=np.flatnonzero(keep_pc) * prepay_age_band + 1)
    default_curve = pd.Series(base_d[keep_d], name="default",
                              index=np.flatnonzero(keep_d) * default_age_band + 1)

    def seg_frame(ev: np.ndarray, ex: np.ndarray, base: np.ndarray, ratio: np.ndarray,
                  cause: str) -> pd.DataFrame:
        o = ev.sum(axis=1)
        e = (base[None, :] * ex).sum(axis=1)
        alpha = 1.0 - level
        lo = np.where(o > 0, stats.chi2.ppf(alpha / 2, 2 * o) / 2, 0.0)
        hi = stats.chi2.ppf(1 - alpha / 2, 2 * o + 2) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            return pd.DataFrame({
                f"{cause}_events": o.astype(np.int64), f"{cause}_expected": e,
                f"{cause}_ratio": ratio, f"{cause}_lower": lo / e, f"{cause}_upper": hi / e,
            }, index=pd.Index(seg_names, name="segment"))

    loans = np.bincount(seg_of_loan, minlength=ns)
    segments = pd.concat([
        pd.DataFrame({"loans": loans, "loan_months": exp_p.sum(axis=1).astype(np.int64)},
                     index=pd.Index(seg_names, name="segment")),
        seg_frame(ev_p, exp_p, base_p if prepay_basis == "count" else
                  proportional_hazards(ev_p, exp_p)[0], ratio_p, "prepay"),
        seg_frame(ev_d, exp_d, base_d, ratio_d, "default"),
    ], axis=1)
    return Calibration(
        prepay=prepay, default=default, prepay_smm=prepay_smm, prepay_curve=prepay_curve,
        default_curve=default_curve, segments=segments,
        chargeoff_months=_chargeoff_months(events), counts=events.counts(), scheme=scheme,
        window=(1, window.n_months), prepay_basis=prepay_basis, source=panel.source,
        rules=rules,
    )


# ---------------------------------------------------------------------------------------------
# Roll rates
# ---------------------------------------------------------------------------------------------


def delinquency_states(panel: LoanPanel, events: PanelEvents,
                       rules: EventRules | None = None) -> np.ndarray:
    """Roll-rate state of every loan at the end of every month, ``(n_loans, n_months)`` int.

    ``0..3``: payments behind (current, 30, 60, 90), contractual delinquency
    (:func:`~portfolio.panel.payments_behind`) capped at 3; :data:`PREPAID_STATE` in a
    payoff month; for a loan that defaulted in month ``s`` (its first missed payment, see
    :func:`~portfolio.panel.panel_events`) 1, 2, 3 in months ``s..s+2`` and
    :data:`CHARGED_OFF_STATE` in ``s + 3``, the 120+ days at which the engine charges off
    (as the backtest counts actual defaults); :data:`NOT_AT_RISK` outside the months at risk
    (before entry, after the exit of censored, prepaid and matured loans). A loan still in the
    panel at its end counts to the last month, arrears open or not: the transitions were
    observed, only the outcome is censored (the Markov chain needs no more).
    """
    n, t = panel.balance.shape
    behind, _ = payments_behind(panel, rules)
    months = np.arange(1, t + 1)[None, :]
    defaulted = (events.kind == DEFAULTED)[:, None]
    end = np.where(defaulted[:, 0], events.exit + CHARGED_OFF_STATE - 1, events.exit)
    # A loan still in the panel at its end: every month is an observed transition, although
    # the outcome of arrears open at the end (cure or default) is not yet known.
    still_in = ~np.isnan(panel.balance[:, -1]) & (panel.balance[:, -1] > 0)
    end = np.where((events.kind == CENSORED) & still_in, t, end)
    state = np.minimum(behind, CHARGED_OFF_STATE - 1)
    since = months - events.exit[:, None]
    state = np.where(defaulted & (since >= 0), np.minimum(since + 1, CHARGED_OFF_STATE), state)
    state = np.where((events.kind == PREPAID)[:, None] & (since == 0), PREPAID_STATE, state)
    at_risk = (months >= events.entry[:, None]) & (months <= end[:, None])
    return np.where(at_risk, state, NOT_AT_RISK).astype(np.int64)


@dataclass(frozen=True, eq=False)
class RollRateEstimate:
    """Monthly transition counts and smoothed probabilities by segment and age band.

    Attributes
    ----------
    counts : numpy.ndarray
        ``(n_segments, n_bands, 4, 6)``: balance-weighted loan-months moving from each state (rows,
        :data:`~simulation.model.ROLL_STATES`) to each target (columns,
        :data:`~simulation.model.ROLL_TARGETS`).
    probabilities : numpy.ndarray
        Same shape; rows sum to 1 (see :func:`estimate_roll_rates` for the smoothing).
    pooled : numpy.ndarray
        ``(n_bands, 4, 6)``: the smoothed all-segment rows (the ``all`` matrices).
    segments : tuple of str
        Segment labels (the scheme's).
    age_bands : tuple of int
        First loan age of each band (months).
    prior_months : float
        Pseudo loan-months of the smoothing.
    """

    counts: np.ndarray
    probabilities: np.ndarray
    pooled: np.ndarray
    segments: tuple[str, ...]
    age_bands: tuple[int, ...]
    prior_months: float

    def model_section(self) -> dict[str, Any]:
        """The ``roll_rate`` section of a model file (``all`` first, then each segment)."""

        def rows(matrix: np.ndarray) -> list[list[float]]:
            out = []
            for row in matrix:
                values = [round(float(v), 10) for v in row]
                big = int(np.argmax(values))  # the rounding residual goes to the largest entry
                values[big] = round(1.0 - sum(values) + values[big], 10)
                out.append(values)
            return out

        matrices = {"all": [rows(m) for m in self.pooled]}
        for k, label in enumerate(self.segments):
            matrices[label] = [rows(m) for m in self.probabilities[k]]
        return {"age_bands": [int(a) for a in self.age_bands], "matrices": matrices}

    def table(self) -> pd.DataFrame:
        """Counts and probabilities in long form: segment, age band, from, to."""
        seg, band, frm, to = np.indices(self.counts.shape).reshape(4, -1)
        return pd.DataFrame({
            "segment": np.asarray(self.segments, dtype=object)[seg],
            "age_lo": np.asarray(self.age_bands)[band],
            "from": np.asarray(ROLL_STATES, dtype=object)[frm],
            "to": np.asarray(ROLL_TARGETS, dtype=object)[to],
            "loan_months": self.counts.reshape(-1), "probability": self.probabilities.reshape(-1),
        })


def _smoothed(counts: np.ndarray, prior: np.ndarray, strength: float) -> np.ndarray:
    """Rows ``(counts + strength * prior) / (n + strength)`` along the last axis.

    A row without counts and without prior weight is the prior row.
    """
    n = counts.sum(axis=-1, keepdims=True)
    weight = n + strength
    mixed = (counts + strength * prior) / np.where(weight > 0, weight, 1.0)
    return np.asarray(np.where(weight > 0, mixed, prior))


def estimate_roll_rates(
    panel: LoanPanel,
    *,
    through: int | None = None,
    scheme: SegmentScheme | None = None,
    rules: EventRules | None = None,
    age_band: int = 6,
    prior_months: float = CREDIBILITY_MONTHS,
) -> RollRateEstimate:
    """Monthly roll-rate matrices by segment and age band from panel months 1..through.

    Every loan-month at risk (:func:`delinquency_states`) is a transition from last month's
    state (current at the loan's first month) to this month's; at loan age ``age0 + m``. The
    maximum-likelihood row is the transition counts over the loan-months in the state (the
    Markov-chain estimator of Anderson and Goodman 1957), here in dollars as servicers and
    agencies quote roll rates: each loan-month weighs its balance after scheduled principal,
    and principal prepaid above schedule (curtailments) counts towards the prepaid column, so
    that prepayment is on the balance basis of the market SMM. ``counts`` are these weights
    rescaled to loan-months (their total is the number of loan-months). Sparse cells are smoothed by
    Dirichlet pseudo-counts: each age band's pooled row shrinks towards the all-ages row with
    ``prior_months`` pseudo loan-months, each segment's row towards its band's pooled row
    with as many. A state never observed at all rolls forward with probability 1 (a 90-day
    loan with no evidence of cures charges off).

    References
    ----------
    Anderson, T. W. and Goodman, L. A. (1957), "Statistical inference about Markov chains",
    *Annals of Mathematical Statistics* 28, 89-110.
    """
    if age_band < 1:
        raise InputError("--roll-age-band", f"must be >= 1, got {age_band}")
    if prior_months < 0:
        raise InputError("--roll-prior-months", f"must be >= 0, got {prior_months}")
    window = panel if through is None else panel.through(through)
    rules = rules or EventRules()
    scheme = scheme or SegmentScheme()
    events = panel_events(window, rules)
    state = delinquency_states(window, events, rules)
    before = np.concatenate([np.zeros((window.n_loans, 1), np.int64), state[:, :-1]], axis=1)
    before = np.where(before < 0, 0, before)  # a loan's first month at risk starts current
    loan, col = np.nonzero(state >= 0)
    frm, to = before[loan, col], state[loan, col]
    # A stalled default is recognised stall_months after its first missed payment but charged
    # off 120+ days after it: whether a 90-day loan was charged off in the last months is not
    # yet known, so those months' transitions from 90 are left out (not counted as staying).
    known = window.n_months - max(rules.stall_months - CHARGED_OFF_STATE, 0)
    keep = (frm < CHARGED_OFF_STATE - 1) | ((frm == CHARGED_OFF_STATE - 1) & (col < known))
    loan, col, frm, to = loan[keep], col[keep], frm[keep], to[keep]
    if loan.size == 0:
        raise InputError(panel.source, "no loan-months at risk in the estimation window")
    # Dollar roll rates: each loan-month weighs its balance after scheduled principal; the
    # principal prepaid above schedule (curtailments) moves to the prepaid column.
    prev = window.prior_balance()
    sched, _ = _scheduled_and_excess(window, prev)
    beyond = payments_behind(window, rules)[1]
    exposure = np.maximum(np.nan_to_num(prev) - sched, 0.0)[loan, col]
    curtailed = np.where(to == CHARGED_OFF_STATE, 0.0, np.minimum(beyond[loan, col], exposure))
    curtailed = np.where(to == PREPAID_STATE, exposure, curtailed)
    age = window.age0[loan] + col + 1
    band = _bands(age, age_band)
    n_bands = int(band.max()) + 1
    labels = scheme.labels(window.fico, window.vehicle_new, window.rate)
    seg_names, seg_of_loan = np.unique(labels.astype(str), return_inverse=True)
    seg = seg_of_loan[loan]
    shape = (len(seg_names), n_bands, len(ROLL_STATES), len(ROLL_TARGETS))
    size = int(np.prod(shape))
    flat = np.ravel_multi_index((seg, band, frm, to), shape)
    to_prepaid = np.ravel_multi_index((seg, band, frm, np.full_like(to, PREPAID_STATE)), shape)
    counts = (np.bincount(flat, weights=exposure - curtailed, minlength=size)
              + np.bincount(to_prepaid, weights=curtailed, minlength=size)).reshape(shape)
    counts *= np.bincount(flat, minlength=size).sum() / max(counts.sum(), 1e-300)
    every_age = counts.sum(axis=(0, 1))
    unseen = every_age.sum(axis=-1) == 0
    for s in np.flatnonzero(unseen):
        every_age[s, s + 1] = 1.0
    prior_all = every_age / every_age.sum(axis=-1, keepdims=True)
    pooled = _smoothed(counts.sum(axis=0), prior_all[None], prior_months)
    probabilities = _smoothed(counts, pooled[None], prior_months)
    return RollRateEstimate(
        counts=counts, probabilities=probabilities, pooled=pooled,
        segments=tuple(str(x) for x in seg_names),
        age_bands=tuple(int(k * age_band + 1) for k in range(n_bands)),
        prior_months=float(prior_months))
