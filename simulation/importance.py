"""Variance reduction on the systematic factor: importance sampling, antithetic, stratified.

Every path draws one standard-normal systematic factor ``z`` (see :mod:`simulation.factor`).
A senior class loses only when ``z`` is far in the upper tail, so plain Monte Carlo rarely sees
it. Here ``z`` is drawn from a Gaussian mixture ``q(z) = sum_k alpha_k phi(z - mu_k)`` (one
component per mean shift ``mu_k``, unit variance) and each path carries the likelihood ratio

``w(z) = phi(z) / q(z) = 1 / sum_k alpha_k exp(mu_k z - mu_k^2 / 2)``,

so that ``E_q[w f(z)] = E_phi[f(z)]`` for every per-path metric ``f``. A single shift
(``K = 1``) is classic mean-shift importance sampling; a *defensive* mixture keeps the unshifted
density as one component (``mu_0 = 0``), which bounds every weight by ``1 / alpha_0``, and adds
one shift per class attachment, so that one run measures every class (Hesterberg 1995; the
"balance heuristic" of Veach & Guibas 1995).

Each path's factor comes from one uniform ``u`` by composition: the component ``k`` is the
interval ``[A_k, A_k + alpha_k)`` of the cumulative mixture probabilities that holds ``u``, and
``z = mu_k + Phi^-1((u - A_k) / alpha_k)``. Two optional refinements act on ``u``:

- **stratified**: consecutive global paths form blocks of ``strata`` paths; in block ``b`` path
  ``r`` takes stratum ``pi_b(r)`` of a random permutation keyed by ``(seed, b)`` and
  ``u = (pi_b(r) + U) / strata``. Every path's ``u`` is still exactly uniform (so each path is
  an unbiased sample, whatever the number of paths), and a full block puts exactly one path in
  each stratum: component counts follow ``alpha`` exactly and, within a component, the factor
  is spread evenly over its quantiles.
- **antithetic**: paths ``2j`` and ``2j + 1`` share a uniform; the second mirrors the first
  within its component (``v -> 1 - v``, i.e. ``z -> 2 mu_k - z``).

All draws are counter-based and keyed by the global path index (stream
:data:`~simulation.rng.STREAM_FACTOR` for ``U``, :data:`STREAM_STRATA` for the permutations),
so results do not depend on chunk size or thread count, and the plain sampler reproduces
:func:`simulation.run.independent_factor` bit for bit.

Standard errors. Stratified and antithetic paths are dependent within a block of
:attr:`FactorSampling.block_size` consecutive paths but blocks are independent, so the
estimators of :mod:`simulation.estimators` take the standard error from block sums; the iid
formula would over-state it and hide the variance reduction. The benchmark also measures it by
replication.

References
----------
Glasserman, P. (2004), *Monte Carlo Methods in Financial Engineering*, Springer, ch. 4 and 9.
Glasserman, P. & Li, J. (2005), "Importance sampling for portfolio credit risk", *Management
Science* 51(11).
Hesterberg, T. (1995), "Weighted average importance sampling and defensive mixture
distributions", *Technometrics* 37(2).
Rubinstein, R. & Kroese, D. (2004), *The Cross-Entropy Method*, Springer (the mean of the
zero-variance density as the optimal Gaussian mean shift).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize
from scipy.special import logsumexp, ndtri

from simulation.collateral import (
    CollateralInputs,
    MacroPaths,
    cnl_of_flows,
    expected_flows_by_multiplier,
)
from simulation.factor import FactorSpec
from simulation.rng import STREAM_FACTOR, uniforms
from simulation.waterfall import WaterfallProgram, run_waterfall

__all__ = [
    "PLAIN",
    "STREAM_STRATA",
    "ClassLossCurves",
    "DealSampling",
    "FactorSampling",
    "GaussianMixture",
    "class_loss_curves",
    "cross_entropy_shift",
    "deal_sampling",
    "defensive_mixture",
    "predicted_relative_variance",
    "shift_for_attachment",
    "shifted",
]

STREAM_STRATA = 21
"""RNG stream of the per-block stratum permutations (distinct from the streams of
:mod:`simulation.rng`)."""

_V_EPS = 1e-16
_MAX_MULTIPLIER = 1e4
"""The loss curves run the factor up to this default multiplier: every loan then defaults in
its first month, the worst case of the collateral model."""


@dataclass(frozen=True)
class GaussianMixture:
    """Sampling density of the factor: ``sum_k alpha_k N(mu_k, 1)``.

    Attributes
    ----------
    shifts : tuple of float, length K
        Component means ``mu_k`` (0 = the unshifted, true density).
    probabilities : tuple of float, length K
        Mixing probabilities ``alpha_k > 0``, summing to 1.
    """

    shifts: tuple[float, ...]
    probabilities: tuple[float, ...]
    _cum: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        mu = np.asarray(self.shifts, dtype=float)
        a = np.asarray(self.probabilities, dtype=float)
        if mu.ndim != 1 or mu.size == 0 or a.shape != mu.shape:
            raise ValueError("shifts and probabilities must be non-empty and of equal length; "
                             f"got {len(self.shifts)} and {len(self.probabilities)}")
        if not (np.all(np.isfinite(mu)) and np.all(a > 0.0) and abs(a.sum() - 1.0) < 1e-9):
            raise ValueError("need finite shifts and probabilities > 0 summing to 1; got "
                             f"{self.shifts}, {self.probabilities}")
        object.__setattr__(self, "_cum", np.concatenate([[0.0], np.cumsum(a)[:-1]]))

    @property
    def is_plain(self) -> bool:
        """True for the unshifted standard normal (weights identically 1)."""
        return len(self.shifts) == 1 and self.shifts[0] == 0.0

    def log_likelihood_ratio(self, z: np.ndarray) -> np.ndarray:
        """``log(phi(z) / q(z))`` for factor values ``z`` (any shape)."""
        z = np.asarray(z, dtype=float)
        if self.is_plain:
            return np.zeros_like(z)
        mu = np.asarray(self.shifts)
        log_a = np.log(np.asarray(self.probabilities))
        terms = log_a + mu * z[..., None] - 0.5 * mu**2
        return np.asarray(-logsumexp(terms, axis=-1))

    def likelihood_ratio(self, z: np.ndarray) -> np.ndarray:
        """Path weights ``phi(z) / q(z)``; at most ``1 / alpha_0`` with an unshifted component."""
        return np.asarray(np.exp(self.log_likelihood_ratio(z)))

    def component(self, u: np.ndarray) -> np.ndarray:
        """Component index of uniforms ``u`` (composition method)."""
        k = np.searchsorted(self._cum, np.asarray(u, dtype=float), side="right") - 1
        return np.asarray(np.clip(k, 0, len(self.shifts) - 1))

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Factor values ``z = mu_k + Phi^-1((u - A_k) / alpha_k)`` of uniforms ``u``."""
        u = np.asarray(u, dtype=float)
        k = self.component(u)
        a = np.asarray(self.probabilities)[k]
        v = np.clip((u - self._cum[k]) / a, _V_EPS, 1.0 - _V_EPS)
        return np.asarray(np.asarray(self.shifts)[k] + ndtri(v))

    def mirror(self, u: np.ndarray) -> np.ndarray:
        """Antithetic partner of ``u`` within its component (``v -> 1 - v``)."""
        u = np.asarray(u, dtype=float)
        k = self.component(u)
        return np.asarray(2.0 * self._cum[k] + np.asarray(self.probabilities)[k] - u)

    def describe(self) -> dict[str, Any]:
        """JSON-ready shifts and probabilities."""
        return {"shifts": [round(float(m), 6) for m in self.shifts],
                "probabilities": [round(float(a), 6) for a in self.probabilities]}


