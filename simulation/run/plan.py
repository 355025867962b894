"""The plan of a run: everything needed to simulate any chunk of it, prepared once.

:func:`plan_run` validates the run's options, prepares and calibrates the collateral, compiles
the deal, binds the scenario (a :class:`~simulation.run.macro.MacroScenario`) to the run and
chooses the factor sampler, into a picklable :class:`RunPlan` that is shipped to Dask workers
as it is. Chunk boundaries are part of the plan (:attr:`RunPlan.chunks`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numba
import numpy as np

import simulation.metrics as metrics
from portfolio.errors import InputError
from portfolio.tape import LoanTape
from simulation.asof import deal_program
from simulation.collateral import CollateralInputs, MacroPaths, expected_flows, prepare_collateral
from simulation.deal import Deal
from simulation.factor import FactorSpec, calibrate
from simulation.model import CollateralModel
from simulation.run.macro import FixedMacro, MacroScenario, MacroSource
from simulation.run.sampler import FactorSampler, choose_sampler
from simulation.status import DealStatus
from simulation.waterfall import TrancheFlows, WaterfallProgram, run_waterfall

__all__ = [
    "MAX_PATHS",
    "RunPlan",
    "iter_chunks",
    "numba_threads",
    "plan_run",
    "promised_flows",
]

MAX_PATHS = 100_000_000
"""Most paths one run may have."""


def iter_chunks(n_paths: int, chunk_size: int) -> Iterator[tuple[int, int]]:
    """Yield ``(first_path, n)`` covering ``0..n_paths-1`` in order."""
    for start in range(0, n_paths, chunk_size):
        yield start, min(chunk_size, n_paths - start)


def max_threads() -> int:
    """Most numba threads this process may use."""
    return int(getattr(numba.config, "NUMBA_NUM_THREADS", 1))


@contextlib.contextmanager
def numba_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` numba threads (``None`` keeps the current setting)."""
    if threads is None:
        yield
        return
    if not 1 <= threads <= max_threads():
        raise InputError("--threads", f"must be between 1 and {max_threads()}, got {threads}")
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(before)


@dataclass(frozen=True, eq=False, kw_only=True)
class RunPlan:
    """Everything needed to simulate any chunk of one run; picklable (shipped to workers).

    Attributes
    ----------
    inputs : CollateralInputs
        Prepared and calibrated collateral inputs.
    spec : FactorSpec
        The calibrated systematic factor.
    program : WaterfallProgram or None
        The compiled deal (``None`` for a collateral-only run).
    source : MacroSource or None
        The scenario bound to the run (``None``: flat macro and the deal's flat index).
    n_paths, seed, chunk_size : int
        Run size, run seed and paths per chunk (the chunk boundaries of the run).
    promised_yield : numpy.ndarray
        ``(n_classes,)`` yield of the no-loss cash flows, annual decimal.
    curve : numpy.ndarray
        ``(n_periods,)`` discount factors for PVs.
    factor : callable or None
        Factor sampler (``None``: independent normals, or the scenario's correlated factor).
    residual : callable or None
        Stochastic scenarios: sampler of the credit factor's independent residual (the
        importance design in its units), ``None`` for the scenario's own draws.
    design : dict or None
        The variance-reduction design of the sampler, for the provenance.
    checkpoints : tuple of int
        Path counts at which a stopping rule extended the run (chunk boundaries).
    """

    inputs: CollateralInputs
    spec: FactorSpec
    program: WaterfallProgram | None
    source: MacroSource | None
    n_paths: int
    seed: int
    chunk_size: int
    promised_yield: np.ndarray
    curve: np.ndarray
    factor: FactorSampler | None = None
    residual: FactorSampler | None = None
    design: dict[str, Any] | None = None
    checkpoints: tuple[int, ...] = ()

    @property
    def chunks(self) -> list[tuple[int, int]]:
        """``(first_path, n)`` of every chunk, in order.

        Paths are cut into chunks of ``chunk_size`` within each segment between
        ``checkpoints`` (the path counts at which a stopping rule looked), so extending a run
        never changes a chunk already simulated.
        """
        out: list[tuple[int, int]] = []
        bounds = [0, *[c for c in self.checkpoints if 0 < c < self.n_paths], self.n_paths]
        for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
            out += [(start + first, n) for first, n in iter_chunks(stop - start, self.chunk_size)]
        return out

    @property
    def se_block_size(self) -> int:
        """Paths per independent block of the factor sampler."""
        sampler = self.factor or self.residual
        return int(getattr(sampler, "block_size", 1))

    @property
    def pool_basis(self) -> tuple[float, float]:
        """The pool balance the pool's ratios are over, and the net loss realised before.

        From closing: the pool at the cut-off and 0. From a reporting date: the original
        pool and the cumulative net loss then, so that CNL counts realised plus projected
        losses against the original pool, as the CNL trigger does.
        """
        start = self.program.start if self.program is not None else None
        if start is None:
            return self.inputs.initial_balance, 0.0
        assert self.program is not None
        return self.program.initial_pool_balance, start.cumulative_net_loss

    def extended(self, n_paths: int) -> RunPlan:
        """The same run with more paths; the current count becomes a checkpoint."""
        return replace(self, n_paths=n_paths, checkpoints=(*self.checkpoints, self.n_paths))


