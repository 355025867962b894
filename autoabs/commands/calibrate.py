"""``autoabs calibrate``: estimate prepayment and default hazards from a performance panel."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from autoabs.commands._common import add_command, make_console
from autoabs.inputs import Log, existing_file
from portfolio._io import atomic_write
from portfolio.errors import InputError
from portfolio.panel import EventRules, LoanPanel, default_quarantine_path, read_panel
from simulation.calibration import (
    Calibration,
    RollRateEstimate,
    SegmentScheme,
    estimate_hazards,
    estimate_roll_rates,
)
from simulation.model import ROLL_STATES, ROLL_TARGETS, load_model


class _Dumper(yaml.SafeDumper):
    """Safe YAML without anchors: each segment's curve is written out in full."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _edges(text: str, option: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise InputError(option, f"expected a comma list of numbers, got {text!r}") from None
    if any(b <= a for a, b in zip(values, values[1:], strict=False)):
        raise InputError(option, f"band edges must increase, got {text!r}")
    return values


def add_panel_arguments(parser: argparse.ArgumentParser) -> None:
    """PANEL, its format and the event-definition options (shared with ``backtest``)."""
    parser.add_argument("panel", metavar="PANEL",
                        help="performance panel CSV: Ally wide format (BAL1.., PRC1.., PMT1..) "
                        "or the long format (loan_id, period, balance, principal_paid, ...)")
    parser.add_argument("--format", choices=("auto", "ally", "long"), default="auto",
                        help="panel format (default: detected from the columns)")
    parser.add_argument("--missed-share", type=float, default=0.5,
                        help="a month paying less than this share of the scheduled payment is "
                        "a missed payment (default 0.5)")
    parser.add_argument("--stall-months", type=int, default=6,
                        help="an open run of this many missed payments counts as a default "
                        "(default 6)")
    parser.add_argument("--on-error", choices=("raise", "reject"), default="raise",
                        help="loans with impossible histories (gaps, a balance again after "
                        "zero): raise refuses the file, reject quarantines them (default raise)")
    parser.add_argument("--quarantine", metavar="FILE.csv", default=None,
                        help="quarantine sidecar under --on-error reject (default "
                        "PANEL.quarantine.csv beside the panel)")


def read_panel_from_args(args: argparse.Namespace, console: Log) -> LoanPanel:
    """The panel of :func:`add_panel_arguments` options; prints what was quarantined."""
    path = existing_file(args.panel, "PANEL")
    panel = read_panel(path, args.format, on_error=args.on_error,
                       quarantine_path=args.quarantine)
    if args.on_error == "reject":
        sidecar = args.quarantine or default_quarantine_path(path)
        console.print(f"{len({q.loan_id for q in panel.quarantined}):,} loans quarantined "
                      f"(impossible histories); reasons in {sidecar}")
    if panel.score_counts:
        console.print("credit scores read as unknown: " + ", ".join(
            f"{n:,} {reason}" for reason, n in sorted(panel.score_counts.items())))
    return panel


def rules_from_args(args: argparse.Namespace) -> EventRules:
    """Event rules from :func:`add_panel_arguments` options."""
    return EventRules(missed_share=args.missed_share, stall_months=args.stall_months)


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    """Add ``autoabs calibrate``."""
    parser = add_command(
        subparsers, name,
        "Estimate monthly prepayment and default hazards by loan age and segment from a "
        "loan-level performance panel, and write a collateral model file.",
        "autoabs calibrate aart2171_2017.csv --through-month 24 --out calibrated.yaml",
    )
    add_panel_arguments(parser)
    parser.add_argument("--out", required=True, metavar="MODEL.yaml",
                        help="collateral model file to write")
    parser.add_argument("--through-month", type=int, default=None,
                        help="use panel months 1..N only (default: all)")
    parser.add_argument("--segments", default="fico,new_used,apr",
                        help="segment dimensions: comma list of fico, new_used, apr, or none")
    parser.add_argument("--fico-bands", default="620,680,740", help="FICO band edges")
    parser.add_argument("--apr-bands", default="0.05,0.10", help="APR band edges (decimals)")
    parser.add_argument("--prepay-age-band", type=int, default=3,
                        help="age band of the prepayment curve, months (default 3)")
    parser.add_argument("--default-age-band", type=int, default=6,
                        help="age band of the default curve, months (default 6)")
    parser.add_argument("--prepay-basis", choices=("balance", "count"), default="balance",
                        help="SMM curve on balance (payoffs + curtailments) or loan count")
    parser.add_argument("--level", type=float, default=0.95, help="confidence level")
    parser.add_argument("--credit-model", choices=("roll_rate", "competing_risk"),
                        default="roll_rate",
                        help="credit model the file selects: roll_rate (monthly delinquency "
                        "transition matrices, written with the hazards) or competing_risk "
                        "(default roll_rate)")
    parser.add_argument("--roll-age-band", type=int, default=6,
                        help="age band of the roll-rate matrices, months (default 6)")
    parser.add_argument("--table", metavar="FILE.csv",
                        help="hazard table CSV (default: MODEL.hazards.csv beside the model)")
    parser.set_defaults(func=run)


