"""Variance-reduction factors of the factor samplers (docs/variance_reduction.md).

Part 1, loss-only lognormal mode (mean CNL 2%, sd 1%): for each sampler the variance of the
tranche-EL estimator is measured over ``--reps`` independent replications of ``--paths``
paths and compared with the exact per-path variance of plain Monte Carlo (quadrature), so
``VR = Var_plain / Var_method`` at equal paths. Part 2, full collateral model on a small prime
pool with the prime example structure: per-path variance ``n se^2`` of each class's EL under
plain Monte Carlo and under the default of ``simulate`` (defensive mixture + stratified), with
block standard errors; once with the prime assumptions and once with the expected CNL and its
sd raised to 6% and 3% (``--stress``), where plain Monte Carlo sees the senior class A-3 lose.

Usage: python benchmarks/variance_reduction.py [--paths 2000] [--reps 200] [--loans 500]
                                                 [--full-paths 2000] [--skip-full]
                                                 [--stress 0.06,0.03]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulation.estimators import mean as estimate_mean  # noqa: E402
from simulation.importance import (  # noqa: E402
    FactorSampling,
    defensive_mixture,
    shifted,
)
from simulation.lossonly import LognormalLoss, tranche_payoff  # noqa: E402

DIST = LognormalLoss(0.02, 0.01)
TRANCHES = {"5-10%": (0.05, 0.10), "9.75-100%": (0.0975, 1.0)}


def plain_per_path_variance(a: float, d: float) -> tuple[float, float]:
    """(EL, per-path variance) of the tranche payoff under plain sampling, by quadrature."""
    z = np.linspace(-12.0, 14.0, 400_001)
    phi = np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
    x = tranche_payoff(DIST.loss(z), a, d)
    dz = z[1] - z[0]
    m1 = float(np.sum(x * phi) * dz)
    m2 = float(np.sum(x * x * phi) * dz)
    return m1, m2 - m1 * m1


def samplers() -> dict[str, FactorSampling]:
    """The samplers compared in part 1."""
    s_mezz = DIST.shift_for_attachment(0.05)
    s_sen = DIST.shift_for_attachment(0.0975)
    mix = defensive_mixture([s_mezz, s_sen], 0.25)
    return {
        "plain": FactorSampling(),
        "antithetic": FactorSampling(antithetic=True),
        "stratified": FactorSampling(stratified=True),
        "shift to 9.75% attachment": shifted(s_sen),
        "mixture (defensive 0.25)": FactorSampling(mix),
        "mixture + stratified (default)": FactorSampling(mix, stratified=True),
        "mixture + stratified + antithetic": FactorSampling(mix, antithetic=True,
                                                            stratified=True),
    }


def loss_only(n_paths: int, reps: int) -> list[dict[str, object]]:
    """Measured VR factors of every sampler on both tranches."""
    rows = []
    exact = {k: plain_per_path_variance(*t) for k, t in TRANCHES.items()}
    for name, s in samplers().items():
        est = np.empty((reps, len(TRANCHES)))
        for r in range(reps):
            z, w = s(10_000 + r, 0, n_paths, DIST.factor_spec)
            loss = DIST.loss(z)
            x = np.column_stack([tranche_payoff(loss, *t) for t in TRANCHES.values()])
            est[r] = estimate_mean(x, w, block_size=s.block_size, self_normalised=False).value
        for j, (label, (el, var1)) in enumerate(exact.items()):
            var = float(est[:, j].var(ddof=1))
            rows.append({"part": "loss-only", "sampler": name, "tranche": label,
                         "el_true": el, "el_mean": float(est[:, j].mean()),
                         "rse": float(np.sqrt(var)) / el,
                         "vr": (var1 / n_paths) / var if var > 0 else float("inf")})
    return rows


def full_model(n_loans: int, n_paths: int,
               cnl: tuple[float, float] | None = None) -> list[dict[str, object]]:
    """Per-path variance of class EL: plain (10x the paths) vs the default of simulate.

    ``cnl``: (expected CNL, its sd) replacing the prime assumptions' 2.4% and 1.0%.
    """
    from autoabs.pipeline import resolve_inputs
    from portfolio.synthetic import synthetic_pool
    from simulation.collateral import prepare_collateral
    from simulation.factor import calibrate
    from simulation.run import simulate

    root = Path(__file__).resolve().parents[1]
    ri = resolve_inputs(root / "examples" / "prime_deal.yaml")
    model = ri.model
    part = "full model"
    if cnl is not None:
        model = model.model_copy(update={
            "default": model.default.model_copy(update={"expected_cnl": cnl[0]}),
            "factor": model.factor.model_copy(update={"cnl_sd": cnl[1]})})
        part = f"full model, CNL {cnl[0]:.1%} sd {cnl[1]:.1%}"
    tape = synthetic_pool("prime", n_loans, 42)
    prepared = calibrate(prepare_collateral(tape, model))
    runs = {}
    for label, kw, n in [
        ("plain", {"importance": False, "stratified": False}, 10 * n_paths),
        ("stratified", {"importance": False, "stratified": True}, 10 * n_paths),
        ("antithetic", {"importance": False, "stratified": False, "antithetic": True},
         10 * n_paths),
        ("mixture + stratified (default)", {}, n_paths),
    ]:
        t0 = time.perf_counter()
        r = simulate(tape, ri.deal, model, n_paths=n, seed=31, chunk_size=1000,
                     prepared=prepared, **kw)
        runs[label] = (r.class_summary(), n, time.perf_counter() - t0,
                       r.provenance["effective_sample_size"])
    base, n_base = runs["plain"][0], runs["plain"][1]
    rows = []
    for label, (summ, n, secs, ess) in runs.items():
        for cls in summ.index:
            el, se = float(summ.loc[cls, "el"]), float(summ.loc[cls, "el_se"])
            b_el, b_se = float(base.loc[cls, "el"]), float(base.loc[cls, "el_se"])
            vr = (b_se**2 * n_base) / (se**2 * n) if se > 0 and b_se > 0 else None
            rows.append({"part": part, "sampler": label, "class": cls, "paths": n,
                         "el": el, "el_se": se, "rse": se / el if el > 0 else None,
                         "vr": vr, "plain_sees_loss": b_el > 0, "seconds": round(secs, 1),
                         "ess": round(ess, 1)})
    return rows


def main() -> int:
    """Print the variance-reduction tables and one JSON line per row."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--paths", type=int, default=2000)
    p.add_argument("--reps", type=int, default=200)
    p.add_argument("--loans", type=int, default=500)
    p.add_argument("--full-paths", type=int, default=2000)
    p.add_argument("--skip-full", action="store_true")
    p.add_argument("--stress", default="0.06,0.03",
                   help="expected CNL and its sd of the second full-model part")
    args = p.parse_args()
    mean_cnl, sd_cnl = (float(x) for x in args.stress.split(","))
    rows = loss_only(args.paths, args.reps)
    print(f"Loss-only lognormal (mean 2%, sd 1%), {args.paths} paths, {args.reps} replications")
    print(f"{'sampler':36s} {'tranche':10s} {'EL true':>11s} {'EL mean':>11s} {'RSE':>8s} "
          f"{'VR':>10s}")
    for r in rows:
        print(f"{r['sampler']:36s} {r['tranche']:10s} {r['el_true']:11.4e} "
              f"{r['el_mean']:11.4e} {r['rse']:8.2%} {r['vr']:10.1f}")
    for cnl in ([] if args.skip_full else [None, (mean_cnl, sd_cnl)]):
        full = full_model(args.loans, args.full_paths, cnl)
        part = str(full[0]["part"])
        print(f"\n{part[0].upper() + part[1:]}: {args.loans}-loan prime pool, prime example "
              "structure (VR = per-path variance of plain / sampler; -: plain saw no loss)")
        print(f"{'sampler':32s} {'class':5s} {'paths':>7s} {'EL':>11s} {'RSE':>8s} "
              f"{'VR':>9s} {'ESS':>8s} {'s':>6s}")
        for r in full:
            rse = "-" if r["rse"] is None else f"{r['rse']:.2%}"
            vr = "-" if r["vr"] is None else f"{r['vr']:.1f}"
            print(f"{r['sampler']:32s} {r['class']:5s} {r['paths']:7d} {r['el']:11.3e} "
                  f"{rse:>8s} {vr:>9s} {r['ess']:8.1f} {r['seconds']:6.1f}")
        rows += full
    for r in rows:
        print(json.dumps(r, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
