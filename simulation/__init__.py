"""Monte Carlo: RNG, collateral model and kernels, deterministic projection, path engine."""

from simulation.collateral import (
    FIELD_NAMES,
    CollateralInputs,
    MacroPaths,
    expected_flows,
    flat_macro,
    prepare_collateral,
)
from simulation.deterministic import project_deterministic
from simulation.factor import FactorSpec, calibrate, vasicek_quantile
from simulation.model import CollateralModel, load_model, model_from_dict
from simulation.run import (
    DealSimulationResult,
    PoolSimulationResult,
    plan_run,
    simulate,
    simulate_pool,
)

__all__ = [
    "FIELD_NAMES",
    "CollateralInputs",
    "CollateralModel",
    "DealSimulationResult",
    "FactorSpec",
    "MacroPaths",
    "PoolSimulationResult",
    "calibrate",
    "expected_flows",
    "flat_macro",
    "load_model",
    "model_from_dict",
    "plan_run",
    "prepare_collateral",
    "project_deterministic",
    "simulate",
    "simulate_pool",
    "vasicek_quantile",
]
