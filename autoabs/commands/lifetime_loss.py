"""``autoabs lifetime-loss``: lifetime (or to-horizon) CNL from a panel's performance to date."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from importlib import resources
from pathlib import Path

from rich.table import Table

from autoabs.commands._common import add_command, make_console
from autoabs.commands.calibrate import add_panel_arguments, read_panel_from_args, rules_from_args
from autoabs.inputs import existing_file
from portfolio._io import write_json
from portfolio.errors import InputError, Problem
from simulation.lifetime_loss import (
    DEFAULT_CURVE_STRETCH,
    DEFAULT_FACTOR_CV,
    LifetimeLossEstimate,
    monte_carlo_projection,
    timing_extrapolation,
)
from simulation.model import LossTiming, load_model


def packaged_prime_assumptions() -> str:
    """The prime example assumptions shipped in the package (``autoabs/data/``)."""
    return str(resources.files("autoabs").joinpath("data", "prime_assumptions.yaml"))


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add ``autoabs lifetime-loss``."""
    parser = add_command(
        subparsers, name,
        "Project a pool's CNL (lifetime, or to --to-month) from its performance to a "
        "reporting month: loss-timing-curve extrapolation and/or a Monte Carlo projection of "
        "the loans on the books, each with a range.",
        "autoabs lifetime-loss aart2171_2017.csv --as-of-month 24 --method both",
    )
    add_panel_arguments(parser)
    parser.add_argument("--as-of-month", type=int, required=True, metavar="K",
                        help="reporting month: performance through month K is known")
    parser.add_argument("--to-month", type=int, default=None, metavar="H",
                        help="project the CNL at month H (default: the pool's whole life)")
    parser.add_argument("--method", choices=("timing", "monte_carlo", "both"), default="both",
                        help="extrapolation method (default both)")
    parser.add_argument("--timing", metavar="MODEL.yaml", default=None,
                        help="assumptions file whose default.loss_timing (cumulative share of "
                        "lifetime loss by loan age) the timing method uses (default: the "
                        "prime example assumptions, examples/prime_assumptions.yaml)")
    parser.add_argument("--stretch", type=float, default=DEFAULT_CURVE_STRETCH,
                        help="timing range: loan-age axis compressed/stretched by this share "
                        "(default %(default)s)")
    parser.add_argument("--paths", type=int, default=1000, help="Monte Carlo paths (default "
                        "%(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="run seed (default 1)")
    parser.add_argument("--factor-cv", type=float, default=DEFAULT_FACTOR_CV,
                        help="coefficient of variation of the systematic default multiplier "
                        "(default %(default)s)")
    parser.add_argument("--out", metavar="FILE.json", default=None,
                        help="write the estimates as JSON")
    parser.set_defaults(func=run)


def timing_curve(path: str) -> LossTiming:
    """The ``default.loss_timing`` curve of an assumptions file."""
    model = load_model(existing_file(path, "--timing"))
    if model.default.loss_timing is None:
        raise InputError(path, Problem(None, "default.loss_timing",
                                       "the timing method needs a loss-timing curve"))
    return model.default.loss_timing


def run(args: argparse.Namespace) -> int:
    """Estimate, print and optionally write the projected CNL."""
    console = make_console()
    if not 0.0 <= args.stretch < 1.0:
        raise InputError("--stretch", f"must lie in [0, 1), got {args.stretch}")
    if not 1 <= args.paths <= 1_000_000:
        raise InputError("--paths", f"must lie in 1..1,000,000, got {args.paths}")
    curve = None
    if args.method in ("timing", "both"):
        curve = timing_curve(args.timing or packaged_prime_assumptions())
    panel = read_panel_from_args(args, console)
    rules = rules_from_args(args)
    estimates: list[LifetimeLossEstimate] = []
    if curve is not None:
        estimates.append(timing_extrapolation(panel, args.as_of_month, curve,
                                              horizon_month=args.to_month,
                                              stretch=args.stretch, rules=rules))
    if args.method in ("monte_carlo", "both"):
        estimates.append(monte_carlo_projection(panel, args.as_of_month,
                                                horizon_month=args.to_month,
                                                n_paths=args.paths, seed=args.seed,
                                                factor_cv=args.factor_cv, rules=rules))
    horizon = f"month {args.to_month}" if args.to_month else "lifetime"
    view = Table(title=f"{Path(args.panel).name}: projected CNL ({horizon}) as of month "
                       f"{args.as_of_month}, % of the cut-off pool")
    for col in ("method", "CNL to date", "projected", "low", "high"):
        view.add_column(col, justify="right")
    for e in estimates:
        view.add_row(e.method, f"{e.cnl_to_date * 100:.3f}", f"{e.cnl * 100:.3f}",
                     f"{e.low * 100:.3f}", f"{e.high * 100:.3f}")
    console.print(view)
    if args.out:
        path = write_json(args.out, [asdict(e) for e in estimates])
        console.print(f"Written {path}")
    return 0
