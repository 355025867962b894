"""Inputs of a run, shared by the CLI and the Python API: deal, pool, assumptions, scenario.

A deal file may name its pool (a tape or a synthetic spec) and its assumptions file; explicit
arguments override them. The run directory a run writes is :mod:`simulation.run.directory`'s.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autoabs.inputs import existing_file, load_tape_file
from portfolio.errors import InputError, Problem
from portfolio.tape import LoanTape
from simulation.deal import Deal, load_deal
from simulation.model import CollateralModel, load_model
from simulation.ratings import ELTable, load_el_table
from simulation.status import DealStatus, load_status


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
    warnings: tuple[str, ...] = ()
    status: DealStatus | None = None
    status_source: str = "<status>"


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
    as_of: str | Path | None = None,
    deterministic: bool = False,
) -> RunInputs:
    """Load the deal and the pool and assumptions it names (or the overrides given).

    With ``require_model=False`` (jobs that need no collateral model, e.g. the prepayment
    table) a deal without an assumptions file is accepted and ``model`` is ``None``. With
    ``as_of`` (a status file, :mod:`simulation.status`) the run starts from that reporting
    date: ``tape`` must then be the current loans, and the status is checked against the deal.
    ``deterministic`` (jobs that run the deterministic projector) adds
    :func:`deterministic_warnings` to the input warnings.
    """
    deal_path = Path(deal_path)
    deal = load_deal(deal_path)
    files: dict[str, Path] = {"deal": deal_path}
    status = None
    if as_of is not None:
        existing_file(str(as_of), "--as-of")
        if tape is None:
            raise InputError("--tape", "a projection from a status file (--as-of) needs the "
                             "current loan tape: give --tape TAPE (CSV, Parquet or EX-102)")
        status = load_status(as_of, deal)
        files["status"] = Path(as_of)
    if isinstance(tape, LoanTape):
        loan_tape, tape_source = tape, "<LoanTape>"
    else:
        tape_path = Path(tape) if tape is not None else (deal.pool.tape if deal.pool else None)
        if tape_path is not None:
            loan_tape = load_tape_file(str(tape_path), None, on_error, log or _Quiet(),
                                       columns=columns)
            tape_source = str(tape_path)
            files["tape"] = tape_path
        elif deal.pool is not None and deal.pool.synthetic is not None:
            from portfolio.synthetic import synthetic_pool

            loan_tape = synthetic_pool(deal.pool.synthetic, deal.pool.loans, deal.pool.seed,
                                       cutoff_date=deal.pool_cutoff_date.isoformat())
            tape_source = (f"synthetic {deal.pool.synthetic} pool, {deal.pool.loans} loans, "
                           f"seed {deal.pool.seed}")
        else:
            raise InputError(str(deal_path), Problem(
                None, "pool", "the deal names no pool: give --tape TAPE or add "
                "'pool: {tape: FILE}' or 'pool: {synthetic: prime}' to the deal file"))
    if deal.cutoff_date is not None:  # a stated cut-off: later originations are errors
        check_tape_dates(loan_tape, deal.cutoff_date, tape_source)
    warned = input_warnings(deal, loan_tape, status) + (
        deterministic_warnings(loan_tape) if deterministic else ())
    for line in warned:
        if log is not None:
            log.print(f"[yellow]Warning:[/yellow] {line}")
    model_path = Path(model) if model is not None else deal.assumptions
    status_source = str(as_of)
    if model_path is None and not require_model:
        return RunInputs(deal, deal_path, loan_tape, tape_source, None, None, None, files,
                         warned, status, status_source)
    if model_path is None:
        raise InputError(str(deal_path), Problem(
            None, "assumptions", "the deal names no assumptions file: give --model MODEL.yaml"))
    files["assumptions"] = model_path
    table = None
    if el_table is not None:
        files["el_table"] = Path(el_table)
        table = load_el_table(el_table)
    return RunInputs(deal, deal_path, loan_tape, tape_source, load_model(model_path), model_path,
                     table, files, warned, status, status_source)


_MAX_DATE_PROBLEMS = 10
FIXED_FEE_WARN_BP = 10.0
"""Fixed-dollar fees above this many bp a year of the initial pool are flagged."""
POOL_BALANCE_WARN = 0.005
"""Tape balance further than this share from the deal's ``initial_pool_balance`` is flagged."""
REP_LINE_MAX_LINES = 500
REP_LINE_MIN_AVERAGE_USD = 250_000.0
"""A tape of at most 500 lines averaging over $250,000 looks like representative lines
(US auto loans average about $20,000-40,000)."""


