"""Real-size pools from tape to report: wall time and peak RSS of every stage (issue 17).

Each case (loans x paths) runs in its own process, stage by stage, on a synthetic prime tape
written as CSV beforehand and the prime example deal (``examples/prime_deal.yaml``, baseline
scenario), after a warm-up that compiles or loads every kernel:

- ``load``: :func:`portfolio.load_tape` of the CSV (read, validate, convert);
- ``prepare``: :func:`simulation.collateral.prepare_collateral` (the kernel arrays);
- ``calibrate``: :func:`simulation.factor.calibrate` (expected-CNL scale and factor);
- ``strat``: the ``autoabs strat`` tables (summary, strats, concentration) rendered to a
  discarded console;
- ``collateral``: the collateral stage alone, a pool-only run of the same paths and chunks,
  with its loan-months per second and the ratio to ``../shared/bench/refkernel.py``
  (``measure()``, run in the same process before and after; the faster of the two);
- ``deal_run``: the deal run (collateral, waterfall, metrics, run directory; structuring off);
- ``report``: the committee report of that run directory (HTML and PDF).

Peak RSS is per stage: the process's peak is reset before each stage (Linux ``clear_refs``).
``total`` = load + prepare + calibrate + deal_run + report (the pipeline of ``autoabs run``);
``strat`` and ``collateral`` are measured beside it. Shares in the table are of ``total``.

Targets (exit 1 when one is missed):

- 500,000 loans: load + prepare <= 6 s; load + strat <= 4 s (what ``autoabs strat`` does
  after interpreter start-up, which ``benchmarks/startup.py`` measures); peak RSS of every stage
  of the 1,000-path case <= 1.5 GB;
- 100,000 loans x 10,000 paths: total <= 1.2 x collateral; collateral >= 0.85 x the
  reference kernel's loan-months per second;
- linearity: from one size to the next, a stage's time may grow at most 2.3x per doubling of
  the loans (or paths), i.e. ``t2 / t1 <= 2.3 ** log2(n2 / n1)``; stages under
  :data:`LINEARITY_FLOOR_S` at the larger size are not judged (fixed costs and timer noise).

``--quick`` runs 10k/20k/40k loans at 20 paths and 20k loans at 20 and 80 paths (a minute
or two): it checks linearity from the smallest to the largest case of each series (10k -> 40k
loans, 20 -> 80 paths) with a relaxed factor (:data:`QUICK_LINEARITY_FACTOR`) and
prints the other figures without judging them (they are targets at full size only).
Machines here are shared: ``--repeats N`` runs every case N times and reports medians.

Usage: ``python benchmarks/scaling.py [--quick] [--repeats 1] [--case 500000x1000 ...]``
"""

from __future__ import annotations

import argparse
import io
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
DEAL = ROOT / "examples" / "prime_deal.yaml"
SEED = 1
CHUNK_SIZE = 256

FULL_CASES: tuple[tuple[int, int], ...] = (
    (10_000, 1_000), (100_000, 1_000), (500_000, 1_000), (100_000, 10_000))
QUICK_CASES: tuple[tuple[int, int], ...] = (
    (10_000, 20), (20_000, 20), (40_000, 20), (20_000, 80))
LINEARITY_FACTOR = 2.3
"""Most a stage's time may grow when the loans (or paths) double."""
QUICK_LINEARITY_FACTOR = 3.0
"""The factor under ``--quick``: small cases carry relatively more fixed cost and noise."""
LINEARITY_FLOOR_S = 0.25
"""Stages shorter than this at the larger size are not judged for linearity."""
LOAD_PREPARE_MAX_S = 6.0
STRAT_MAX_S = 4.0
PEAK_RSS_MAX_MB = 1.5 * 1024
TOTAL_OVER_COLLATERAL_MAX = 1.2
RATIO_TO_REFKERNEL_MIN = 0.85
REFKERNEL_SIZE = (20_000, 500)
"""(loans, paths) of the reference kernel's measurement: its rate does not depend on size."""
QUICK_REFKERNEL_SIZE = (5_000, 100)
PIPELINE = ("load", "prepare", "calibrate", "deal_run", "report")
STAGES = (*PIPELINE[:3], "strat", "collateral", *PIPELINE[3:])


# --------------------------------------------------------------------------------------------
# Child: one case, stage by stage
# --------------------------------------------------------------------------------------------