def _header(cal: Calibration, roll_rates: RollRateEstimate | None) -> str:
    c = cal.counts
    lines = [
        f"Calibrated by `autoabs calibrate` from {cal.source}, panel months "
        f"{cal.window[0]}-{cal.window[1]}.",
        f"Loans: {c['prepaid']} prepaid, {c['defaulted']} defaulted, {c['matured']} matured, "
        f"{c['censored']} censored. Prepayment SMM basis: {cal.prepay_basis}.",
        "Default: first missed payment of a run that rolls to charge-off (see "
        "docs/calibration.md); hazards by loan age (monthly probabilities), per segment = "
        "baseline x proportional ratio.",
        f"Charge-off lag (median months from first missed payment, inclusive): "
        f"{cal.chargeoff_months} (competing risks; roll rates charge off at 120+). Scorecard, "
        "macro and rate-incentive terms are off (not estimated); recovery assumptions are "
        "defaults (the panel has no recoveries).",
    ]
    if roll_rates is not None:
        lines.append(
            "credit_model roll_rate: dollar-weighted monthly transitions between current, 30, "
            f"60, 90, charge-off (120+) and prepaid by segment and age band (first ages "
            f"{list(roll_rates.age_bands)}"
            f"), smoothed with {roll_rates.prior_months:g} pseudo loan-months "
            "(docs/calibration.md).")
    return "".join(f"# {line}\n" for line in lines)


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def run(args: argparse.Namespace) -> int:
    """Read the panel, estimate, print the hazard table, write the model and the table."""
    console = make_console()
    panel = read_panel_from_args(args, console)
    scheme = SegmentScheme.parse(args.segments, _edges(args.fico_bands, "--fico-bands"),
                                 _edges(args.apr_bands, "--apr-bands"))
    cal = estimate_hazards(
        panel, through=args.through_month, scheme=scheme, rules=rules_from_args(args),
        prepay_age_band=args.prepay_age_band, default_age_band=args.default_age_band,
        prepay_basis=args.prepay_basis, level=args.level,
    )
    roll_rates = None
    if args.credit_model == "roll_rate":
        roll_rates = estimate_roll_rates(panel, through=args.through_month, scheme=scheme,
                                         rules=rules_from_args(args), age_band=args.roll_age_band)
    out = Path(args.out)
    text = _header(cal, roll_rates) + yaml.dump(cal.model_dict(roll_rates=roll_rates),
                                                Dumper=_Dumper, sort_keys=False, width=100,
                                                default_flow_style=None)
    atomic_write(out, lambda p: _write_text(p, text))
    load_model(out)  # the file the engine will read must validate
    table = cal.table()
    table_path = Path(args.table) if args.table else out.with_suffix(".hazards.csv")
    atomic_write(table_path, lambda p: table.to_csv(p, index=False, float_format="%.6g"))
    seg_path = table_path.with_name(table_path.name.replace(".csv", ".segments.csv"))
    atomic_write(seg_path, lambda p: cal.segments.to_csv(p, float_format="%.6g"))

    console.print(f"Panel {args.panel}: {panel.n_loans:,} loans, months 1-{cal.window[1]}; "
                  + ", ".join(f"{v:,} {k}" for k, v in cal.counts.items()))
    pct = int(round(args.level * 100))
    for cause, cols in (("prepayment", ("cpr", "abs")), ("default", ("cdr",))):
        part = table[table["cause"] == cause]
        console.print(f"\n{cause} hazard by loan age (monthly, {pct}% Wilson band)")
        head = f"{'ages':>7} {'months':>7} {'events':>6} {'hazard':>8} {'lower':>8} {'upper':>8}"
        console.print(head + "".join(f" {c.upper():>7}" for c in cols))
        for row in part.itertuples():
            line = (f"{row.age_lo:>3}-{row.age_hi:<3} {row.loan_months:>7} {row.events:>6} "
                    f"{row.hazard:>8.4%} {row.lower:>8.4%} {row.upper:>8.4%}")
            line += "".join(f" {getattr(row, c):>7.2%}" for c in cols)
            console.print(line)
    console.print(f"\nsegment multipliers (ratio to baseline, {pct}% exact Poisson band)")
    seg = cal.segments
    for label in seg.index:
        r = seg.loc[label]
        console.print(
            f"  {label:<36} loans {r['loans']:>5.0f}  prepay {r['prepay_ratio']:.2f} "
            f"[{r['prepay_lower']:.2f}, {r['prepay_upper']:.2f}]  default "
            f"{r['default_ratio']:.2f} [{r['default_lower']:.2f}, {r['default_upper']:.2f}]"
            f" ({r['default_events']:.0f} events)")
    written = [str(table_path), str(seg_path)]
    if roll_rates is not None:
        roll_path = table_path.with_name(table_path.name.replace(".csv", ".roll_rates.csv"))
        roll_table = roll_rates.table()
        atomic_write(roll_path, lambda p: roll_table.to_csv(p, index=False, float_format="%.6g"))
        written.append(str(roll_path))
        pooled = roll_rates.pooled.mean(axis=0)
        console.print("\nroll rates (all segments, mean over age bands; dollar-weighted)")
        console.print(f"{'from':>8} " + " ".join(f"{t:>9}" for t in ROLL_TARGETS))
        for name, row in zip(ROLL_STATES, pooled, strict=True):
            console.print(f"{name:>8} " + " ".join(f"{v:>9.4%}" for v in row))
    console.print(f"\nmodel written to {out} (credit model {args.credit_model}, charge-off lag "
                  f"{4 if roll_rates is not None else cal.chargeoff_months} months); tables "
                  + ", ".join(written))
    return 0
