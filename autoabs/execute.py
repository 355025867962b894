"""Execute a run chunk by chunk: locally or on Dask, checkpointed, into the run store.

:func:`execute` is what ``autoabs run``, ``autoabs pool``, ``autoabs demo`` and the Python API
call. It plans the run once (:func:`simulation.run.plan_run`), simulates the chunks not
yet checkpointed (numba threads in this process, or Dask workers), assembles them in chunk
order, and, with a run directory, writes the results, the report, ``manifest.json`` and a
ledger entry (see :mod:`autoabs.runstore`).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numba
import pandas as pd

import autoabs.runstore as runstore
from autoabs._dask import check_options, dask_client, default_worker_threads, run_on_dask
from portfolio.errors import InputError, Problem
from portfolio.tape import LoanTape
from scenarios import ScenarioMacro
from simulation.collateral import CollateralInputs
from simulation.deal import Deal
from simulation.factor import FactorSpec
from simulation.model import CollateralModel
from simulation.ratings import ELTable
from simulation.run import (
    MAX_PATHS,
    ChunkResult,
    ChunkStore,
    DealSimulationResult,
    Executor,
    MemoryChunkStore,
    PoolSimulationResult,
    RunPlan,
    assemble,
    drive,
    local_executor,
    plan_run,
)
from simulation.run.directory import write_manifest, write_run, write_structuring
from simulation.run.plan import check_run_size, max_threads
from simulation.status import DealStatus
from simulation.structuring import StructuringTables, structuring_tables

if TYPE_CHECKING:
    from reports import ReportFiles

RUN_FORMAT = 1
"""Version of the run-directory layout recorded in every manifest."""


@dataclass(frozen=True)
class RunOptions:
    """How to run: size, seed, chunking, and where (threads, local cluster, scheduler).

    Only ``n_paths``, ``seed``, ``chunk_size`` and ``stochastic`` change results; threads,
    workers and scheduler change only speed.
    """

    n_paths: int = 1000
    seed: int = 1
    chunk_size: int = 256
    threads: int | None = None
    workers: int | None = None
    scheduler: str | None = None
    stochastic: bool = False
    target_rse: float | None = None
    max_paths: int | None = None

    @property
    def path_budget(self) -> int:
        """Most paths the stopping rule may run (``n_paths`` without a target)."""
        if self.target_rse is None:
            return self.n_paths
        return self.max_paths if self.max_paths is not None else 10 * self.n_paths

    def check(self) -> None:
        """Raise :class:`InputError` naming the option on a bad value."""
        check_run_size(self.n_paths, self.chunk_size, self.seed)
        if self.threads is not None and not 1 <= self.threads <= max_threads():
            raise InputError("--threads", f"must be between 1 and {max_threads()}, got "
                             f"{self.threads}")
        check_options(self.workers, self.scheduler)
        if self.target_rse is not None and not 0.0 < self.target_rse < 1.0:
            raise InputError("--target-rse", f"must lie in (0, 1), got {self.target_rse}")
        if self.max_paths is not None and self.target_rse is None:
            raise InputError("--max-paths", "applies only with --target-rse")
        if self.max_paths is not None and not self.n_paths <= self.max_paths <= MAX_PATHS:
            raise InputError("--max-paths", f"must be between --paths ({self.n_paths}) and "
                             f"{MAX_PATHS:,}, got {self.max_paths}")

    def result_options(self) -> dict[str, Any]:
        """The options that determine the results (the resume fingerprint)."""
        return {"n_paths": self.n_paths, "seed": self.seed, "chunk_size": self.chunk_size,
                "stochastic": self.stochastic, "target_rse": self.target_rse,
                "max_paths": self.path_budget}


@dataclass(frozen=True, eq=False)
class RunJob:
    """The resolved inputs of one run (deal run when ``deal`` is given, else pool only).

    ``prepared`` and ``structuring_tables`` are what does not change between the scenarios of
    a stress run (prepared collateral; paydown and break-even tables); given, they are used
    as they are instead of being computed for this run. ``status`` starts the deal at a
    reporting date (``tape``: the loans then; :func:`simulation.asof.deal_program`).
    """

    tape: LoanTape
    tape_source: str
    model: CollateralModel
    files: dict[str, Path]
    deal: Deal | None = None
    scenario: Any = None
    scenario_source: str | None = None
    el_table: ELTable | None = None
    prepared: tuple[CollateralInputs, FactorSpec] | None = None
    structuring: bool = False
    structuring_tables: StructuringTables | None = None
    warnings: tuple[str, ...] = ()
    status: DealStatus | None = None


@dataclass(frozen=True, eq=False)
class RunOutcome:
    """What :func:`execute` produced.

    Attributes
    ----------
    result : DealSimulationResult or PoolSimulationResult
        The simulation result.
    run_dir : Path or None
        The run directory (``None`` for in-memory runs).
    manifest : dict
        The manifest (also written to ``run_dir/manifest.json``).
    report : ReportFiles or None
        ``report.html``, ``report.pdf`` (None when no PDF renderer could run) and the
        renderer, when a report was built.
    """

    result: DealSimulationResult | PoolSimulationResult
    run_dir: Path | None
    manifest: dict[str, Any]
    report: ReportFiles | None


def tape_digest(tape: LoanTape) -> str:
    """sha256 of the tape's canonical content (row hashes of its canonical frame)."""
    rows = pd.util.hash_pandas_object(tape.to_frame(), index=True).to_numpy()
    return hashlib.sha256(rows.tobytes()).hexdigest()


