"""Credit-enhancement sizing: the smallest subordination that gives each class its target rating.

The collateral is simulated **once** (one seed, importance-sampled factor) and its PoolFlows
kept; every candidate capital structure is then run through the waterfall on those same flows
(common random numbers), which is cheap and makes each class's EL a smooth, monotone
function of the structure, so bisection converges.

Algorithm (``docs/variance_reduction.md``):

1. Consecutive classes with the same target rating form one *level* (pro-rata partners must
   share a target); inside a level the split of the input deal is kept (e.g. the time
   tranching A-1 / A-2 / A-3 / A-4 of a US prime deal).
2. Levels are placed from the top. For each, bisection finds the **lowest attachment point**
   (hard credit enhancement: junior notes + OC + reserve) at which every class of the level
   meets its test; the level's size is what lies between that point and the level above.
   While a level is searched, the notes below it share the rest of the capital in the input
   proportions.
3. The lowest level attaches at OC + reserve. If it cannot meet its target there, the OC is
   raised (initial OC and OC target together) to the attachment it needs (``size_oc``).

Test of a class: ``EL + k * se <= margin * idealized EL(rating, WAL)``, with the class's
simulated mean WAL in that structure. The defaults ``margin = 0.8`` and ``k = 2`` are a safety
margin so that the sized structure still meets its targets when re-simulated with a fresh
seed (Monte Carlo noise of the sizing run and of the check).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from portfolio.errors import InputError, Problem
from portfolio.tape import LoanTape
from simulation.collateral import FIELD_NAMES, CollateralInputs, prepare_collateral
from simulation.deal import Deal
from simulation.estimators import conditional_mean
from simulation.estimators import mean as estimate_mean
from simulation.factor import FactorSpec, calibrate
from simulation.importance import FactorSampling, defensive_mixture
from simulation.metrics import wal_years
from simulation.model import CollateralModel
from simulation.rating_stress import (
    PAID_IN_FULL_TOLERANCE,
    RatingStressTable,
    StressFlows,
    rating_category,
    stress_base,
    stressed_flows,
    table_for_pool,
)
from simulation.ratings import (
    RATING_SCALE,
    ELTable,
    builtin_el_table,
    el_target,
    implied_rating,
)
from simulation.run import hard_credit_enhancement, simulate_pool
from simulation.waterfall import compile_deal, run_waterfall

__all__ = ["SizingResult", "parse_targets", "size_deal", "size_deal_to_stress", "sizing_sampler"]

SIZING_SHIFTS = (1.5, 2.5, 3.5, 4.5, 5.5, 6.5)
"""Mean shifts of the sizing mixture: a ladder over the factor range where the attachment
points of Baa to Aaa classes lie (the structure is not known in advance)."""

MIN_CLASS_SIZE = 0.002
"""Smallest class size the search allows (decimal of the pool)."""


def sizing_sampler(defensive: float = 0.25) -> FactorSampling:
    """The factor sampler of the sizing run: defensive ladder mixture, stratified."""
    return FactorSampling(defensive_mixture(SIZING_SHIFTS, defensive), stratified=True)


def parse_targets(text: str | Sequence[str], classes: Sequence[str]) -> dict[str, str]:
    """Parse ``A-1=Aaa,B=Aa2`` into class -> rating.

    A key names a class, or a prefix: ``A=Aaa`` applies to every class named ``A-...``
    (``A-1``, ``A-2a``, ...). Every class needs a target.

    Raises
    ------
    InputError
        Malformed pairs, unknown classes or ratings, classes without a target.
    """
    items = [text] if isinstance(text, str) else list(text)
    pairs = [p.strip() for item in items for p in item.split(",") if p.strip()]
    out: dict[str, str] = {}
    problems: list[Problem] = []
    for pair in pairs:
        key, sep, rating = pair.partition("=")
        key, rating = key.strip(), rating.strip()
        if not sep or not key or not rating:
            problems.append(Problem(None, "", f"expected CLASS=RATING, got {pair!r}"))
            continue
        try:
            el_target(rating, 1.0)
        except InputError:
            problems.append(Problem(None, "", f"unknown rating {rating!r} for {key}"))
            continue
        hit = [c for c in classes if c == key] or [c for c in classes
                                                   if c.startswith(key + "-")]
        if not hit:
            problems.append(Problem(None, "", f"no class {key!r}; the deal has "
                                    f"{', '.join(classes)}"))
        canonical = {r.lower(): r for r in RATING_SCALE}.get(rating.lower(), rating)
        for c in hit:
            out[c] = canonical
    missing = [c for c in classes if c not in out]
    if missing:
        problems.append(Problem(None, "", f"no target for {', '.join(missing)}"))
    if problems:
        raise InputError("--targets", problems)
    return out


@dataclass(frozen=True, eq=False)
class SizingResult:
    """A sized capital structure.

    Attributes
    ----------
    deal : Deal
        The input deal with the sized note balances, OC and reserve.
    table : pandas.DataFrame
        Per class: target rating, balance (decimal of the pool), hard CE, EL, EL se, the
        tested bound ``EL + k se``, target EL at the class's WAL, WAL, implied rating.
    oc : float
        Initial OC (= OC target) of the sized deal, decimal of the pool.
    reserve : float
        Initial reserve, decimal of the pool.
    infeasible : tuple of str
        Classes that could not meet their test even at the thinnest size allowed.
    provenance : dict
        Seed, paths, margins, sampler, effective sample size, evaluations, and ``timings``:
        the one collateral simulation (``collateral_s``) and the structure search on its
        stored flows (``structures_s``, ``per_structure_s``: waterfall runs only).
    """

    deal: Deal
    table: pd.DataFrame
    oc: float
    reserve: float
    infeasible: tuple[str, ...]
    provenance: dict[str, Any]

    def deal_mapping(self) -> dict[str, Any]:
        """The sized deal as a YAML-ready mapping (absolute paths for pool tape and assumptions)."""
        raw = self.deal.model_dump(mode="json", exclude_none=True)
        raw["closing_date"] = self.deal.closing_date.isoformat()
        raw["first_payment_date"] = self.deal.first_payment_date.isoformat()
        return raw


@dataclass(frozen=True)
class _Levels:
    """Classes grouped by target rating: ``members[l]`` class indices, top level first."""

    members: tuple[tuple[int, ...], ...]
    share: np.ndarray  # share of each class within its level, (n_classes,)


def _levels(deal: Deal, targets: dict[str, str]) -> _Levels:
    names = deal.class_names
    group_of = {c: g for g, grp in enumerate(deal.pro_rata_groups) for c in grp.classes}
    problems = []
    for grp in deal.pro_rata_groups:
        ratings = {targets[c] for c in grp.classes}
        if len(ratings) > 1:
            problems.append(Problem(None, "", f"pro-rata classes {grp.classes} need "
                                    f"one target rating, got {sorted(ratings)}"))
    if problems:
        raise InputError("--targets", problems)
    members: list[list[int]] = []
    for k, name in enumerate(names):
        same = members and targets[names[members[-1][-1]]] == targets[name]
        partner = (members and name in group_of
                   and group_of.get(names[members[-1][-1]]) == group_of[name])
        if same or partner:
            members[-1].append(k)
        else:
            members.append([k])
    balances = np.array([n.balance or 0.0 for n in deal.notes])
    if np.any(balances <= 0.0):
        raise InputError("deal", "sizing needs every note balance as a fraction of the pool "
                                 "('balance:', not 'balance_usd:')")
    share = np.empty(len(names))
    for m in members:
        share[m] = balances[m] / balances[m].sum()
    return _Levels(tuple(tuple(m) for m in members), share)


def _structure(deal: Deal, balances: np.ndarray, oc: float, reserve: float) -> Deal:
    """The deal with new note balances (fractions of the pool), OC and reserve."""
    notes = [n.model_copy(update={"balance": float(b), "balance_usd": None})
             for n, b in zip(deal.notes, balances, strict=True)]
    update: dict[str, Any] = {"notes": notes}
    oc_spec = deal.overcollateralization
    if oc_spec.target_current == 0.0:
        update["overcollateralization"] = oc_spec.model_copy(
            update={"target_initial": float(oc), "floor": min(oc_spec.floor, float(oc))})
    if deal.reserve is not None:
        r = deal.reserve
        update["reserve"] = r.model_copy(update={
            "initial": float(reserve), "target": float(reserve) if r.target == r.initial
            else r.target, "floor": min(r.floor, float(reserve))})
    return deal.model_copy(update=update)


class _ClassTest(Protocol):
    """Tests every class of a candidate structure: a frame indexed by class with ``meets``."""

    def evaluate(self, candidate: Deal) -> pd.DataFrame: ...


class _Evaluator:
    """Runs candidate structures on the stored pool flows and tests every class."""

    def __init__(self, deal: Deal, flows: np.ndarray, weight: np.ndarray, block: int,
                 pool: CollateralInputs, targets: dict[str, str], table: ELTable,
                 margin: float, k_se: float, batch: int = 1024) -> None:
        self.deal, self.flows, self.weight, self.block = deal, flows, weight, block
        self.pool, self.initial_balance = pool, pool.initial_balance
        self.targets, self.table = targets, table
        self.margin, self.k_se, self.batch = margin, k_se, batch
        self.n_eval = 0

    def evaluate(self, candidate: Deal) -> pd.DataFrame:
        """EL, se, WAL, target and test of every class of a candidate structure."""
        self.n_eval += 1
        program = compile_deal(candidate, self.pool)
        n = self.flows.shape[0]
        loss = np.empty((n, program.n_classes))
        wal = np.empty((n, program.n_classes))
        years = program.schedule(self.flows.shape[1]).years
        for lo in range(0, n, self.batch):
            tf = run_waterfall(program, self.flows[lo:lo + self.batch])
            loss[lo:lo + self.batch] = tf.principal_loss / program.original_balance
            wal[lo:lo + self.batch] = wal_years(tf.principal_paid, years)
        el = estimate_mean(loss, self.weight, block_size=self.block)
        mw = conditional_mean(wal, np.isfinite(wal), self.weight, block_size=self.block)
        rows = []
        for c, name in enumerate(program.classes):
            w = float(np.atleast_1d(mw.value)[c])
            w = w if math.isfinite(w) and w > 0.0 else 1.0
            value, se = float(np.atleast_1d(el.value)[c]), float(np.atleast_1d(el.se)[c])
            target = el_target(self.targets[name], w, self.table)
            bound = value + self.k_se * se
            rows.append({"class": name, "target_rating": self.targets[name],
                         "balance": float(program.original_balance[c] / self.initial_balance),
                         "el": value, "el_se": se, "el_bound": bound, "target_el": target,
                         "wal": w, "implied_rating": implied_rating(max(value, 0.0), w,
                                                                    self.table),
                         "meets": bound <= self.margin * target})
        return pd.DataFrame(rows).set_index("class", drop=False)


class _StressEvaluator:
    """Runs candidate structures on the rating stress runs: paid in full in every run."""

    def __init__(self, flows: dict[str, StressFlows], pool: LoanTape,
                 targets: dict[str, str], table: RatingStressTable) -> None:
        self.flows, self.pool, self.initial_balance = flows, pool, pool.total_balance
        self.targets, self.table = targets, table
        self.n_eval = 0

    def evaluate(self, candidate: Deal) -> pd.DataFrame:
        """Worst shortfall over the runs of each class's rating and whether it is paid in full."""
        self.n_eval += 1
        program = compile_deal(candidate, self.pool)
        worst: dict[str, np.ndarray] = {}
        for category, runs in self.flows.items():
            tf = run_waterfall(program, runs.flows, later_months_balance=runs.later_months_balance)
            short = (tf.principal_loss + tf.interest_shortfall) / program.original_balance
            worst[category] = short.max(axis=0)
        rows = []
        for c, name in enumerate(program.classes):
            rating = self.targets[name]
            shortfall = float(worst[rating_category(rating)][c])
            rows.append({"class": name, "target_rating": rating,
                         "balance": float(program.original_balance[c] / self.initial_balance),
                         "multiple": self.table.multiple(rating), "worst_shortfall": shortfall,
                         "meets": shortfall <= PAID_IN_FULL_TOLERANCE})
        return pd.DataFrame(rows).set_index("class", drop=False)


