"""``autoabs size``: size the capital structure of a deal to target ratings."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml
from rich.table import Table

from autoabs.commands._common import add_command, add_run_options, make_console, progress
from autoabs.inputs import existing_file
from autoabs.pipeline import resolve_inputs
from portfolio._io import atomic_write
from simulation.collateral import prepare_collateral
from simulation.factor import calibrate
from simulation.rating_stress import BUILTIN_TABLES, rating_stress_table
from simulation.sizing import SizingResult, parse_targets, size_deal, size_deal_to_stress


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add ``autoabs size``."""
    parser = add_command(
        subparsers, name,
        "Size a deal's classes (smallest subordination, and OC when needed) so that each "
        "class's simulated EL meets the idealized EL of its target rating at its WAL; "
        "prints the capital structure and writes a deal file.",
        "autoabs size examples/prime_deal.yaml --targets A=Aaa,B=Aa2,C=A2,D=Baa2 "
        "--out sized.yaml",
    )
    parser.add_argument("deal", metavar="DEAL.yaml", help="deal file to resize")
    parser.add_argument("--targets", required=True, metavar="CLASS=RATING,...",
                        help="target rating per class; a key may be a prefix (A=Aaa covers "
                        "A-1, A-2a, ...)")
    parser.add_argument("--out", required=True, metavar="SIZED.yaml",
                        help="deal file to write with the sized structure")
    parser.add_argument("--tape", metavar="TAPE", help="loan tape (overrides the deal's pool)")
    parser.add_argument("--model", metavar="MODEL.yaml",
                        help="assumptions file (overrides the deal's)")
    parser.add_argument("--el-table", metavar="FILE.csv",
                        help="idealized EL table (default: built-in, approximate)")
    parser.add_argument("--margin", type=float, default=0.8,
                        help="size to margin x target EL (default 0.8)")
    parser.add_argument("--se-multiplier", type=float, default=2.0,
                        help="test EL + k x se against the target (default k = 2)")
    parser.add_argument("--reserve", type=float, default=None,
                        help="initial reserve, decimal of the pool (default: the deal's)")
    parser.add_argument("--no-size-oc", action="store_true",
                        help="keep the deal's OC even if the lowest class needs more")
    parser.add_argument("--rating-stress", action="store_true",
                        help="also size to the rating stress runs (every class paid in full at "
                        "its rating's CNL multiple) and print that structure beside")
    parser.add_argument("--stress-table", metavar="STRESS.yaml|NAME",
                        help="rating stress table for --rating-stress: a file, or a built-in "
                        f"one by name ({', '.join(BUILTIN_TABLES)}); default: the built-in "
                        "one whose expected CNL is nearest the pool's")
    add_run_options(parser)
    parser.set_defaults(func=run, paths=4000)


def structure_table(result: SizingResult) -> Table:
    """The sized capital structure as a rich table."""
    table = Table(title=f"{result.deal.name}: sized capital structure "
                        f"(OC {result.oc:.2%}, reserve {result.reserve:.2%})")
    for col in ("Class", "Target", "Size", "Hard CE", "EL", "EL se", "Target EL", "WAL (y)",
                "Rating*", "Meets"):
        table.add_column(col, justify="left" if col == "Class" else "right")
    for row in result.table.to_dict(orient="records"):
        table.add_row(row["class"], row["target_rating"], f"{row['balance']:.2%}",
                      f"{row['hard_ce']:.2%}", f"{row['el']:.3e}", f"{row['el_se']:.1e}",
                      f"{row['target_el']:.3e}", f"{row['wal']:.2f}", row["implied_rating"],
                      "yes" if row["meets"] else "NO")
    p = result.provenance
    table.caption = (f"* implied from (EL, WAL) with the {p['el_table']}; test: EL + "
                     f"{p['se_multiplier']:g} se <= {p['el_margin']:g} x target EL; "
                     f"{p['n_paths']:,} paths, seed {p['seed']}, common random numbers")
    return table


