"""Report charts: matplotlib figures and their deterministic inline-SVG form.

Every chart is a function of plain arrays / DataFrames that returns a
:class:`matplotlib.figure.Figure` (no pyplot, no global state), so the HTML report embeds it as
SVG (:func:`to_svg`), which both PDF renderers print with the rest of the page.

SVG output is deterministic: text is kept as ``<text>`` (``svg.fonttype = "none"``), ids are
hashed with a per-chart salt (``svg.hashsalt``, which also keeps ids unique across the charts of
one page), and the date metadata is dropped.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, PercentFormatter  # noqa: E402

from portfolio._format import percent_text  # noqa: E402

__all__ = [
    "PALETTE",
    "class_balance_fans",
    "cnl_histogram",
    "concentration_chart",
    "expected_vs_actual",
    "pool_balance_fan",
    "scenario_chart",
    "to_svg",
    "trigger_chart",
    "trigger_headroom_chart",
    "vasicek_comparison",
]

PALETTE = ("#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6", "#a5303b",
           "#00807f", "#595959", "#d97fb0")
"""Colours cycled over series (colour-blind-safe enough in print and on screen)."""

_RC: Any = {
    "font.family": "sans-serif",
    "font.size": 8.5,
    "axes.titlesize": 9.5,
    "axes.labelsize": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#d9d9d9",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 7.5,
    "svg.fonttype": "none",
}

_XML_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)


def _figure(width: float = 7.0, height: float = 3.2) -> Figure:
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(width, height), layout="constrained")
    return fig


def _pct(decimals: int = 1) -> PercentFormatter:
    return PercentFormatter(xmax=1.0, decimals=decimals)


def to_svg(fig: Figure, salt: str) -> str:
    """The figure as an inline ``<svg>`` element (no XML prologue), byte-identical per input.

    Parameters
    ----------
    fig : Figure
        The chart.
    salt : str
        Hash salt of the element ids; give each chart of a page its own.
    """
    buf = io.StringIO()
    rc: Any = {**_RC, "svg.hashsalt": salt}
    with matplotlib.rc_context(rc):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "autoabs reports"})
    return _XML_PROLOGUE.sub("", buf.getvalue(), count=1).strip()


HISTOGRAM_QUANTILE = 0.999
"""The CNL histogram's axis ends just past this weighted quantile (and every ES marker)."""


def histogram_upper_edge(cnl: np.ndarray, share: np.ndarray, markers: Sequence[float]) -> float:
    """Right end of the CNL histogram's axis: fitted to the data, not to an outlier path.

    5% past the larger of the weighted :data:`HISTOGRAM_QUANTILE` quantile of ``cnl`` and the
    markers drawn (VaR/ES); never beyond the largest CNL, never zero width.
    """
    if cnl.size == 0:
        return 1e-4
    order = np.argsort(cnl, kind="mergesort")
    cumulative = np.cumsum(share[order])
    at = min(int(np.searchsorted(cumulative, HISTOGRAM_QUANTILE)), cnl.size - 1)
    q = float(cnl[order][at])
    edge = max([q, *(m for m in markers if np.isfinite(m))]) * 1.05
    return max(min(edge, float(cnl.max())), float(cnl.min()) + 1e-4, 1e-4)


