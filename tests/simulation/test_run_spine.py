"""The run spine's in-memory store: reductions folded in chunk order whatever order chunks
arrive in, the same result as assembling every chunk, and no per-chunk histogram kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from portfolio.synthetic import synthetic_pool
from simulation.deal import load_deal
from simulation.model import load_model
from simulation.run import MemoryChunkStore, assemble, plan_run, run_chunk, simulate
from simulation.run.reducers import SparseCounts

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_out_of_order_chunks_fold_to_the_in_order_result() -> None:
    deal = load_deal(EXAMPLES / "prorata_trigger_deal.yaml")
    model = load_model(deal.assumptions)  # type: ignore[arg-type]
    tape = synthetic_pool("prime", 300, 5)
    plan = plan_run(tape, model, deal, n_paths=90, seed=2, chunk_size=20)
    raw = [run_chunk(plan, first, n) for first, n in plan.chunks]  # unfolded
    ref = assemble(plan, raw, deal=deal)
    store = MemoryChunkStore()
    for first, n in [plan.chunks[i] for i in (3, 1, 4, 0, 2)]:
        store.save(run_chunk(plan, first, n))
    for first, _ in plan.chunks[1:]:
        hist = store.load(first).deal.balance_hist
        assert isinstance(hist, SparseCounts) and hist.index.size == 0
        assert store.load(first).pool.n == 0
    got = assemble(plan, (store.load(f) for f, _ in plan.chunks), deal=deal)
    np.testing.assert_array_equal(got.class_paths, ref.class_paths)
    assert got.pool.mean_flows.equals(ref.pool.mean_flows)
    assert got.class_flows.equals(ref.class_flows)
    assert got.triggers.equals(ref.triggers)
    assert got.events == ref.events
    assert got.summary() == ref.summary()
    local = simulate(tape, deal, model, n_paths=90, seed=2, chunk_size=20)
    assert local.pool.mean_flows.equals(ref.pool.mean_flows)