def run_case(tape_csv: str, n_paths: int,
             reference_size: tuple[int, int] = REFKERNEL_SIZE) -> dict[str, Any]:
    """Every stage of one case in this process: seconds and peak RSS (MB) per stage."""
    from rich.console import Console

    from autoabs.commands.strat import (
        DEFAULT_DIMENSIONS,
        EXTRA_CONCENTRATION,
        print_concentration,
        print_strats,
        print_summary,
    )
    from autoabs.execute import RunJob, RunOptions, build_report, execute
    from autoabs.pipeline import resolve_inputs, resolve_scenario
    from benchmarks._pools import (
        chunk_loan_months,
        peak_rss_mb,
        reference_modules,
        reset_peak_rss,
    )
    from portfolio.loaders import load_tape
    from scenarios import ScenarioMacro
    from simulation.collateral import prepare_collateral
    from simulation.factor import calibrate
    from simulation.run import simulate_pool

    inputs = resolve_inputs(DEAL)
    model, deal = inputs.model, inputs.deal
    assert model is not None
    scenario, scenario_file = resolve_scenario("baseline")
    stages: dict[str, dict[str, float]] = {}

    def stage(name: str, work: Callable[[], Any]) -> Any:
        reset_peak_rss()
        t0 = time.perf_counter()
        value = work()
        stages[name] = {"s": time.perf_counter() - t0, "peak_rss_mb": peak_rss_mb()}
        return value

    def strat(tape: Any) -> None:
        console = Console(file=io.StringIO(), width=160)
        print_summary(console, tape)
        print_strats(console, tape, DEFAULT_DIMENSIONS)
        print_concentration(console, tape, (*DEFAULT_DIMENSIONS, *EXTRA_CONCENTRATION))

    def pipeline(tape_path: str, paths: int, run_dir: Path, timed: bool) -> None:
        def step(name: str, work: Callable[[], Any]) -> Any:
            return stage(name, work) if timed else work()

        tape = step("load", lambda: load_tape(tape_path).tape)
        prepared_inputs = step("prepare", lambda: prepare_collateral(tape, model))
        prepared = step("calibrate", lambda: calibrate(prepared_inputs))
        step("strat", lambda: strat(tape))
        loan_months = 0.0

        def count(first: int, flows: Any, tranche_flows: Any) -> None:
            nonlocal loan_months
            loan_months += chunk_loan_months(flows, len(tape))

        step("collateral", lambda: simulate_pool(
            prepared[0], factor_spec=prepared[1], n_paths=paths, seed=SEED,
            macro=ScenarioMacro(scenario), chunk_size=CHUNK_SIZE, on_chunk=count))
        if timed:
            stages["collateral"]["loan_months"] = loan_months
        job = RunJob(tape=tape, tape_source=tape_path, model=model,
                     files={**inputs.files, "scenario": scenario_file}, deal=deal,
                     scenario=scenario, prepared=prepared)
        options = RunOptions(n_paths=paths, seed=SEED, chunk_size=CHUNK_SIZE)
        step("deal_run", lambda: execute(job, options, out=run_dir, report=False))
        step("report", lambda: build_report(run_dir))

    refkernel, _ = reference_modules()
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm.csv"
        write_tape(warm, 200)
        pipeline(str(warm), 4, Path(tmp) / "runs" / "warm", timed=False)
        reference = [refkernel.measure(*reference_size)[0]] if refkernel is not None else []
        pipeline(tape_csv, n_paths, Path(tmp) / "runs" / "case", timed=True)
        if refkernel is not None:
            reference.append(refkernel.measure(*reference_size)[0])
    out: dict[str, Any] = {"stages": stages}
    if reference:
        out["refkernel_loan_months_per_s"] = max(reference)
    return out


def write_tape(path: Path, n_loans: int) -> None:
    """A synthetic prime tape of ``n_loans`` loans as CSV (the loader's text input)."""
    from portfolio.synthetic import synthetic_pool

    synthetic_pool("prime", n_loans, seed=42).to_frame().to_csv(path, index=False)


# --------------------------------------------------------------------------------------------
# Parent: cases in child processes, table, targets
# --------------------------------------------------------------------------------------------


