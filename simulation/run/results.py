"""The result types of a run: per-path metrics, streamed views and their summaries.

Every figure a result reports comes from :mod:`simulation.estimators` (self-normalised under
importance weights, block standard errors, NaN when a standard error cannot be estimated).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import simulation.estimators as estimators
from portfolio._format import number_text, percent_text
from simulation.deal import Deal
from simulation.metrics import hard_credit_enhancement as _hard_ce
from simulation.ratings import ELTable, implied_rating
from simulation.waterfall import WaterfallProgram

__all__ = [
    "CLASS_PATH_FIELDS",
    "CNL_PERCENTILES",
    "DEFAULT_THRESHOLD",
    "PATH_FIELDS",
    "DealSimulationResult",
    "PoolSimulationResult",
    "class_seniority",
    "hard_credit_enhancement",
    "pool_summary_html",
]

PATH_FIELDS = (
    "cnl",
    "defaulted_principal",
    "recoveries",
    "prepaid_principal",
    "scheduled_principal",
    "interest",
    "pool_wal_years",
    "factor_z",
    "default_multiplier",
    "weight",
)
"""Per-path summary columns: ratios to the initial balance (CNL, flows) unless noted; ``weight``
is the path's likelihood ratio (1 without importance sampling)."""

CLASS_PATH_FIELDS = (
    "loss",
    "interest_shortfall",
    "wal_years",
    "yield",
    "dirr_bp",
    "pv",
    "first_shortfall_period",
)
"""Per path and class: principal loss / original balance; unpaid interest / original balance;
WAL (years); annual yield at par (monthly compounding); reduction of yield (bp); PV on the
scenario curve / original balance; first period with an interest shortfall (0 if none)."""

DEFAULT_THRESHOLD = 1e-10
"""Loss ratio a path must exceed to count as a class default (about one cent per USD 100
million of class balance, above floating-point noise)."""

CNL_PERCENTILES = (50, 75, 90, 95, 99, 99.9)
"""Pool CNL percentiles in every summary (``cnl_p99_9`` is the 99.9th)."""


def _pool_rows() -> tuple[tuple[str, str], ...]:
    """(summary key, label) of the pool summary table, in the order of the CLI's pool line."""
    rows = [("initial_balance", "Initial pool balance"), ("cnl_mean", "Pool CNL, mean"),
            ("cnl_mean_se", "Pool CNL, standard error of the mean"),
            ("cnl_sd", "Pool CNL, standard deviation")]
    rows += [(f"cnl_p{q:g}".replace(".", "_"), f"Pool CNL, {q:g}th percentile")
             for q in CNL_PERCENTILES]
    return tuple(rows)


POOL_SUMMARY_ROWS = _pool_rows()
"""Rows of :func:`pool_summary_html`: the keys of ``summary()["pool"]`` and their labels."""


def pool_summary_html(pool: Mapping[str, Any]) -> str:
    """The pool summary as an HTML table (notebooks): balance, CNL mean (se), sd, percentiles.

    Parameters
    ----------
    pool : mapping
        ``summary()["pool"]`` of a run (CNL ratios as decimals, None when undefined); keys
        it lacks are left out.
    """
    rows = []
    for key, label in POOL_SUMMARY_ROWS:
        if key in pool:
            shown = (number_text(pool[key], ",.0f", " USD") if key == "initial_balance"
                     else percent_text(pool[key], 4))
            rows.append(f"<tr><th>{html.escape(label)}</th><td>{html.escape(shown)}</td></tr>")
    return f"<table border=\"0\">{''.join(rows)}</table>"