def _inputs_record(job: RunJob) -> dict[str, dict[str, Any]]:
    record: dict[str, dict[str, Any]] = {}
    for role, path in sorted(job.files.items()):
        if not Path(path).is_file():
            raise InputError(str(path), Problem(None, role, "file not found"))
        record[role] = {"path": str(Path(path).resolve()), "sha256": runstore.sha256_file(path)}
    record["pool"] = {"source": job.tape_source, "n_loans": len(job.tape),
                      "content_sha256": tape_digest(job.tape)}
    if job.scenario is not None:
        record["scenario"] = {"source": job.scenario_source or job.scenario.name}
    return record


def _config(job: RunJob, options: RunOptions) -> dict[str, Any]:
    return {
        "kind": "deal" if job.deal is not None else "pool",
        "deal": job.deal.model_dump(mode="json") if job.deal is not None else None,
        "assumptions": job.model.model_dump(mode="json"),
        "scenario": job.scenario.model_dump(mode="json") if job.scenario is not None else None,
        "el_table": job.el_table.source if job.el_table is not None else None,
        "status": job.status.model_dump(mode="json") if job.status is not None else None,
        "options": options.result_options(),
    }


def _fingerprint(inputs: dict[str, dict[str, Any]], config: dict[str, Any]) -> dict[str, Any]:
    digests = {role: rec.get("sha256", rec.get("content_sha256")) for role, rec in inputs.items()}
    return {"format": RUN_FORMAT, "inputs": digests, "config_sha256": runstore.sha256_json(config),
            "options": config["options"]}


def _executor(options: RunOptions, stack: contextlib.ExitStack) -> tuple[Executor, dict[str, Any]]:
    """Where the chunks run (local threads or Dask; a Dask client opens on first use)."""
    if options.workers is None and options.scheduler is None:
        return local_executor(options.threads), {
            "executor": "local threads", "threads": options.threads or numba.get_num_threads()}
    threads = options.threads or default_worker_threads(options.workers)
    client: list[Any] = []

    def on_dask(plan: RunPlan, todo: list[tuple[int, int]],
                finished: Callable[[ChunkResult], None]) -> None:
        if not client:
            client.append(stack.enter_context(dask_client(options.workers, options.scheduler)))
        run_on_dask(client[0], plan, todo, threads, finished)

    return on_dask, {"executor": options.scheduler or f"LocalCluster({options.workers} workers)",
                     "threads": threads}


def build_report(run_dir: Path) -> ReportFiles | None:
    """Build the committee report with ``reports.build_report`` when the package provides it.

    The PDF renderer is ``$AUTOABS_PDF_RENDERER`` (default auto); without one the report is
    the HTML and ``ReportFiles.pdf_skipped`` says why.
    """
    try:
        from reports import build_report as build
    except ImportError:
        return None
    return build(run_dir)


def execute(job: RunJob, options: RunOptions, *, out: str | Path | None = None,
            resume: bool = False, overwrite: bool = False, report: bool = True,
            progress: Callable[[int], None] | None = None) -> RunOutcome:
    """Run a job, checkpointed into ``out`` when given; write results, manifest and ledger.

    Parameters
    ----------
    job : RunJob
        Resolved inputs.
    options : RunOptions
        Paths, seed, chunk size and where to run.
    out : path, optional
        Run directory (its parent is the runs root holding ``ledger.jsonl``); in memory when
        omitted.
    resume, overwrite : bool
        Continue an interrupted run in ``out`` / replace what ``out`` holds.
    report : bool
        Build ``report.html`` and ``report.pdf`` (deal runs, when the report package is there).
    progress : callable, optional
        ``progress(n_paths_done)`` after each chunk.

    Raises
    ------
    InputError
        On bad options, a run directory that may not be written or that another run holds
        (:func:`autoabs.runstore.run_lock`, held for the whole run), or a resume whose inputs,
        options or checkpoint files differ from the interrupted run's.
    """
    options.check()
    run_dir = Path(out) if out is not None else None
    with contextlib.ExitStack() as held:
        if run_dir is not None:
            held.enter_context(runstore.run_lock(run_dir))
            resume = runstore.prepare_run_dir(run_dir, resume=resume, overwrite=overwrite)
        return _execute(job, options, run_dir, resume=resume, report=report, progress=progress)