def _bisect(test: Callable[[float], bool], lo: float, hi: float, tol: float) -> float:
    """Smallest ``a`` in ``[lo, hi]`` with ``test(a)`` (``test(hi)`` assumed true)."""
    if test(lo):
        return lo
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if test(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _place_levels(deal: Deal, levels: _Levels, ev: _ClassTest, *, reserve: float | None,
                  size_oc: bool, tol: float) -> tuple[np.ndarray, float, float, list[str]]:
    """Place the levels from the top (module docstring, steps 2-3) against ``ev``'s test.

    Returns the class balances (fractions of the pool), the OC and reserve of the sized
    structure, and the classes that cannot meet their test.
    """
    balances0 = np.array([n.balance or 0.0 for n in deal.notes])
    oc = max(1.0 - float(balances0.sum()), 0.0)
    res = float(reserve) if reserve is not None else (deal.reserve.initial if deal.reserve
                                                      else 0.0)
    if reserve is not None and deal.reserve is None and reserve > 0.0:
        raise InputError("--reserve", "the deal has no reserve account to size")
    base = oc + res
    n_levels = len(levels.members)
    level_total0 = np.array([balances0[list(m)].sum() for m in levels.members])

    def balances_for(attach: np.ndarray, oc_now: float) -> np.ndarray:
        """Class balances from level attachments (top first); unset levels share the rest."""
        b = np.empty_like(balances0)
        top = 1.0 + res
        placed = 0
        for lvl, a in enumerate(attach):
            if np.isnan(a):
                break
            size = top - a
            b[list(levels.members[lvl])] = size * levels.share[list(levels.members[lvl])]
            top = a
            placed = lvl + 1
        rest = top - (oc_now + res)
        if placed < n_levels:
            w = level_total0[placed:] / level_total0[placed:].sum()
            for j, lvl in enumerate(range(placed, n_levels)):
                m = list(levels.members[lvl])
                b[m] = rest * w[j] * levels.share[m]
        return b

    attach = np.full(n_levels, np.nan)
    infeasible: list[str] = []
    for lvl in range(n_levels):
        names = [deal.class_names[c] for c in levels.members[lvl]]
        top = 1.0 + res if lvl == 0 else float(attach[lvl - 1])

        def passes(a: float, lvl: int = lvl, names: list[str] = names, oc_now: float = oc,
                   ) -> bool:
            trial = attach.copy()
            trial[lvl] = a
            out = ev.evaluate(_structure(deal, balances_for(trial, oc_now), oc_now, res))
            return bool(out.loc[names, "meets"].all())

        if lvl < n_levels - 1:
            lo = base + MIN_CLASS_SIZE * (n_levels - 1 - lvl)
            hi = top - MIN_CLASS_SIZE
            if hi <= lo or not passes(hi):
                infeasible += names
                attach[lvl] = max(hi, lo)
                continue
            attach[lvl] = _bisect(passes, lo, hi, tol)
        else:
            # lowest level: attaches at OC + reserve; more OC if it must attach higher
            hi = top - MIN_CLASS_SIZE
            if passes(base):
                attach[lvl] = base
            elif size_oc and hi > base and passes(hi, oc_now=hi - res):
                def passes_oc(a: float, names: list[str] = names) -> bool:
                    trial = attach.copy()
                    trial[-1] = a
                    cand = _structure(deal, balances_for(trial, a - res), a - res, res)
                    return bool(ev.evaluate(cand).loc[names, "meets"].all())

                a_needed = _bisect(passes_oc, base, hi, tol)
                attach[lvl] = a_needed
                oc = a_needed - res
            else:
                infeasible += names
                attach[lvl] = base
    # Fix-up: placing the lower levels changes the WAL (hence the target) and the cash of the
    # levels above a little; raise the attachment of any level that no longer passes.
    for _ in range(2 * n_levels):
        out = ev.evaluate(_structure(deal, balances_for(attach, oc), oc, res))
        failing = [lvl for lvl, m in enumerate(levels.members)
                   if not out.loc[[deal.class_names[c] for c in m], "meets"].all()
                   and deal.class_names[m[0]] not in infeasible]
        if not failing:
            break
        lvl = failing[0]
        names = [deal.class_names[c] for c in levels.members[lvl]]
        top = 1.0 + res if lvl == 0 else float(attach[lvl - 1])
        hi = top - MIN_CLASS_SIZE
        bottom = lvl == n_levels - 1

        def passes_up(a: float, lvl: int = lvl, names: list[str] = names,
                      bottom: bool = bottom, oc_fixed: float = oc) -> bool:
            trial = attach.copy()
            trial[lvl] = a
            oc_now = a - res if bottom else oc_fixed
            cand = _structure(deal, balances_for(trial, oc_now), oc_now, res)
            return bool(ev.evaluate(cand).loc[names, "meets"].all())

        if (bottom and not size_oc) or hi <= attach[lvl] or not passes_up(hi):
            infeasible += names
            continue
        attach[lvl] = _bisect(passes_up, float(attach[lvl]), hi, tol)
        if bottom:
            oc = float(attach[lvl]) - res
    return balances_for(attach, oc), float(oc), float(res), infeasible


def size_deal(
    tape: LoanTape | tuple[CollateralInputs, FactorSpec],
    deal: Deal,
    model: CollateralModel | None,
    targets: dict[str, str],
    *,
    n_paths: int = 4000,
    seed: int = 0,
    el_margin: float = 0.8,
    se_multiplier: float = 2.0,
    size_oc: bool = True,
    reserve: float | None = None,
    tol: float = 2.5e-4,
    chunk_size: int = 256,
    threads: int | None = None,
    el_table: ELTable | None = None,
    progress: Callable[[int], None] | None = None,
) -> SizingResult:
    """Size the classes of ``deal`` so that each meets the idealized EL of its target rating.

    Parameters
    ----------
    tape : LoanTape or (CollateralInputs, FactorSpec)
        The pool, or prepared and calibrated inputs.
    deal : Deal
        The structure to resize: order of payments, coupons, triggers, reserve and OC rules
        are kept; note balances (fractions of the pool) are sized.
    model : CollateralModel
        Collateral assumptions (unused with prepared inputs).
    targets : dict
        Class -> target rating (see :func:`parse_targets`).
    n_paths, seed : int
        Paths and seed of the one collateral simulation (common random numbers).
    el_margin, se_multiplier : float
        A class passes when ``EL + se_multiplier * se <= el_margin * target EL``.
    size_oc : bool
        Raise the OC when the lowest class cannot meet its target at the given OC.
    reserve : float, optional
        Initial reserve (decimal of the pool) instead of the deal's.
    tol : float
        Bisection tolerance on each attachment point (decimal of the pool).
    chunk_size, threads, el_table, progress
        Engine options, idealized EL table (built-in approximate by default), and a callback
        with the number of paths done after each chunk.
    """
    if not (0.0 < el_margin <= 1.0 and se_multiplier >= 0.0):
        raise InputError("sizing", f"need 0 < margin <= 1 and se multiplier >= 0, got "
                                   f"{el_margin}, {se_multiplier}")
    table = el_table or builtin_el_table()
    if isinstance(tape, tuple):
        inputs, spec = tape
    else:
        if model is None:
            raise TypeError("size_deal needs a model with a LoanTape")
        inputs, spec = calibrate(prepare_collateral(tape, model))
    levels = _levels(deal, targets)
    sampler = sizing_sampler()
    store = np.empty((n_paths, inputs.n_periods, len(FIELD_NAMES)))

    def keep(first: int, flows: np.ndarray, tranche_flows: object) -> None:
        store[first:first + flows.shape[0]] = flows
        if progress is not None:
            progress(flows.shape[0])

    t0 = time.perf_counter()
    pool = simulate_pool(inputs, n_paths=n_paths, seed=seed, chunk_size=chunk_size,
                         threads=threads, on_chunk=keep, factor=sampler, factor_spec=spec)
    collateral_s = time.perf_counter() - t0
    weight = pool.weights
    ev = _Evaluator(deal, store, weight, sampler.block_size, inputs, targets,
                    table, el_margin, se_multiplier)

    t0 = time.perf_counter()
    balances, oc, res, infeasible = _place_levels(deal, levels, ev, reserve=reserve,
                                                  size_oc=size_oc, tol=tol)
    sized = _structure(deal, balances, oc, res)
    final = ev.evaluate(sized)
    structures_s = time.perf_counter() - t0
    program = compile_deal(sized, inputs)

    final.insert(3, "hard_ce", hard_credit_enhancement(sized, program))
    provenance = {
        "seed": int(seed), "n_paths": int(n_paths), "el_margin": el_margin,
        "se_multiplier": se_multiplier, "size_oc": size_oc, "tol": tol,
        "sampler": sampler.describe(), "effective_sample_size": float(
            weight.sum() ** 2 / (weight**2).sum()),
        "waterfall_evaluations": ev.n_eval, "el_table": table.source,
        "levels": [[deal.class_names[c] for c in m] for m in levels.members],
        "timings": {"collateral_s": collateral_s, "structures_s": structures_s,
                    "per_structure_s": structures_s / max(ev.n_eval, 1)},
    }
    return SizingResult(sized, final, float(oc), float(res), tuple(infeasible), provenance)


def size_deal_to_stress(
    tape: LoanTape,
    deal: Deal,
    model: CollateralModel,
    targets: dict[str, str],
    table: RatingStressTable | None = None,
    *,
    size_oc: bool = True,
    reserve: float | None = None,
    tol: float = 2.5e-4,
    inputs: CollateralInputs | None = None,
) -> SizingResult:
    """Size ``deal`` so that each class is paid in full in every stress run of its rating.

    The agency-style counterpart of :func:`size_deal`: the same level placement, with the
    test "paid in full (principal and interest) in every run" of
    :func:`simulation.rating_stress.rating_stress_runs` instead of the EL test. The stressed
    pool flows do not depend on the structure and are computed once per rating category.
    ``inputs``: the tape's prepared and calibrated collateral (e.g. that of the EL sizing
    run), so as not to prepare it again. Without a ``table``, the built-in one nearest the
    pool's base CNL (:func:`simulation.rating_stress.table_for_pool`).
    """
    levels = _levels(deal, targets)
    base = stress_base(tape, model, inputs)
    table = table or table_for_pool(base.cnl)
    flows = stressed_flows(tape, base, list(targets.values()), table)
    ev = _StressEvaluator(flows, tape, targets, table)
    balances, oc, res, infeasible = _place_levels(deal, levels, ev, reserve=reserve,
                                                  size_oc=size_oc, tol=tol)
    sized = _structure(deal, balances, oc, res)
    final = ev.evaluate(sized)
    final.insert(3, "hard_ce", hard_credit_enhancement(sized, compile_deal(
        sized, tape)))
    provenance = {"method": "rating stress runs", "table": table.source, "size_oc": size_oc,
                  "tol": tol, "runs_per_rating": int(next(iter(flows.values())).flows.shape[0]),
                  "waterfall_evaluations": ev.n_eval,
                  "levels": [[deal.class_names[c] for c in m] for m in levels.members]}
    return SizingResult(sized, final, float(oc), float(res), tuple(infeasible), provenance)
