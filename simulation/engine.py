"""The path-chunk engine: run the collateral model over many paths with bounded memory.

Paths are processed in chunks; each chunk's flows are reduced into running sums, per-month
pool-factor histograms and per-path summaries, then dropped, so memory grows with the chunk
size and not with the number of paths (per-path summaries are a handful of scalars per path).
Every random draw is keyed by the global path index, so results are bit-identical for any
chunk size and thread count.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import pandas as pd

from portfolio.errors import InputError
from portfolio.tape import LoanTape
from simulation.collateral import (
    FIELD_NAMES,
    CollateralInputs,
    MacroPaths,
    flat_macro,
    prepare_collateral,
    simulate_chunk,
)
from simulation.factor import FactorSpec, calibrate
from simulation.model import CollateralModel
from simulation.rng import STREAM_FACTOR, normals

FACTOR_BINS = 2000
"""Pool-factor histogram resolution per month (bin width 1/2000 of the initial balance)."""

QUANTILE_LEVELS = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)

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

ChunkCallback = Callable[[int, np.ndarray, np.ndarray], None]
MacroSource = Callable[[np.ndarray], MacroPaths]


def _macro_source(
    macro: MacroPaths | MacroSource | None, inputs: CollateralInputs, n_paths: int
) -> MacroSource:
    """Normalise the macro argument to a function of global path indices."""
    if macro is None:
        macro = flat_macro(inputs.model, inputs.n_periods)
    if isinstance(macro, MacroPaths):
        fixed = macro.over(inputs.n_periods)
        if fixed.n_paths not in (1, n_paths):
            raise InputError("macro paths", f"have {fixed.n_paths} paths, expected 1 or {n_paths}")
        return fixed.rows
    source = macro
    return lambda paths: source(paths).over(inputs.n_periods)


def iter_chunks(n_paths: int, chunk_size: int) -> Iterator[tuple[int, int]]:
    """Yield ``(first_path, n)`` covering ``0..n_paths-1`` in order."""
    for start in range(0, n_paths, chunk_size):
        yield start, min(chunk_size, n_paths - start)


@contextlib.contextmanager
def numba_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` numba threads (``None`` keeps the current setting)."""
    if threads is None:
        yield
        return
    max_threads = int(getattr(numba.config, "NUMBA_NUM_THREADS", 1))
    if not 1 <= threads <= max_threads:
        raise InputError("--threads", f"must be between 1 and {max_threads}, got {threads}")
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def path_summaries(flows: np.ndarray, initial_balance: float) -> np.ndarray:
    """Per-path summary of a chunk of flows, shape ``(n, 7)`` (first 7 of PATH_FIELDS)."""
    f = {name: k for k, name in enumerate(FIELD_NAMES)}
    totals = flows.sum(axis=1) / initial_balance
    principal = (
        flows[..., f["scheduled_principal"]]
        + flows[..., f["prepaid_principal"]]
        + flows[..., f["defaulted_principal"]]
    )
    months = np.arange(1, flows.shape[1] + 1)
    wal = (principal * months).sum(axis=1) / np.maximum(principal.sum(axis=1), 1e-300) / 12.0
    cnl = totals[:, f["defaulted_principal"]] - totals[:, f["recoveries"]]
    return np.column_stack([
        cnl,
        totals[:, f["defaulted_principal"]],
        totals[:, f["recoveries"]],
        totals[:, f["prepaid_principal"]],
        totals[:, f["scheduled_principal"]],
        totals[:, f["interest"]],
        wal,
    ])


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