@dataclass(frozen=True, eq=False)
class PoolSimulationResult:
    """Result of a collateral-only run (and the pool part of a deal run).

    Attributes
    ----------
    paths : pandas.DataFrame
        One row per path (``path`` index) with :data:`PATH_FIELDS`.
    mean_flows : pandas.DataFrame
        Mean PoolFlows by period (rows 1..n_periods, USD), and ``*_se`` standard errors.
    pool_factor_quantiles : pandas.DataFrame
        Pool factor (ending balance / initial) quantiles by period, resolution 1/FACTOR_BINS.
    initial_balance : float
        Pool balance at the cut-off, USD.
    provenance : dict
        Seed, paths, chunk size, threads, factor, default scale, standard-error block size.
    """

    paths: pd.DataFrame
    mean_flows: pd.DataFrame
    pool_factor_quantiles: pd.DataFrame
    initial_balance: float
    provenance: dict[str, Any]

    @property
    def cnl(self) -> np.ndarray:
        """Cumulative net loss ratio per path, shape ``(n_paths,)``."""
        return np.asarray(self.paths["cnl"].to_numpy())

    @property
    def weights(self) -> np.ndarray:
        """Likelihood-ratio weight of each path, shape ``(n_paths,)`` (1 without IS)."""
        return np.asarray(self.paths["weight"].to_numpy())

    @property
    def se_block_size(self) -> int:
        """Paths per independent block of the factor sampler (standard errors use blocks)."""
        return int(self.provenance.get("se_block_size") or 1)

    def cnl_stats(self) -> dict[str, float]:
        """Mean (and its standard error), sd and :data:`CNL_PERCENTILES` of the pool CNL."""
        c, w = self.cnl, self.weights
        mean = estimators.mean(c, w, block_size=self.se_block_size)
        stats = {"cnl_mean": float(mean.value), "cnl_sd": estimators.standard_deviation(c, w),
                 "cnl_mean_se": float(mean.se)}
        qs = estimators.quantile(c, np.array(CNL_PERCENTILES) / 100.0, w)
        for q, v in zip(CNL_PERCENTILES, qs, strict=True):
            stats[f"cnl_p{q:g}".replace(".", "_")] = float(v)
        return stats

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary: CNL statistics and the expected pool balance by month."""
        return {
            "pool": {"initial_balance": self.initial_balance,
                     **{k: _finite(v) for k, v in self.cnl_stats().items()}},
            "expected_pool_balance": self.mean_flows["ending_balance"].round(2).tolist(),
            "pool_factor_quantiles": {
                str(c): self.pool_factor_quantiles[c].round(6).tolist()
                for c in self.pool_factor_quantiles.columns
            },
            "provenance": self.provenance,
        }

    def _repr_html_(self) -> str:
        """Notebook display: paths and seed, then the pool summary table."""
        prov = self.provenance
        head = f"<b>Pool</b>: {len(self.paths):,} paths, seed {html.escape(str(prov.get('seed')))}"
        table = pool_summary_html({"initial_balance": self.initial_balance, **self.cnl_stats()})
        return f"<div>{head}{table}</div>"


@dataclass(frozen=True, eq=False)
class DealSimulationResult:
    """Result of a deal run: per-path class metrics, pool results and streamed views.

    Attributes
    ----------
    deal : Deal
        The deal run.
    classes : tuple of str
        Class names, most senior first.
    start_balance : numpy.ndarray
        ``(n_classes,)`` USD, each class's balance when the run starts: at closing, or after
        the reporting date of a run from a status (``--as-of``); the basis of the class
        metrics (losses, yields and PVs are per USD of it).
    class_paths : numpy.ndarray
        ``(n_paths, n_classes, len(CLASS_PATH_FIELDS))`` per-path class metrics.
    pool : PoolSimulationResult
        The collateral run (per-path pool summaries incl. ``weight``, mean flows, factors).
    hard_ce : numpy.ndarray
        ``(n_classes,)`` hard credit enhancement at closing (decimal of the pool), each class
        enhanced by every class after it (pro-rata groups excepted).
    group_hard_ce : numpy.ndarray
        ``(n_classes,)`` hard credit enhancement of each class's group (``Deal.class_groups``,
        e.g. every Class A note), as deals publish it.
    class_balance_quantiles : dict
        Class -> DataFrame of balance factor quantiles (P5/P50/P95) by period.
    triggers : pandas.DataFrame
        Probability that each trigger is breached in, and by, each period.
    events : dict
        Probabilities of a reserve draw, an event of default and the clean-up call.
    promised_yield : numpy.ndarray
        ``(n_classes,)`` yield of the no-loss cash flows (base prepayment), annual decimal.
    el_table : ELTable
        Idealized expected-loss table of the implied ratings.
    class_flows : pandas.DataFrame
        Weighted mean tranche flows by class and period.
    provenance : dict
        As the pool's, plus scenario, sampling design, stopping rule.
    """

    deal: Deal
    classes: tuple[str, ...]
    start_balance: np.ndarray
    class_paths: np.ndarray
    pool: PoolSimulationResult
    hard_ce: np.ndarray
    group_hard_ce: np.ndarray
    class_balance_quantiles: dict[str, pd.DataFrame]
    triggers: pd.DataFrame
    events: dict[str, float]
    promised_yield: np.ndarray
    el_table: ELTable
    class_flows: pd.DataFrame
    provenance: dict[str, Any]

    @property
    def weights(self) -> np.ndarray:
        """Likelihood-ratio weight of each path (1 without importance sampling)."""
        return self.pool.weights

    def class_metric(self, name: str) -> np.ndarray:
        """One per-path class metric, ``(n_paths, n_classes)``."""
        return np.asarray(self.class_paths[:, :, CLASS_PATH_FIELDS.index(name)])

    def paths(self) -> pd.DataFrame:
        """Per-path, per-class metrics as a long DataFrame (path, class, metrics, weight)."""
        n_paths, n_classes, _ = self.class_paths.shape
        frame = pd.DataFrame(self.class_paths.reshape(n_paths * n_classes, -1),
                             columns=list(CLASS_PATH_FIELDS))
        frame.insert(0, "class", np.tile(np.array(self.classes, dtype=object), n_paths))
        frame.insert(0, "path", np.repeat(np.arange(n_paths), n_classes))
        frame["weight"] = np.repeat(self.weights, n_classes)
        return frame

    @property
    def se_block_size(self) -> int:
        """Paths per independent block of the factor sampler (standard errors use block sums)."""
        vr = self.provenance.get("variance_reduction") or {}
        return int(vr.get("se_block_size") or 1)

    @property
    def loss_free_classes(self) -> tuple[str, ...]:
        """Classes that lose nothing on the expected path even when every loan defaults at once.

        Found by the automatic importance-sampling design; empty without it.
        """
        vr = self.provenance.get("variance_reduction") or {}
        return tuple(vr.get("loss_free_classes") or ())

    def class_summary(self) -> pd.DataFrame:
        """Per class: balance, hard CE, EL, PD, LGD, WAL, yield, DIRR (with se), rating.

        ``el_rse`` is ``el_se / el`` (NaN when EL is 0); ``loss_free`` marks classes that lose
        nothing on the expected path even when every loan defaults at once, whose EL of 0 is
        exact rather than a Monte Carlo zero.
        """
        w, block = self.weights, self.se_block_size
        loss = self.class_metric("loss")
        defaulted = loss > DEFAULT_THRESHOLD
        wal_years = self.class_metric("wal_years")
        est = {
            "el": estimators.mean(loss, w, block_size=block),
            "pd": estimators.mean(defaulted.astype(float), w, block_size=block),
            "lgd": estimators.conditional_mean(loss, defaulted, w, block_size=block),
            "wal": estimators.conditional_mean(wal_years, np.isfinite(wal_years), w,
                                               block_size=block),
            "yield": estimators.mean(self.class_metric("yield"), w, block_size=block),
            "dirr": estimators.mean(self.class_metric("dirr_bp"), w, block_size=block),
        }
        value = {k: np.atleast_1d(e.value) for k, e in est.items()}
        se = {k: np.atleast_1d(e.se) for k, e in est.items()}
        loss_free = set(self.loss_free_classes)
        rows = []
        for c, name in enumerate(self.classes):
            el_c = float(value["el"][c])
            rows.append({
                "name": name,
                "balance": float(self.start_balance[c]),
                "hard_ce": float(self.hard_ce[c]),
                "class_group": self.deal.class_groups[c],
                "group_hard_ce": float(self.group_hard_ce[c]),
                "el": el_c,
                "el_se": float(se["el"][c]),
                "el_rse": float(se["el"][c]) / el_c if el_c > 0.0 else float("nan"),
                "loss_free": name in loss_free,
                "pd": float(value["pd"][c]),
                "pd_se": float(se["pd"][c]),
                "lgd": float(value["lgd"][c]),
                "lgd_se": float(se["lgd"][c]),
                "wal": float(value["wal"][c]),
                "wal_se": float(se["wal"][c]),
                "yield": float(value["yield"][c]),
                "yield_se": float(se["yield"][c]),
                "dirr": float(value["dirr"][c]),
                "dirr_se": float(se["dirr"][c]),
                "promised_yield": float(self.promised_yield[c]),
                "implied_rating": implied_rating(
                    max(el_c, 0.0), _rating_wal(float(value["wal"][c]), self.el_table),
                    self.el_table),
            })
        return pd.DataFrame(rows).set_index("name", drop=False)

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary: classes, pool statistics, events, provenance."""
        stats = self.pool.cnl_stats()
        classes = self.class_summary()
        return {
            "deal": self.deal.name,
            "classes": [
                {k: (v if isinstance(v, str | bool) else _finite(v)) for k, v in row.items()}
                for row in classes.to_dict(orient="records")
            ],
            "pool": {
                "initial_balance": self.pool.initial_balance,
                **{k: _finite(stats[k]) for k in ("cnl_mean", "cnl_mean_se", "cnl_sd",
                                                  "cnl_p99", "cnl_p99_9")},
            },
            "events": self.events,
            "el_table": self.el_table.source,
            "provenance": self.provenance,
        }


