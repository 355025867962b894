"""``autoabs stress``: a deal under several scenarios with common random numbers."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from autoabs.commands._common import (
    add_as_of_argument,
    add_command,
    add_run_options,
    add_scale_options,
    make_console,
    print_report_files,
    progress,
)
from autoabs.commands.export import add_xlsx_option
from autoabs.inputs import existing_file
from portfolio._format import number_text, percent_text
from scenarios import DEFAULT_SCENARIO, STRESS_SCENARIOS
from scenarios.stress import DEFAULT_CNL_MULTIPLES, DEFAULT_GRID_ABS
from simulation.run.directory import (
    SCENARIOS,
    SENSITIVITY_GRID_CSV,
    STRESS_CSV,
    STRESS_JSON,
    write_sensitivity_grid,
    write_stress_table,
)

DEFAULT_SCENARIOS = ",".join(STRESS_SCENARIOS)


@dataclass(frozen=True)
class GridAxes:
    """Axes of the deterministic sensitivity grid (CNL multiples x ABS speeds)."""

    cnl_multiples: tuple[float, ...] = DEFAULT_CNL_MULTIPLES
    abs_speeds: tuple[float, ...] = DEFAULT_GRID_ABS


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add ``autoabs stress``."""
    parser = add_command(
        subparsers, name,
        "Stress a deal under policy-rate and macro scenarios (common random numbers across "
        "scenarios) and a deterministic CNL-multiple x ABS-speed grid of class losses.",
        "autoabs stress examples/prime_deal.yaml --scenarios baseline,severely_adverse,"
        "parallel_up_200 --paths 1000 --out runs/prime-stress",
    )
    parser.add_argument("deal", metavar="DEAL.yaml", help="deal file")
    parser.add_argument("--tape", metavar="TAPE", help="loan tape (overrides the deal's pool)")
    add_as_of_argument(parser)
    parser.add_argument("--model", metavar="MODEL.yaml",
                        help="assumptions file (overrides the deal's)")
    parser.add_argument("--scenarios", default=DEFAULT_SCENARIOS,
                        help="library names or scenario files, comma-separated "
                        "(default %(default)s)")
    parser.add_argument("--stochastic", action="store_true",
                        help="stochastic paths around each scenario (Hull-White rates, macro "
                        "shocks, correlated credit factor) instead of its deterministic path")
    parser.add_argument("--no-grid", action="store_true",
                        help="skip the deterministic sensitivity grid (a stress from a "
                        "status, --as-of, has none: the grid is the deal at closing)")
    parser.add_argument("--no-report", action="store_true",
                        help="skip the reports (report.html / report.pdf comparing the "
                        "scenarios, and each scenario run's own)")
    parser.add_argument("--no-structuring", action="store_true",
                        help="skip the prepayment table and break-even CNL multiples the reports "
                        "show (computed once for all scenarios; manifest timings: "
                        "structuring_s)")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output directory: scenarios/<name>/ runs (each with its report), "
                        "stress.csv, the report comparing them")
    add_xlsx_option(parser)
    add_run_options(parser)
    add_scale_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run every scenario into the run store, then the comparison table, grid and report."""
    console = make_console()
    existing_file(args.deal, "DEAL")
    names = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    write_stress_directory(console, args.deal, names, Path(args.out), tape=args.tape,
                           model=args.model, paths=args.paths, seed=args.seed,
                           chunk_size=args.chunk_size, threads=args.threads,
                           workers=args.workers, scheduler=args.scheduler,
                           stochastic=args.stochastic, resume=args.resume,
                           overwrite=args.overwrite, as_of=args.as_of,
                           grid=not args.no_grid and args.as_of is None,
                           report=not args.no_report, structuring=not args.no_structuring)
    if args.xlsx:
        from reports.excel import write_run_workbook

        console.print(f"Workbook: {write_run_workbook(Path(args.out), args.xlsx)}")
    return 0


def write_stress_directory(console: Console, deal: str | Path, names: list[str], out: Path, *,
                           grid: bool | GridAxes, report: bool, structuring: bool = True,
                           **run_options: Any) -> pd.DataFrame:
    """Run the scenarios into ``out/scenarios/``, write the stress table, grid and reports.

    ``run_options`` go to :func:`autoabs.api.stress` (tape, model, paths, seed, ...).
    ``grid``: the sensitivity grid on its default axes (``True``), on given ones (a
    :class:`GridAxes`) or none. With ``report``, each scenario run has its own report
    (``out/scenarios/<name>/report.html``, built from its run directory) and
    ``out/report.html`` compares the scenarios side by side. Prints the comparison and where
    everything is; returns the table.
    """
    from autoabs import api
    from scenarios.stress import sensitivity_grid

    base = names[0] if names else "none"
    console.print(f"Scenarios: {', '.join(names)}; deltas against "
                  f"{DEFAULT_SCENARIO if DEFAULT_SCENARIO in names else base}", highlight=False)
    with progress(console, run_options["paths"] * max(len(names), 1)) as advance:
        result = api.stress(deal, names, out=out / SCENARIOS, report=report,
                            structuring=structuring, progress=advance, **run_options)
    table = result.table().reset_index()
    write_stress_table(out, table)
    if grid:  # on the stress runs' pool and prepared collateral: nothing loaded twice
        inputs, prepared = result.inputs, result.prepared
        assert inputs is not None and inputs.model is not None and prepared is not None
        axes = grid if isinstance(grid, GridAxes) else GridAxes()
        cells = sensitivity_grid(inputs.deal, inputs.tape, inputs.model, inputs=prepared[0],
                                 cnl_multiples=axes.cnl_multiples, abs_speeds=axes.abs_speeds)
        write_sensitivity_grid(out, cells)
    console.print(_table(table))
    if grid:
        short = cells.loc[~cells["reached"]].drop_duplicates(["cnl_multiple", "abs_speed"])
        if len(short):
            listed = ", ".join(f"{r.cnl_multiple:g}x at {r.abs_speed:.1%} ABS "
                               f"({r.pool_cnl:.1%} of {r.target_cnl:.1%})"
                               for r in short.itertuples())
            console.print(f"Sensitivity grid: {len(short)} cell(s) cannot reach their CNL "
                          f"multiple even at a 100% monthly default rate; run at the highest "
                          f"default rate and marked reached=false: {listed}", highlight=False)
    if report:
        from reports import build_report

        print_report_files(console, "Report (all scenarios side by side)", build_report(out))
        for name, run in result.runs.items():
            own = run.manifest.get("report")
            if run.run_dir is not None and own:
                pdf = f" and {own['pdf']}" if own.get("pdf") else " (no PDF)"
                console.print(f"Report ({name}): {run.run_dir / own['html']}{pdf}",
                              highlight=False, markup=False, soft_wrap=True)
    console.print(f"Results in {out}/ ({STRESS_CSV}, {STRESS_JSON}, {SCENARIOS}/<name>/"
                  + ("" if not grid else f", {SENSITIVITY_GRID_CSV}") + ")", highlight=False)
    return table


def _table(table: pd.DataFrame) -> Table:
    out = Table(title="Class results by scenario (same seed in every scenario)")
    for col in ("Scenario", "Class", "EL", "EL se", "PD", "WAL (y)", "Yield", "Trigger breach",
                "Pool CNL"):
        out.add_column(col, justify="left" if col in ("Scenario", "Class") else "right")
    for row in table.to_dict(orient="records"):
        out.add_row(row["scenario"], row["class"], percent_text(row["el"], 4),
                    percent_text(row["el_se"], 4), percent_text(row["pd"], 3),
                    number_text(row["wal"], ".2f"), percent_text(row["yield"], 3),
                    percent_text(row["trigger_breach"], 1), percent_text(row["pool_cnl_mean"], 2))
    return out
