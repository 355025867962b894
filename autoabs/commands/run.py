"""``autoabs run``: simulate a deal on its pool and write the run directory."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from rich.table import Table

from autoabs.commands._common import (
    add_as_of_argument,
    add_command,
    add_convergence_options,
    add_run_options,
    add_scale_options,
    make_console,
    print_report_files,
    progress,
    run_options_from_args,
)
from autoabs.commands.export import add_xlsx_option
from autoabs.inputs import existing_file
from autoabs.pipeline import resolve_inputs, resolve_scenario
from portfolio._format import percent_text
from scenarios import DEFAULT_SCENARIO
from simulation.run import DealSimulationResult


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add ``autoabs run``."""
    parser = add_command(
        subparsers, name,
        "Simulate a deal: loan-level Monte Carlo of its pool through the waterfall, with "
        "tranche EL, PD, LGD, WAL, yield, DIRR, hard CE and implied ratings.",
        "autoabs run examples/prime_deal.yaml --paths 2000 --seed 1 --out runs/prime",
    )
    parser.add_argument("deal", metavar="DEAL.yaml", help="deal file")
    parser.add_argument("--tape", metavar="TAPE",
                        help="loan tape (overrides the pool named in the deal file)")
    add_as_of_argument(parser)
    parser.add_argument("--model", metavar="MODEL.yaml",
                        help="assumptions file (overrides the one named in the deal file)")
    parser.add_argument("--el-table", metavar="FILE.csv",
                        help="idealized expected-loss table for implied ratings "
                        "(default: the built-in, approximate table)")
    parser.add_argument("--out", required=True, metavar="DIR", help="run directory to write")
    parser.add_argument("--on-error", choices=("raise", "reject"), default="raise",
                        help="bad tape rows: stop (raise) or load the good rows (reject)")
    parser.add_argument("--scenario", metavar="NAME|FILE.yaml", default=DEFAULT_SCENARIO,
                        help="macro scenario: a library name (baseline, severely_adverse, ...) "
                        "or a scenario file (default %(default)s, as in stress and demo)")
    parser.add_argument("--stochastic", action="store_true",
                        help="stochastic paths around the scenario instead of its own path")
    parser.add_argument("--no-report", action="store_true",
                        help="skip report.html / report.pdf")
    parser.add_argument("--no-structuring", action="store_true",
                        help="skip the prepayment table (paydown.csv) and break-even CNL "
                        "multiples (breakeven.csv) the report shows; they are deterministic "
                        "projections of the pool, independent of --paths (manifest timings: "
                        "structuring_s)")
    add_xlsx_option(parser)
    add_run_options(parser)
    add_scale_options(parser)
    add_convergence_options(parser)
    parser.set_defaults(func=run)


def class_table(result: DealSimulationResult) -> Table:
    """The per-class results as a rich table."""
    table = Table(title=f"{result.deal.name}: {result.pool.provenance['n_paths']:,} paths")
    for col in ("Class", "Balance", "Hard CE", "Group CE", "EL", "EL se", "PD", "LGD", "WAL (y)",
                "Yield", "DIRR (bp)", "Rating*"):
        table.add_column(col, justify="left" if col == "Class" else "right")
    for row in result.class_summary().to_dict(orient="records"):
        table.add_row(
            row["name"], f"{row['balance']:,.0f}", f"{row['hard_ce']:.2%}",
            f"{row['class_group']} {row['group_hard_ce']:.2%}",
            percent_text(row["el"], 4), percent_text(row["el_se"], 4),
            percent_text(row["pd"], 3),
            "-" if np.isnan(row["lgd"]) else f"{row['lgd']:.1%}",
            "-" if np.isnan(row["wal"]) else f"{row['wal']:.2f}",
            "-" if np.isnan(row["yield"]) else f"{row['yield']:.3%}",
            "-" if np.isnan(row["dirr"]) else f"{row['dirr']:.2f}", row["implied_rating"],
        )
    as_of = result.provenance.get("as_of")
    when = (f"after period {as_of['period']} ({as_of['reporting_date']})" if as_of
            else "at closing")
    table.caption = (f"* implied from (EL, WAL) with the {result.el_table.source}; "
                     f"balance and hard CE = junior classes + OC + reserve {when}; group CE "
                     "counts only later class groups (all Class A notes share one figure)")
    return table


def run(args: argparse.Namespace) -> int:
    """Resolve inputs, simulate (checkpointed), write the run directory, print the table."""
    from autoabs.execute import RunJob, execute

    console = make_console()
    options = run_options_from_args(args)
    options.check()
    existing_file(args.deal, "DEAL")
    inputs = resolve_inputs(args.deal, tape=args.tape, model=args.model,
                            el_table=args.el_table, on_error=args.on_error, log=console,
                            as_of=args.as_of)
    assert inputs.model is not None  # resolve_inputs requires it by default
    scenario, scenario_file = resolve_scenario(args.scenario)
    files = dict(inputs.files)
    if scenario_file is not None:
        files["scenario"] = scenario_file
    console.print(f"Pool: {inputs.tape_source} ({len(inputs.tape):,} loans, "
                  f"${inputs.tape.total_balance:,.0f}); assumptions: {inputs.model_path}"
                  + f"; scenario: {scenario.name}"
                  + (" (the default of run, stress and demo)"
                     if args.scenario == DEFAULT_SCENARIO else ""))
    job = RunJob(tape=inputs.tape, tape_source=inputs.tape_source, model=inputs.model,
                 files=files, deal=inputs.deal, scenario=scenario,
                 scenario_source=args.scenario, el_table=inputs.el_table,
                 structuring=not args.no_structuring and inputs.status is None,
                 warnings=inputs.warnings, status=inputs.status)
    with progress(console, options.path_budget) as advance:
        outcome = execute(job, options, out=args.out, resume=args.resume,
                          overwrite=args.overwrite, report=not args.no_report, progress=advance)
    result = outcome.result
    assert isinstance(result, DealSimulationResult)
    console.print(class_table(result))
    stats = result.pool.cnl_stats()
    se = percent_text(stats["cnl_mean_se"], 3)
    console.print(f"Pool CNL: mean {stats['cnl_mean']:.3%} (se {se}), "
                  f"sd {stats['cnl_sd']:.3%}, p99 {stats['cnl_p99']:.3%}")
    execution = outcome.manifest["execution"]
    if execution["chunks_resumed"]:
        console.print(f"Resumed: {execution['chunks_resumed']} of {execution['chunks']} chunks "
                      "were already done")
    console.print(f"Results in {outcome.run_dir}/ (manifest.json, summary.json, "
                  "class_paths.parquet, ...); ledger entry appended to "
                  f"{Path(args.out).resolve().parent / 'ledger.jsonl'}")
    if outcome.report is not None:
        print_report_files(console, "Report", outcome.report)
    if args.xlsx:
        from reports.excel import write_run_workbook

        console.print(f"Workbook: {write_run_workbook(args.out, args.xlsx)}")
    return 0
