"""Hypothesis: waterfall invariants on random deals and random PoolFlows.

Each example draws a deal (1-6 classes of random types and sizes, pro-rata groups, fees,
reserve, OC target, turbo, triggers, swaps, clean-up call, legal finals, priority principal
steps, servicer advances, a yield-supplement OC schedule) and a few paths of random but
consistent PoolFlows, runs the compiled waterfall and checks, on every path and period:

- cash: collections + servicer advances + reserve draws + swap receipts = advance
  reimbursements + fees + interest + principal + swap payments + reserve deposits + residual,
  to 1e-6 relative; advances are reimbursed no faster than they were made;
- no negative balance or payment, interest paid <= interest due;
- principal paid + principal loss = original balance, per class;
- principal goes group by group: no junior principal while a class in a senior group is
  outstanding (pro-rata groups, and their switch to sequential, as the deal says);
- a junior class never loses a smaller fraction of its balance than a senior one.
"""

import dataclasses
import datetime as dt

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulation import _waterfall_kernel as K
from simulation.collateral import FIELD_NAMES
from simulation.deal import deal_from_dict
from simulation.waterfall import compile_deal, run_waterfall

F = {name: k for k, name in enumerate(FIELD_NAMES)}
POOL = 1_000_000.0
CLOSING = dt.date(2025, 1, 20)
FIRST_PAYMENT = dt.date(2025, 2, 15)
rates = st.floats(0.0, 0.15)
fractions = st.floats(0.0, 0.2)