def _rating_wal(wal: float, table: ELTable) -> float:
    """WAL for the rating look-up (the table's longest WAL when the WAL is undefined).

    A class that never receives principal (a total loss on every path) has no WAL; it is rated
    at the longest WAL of the table.
    """
    return wal if np.isfinite(wal) else float(np.max(table.wal_years))


def _finite(x: Any) -> float | None:
    v = float(x)
    return v if np.isfinite(v) else None


def hard_credit_enhancement(deal: Deal, program: WaterfallProgram, *,
                            by_group: bool = False) -> np.ndarray:
    """Hard CE when the run starts: junior classes + OC + reserve, over the pool.

    At closing the initial OC and reserve; from a reporting date (``program.start``) the
    balances, OC and reserve then. ``by_group=False``: per class, each class enhanced by
    every class after it (pro-rata groups share a rank). ``by_group=True``: per class group
    (``Deal.class_groups``), every class of a group shows the group's CE (only later groups
    count as subordination). With yield-supplement OC, the pool is the adjusted pool balance
    (the YSOC amount is not loss protection: it stands in for the missing yield), as the
    deals publish it.
    """
    start = program.start
    pool = (program.initial_adjusted_pool_balance if start is None
            else start.adjusted_pool_balance)
    reserve = program.initial_reserve_balance if start is None else start.reserve_balance
    balances = program.start_balance
    oc = pool - balances.sum()
    rank = class_seniority(deal, by_group=by_group)
    return np.asarray(_hard_ce(balances, pool, oc, reserve, seniority=rank))


def class_seniority(deal: Deal, *, by_group: bool = False) -> np.ndarray:
    """Rank of each class for hard CE, 0 most senior, shape ``(n_classes,)``.

    ``by_group=False``: the position, pro-rata groups sharing their most senior member's rank;
    ``by_group=True``: the position of the class's group (``Deal.class_groups``).
    """
    if by_group:
        order = list(dict.fromkeys(deal.class_groups))
        return np.array([order.index(g) for g in deal.class_groups])
    names = [n.name for n in deal.notes]
    rank = np.arange(len(names))
    for group in deal.pro_rata_groups:
        members = [names.index(c) for c in group.classes]
        rank[members] = min(rank[members])
    return rank
