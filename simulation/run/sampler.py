"""The systematic credit factor of a run: which sampler draws it, and one chunk's draws.

A run draws its factor in one of three ways: independent standard normals (the default), an
importance / stratified design (:mod:`simulation.importance`, every path likelihood-ratio
weighted), or, for a stochastic scenario, the scenario's own factor correlated with its macro
shocks, whose independent residual the design may draw instead (:func:`residual_sampling`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from simulation.collateral import CollateralInputs
from simulation.factor import FactorSpec
from simulation.importance import (
    FactorSampling,
    GaussianMixture,
    class_loss_curves,
    deal_sampling,
)
from simulation.rng import STREAM_FACTOR, normals
from simulation.run.macro import MacroRows, MacroSource
from simulation.waterfall import WaterfallProgram

__all__ = [
    "MIN_RESIDUAL_LOADING",
    "FactorSampler",
    "choose_sampler",
    "draw_factor",
    "independent_factor",
    "residual_sampling",
]

FactorSampler = Callable[[int, int, int, FactorSpec], tuple[np.ndarray, np.ndarray]]
"""``sampler(seed, first_path, n, spec) -> (z, weight)``: factor draws and likelihood ratios."""

MIN_RESIDUAL_LOADING = 0.3
"""Below this loading of the credit residual, a stochastic run samples the scenario's own
residual: moving the factor by ``mu`` would need shifts ``mu / loading`` and weights too
extreme to be useful."""


def independent_factor(seed: int, first_path: int, n: int,
                       spec: FactorSpec) -> tuple[np.ndarray, np.ndarray]:
    """Independent standard-normal factor draws (stream STREAM_FACTOR), weight 1."""
    del spec
    z = normals(seed, STREAM_FACTOR, np.arange(first_path, first_path + n))[:, 0]
    return z, np.ones(n)


def draw_factor(factor: FactorSampler | None, residual: FactorSampler | None,
                rows: MacroRows | None, seed: int, first: int, n: int,
                spec: FactorSpec) -> tuple[np.ndarray, np.ndarray]:
    """The factor draws ``z`` and weights of paths ``first .. first+n-1``.

    ``factor`` when given; else the stochastic rows' own correlated factor, with its
    independent residual ``e`` redrawn by ``residual`` when given
    (``z = factor_z + b (e' - e)``, weighted by the likelihood ratio of ``e'``); else
    independent normals.
    """
    if factor is not None:
        return factor(seed, first, n, spec)
    if rows is None or rows.factor_z is None:
        return independent_factor(seed, first, n, spec)
    if residual is None:
        return np.asarray(rows.factor_z), np.ones(n)
    e, weight = residual(seed, first, n, spec)
    return rows.factor_z + rows.residual_loading * (e - rows.credit_residual), weight


def choose_sampler(
    factor: FactorSampler | None,
    source: MacroSource | None,
    inputs: CollateralInputs,
    spec: FactorSpec,
    program: WaterfallProgram,
    *,
    importance: bool,
    antithetic: bool,
    stratified: bool,
    defensive: float,
) -> tuple[FactorSampler | None, dict[str, Any]]:
    """The factor sampler of a deal run and its description for the provenance.

    For a stochastic scenario the sampler draws the credit factor's residual (``None``: the
    scenario's own draws), see :func:`residual_sampling`.
    """
    stochastic = source is not None and source.stochastic
    if factor is not None:
        return factor, {"importance": "user sampler",
                        "sampler": getattr(factor, "__name__", type(factor).__name__)}
    if spec.kind == "none":
        return None if stochastic else independent_factor, {
            "importance": "none (no systematic factor)"}
    if not importance:
        sampling = FactorSampling(antithetic=antithetic, stratified=stratified)
        described = sampling.describe()
    else:
        # The design is drawn up on the base case (flat macro, the deal's own index), not on
        # the scenario: every scenario of a deal then samples the same factor draws with the
        # same weights, which is what makes scenario comparisons common-random-number ones.
        # A stochastic scenario's paths spread around its central path, and a design drawn on
        # the base case over-shifts a severe one (measured: per-path VR 0.3-0.5 for classes
        # B-D under severely adverse, against 0.7-2.2 with the central path), so its design
        # is drawn on the central path.
        if stochastic:
            assert source is not None
            central = source.central()
            index = None if central.index_rate is None else central.index_rate[0]
            curves = class_loss_curves(inputs, spec, program, macro=central.macro,
                                       index_rates=index)
        else:
            curves = class_loss_curves(inputs, spec, program)
        design = deal_sampling(curves, importance=True, defensive=defensive,
                               antithetic=antithetic, stratified=stratified)
        sampling, described = design.sampling, design.describe()
    if stochastic:
        assert source is not None
        return residual_sampling(sampling, described, source.residual_loading())
    return sampling, described


def residual_sampling(sampling: FactorSampling, described: dict[str, Any],
                      loading: float) -> tuple[FactorSampling | None, dict[str, Any]]:
    """A factor design carried over to the credit residual of a stochastic scenario.

    The factor is ``z = macro part + b e`` with ``e`` independent of the macro shocks and
    ``b = loading``. Drawing ``e`` from the design with its shifts divided by ``b`` moves
    ``z`` by the design's shifts on every macro path; the likelihood ratio of ``e`` is the
    path's weight (the macro shocks keep their own density). Plain sampling gives ``None``:
    the scenario's own draws, as without a design.
    """
    if sampling.mixture.is_plain and not (sampling.stratified or sampling.antithetic):
        return None, {**described, "applied_to": "the stochastic scenario's own credit factor"}
    if loading < MIN_RESIDUAL_LOADING:
        return None, {"importance": f"none (stochastic scenario: the credit factor's "
                                    f"independent residual has loading {loading:.3f} < "
                                    f"{MIN_RESIDUAL_LOADING})"}
    mixture = GaussianMixture(tuple(m / loading for m in sampling.mixture.shifts),
                              sampling.mixture.probabilities)
    scaled = replace(sampling, mixture=mixture)
    return scaled, {**scaled.describe(), "applied_to": (
        f"the credit factor's independent residual (loading {loading:.4f}); shifts in units "
        "of the residual")}
