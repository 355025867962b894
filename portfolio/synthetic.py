"""Seeded synthetic prime and subprime auto-loan pools.

:func:`synthetic_pool` draws a realistic loan tape from the parameter sets in
:data:`POOL_PARAMETERS`. Every draw comes from one local ``numpy.random.default_rng(seed)``: the
same ``(kind, n_loans, seed, cutoff_date)`` gives a bit-identical tape, and no global generator is
touched. Everything is vectorised; 100,000 loans take a fraction of a second.

How a loan is drawn (all per loan, in this order):

1. new/used, original term (from the term mix), seasoning (age, 0-24 months, gamma shaped);
2. FICO (normal, clipped; a small share unknown = NaN);
3. make and model (shares below, with a segment tilt), which fix the vehicle type;
4. vehicle value: a new price by type and make class, depreciated by vehicle age for used cars;
5. LTV (higher for low FICO and for used cars), amount financed = LTV x vehicle value;
6. APR = base + FICO slope x (reference FICO - FICO) + used premium + term slope + noise;
7. current balance = level-annuity balance after ``age`` payments; PTI; state; dealer;
   origination date (``age`` months before the cut-off); model year; days past due.

The targets the parameters were tuned to, and where they come from, are in :data:`POOL_TARGETS`
and ``docs/synthetic_pools.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from portfolio.tape import LEVEL, LoanTape, tape_from_columns

MAX_SYNTHETIC_LOANS = 5_000_000
"""Largest synthetic pool: about 1.5 GB of tape and per-loan model arrays, within one machine."""
MAX_SEED = 2**63 - 1
"""Seeds are 0 .. 2**63 - 1 (a non-negative int64), for pools and runs alike."""

PoolKind = Literal["prime", "subprime"]

# --------------------------------------------------------------------------------------------
# Static tables shared by both segments
# --------------------------------------------------------------------------------------------

STATE_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("CA", 39.5), ("TX", 29.1), ("FL", 21.5), ("NY", 20.2), ("PA", 13.0), ("IL", 12.8),
    ("OH", 11.8), ("GA", 10.7), ("NC", 10.4), ("MI", 10.1), ("NJ", 9.3), ("VA", 8.6),
    ("WA", 7.7), ("AZ", 7.2), ("MA", 7.0), ("TN", 6.9), ("IN", 6.8), ("MD", 6.2), ("MO", 6.2),
    ("WI", 5.9), ("CO", 5.8), ("MN", 5.7), ("SC", 5.1), ("AL", 5.0), ("LA", 4.7), ("KY", 4.5),
    ("OR", 4.2), ("OK", 4.0), ("CT", 3.6), ("UT", 3.3), ("IA", 3.2), ("NV", 3.1), ("AR", 3.0),
    ("MS", 3.0), ("KS", 2.9), ("NM", 2.1), ("NE", 2.0), ("ID", 1.8), ("WV", 1.8), ("HI", 1.5),
    ("NH", 1.4), ("ME", 1.4), ("RI", 1.1), ("MT", 1.1), ("DE", 1.0), ("SD", 0.9), ("ND", 0.8),
    ("AK", 0.7), ("DC", 0.7), ("VT", 0.6), ("WY", 0.6),
)
"""Obligor-state weights: 2020 US Census resident population in millions, rounded."""

# (make, model, vehicle type, share of units in percent, luxury make)
VEHICLE_MODELS: tuple[tuple[str, str, str, float, bool], ...] = (
    ("Toyota", "Camry", "car", 2.6, False), ("Toyota", "Corolla", "car", 2.2, False),
    ("Toyota", "RAV4", "suv", 3.2, False), ("Toyota", "Highlander", "suv", 1.6, False),
    ("Toyota", "Tacoma", "truck", 1.7, False), ("Toyota", "Tundra", "truck", 0.8, False),
    ("Toyota", "Sienna", "van", 0.6, False),
    ("Ford", "F-150", "truck", 4.8, False), ("Ford", "Explorer", "suv", 1.6, False),
    ("Ford", "Escape", "suv", 1.5, False), ("Ford", "Edge", "suv", 0.8, False),
    ("Ford", "Mustang", "car", 0.6, False), ("Ford", "Fusion", "car", 0.9, False),
    ("Ford", "Transit", "van", 0.5, False),
    ("Chevrolet", "Silverado 1500", "truck", 3.6, False),
    ("Chevrolet", "Equinox", "suv", 2.0, False), ("Chevrolet", "Malibu", "car", 1.4, False),
    ("Chevrolet", "Traverse", "suv", 1.1, False), ("Chevrolet", "Tahoe", "suv", 0.9, False),
    ("Chevrolet", "Colorado", "truck", 0.7, False), ("Chevrolet", "Trax", "suv", 0.7, False),
    ("Honda", "Civic", "car", 2.2, False), ("Honda", "Accord", "car", 1.8, False),
    ("Honda", "CR-V", "suv", 2.6, False), ("Honda", "Pilot", "suv", 0.9, False),
    ("Honda", "Odyssey", "van", 0.6, False),
    ("Nissan", "Altima", "car", 1.9, False), ("Nissan", "Rogue", "suv", 2.1, False),
    ("Nissan", "Sentra", "car", 1.5, False), ("Nissan", "Pathfinder", "suv", 0.6, False),
    ("Nissan", "Frontier", "truck", 0.5, False),
    ("Hyundai", "Elantra", "car", 1.3, False), ("Hyundai", "Tucson", "suv", 1.4, False),
    ("Hyundai", "Santa Fe", "suv", 0.9, False), ("Hyundai", "Sonata", "car", 0.7, False),
    ("Kia", "Sportage", "suv", 1.0, False), ("Kia", "Sorento", "suv", 0.9, False),
    ("Kia", "Forte", "car", 1.0, False), ("Kia", "K5", "car", 0.7, False),
    ("Kia", "Telluride", "suv", 0.7, False),
    ("Jeep", "Grand Cherokee", "suv", 1.7, False), ("Jeep", "Wrangler", "suv", 1.3, False),
    ("Jeep", "Cherokee", "suv", 0.8, False), ("Jeep", "Compass", "suv", 0.7, False),
    ("Ram", "1500", "truck", 2.9, False), ("Ram", "2500", "truck", 0.8, False),
    ("GMC", "Sierra 1500", "truck", 1.6, False), ("GMC", "Terrain", "suv", 0.7, False),
    ("GMC", "Acadia", "suv", 0.5, False),
    ("Subaru", "Outback", "suv", 1.0, False), ("Subaru", "Forester", "suv", 1.0, False),
    ("Subaru", "Crosstrek", "suv", 0.9, False),
    ("Mazda", "CX-5", "suv", 1.2, False), ("Mazda", "Mazda3", "car", 0.6, False),
    ("Volkswagen", "Tiguan", "suv", 0.7, False), ("Volkswagen", "Jetta", "car", 0.7, False),
    ("Volkswagen", "Atlas", "suv", 0.4, False),
    ("Dodge", "Charger", "car", 0.8, False), ("Dodge", "Durango", "suv", 0.6, False),
    ("Dodge", "Grand Caravan", "van", 0.5, False), ("Dodge", "Challenger", "car", 0.5, False),
    ("Chrysler", "Pacifica", "van", 0.5, False), ("Chrysler", "300", "car", 0.3, False),
    ("Mitsubishi", "Outlander", "suv", 0.5, False), ("Mitsubishi", "Mirage", "car", 0.3, False),
    ("Buick", "Enclave", "suv", 0.4, False), ("Buick", "Encore", "suv", 0.5, False),
    ("Tesla", "Model Y", "suv", 0.9, True), ("Tesla", "Model 3", "car", 0.7, True),
    ("BMW", "X3", "suv", 0.5, True), ("BMW", "3 Series", "car", 0.4, True),
    ("BMW", "X5", "suv", 0.4, True),
    ("Mercedes-Benz", "GLC", "suv", 0.5, True), ("Mercedes-Benz", "C-Class", "car", 0.4, True),
    ("Lexus", "RX", "suv", 0.7, True), ("Lexus", "ES", "car", 0.4, True),
    ("Cadillac", "Escalade", "suv", 0.3, True), ("Cadillac", "XT5", "suv", 0.3, True),
    ("Audi", "Q5", "suv", 0.5, True),
)
"""Make/model mix with vehicle type; shares are approximate US unit-sales shares (percent)."""

NEW_PRICE_BY_TYPE: dict[str, float] = {"car": 25_000.0, "suv": 32_000.0, "truck": 41_000.0,
                                       "van": 35_000.0}
"""Median new-vehicle price by type, USD (mainstream makes; luxury makes x ``luxury_markup``)."""

TERM_CHOICES: tuple[int, ...] = (36, 48, 60, 66, 72, 75, 84)
"""Original terms drawn by the generator, months."""


@dataclass(frozen=True)
class PoolParameters:
    """Parameters of one synthetic segment; see ``docs/synthetic_pools.md`` for the rationale.

    Rates are annual decimals, money in USD, terms and ages in months. Shares are per loan
    (count basis); the balance-weighted pool statistics they produce are in :data:`POOL_TARGETS`.
    """

    segment: PoolKind
    used_share: float
    """Probability that a loan finances a used vehicle."""
    term_mix: tuple[float, ...]
    """Probability of each term in :data:`TERM_CHOICES`."""
    age_mean: float
    """Mean seasoning in months (gamma shape 2), clipped to [0, 24] and to ``term - 6``."""
    fico_mean: float
    fico_sd: float
    fico_min: float
    fico_max: float
    fico_unknown_share: float
    """Share of obligors without a score (FICO = NaN)."""
    apr_base: float
    """APR of a new-vehicle, 60-month loan at ``fico_ref``."""
    fico_ref: float
    apr_fico_slope: float
    """APR added per 100 FICO points below ``fico_ref``."""
    apr_used_premium: float
    apr_term_slope: float
    """APR added per 12 months of original term above 60."""
    apr_sd: float
    apr_min: float
    apr_max: float
    ltv_base: float
    """Mean LTV of a new-vehicle loan at ``fico_ref``."""
    ltv_used_premium: float
    ltv_fico_slope: float
    """LTV added per 100 FICO points below ``fico_ref``."""
    ltv_sd: float
    ltv_min: float
    ltv_max: float
    price_sd: float
    """Log-sd of the new-vehicle price around :data:`NEW_PRICE_BY_TYPE`."""
    luxury_markup: float
    used_age_mean: float
    """Mean age of a used vehicle at origination, years (1 + Poisson)."""
    used_value_first_year: float
    """Value of a one-year-old vehicle as a fraction of its new price."""
    used_value_annual: float
    """Value retained per further year of vehicle age."""
    pti_mean: float
    pti_fico_slope: float
    """PTI added per 100 FICO points below ``fico_ref``."""
    pti_sd: float
    delinquent_share: float
    """Share of loans 1-29 days past due at the cut-off (none 30+; eligibility criteria)."""
    n_dealers: int
    dealer_zipf: float
    """Dealer size weights ``rank ** -dealer_zipf``."""
    luxury_tilt: float
    """Multiplier on the shares of luxury makes."""
    make_tilt: tuple[tuple[str, float], ...] = field(default=())
    """Extra multipliers on make shares."""
    state_tilt: tuple[tuple[str, float], ...] = field(default=())
    """Extra multipliers on state weights."""


POOL_PARAMETERS: dict[str, PoolParameters] = {
    "prime": PoolParameters(
        segment="prime",
        used_share=0.58,
        term_mix=(0.04, 0.07, 0.23, 0.10, 0.38, 0.12, 0.06),
        age_mean=8.0,
        fico_mean=718.0, fico_sd=52.0, fico_min=560.0, fico_max=850.0,
        fico_unknown_share=0.005,
        apr_base=0.0870, fico_ref=715.0, apr_fico_slope=0.045, apr_used_premium=0.024,
        apr_term_slope=0.0045, apr_sd=0.022, apr_min=0.009, apr_max=0.2499,
        ltv_base=0.88, ltv_used_premium=0.04, ltv_fico_slope=0.05, ltv_sd=0.14,
        ltv_min=0.40, ltv_max=1.45,
        price_sd=0.20, luxury_markup=1.45,
        used_age_mean=4.0, used_value_first_year=0.80, used_value_annual=0.88,
        pti_mean=0.085, pti_fico_slope=0.015, pti_sd=0.035,
        delinquent_share=0.01,
        n_dealers=300, dealer_zipf=0.6,
        luxury_tilt=1.0,
    ),
    "subprime": PoolParameters(
        segment="subprime",
        used_share=0.83,
        term_mix=(0.04, 0.08, 0.20, 0.12, 0.42, 0.10, 0.04),
        age_mean=4.0,
        fico_mean=601.0, fico_sd=48.0, fico_min=450.0, fico_max=800.0,
        fico_unknown_share=0.03,
        apr_base=0.1625, fico_ref=600.0, apr_fico_slope=0.060, apr_used_premium=0.020,
        apr_term_slope=0.0040, apr_sd=0.030, apr_min=0.039, apr_max=0.2999,
        ltv_base=1.04, ltv_used_premium=0.05, ltv_fico_slope=0.06, ltv_sd=0.15,
        ltv_min=0.50, ltv_max=1.60,
        price_sd=0.20, luxury_markup=1.45,
        used_age_mean=5.0, used_value_first_year=0.80, used_value_annual=0.88,
        pti_mean=0.125, pti_fico_slope=0.02, pti_sd=0.045,
        delinquent_share=0.05,
        n_dealers=400, dealer_zipf=0.6,
        luxury_tilt=0.4,
        make_tilt=(("Nissan", 1.5), ("Dodge", 1.5), ("Chrysler", 1.5), ("Kia", 1.3),
                   ("Hyundai", 1.3), ("Mitsubishi", 1.8), ("Subaru", 0.6), ("Toyota", 0.8)),
        state_tilt=(("TX", 1.35), ("FL", 1.25), ("GA", 1.30), ("SC", 1.2), ("AL", 1.2),
                    ("MS", 1.3), ("LA", 1.2), ("NC", 1.1), ("CA", 0.85), ("MA", 0.7),
                    ("NY", 0.8), ("WA", 0.8), ("MN", 0.8)),
    ),
}
"""The segment parameter sets used by :func:`synthetic_pool`."""


@dataclass(frozen=True)
class PoolTarget:
    """A pool statistic the generator reproduces, its tolerance and its source."""

    statistic: str
    target: float
    tolerance: float
    basis: str
    source: str


_PROSPECTUS = "approximate, from the prospectus pool composition tables"
POOL_TARGETS: dict[str, tuple[PoolTarget, ...]] = {
    "prime": (
        PoolTarget("wa_fico", 715.0, 10.0, "balance-weighted, known scores",
                   f"CarMax Auto Owner Trust 2025 prospectuses ({_PROSPECTUS})"),
        PoolTarget("wa_rate", 0.10, 0.01, "balance-weighted",
                   f"CarMax Auto Owner Trust 2025 prospectuses ({_PROSPECTUS})"),
        PoolTarget("average_balance", 20_000.0, 2_000.0, "simple average",
                   f"CarMax Auto Owner Trust 2025 prospectuses ({_PROSPECTUS})"),
        PoolTarget("share_term_over_60", 0.67, 0.05, "share of balance",
                   f"CarMax Auto Owner Trust 2025 prospectuses ({_PROSPECTUS})"),
    ),
    "subprime": (
        PoolTarget("wa_fico", 600.0, 10.0, "balance-weighted, known scores",
                   f"Santander Drive Auto Receivables Trust 2025 prospectuses ({_PROSPECTUS})"),
        PoolTarget("wa_rate", 0.18, 0.015, "balance-weighted",
                   f"Santander Drive Auto Receivables Trust 2025 prospectuses ({_PROSPECTUS})"),
        PoolTarget("wa_ltv", 1.10, 0.05, "balance-weighted",
                   f"Santander Drive Auto Receivables Trust 2025 prospectuses ({_PROSPECTUS})"),
        PoolTarget("share_used", 0.72, 0.04, "share of balance",
                   f"Santander Drive Auto Receivables Trust 2025 prospectuses ({_PROSPECTUS})"),
    ),
}
"""Statistics each segment is tuned to hit; ``tests/portfolio/test_synthetic.py`` checks them."""


# --------------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------------


def _choice(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """Draw ``n`` indices into ``weights`` (normalised here), shape ``(n,)``, int64."""
    cdf = np.cumsum(weights, dtype=np.float64)
    cdf /= cdf[-1]
    idx = np.searchsorted(cdf, rng.random(n), side="right")
    return np.minimum(idx, len(weights) - 1)


def _tilted(names: list[str], base: np.ndarray, tilt: tuple[tuple[str, float], ...]) -> np.ndarray:
    out = base.astype(np.float64).copy()
    factors = dict(tilt)
    for i, name in enumerate(names):
        out[i] *= factors.get(name, 1.0)
    return out


def _balance_after(
    original_balance: np.ndarray, rate: np.ndarray, term: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """Level-annuity balance after ``age`` payments, USD, shape ``(n,)``."""
    r = rate / 12.0
    growth_n = (1.0 + r) ** term
    growth_k = (1.0 + r) ** age
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(r > 0, (growth_n - growth_k) / (growth_n - 1.0), (term - age) / term)
    return np.asarray(original_balance * factor, dtype=np.float64)


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    """Return identifiers ``prefix0000001 ...``, object array of shape ``(n,)``."""
    digits = np.char.zfill(np.arange(1, n + 1).astype(str), width)
    return np.char.add(prefix, digits).astype(object)


def synthetic_pool(
    kind: PoolKind,
    n_loans: int,
    seed: int,
    *,
    cutoff_date: str = "2025-06-30",
    params: PoolParameters | None = None,
) -> LoanTape:
    """Draw a synthetic prime or subprime auto-loan pool.

    Parameters
    ----------
    kind : {"prime", "subprime"}
        Segment; selects ``POOL_PARAMETERS[kind]`` and fills ``LoanTape.segment``.
    n_loans : int
        Number of loans, ``>= 1``.
    seed : int
        Seed of the local ``numpy.random.default_rng``; same seed, same tape.
    cutoff_date : str
        Cut-off date (ISO); origination dates lie ``age`` months before it.
    params : PoolParameters, optional
        Override the segment's parameter set (e.g. for a stressed pool).

    Returns
    -------
    LoanTape
        ``n_loans`` level-pay loans, every one with ``0 < balance <= original_balance`` and
        ``remaining_term <= original_term``.

    Notes
    -----
    The parameter sets reproduce the balance-weighted statistics in :data:`POOL_TARGETS`
    approximately; they are not fitted to any single trust. See ``docs/synthetic_pools.md``.
    """
    if kind not in POOL_PARAMETERS:
        raise ValueError(f"kind must be one of {sorted(POOL_PARAMETERS)}, got {kind!r}")
    if isinstance(n_loans, bool) or int(n_loans) != n_loans or n_loans < 1:
        raise ValueError(f"n_loans must be a positive integer, got {n_loans!r}")
    n = int(n_loans)
    p = POOL_PARAMETERS[kind] if params is None else params
    cutoff = np.datetime64(cutoff_date, "D")
    rng = np.random.default_rng(seed)

    # 1. new/used, term, seasoning
    used = rng.random(n) < p.used_share
    terms = np.asarray(TERM_CHOICES, dtype=np.int64)
    original_term = terms[_choice(rng, np.asarray(p.term_mix), n)]
    age = np.rint(rng.gamma(2.0, p.age_mean / 2.0, n)).astype(np.int64)
    age = np.minimum(np.minimum(age, 24), original_term - 6)

    # 2. FICO
    fico = np.clip(rng.normal(p.fico_mean, p.fico_sd, n), p.fico_min, p.fico_max).round()
    fico_gap = np.nan_to_num((p.fico_ref - fico) / 100.0)  # unknown scores priced at the ref
    fico[rng.random(n) < p.fico_unknown_share] = np.nan
    fico_gap = np.where(np.isnan(fico), 0.5, fico_gap)  # thin-file obligors price a bit worse

    # 3. make and model
    makes = [m[0] for m in VEHICLE_MODELS]
    model_w = np.array([m[3] * (p.luxury_tilt if m[4] else 1.0) for m in VEHICLE_MODELS])
    model_w = _tilted(makes, model_w, p.make_tilt)
    model_idx = _choice(rng, model_w, n)
    make_arr = np.array(makes, dtype=object)[model_idx]
    model_arr = np.array([m[1] for m in VEHICLE_MODELS], dtype=object)[model_idx]
    type_names = [m[2] for m in VEHICLE_MODELS]
    vehicle_type = np.array(type_names, dtype=object)[model_idx]
    base_price = np.array(
        [NEW_PRICE_BY_TYPE[m[2]] * (p.luxury_markup if m[4] else 1.0) for m in VEHICLE_MODELS]
    )[model_idx]

    # 4. vehicle value: new price, depreciated by vehicle age for used cars
    vehicle_age = np.where(used, 1 + rng.poisson(max(p.used_age_mean - 1.0, 0.0), n), 0)
    vehicle_age = np.minimum(vehicle_age, 15)
    depreciation = np.where(
        used, p.used_value_first_year * p.used_value_annual ** (vehicle_age - 1.0), 1.0
    )
    vehicle_value = base_price * np.exp(rng.normal(0.0, p.price_sd, n)) * depreciation
    vehicle_value = np.maximum(vehicle_value, 3_000.0).round(2)

    # 5. LTV and amount financed
    ltv_mean = p.ltv_base + p.ltv_used_premium * used + p.ltv_fico_slope * fico_gap
    ltv = np.clip(rng.normal(ltv_mean, p.ltv_sd), p.ltv_min, p.ltv_max)
    original_balance = np.maximum((ltv * vehicle_value).round(2), 2_000.0)
    ltv = original_balance / vehicle_value

    # 6. APR
    apr = (
        p.apr_base
        + p.apr_fico_slope * fico_gap
        + p.apr_used_premium * used
        + p.apr_term_slope * (original_term - 60) / 12.0
        + rng.normal(0.0, p.apr_sd, n)
    )
    apr = np.clip(apr, p.apr_min, p.apr_max).round(4)

    # 7. current balance, PTI, geography, dealer, dates, model year, delinquency
    balance = _balance_after(original_balance, apr, original_term, age).round(2)
    balance = np.clip(balance, 0.01, original_balance)
    pti = p.pti_mean + p.pti_fico_slope * fico_gap + rng.normal(0.0, p.pti_sd, n)
    pti = np.clip(pti, 0.01, 0.45).round(4)

    state_names = [s for s, _ in STATE_WEIGHTS]
    state_w = _tilted(state_names, np.array([w for _, w in STATE_WEIGHTS]), p.state_tilt)
    state = np.array(state_names, dtype=object)[_choice(rng, state_w, n)]

    dealer_w = np.arange(1, p.n_dealers + 1, dtype=np.float64) ** -p.dealer_zipf
    dealer_id = _ids("D", p.n_dealers, 4)[_choice(rng, dealer_w, n)]

    month_start = (cutoff.astype("datetime64[M]") - age).astype("datetime64[D]")
    origination_date = np.minimum(month_start + rng.integers(0, 28, n), cutoff)
    orig_year = origination_date.astype("datetime64[Y]").astype(np.int64) + 1970
    new_year_offset = _choice(rng, np.array([0.10, 0.60, 0.30]), n) - 1  # last/this/next year
    vehicle_year = np.where(used, orig_year - vehicle_age, orig_year + new_year_offset)

    days_past_due = np.where(
        rng.random(n) < p.delinquent_share, rng.integers(1, 30, n), 0
    ).astype(np.int64)

    prefix = "P" if p.segment == "prime" else "S"
    return tape_from_columns(
        {
            "loan_id": _ids(prefix, n, 7),
            "balance": balance,
            "rate": apr,
            "original_term": original_term,
            "remaining_term": original_term - age,
            "age": age,
            "original_balance": original_balance,
            "payment_type": np.full(n, LEVEL, dtype=np.int8),
            "fico": fico,
            "ltv": ltv,
            "pti": pti,
            "vehicle_value": vehicle_value,
            "vehicle_new": ~used,
            "vehicle_make": make_arr,
            "vehicle_model": model_arr,
            "vehicle_year": vehicle_year,
            "vehicle_type": vehicle_type,
            "state": state,
            "dealer_id": dealer_id,
            "origination_date": origination_date,
            "days_past_due": days_past_due,
            "segment": np.full(n, p.segment, dtype=object),
        }
    )


def pool_statistics(tape: LoanTape) -> dict[str, float]:
    """Measure the statistics named in :data:`POOL_TARGETS` on ``tape``.

    Returns
    -------
    dict
        ``wa_fico`` (balance-weighted over known scores), ``wa_rate``, ``wa_ltv``,
        ``average_balance`` (USD, simple mean), ``share_term_over_60`` and ``share_used``
        (shares of balance).
    """
    w = tape.balance / tape.balance.sum()
    known = np.isfinite(tape.fico)
    return {
        "wa_fico": float(np.sum(w[known] * tape.fico[known]) / np.sum(w[known])),
        "wa_rate": float(np.sum(w * tape.rate)),
        "wa_ltv": float(np.sum(w * tape.ltv)),
        "average_balance": float(tape.balance.mean()),
        "share_term_over_60": float(np.sum(w[tape.original_term > 60])),
        "share_used": float(np.sum(w[~tape.vehicle_new])),
    }
