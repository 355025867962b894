"""``autoabs surveil``: the surveillance report of a deal at a reporting date."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from autoabs.commands._common import (
    add_command,
    add_run_options,
    make_console,
    print_report_files,
    progress,
    run_options_from_args,
)
from autoabs.commands.lifetime_loss import packaged_prime_assumptions, timing_curve
from autoabs.inputs import existing_file
from autoabs.pipeline import RunInputs, resolve_inputs, resolve_scenario
from portfolio.errors import InputError, Problem
from portfolio.panel import EventRules, read_panel
from reports.surveillance import PERFORMANCE_COLUMNS, SurveillanceData, write_surveillance_report
from scenarios import DEFAULT_SCENARIO
from simulation.lifetime_loss import (
    LifetimeLossEstimate,
    monte_carlo_projection,
    timing_extrapolation,
)
from simulation.performance import panel_activity, performance_indicators
from simulation.run import DealSimulationResult
from simulation.status import load_status
from simulation.waterfall import compile_deal

PROJECTION_DIR = "projection"
"""Sub-directory of ``--out`` holding the projection's run directory."""
CLOSING_DIR = "closing"
"""Sub-directory of ``--out`` holding the run from closing, when the projection is another."""


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add ``autoabs surveil``."""
    parser = add_command(
        subparsers, name,
        "Surveillance report of a deal at a reporting date (HTML + PDF): performance to date "
        "against the closing expectation, trigger headroom and projected breach, coverage of "
        "each class, lifetime CNL and the projection.",
        "autoabs surveil examples/prorata_trigger_deal.yaml --status status.yaml "
        "--performance performance.csv --out surveil/",
    )
    parser.add_argument("deal", metavar="DEAL.yaml", help="deal file")
    parser.add_argument("--status", required=True, metavar="STATUS.yaml",
                        help="deal status at the reporting date (autoabs status, "
                        "docs/surveillance.md)")
    parser.add_argument("--tape", metavar="TAPE",
                        help="the loans at the reporting date (CSV, Parquet or that month's "
                        "EX-102): the projection then starts from the status on them; "
                        "without it, the deal's run from closing stands in for it")
    parser.add_argument("--model", metavar="MODEL.yaml",
                        help="assumptions file (overrides the one named in the deal file)")
    parser.add_argument("--el-table", metavar="FILE.csv",
                        help="idealized expected-loss table for implied ratings")
    history = parser.add_mutually_exclusive_group()
    history.add_argument("--panel", metavar="PANEL.csv",
                         help="loan-level performance panel (autoabs performance formats): "
                         "the indicators to date and both lifetime-CNL methods")
    history.add_argument("--performance", metavar="PERF.csv",
                         help="monthly indicators to date (the CSV of autoabs performance)")
    parser.add_argument("--scenario", metavar="NAME|FILE.yaml", default=DEFAULT_SCENARIO,
                        help="macro scenario of the projection (default %(default)s)")
    parser.add_argument("--renderer", choices=("auto", "chromium", "weasyprint", "none"),
                        default=None, help="PDF renderer (default $AUTOABS_PDF_RENDERER, else "
                        "auto)")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output directory: surveillance.html / .pdf, and the "
                        f"projection's run directory {PROJECTION_DIR}/")
    add_run_options(parser)
    parser.set_defaults(func=run)


def read_performance(path: str) -> pd.DataFrame:
    """The monthly indicators CSV of ``autoabs performance`` (``month`` 1, 2, ... in order).

    Raises
    ------
    InputError
        Naming the file and the missing column, or the row of a bad month or value.
    """
    source = str(existing_file(path, "--performance"))
    try:
        frame = pd.read_csv(source)
    except (ValueError, OSError) as exc:
        raise InputError(source, f"not a readable CSV: {exc}") from None
    missing = [c for c in ("month", *PERFORMANCE_COLUMNS) if c not in frame.columns]
    if missing:
        raise InputError(source, Problem(None, ", ".join(missing), "missing column(s); "
                                         "expected the CSV of autoabs performance"))
    problems = []
    for column in ("month", *PERFORMANCE_COLUMNS):
        values = pd.to_numeric(frame[column], errors="coerce")
        for row in frame.index[values.isna()]:
            problems.append(Problem(int(row) + 2, column, f"not a number: {frame[column][row]!r}"))
    if problems:
        raise InputError(source, problems[:20])
    months = frame["month"].astype(int).to_numpy()
    if list(months) != list(range(1, len(months) + 1)):
        bad = next(i for i, m in enumerate(months) if m != i + 1)
        raise InputError(source, Problem(bad + 2, "month", f"expected month {bad + 1} (months "
                                         f"1, 2, ... in order), got {months[bad]}"))
    return frame.set_index("month")


def run(args: argparse.Namespace) -> int:
    """Load the inputs, run the projection, compute and write the surveillance report."""
    from autoabs.execute import RunJob, execute

    console = make_console()
    options = run_options_from_args(args)
    options.check()
    existing_file(args.deal, "DEAL")
    status_file = existing_file(args.status, "--status")
    inputs = resolve_inputs(args.deal, model=args.model, el_table=args.el_table, log=console)
    current = (resolve_inputs(args.deal, tape=args.tape, model=args.model,
                              el_table=args.el_table, log=console, as_of=status_file)
               if args.tape else None)
    status = (current.status if current is not None and current.status is not None
              else load_status(status_file, inputs.deal))
    performance: pd.DataFrame | None = None
    lifetime: tuple[LifetimeLossEstimate, ...] = ()
    if args.performance:
        performance = read_performance(args.performance)
    elif args.panel:
        panel = read_panel(existing_file(args.panel, "--panel"), "auto")
        performance = performance_indicators(panel_activity(panel, EventRules()))
        curve = timing_curve(packaged_prime_assumptions())
        lifetime = (timing_extrapolation(panel, status.period, curve),
                    monte_carlo_projection(panel, status.period, n_paths=args.paths,
                                           seed=args.seed))
    if performance is not None and status.period > len(performance):
        raise InputError(args.performance or args.panel, Problem(None, "month", (
            f"the history ends at month {len(performance)}, before the status period "
            f"{status.period}")))
    scenario, scenario_file = resolve_scenario(args.scenario)
    out = Path(args.out)

    def simulate(run_inputs: RunInputs, where: str) -> tuple[DealSimulationResult, Path]:
        files = dict(run_inputs.files)
        files["status"] = Path(args.status)
        if scenario_file is not None:
            files["scenario"] = scenario_file
        assert run_inputs.model is not None
        job = RunJob(tape=run_inputs.tape, tape_source=run_inputs.tape_source,
                     model=run_inputs.model, files=files, deal=run_inputs.deal,
                     scenario=scenario, scenario_source=args.scenario,
                     el_table=run_inputs.el_table, structuring=False,
                     warnings=run_inputs.warnings, status=run_inputs.status)
        with progress(console, options.path_budget) as advance:
            outcome = execute(job, options, out=out / where, report=False, progress=advance)
        assert isinstance(outcome.result, DealSimulationResult) and outcome.run_dir is not None
        return outcome.result, outcome.run_dir

    closing, run_dir = simulate(inputs, PROJECTION_DIR if current is None else CLOSING_DIR)
    projection, elapsed = closing, 0
    label = "the deal's run from closing (paths past the reporting date)"
    if current is not None:
        projection, run_dir = simulate(current, PROJECTION_DIR)
        elapsed = status.period
        label = f"the projection from {status.label} on {current.tape_source}"
    program = compile_deal(inputs.deal, inputs.tape, source=str(args.deal))
    n_periods = max(len(closing.triggers), status.period)
    data = SurveillanceData(
        deal=inputs.deal, status=status, thresholds=program.thresholds(n_periods),
        closing=closing, projection=projection, periods_elapsed=elapsed,
        projection_label=label, performance=performance, lifetime=lifetime,
        run_dir=str(run_dir))
    files_written = write_surveillance_report(data, out, renderer=args.renderer)
    print_report_files(console, "Surveillance report", files_written)
    return 0
