"""The run spine: plan -> chunk -> reduce -> result (-> run directory).

One path from options to results, used by the Python API, the CLI, the reports and Dask:

- :func:`plan_run` prepares everything a run needs once into a picklable :class:`RunPlan`
  (a scenario reaches it through the :class:`MacroScenario` protocol);
- :func:`run_chunk` simulates one chunk of paths, the only place kernels are called, into a
  :class:`ChunkResult` of per-path results and named reductions;
- :func:`drive` is the one chunk loop: the chunks a :class:`ChunkStore` lacks, on an
  :class:`Executor` (local threads or Dask), then the stopping rule;
- :func:`assemble` merges chunks in chunk order into a :class:`DealSimulationResult` or a
  :class:`PoolSimulationResult`;
- :func:`simulate` and :func:`simulate_pool` do all of it in this process;
- :func:`write_run` / :func:`read_run` are the one writer and reader of a run directory.
"""

from simulation.run.assemble import assemble, el_rse_check
from simulation.run.chunk import ChunkCallback, ChunkResult, run_chunk
from simulation.run.directory import RunRecord, read_run, run_frames, stored_summary, write_run
from simulation.run.drive import (
    ChunkStore,
    DrivenRun,
    Executor,
    MemoryChunkStore,
    drive,
    local_executor,
)
from simulation.run.local import simulate, simulate_pool
from simulation.run.macro import FixedMacro, MacroRows, MacroScenario, MacroSource
from simulation.run.plan import MAX_PATHS, RunPlan, iter_chunks, numba_threads, plan_run
from simulation.run.reducers import CLASS_FLOW_FIELDS, DealReduction, PoolReduction
from simulation.run.results import (
    CLASS_PATH_FIELDS,
    PATH_FIELDS,
    DealSimulationResult,
    PoolSimulationResult,
    hard_credit_enhancement,
)
from simulation.run.sampler import FactorSampler, independent_factor

__all__ = [
    "CLASS_FLOW_FIELDS",
    "CLASS_PATH_FIELDS",
    "MAX_PATHS",
    "PATH_FIELDS",
    "ChunkCallback",
    "ChunkResult",
    "ChunkStore",
    "DealReduction",
    "DealSimulationResult",
    "DrivenRun",
    "Executor",
    "FactorSampler",
    "FixedMacro",
    "MacroRows",
    "MacroScenario",
    "MacroSource",
    "MemoryChunkStore",
    "PoolReduction",
    "PoolSimulationResult",
    "RunPlan",
    "RunRecord",
    "assemble",
    "drive",
    "el_rse_check",
    "hard_credit_enhancement",
    "independent_factor",
    "iter_chunks",
    "local_executor",
    "numba_threads",
    "plan_run",
    "read_run",
    "run_chunk",
    "run_frames",
    "simulate",
    "simulate_pool",
    "stored_summary",
    "write_run",
]
