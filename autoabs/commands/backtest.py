"""``autoabs backtest``: project a panel's pool from month K and compare with the actual."""

from __future__ import annotations

import argparse
from pathlib import Path

from autoabs.commands._common import add_command, make_console
from autoabs.commands.calibrate import add_panel_arguments, read_panel_from_args, rules_from_args
from autoabs.inputs import existing_file
from portfolio._io import atomic_write, write_json
from simulation.backtest import CHECK_MONTHS, BacktestResult, backtest
from simulation.model import load_model


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add ``autoabs backtest``."""
    parser = add_command(
        subparsers, name,
        "Project a performance panel's pool from month K with a collateral model and compare "
        "projected with actual pool factor, cumulative prepayments and defaults and 30/60/90+ "
        "delinquent balances by month, with the errors at months 12, 24, 36 and the end.",
        "autoabs backtest aart2171_2017.csv --model calibrated.yaml --from-month 24 "
        "--out out/backtest",
    )
    add_panel_arguments(parser)
    parser.add_argument("--model", required=True, metavar="MODEL.yaml",
                        help="collateral model file (e.g. from autoabs calibrate)")
    parser.add_argument("--from-month", type=int, required=True,
                        help="K: project from the loans active at the end of panel month K "
                        "(0: from the cut-off)")
    parser.add_argument("--to-month", type=int, default=None,
                        help="last month compared (default: the panel's last)")
    parser.add_argument("--out", default="backtest", metavar="DIR",
                        help="output directory for backtest.csv, backtest.png, metrics.json")
    parser.add_argument("--paths", type=int, default=0,
                        help="Monte Carlo paths for 5%%/95%% factor bands (default 0: the "
                        "expected projection only)")
    parser.add_argument("--seed", type=int, default=1, help="run seed (default 1)")
    parser.set_defaults(func=run)


def plot_backtest(result: BacktestResult, path: Path, title: str) -> Path:
    """Write a PNG: pool factor (projected vs actual) and cumulative prepayments/defaults."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = result.table
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax1.plot(t.index, t["actual_factor"] * 100, "o-", ms=3, color="black", label="actual")
    ax1.plot(t.index, t["projected_factor"] * 100, "-", color="tab:blue", label="projected")
    if "projected_factor_p5" in t:
        ax1.fill_between(t.index, t["projected_factor_p5"] * 100,
                         t["projected_factor_p95"] * 100, color="tab:blue", alpha=0.2,
                         label="projected 5%-95%")
    ax1.set_xlabel("panel month")
    ax1.set_ylabel("pool factor, % of cut-off balance")
    ax1.set_title("pool factor")
    ax1.legend()
    for col, colour in (("prepaid", "tab:green"), ("defaulted", "tab:red")):
        ax2.plot(t.index, t[f"actual_{col}"], "o-", ms=3, color=colour, label=f"actual {col}")
        ax2.plot(t.index, t[f"projected_{col}"], "--", color=colour, label=f"projected {col}")
    ax2.set_xlabel("panel month")
    ax2.set_ylabel("cumulative, % of cut-off balance")
    ax2.set_title(f"cumulative since month {result.from_month}")
    ax2.legend()
    fig.suptitle(title)
    fig.tight_layout()
    atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=110))
    plt.close(fig)
    return path


def run(args: argparse.Namespace) -> int:
    """Read panel and model, project, write table/chart/metrics and print errors by month."""
    console = make_console()
    model = load_model(existing_file(args.model, "--model"))
    panel = read_panel_from_args(args, console)
    result = backtest(panel, model, args.from_month, to_month=args.to_month,
                      rules=rules_from_args(args), n_paths=args.paths, seed=args.seed)
    out = Path(args.out)
    atomic_write(out / "backtest.csv",
                 lambda p: result.table.to_csv(p, float_format="%.6g"))
    plot_backtest(result, out / "backtest.png",
                  f"{Path(args.panel).name}: projected from month {args.from_month}")
    metrics = result.metrics()
    write_json(out / "metrics.json", {"from_month": result.from_month, "n_loans": result.n_loans,
                                      "start_balance": result.start_balance,
                                      "cutoff_balance": result.cutoff_balance, **metrics})
    console.print(f"Projected {result.n_loans:,} loans active at month {args.from_month} "
                  f"(balance {result.start_balance:,.0f}; cut-off pool "
                  f"{result.cutoff_balance:,.0f}) with {args.model}")
    console.print(f"{'month':>5} {'actual':>8} {'projected':>9} {'error pp':>8} "
                  f"{'prepaid act/proj %':>19} {'defaulted act/proj %':>21} "
                  f"{'30+ dq act/proj %':>19}")
    t = result.table
    dq_actual = result.delinquent_30_plus("actual").to_numpy()
    dq_projected = result.delinquent_30_plus("projected").to_numpy()
    for k, (month, row) in enumerate(t.iterrows()):
        console.print(
            f"{month:>5} {row['actual_factor']:>8.4f} {row['projected_factor']:>9.4f} "
            f"{row['factor_error_pp']:>+8.3f} {row['actual_prepaid']:>9.3f}/"
            f"{row['projected_prepaid']:<9.3f} {row['actual_defaulted']:>10.3f}/"
            f"{row['projected_defaulted']:<10.3f} {dq_actual[k]:>9.3f}/"
            f"{dq_projected[k]:<9.3f}")
    console.print(
        f"pool factor error: mean abs {metrics['factor_mae_pp']:.3f} pp, rmse "
        f"{metrics['factor_rmse_pp']:.3f} pp, max {metrics['factor_max_abs_pp']:.3f} pp "
        f"(mean abs {metrics['factor_mae_pp_of_start']:.3f} pp of the month-"
        f"{args.from_month} balance); final cumulative prepaid "
        f"{metrics['prepaid_final_pp']:+.3f} pp, defaulted {metrics['defaulted_final_pp']:+.3f} pp")
    for label in [f"{m}m" for m in CHECK_MONTHS] + ["end"]:
        if f"factor_error_pp_{label}" in metrics:
            console.print(
                f"error at {label:>4}: pool factor {metrics[f'factor_error_pp_{label}']:+.3f} pp, "
                f"cumulative defaults {metrics[f'defaulted_error_pp_{label}']:+.3f} pp, 30+ "
                f"delinquent {metrics[f'delinquent_30p_error_pp_{label}']:+.3f} pp")
    console.print(f"results in {out}/ (backtest.csv, backtest.png, metrics.json)")
    return 0
