"""Closed forms of the lognormal pool CNL (Moody's form) and the anchor of its sd.

The pool CNL ``L`` is lognormal with mean ``m`` (the expected CNL) and standard deviation
``s``: ``ln L ~ N(mu, sigma^2)`` with ``sigma^2 = ln(1 + (s / m)^2)`` and
``mu = ln m - sigma^2 / 2``.

Agencies publish ``m`` and a loss level for the top rating (Moody's "loss at a Aaa stress",
S&P's AAA coverage multiple x its expected CNL), not ``s``. The anchor reads ``s`` off such a
level ``A``: ``s`` is the sd at which a senior class that absorbs the pool losses above ``A``
(attachment ``A``, detachment 100%, no excess spread) has the idealized expected loss of Aaa at
its WAL,

``E[(L - A)+] / (1 - A) = EL_Aaa(WAL)``, with
``E[(L - A)+] = m Phi(d1) - A Phi(d2)``, ``d1 = (mu + sigma^2 - ln A) / sigma``,
``d2 = d1 - sigma`` (the lognormal call-option integral).

The left side increases with ``s`` at fixed ``m`` and ``A`` (a wider lognormal puts more mass
above ``A``), so the root is unique. ``docs/rating_stress.md`` has the source and the figures.

References
----------
Moody's Investors Service, "Moody's Approach to Rating US Auto Loan-Backed Securities"
(pool CNL lognormal from the expected loss and its volatility; a class's expected loss compared
with the idealized expected loss of its rating).
"""

from __future__ import annotations

import math

from scipy import optimize
from scipy.special import ndtr

from portfolio.errors import InputError
from simulation.ratings import ELTable, el_target

__all__ = ["cnl_sd_for_aaa_level", "lognormal_parameters", "senior_class_expected_loss"]

AAA_RATING = "Aaa"


def lognormal_parameters(expected_cnl: float, cnl_sd: float) -> tuple[float, float]:
    """``(mu, sigma)`` of the lognormal CNL with mean ``expected_cnl`` and sd ``cnl_sd``."""
    sigma = math.sqrt(math.log1p((cnl_sd / expected_cnl) ** 2))
    return math.log(expected_cnl) - 0.5 * sigma**2, sigma


def senior_class_expected_loss(expected_cnl: float, cnl_sd: float, attachment: float) -> float:
    """Expected loss (decimal of its balance) of the class absorbing the CNL above ``attachment``.

    The class runs from ``attachment`` to 100%: ``E[(L - A)+] / (1 - A)`` for the lognormal
    CNL ``L``.
    """
    mu, sigma = lognormal_parameters(expected_cnl, cnl_sd)
    d1 = (mu + sigma**2 - math.log(attachment)) / sigma
    excess = expected_cnl * ndtr(d1) - attachment * ndtr(d1 - sigma)
    return float(max(excess, 0.0) / (1.0 - attachment))


def cnl_sd_for_aaa_level(expected_cnl: float, aaa_level: float, wal_years: float,
                         el_table: ELTable | None = None) -> float:
    """The CNL sd at which the lognormal reproduces a published Aaa loss level.

    Parameters
    ----------
    expected_cnl : float
        Mean pool CNL, decimal of the initial pool.
    aaa_level : float
        Published Aaa loss level (decimal of the pool), above ``expected_cnl``.
    wal_years : float
        WAL of the senior class at which its idealized Aaa EL is read.
    el_table : ELTable, optional
        Idealized EL table (the built-in APPROXIMATE one by default).

    Raises
    ------
    InputError
        The level is not above the expected CNL or not below 100%, or no sd reaches it.
    """
    if not 0.0 < expected_cnl < aaa_level < 1.0:
        raise InputError("factor.cnl_aaa_level", f"the Aaa loss level {aaa_level:.4f} must lie "
                         f"between the expected CNL {expected_cnl:.4f} and 1")
    target = el_target(AAA_RATING, wal_years, el_table)

    def gap(log_cv: float) -> float:
        return senior_class_expected_loss(expected_cnl, expected_cnl * math.exp(log_cv),
                                          aaa_level) - target

    low, high = math.log(1e-3), math.log(20.0)
    if gap(low) >= 0.0 or gap(high) <= 0.0:
        raise InputError("factor.cnl_aaa_level", f"no CNL sd makes a class attached at "
                         f"{aaa_level:.4f} lose the Aaa idealized EL {target:.2e} at "
                         f"{wal_years:g} years with expected CNL {expected_cnl:.4f}")
    return float(expected_cnl * math.exp(optimize.brentq(gap, low, high, xtol=1e-12)))