PLAIN = GaussianMixture((0.0,), (1.0,))
"""The true factor density: plain Monte Carlo."""


def _stratum_permutations(seed: int, blocks: np.ndarray, strata: int) -> np.ndarray:
    """Random permutation of ``0..strata-1`` per block, shape ``(len(blocks), strata)``."""
    keys = uniforms(seed, STREAM_STRATA, blocks, strata)
    return np.asarray(np.argsort(keys, axis=1, kind="stable"))


@dataclass(frozen=True)
class FactorSampling:
    """A factor sampler (``FactorSampler`` of :mod:`simulation.run`) with its settings.

    Call it as ``sampling(seed, first_path, n, spec) -> (z, weight)``.

    Attributes
    ----------
    mixture : GaussianMixture
        Sampling density (:data:`PLAIN` for plain Monte Carlo).
    antithetic : bool
        Pair paths ``2j, 2j+1`` with mirrored factor draws.
    stratified : bool
        Stratify the factor uniform over blocks of ``strata`` consecutive paths (or pairs).
    strata : int
        Strata per block (block = ``strata`` paths, ``2 strata`` with antithetic pairs).
    """

    mixture: GaussianMixture = PLAIN
    antithetic: bool = False
    stratified: bool = False
    strata: int = 64

    def __post_init__(self) -> None:
        if self.strata < 1:
            raise ValueError(f"strata must be >= 1, got {self.strata}")

    def uniforms(self, seed: int, first_path: int, n: int) -> np.ndarray:
        """The factor uniform of paths ``first_path .. first_path + n - 1``, shape ``(n,)``."""
        paths = np.arange(first_path, first_path + n, dtype=np.int64)
        index = paths // 2 if self.antithetic else paths
        u = uniforms(seed, STREAM_FACTOR, index)[:, 0]
        if self.stratified:
            blocks = index // self.strata
            uniq, inverse = np.unique(blocks, return_inverse=True)
            perms = _stratum_permutations(seed, uniq, self.strata)
            stratum = perms[inverse, index % self.strata]
            u = (stratum + u) / self.strata
        if self.antithetic:
            odd = (paths % 2) == 1
            u = np.where(odd, self.mixture.mirror(u), u)
        return np.asarray(u)

    def __call__(self, seed: int, first_path: int, n: int,
                 spec: FactorSpec) -> tuple[np.ndarray, np.ndarray]:
        """Factor draws ``z`` and likelihood-ratio weights of a chunk of paths."""
        del spec
        u = self.uniforms(seed, first_path, n)
        if self.mixture.is_plain and not (self.stratified or self.antithetic):
            z = np.asarray(ndtri(u))  # bit-identical to engine.independent_factor
        else:
            z = self.mixture.quantile(u)
        return z, self.mixture.likelihood_ratio(z)

    @property
    def block_size(self) -> int:
        """Paths per independent block (1 without stratification or antithetic pairs)."""
        pair = 2 if self.antithetic else 1
        return pair * (self.strata if self.stratified else 1)

    @property
    def kind(self) -> str:
        """``plain``, ``shifted`` (one component) or ``mixture``."""
        if self.mixture.is_plain:
            return "plain"
        return "shifted" if len(self.mixture.shifts) == 1 else "mixture"

    def describe(self) -> dict[str, Any]:
        """JSON-ready settings (for provenance)."""
        return {"importance": self.kind, **self.mixture.describe(),
                "antithetic": self.antithetic, "stratified": self.stratified,
                "strata": self.strata if self.stratified else None,
                "se_block_size": self.block_size}