def class_basis(program: WaterfallProgram) -> tuple[np.ndarray, np.ndarray]:
    """The USD the class metrics are per, and which classes are outstanding at the start.

    Each class's balance when the run starts (closing, or after a reporting date); a class
    already paid then keeps its original balance as the basis (its losses and PVs are 0).
    """
    start = program.start_balance
    live = start > 0.0
    return np.where(live, start, program.original_balance), live


def promised_flows(inputs: CollateralInputs, program: WaterfallProgram,
                   index_rates: np.ndarray | float | None = None) -> TrancheFlows:
    """The waterfall on the no-loss expected pool flows (base prepayment, no defaults)."""
    flows = expected_flows(inputs, default_multiplier=0.0).flows
    return run_waterfall(program, flows[None], index_rates)


def _flat_curve(rate: float, n_periods: int) -> np.ndarray:
    """Discount factors of a flat annual rate (monthly compounding) to each period end."""
    return np.asarray((1.0 + rate / 12.0) ** -np.arange(1, n_periods + 1))


def check_run_size(n_paths: int, chunk_size: int, seed: int) -> None:
    """Raise :class:`InputError` naming the option on a bad run size, chunk size or seed."""
    if not 1 <= n_paths <= MAX_PATHS:
        raise InputError("--paths", f"must be between 1 and {MAX_PATHS:,}, got {n_paths}")
    if chunk_size < 1:
        raise InputError("--chunk-size", f"must be at least 1, got {chunk_size}")
    if not 0 <= seed < 2**63:
        raise InputError("--seed", f"must be between 0 and 2**63 - 1, got {seed}")


def plan_run(
    tape: LoanTape | None,
    model: CollateralModel | None,
    deal: Deal | None = None,
    *,
    macro: MacroScenario | MacroPaths | None = None,
    stochastic: bool = False,
    n_paths: int = 1000,
    seed: int = 0,
    chunk_size: int = 256,
    factor: FactorSampler | None = None,
    prepared: tuple[CollateralInputs, FactorSpec] | None = None,
    importance: bool = True,
    antithetic: bool = False,
    stratified: bool = True,
    defensive: float = 0.25,
    status: DealStatus | None = None,
    status_source: str = "<status>",
) -> RunPlan:
    """Prepare a run once (collateral inputs, calibration, waterfall program, sampler).

    Arguments are those of :func:`simulation.run.simulate` (``deal=None`` plans a
    collateral-only run, which keeps the given ``factor`` or independent normals; ``tape``
    and ``model`` may be ``None`` when ``prepared`` is given). ``status`` starts the deal at a
    reporting date (:func:`simulation.asof.deal_program`; ``tape`` then holds the current
    loans; ``status_source`` names its file in errors). The stopping rule
    (``target_rse``) is applied by the caller with :meth:`RunPlan.extended`.
    """
    check_run_size(n_paths, chunk_size, seed)
    if prepared is not None:
        inputs, spec = prepared
    elif tape is None or model is None:
        raise TypeError("plan_run needs a tape and a model, or prepared inputs")
    else:
        inputs, spec = calibrate(prepare_collateral(tape, model))
    n_periods = inputs.n_periods
    source: MacroSource | None
    if isinstance(macro, MacroPaths):
        source = FixedMacro.of(macro, n_periods, n_paths)
    elif macro is not None:
        source = macro.bind(n_periods=n_periods, n_paths=n_paths, seed=seed,
                            levels=inputs.model.macro, stochastic=stochastic)
    else:
        source = None
    if deal is None:
        return RunPlan(inputs=inputs, spec=spec, program=None, source=source, n_paths=n_paths,
                       seed=seed, chunk_size=chunk_size, promised_yield=np.zeros(0),
                       curve=np.ones(n_periods), factor=factor)
    program = deal_program(deal, inputs, status, status_source=status_source)
    shared = source.shared() if source is not None else None
    base_index = shared.index_rate if shared is not None else None
    curve = (shared.curve if shared is not None and shared.curve is not None
             else _flat_curve(deal.index_rate, n_periods))
    promised = promised_flows(inputs, program, base_index)
    basis, live = class_basis(program)
    promised_yield = np.where(live, metrics.cashflow_yield(
        promised.interest_paid[0] + promised.principal_paid[0], basis,
        program.yield_fractions(n_periods)), np.nan)
    sampler, design = choose_sampler(factor, source, inputs, spec, program,
                                     importance=importance, antithetic=antithetic,
                                     stratified=stratified, defensive=defensive)
    residual = None
    if factor is None and source is not None and source.stochastic:
        # each chunk takes the factor of its own scenario rows, the design its residual
        residual, sampler = sampler, None
    return RunPlan(inputs=inputs, spec=spec, program=program, source=source, n_paths=n_paths,
                   seed=seed, chunk_size=chunk_size, promised_yield=np.asarray(promised_yield),
                   curve=np.asarray(curve), factor=sampler, residual=residual, design=design)
