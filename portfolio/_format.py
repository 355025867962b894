"""Number formatting shared by the command line and the reports."""

from __future__ import annotations


def percent_text(x: float, decimals: int) -> str:
    """``x`` (a decimal) in percent with ``decimals`` places.

    A non-zero value that would print as zero (a senior class's EL of 1e-8) is shown in
    scientific notation instead, still in percent: ``1.00e-06%``.
    """
    if x != 0.0 and abs(x) * 100.0 < 0.5 * 10.0 ** -decimals:
        return f"{x * 100.0:.2e}%"
    return f"{x:.{decimals}%}"