def shifted(shift: float, *, antithetic: bool = False, stratified: bool = False,
            strata: int = 64) -> FactorSampling:
    """Mean-shift importance sampling: ``z ~ N(shift, 1)``, weight ``exp(-shift z + shift^2/2)``."""
    return FactorSampling(GaussianMixture((float(shift),), (1.0,)), antithetic, stratified, strata)


def defensive_mixture(shifts: Sequence[float], defensive: float = 0.25) -> GaussianMixture:
    """Unshifted component with probability ``defensive``, the shifts sharing the rest equally."""
    mu = [float(s) for s in shifts if s != 0.0]
    if not mu:
        return PLAIN
    if not 0.0 < defensive < 1.0:
        raise ValueError(f"defensive must be in (0, 1), got {defensive}")
    rest = (1.0 - defensive) / len(mu)
    return GaussianMixture((0.0, *mu), (defensive, *([rest] * len(mu))))


def shift_for_attachment(
    attach: float,
    spec: FactorSpec,
    cnl_of_multiplier: Callable[[float], float] | tuple[np.ndarray, np.ndarray],
) -> float:
    """Factor value ``z*`` at which the expected pool CNL reaches an attachment point.

    Parameters
    ----------
    attach : float
        Attachment point, decimal of the initial pool.
    spec : FactorSpec
        Maps ``z`` to the default multiplier.
    cnl_of_multiplier : callable or (grid, cnl)
        Expected CNL as a function of the default multiplier: a function, or the curve of
        :func:`simulation.factor._cnl_curve` (multiplier grid, non-decreasing CNL) interpolated
        in log multiplier.

    Returns
    -------
    float
        ``z*`` (``CNL(m(z*)) = attach``), clipped to ``[0, 40]``: 0 when the mean path already
        reaches the attachment, 40 when no multiplier does.
    """
    if callable(cnl_of_multiplier):
        curve = cnl_of_multiplier
    else:
        grid, cnl = (np.asarray(a, dtype=float) for a in cnl_of_multiplier)

        def curve(m: float) -> float:
            return float(np.interp(np.log(max(m, 1e-300)), np.log(grid), cnl))

    def gap(z: float) -> float:
        return curve(float(spec.multiplier(np.array(z)))) - attach

    if gap(0.0) >= 0.0:
        return 0.0
    if gap(40.0) < 0.0:
        return 40.0
    return float(optimize.brentq(gap, 0.0, 40.0, xtol=1e-10))


