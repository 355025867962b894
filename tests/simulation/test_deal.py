"""Deal files: the examples load and compile; malformed deals name the file and the field."""

import copy
from pathlib import Path

import numpy as np
import pytest

from portfolio.errors import InputError
from portfolio.synthetic import synthetic_pool
from simulation.collateral import expected_flows, prepare_collateral
from simulation.deal import deal_from_dict, load_deal
from simulation.factor import calibrate
from simulation.model import load_model
from simulation.waterfall import compile_deal, run_waterfall

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DEALS = ["prime_deal.yaml", "subprime_turbo_deal.yaml", "prorata_trigger_deal.yaml"]

VALID = {
    "name": "two classes",
    "closing_date": "2025-01-15",
    "first_payment_date": "2025-02-15",
    "notes": [
        {"name": "A", "balance": 0.8, "coupon": 0.05},
        {"name": "B", "balance": 0.1, "type": "floating", "index": "SOFR30A", "spread": 0.02},
        {"name": "C", "balance": 0.05, "coupon": 0.08},
    ],
    "fees": [{"name": "servicing", "rate": 0.01}],
    "waterfall": [{"fee": "servicing"}, {"interest": ["A"]}, {"interest": ["B"]},
                  {"interest": ["C"]}, "regular_principal", "residual"],
}


def with_change(path, value):
    """VALID with ``value`` at the dotted ``path`` (list indices as integers)."""
    raw = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    node = raw
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return raw


@pytest.mark.parametrize("name", DEALS)
def test_examples_load_resolve_paths_and_compile(name):
    deal = load_deal(EXAMPLES / name)
    assert deal.assumptions is not None and deal.assumptions.is_absolute()
    assert deal.assumptions.is_file()
    assert deal.pool is not None and deal.pool.synthetic in ("prime", "subprime")
    program = compile_deal(deal, 1.0e9)
    assert program.original_balance.sum() < 1.0e9
    assert program.describe()[-1].endswith("residual")


def test_tape_path_resolves_relative_to_the_deal_file(tmp_path):
    (tmp_path / "deals").mkdir()
    text = (EXAMPLES / "prime_deal.yaml").read_text()
    text = text.replace("pool: {synthetic: prime, loans: 20000, seed: 42}",
                        "pool: {tape: ../tapes/pool.csv}")
    text = text.replace("assumptions: prime_assumptions.yaml", "assumptions: model.yaml")
    path = tmp_path / "deals" / "deal.yaml"
    path.write_text(text)
    deal = load_deal(path)
    assert deal.pool is not None
    assert deal.pool.tape == (tmp_path / "tapes" / "pool.csv").resolve()
    assert deal.assumptions == (tmp_path / "deals" / "model.yaml").resolve()


@pytest.mark.parametrize("name,kind", [("prime_deal.yaml", "prime"),
                                       ("subprime_turbo_deal.yaml", "subprime")])
def test_examples_protect_their_senior_classes_in_the_base_case(name, kind):
    deal = load_deal(EXAMPLES / name)
    assert deal.assumptions is not None
    tape = synthetic_pool(kind, 1500, seed=3)
    inputs, _ = calibrate(prepare_collateral(tape, load_model(deal.assumptions)))
    flows = expected_flows(inputs).flows
    result = run_waterfall(compile_deal(deal, float(tape.balance.sum())), flows)
    assert np.abs(result.cash_imbalance()).max() < 1e-6 * tape.balance.sum()
    assert result.principal_loss[0].sum() == 0.0  # expected losses leave every class whole
    assert result.event_of_default_period[0] == -1
    assert result.call_period[0] > 0
    assert result.residual[0].sum() > 0.0


def test_valid_deal_and_balances_as_fractions_or_usd():
    deal = deal_from_dict(VALID, "deal.yaml")
    assert deal.class_names == ("A", "B", "C")
    raw = with_change("notes.0", {"name": "A", "balance_usd": 800_000.0, "coupon": 0.05})
    program = compile_deal(deal_from_dict(raw), 1_000_000.0)
    np.testing.assert_allclose(program.original_balance, [800_000.0, 100_000.0, 50_000.0])