def cnl_histogram(cnl: np.ndarray, weights: np.ndarray,
                  tail: Mapping[float, tuple[float, float]]) -> Figure:
    """Weighted histogram of pool CNL with VaR (solid) and ES (dashed) markers per level.

    Parameters
    ----------
    cnl, weights : ndarray, shape (n_paths,)
        Per-path CNL (decimal of the initial pool) and likelihood-ratio weights.
    tail : mapping
        Confidence level -> (VaR, ES), decimals.
    """
    share = weights / weights.sum()
    hi = histogram_upper_edge(cnl, share, [es for _, es in tail.values()])
    beyond = float(share[cnl > hi].sum())
    with matplotlib.rc_context(_RC):
        fig = _figure()
        ax = fig.add_subplot()
        n_bins = min(60, max(10, int(np.sqrt(cnl.size))))
        bins = np.linspace(min(float(cnl.min()), 0.0) if cnl.size else 0.0, hi, n_bins + 1)
        inside = cnl <= hi
        ax.hist(cnl[inside], bins=list(bins), weights=share[inside], color="#9dc3e6",
                edgecolor="#1f4e79", linewidth=0.4, label="simulated paths")
        ax.set_xlim(bins[0], hi)
        if beyond > 0.0:
            ax.annotate(f"{percent_text(beyond, 2)} of probability beyond {percent_text(hi, 1)}",
                        xy=(0.99, 0.03), xycoords="axes fraction", ha="right", fontsize=7)
        for k, (level, (var, es)) in enumerate(sorted(tail.items())):
            colour = PALETTE[(k + 1) % len(PALETTE)]
            ax.axvline(var, color=colour, linewidth=1.2, label=f"VaR {level:.1%}")
            ax.axvline(es, color=colour, linewidth=1.0, linestyle="--", label=f"ES {level:.1%}")
        ax.xaxis.set_major_formatter(_pct())
        ax.yaxis.set_major_formatter(_pct(0))
        ax.set_xlabel("Cumulative net loss (% of initial pool)")
        ax.set_ylabel("Probability")
        ax.set_title("Pool CNL distribution")
        ax.legend(ncols=2, loc="upper right")
    return fig


def vasicek_comparison(cnl: np.ndarray, weights: np.ndarray, pd_: float, lgd: float,
                       curves: Mapping[str, float]) -> Figure:
    """Simulated CNL density against Vasicek large-pool loss densities ``LGD x DR``.

    Parameters
    ----------
    cnl, weights : ndarray, shape (n_paths,)
        Per-path CNL and weights.
    pd_, lgd : float
        Mean default rate and loss given default (decimals).
    curves : mapping
        Legend label -> asset correlation of each Vasicek curve.
    """
    from reports.diversification import vasicek_pdf

    with matplotlib.rc_context(_RC):
        fig = _figure()
        ax = fig.add_subplot()
        hi = float(np.quantile(cnl, 0.999)) * 1.3 if cnl.size else 0.1
        hi = max(hi, 1e-4)
        bins = np.linspace(0.0, hi, 50)
        ax.hist(np.clip(cnl, 0.0, hi), bins=list(bins), weights=weights / weights.sum(),
                density=True, color="#d9d9d9", edgecolor="#7f7f7f", linewidth=0.4,
                label="simulated CNL")
        x = np.linspace(hi / 400, hi, 400)
        for k, (label, rho) in enumerate(curves.items()):
            if not (np.isfinite(rho) and 0.0 < rho < 1.0 and 0.0 < pd_ < 1.0 and lgd > 0):
                continue
            density = vasicek_pdf(np.minimum(x / lgd, 1.0 - 1e-12), pd_, rho) / lgd
            ax.plot(x, density, color=PALETTE[k], linewidth=1.4, label=label)
        ax.xaxis.set_major_formatter(_pct())
        ax.set_xlabel("Loss (% of initial pool)")
        ax.set_ylabel("Density")
        ax.set_title("Vasicek large-pool loss vs simulated CNL")
        ax.legend(loc="upper right")
    return fig


def concentration_chart(labels: Sequence[str], effective: Sequence[float],
                        groups: Sequence[int]) -> Figure:
    """Effective number of groups against the number of groups, by dimension (log scale)."""
    with matplotlib.rc_context(_RC):
        fig = _figure(7.0, 0.35 * len(labels) + 1.0)
        ax = fig.add_subplot()
        y = np.arange(len(labels))
        ax.barh(y + 0.2, groups, height=0.4, color="#d9d9d9", label="groups")
        ax.barh(y - 0.2, effective, height=0.4, color=PALETTE[0], label="effective number")
        ax.set_yticks(y, list(labels))
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel("Number of groups (log scale)")
        ax.set_title("Effective number (1 / HHI) by dimension")
        ax.legend(loc="lower right")
    return fig


