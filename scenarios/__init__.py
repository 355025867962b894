"""Policy-rate and macro scenarios: data model, built-in library, stochastic short-rate layer.

See ``docs/scenarios.md``.
"""

from scenarios.model import (
    DEFAULT_SCENARIO,
    STRESS_SCENARIOS,
    MonthlyPaths,
    RateShock,
    Scenario,
    library_names,
    load_scenario,
    scenario_from_dict,
    scenario_paths,
)
from scenarios.short_rate import HullWhite, ShortRatePaths, simulate_short_rate
from scenarios.source import ScenarioMacro, ScenarioSource
from scenarios.stochastic import (
    ScenarioPaths,
    credit_factor_loadings,
    deterministic_paths,
    simulate_scenario,
)
from scenarios.transmission import Channel, transmission_channels

__all__ = [
    "DEFAULT_SCENARIO",
    "STRESS_SCENARIOS",
    "Channel",
    "HullWhite",
    "MonthlyPaths",
    "RateShock",
    "Scenario",
    "ScenarioMacro",
    "ScenarioPaths",
    "ScenarioSource",
    "ShortRatePaths",
    "credit_factor_loadings",
    "deterministic_paths",
    "library_names",
    "load_scenario",
    "scenario_from_dict",
    "scenario_paths",
    "simulate_scenario",
    "simulate_short_rate",
    "transmission_channels",
]
