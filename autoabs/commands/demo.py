"""``autoabs demo``: the embedded default run — prime pool, prime deal, two scenarios, report.

The example deal and assumptions ship inside the package (``autoabs/data/``, copies of
``examples/prime_deal.yaml`` and ``examples/prime_assumptions.yaml``, kept equal by a test),
so the demo works from a checkout (``make demo``) and from an installed wheel alike.
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

from autoabs.commands._common import add_command, make_console
from scenarios import DEFAULT_SCENARIO
from simulation.run.directory import SCENARIOS

DEMO_SCENARIOS = (DEFAULT_SCENARIO, "severely_adverse")
DEMO_PATHS = 2000
DEMO_SEED = 1
DEMO_OUT = "autoabs-demo"
DEMO_GRID_MULTIPLES = (1.0, 2.0, 4.0)
"""CNL multiples of the demo's sensitivity grid (``autoabs stress`` runs 1x to 5x)."""
DEMO_GRID_ABS = (0.013, 0.020)
"""ABS speeds of the demo's sensitivity grid: the prospectus pricing speed and a fast one."""


def demo_deal() -> Path:
    """The packaged prime example deal (its assumptions file sits beside it)."""
    return Path(str(resources.files("autoabs").joinpath("data", "prime_deal.yaml")))


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add the ``demo`` subcommand."""
    parser = add_command(
        subparsers,
        name,
        "The embedded default: a synthetic prime pool (20,000 loans) under the prime example "
        "deal (CarMax-shaped), simulated under the baseline and severely adverse scenarios "
        "with common random numbers into the run store, a small CNL-multiple x ABS-speed "
        "sensitivity grid, a report per scenario and one committee report that compares them "
        "side by side. Prints where the reports are.",
        "autoabs demo                 (writes ./autoabs-demo/; autoabs demo --paths 500 "
        "--out /tmp/demo)",
    )
    parser.add_argument("--paths", type=int, default=DEMO_PATHS,
                        help=f"Monte Carlo paths per scenario (default {DEMO_PATHS})")
    parser.add_argument("--seed", type=int, default=DEMO_SEED,
                        help=f"run seed (default {DEMO_SEED})")
    parser.add_argument("--threads", type=int, default=None,
                        help="numba threads (default: all cores)")
    parser.add_argument("--out", default=DEMO_OUT, metavar="DIR",
                        help=f"demo directory: report.html, stress.csv and scenarios/<name>/ runs "
                        f"(default ./{DEMO_OUT}); reruns replace the demo runs, the ledger "
                        "keeps every entry")
    parser.add_argument("--no-report", action="store_true", help="skip the report")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run both scenarios, write one report comparing them, print where things are."""
    from autoabs.commands.stress import GridAxes, write_stress_directory
    from autoabs.execute import RunOptions

    console = make_console()
    RunOptions(n_paths=args.paths, seed=args.seed, threads=args.threads).check()
    root = Path(args.out)
    console.print(f"[bold]autoabs demo[/bold]: the prime example deal; {args.paths:,} paths per "
                  f"scenario, seed {args.seed}; scenarios {', '.join(DEMO_SCENARIOS)} "
                  f"({DEFAULT_SCENARIO} is the default scenario of run, stress and demo)")
    grid = GridAxes(DEMO_GRID_MULTIPLES, DEMO_GRID_ABS)  # a small one: each cell is a search
    write_stress_directory(console, demo_deal(), list(DEMO_SCENARIOS), root, grid=grid,
                           report=not args.no_report, structuring=True, paths=args.paths,
                           seed=args.seed, threads=args.threads, overwrite=True)
    console.print(f"Run store: {root / SCENARIOS}/ (ledger.jsonl; check it with: autoabs verify "
                  f"{root / SCENARIOS})", highlight=False)
    return 0
