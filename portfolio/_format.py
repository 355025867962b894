"""Number formatting shared by the command line and the reports: one rule for tiny values.

A figure is shown to a fixed number of places. A non-zero value too small to show at those
places is written as a bound, ``< 0.0001%`` (``> -0.0001%`` below zero), never in scientific
notation and never as zero; a value that rounds to zero never shows a minus sign (``-0.00``).
"""

from __future__ import annotations

import math
import re

NOT_AVAILABLE = "n/a"
"""How a figure that cannot be estimated (a standard error from fewer than two blocks) prints."""

_NEGATIVE_ZERO = re.compile(r"^-(?=[^1-9]*$)")
_NONZERO_DIGIT = re.compile(r"[1-9]")


def _without_negative_zero(shown: str) -> str:
    """``shown`` without its minus sign when every digit is zero (``-0.00%`` -> ``0.00%``)."""
    return _NEGATIVE_ZERO.sub("", shown)


def percent_text(x: float | None, decimals: int) -> str:
    """``x`` (a decimal) in percent with ``decimals`` places; ``n/a`` for None or NaN.

    A non-zero value that would print as zero (a senior class's EL of 1e-8) is shown as the
    bound of the last place instead: ``< 0.0001%`` at four places, ``> -0.0001%`` below zero.
    """
    if x is None or x != x:
        return NOT_AVAILABLE
    shown = f"{x:.{decimals}%}"
    if x != 0.0 and math.isfinite(x) and not _NONZERO_DIGIT.search(shown):
        # Rounds to zero at these places (0.005 at 0 places rounds half to even: "0%").
        bound = f"{10.0 ** -decimals:.{decimals}f}%"
        return f"< {bound}" if x > 0.0 else f"> -{bound}"
    return _without_negative_zero(shown)


def number_text(x: float | None, spec: str, suffix: str = "") -> str:
    """``x`` with the format ``spec`` (``",.2f"``) and ``suffix``; never ``-0.00``."""
    if x is None or x != x:
        return NOT_AVAILABLE
    return _without_negative_zero(f"{x:{spec}}") + suffix