MALFORMED = [
    # (dotted path, new value, field named in the message, words in the message)
    ("waterfall.1", {"interest": ["A", "Z"]}, "waterfall.1.interest", "unknown class 'Z'"),
    ("waterfall.4", {"priority_principal": "Q"}, "waterfall.4.priority_principal",
     "unknown class 'Q'"),
    ("waterfall.0", {"fee": "trustee"}, "waterfall.0.fee", "unknown fee 'trustee'"),
    ("notes.0.balance", 0.9, "notes", "must not exceed the pool"),
    ("pro_rata_groups", [{"classes": ["A", "C"]}], "pro_rata_groups.0.classes", "not adjacent"),
    ("triggers", [{"name": "t", "metric": "cnl_ratio", "threshold": 0.1, "effect": "turbo"}],
     "triggers.0.metric", "Input should be"),
    ("notes.1", {"name": "B", "balance": 0.1, "type": "floating", "spread": 0.02},
     "notes.1.index", "needs index"),
    ("notes.1", {"name": "B", "balance": 0.1, "type": "floating", "index": "SOFR"},
     "notes.1.spread", "needs spread"),
    ("notes.2.balance", -0.05, "notes.2.balance", "greater than 0"),
    ("notes.2.name", "A", "notes.2.name", "duplicate class name 'A'"),
    ("notes.0", {"name": "A", "balance": 0.8}, "notes.0.coupon", "needs coupon"),
    ("fees.0.rate", -0.01, "fees.0.rate", "greater than or equal to 0"),
    ("waterfall.5", "cash_trap", "waterfall.5", "unknown step"),
    ("waterfall.2", {"interest": ["C"]}, "waterfall", "no interest step pays"),
    ("first_payment_date", "2024-12-15", "first_payment_date", "after closing_date"),
    ("swaps", [{"note": "A", "fixed_rate": 0.04}], "swaps.0.note", "swaps hedge floating"),
    ("reserve", {"initial": 0.01, "target": 1.5}, "reserve.target", "less than or equal to 1"),
    ("triggers", [{"name": "t", "metric": "cnl", "effect": "turbo"}], "triggers.0.threshold",
     "exactly one of threshold or schedule"),
    ("triggers", [{"name": "t", "metric": "cnl", "schedule": [[3, 0.01]], "effect": "turbo"}],
     "triggers.0.schedule", "start at 1"),
    ("notes.1.cap", -0.01, "notes.1.cap", "below floor"),
    ("waterfall.0", "residual", "waterfall.0", "residual must be the last step"),
    ("clean_up_call", 1.5, "clean_up_call", "less than or equal to 1"),
    ("pool", {"synthetic": "prime", "tape": "x.csv"}, "pool", "exactly one of tape"),
    ("notes.0.legal_final", "2024-01-15", "notes.0.legal_final", "before first_payment_date"),
    ("overcollateralization", {"target_current": 0.05, "build": True},
     "overcollateralization.build", "unknown field"),
    ("triggers", [{"name": "t", "metric": "cnl", "threshold": 0.1, "effect": "oc_step_up"}],
     "triggers.0.effect", "oc_step_up needs overcollateralization.step_up_target_current"),
    ("overcollateralization", {"target_current": 0.05, "step_up_target_current": 1.2},
     "overcollateralization.step_up_target_current", "less than or equal to 1"),
    ("events_of_default", {"interest_grace_periods": -1},
     "events_of_default.interest_grace_periods", "greater than or equal to 0"),
    ("accelerated_waterfall", [{"interest": ["A", "B", "C"]}, {"principal": ["A"]},
                               {"principal": ["C"]}],
     "accelerated_waterfall.2.principal", "none skipped"),
    ("accelerated_waterfall", [{"interest": ["A", "B", "C"]}, {"principal": ["A", "Z"]}],
     "accelerated_waterfall.1.principal", "unknown class 'Z'"),
    ("accelerated_waterfall", [{"interest": ["A", "B", "C"]}, "regular_principal"],
     "accelerated_waterfall.1", "unknown step"),
    ("accelerated_waterfall", [{"interest": ["A", "B"]}, {"principal": ["A", "B", "C"]}],
     "accelerated_waterfall", "the interest steps must pay every class"),
    ("accelerated_waterfall", [{"fee": "trustee"}, {"interest": ["A", "B", "C"]},
                               {"principal": ["A", "B", "C"]}],
     "accelerated_waterfall.0.fee", "unknown fee 'trustee'"),
]


@pytest.mark.parametrize("path,value,field,words", MALFORMED,
                         ids=[m[2] + ":" + m[3][:20] for m in MALFORMED])
def test_malformed_deal_names_file_and_field(path, value, field, words):
    raw = with_change(path, value)
    if path == "notes.1.cap":
        raw["notes"][1]["floor"] = 0.0
    with pytest.raises(InputError) as info:
        deal_from_dict(raw, source="deals/bad.yaml")
    err = info.value
    assert err.source == "deals/bad.yaml"
    matching = [p for p in err.problems if p.field == field]
    assert matching, f"no problem names {field}: {err}"
    assert any(words in p.message for p in matching), str(err)
    assert str(err).startswith("deals/bad.yaml")


def test_usd_notes_above_the_pool_fail_at_compile():
    raw = with_change("notes.0", {"name": "A", "balance_usd": 2e6, "coupon": 0.05})
    deal = deal_from_dict(raw)
    with pytest.raises(InputError, match="above the initial pool balance"):
        compile_deal(deal, 1e6, source="deal.yaml")


def test_load_deal_reports_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load_deal(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_deal(bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(InputError, match="expected a mapping"):
        load_deal(listed)
