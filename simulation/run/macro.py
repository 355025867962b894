"""How a scenario reaches a run: the macro-source protocol the run asks for paths.

``simulation`` never imports ``scenarios``: a run takes any object with the
:class:`MacroScenario` shape (``scenarios.ScenarioMacro`` is the library's), binds it once to
the run's horizon, size and seed, and asks the bound :class:`MacroSource` for the rows of
each chunk's global path indices. Plain :class:`~simulation.collateral.MacroPaths` (one row
shared by every path, or one row per path) run through :class:`FixedMacro`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from portfolio.errors import InputError
from simulation.collateral import MacroPaths
from simulation.model import MacroLevels

__all__ = ["FixedMacro", "MacroOnlyRows", "MacroRows", "MacroScenario", "MacroSource"]


class MacroRows(Protocol):
    """The macro rows of a chunk of paths (or the one row every path shares).

    Attributes
    ----------
    macro : MacroPaths
        Collateral macro rows ``(rows, n_periods)`` and the scenario's assumption stresses.
    index_rate : numpy.ndarray or None
        Note index fixing by row and period, annual decimal (``None``: the deal's flat index).
    curve : numpy.ndarray or None
        Discount factors to the end of each period ``(n_periods,)`` (``None``: flat curve).
    factor_z : numpy.ndarray or None
        Credit factor correlated with the macro shocks, per path (stochastic sources only).
    credit_residual : numpy.ndarray or None
        Its independent standard-normal residual ``e`` per path (stochastic sources only).
    residual_loading : float
        Loading of ``e`` in ``factor_z`` (0 when deterministic).
    """

    @property
    def macro(self) -> MacroPaths: ...  # noqa: D102
    @property
    def index_rate(self) -> np.ndarray | None: ...  # noqa: D102
    @property
    def curve(self) -> np.ndarray | None: ...  # noqa: D102
    @property
    def factor_z(self) -> np.ndarray | None: ...  # noqa: D102
    @property
    def credit_residual(self) -> np.ndarray | None: ...  # noqa: D102
    @property
    def residual_loading(self) -> float: ...  # noqa: D102


class MacroSource(Protocol):
    """A scenario bound to one run: rows for chunks of global path indices."""

    @property
    def name(self) -> str | None: ...  # noqa: D102
    @property
    def stochastic(self) -> bool: ...  # noqa: D102

    def shared(self) -> MacroRows | None:
        """The one row every path shares, or ``None`` when paths have rows of their own."""

    def rows(self, paths: np.ndarray) -> MacroRows:
        """Rows of the given global path indices (drawn for exactly these paths)."""

    def central(self) -> MacroRows:
        """The deterministic central path (where importance designs are drawn up)."""

    def residual_loading(self) -> float:
        """Loading of the credit factor's independent residual (0 without one)."""


class MacroScenario(Protocol):
    """A scenario a run can bind (``scenarios.ScenarioMacro``)."""

    @property
    def name(self) -> str: ...  # noqa: D102

    def bind(self, *, n_periods: int, n_paths: int, seed: int, levels: MacroLevels,
             stochastic: bool) -> MacroSource:
        """The source of this scenario for a run of ``n_paths`` paths over ``n_periods``."""


@dataclass(frozen=True)
class MacroOnlyRows:
    """Rows with collateral macro only: the deal's flat index, a flat curve, no credit factor."""

    macro: MacroPaths
    index_rate: None = None
    curve: None = None
    factor_z: None = None
    credit_residual: None = None
    residual_loading: float = 0.0


@dataclass(frozen=True, eq=False)
class FixedMacro:
    """Given macro paths: one row for every path, or one row per path of the run.

    Floating notes fix on the deal's flat index and PVs discount on a flat curve.
    """

    paths: MacroPaths
    name: str | None = None
    stochastic: bool = False

    @classmethod
    def of(cls, macro: MacroPaths, n_periods: int, n_paths: int) -> FixedMacro:
        """Macro paths cut or extended to the run's horizon, checked against its path count."""
        fixed = macro.over(n_periods)
        if fixed.n_paths not in (1, n_paths):
            raise InputError("macro paths", f"have {fixed.n_paths} paths, expected 1 or {n_paths}")
        return cls(fixed)

    def shared(self) -> None:
        """Given paths carry no index or curve of their own."""
        return None

    def rows(self, paths: np.ndarray) -> MacroOnlyRows:
        """The rows of ``paths`` (the shared row broadcast)."""
        return MacroOnlyRows(self.paths.rows(paths))

    def central(self) -> MacroOnlyRows:
        """The given paths' first row."""
        return MacroOnlyRows(self.paths.rows(np.zeros(1, dtype=np.int64)))

    def residual_loading(self) -> float:
        """No credit residual."""
        return 0.0
