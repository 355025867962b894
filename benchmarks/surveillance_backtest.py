"""Backtest of the lifetime-CNL methods on AART 2017-3 (docs/surveillance.md).

As of months 12, 18 and 24 of the Ally AART 2017-3 used-vehicle panel, project the CNL at the
panel's last month (43) with each method of :mod:`simulation.lifetime_loss`, using only the
months to date, and compare with the CNL realised at month 43. Prints the projections, their
ranges and the relative errors; exits 1 unless the better method at month 24 is within
``--tolerance`` (25%) of the realised CNL, 2 when the panel is missing.

Usage: python benchmarks/surveillance_backtest.py [PANEL] [--months 12,18,24] [--paths 1000]
                                                  [--seed 1] [--tolerance 0.25]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from portfolio.panel import read_panel  # noqa: E402
from simulation.lifetime_loss import (  # noqa: E402
    monte_carlo_projection,
    realised_loss,
    timing_extrapolation,
)
from simulation.model import load_model  # noqa: E402

DEFAULT_PANEL = ROOT.parent / "shared" / "data" / "performance" / "aart2171_2017.csv"
TIMING = ROOT / "examples" / "prime_assumptions.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("panel", nargs="?", default=str(DEFAULT_PANEL))
    parser.add_argument("--months", default="12,18,24")
    parser.add_argument("--paths", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tolerance", type=float, default=0.25)
    args = parser.parse_args(argv)
    path = Path(args.panel)
    if not path.is_file():
        print(f"panel not found: {path}", file=sys.stderr)
        return 2
    panel = read_panel(path)
    horizon = panel.n_months
    months = [int(m) for m in args.months.split(",")]
    curve = load_model(TIMING).default.loss_timing
    assert curve is not None
    realised = realised_loss(panel, horizon).cnl
    print(f"{path.name}: realised CNL at month {horizon} = {realised * 100:.3f}% of the cut-off "
          f"pool; projections to month {horizon} from the months to date only")
    print(f"{'as of':>5} {'to date':>8} | {'timing':>7} {'range':>15} {'error':>7} | "
          f"{'monte carlo':>11} {'p5-p95':>15} {'error':>7}")
    errors: dict[int, dict[str, float]] = {}
    for k in months:
        timing = timing_extrapolation(panel, k, curve, horizon_month=horizon)
        mc = monte_carlo_projection(panel, k, horizon_month=horizon, n_paths=args.paths,
                                    seed=args.seed)
        errors[k] = {e.method: e.cnl / realised - 1.0 for e in (timing, mc)}
        print(f"{k:>5} {timing.cnl_to_date * 100:>7.3f}% | {timing.cnl * 100:>6.3f}% "
              f"{timing.low * 100:>6.3f}-{timing.high * 100:<6.3f}% "
              f"{errors[k]['timing'] * 100:>+6.1f}% | {mc.cnl * 100:>10.3f}% "
              f"{mc.low * 100:>6.3f}-{mc.high * 100:<6.3f}% "
              f"{errors[k]['monte_carlo'] * 100:>+6.1f}%")
    last = max(months)
    best_method, best = min(errors[last].items(), key=lambda item: abs(item[1]))
    ok = abs(best) <= args.tolerance
    print(f"better method at month {last}: {best_method}, error {best * 100:+.1f}% "
          f"({'within' if ok else 'outside'} +/-{args.tolerance * 100:.0f}%)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
