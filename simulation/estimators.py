"""The estimators behind every Monte Carlo figure a user sees: means, proportions, quantiles.

One rule for importance weights, applied here and nowhere else: every mean is the
self-normalised ratio ``sum w x / sum w`` (so a constant is estimated exactly, a proportion
stays in [0, 1], and a conditional mean such as WAL or LGD is ``sum w x 1[A] / sum w 1[A]``),
and its standard error is the delta-method one from **independent blocks** of paths
(stratified and antithetic samplers make paths dependent within a block of
``block_size`` paths, never across blocks). With fewer than two blocks a standard error
cannot be estimated: it is NaN ("not available"), never 0. Without weights every formula
reduces to the plain sample mean and ``s / sqrt(n)``.

References
----------
Owen, *Monte Carlo theory, methods and examples* (2013), ch. 9.2 (self-normalised importance
sampling, its delta-method variance) and 8.1 (batch means for dependent samples).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

__all__ = [
    "Estimate",
    "conditional_mean",
    "effective_sample_size",
    "mean",
    "quantile",
    "ratio",
    "standard_deviation",
    "streamed_mean",
]


class Estimate(NamedTuple):
    """A Monte Carlo estimate and its standard error (NaN when it cannot be estimated).

    Floats for one quantity, arrays for several (the shape of ``values.shape[1:]``).
    """

    value: float | FloatArray
    se: float | FloatArray


def _weights(x: FloatArray, weights: ArrayLike | None) -> FloatArray:
    if weights is None:
        return np.ones((x.shape[0],) + (1,) * (x.ndim - 1))
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.shape[0] != x.shape[0]:
        raise ValueError(f"weights must have shape ({x.shape[0]},); received {w.shape}")
    if np.any(w < 0.0) or not np.all(np.isfinite(w)):
        raise ValueError("weights (likelihood ratios) must be finite and >= 0")
    return w.reshape((-1,) + (1,) * (x.ndim - 1))


def _values(values: ArrayLike, name: str) -> FloatArray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"{name} must have a path axis (first) of length >= 1; shape {x.shape}")
    return x


def _out(value: FloatArray, se: FloatArray, one: bool) -> Estimate:
    if one:
        return Estimate(float(value), float(se))
    return Estimate(np.asarray(value), np.asarray(se))


def ratio(numerator: ArrayLike, denominator: ArrayLike | None = None,
          weights: ArrayLike | None = None, *, block_size: int = 1) -> Estimate:
    """Ratio estimator ``sum w num / sum w den`` over paths, with its block standard error.

    Parameters
    ----------
    numerator : array_like, shape (n_paths,) or (n_paths, k)
        Per-path values, in global path order from path 0.
    denominator : array_like, optional
        Same shape (1 on every path when omitted: the self-normalised mean).
    weights : array_like, shape (n_paths,), optional
        Likelihood ratios ``dP/dQ`` of the paths.
    block_size : int, default 1
        Paths per independent block of the sampler; 1 for independent paths.

    Returns
    -------
    Estimate
        ``R = sum w num / sum w den`` and ``sqrt(nb / (nb - 1) sum_b E_b^2) / sum w den`` with
        ``E_b = sum_b w num - R sum_b w den`` the block residuals and ``nb`` the number of
        blocks. NaN where ``sum w den == 0``; the standard error is NaN when ``nb < 2``.
    """
    num = _values(numerator, "numerator")
    w = _weights(num, weights)
    wnum = num * w
    wden = np.broadcast_to(w, num.shape) if denominator is None else (
        np.asarray(denominator, dtype=np.float64) * w)
    n = num.shape[0]
    s_num, s_den = wnum.sum(axis=0), wden.sum(axis=0)
    starts = np.arange(0, n, max(int(block_size), 1))
    nb = starts.size
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(s_den > 0.0, s_num / s_den, np.nan)
        if nb > 1:
            resid = (np.add.reduceat(wnum, starts, axis=0)
                     - np.where(s_den > 0.0, value, 0.0) * np.add.reduceat(wden, starts, axis=0))
            se = np.sqrt(nb / (nb - 1) * (resid**2).sum(axis=0)) / s_den
            se = np.where(s_den > 0.0, se, np.nan)
        else:
            se = np.full_like(value, np.nan)
    return _out(value, se, num.ndim == 1)


def mean(values: ArrayLike, weights: ArrayLike | None = None, *, block_size: int = 1,
         self_normalised: bool = True) -> Estimate:
    """Mean over paths (a proportion when ``values`` are 0/1), see :func:`ratio`.

    ``self_normalised=False`` gives the plain importance-sampling mean ``(1/n) sum w x``
    (unbiased, not exact for constants, not bounded by the values' range), for samplers whose
    weights are unbounded (a pure mean shift, no defensive component), where ``sum w / n`` is
    too noisy to divide by. Every sampler of a deal run has a defensive component.
    """
    if self_normalised or weights is None:
        return ratio(values, None, weights, block_size=block_size)
    x = _values(values, "values")
    return ratio(x * _weights(x, weights), None, None, block_size=block_size)


def conditional_mean(values: ArrayLike, condition: ArrayLike, weights: ArrayLike | None = None,
                     *, block_size: int = 1) -> Estimate:
    """Mean of ``values`` over the paths where ``condition`` holds (e.g. LGD, WAL when paid).

    ``values`` may be NaN where ``condition`` is false. See :func:`ratio`.
    """
    x = _values(values, "values")
    d = np.asarray(condition, dtype=bool)
    return ratio(np.where(d, x, 0.0), d.astype(np.float64), weights, block_size=block_size)


def standard_deviation(values: ArrayLike, weights: ArrayLike | None = None) -> float:
    """Weighted standard deviation with reliability-weight correction (ddof 1 unweighted).

    ``sqrt(sum w (x - m)^2 / (sum w - sum w^2 / sum w))`` with ``m`` the self-normalised mean;
    NaN for fewer than two paths.
    """
    x = _values(values, "values")
    w = _weights(x, weights).reshape(-1)
    s_w = w.sum()
    dof = s_w - (w**2).sum() / s_w
    if x.shape[0] < 2 or not dof > 0.0:
        return float("nan")
    m = (w * x).sum() / s_w
    return float(np.sqrt((w * (x - m) ** 2).sum() / dof))


def streamed_mean(sum_wx: ArrayLike, sum_w: float, sum_w2x2: ArrayLike, sum_w2x: ArrayLike,
                  sum_w2: float, n: int) -> Estimate:
    """Self-normalised mean and its iid delta-method standard error from streamed sums.

    For reductions that keep only running sums over paths (per-period flows): the inputs are
    ``sum w x``, ``sum w``, ``sum w^2 x^2``, ``sum w^2 x``, ``sum w^2`` and the path count.
    ``se^2 = n / (n - 1) sum w^2 (x - m)^2 / (sum w)^2``, computed as ``v / d`` with
    ``v = sum w^2 x^2 / sum w^2 - m (2 sum w^2 x / sum w^2 - m)`` and
    ``d = (sum w)^2 (n - 1) / (sum w^2 n)``, which for equal weights is exactly
    ``(mean(x^2) - m^2) / (n - 1)``; NaN for fewer than two paths.
    """
    m = np.asarray(sum_wx, dtype=np.float64) / sum_w
    if n < 2:
        return Estimate(m, np.full_like(m, np.nan))
    v = np.asarray(sum_w2x2) / sum_w2 - m * (2.0 * (np.asarray(sum_w2x) / sum_w2) - m)
    d = sum_w**2 * (n - 1) / (sum_w2 * n)
    return Estimate(m, np.sqrt(np.maximum(v, 0.0) / d))


def quantile(values: ArrayLike, q: ArrayLike, weights: ArrayLike | None = None) -> FloatArray:
    """Quantiles of per-path values under importance weights (inverted empirical CDF).

    Parameters
    ----------
    values : array_like, shape (n_paths,) or (n_paths, ...)
        Per-path values, e.g. loss ratios.
    q : array_like, scalar or shape (n_q,)
        Probabilities in [0, 1] (0.99 = 99th percentile).
    weights : array_like, shape (n_paths,), optional
        Likelihood ratios; they are normalised to sum to 1 (self-normalised).

    Returns
    -------
    ndarray, shape q.shape + values.shape[1:]
        Smallest ``x`` with ``F(x) = sum_{x_i <= x} w_i / sum w_i >= q``; equals
        ``np.quantile(values, q, method="inverted_cdf", axis=0)`` for equal weights.
    """
    x = _values(values, "values")
    qa = np.asarray(q, dtype=np.float64)
    if np.any((qa < 0.0) | (qa > 1.0)) or not np.all(np.isfinite(qa)):
        raise ValueError("q must lie in [0, 1]")
    n = x.shape[0]
    w1 = _weights(x, weights).reshape(-1)
    if w1.sum() <= 0.0:
        raise ValueError("weights must not all be zero")
    order = np.argsort(x, axis=0, kind="stable")
    xs = np.take_along_axis(x, order, axis=0)
    ws = w1[order]
    cdf = np.cumsum(ws, axis=0)
    cdf = cdf / cdf[-1:]
    flat_cdf = cdf.reshape(n, -1)
    flat_x = xs.reshape(n, -1)
    qf = qa.reshape(-1)
    out = np.empty((qf.size, flat_x.shape[1]))
    for j in range(flat_x.shape[1]):
        # guard the comparison against rounding of the cumulative sum
        k = np.searchsorted(flat_cdf[:, j], qf * (1.0 - 1e-12), side="left")
        out[:, j] = flat_x[np.minimum(k, n - 1), j]
    return np.asarray(out.reshape(qa.shape + x.shape[1:]))


def effective_sample_size(weights: ArrayLike) -> float:
    """Kish effective sample size ``(sum w)^2 / sum w^2`` of importance weights.

    Parameters
    ----------
    weights : array_like, shape (n_paths,)
        Likelihood ratios, ``>= 0``.

    Returns
    -------
    float
        Between 1 and ``n_paths`` (``n_paths`` for equal weights).
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.size == 0 or np.any(w < 0.0) or w.sum() <= 0.0:
        raise ValueError("weights must be a non-empty 1-D array of non-negative numbers")
    return float(w.sum() ** 2 / (w**2).sum())
