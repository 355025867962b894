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
from simulation.engine import PoolSimulationResult, simulate_pool
from simulation.factor import FactorSpec, calibrate, vasicek_quantile
from simulation.model import CollateralModel, load_model, model_from_dict

__all__ = [
    "FIELD_NAMES",
    "CollateralInputs",
    "CollateralModel",
    "FactorSpec",
    "MacroPaths",
    "PoolSimulationResult",
    "calibrate",
    "expected_flows",
    "flat_macro",
    "load_model",
    "model_from_dict",
    "prepare_collateral",
    "project_deterministic",
    "simulate_pool",
    "vasicek_quantile",
]