@dataclass
class _Reducer:
    """Streaming, order-fixed reduction of chunk flows."""

    n_periods: int
    initial_balance: float
    flow_sum: np.ndarray = field(init=False)
    flow_sumsq: np.ndarray = field(init=False)
    factor_hist: np.ndarray = field(init=False)
    n: int = 0
    weight_sum: float = 0.0

    def __post_init__(self) -> None:
        self.flow_sum = np.zeros((self.n_periods, len(FIELD_NAMES)))
        self.flow_sumsq = np.zeros_like(self.flow_sum)
        self.factor_hist = np.zeros((self.n_periods, FACTOR_BINS + 1), dtype=np.int64)

    def add(self, flows: np.ndarray, weight: np.ndarray | None = None) -> None:
        """Add a chunk; ``weight`` are the paths' likelihood ratios (1 when omitted)."""
        factor = flows[..., FIELD_NAMES.index("ending_balance")] / self.initial_balance
        bins = np.clip((factor * FACTOR_BINS).round().astype(np.int64), 0, FACTOR_BINS)
        if weight is None or np.all(weight == 1.0):
            self.flow_sum += flows.sum(axis=0)
            self.flow_sumsq += (flows**2).sum(axis=0)
            self.factor_hist += histograms(bins, None, self.factor_hist.shape)
            self.weight_sum += float(flows.shape[0])
        else:
            # Plain weighted estimator (1/n) sum w f and its iid variance; the histogram is
            # self-normalised by the weight sum.
            wf = flows * weight[:, None, None]
            self.flow_sum += wf.sum(axis=0)
            self.flow_sumsq += (wf**2).sum(axis=0)
            if self.factor_hist.dtype != np.float64:
                self.factor_hist = self.factor_hist.astype(np.float64)
            self.factor_hist += histograms(bins, weight, self.factor_hist.shape)
            self.weight_sum += float(weight.sum())
        self.n += flows.shape[0]

    def frames(self, n_paths: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Mean flows by period with standard errors, and pool-factor quantiles by period."""
        periods = pd.RangeIndex(1, self.n_periods + 1, name="period")
        mean = self.flow_sum / n_paths
        var = np.maximum(self.flow_sumsq / n_paths - mean**2, 0.0)
        se = np.sqrt(var / max(n_paths - 1, 1))
        mean_flows = pd.DataFrame(mean, index=periods, columns=list(FIELD_NAMES))
        mean_flows = mean_flows.join(pd.DataFrame(se, index=periods,
                                                  columns=[f"{c}_se" for c in FIELD_NAMES]))
        quantiles = pd.DataFrame(self.factor_quantiles(QUANTILE_LEVELS).T, index=periods,
                                 columns=[f"p{int(q * 100)}" for q in QUANTILE_LEVELS])
        return mean_flows, quantiles

    def factor_quantiles(self, levels: tuple[float, ...]) -> np.ndarray:
        cum = np.cumsum(self.factor_hist, axis=1) / max(self.weight_sum, 1e-300)
        return np.array([[np.searchsorted(cum[t], q) / FACTOR_BINS for t in range(self.n_periods)]
                         for q in levels])


@dataclass(frozen=True, eq=False)
class PoolSimulationResult:
    """Result of :func:`simulate_pool`.

    Attributes
    ----------
    paths : pandas.DataFrame
        One row per path (``path`` index) with :data:`PATH_FIELDS`.
    mean_flows : pandas.DataFrame
        Mean PoolFlows by period (rows 1..n_periods, USD), and ``*_se`` standard errors.
    pool_factor_quantiles : pandas.DataFrame
        Pool factor (ending balance / initial) quantiles by period, resolution 1/FACTOR_BINS.
    provenance : dict
        Seed, paths, chunk size, threads, factor, default scale, timings.
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

    def cnl_stats(self) -> dict[str, float]:
        """Mean, sd, standard error of the mean and percentiles of the pool CNL.

        With importance-sampling weights: the plain weighted mean and its standard error, the
        self-normalised weighted sd and weighted (inverted-CDF) percentiles.
        """
        c = self.cnl
        n = c.shape[0]
        w = self.weights
        if np.all(w == 1.0):
            sd = float(c.std(ddof=1)) if n > 1 else 0.0
            stats = {"cnl_mean": float(c.mean()), "cnl_sd": sd,
                     "cnl_mean_se": float(sd / np.sqrt(n))}
            for q in (50, 75, 90, 95, 99, 99.9):
                stats[f"cnl_p{q:g}".replace(".", "_")] = float(np.percentile(c, q))
            return stats
        from simulation.importance import batch_mean
        from simulation.metrics import weighted_quantile

        mean = batch_mean(c, w, int(self.provenance.get("se_block_size", 1)))
        m_sn = float(np.sum(w * c) / np.sum(w))
        sd = float(np.sqrt(max(np.sum(w * (c - m_sn) ** 2) / np.sum(w), 0.0)))
        stats = {"cnl_mean": float(mean.value), "cnl_sd": sd, "cnl_mean_se": float(mean.se)}
        levels = (50, 75, 90, 95, 99, 99.9)
        qs = weighted_quantile(c, np.array(levels) / 100.0, w)
        for q, v in zip(levels, qs, strict=True):
            stats[f"cnl_p{q:g}".replace(".", "_")] = float(v)
        return stats

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary: CNL statistics and the expected pool balance by month."""
        return {
            "pool": {"initial_balance": self.initial_balance, **self.cnl_stats()},
            "expected_pool_balance": self.mean_flows["ending_balance"].round(2).tolist(),
            "pool_factor_quantiles": {
                str(c): self.pool_factor_quantiles[c].round(6).tolist()
                for c in self.pool_factor_quantiles.columns
            },
            "provenance": self.provenance,
        }


FactorSampler = Callable[[int, int, int, FactorSpec], tuple[np.ndarray, np.ndarray]]
"""``sampler(seed, first_path, n, spec) -> (z, weight)``: factor draws and likelihood ratios."""


def independent_factor(seed: int, first_path: int, n: int,
                       spec: FactorSpec) -> tuple[np.ndarray, np.ndarray]:
    """Independent standard-normal factor draws (stream STREAM_FACTOR), weight 1."""
    del spec
    z = normals(seed, STREAM_FACTOR, np.arange(first_path, first_path + n))[:, 0]
    return z, np.ones(n)


def simulate_pool(
    tape: LoanTape | CollateralInputs,
    model: CollateralModel | None = None,
    *,
    n_paths: int = 1000,
    seed: int = 0,
    macro: MacroPaths | MacroSource | None = None,
    chunk_size: int = 256,
    threads: int | None = None,
    on_chunk: ChunkCallback | None = None,
    factor: FactorSampler = independent_factor,
    factor_spec: FactorSpec | None = None,
) -> PoolSimulationResult:
    """Simulate a loan pool on ``n_paths`` paths.

    Parameters
    ----------
    tape : LoanTape or CollateralInputs
        The pool (prepared inputs may be passed to skip preparation and calibration).
    model : CollateralModel
        Collateral assumptions (required with a tape).
    n_paths, seed : int
        Number of paths; the run seed (every draw is keyed by seed and global path index).
    macro : MacroPaths or callable, optional
        Macro paths ``(n_paths or 1, n_periods)``, or a function ``macro(paths)`` returning the
        rows of the given global path indices (so that memory stays bounded by the chunk);
        flat at the cut-off levels by default.
    chunk_size : int
        Paths per chunk; memory grows with it.
    threads : int, optional
        Numba threads for the path loop.
    on_chunk : callable, optional
        ``on_chunk(first_path, flows, summaries)`` after each chunk (flows ``(n, T, 10)``).
    factor : callable
        Draws the systematic factor of a chunk and each path's likelihood-ratio weight; the
        default draws independent standard normals with weight 1.
    factor_spec : FactorSpec, optional
        With prepared ``CollateralInputs``, the factor already resolved by
        :func:`~simulation.factor.calibrate` (skips calibrating again).
    """
    if n_paths < 1:
        raise InputError("--paths", f"must be at least 1, got {n_paths}")
    if chunk_size < 1:
        raise InputError("--chunk-size", f"must be at least 1, got {chunk_size}")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if isinstance(tape, CollateralInputs):
        inputs, spec = (tape, factor_spec) if factor_spec is not None else calibrate(tape)
    else:
        if model is None:
            raise TypeError("simulate_pool needs a model with a LoanTape")
        inputs, spec = calibrate(prepare_collateral(tape, model))
    timings["prepare_s"] = time.perf_counter() - t0
    macro_rows = _macro_source(macro, inputs, n_paths)

    reducer = _Reducer(inputs.n_periods, inputs.initial_balance)
    summaries = np.empty((n_paths, len(PATH_FIELDS)))
    t0 = time.perf_counter()
    with numba_threads(threads):
        for first, n in iter_chunks(n_paths, chunk_size):
            paths = np.arange(first, first + n)
            z, weight = factor(seed, first, n, spec)
            mult = spec.multiplier(z)
            flows = simulate_chunk(inputs, macro_rows(paths), mult, seed, first)
            reducer.add(flows, weight)
            chunk_summary = np.column_stack(
                [path_summaries(flows, inputs.initial_balance), z, mult, weight]
            )
            summaries[first:first + n] = chunk_summary
            if on_chunk is not None:
                on_chunk(first, flows, chunk_summary)
    timings["simulate_s"] = time.perf_counter() - t0

    mean_flows, quantiles = reducer.frames(n_paths)
    provenance = {
        "seed": int(seed),
        "n_paths": int(n_paths),
        "chunk_size": int(chunk_size),
        "threads": int(threads or numba.get_num_threads()),
        "n_loans": inputs.n_loans,
        "n_periods": inputs.n_periods,
        "factor": {"kind": spec.kind, "sigma": spec.sigma, "rho": spec.rho,
                   "pd_horizon": spec.pd_horizon},
        "default_scale": inputs.default_scale,
        "timings": timings,
        "se_block_size": int(getattr(factor, "block_size", 1)),
    }
    return PoolSimulationResult(
        paths=pd.DataFrame(summaries, columns=list(PATH_FIELDS),
                           index=pd.RangeIndex(n_paths, name="path")),
        mean_flows=mean_flows,
        pool_factor_quantiles=quantiles,
        initial_balance=inputs.initial_balance,
        provenance=provenance,
    )
