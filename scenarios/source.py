"""A scenario as a run's macro source (the protocol of :mod:`simulation.run.macro`).

``ScenarioMacro(scenario)`` is what a run takes; the run binds it once to its horizon, size,
seed and the assumptions' cut-off levels, and asks the bound :class:`ScenarioSource` for the
rows of each chunk: one row shared by every path (deterministic), or rows drawn for exactly the
chunk's global path indices (stochastic, :func:`scenarios.stochastic.simulate_scenario`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from scenarios.model import Scenario
from scenarios.stochastic import (
    ScenarioPaths,
    credit_factor_loadings,
    deterministic_paths,
    simulate_scenario,
)
from simulation.model import MacroLevels

__all__ = ["ScenarioMacro", "ScenarioSource"]


@dataclass(frozen=True, eq=False)
class ScenarioSource:
    """A scenario bound to one run (see :class:`simulation.run.MacroSource`)."""

    scenario: Scenario
    n_periods: int
    n_paths: int
    seed: int
    levels: MacroLevels
    stochastic: bool
    _shared: ScenarioPaths | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if not self.stochastic:
            object.__setattr__(self, "_shared", deterministic_paths(self.scenario, self.n_periods,
                                                                    self.levels))

    @property
    def name(self) -> str:
        """Scenario name."""
        return self.scenario.name

    def shared(self) -> ScenarioPaths | None:
        """The deterministic scenario's one row, or ``None`` when stochastic."""
        return self._shared

    def rows(self, paths: np.ndarray) -> ScenarioPaths:
        """Rows of the given global paths: the shared row broadcast, or drawn for them."""
        if self._shared is not None:
            return replace(self._shared, macro=self._shared.macro.rows(paths))
        return simulate_scenario(self.scenario, self.n_periods, self.n_paths, self.seed,
                                 levels=self.levels, paths=paths)

    def central(self) -> ScenarioPaths:
        """The scenario's deterministic path."""
        return self._shared or deterministic_paths(self.scenario, self.n_periods, self.levels)

    def residual_loading(self) -> float:
        """Loading of the credit factor's independent residual (stochastic runs)."""
        return credit_factor_loadings(self.scenario, self.n_periods)[2]


@dataclass(frozen=True, eq=False)
class ScenarioMacro:
    """A scenario ready to be bound to a run (:class:`simulation.run.MacroScenario`)."""

    scenario: Scenario

    @property
    def name(self) -> str:
        """Scenario name."""
        return self.scenario.name

    def bind(self, *, n_periods: int, n_paths: int, seed: int, levels: MacroLevels,
             stochastic: bool) -> ScenarioSource:
        """The source of this scenario for one run."""
        return ScenarioSource(self.scenario, n_periods, n_paths, seed, levels, stochastic)