def measure_case(tape_csv: Path, n_paths: int, reference_size: tuple[int, int]) -> dict[str, Any]:
    """Run :func:`run_case` in a fresh process (peak RSS of that process only)."""
    code = (f"import json, sys; sys.path.insert(0, {str(ROOT)!r});"
            "from benchmarks.scaling import run_case;"
            f"print(json.dumps(run_case({str(tape_csv)!r}, {n_paths}, {reference_size!r})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"case {tape_csv.name} x {n_paths} paths failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def median_case(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-stage medians of repeated runs of one case."""
    stages = {
        name: {key: statistics.median(r["stages"][name][key] for r in runs)
               for key in runs[0]["stages"][name]}
        for name in runs[0]["stages"]
    }
    out: dict[str, Any] = {"stages": stages, "repeats": len(runs)}
    refs = [r["refkernel_loan_months_per_s"] for r in runs if "refkernel_loan_months_per_s" in r]
    if refs:
        out["refkernel_loan_months_per_s"] = statistics.median(refs)
    return out


def derived(case: dict[str, Any]) -> dict[str, float]:
    """Total, collateral rate and its ratio to the reference kernel of one measured case."""
    st = case["stages"]
    total = sum(st[name]["s"] for name in PIPELINE)
    rate = st["collateral"]["loan_months"] / st["collateral"]["s"]
    out = {"total_s": total, "collateral_loan_months_per_s": rate,
           "total_over_collateral": total / st["collateral"]["s"],
           "peak_rss_mb": max(v["peak_rss_mb"] for v in st.values())}
    if "refkernel_loan_months_per_s" in case:
        out["ratio_to_refkernel"] = rate / case["refkernel_loan_months_per_s"]
    return out


def table(cases: dict[tuple[int, int], dict[str, Any]]) -> str:
    """The stage table: seconds, share of the pipeline total and peak RSS per stage and case."""
    lines = [f"{'loans':>9} {'paths':>7}  {'stage':<11} {'seconds':>9} {'share':>7} "
             f"{'peak RSS MB':>12}"]
    for (n_loans, n_paths), case in cases.items():
        d = derived(case)
        for name in STAGES:
            v = case["stages"][name]
            share = f"{v['s'] / d['total_s']:.1%}" if name in PIPELINE else "-"
            lines.append(f"{n_loans:>9,} {n_paths:>7,}  {name:<11} {v['s']:>9.3f} {share:>7} "
                         f"{v['peak_rss_mb']:>12.0f}")
        lines.append(f"{n_loans:>9,} {n_paths:>7,}  {'total':<11} {d['total_s']:>9.3f} "
                     f"{'100.0%':>7} {d['peak_rss_mb']:>12.0f}")
        ratio = (f"{d['ratio_to_refkernel']:.3f}x the reference kernel"
                 if "ratio_to_refkernel" in d else "reference kernel not found: no ratio")
        lines.append(f"{'':>19}collateral {d['collateral_loan_months_per_s']:.3e} loan-months/s"
                     f", {ratio}; total / collateral {d['total_over_collateral']:.3f}")
    return "\n".join(lines)


def linearity_checks(cases: dict[tuple[int, int], dict[str, Any]], factor: float,
                     ends_only: bool = False) -> list[tuple[str, bool, str]]:
    """Stage times from each size to the next (same paths), and from each path count to the
    next (same loans): ``t2 / t1 <= factor ** log2(n2 / n1)``.

    ``ends_only``: only from the smallest to the largest of each series (``--quick``, whose
    cases are seconds long: one noisy middle case on a shared machine does not decide).
    """
    checks: list[tuple[str, bool, str]] = []
    keys = sorted(cases)
    pairs: list[tuple[tuple[int, int], tuple[int, int]]] = []
    for axis in (0, 1):  # 0: more loans at the same paths; 1: more paths, same loans
        other = 1 - axis
        for fixed in sorted({k[other] for k in keys}):
            line = sorted((k for k in keys if k[other] == fixed), key=lambda k: k[axis])
            if len(line) < 2:
                continue
            steps = zip(line[:-1], line[1:], strict=True)
            pairs += [(line[0], line[-1])] if ends_only else list(steps)
    for a, b in pairs:
        growth = b[0] / a[0] if a[0] != b[0] else b[1] / a[1]
        limit = factor ** math.log2(growth)
        for name in (*STAGES, "total"):
            if name == "total":
                t1, t2 = derived(cases[a])["total_s"], derived(cases[b])["total_s"]
            else:
                t1, t2 = cases[a]["stages"][name]["s"], cases[b]["stages"][name]["s"]
            if a[0] == b[0] and name in ("load", "prepare", "calibrate", "strat"):
                continue  # these do not depend on the paths
            if t2 < LINEARITY_FLOOR_S:
                continue
            ok = t2 / max(t1, 1e-9) <= limit
            checks.append((f"linearity {name} {a[0]:,}x{a[1]:,} -> {b[0]:,}x{b[1]:,}", ok,
                           f"{t1:.3f} s -> {t2:.3f} s = {t2 / max(t1, 1e-9):.2f}x "
                           f"(limit {limit:.2f}x for {growth:g}x)"))
    return checks


def target_checks(cases: dict[tuple[int, int], dict[str, Any]]) -> list[tuple[str, bool, str]]:
    """The issue's absolute targets, where their case was measured."""
    checks: list[tuple[str, bool, str]] = []
    big = cases.get((500_000, 1_000))
    if big is not None:
        st = big["stages"]
        load_prepare = st["load"]["s"] + st["prepare"]["s"]
        checks.append(("500k load + prepare <= 6 s", load_prepare <= LOAD_PREPARE_MAX_S,
                       f"{load_prepare:.2f} s (calibrate {st['calibrate']['s']:.2f} s besides)"))
        strat = st["load"]["s"] + st["strat"]["s"]
        checks.append(("500k load + strat <= 4 s", strat <= STRAT_MAX_S, f"{strat:.2f} s"))
        peak = derived(big)["peak_rss_mb"]
        checks.append(("500k x 1,000 paths peak RSS <= 1.5 GB", peak <= PEAK_RSS_MAX_MB,
                       f"{peak:.0f} MB"))
    wide = cases.get((100_000, 10_000))
    if wide is not None:
        d = derived(wide)
        checks.append(("100k x 10k total <= 1.2 x collateral",
                       d["total_over_collateral"] <= TOTAL_OVER_COLLATERAL_MAX,
                       f"{d['total_over_collateral']:.3f}"))
        if "ratio_to_refkernel" in d:
            checks.append(("100k x 10k collateral >= 0.85 x reference kernel",
                           d["ratio_to_refkernel"] >= RATIO_TO_REFKERNEL_MIN,
                           f"{d['ratio_to_refkernel']:.3f}"))
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="10k/20k/40k loans, few paths, linearity judged only")
    parser.add_argument("--repeats", type=int, default=1, help="runs per case (medians)")
    parser.add_argument("--case", action="append", metavar="LOANSxPATHS",
                        help="run only this case, e.g. 500000x1000 (repeatable)")
    args = parser.parse_args()
    from benchmarks._pools import reference_modules

    if reference_modules()[0] is None:
        print("reference kernel ../shared/bench/refkernel.py not found: the collateral stage's "
              "ratio to it is skipped")
    cases_todo = QUICK_CASES if args.quick else FULL_CASES
    if args.case:
        cases_todo = tuple(tuple(int(v) for v in c.lower().split("x")) for c in args.case)
    cases: dict[tuple[int, int], dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tapes: dict[int, Path] = {}
        for n_loans in sorted({n for n, _ in cases_todo}):
            tapes[n_loans] = Path(tmp) / f"tape_{n_loans}.csv"
            write_tape(tapes[n_loans], n_loans)
        for n_loans, n_paths in cases_todo:
            reference_size = QUICK_REFKERNEL_SIZE if args.quick else REFKERNEL_SIZE
            runs = [measure_case(tapes[n_loans], n_paths, reference_size)
                    for _ in range(args.repeats)]
            cases[(n_loans, n_paths)] = median_case(runs)
    print(table(cases))
    factor = QUICK_LINEARITY_FACTOR if args.quick else LINEARITY_FACTOR
    checks = linearity_checks(cases, factor, ends_only=args.quick) + target_checks(cases)
    print()
    for name, ok, detail in checks:
        print(f"{'ok  ' if ok else 'MISS'} {name}: {detail}")
    failed = [name for name, ok, _ in checks if not ok]
    print(json.dumps({
        "mode": "quick" if args.quick else "full",
        "repeats": args.repeats,
        "cases": {f"{n}x{p}": {**c, **derived(c)} for (n, p), c in cases.items()},
        "missed": failed,
    }))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
