"""``autoabs rating-stress``: agency-style deterministic rating stress runs per class."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from rich.table import Table

from autoabs.commands._common import add_command, make_console
from autoabs.inputs import existing_file
from autoabs.pipeline import resolve_inputs
from portfolio._io import atomic_write
from simulation.rating_stress import (
    BUILTIN_TABLES,
    breakeven_table,
    rating_stress_runs,
    rating_stress_table,
    stress_base,
    table_for_pool,
)
from simulation.sizing import parse_targets


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add ``autoabs rating-stress``."""
    parser = add_command(
        subparsers, name,
        "Rating stress runs as S&P presales describe them: the pool loses its rating's "
        "multiple of the base-case CNL, front- or back-loaded, at slow and fast prepayments; "
        "a class passes when it is paid in full in every run. Prints pass/fail per class and "
        "the break-even CNL under each loss-timing curve.",
        "autoabs rating-stress examples/cps_shaped_deal.yaml "
        "--targets A=Aaa,B=Aa2,C=A2,D=Baa2,E=Ba2",
    )
    parser.add_argument("deal", metavar="DEAL.yaml", help="deal file")
    parser.add_argument("--targets", required=True, metavar="CLASS=RATING,...",
                        help="rating to test per class (Moody's or letter categories)")
    parser.add_argument("--table", metavar="STRESS.yaml|NAME",
                        help="rating stress table file, or a built-in one by name ("
                        f"{', '.join(BUILTIN_TABLES)}); default: the built-in one whose "
                        "expected CNL is nearest the pool's (S&P on CarMax 2019-2 for prime, "
                        "CPS 2019-A for subprime)")
    parser.add_argument("--tape", metavar="TAPE", help="loan tape (overrides the deal's pool)")
    parser.add_argument("--model", metavar="MODEL.yaml",
                        help="assumptions file (overrides the deal's)")
    parser.add_argument("--out", metavar="DIR",
                        help="write rating_stress_runs.csv and breakeven.csv here")
    parser.set_defaults(func=run)


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    def write(tmp: Path) -> None:
        frame.to_csv(tmp, index=False, float_format="%.6g")

    atomic_write(path, write)


def run(args: argparse.Namespace) -> int:
    """Run the stress table on the deal, print pass/fail and break-even CNL per class."""
    console = make_console()
    existing_file(args.deal, "DEAL")
    chosen = rating_stress_table(args.table) if args.table else None
    inputs = resolve_inputs(args.deal, tape=args.tape, model=args.model)
    assert inputs.model is not None  # resolve_inputs requires it by default
    targets = parse_targets(args.targets, inputs.deal.class_names)
    base = stress_base(inputs.tape, inputs.model)
    table = chosen or table_for_pool(base.cnl)
    runs = rating_stress_runs(inputs.deal, inputs.tape, inputs.model, targets, table, base=base)
    breakeven = breakeven_table(inputs.deal, inputs.tape, inputs.model, table, base=base)
    if args.out:
        out = Path(args.out)
        for name, frame in (("rating_stress_runs.csv", runs), ("breakeven.csv", breakeven)):
            _write_csv(out / name, frame)
    base_cnl = float(runs["base_cnl"].iloc[0])
    timings = list(dict.fromkeys(breakeven["timing"]))
    result = Table(title=f"{inputs.deal.name}: rating stress runs ({table.source}); "
                         f"base-case CNL {base_cnl:.2%}")
    for col in ("Class", "Rating", "Multiple", "Stressed CNL", "Runs passed", "Result",
                *(f"Break-even CNL {t}" for t in timings)):
        result.add_column(col, justify="left" if col == "Class" else "right")
    for name in inputs.deal.class_names:
        mine = runs[runs["class"] == name]
        be = breakeven[breakeven["class"] == name].groupby("timing")["breakeven_cnl"].min()
        result.add_row(
            name, str(mine["rating"].iloc[0]), f"{mine['multiple'].iloc[0]:.2f}x",
            f"{mine['target_cnl'].iloc[0]:.2%}", f"{int(mine['passes'].sum())}/{len(mine)}",
            "pass" if mine["passes"].all() else "FAIL",
            *(f"{be[t]:.2%}" for t in timings))
    speeds = ", ".join(f"{s:.1%}" for s in sorted(set(runs["abs_speed"])))
    result.caption = (f"runs: loss timing {', '.join(timings)} x ABS {speeds}; pass = paid in "
                      "full (principal and interest) in every run; break-even CNL = the "
                      "largest CNL paid in full, lowest over the prepayment speeds")
    console.print(result)
    if args.out:
        console.print(f"tables in {args.out}/ (rating_stress_runs.csv, breakeven.csv)")
    return 0
