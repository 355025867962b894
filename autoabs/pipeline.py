"""Inputs and outputs of a run, shared by the CLI and the Python API: resolve, then write.

A deal file may name its pool (a tape or a synthetic spec) and its assumptions file; explicit
arguments override them. Every output is written atomically into one run directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from portfolio._io import write_json, write_parquet
from portfolio.errors import InputError, Problem
from portfolio.tape import LoanTape
from simulation.deal import Deal, load_deal
from simulation.model import CollateralModel, load_model
from simulation.ratings import ELTable, load_el_table
from simulation.simulate import DealSimulationResult


@dataclass(frozen=True)
class RunInputs:
    """Everything a deal run reads, resolved to objects, with the files they came from."""

    deal: Deal
    deal_path: Path
    tape: LoanTape
    tape_source: str
    model: CollateralModel | None
    model_path: Path | None
    el_table: ELTable | None
    files: dict[str, Path]


def resolve_inputs(
    deal_path: str | Path,
    *,
    tape: str | Path | LoanTape | None = None,
    model: str | Path | None = None,
    el_table: str | Path | None = None,
    columns: dict[str, str] | None = None,
    on_error: str = "raise",
    log: Any = None,
    require_model: bool = True,
) -> RunInputs:
    """Load the deal and the pool and assumptions it names (or the overrides given).

    With ``require_model=False`` (jobs that need no collateral model, e.g. the prepayment
    table) a deal without an assumptions file is accepted and ``model`` is ``None``.
    """
    deal_path = Path(deal_path)
    deal = load_deal(deal_path)
    files: dict[str, Path] = {"deal": deal_path}
    if isinstance(tape, LoanTape):
        loan_tape, tape_source = tape, "<LoanTape>"
    else:
        tape_path = Path(tape) if tape is not None else (deal.pool.tape if deal.pool else None)
        if tape_path is not None:
            from autoabs.commands._common import load

            loan_tape = load(str(tape_path), None, on_error, log or _Quiet(),  # type: ignore[arg-type]
                             columns=columns)
            tape_source = str(tape_path)
            files["tape"] = tape_path
        elif deal.pool is not None and deal.pool.synthetic is not None:
            from portfolio.synthetic import synthetic_pool

            loan_tape = synthetic_pool(deal.pool.synthetic, deal.pool.loans, deal.pool.seed)
            tape_source = (f"synthetic {deal.pool.synthetic} pool, {deal.pool.loans} loans, "
                           f"seed {deal.pool.seed}")
        else:
            raise InputError(str(deal_path), Problem(
                None, "pool", "the deal names no pool: give --tape TAPE or add "
                "'pool: {tape: FILE}' or 'pool: {synthetic: prime}' to the deal file"))
    model_path = Path(model) if model is not None else deal.assumptions
    if model_path is None and not require_model:
        return RunInputs(deal, deal_path, loan_tape, tape_source, None, None, None, files)
    if model_path is None:
        raise InputError(str(deal_path), Problem(
            None, "assumptions", "the deal names no assumptions file: give --model MODEL.yaml"))
    files["assumptions"] = model_path
    table = None
    if el_table is not None:
        files["el_table"] = Path(el_table)
        table = load_el_table(el_table)
    return RunInputs(deal, deal_path, loan_tape, tape_source, load_model(model_path), model_path,
                     table, files)


def resolve_scenario(name_or_path: str | Path | None) -> tuple[Any, Path | None]:
    """Load a library scenario or a scenario file; return it and its file (None for names)."""
    if name_or_path is None:
        return None, None
    from scenarios import load_scenario
    from scenarios.model import library_dir

    scenario = load_scenario(name_or_path)
    path = Path(name_or_path)
    if not path.is_file():  # a library name: record the library file
        path = library_dir() / f"{name_or_path}.yaml"
    return scenario, path


class _Quiet:
    def print(self, *args: Any, **kwargs: Any) -> None:
        """Discard progress messages."""


RUN_FILES = {
    "summary.json": "classes (EL, se, PD, LGD, WAL, yield, DIRR, hard CE, rating), pool, events",
    "class_paths.parquet": "per path and class: loss, interest shortfall, WAL, yield, DIRR, PV",
    "pool_paths.parquet": "per path: CNL, defaults, recoveries, prepayments, WAL, factor, weight",
    "pool_flows.parquet": "mean PoolFlows by period with standard errors",
    "pool_factor_quantiles.parquet": "pool factor P1..P99 by period",
    "class_balance_quantiles.parquet": "class balance factor P5/P50/P95 by period",
    "triggers.parquet": "probability of each trigger breached in / by each period; reserve draws",
    "class_flows.parquet": "per class and period: weighted mean interest due and paid, "
                           "principal paid, ending balance and coupon",
    "tape.parquet": "the pool's loan tape (canonical columns)",
    "manifest.json": "inputs (sha256), canonical config, seed, versions, threads, timings",
}
"""Files of a deal run directory and what they hold (the report reads only these)."""


def write_deal_run(out: Path, result: DealSimulationResult, tape: LoanTape,
                   class_flows: pd.DataFrame | None = None) -> None:
    """Write the result files of :data:`RUN_FILES` into ``out``, each atomically.

    ``class_flows`` (from :func:`simulation.chunks.assemble`) is written when given; the
    manifest is written by :func:`execute`.
    """
    out.mkdir(parents=True, exist_ok=True)
    if class_flows is not None:
        write_parquet(out / "class_flows.parquet", class_flows)
    write_parquet(out / "class_paths.parquet", result.paths())
    write_parquet(out / "pool_paths.parquet", result.pool.paths)
    write_parquet(out / "pool_flows.parquet", result.pool.mean_flows)
    write_parquet(out / "pool_factor_quantiles.parquet", result.pool.pool_factor_quantiles)
    balances = pd.concat(result.class_balance_quantiles, names=["class", "period"]).reset_index()
    write_parquet(out / "class_balance_quantiles.parquet", balances)
    write_parquet(out / "triggers.parquet", result.triggers)
    write_parquet(out / "tape.parquet", tape.to_frame())
    write_json(out / "summary.json", result.summary())
