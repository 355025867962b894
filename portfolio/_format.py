"""Number formatting shared by the command line and the reports."""

from __future__ import annotations

NOT_AVAILABLE = "n/a"
"""How a figure that cannot be estimated (a standard error from fewer than two blocks) prints."""


def percent_text(x: float | None, decimals: int) -> str:
    """``x`` (a decimal) in percent with ``decimals`` places; ``n/a`` for None or NaN.

    A non-zero value that would print as zero (a senior class's EL of 1e-8) is shown in
    scientific notation instead, still in percent: ``1.00e-06%``.
    """
    if x is None or x != x:
        return NOT_AVAILABLE
    if x != 0.0 and abs(x) * 100.0 < 0.5 * 10.0 ** -decimals:
        return f"{x * 100.0:.2e}%"
    return f"{x:.{decimals}%}"
