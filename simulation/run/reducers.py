"""Streamed reductions of a run: named running sums that merge in a fixed order.

A chunk reduces its paths into a :class:`PoolReduction` (and, for deal runs, a
:class:`DealReduction`) that start from zero; the run merges the chunks' reductions in chunk
order with :meth:`merge`. Zero plus a chunk's sum is the chunk's sum, so a run is
bit-identical whatever process ran its chunks and in what order; memory grows with the number
of periods and classes, never with the number of paths. The means these sums give are the
self-normalised estimators of :mod:`simulation.estimators`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

import simulation.estimators as estimators
from simulation.collateral import FIELD_NAMES
from simulation.waterfall import TrancheFlows

__all__ = [
    "BALANCE_QUANTILES",
    "CLASS_FLOW_FIELDS",
    "FACTOR_BINS",
    "QUANTILE_LEVELS",
    "SparseCounts",
    "DealReduction",
    "PoolReduction",
    "histograms",
]

FACTOR_BINS = 2000
"""Pool- and class-factor histogram resolution per month (bin width 1/2000 of the balance)."""

QUANTILE_LEVELS = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
"""Pool-factor quantiles reported by period."""

BALANCE_QUANTILES = (0.05, 0.5, 0.95)
"""Class-balance factor quantiles reported by period."""

CLASS_FLOW_FIELDS = ("interest_due", "interest_paid", "principal_paid", "ending_balance",
                     "coupon_rate")
"""Tranche flows averaged over paths (weighted) by class and period."""


def histograms(bins: np.ndarray, weight: np.ndarray | None,
               shape: tuple[int, ...]) -> np.ndarray:
    """Weighted histograms of ``bins[path, ...]`` for every trailing index, in one pass.

    Returns ``shape = (*bins.shape[1:], n_bins)``; each histogram sums its paths in path order,
    exactly as one ``bincount`` per trailing index would.
    """
    n_bins = shape[-1]
    cells = np.arange(int(np.prod(bins.shape[1:]))).reshape(bins.shape[1:]) * n_bins
    flat = (bins + cells[None]).ravel()
    w = None if weight is None else np.repeat(weight, cells.size)
    return np.bincount(flat, weights=w, minlength=int(np.prod(shape))).reshape(shape)


def _factor_bins(factor: np.ndarray) -> np.ndarray:
    return np.clip((factor * FACTOR_BINS).round().astype(np.int64), 0, FACTOR_BINS)


def _hist_quantile(cum: np.ndarray, q: float) -> float:
    return float(np.searchsorted(cum, q) / FACTOR_BINS)


def _summed(**kwargs: Any) -> Any:
    """A field that :meth:`_Mergeable.merge` adds up (arrays are set in ``__post_init__``)."""
    return field(metadata={"summed": True}, **kwargs)


@dataclass(frozen=True)
class SparseCounts:
    """A histogram stored by its non-zero cells: a chunk fills few of its bins.

    ``index`` are flat indices into ``shape``, ``value`` their counts or weights.
    """

    shape: tuple[int, ...]
    index: np.ndarray
    value: np.ndarray

    @classmethod
    def of(cls, dense: np.ndarray) -> SparseCounts:
        """The non-zero cells of ``dense``."""
        index = np.flatnonzero(dense)
        return cls(tuple(dense.shape), index, dense.ravel()[index])


class _Mergeable:
    """``merge`` adds up every summed field of another reduction of the same shape."""

    def merge(self, other: Any) -> None:
        """Add ``other`` (the next chunk's reduction, histograms dense or sparse) into this one.

        A sparse histogram adds only its non-zero cells: the same sums as adding it dense.
        """
        for f in fields(self):  # type: ignore[arg-type]
            if not f.metadata.get("summed"):
                continue
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, np.ndarray):
                values = theirs.value if isinstance(theirs, SparseCounts) else theirs
                if values.dtype.kind == "f" and mine.dtype.kind != "f":
                    mine = mine.astype(np.float64)
                if isinstance(theirs, SparseCounts):
                    mine.ravel()[theirs.index] += theirs.value
                else:
                    mine += theirs
                setattr(self, f.name, mine)
            else:
                setattr(self, f.name, mine + theirs)

    def compact(self) -> Any:
        """A copy whose histograms are :class:`SparseCounts` (what a chunk keeps).

        A chunk's dense class-balance histograms would hold ``n_classes x n_periods x 2001``
        numbers each, so a run's memory would grow with its number of chunks.
        """
        out = copy.copy(self)
        for f in fields(self):  # type: ignore[arg-type]
            if f.name.endswith("_hist"):
                setattr(out, f.name, SparseCounts.of(getattr(self, f.name)))
        return out


@dataclass
class PoolReduction(_Mergeable):
    """Streamed sums of the pool flows of a set of paths.

    Attributes
    ----------
    flow_sum, flow_sq_sum, flow_w2_sum : numpy.ndarray
        ``(n_periods, 11)`` sums of ``w f``, ``w^2 f^2`` and ``w^2 f`` over paths of each
        PoolFlows field (``w`` the path's likelihood ratio).
    factor_hist : numpy.ndarray
        ``(n_periods, FACTOR_BINS + 1)`` weighted counts of the pool factor by period
        (integers while every weight is 1).
    n, weight_sum, weight_sq_sum
        Number of paths, ``sum w`` and ``sum w^2``.
    """

    n_periods: int
    initial_balance: float
    flow_sum: np.ndarray = _summed(init=False)
    flow_sq_sum: np.ndarray = _summed(init=False)
    flow_w2_sum: np.ndarray = _summed(init=False)
    factor_hist: np.ndarray = _summed(init=False)
    n: int = _summed(default=0)
    weight_sum: float = _summed(default=0.0)
    weight_sq_sum: float = _summed(default=0.0)

    def __post_init__(self) -> None:
        self.flow_sum = np.zeros((self.n_periods, len(FIELD_NAMES)))
        self.flow_sq_sum = np.zeros_like(self.flow_sum)
        self.flow_w2_sum = np.zeros_like(self.flow_sum)
        self.factor_hist = np.zeros((self.n_periods, FACTOR_BINS + 1), dtype=np.int64)

    def add(self, flows: np.ndarray, weight: np.ndarray) -> None:
        """Add a chunk of flows ``(n, n_periods, 11)`` with the paths' weights ``(n,)``."""
        bins = _factor_bins(flows[..., FIELD_NAMES.index("ending_balance")]
                            / self.initial_balance)
        if np.all(weight == 1.0):
            total = flows.sum(axis=0)
            self.flow_sum += total
            self.flow_w2_sum += total
            self.flow_sq_sum += (flows**2).sum(axis=0)
            self.factor_hist += histograms(bins, None, self.factor_hist.shape)
            self.weight_sum += float(flows.shape[0])
            self.weight_sq_sum += float(flows.shape[0])
        else:
            wf = flows * weight[:, None, None]
            self.flow_sum += wf.sum(axis=0)
            self.flow_w2_sum += (wf * weight[:, None, None]).sum(axis=0)
            self.flow_sq_sum += (wf**2).sum(axis=0)
            if self.factor_hist.dtype != np.float64:
                self.factor_hist = self.factor_hist.astype(np.float64)
            self.factor_hist += histograms(bins, weight, self.factor_hist.shape)
            self.weight_sum += float(weight.sum())
            self.weight_sq_sum += float((weight**2).sum())
        self.n += flows.shape[0]

    def mean_flows(self) -> pd.DataFrame:
        """Mean PoolFlows by period (USD) with ``*_se`` standard errors (self-normalised)."""
        est = estimators.streamed_mean(self.flow_sum, self.weight_sum, self.flow_sq_sum,
                                       self.flow_w2_sum, self.weight_sq_sum, self.n)
        periods = pd.RangeIndex(1, self.n_periods + 1, name="period")
        frame = pd.DataFrame(est.value, index=periods, columns=list(FIELD_NAMES))
        return frame.join(pd.DataFrame(est.se, index=periods,
                                       columns=[f"{c}_se" for c in FIELD_NAMES]))

    def factor_quantiles(self) -> pd.DataFrame:
        """Pool-factor :data:`QUANTILE_LEVELS` by period, resolution ``1 / FACTOR_BINS``."""
        cum = np.cumsum(self.factor_hist, axis=1) / max(self.weight_sum, 1e-300)
        values = np.array([[_hist_quantile(cum[t], q) for t in range(self.n_periods)]
                           for q in QUANTILE_LEVELS])
        return pd.DataFrame(values.T, index=pd.RangeIndex(1, self.n_periods + 1, name="period"),
                            columns=[f"p{int(q * 100)}" for q in QUANTILE_LEVELS])


@dataclass
class DealReduction(_Mergeable):
    """Streamed sums of the tranche flows of a set of paths (all weighted by ``w``).

    Attributes
    ----------
    balance_hist : numpy.ndarray
        ``(n_classes, n_periods, FACTOR_BINS + 1)`` weighted counts of class-balance factors.
    breach_in_period, breach_by_period : numpy.ndarray
        ``(n_triggers, n_periods)`` weight of paths breaching each trigger in / by each period.
    reserve_draw_by_period : numpy.ndarray
        ``(n_periods,)`` weight of paths drawing the reserve in each period.
    class_flow_sum : numpy.ndarray
        ``(n_classes, n_periods, len(CLASS_FLOW_FIELDS))`` weighted sums of tranche flows.
    weight_sum, any_reserve_draw, event_of_default, called : float
        ``sum w`` and the weight of paths with a reserve draw, an event of default, the call.
    """

    n_classes: int
    n_periods: int
    n_triggers: int
    balance_hist: np.ndarray = _summed(init=False)
    breach_in_period: np.ndarray = _summed(init=False)
    breach_by_period: np.ndarray = _summed(init=False)
    reserve_draw_by_period: np.ndarray = _summed(init=False)
    class_flow_sum: np.ndarray = _summed(init=False)
    weight_sum: float = _summed(default=0.0)
    any_reserve_draw: float = _summed(default=0.0)
    event_of_default: float = _summed(default=0.0)
    called: float = _summed(default=0.0)

    def __post_init__(self) -> None:
        self.balance_hist = np.zeros((self.n_classes, self.n_periods, FACTOR_BINS + 1))
        self.breach_in_period = np.zeros((self.n_triggers, self.n_periods))
        self.breach_by_period = np.zeros((self.n_triggers, self.n_periods))
        self.reserve_draw_by_period = np.zeros(self.n_periods)
        self.class_flow_sum = np.zeros((self.n_classes, self.n_periods, len(CLASS_FLOW_FIELDS)))

    def add(self, tf: TrancheFlows, weight: np.ndarray) -> None:
        """Add a chunk of tranche flows with the paths' weights ``(n,)``."""
        factor = tf.ending_balance / tf.original_balance[None, :, None]
        self.balance_hist += histograms(_factor_bins(factor), weight, self.balance_hist.shape)
        breached = tf.trigger_breached.astype(float)
        self.breach_in_period += np.einsum("p,pkt->kt", weight, breached)
        ever = np.maximum.accumulate(breached, axis=2)
        self.breach_by_period += np.einsum("p,pkt->kt", weight, ever)
        draws = (tf.reserve_draw - tf.reserve_release) > 1e-9
        self.reserve_draw_by_period += weight @ draws.astype(float)
        self.any_reserve_draw += float(weight @ draws.any(axis=1))
        self.event_of_default += float(weight @ (tf.event_of_default_period >= 0))
        self.called += float(weight @ (tf.call_period >= 0))
        self.weight_sum += float(weight.sum())
        self.class_flow_sum += np.stack(
            [np.einsum("p,pct->ct", weight, getattr(tf, f)) for f in CLASS_FLOW_FIELDS], axis=-1)

    def _share(self, x: Any) -> Any:
        return x / max(self.weight_sum, 1e-300)

    def _probability(self, x: Any) -> Any:
        """``sum w 1[A] / sum w``, clipped to [0, 1].

        An event's weight is at most the total in exact arithmetic, but the two sums are
        rounded in different orders (``einsum`` over the event arrays, ``sum`` over the
        weights), so the ratio can exceed 1 by an ulp or two (seen: 1.0000000000000002).
        """
        return np.clip(self._share(x), 0.0, 1.0)

    def events(self) -> dict[str, float]:
        """Probabilities of a reserve draw, an event of default and the clean-up call."""
        return {
            "reserve_draw_probability": float(self._probability(self.any_reserve_draw)),
            "event_of_default_probability": float(self._probability(self.event_of_default)),
            "clean_up_call_probability": float(self._probability(self.called)),
        }

    def triggers(self, trigger_names: tuple[str, ...]) -> pd.DataFrame:
        """Probability that each trigger is breached in, and by, each period; reserve draws."""
        trig = {}
        for k, name in enumerate(trigger_names):
            trig[f"{name} in period"] = self._probability(self.breach_in_period[k])
            trig[f"{name} by period"] = self._probability(self.breach_by_period[k])
        trig["reserve draw in period"] = self._probability(self.reserve_draw_by_period)
        return pd.DataFrame(trig, index=pd.RangeIndex(1, self.n_periods + 1, name="period"))

    def balance_quantiles(self, classes: tuple[str, ...]) -> dict[str, pd.DataFrame]:
        """Class -> balance-factor :data:`BALANCE_QUANTILES` by period."""
        cum = np.cumsum(self.balance_hist, axis=2) / max(self.weight_sum, 1e-300)
        periods = pd.RangeIndex(1, self.n_periods + 1, name="period")
        columns = [f"p{int(q * 100)}" for q in BALANCE_QUANTILES]
        out = {}
        for c, name in enumerate(classes):
            values = [[_hist_quantile(cum[c, t], q - 1e-12) for q in BALANCE_QUANTILES]
                      for t in range(self.n_periods)]
            out[name] = pd.DataFrame(values, index=periods, columns=columns)
        return out

    def class_flows(self, classes: tuple[str, ...]) -> pd.DataFrame:
        """Long frame (class, period, :data:`CLASS_FLOW_FIELDS`) of weighted mean flows."""
        mean = self._share(self.class_flow_sum)
        n_classes, n_periods, _ = mean.shape
        frame = pd.DataFrame(mean.reshape(n_classes * n_periods, -1),
                             columns=list(CLASS_FLOW_FIELDS))
        frame.insert(0, "period", np.tile(np.arange(1, n_periods + 1), n_classes))
        frame.insert(0, "class", np.repeat(np.array(classes, dtype=object), n_periods))
        return frame