def pool_balance_fan(quantiles: pd.DataFrame) -> Figure:
    """Pool factor fan: P1-P99, P5-P95, P25-P75 bands and the median by period."""
    with matplotlib.rc_context(_RC):
        fig = _figure()
        ax = fig.add_subplot()
        t = quantiles.index.to_numpy()
        for lo, hi, alpha in (("p1", "p99", 0.18), ("p5", "p95", 0.3), ("p25", "p75", 0.45)):
            if lo in quantiles and hi in quantiles:
                ax.fill_between(t, quantiles[lo], quantiles[hi], color=PALETTE[0], alpha=alpha,
                                linewidth=0, label=f"{lo.upper()}-{hi.upper()}")
        ax.plot(t, quantiles["p50"], color=PALETTE[0], linewidth=1.4, label="P50")
        ax.yaxis.set_major_formatter(_pct(0))
        ax.set_ylim(0.0, 1.02)
        ax.set_xlabel("Month")
        ax.set_ylabel("Pool factor")
        ax.set_title("Pool balance (factor of initial pool)")
        ax.legend(loc="upper right")
    return fig


def class_balance_fans(balances: Mapping[str, pd.DataFrame]) -> Figure:
    """Small multiples of class balance factor P5/P50/P95 by period, one panel per class."""
    names = list(balances)
    cols = min(4, max(1, len(names)))
    rows = (len(names) + cols - 1) // cols
    with matplotlib.rc_context(_RC):
        fig = _figure(7.0, 1.75 * rows + 0.4)
        axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True)
        for k, name in enumerate(names):
            ax = axes[k // cols][k % cols]
            frame = balances[name]
            t = frame.index.to_numpy()
            colour = PALETTE[k % len(PALETTE)]
            ax.fill_between(t, frame["p5"], frame["p95"], color=colour, alpha=0.3, linewidth=0)
            ax.plot(t, frame["p50"], color=colour, linewidth=1.3)
            ax.set_title(name)
            ax.yaxis.set_major_formatter(_pct(0))
            ax.set_ylim(0.0, 1.05)
        for k in range(len(names), rows * cols):
            axes[k // cols][k % cols].set_visible(False)
        fig.supxlabel("Month", fontsize=8.5)
        fig.supylabel("Class balance factor (P5-P95, P50)", fontsize=8.5)
    return fig


def trigger_chart(by_period: pd.DataFrame, reserve_draw: pd.Series | None) -> Figure:
    """Cumulative probability of breach by period for each trigger, and reserve draws.

    Parameters
    ----------
    by_period : DataFrame
        Index period, one column per trigger: probability breached at or before the period.
    reserve_draw : Series, optional
        Probability of a reserve draw in each period.
    """
    with matplotlib.rc_context(_RC):
        fig = _figure()
        ax = fig.add_subplot()
        for k, name in enumerate(by_period.columns):
            ax.plot(by_period.index, by_period[name], color=PALETTE[k % len(PALETTE)],
                    linewidth=1.4, label=f"{name}: breached by month")
        if reserve_draw is not None:
            ax.plot(reserve_draw.index, reserve_draw, color="#7f7f7f", linewidth=1.0,
                    linestyle="--", label="reserve draw in month")
        ax.yaxis.set_major_formatter(_pct(1))
        ax.set_ylim(bottom=0.0)
        ax.set_xlabel("Month")
        ax.set_ylabel("Probability")
        ax.set_title("Trigger breach and reserve draw probability")
        ax.legend(loc="upper left")
    return fig


EL_CHART_FLOOR = 1e-6
"""Lowest EL of the log-scale EL chart (0.0001%); a smaller EL (a senior class's) is drawn
at it, so every class shows."""


def _log_percent(value: float, _position: float) -> str:
    """A log-axis tick as a percentage with just the places it needs (0.0001%, 1%)."""
    decimals = max(0, -math.floor(math.log10(value * 100.0) + 1e-9)) if value > 0 else 0
    return percent_text(value, decimals)


def scenario_chart(el: pd.DataFrame) -> Figure:
    """Grouped bars of class EL by scenario, on a log scale so senior classes show too.

    Parameters
    ----------
    el : DataFrame
        Index scenario, columns classes, values EL (decimal).
    """
    with matplotlib.rc_context(_RC):
        fig = _figure(7.0, 3.4)
        ax = fig.add_subplot()
        n_s, n_c = el.shape
        width = 0.8 / max(n_c, 1)
        x = np.arange(n_s)
        for k, name in enumerate(el.columns):
            ax.bar(x - 0.4 + width * (k + 0.5),
                   np.maximum(el[name].to_numpy(dtype=float), EL_CHART_FLOOR), width=width,
                   color=PALETTE[k % len(PALETTE)], label=str(name))
        ax.set_xticks(x, [str(s) for s in el.index], rotation=30, ha="right")
        ax.set_yscale("log")
        ax.set_ylim(bottom=EL_CHART_FLOOR)
        ax.yaxis.set_major_formatter(FuncFormatter(_log_percent))
        ax.set_ylabel(f"Expected loss (log scale; below {percent_text(EL_CHART_FLOOR, 4)} "
                      "drawn at it)", fontsize=7)
        ax.set_title("Class expected loss by scenario")
        ax.legend(ncols=min(n_c, 5), loc="upper left")
    return fig


def expected_vs_actual(expected: pd.Series, actual: pd.Series, *, title: str, ylabel: str,
                       reporting_month: int) -> Figure:
    """A monthly measure to date (line with dots) against its closing expectation (line).

    Parameters
    ----------
    expected : Series
        Index month, the closing run's expected value (decimal).
    actual : Series
        Index month, the realised value to date (decimal; may be empty).
    reporting_month : int
        Marked with a vertical line.
    """
    with matplotlib.rc_context(_RC):
        fig = _figure(7.0, 2.8)
        ax = fig.add_subplot()
        ax.plot(expected.index, expected.to_numpy(), color=PALETTE[0], linewidth=1.4,
                label="expected at closing (closing run, mean)")
        if len(actual):
            ax.plot(actual.index, actual.to_numpy(), color=PALETTE[1], linewidth=1.2,
                    marker="o", markersize=2.5, label="realised to date")
        ax.axvline(reporting_month, color="#7f7f7f", linewidth=0.8, linestyle=":",
                   label=f"reporting month {reporting_month}")
        ax.yaxis.set_major_formatter(_pct(2))
        ax.set_ylim(bottom=0.0)
        ax.set_xlabel("Month since the cut-off")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(loc="upper left")
    return fig


def trigger_headroom_chart(name: str, thresholds: pd.Series, values: pd.Series,
                           breach: pd.Series, *, breached_below: bool) -> Figure:
    """A trigger's value path against its threshold schedule, with the projected breach.

    Parameters
    ----------
    name : str
        Trigger name.
    thresholds : Series
        Index deal period, threshold (decimal).
    values : Series
        Index deal period, the tested value to date (decimal; the last one the status's).
    breach : Series
        Index deal period after the reporting date: probability of a first breach by then.
    breached_below : bool
        The trigger is breached below its threshold (OC test).
    """
    with matplotlib.rc_context(_RC):
        fig = _figure(7.0, 2.8)
        ax = fig.add_subplot()
        ax.step(thresholds.index, thresholds.to_numpy(), where="post", color=PALETTE[6],
                linewidth=1.3, label="threshold" + (" (breached below)" if breached_below
                                                    else " (breached above)"))
        ax.plot(values.index, values.to_numpy(), color=PALETTE[0], linewidth=1.4,
                marker="o", markersize=2.5, label="value to the reporting date")
        ax.yaxis.set_major_formatter(_pct(2))
        ax.set_ylim(bottom=0.0)
        ax.set_xlabel("Deal period (payment date)")
        ax.set_ylabel("Trigger metric")
        ax.set_title(f"Trigger {name}: value, threshold and projected breach")
        right = ax.twinx()
        right.grid(False)
        right.plot(breach.index, breach.to_numpy(), color=PALETTE[1], linewidth=1.2,
                   linestyle="--", label="projected probability of a first breach by then")
        right.yaxis.set_major_formatter(_pct(0))
        right.set_ylim(0.0, max(0.05, float(breach.max()) * 1.15) if len(breach) else 1.0)
        right.set_ylabel("Probability")
        lines = ax.get_legend_handles_labels()
        more = right.get_legend_handles_labels()
        ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left")
    return fig