def _execute(job: RunJob, options: RunOptions, run_dir: Path | None, *, resume: bool,
             report: bool, progress: Callable[[int], None] | None) -> RunOutcome:
    """:func:`execute` once the run directory (if any) is locked and prepared."""
    started = runstore.utc_now()
    t_start = time.perf_counter()
    inputs = _inputs_record(job)
    config = _config(job, options)
    fingerprint = _fingerprint(inputs, config)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    plan = plan_run(job.tape, job.model, job.deal,
                    macro=ScenarioMacro(job.scenario) if job.scenario is not None else None,
                    stochastic=options.stochastic, n_paths=options.n_paths, seed=options.seed,
                    chunk_size=options.chunk_size, prepared=job.prepared, status=job.status,
                    status_source=str(job.files.get("status", "<status>")))
    timings["prepare_s"] = time.perf_counter() - t0
    store: ChunkStore
    if run_dir is not None:
        checkpoints = runstore.DirChunkStore(run_dir, fingerprint, resume=resume)
        checkpoints.check(_largest_plan(plan, options).chunks)
        store = checkpoints
    else:
        store = MemoryChunkStore()
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        executor, where = _executor(options, stack)
        driven = drive(plan, store, executor, progress=progress,
                       target_rse=options.target_rse if plan.program is not None else None,
                       max_paths=options.path_budget)
    plan, stopping = driven.plan, driven.checks
    execution = {**where, "workers": options.workers, "scheduler": options.scheduler,
                 "chunks": len(plan.chunks), "chunks_resumed": driven.chunks_resumed,
                 "paths_resumed": driven.paths_resumed}
    timings["simulate_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = assemble(plan, (store.load(first) for first, _ in plan.chunks), deal=job.deal,
                      threads=execution["threads"], el_table=job.el_table,
                      input_warnings=job.warnings)
    timings["assemble_s"] = time.perf_counter() - t0

    manifest: dict[str, Any] = {
        "format": RUN_FORMAT,
        "kind": config["kind"],
        "name": run_dir.name if run_dir is not None else None,
        "started": started,
        "inputs": inputs,
        "config": config,
        "config_sha256": fingerprint["config_sha256"],
        "seed": options.seed,
        "n_paths": plan.n_paths,
        "stopping_rule": ({"target_rse": options.target_rse, "max_paths": options.path_budget,
                           "checks": stopping} if options.target_rse is not None else None),
        "chunk_size": options.chunk_size,
        "execution": {**execution, "options": asdict(options), "resumed": resume},
        "versions": runstore.package_versions(),
        "timings": timings,
    }
    built = None
    if run_dir is not None:
        t0 = time.perf_counter()
        _write_results(run_dir, job, result)
        timings["write_s"] = time.perf_counter() - t0
        if job.structuring and job.deal is not None:
            t0 = time.perf_counter()
            _write_structuring(run_dir, job, plan)
            timings["structuring_s"] = time.perf_counter() - t0
        manifest["report"] = None
        manifest["finished"] = runstore.utc_now()
        if report and job.deal is not None:
            # the report states the run's assumptions and dates: it reads this manifest
            write_manifest(run_dir, manifest)
            t0 = time.perf_counter()
            built = build_report(run_dir)
            timings["report_s"] = time.perf_counter() - t0
            manifest["report"] = ({"html": built.html.name,
                                   "pdf": built.pdf.name if built.pdf is not None else None,
                                   "pdf_renderer": built.pdf_renderer}
                                  if built else None)
        timings["total_s"] = time.perf_counter() - t_start
        write_manifest(run_dir, manifest)
        runstore.append_ledger(run_dir)
        store.clear()
    else:
        timings["total_s"] = time.perf_counter() - t_start
        manifest["finished"] = runstore.utc_now()
    return RunOutcome(result, run_dir, manifest, built)


def _largest_plan(plan: RunPlan, options: RunOptions) -> RunPlan:
    """``plan`` extended as far as the stopping rule may take it (every chunk it could run).

    The rule adds ``max(n_paths // 2, 1)`` paths at a time up to the budget
    (:func:`simulation.run.drive`), and extending never changes earlier chunks, so the chunks
    of this plan include those of every plan the run can reach.
    """
    if options.target_rse is None:
        return plan
    step = max(plan.n_paths // 2, 1)
    while plan.n_paths < options.path_budget:
        plan = plan.extended(min(plan.n_paths + step, options.path_budget))
    return plan


def _write_structuring(run_dir: Path, job: RunJob, plan: RunPlan) -> None:
    """Deterministic structuring tables for the report: paydown and break-even CNL."""
    assert job.deal is not None
    tables = job.structuring_tables or structuring_tables(job.deal, job.tape, plan.inputs)
    write_structuring(run_dir, tables.paydown, tables.breakeven)


def _write_results(run_dir: Path, job: RunJob,
                   result: DealSimulationResult | PoolSimulationResult) -> None:
    tape = job.tape if isinstance(result, DealSimulationResult) else None  # pool runs keep none
    write_run(run_dir, result, tape)