def stress_table(result: SizingResult) -> Table:
    """The structure sized to the rating stress runs as a rich table."""
    table = Table(title=f"{result.deal.name}: sized to the rating stress runs "
                        f"(OC {result.oc:.2%}, reserve {result.reserve:.2%})")
    for col in ("Class", "Target", "Multiple", "Size", "Hard CE", "Worst shortfall", "Meets"):
        table.add_column(col, justify="left" if col == "Class" else "right")
    for row in result.table.to_dict(orient="records"):
        table.add_row(row["class"], row["target_rating"], f"{row['multiple']:.2f}x",
                      f"{row['balance']:.2%}", f"{row['hard_ce']:.2%}",
                      f"{row['worst_shortfall']:.2e}", "yes" if row["meets"] else "NO")
    p = result.provenance
    table.caption = (f"{p['table']}; {p['runs_per_rating']} runs per rating (loss timing x "
                     "prepayment speed); meets = paid in full in every run")
    return table


def senior_coverage(result: SizingResult, expected_cnl: float) -> float:
    """Hard CE of the most junior class of the top rating level over the expected CNL."""
    top = result.provenance["levels"][0]
    return float(result.table.loc[top, "hard_ce"].min() / expected_cnl)


def run(args: argparse.Namespace) -> int:
    """Resolve inputs, size the structure, print it and write the sized deal file."""
    console = make_console()
    existing_file(args.deal, "DEAL")
    inputs = resolve_inputs(args.deal, tape=args.tape, model=args.model,
                            el_table=args.el_table, log=console)
    targets = parse_targets(args.targets, inputs.deal.class_names)
    # The stress table is read before the sizing run, so a bad one costs nothing.
    table = rating_stress_table(args.stress_table) if args.stress_table else None
    assert inputs.model is not None  # resolve_inputs requires it by default
    # prepared once: the EL sizing and the rating stress sizing run on the same collateral
    prepared = calibrate(prepare_collateral(inputs.tape, inputs.model))
    with progress(console, args.paths) as advance:
        result = size_deal(prepared, inputs.deal, inputs.model, targets,
                           n_paths=args.paths, seed=args.seed, el_margin=args.margin,
                           se_multiplier=args.se_multiplier, size_oc=not args.no_size_oc,
                           reserve=args.reserve, chunk_size=args.chunk_size,
                           threads=args.threads, el_table=inputs.el_table, progress=advance)
    console.print(structure_table(result))
    spent = result.provenance["timings"]
    console.print(f"Collateral simulated once ({spent['collateral_s']:.1f} s); "
                  f"{result.provenance['waterfall_evaluations']} structures tried on its flows, "
                  f"{1e3 * spent['per_structure_s']:.0f} ms each (waterfall only)",
                  highlight=False)
    out = Path(args.out)
    header = (f"# Sized by `autoabs size` from {args.deal} (targets {args.targets}; "
              f"{args.paths} paths, seed {args.seed}).\n")
    text = header + yaml.safe_dump(result.deal_mapping(), sort_keys=False)

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    atomic_write(out, write)
    if result.infeasible:
        console.print(f"[yellow]Could not meet the targets of {', '.join(result.infeasible)} "
                      "at any size allowed.[/yellow]")
    console.print(f"Sized deal written to {out}")
    if args.rating_stress or args.stress_table:
        stressed = size_deal_to_stress(inputs.tape, inputs.deal, inputs.model, targets, table,
                                       size_oc=not args.no_size_oc, reserve=args.reserve,
                                       inputs=prepared[0])
        console.print(stress_table(stressed))
        cnl = inputs.model.default.expected_cnl
        if cnl is not None:
            console.print(
                f"{' / '.join(stressed.provenance['levels'][0])} coverage (hard CE / expected "
                f"CNL {cnl:.2%}): {senior_coverage(result, cnl):.2f}x sized to EL, "
                f"{senior_coverage(stressed, cnl):.2f}x sized to the rating stress runs")
    return 0