def input_warnings(deal: Deal, tape: LoanTape,
                   status: DealStatus | None = None) -> tuple[str, ...]:
    """Inputs that are valid but probably not what the user meant, as readable lines.

    - loans originated after the cut-off implied by the deal's dates when the deal states no
      ``cutoff_date`` (with one, :func:`check_tape_dates` rejects them);
    - fixed-dollar fees above :data:`FIXED_FEE_WARN_BP` a year of the pool (a monthly fee
      typed as an annual one, or in the wrong unit);
    - a tape balance more than :data:`POOL_BALANCE_WARN` away from ``initial_pool_balance``
      (notes given in USD were sized on another pool), or, projecting from a ``status``,
      from its ``pool_balance`` (a tape of another date);
    - representative lines: a ``loan_count`` column (the Monte Carlo splits each line into
      its loans) or few lines with large balances and no ``loan_count`` (run as if each line
      were one borrower).
    """
    out: list[str] = []
    pool = tape.total_balance
    if deal.cutoff_date is None:
        orig = tape.origination_date
        late = int(np.sum(~np.isnat(orig) & (orig > np.datetime64(deal.pool_cutoff_date, "D"))))
        if late:
            out.append(f"{late:,} loans are originated after {deal.pool_cutoff_date}, the "
                       "cut-off the deal's dates imply (it gives no cutoff_date): set "
                       "cutoff_date, which makes this an error, or use the tape of that date")
    fixed_usd_year = 12.0 * sum(f.usd_per_month or 0.0 for f in deal.fees)
    if pool > 0.0 and fixed_usd_year / pool * 1e4 > FIXED_FEE_WARN_BP:
        out.append(f"fixed-dollar fees are {fixed_usd_year:,.0f} USD a year, "
                   f"{fixed_usd_year / pool * 1e4:.1f} bp of the {pool:,.0f} USD pool (more "
                   f"than {FIXED_FEE_WARN_BP:g} bp): check fees.usd_per_month")
    if status is not None:
        gap = pool / status.pool_balance - 1.0 if status.pool_balance > 0.0 else np.inf
        if abs(gap) > POOL_BALANCE_WARN:
            out.append(f"the tape's balance {pool:,.2f} USD differs from the status file's "
                       f"pool_balance {status.pool_balance:,.2f} USD by {gap:+.2%} (more than "
                       f"{POOL_BALANCE_WARN:.1%}): is it the tape of period {status.period}?")
    elif deal.initial_pool_balance is not None:
        gap = pool / deal.initial_pool_balance - 1.0
        if abs(gap) > POOL_BALANCE_WARN:
            out.append(f"the tape's balance {pool:,.2f} USD differs from the deal's "
                       f"initial_pool_balance {deal.initial_pool_balance:,.2f} USD by "
                       f"{gap:+.2%} (more than {POOL_BALANCE_WARN:.1%})")
    if tape.is_rep_lines:
        out.append(f"the tape is {len(tape):,} representative lines standing for "
                   f"{int(tape.loan_count.sum()):,} loans (loan_count); the Monte Carlo splits "
                   "every line into its loans")
    elif (len(tape) <= REP_LINE_MAX_LINES
          and tape.balance.mean() > REP_LINE_MIN_AVERAGE_USD):
        out.append(f"the tape has {len(tape):,} loans averaging {tape.balance.mean():,.0f} USD: "
                   "if these are representative lines, add a loan_count column, or the Monte "
                   "Carlo treats each line as one borrower")
    return tuple(out)


def deterministic_warnings(tape: LoanTape) -> tuple[str, ...]:
    """What a deterministic (vector) projection of ``tape`` leaves out, as readable lines.

    :func:`~simulation.deterministic.project_deterministic` starts every loan current: loans
    already 30+ days past due on the tape are projected as if they were not (the Monte Carlo
    engine starts them in their delinquency state).
    """
    late = tape.days_past_due >= 30
    if not late.any():
        return ()
    return (f"{int(late.sum()):,} loans ({float(tape.balance[late].sum()):,.2f} USD) are 30+ "
            "days past due on the tape; the deterministic projection starts every loan "
            "current (autoabs run starts them in their delinquency state)",)


def check_tape_dates(tape: LoanTape, cutoff: dt.date, source: str) -> None:
    """Reject a tape with loans originated after the deal's cut-off date.

    The tape describes the pool at the cut-off; a later origination date is a tape of another
    date or a deal with the wrong ``cutoff_date``. Unknown dates (NaT) pass.

    Raises
    ------
    InputError
        Naming ``source``, the first rows (1-based) and loan ids, and the count.
    """
    orig = tape.origination_date
    late = np.flatnonzero(~np.isnat(orig) & (orig > np.datetime64(cutoff, "D")))
    if late.size == 0:
        return
    problems = [Problem(int(k) + 1, "origination_date",
                        f"loan {tape.loan_id[k]} originated {orig[k]}, after the deal's cut-off "
                        f"date {cutoff}") for k in late[:_MAX_DATE_PROBLEMS]]
    if late.size > _MAX_DATE_PROBLEMS:
        problems.append(Problem(None, "origination_date",
                                f"{late.size} loans in all are originated after the cut-off "
                                f"date {cutoff}; set the deal's cutoff_date or use the tape of "
                                "that date"))
    raise InputError(source, problems)


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

