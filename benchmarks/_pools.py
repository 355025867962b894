"""Benchmark inputs shared by the scripts and the pytest-benchmark suites."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from portfolio.tape import LoanTape, tape_from_columns
from simulation.collateral import MacroPaths
from simulation.model import CollateralModel, model_from_dict
from simulation.run.macro import MacroOnlyRows

BENCH_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "bench"


def reference_modules():
    """Import ``refkernel`` and ``numpy_baseline`` from ../shared/bench (None when absent)."""
    if not BENCH_DIR.is_dir():
        return None, None
    sys.path.insert(0, str(BENCH_DIR))
    import numpy_baseline
    import refkernel

    return refkernel, numpy_baseline


def reference_pool_tape(n_loans: int, seed: int = 0) -> LoanTape:
    """The reference kernel's pool (``refkernel.make_pool``) as a full loan tape.

    Adds what the full model reads (FICO, LTV, PTI, new/used, vehicle value) from the same
    seeded generator.
    """
    refkernel, _ = reference_modules()
    rng = np.random.default_rng(seed)
    bal0, rate_m, _pmt, rem, age0, seg, _hd, _hp = refkernel.make_pool(n_loans, 72, rng)
    return tape_from_columns({
        "loan_id": np.arange(n_loans).astype(str),
        "balance": bal0,
        "rate": rate_m * 12.0,
        "original_term": rem + age0,
        "remaining_term": rem,
        "fico": rng.normal(700.0, 60.0, n_loans).clip(450, 850),
        "ltv": rng.uniform(0.8, 1.25, n_loans),
        "pti": rng.uniform(0.04, 0.18, n_loans),
        "vehicle_new": rng.random(n_loans) < 0.4,
        "segment": np.array(["s0", "s1", "s2", "s3", "s4"])[seg],
    })


def full_model() -> CollateralModel:
    """Every feature of the collateral model switched on, hazards like the reference kernel's."""
    curves = {
        f"s{k}": {"ages": [1, 12, 84], "values": [0.002 * (k + 1) / 12, 0.002 * (k + 1),
                                                  0.002 * (k + 1)]}
        for k in range(5)
    }
    return model_from_dict({
        "default": {"hazard_curves": curves, "unemployment_elasticity": 12.0},
        "delinquency": {"chargeoff_months": 4, "cure_probability": 0.3},
        # Same base prepayment intensity as the reference kernel (0.015 a month).
        "prepayment": {"smm_curve": {"ages": [1], "values": [0.014888]}, "rate_incentive": 5.0,
                       "unemployment_elasticity": -4.0},
        "recovery": {"method": "vehicle", "lag_months": 3},
        "factor": {"type": "lognormal", "multiplier_cv": 0.5},
    })


def roll_rate_matrix(roll0: float, prepay: float) -> list[list[float]]:
    """4 x 6 monthly transition rows: current rolls with ``roll0``; 30/60/90 cure with
    0.3/0.2/0.1 and roll on with 0.5/0.6/0.7; every state prepays with ``prepay``.

    About 39% of the loans that go 30 days delinquent reach charge-off; with ``roll0`` of
    ``0.0016 (k + 1)`` before age 13 and ``0.0032 (k + 1)`` after, the reference pool
    charges off about as much as under :func:`full_model` (expected projection: 8.1% vs 7.4%
    of the pool), so both credit models are timed on the same credit activity.
    """
    rows = [[1.0 - roll0 - prepay, roll0, 0.0, 0.0, 0.0, prepay]]
    for s, (cure, roll) in enumerate(((0.3, 0.5), (0.2, 0.6), (0.1, 0.7)), start=1):
        row = [0.0] * 6
        row[0], row[s + 1], row[5] = cure, roll, prepay
        row[s] += 1.0 - cure - roll - prepay
        rows.append(row)
    return rows


def roll_rate_full_model() -> CollateralModel:
    """:func:`full_model` with the roll-rate credit model: matrices by segment and two age
    bands, scorecard, macro, rate incentive, vehicle recovery and the factor all on."""
    raw = full_model().model_dump()
    raw["credit_model"] = "roll_rate"
    raw["roll_rate"] = {"age_bands": [1, 13], "matrices": {
        f"s{k}": [roll_rate_matrix(0.0016 * (k + 1), 0.014888),
                  roll_rate_matrix(0.0032 * (k + 1), 0.014888)] for k in range(5)}}
    return model_from_dict(raw)


@dataclass(frozen=True)
class MovingMacro:
    """Per-path macro paths that move (every macro term exercised), made chunk by chunk.

    A :class:`simulation.run.MacroScenario` that is its own bound source.
    """

    model: CollateralModel
    n_periods: int
    name: str = "moving macro (benchmark)"
    stochastic: bool = False

    def bind(self, **_: object) -> MovingMacro:
        """The source is the same for every run."""
        return self

    def shared(self) -> None:
        """Every path has rows of its own."""
        return None

    def rows(self, paths: np.ndarray) -> MacroOnlyRows:
        """Random-walk macro rows of the given global paths."""
        rng = np.random.default_rng([1, int(paths[0])])
        steps = rng.normal(0.0, 1.0, (3, len(paths), self.n_periods)).cumsum(axis=2) / np.sqrt(12)
        return MacroOnlyRows(MacroPaths(
            unemployment=self.model.macro.unemployment + 0.004 * steps[0],
            market_rate=np.maximum(self.model.macro.market_rate + 0.003 * steps[1], 0.0),
            used_car_index=np.exp(0.02 * steps[2]),
        ))

    def central(self) -> MacroOnlyRows:
        """Path 0's rows."""
        return self.rows(np.zeros(1, dtype=np.int64))

    def residual_loading(self) -> float:
        """No credit residual."""
        return 0.0