def cross_entropy_shift(z: np.ndarray, loss: np.ndarray) -> float | None:
    """Mean of the zero-variance sampling density ``phi(z) loss(z) / EL`` on a grid.

    This is the Gaussian mean shift that minimises the cross-entropy distance to the optimal
    (zero-variance) importance density of ``E[loss(Z)]``. ``loss`` is linearly interpolated
    on a fine grid; ``None`` when the loss is zero everywhere on the grid.
    """
    z = np.asarray(z, dtype=float)
    loss = np.asarray(loss, dtype=float)
    if not np.any(loss > 0.0):
        return None
    fine = np.linspace(z[0], z[-1], max(int((z[-1] - z[0]) / 0.005) + 1, 2))
    lf = np.interp(fine, z, loss)
    with np.errstate(divide="ignore"):
        log_density = np.where(lf > 0.0, np.log(np.maximum(lf, 1e-300)), -np.inf) - 0.5 * fine**2
    density = np.exp(log_density - log_density.max())
    return float(np.sum(fine * density) / np.sum(density))


@dataclass(frozen=True)
class ClassLossCurves:
    """Expected-path class losses as a function of the factor.

    Attributes
    ----------
    z : ndarray, shape (n_z,)
        Factor grid, from 0 up to the value where the default multiplier reaches 1e4.
    multiplier : ndarray, shape (n_z,)
        Default multiplier ``m(z)``.
    cnl : ndarray, shape (n_z,)
        Pool CNL of the expected flows at ``m(z)`` (decimal of the initial pool).
    loss : ndarray, shape (n_z, n_classes)
        Class principal loss / original balance when the waterfall runs on those flows.
    classes : tuple of str
        Class names, most senior first.
    """

    z: np.ndarray
    multiplier: np.ndarray
    cnl: np.ndarray
    loss: np.ndarray
    classes: tuple[str, ...]

    @property
    def loss_free(self) -> np.ndarray:
        """Classes that lose nothing even at the top of the grid (every loan defaulting at once)."""
        return np.asarray(~np.any(self.loss > 0.0, axis=0))


def _factor_grid(spec: FactorSpec) -> np.ndarray:
    """Factor grid: 0.25 steps up to 8, then unit steps until the multiplier reaches 1e4."""
    fine = np.arange(0.0, 8.0, 0.25)
    coarse = np.arange(8.0, 41.0, 1.0)
    mult = spec.multiplier(coarse)
    stop = int(np.argmax(mult >= _MAX_MULTIPLIER)) if np.any(mult >= _MAX_MULTIPLIER) else -1
    return np.concatenate([fine, coarse[: stop + 1] if stop >= 0 else coarse])


def class_loss_curves(
    inputs: CollateralInputs,
    spec: FactorSpec,
    program: WaterfallProgram,
    *,
    macro: MacroPaths | None = None,
    index_rates: np.ndarray | float | None = None,
) -> ClassLossCurves:
    """Run the waterfall on the expected pool flows at each factor value of a grid.

    Parameters
    ----------
    inputs : CollateralInputs
        Prepared and calibrated collateral inputs.
    spec : FactorSpec
        The factor (maps ``z`` to the default multiplier).
    program : WaterfallProgram
        The compiled deal.
    macro : MacroPaths, optional
        One macro row (deterministic scenario); flat at the model's levels by default.
    index_rates : array or float, optional
        Note index by period for the waterfall (the deal's flat index by default).

    Returns
    -------
    ClassLossCurves
        One expected projection per grid point (about 45 for a lognormal factor).
    """
    z = _factor_grid(spec)
    mult = spec.multiplier(z)
    flows = expected_flows_by_multiplier(inputs, mult, macro)
    tf = run_waterfall(program, flows, index_rates)
    loss = tf.principal_loss / program.original_balance[None, :]
    cnl = cnl_of_flows(flows, inputs.initial_balance)
    return ClassLossCurves(z, mult, np.asarray(cnl), np.asarray(loss), program.classes)