@st.composite
def notes(draw):
    n = draw(st.integers(1, 6))
    weights = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=n, max_size=n)))
    total = draw(st.floats(0.5, 1.0))
    sizes = weights / weights.sum() * total
    out = []
    for k in range(n):
        kind = draw(st.sampled_from(["fixed", "floating", "money_market"]))
        note = {"name": f"N{k}", "balance": float(sizes[k]), "type": kind}
        if kind == "floating":
            note["index"] = "SOFR"
            note["spread"] = draw(st.floats(-0.01, 0.05))
            if draw(st.booleans()):
                note["floor"] = draw(st.floats(0.0, 0.03))
            if draw(st.booleans()):
                note["cap"] = note.get("floor", 0.0) + draw(st.floats(0.0, 0.1))
        else:
            note["coupon"] = draw(rates)
        if draw(st.integers(0, 4)) == 0:
            months = draw(st.integers(0, 30))
            note["legal_final"] = dt.date(2025 + (1 + months) // 12, (1 + months) % 12 + 1, 15)
        out.append(note)
    return out


@st.composite
def partition(draw, n):
    """Consecutive blocks covering 0..n-1."""
    cuts = sorted(draw(st.sets(st.integers(1, max(n - 1, 1)), max_size=n - 1))) if n > 1 else []
    bounds = [0, *cuts, n]
    return [list(range(a, b)) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


@st.composite
def deals(draw):
    classes = draw(notes())
    names = [c["name"] for c in classes]
    n = len(names)
    raw = {"name": "random", "closing_date": CLOSING, "first_payment_date": FIRST_PAYMENT,
           "initial_pool_balance": POOL, "notes": classes,
           "index_rate": draw(st.floats(0.0, 0.08))}
    groups = []
    for block in draw(partition(n)):
        if len(block) > 1 and draw(st.booleans()):
            groups.append({"classes": [names[i] for i in block],
                           "switch_to_sequential": draw(st.booleans())})
    raw["pro_rata_groups"] = groups
    fees = []
    if draw(st.booleans()):
        fees.append({"name": "servicing", "rate": draw(st.floats(0.0, 0.03))})
    if draw(st.booleans()):
        fees.append({"name": "trustee", "usd_per_month": draw(st.floats(0.0, 5_000.0))})
    raw["fees"] = fees
    if draw(st.booleans()):
        reserve = {"initial": draw(fractions) / 4, "target": draw(fractions) / 4,
                   "floor": draw(fractions) / 8,
                   "basis": draw(st.sampled_from(["initial", "current"])),
                   "step_up_target": draw(fractions) / 2}
        raw["reserve"] = reserve
    raw["overcollateralization"] = {"target_current": draw(fractions),
                                    "target_initial": draw(fractions) / 2,
                                    "floor": draw(fractions) / 4, "turbo": draw(st.booleans())}
    effects = ["sequential", "turbo"] + (["reserve_step_up"] if "reserve" in raw else [])
    triggers = []
    for k in range(draw(st.integers(0, 3))):
        metric = draw(st.sampled_from(["cnl", "delinquency_60", "oc"]))
        trig = {"name": f"T{k}", "metric": metric, "effect": draw(st.sampled_from(effects)),
                "curable": draw(st.booleans())}
        if metric == "cnl" and draw(st.booleans()):
            trig["schedule"] = [[1, draw(st.floats(0.0, 0.05))], [7, draw(st.floats(0.0, 0.1))]]
        else:
            trig["threshold"] = draw(st.floats(0.0, 0.2))
        if metric == "delinquency_60":
            trig["window"] = draw(st.integers(1, 4))
        triggers.append(trig)
    raw["triggers"] = triggers
    floating = [c["name"] for c in classes if c["type"] == "floating"]
    swaps = [{"note": c, "fixed_rate": draw(rates)} for c in floating if draw(st.booleans())]
    raw["swaps"] = swaps
    if draw(st.booleans()):
        raw["clean_up_call"] = draw(st.floats(0.0, 0.2))
    raw["servicer_advances"] = draw(st.booleans())
    steps: list = [{"fee": f["name"]} for f in fees]
    if swaps:
        steps.insert(draw(st.integers(0, len(steps))), "swap")
    for level in draw(partition(n)):
        steps.append({"interest": [names[i] for i in level]})
        if draw(st.booleans()):
            steps.append({"priority_principal": names[level[-1]]})
    if "reserve" in raw:
        steps.append("reserve_deposit")
    if draw(st.integers(0, 5)) or not any("priority_principal" in s for s in steps
                                          if isinstance(s, dict)):
        steps.append("regular_principal")
    if draw(st.booleans()):
        steps.append("residual")
    raw["waterfall"] = steps
    return deal_from_dict(raw, source="<hypothesis>")


def random_pool_flows(seed, n_paths, n_periods):
    """Consistent PoolFlows: the pool runs off by scheduled, prepaid and defaulted principal."""
    rng = np.random.default_rng(seed)
    flows = np.zeros((n_paths, n_periods, len(FIELD_NAMES)))
    balance = np.full(n_paths, POOL)
    defaults = np.zeros((n_paths, n_periods))
    payoff = rng.random() < 0.7  # most pools run off by the horizon
    for t in range(n_periods):
        left = n_periods - t
        sched = balance * rng.uniform(0.0, 2.0 / left, n_paths)
        prepaid = balance * rng.uniform(0.0, 0.05, n_paths) * (rng.random(n_paths) < 0.8)
        defaulted = balance * rng.uniform(0.0, 0.08, n_paths) ** 2 * 5
        if t == n_periods - 1 and payoff:
            sched = np.maximum(balance - prepaid - defaulted, 0.0)
        total = np.minimum(sched + prepaid + defaulted, balance)
        scale = np.where(sched + prepaid + defaulted > 0,
                         total / np.maximum(sched + prepaid + defaulted, 1e-300), 0.0)
        sched, prepaid, defaulted = sched * scale, prepaid * scale, defaulted * scale
        defaults[:, t] = defaulted
        lag = max(t - 2, 0)
        flows[:, t, F["interest"]] = balance * rng.uniform(0.0, 0.25, n_paths) / 12
        flows[:, t, F["scheduled_principal"]] = sched
        flows[:, t, F["prepaid_principal"]] = prepaid
        flows[:, t, F["defaulted_principal"]] = defaulted
        flows[:, t, F["recoveries"]] = defaults[:, lag] * rng.uniform(0.0, 0.7, n_paths)
        balance = np.maximum(balance - sched - prepaid - defaulted, 0.0)
        flows[:, t, F["ending_balance"]] = balance
        flows[:, t, F["delinquent_60"]] = balance * rng.uniform(0.0, 0.06, n_paths)
        flows[:, t, F["delinquent_90p"]] = balance * rng.uniform(0.0, 0.04, n_paths)
        flows[:, t, F["delinquent_interest"]] = (
            flows[:, t, F["delinquent_60"]] + flows[:, t, F["delinquent_90p"]]
        ) * rng.uniform(0.0, 0.25, n_paths) / 12
        flows[:, t, F["n_active"]] = np.ceil(balance / 20_000.0)
    index = rng.uniform(-0.005, 0.09, (n_paths if rng.random() < 0.5 else 1, n_periods))
    return flows, index


def group_of(ptr, n_classes):
    """Group number of each class from a CSR group pointer."""
    return np.searchsorted(ptr, np.arange(n_classes), side="right") - 1


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=True)
@given(deal=deals(), seed=st.integers(0, 2**32 - 1), n_paths=st.integers(1, 4),
       n_periods=st.integers(1, 30), ysoc=st.sampled_from([0.0, 0.0, 0.03, 0.12]))
def test_waterfall_invariants(deal, seed, n_paths, n_periods, ysoc):
    program = compile_deal(deal)
    if ysoc:  # a yield-supplement OC schedule running off linearly (the adjusted pool)
        schedule = ysoc * POOL * np.linspace(1.0, 0.0, n_periods + 1)
        param = program.deal_param.copy()
        param[K.DP_ADJUSTED_INITIAL_POOL] = POOL - schedule[0]
        program = dataclasses.replace(program, ysoc_amount=schedule, deal_param=param)
    flows, index = random_pool_flows(seed, n_paths, n_periods)
    r = run_waterfall(program, flows, index)
    tiny = 1e-9 * POOL

    # Cash in = cash out on every path and period.
    swap_in = np.maximum(r.swap_net_receipt, 0.0)
    sources = r.available_funds + r.servicer_advance + r.reserve_draw + swap_in
    assert np.all(np.abs(r.cash_imbalance()) <= 1e-6 * np.maximum(sources, 1.0))
    # Advances: made only by advancing deals, and never repaid beyond what was advanced.
    if not deal.servicer_advances:
        assert not r.servicer_advance.any() and not r.advance_reimbursement.any()
    repaid = np.cumsum(r.advance_reimbursement, axis=1)
    assert np.all(repaid <= np.cumsum(r.servicer_advance, axis=1) + tiny)

    # Nothing negative; interest paid within interest due; principal conserved.
    for name in ("ending_balance", "interest_paid", "principal_paid", "interest_due",
                 "reserve_balance", "reserve_draw", "reserve_deposit", "fees_paid", "residual",
                 "principal_loss", "interest_shortfall", "available_funds",
                 "servicer_advance", "advance_reimbursement"):
        assert np.all(getattr(r, name) >= -tiny), name
    assert np.all(r.interest_paid <= r.interest_due + tiny)
    np.testing.assert_allclose(r.principal_paid.sum(axis=2) + r.principal_loss,
                               np.broadcast_to(r.original_balance, r.principal_loss.shape),
                               rtol=1e-9, atol=tiny)

    # Principal group by group: a junior group is paid only once every senior group is retired.
    n = program.n_classes
    normal = group_of(program.group_ptr[K.ALLOC_NORMAL], n)
    sequential = group_of(program.group_ptr[K.ALLOC_SEQUENTIAL], n)
    for p in range(n_paths):
        for t in range(n_periods):
            groups = sequential if r.sequential_mode[p, t] else normal
            paid = np.flatnonzero(r.principal_paid[p, :, t] > tiny)
            if paid.size:
                junior = paid.max()
                seniors = groups < groups[junior]
                assert np.all(r.ending_balance[p, seniors, t] <= tiny), (p, t, junior)

    # Loss severity never decreases down the capital structure.
    severity = r.principal_loss / r.original_balance
    assert np.all(np.diff(severity, axis=1) >= -1e-9)
