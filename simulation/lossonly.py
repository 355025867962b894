"""Loss-only lognormal mode: pool loss from the factor, no timing, no excess spread.

The rating-agency reduced form of a deal: the pool's cumulative net loss is
``L = mu * M(z)`` with ``M(z) = exp(s z - s^2 / 2)`` lognormal with mean 1 and
``s^2 = ln(1 + (sigma / mu)^2)``, so that ``L`` has mean ``mu`` and standard deviation
``sigma``. ``z`` is the standard-normal systematic factor drawn by a
:class:`~simulation.importance.FactorSampling` (plain, shifted, mixture, antithetic,
stratified), so the importance-sampling machinery of the full model is tested here against
the closed form :func:`simulation.metrics.lognormal_tranche_el`.

Tranche losses run **through the waterfall**: the tranche boundaries become a sequential
capital structure (the lowest attachment is overcollateralisation), the pool (USD 100m) loses
``L`` in period 1 with no recoveries and no interest, pays the rest as principal in period 1,
and :func:`simulation.waterfall.run_waterfall` allocates the loss (zero coupons, no fees, so
no excess spread). :func:`tranche_payoff` is the direct formula
``min(max(L - a, 0), d - a) / (d - a)``, used by the tests as a cross-check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from simulation.collateral import FIELD_NAMES
from simulation.deal import deal_from_dict
from simulation.estimators import Estimate
from simulation.estimators import mean as estimate_mean
from simulation.factor import FactorSpec
from simulation.importance import PLAIN, FactorSampling
from simulation.metrics import lognormal_tranche_el
from simulation.waterfall import WaterfallProgram, compile_deal, run_waterfall

__all__ = [
    "LognormalLoss",
    "LossOnlyResult",
    "loss_only_program",
    "simulate_loss_only",
    "tranche_losses",
    "tranche_payoff",
]

POOL_USD = 1.0e8
"""Synthetic pool balance of the loss-only waterfall."""


@dataclass(frozen=True)
class LognormalLoss:
    """Lognormal pool CNL with a given mean and standard deviation (decimals of the pool)."""

    mean: float
    sd: float

    def __post_init__(self) -> None:
        if not (self.mean > 0.0 and self.sd >= 0.0):
            raise ValueError(f"need mean > 0 and sd >= 0, got {self.mean}, {self.sd}")

    @property
    def sigma(self) -> float:
        """Log-volatility ``s = sqrt(ln(1 + (sd / mean)^2))``."""
        return float(np.sqrt(np.log1p((self.sd / self.mean) ** 2)))

    @property
    def factor_spec(self) -> FactorSpec:
        """The lognormal factor whose multiplier is ``M(z)``."""
        return FactorSpec("lognormal", sigma=self.sigma)

    def loss(self, z: np.ndarray) -> np.ndarray:
        """Pool CNL ``mu * M(z)`` for factor values ``z``, capped at 1."""
        return np.asarray(np.minimum(self.mean * self.factor_spec.multiplier(z), 1.0))

    def shift_for_attachment(self, attach: float) -> float:
        """Factor value at which the pool loss reaches ``attach``: ``(ln(a/mu) + s^2/2) / s``."""
        s = self.sigma
        return float((np.log(attach / self.mean) + 0.5 * s * s) / s)

    def tranche_el(self, attach: float, detach: float) -> float:
        """Closed-form tranche EL (decimal of the tranche): ``lognormal_tranche_el``."""
        return float(lognormal_tranche_el(self.mean, self.sd, attach, detach))


def tranche_payoff(pool_loss: np.ndarray, attach: float, detach: float) -> np.ndarray:
    """Direct tranche loss ``min(max(L - a, 0), d - a) / (d - a)`` per path."""
    return np.asarray(np.clip(np.asarray(pool_loss) - attach, 0.0, detach - attach)
                      / (detach - attach))


def _boundaries(tranches: Sequence[tuple[float, float]]) -> np.ndarray:
    pts = sorted({round(float(x), 12) for t in tranches for x in t} | {1.0})
    return np.asarray(pts)


def loss_only_program(tranches: Sequence[tuple[float, float]]) -> WaterfallProgram:
    """Sequential capital structure with a class between each pair of tranche boundaries.

    The classes run from the top (1.0) down to the lowest attachment point; below it the pool
    is overcollateralisation. Zero coupons, no fees, no reserve: no excess spread.
    """
    for a, d in tranches:
        if not 0.0 <= a < d <= 1.0:
            raise ValueError(f"need 0 <= attach < detach <= 1, got ({a}, {d})")
    pts = _boundaries(tranches)
    notes = [{"name": f"L{k}", "balance": float(pts[k + 1] - pts[k]), "coupon": 0.0}
             for k in range(len(pts) - 2, -1, -1)]
    deal = deal_from_dict({
        "name": "loss-only",
        "closing_date": dt.date(2024, 1, 1),
        "first_payment_date": dt.date(2024, 2, 1),
        "notes": notes,
        "waterfall": [{"interest": [n["name"] for n in notes]}, "regular_principal",
                      "residual"],
    }, source="<loss-only deal>")
    return compile_deal(deal, POOL_USD)


def tranche_losses(pool_loss: np.ndarray,
                   tranches: Sequence[tuple[float, float]]) -> np.ndarray:
    """Tranche loss ratios through the waterfall, shape ``(n_paths, n_tranches)``.

    Parameters
    ----------
    pool_loss : ndarray, shape (n_paths,)
        Pool CNL per path (decimal), all of it charged off in period 1 with no recovery.
    tranches : sequence of (attach, detach)
        Tranches as decimals of the pool; they may overlap.
    """
    loss = np.clip(np.asarray(pool_loss, dtype=float), 0.0, 1.0)
    program = loss_only_program(tranches)
    flows = np.zeros((loss.shape[0], 1, len(FIELD_NAMES)))
    flows[:, 0, FIELD_NAMES.index("defaulted_principal")] = loss * POOL_USD
    flows[:, 0, FIELD_NAMES.index("scheduled_principal")] = (1.0 - loss) * POOL_USD
    tf = run_waterfall(program, flows)
    pts = _boundaries(tranches)
    # class k (0 = most senior) covers [pts[K-1-k], pts[K-k]]
    lower = pts[-2::-1]
    out = np.empty((loss.shape[0], len(tranches)))
    for j, (a, d) in enumerate(tranches):
        inside = (lower >= a - 1e-12) & (lower < d - 1e-12)
        out[:, j] = tf.principal_loss[:, inside].sum(axis=1) / ((d - a) * POOL_USD)
    return out


@dataclass(frozen=True, eq=False)
class LossOnlyResult:
    """Per-path factor, weight, pool loss and tranche losses of a loss-only run.

    Attributes
    ----------
    z, weight, pool_loss : ndarray, shape (n_paths,)
    tranche_loss : ndarray, shape (n_paths, n_tranches)
    tranches : tuple of (attach, detach)
    block_size : int
        Paths per independent block of the sampler (for standard errors).
    """

    z: np.ndarray
    weight: np.ndarray
    pool_loss: np.ndarray
    tranche_loss: np.ndarray
    tranches: tuple[tuple[float, float], ...]
    block_size: int

    def expected_loss(self) -> list[Estimate]:
        """EL and standard error of each tranche (decimal of the tranche)."""
        # a pure mean shift has unbounded weights: the plain (unbiased) form
        est = estimate_mean(self.tranche_loss, self.weight, block_size=self.block_size,
                            self_normalised=False)
        return [Estimate(float(v), float(s))
                for v, s in zip(np.atleast_1d(est.value), np.atleast_1d(est.se), strict=True)]


def simulate_loss_only(
    dist: LognormalLoss,
    tranches: Sequence[tuple[float, float]],
    *,
    n_paths: int = 10_000,
    seed: int = 0,
    sampling: FactorSampling | None = None,
) -> LossOnlyResult:
    """Draw the pool loss from the factor and run the tranches through the waterfall.

    Parameters
    ----------
    dist : LognormalLoss
        Pool loss distribution.
    tranches : sequence of (attach, detach)
        Decimals of the pool.
    n_paths, seed : int
        Paths and run seed (draws keyed by global path index).
    sampling : FactorSampling, optional
        Factor sampler; plain Monte Carlo by default.
    """
    if n_paths < 1:
        raise ValueError(f"n_paths must be >= 1, got {n_paths}")
    sampler = sampling or FactorSampling(PLAIN)
    z, w = sampler(seed, 0, n_paths, dist.factor_spec)
    pool_loss = dist.loss(z)
    return LossOnlyResult(z, w, pool_loss, tranche_losses(pool_loss, tranches),
                          tuple((float(a), float(d)) for a, d in tranches), sampler.block_size)