def predicted_relative_variance(mixture: GaussianMixture, z: np.ndarray,
                                loss: np.ndarray) -> np.ndarray:
    """Relative variance ``Var_q(w L) / E[L]^2`` of one path under ``mixture``, per class.

    Quadrature on the (interpolated) loss curves, ignoring loan-level noise given ``z``; the
    loss is taken as zero below the grid (``z < 0``). ``inf`` for a class with zero loss.
    """
    fine = np.linspace(float(z[0]), float(z[-1]), max(int((z[-1] - z[0]) / 0.005) + 1, 2))
    dz = fine[1] - fine[0]
    loss2 = np.atleast_2d(np.asarray(loss).T)
    lf = np.stack([np.interp(fine, z, row) for row in loss2])
    phi = np.exp(-0.5 * fine**2) / np.sqrt(2.0 * np.pi)
    w = mixture.likelihood_ratio(fine)
    first = (lf * phi).sum(axis=1) * dz
    second = (lf**2 * phi * w).sum(axis=1) * dz
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(first > 0.0, second / first**2 - 1.0, np.inf))


@dataclass(frozen=True)
class DealSampling:
    """The automatic sampling design for a deal (see :func:`deal_sampling`).

    Attributes
    ----------
    sampling : FactorSampling
        The sampler to run.
    class_shift : dict
        Class -> its cross-entropy shift (None for loss-free classes).
    loss_free : tuple of str
        Classes with no loss on the expected path even when every loan defaults at once.
    predicted_rse_10k : dict
        Class -> predicted relative standard error of EL with 10,000 paths (no loan noise).
    """

    sampling: FactorSampling
    class_shift: dict[str, float | None]
    loss_free: tuple[str, ...]
    predicted_rse_10k: dict[str, float | None]

    def describe(self) -> dict[str, Any]:
        """JSON-ready design (for provenance)."""
        return {**self.sampling.describe(),
                "class_shift": {k: (None if v is None else round(v, 4))
                                for k, v in self.class_shift.items()},
                "loss_free_classes": list(self.loss_free),
                "predicted_el_rse_10k_paths": {
                    k: (None if v is None or not np.isfinite(v) else round(v, 4))
                    for k, v in self.predicted_rse_10k.items()}}


def _merge_shifts(shifts: list[float], tol: float, floor: float) -> list[float]:
    """Sorted shifts, neighbours closer than ``tol`` averaged, those below ``floor`` dropped.

    The unshifted component serves the dropped ones.
    """
    merged: list[list[float]] = []
    for s in sorted(s for s in shifts if s >= floor):
        if merged and s - merged[-1][-1] < tol:
            merged[-1].append(s)
        else:
            merged.append([s])
    return [float(np.mean(g)) for g in merged]


def deal_sampling(
    curves: ClassLossCurves,
    *,
    importance: bool = True,
    defensive: float = 0.25,
    antithetic: bool = False,
    stratified: bool = True,
    strata: int = 64,
    merge_tol: float = 0.35,
    min_shift: float = 0.5,
) -> DealSampling:
    """One defensive mixture that serves every class of a deal.

    Each class gets the cross-entropy shift of its expected-path loss curve
    (:func:`cross_entropy_shift`); shifts closer than ``merge_tol`` are merged and shifts below
    ``min_shift`` are left to the unshifted component, which keeps probability ``defensive``.
    Classes that lose nothing even at the top of the grid get no component: their EL is 0.

    Parameters
    ----------
    curves : ClassLossCurves
        From :func:`class_loss_curves`.
    importance : bool
        False gives plain sampling (with the other switches).
    defensive : float
        Probability of the unshifted component (bounds every weight by ``1 / defensive``).
    antithetic, stratified, strata
        See :class:`FactorSampling`.
    merge_tol, min_shift : float
        Shift merging (factor units).
    """
    shift: dict[str, float | None] = {}
    for c, name in enumerate(curves.classes):
        shift[name] = cross_entropy_shift(curves.z, curves.loss[:, c])
    loss_free = tuple(n for n, f in zip(curves.classes, curves.loss_free, strict=True) if f)
    mixture = PLAIN
    if importance:
        wanted = [s for s in shift.values() if s is not None]
        mixture = defensive_mixture(_merge_shifts(wanted, merge_tol, min_shift), defensive)
    relvar = predicted_relative_variance(mixture, curves.z, curves.loss)
    rse = {n: (None if n in loss_free else float(np.sqrt(relvar[c] / 10_000)))
           for c, n in enumerate(curves.classes)}
    return DealSampling(FactorSampling(mixture, antithetic, stratified, strata), shift,
                        loss_free, rse)
