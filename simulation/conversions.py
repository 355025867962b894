"""Prepayment and default rate conventions.

- ABS speed (Financial Analysts' "absolute prepayment" convention for auto loans): a constant
  share of the *original* number of loans prepays each month, so
  ``SMM_t = ABS / (1 - ABS * (age_t - 1))`` with ``age_t`` in months since origination.
- CPR <-> SMM and CDR <-> MDR by 12-month compounding: ``1 - CPR = (1 - SMM)^12``.

References
----------
Fabozzi, F. J. (ed.), *The Handbook of Fixed Income Securities*, chapter on auto-loan ABS
(ABS prepayment convention); SIFMA, *Uniform Practices*, chapter SF (standard formulas).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def abs_to_smm(abs_speed: ArrayLike, age: ArrayLike) -> np.ndarray:
    """Single monthly mortality implied by an ABS speed at loan age ``age`` (months, ≥ 1).

    Capped at 1 once the ABS schedule has prepaid every loan.
    """
    a = np.asarray(abs_speed, dtype=float)
    k = np.asarray(age, dtype=float)
    denom = 1.0 - a * (k - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        smm = np.where(denom > a, a / denom, 1.0)
    return np.asarray(smm)


def smm_to_cpr(smm: ArrayLike) -> np.ndarray:
    """Annual conditional prepayment rate from a monthly SMM."""
    return 1.0 - (1.0 - np.asarray(smm, dtype=float)) ** 12


def cpr_to_smm(cpr: ArrayLike) -> np.ndarray:
    """Monthly SMM from an annual CPR."""
    return 1.0 - (1.0 - np.asarray(cpr, dtype=float)) ** (1.0 / 12.0)


def cdr_to_mdr(cdr: ArrayLike) -> np.ndarray:
    """Monthly default rate from an annual constant default rate."""
    return cpr_to_smm(cdr)


def mdr_to_cdr(mdr: ArrayLike) -> np.ndarray:
    """Annual constant default rate from a monthly default rate."""
    return smm_to_cpr(mdr)


def rate_to_intensity(monthly_probability: ArrayLike) -> np.ndarray:
    """Monthly hazard intensity ``-ln(1 - q)`` of a monthly event probability ``q``."""
    q = np.clip(np.asarray(monthly_probability, dtype=float), 0.0, 1.0 - 1e-12)
    return np.asarray(-np.log1p(-q))
