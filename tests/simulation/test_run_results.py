"""Run results: probabilities in [0, 1] under importance sampling, hard CE per group, pool HTML.

Hypothesis: every probability a deal run reports stays in [0, 1] under importance sampling.

Random valid deals (the strategy of ``test_waterfall_properties``, plus a fixed fee that can
be large against the pool, the case that printed EL and PD of 101-108%) on a small synthetic
pool, simulated with the default design (defensive mixture importance sampling on the credit
factor, stratified): class EL and PD, every trigger's breach probability in and by each
period, and the event probabilities of the summary lie in [0, 1]; standard errors are
finite and >= 0 or NaN (not available), never negative.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoabs.pipeline import resolve_inputs
from portfolio._format import NOT_AVAILABLE, percent_text
from portfolio.synthetic import synthetic_pool
from simulation.deal import Fee, load_deal
from simulation.model import load_model
from simulation.run import simulate
from simulation.run.results import (
    POOL_SUMMARY_ROWS,
    PoolSimulationResult,
    hard_credit_enhancement,
)
from simulation.waterfall import compile_deal
from tests.simulation.test_waterfall_properties import deals

ROOT = Path(__file__).resolve().parents[2]
MODEL = load_model(ROOT / "examples" / "subprime_assumptions.yaml")
PRIME = ROOT / "examples" / "prime_deal.yaml"
TAPE = synthetic_pool("subprime", 150, 5)


def _probabilities(value: object) -> list[float]:
    """Every number under a key that names a probability in a (nested) events mapping."""
    out: list[float] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, int | float) and "prob" in str(key):
                out.append(float(item))
            else:
                out += _probabilities(item)
    elif isinstance(value, list):
        for item in value:
            out += _probabilities(item)
    return out


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(deal=deals(), fee_share=st.sampled_from([0.0, 0.001, 0.02, 0.2]),
       n_paths=st.sampled_from([8, 40, 96]), seed=st.integers(0, 2**31))
def test_el_pd_and_trigger_probabilities_stay_in_the_unit_interval(
        deal, fee_share: float, n_paths: int, seed: int) -> None:  # noqa: ANN001
    if fee_share:  # a fixed monthly fee of fee_share x the pool, paid first
        fee = Fee(name="big", usd_per_month=fee_share * TAPE.total_balance)
        deal = deal.model_copy(update={"fees": [*deal.fees, fee],
                                       "waterfall": [{"fee": "big"}, *deal.waterfall]})
    result = simulate(TAPE, deal, MODEL, n_paths=n_paths, seed=seed, chunk_size=32)
    assert result.provenance["variance_reduction"]["importance"] == "mixture"
    classes = result.class_summary()
    for column in ("el", "pd"):
        values = classes[column].to_numpy()
        assert np.all((values >= 0.0) & (values <= 1.0)), (column, values)
        se = classes[f"{column}_se"].to_numpy()
        assert np.all(np.isnan(se) | (se >= 0.0)), (column, se)
    triggers = result.triggers.drop(columns=["period"], errors="ignore").to_numpy(float)
    assert np.all((triggers >= 0.0) & (triggers <= 1.0)), result.triggers
    events = _probabilities(result.events)
    assert all(0.0 <= p <= 1.0 for p in events), result.events


def test_standard_errors_are_not_available_below_two_blocks() -> None:
    inputs = resolve_inputs(ROOT / "examples" / "prime_deal.yaml")
    one_block = simulate(TAPE, inputs.deal, inputs.model, n_paths=40, seed=1)
    block = one_block.se_block_size
    assert block > 40  # the stratified design's block: 40 paths are one block
    summary = one_block.class_summary()
    for column in ("el_se", "pd_se", "lgd_se", "wal_se"):
        assert summary[column].isna().all(), column
    assert percent_text(float(summary["el_se"].iloc[-1]), 4) == NOT_AVAILABLE
    two_blocks = simulate(TAPE, inputs.deal, inputs.model, n_paths=2 * block, seed=1)
    se = two_blocks.class_summary()["el_se"]
    assert np.isfinite(se).all() and (se >= 0).all()


def test_every_class_a_note_of_the_prime_example_shows_12_75_percent_group_ce():
    deal = load_deal(PRIME)
    program = compile_deal(deal, 1_000_000_000.0)
    assert deal.class_groups == ("A", "A", "A", "A", "A", "B", "C", "D")
    group = hard_credit_enhancement(deal, program, by_group=True)
    # B + C + D = 4.5% + 3.8% + 2.7% = 11%; OC 1 - 98.5% = 1.5%; reserve 0.25% -> 12.75%
    np.testing.assert_allclose(group[:5], 0.1275, rtol=0, atol=1e-12)
    np.testing.assert_allclose(group[5:], [0.0825, 0.0445, 0.0175], rtol=0, atol=1e-12)
    per_class = hard_credit_enhancement(deal, program)
    # per class, A-1 is also enhanced by A-2a..A-4: 12.75% + 75.5% = 88.25% (the 88%)
    assert per_class[0] == pytest.approx(0.8825, abs=1e-12)
    assert per_class[1] == per_class[2]  # A-2a / A-2b pro rata
    np.testing.assert_allclose(per_class[4:], group[4:], atol=1e-12)


def test_pool_result_renders_its_summary_as_an_html_table() -> None:
    """Notebook display of a pool-only run: hand-worked mean, every row, escaped provenance."""
    paths = pd.DataFrame({"cnl": [0.01, 0.02, 0.03, 0.04], "weight": [1.0] * 4})
    result = PoolSimulationResult(paths, pd.DataFrame(), pd.DataFrame(), 1_000_000.0,
                                  {"seed": "<7>"})
    page = result._repr_html_()
    assert page.startswith("<div><b>Pool</b>: 4 paths, seed &lt;7&gt;<table")
    shown = dict(re.findall(r"<tr><th>([^<]*)</th><td>([^<]*)</td></tr>", page))
    assert list(shown) == [label for _, label in POOL_SUMMARY_ROWS]
    assert shown["Initial pool balance"] == "1,000,000 USD"
    assert shown["Pool CNL, mean"] == "2.5000%"  # (1 + 2 + 3 + 4) / 4 percent
    stats = result.cnl_stats()
    for key, label in POOL_SUMMARY_ROWS[1:]:
        assert shown[label] == percent_text(stats[key], 4), label
