"""Stress runs: one deal under several scenarios with common random numbers, and a
deterministic sensitivity grid of class losses (CNL multiple x ABS speed).

Common random numbers: every scenario runs with the same seed and the same prepared collateral
inputs, so loan-level event draws and the systematic factor draw are identical across
scenarios; differences between scenarios are then driven by the scenarios, not by noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from portfolio.tape import LoanTape
from scenarios.model import Scenario
from simulation.collateral import FIELD_NAMES, expected_flows, prepare_collateral
from simulation.deal import Deal
from simulation.deterministic import project_deterministic
from simulation.factor import calibrate
from simulation.model import CollateralModel
from simulation.simulate import DealSimulationResult, simulate
from simulation.waterfall import compile_deal, run_waterfall

DEFAULT_CNL_MULTIPLES = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0)
DEFAULT_GRID_ABS = (0.005, 0.010, 0.013, 0.015, 0.018, 0.020)
_CHARGED_OFF = FIELD_NAMES.index("defaulted_principal")
_RECOVERIES = FIELD_NAMES.index("recoveries")
_ENDING = FIELD_NAMES.index("ending_balance")


@dataclass(frozen=True, eq=False)
class StressResult:
    """Per-scenario deal results (same seed) and their comparison table."""

    results: dict[str, DealSimulationResult]

    def table(self) -> pd.DataFrame:
        """Rows (scenario, class): EL, EL se, PD, WAL, yield and trigger-breach probability.

        ``trigger_breach`` is the probability that any trigger of the deal is breached by the
        end of the horizon; pool CNL mean is repeated on each row of the scenario.
        """
        rows = []
        for name, result in self.results.items():
            summary = result.class_summary()
            breach = _any_trigger_probability(result)
            cnl = result.pool.cnl_stats()["cnl_mean"]
            for row in summary.to_dict(orient="records"):
                rows.append({
                    "scenario": name,
                    "class": row["name"],
                    "el": row["el"],
                    "el_se": row["el_se"],
                    "pd": row["pd"],
                    "wal": row["wal"],
                    "yield": row["yield"],
                    "implied_rating": row["implied_rating"],
                    "trigger_breach": breach,
                    "pool_cnl_mean": cnl,
                })
        return pd.DataFrame(rows)


def _any_trigger_probability(result: DealSimulationResult) -> float:
    by_period = [c for c in result.triggers.columns if c.endswith(" by period")]
    if not by_period:
        return 0.0
    return float(result.triggers[by_period].iloc[-1].max())


def run_stress(
    tape: LoanTape,
    deal: Deal,
    model: CollateralModel,
    scenarios: Sequence[Scenario],
    *,
    n_paths: int = 1000,
    seed: int = 0,
    stochastic: bool = False,
    chunk_size: int = 256,
    threads: int | None = None,
    progress: Any = None,
) -> StressResult:
    """Run the deal under each scenario with common random numbers (same seed and inputs)."""
    prepared = calibrate(prepare_collateral(tape, model))
    results = {}
    for scenario in scenarios:
        def on_chunk(first: int, flows: np.ndarray, tf: Any) -> None:
            if progress is not None:
                progress(flows.shape[0])

        results[scenario.name] = simulate(
            tape, deal, model, scenario=scenario, stochastic=stochastic, n_paths=n_paths,
            seed=seed, chunk_size=chunk_size, threads=threads, prepared=prepared,
            on_chunk=on_chunk,
        )
    return StressResult(results)


def sensitivity_grid(
    deal: Deal,
    tape: LoanTape,
    model: CollateralModel,
    *,
    cnl_multiples: Sequence[float] = DEFAULT_CNL_MULTIPLES,
    abs_speeds: Sequence[float] = DEFAULT_GRID_ABS,
) -> pd.DataFrame:
    """Deterministic class losses on a grid of CNL multiples x ABS speeds.

    The base case is the model's expected projection (flat macro): its CNL, its default timing
    (charge-offs by period, turned into a monthly default-rate shape) and its loss severity.
    Each cell runs :func:`~simulation.deterministic.project_deterministic` at the ABS speed with
    the default-rate shape scaled so that the pool CNL is the multiple of the base CNL, then the
    waterfall. Returns rows (cnl_multiple, abs_speed, class) with ``loss`` (share of the class
    balance) and ``pool_cnl``.
    """
    inputs, _ = calibrate(prepare_collateral(tape, model))
    base = expected_flows(inputs).flows
    charged = base[:, _CHARGED_OFF]
    base_cnl = float((charged.sum() - base[:, _RECOVERIES].sum()) / inputs.initial_balance)
    severity = 1.0 - base[:, _RECOVERIES].sum() / max(charged.sum(), 1e-300)
    co = model.delinquency.chargeoff_months
    lag = model.recovery.lag_months
    # Defaults by period of first missed payment, as a rate on the expected pool balance.
    first_missed = np.roll(charged, -(co - 1))
    first_missed[len(first_missed) - (co - 1):] = 0.0
    balance = np.concatenate([[inputs.initial_balance], base[:-1, _ENDING]])
    shape = np.divide(first_missed, balance, out=np.zeros_like(balance), where=balance > 0)
    program = compile_deal(deal, inputs.initial_balance)
    rows = []
    for speed in abs_speeds:
        def cnl_for(scale: float, speed: float = speed) -> float:
            flows = project_deterministic(tape, mdr=np.minimum(shape * scale, 1.0),
                                          abs_speed=speed, severity=severity,
                                          recovery_lag=lag, chargeoff_months=co)
            return float(flows["cnl"].iloc[-1])

        for multiple in cnl_multiples:
            target = multiple * base_cnl
            hi = 1.0
            while cnl_for(hi) < target and hi < 1e4:
                hi *= 2.0
            scale = optimize.brentq(lambda s: cnl_for(s) - target, 0.0, hi, xtol=1e-10)
            flows = project_deterministic(tape, mdr=np.minimum(shape * scale, 1.0),
                                          abs_speed=speed, severity=severity,
                                          recovery_lag=lag, chargeoff_months=co)
            tf = run_waterfall(program, flows[list(FIELD_NAMES)].to_numpy()[None])
            for c, name in enumerate(program.classes):
                rows.append({
                    "cnl_multiple": multiple,
                    "abs_speed": speed,
                    "class": name,
                    "loss": float(tf.principal_loss[0, c] / program.original_balance[c]),
                    "pool_cnl": float(flows["cnl"].iloc[-1]),
                })
    return pd.DataFrame(rows)
