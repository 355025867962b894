"""Stratification tables and concentration measures: hand-worked cases and properties."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from portfolio._format import number_text, percent_text
from portfolio.strats import (
    NAN_NOTE,
    STRAT_COLUMNS,
    TOTAL,
    Concentration,
    concentration,
    effective_number,
    gini,
    hhi,
    strat_table,
    top_share,
)
from portfolio.synthetic import synthetic_pool
from portfolio.tape import LoanTape, tape_from_columns


def _three_loan_tape() -> LoanTape:
    """Balances 50/30/20 in CA/TX/CA; loan 3 has no FICO."""
    return tape_from_columns(
        {
            "loan_id": np.array(["a", "b", "c"]),
            "balance": np.array([50.0, 30.0, 20.0]),
            "rate": np.array([0.10, 0.20, 0.05]),
            "original_term": np.array([60, 72, 36]),
            "remaining_term": np.array([50, 70, 30]),
            "fico": np.array([700.0, 600.0, np.nan]),
            "ltv": np.array([1.0, 1.2, 0.8]),
            "state": np.array(["CA", "TX", "CA"]),
            "vehicle_new": np.array([True, False, False]),
            "vehicle_year": np.array([2024, 2019, 0]),
        }
    )


# ---------------------------------------------------------------- hand-worked measures


@pytest.mark.parametrize("n", [1, 2, 7, 100])
def test_equal_shares(n: int) -> None:
    w = np.full(n, 3.5)
    assert hhi(w) == pytest.approx(1.0 / n)
    assert effective_number(w) == pytest.approx(n)
    assert gini(w) == pytest.approx(0.0, abs=1e-12)
    c = concentration(w)
    assert c.n_groups == n
    assert c.effective_number == pytest.approx(n)
    assert c.top(1) == pytest.approx(1.0 / n)


def test_single_loan() -> None:
    assert hhi([123.0]) == 1.0
    assert gini([123.0]) == 0.0
    c = concentration([123.0])
    assert c.hhi == 1.0 and c.effective_number == 1.0 and c.largest_share == 1.0


def test_three_groups_by_hand() -> None:
    # shares 0.5, 0.3, 0.2: HHI = 0.25 + 0.09 + 0.04 = 0.38, effective N = 1/0.38.
    # Gini: sum |w_i - w_j| over ordered pairs = 2 (10 + 30 + 20) = 120;
    # 2 n^2 mean = 2 * 9 * 100/3 = 600 -> G = 0.2.
    c = concentration({"X": 20.0, "Y": 50.0, "Z": 30.0}, "dealer")
    assert c.dimension == "dealer"
    assert c.names == ("Y", "Z", "X")
    np.testing.assert_allclose(c.shares, [0.5, 0.3, 0.2])
    assert c.hhi == pytest.approx(0.38)
    assert c.effective_number == pytest.approx(1 / 0.38)
    assert c.gini == pytest.approx(0.2)
    assert dict(c.top_shares) == pytest.approx({1: 0.5, 5: 1.0, 10: 1.0})
    assert c.top(2) == pytest.approx(0.8)
    assert top_share([20.0, 50.0, 30.0], 2) == pytest.approx(0.8)
    assert (c.largest_name, c.largest_share) == ("Y", pytest.approx(0.5))
    frame = c.to_frame()
    assert list(frame["cumulative_share"]) == pytest.approx([0.5, 0.8, 1.0])


def test_gini_of_one_holding_everything() -> None:
    assert gini([0.0, 0.0, 0.0, 10.0]) == pytest.approx(0.75)  # 1 - 1/n


def test_concentration_of_series_and_result_is_immutable() -> None:
    c = concentration(pd.Series([1.0, 3.0], index=["a", "b"]))
    assert c.names == ("b", "a")
    assert isinstance(c, Concentration)
    with pytest.raises(ValueError):
        c.shares[0] = 0.0
    with pytest.raises(AttributeError):
        c.hhi = 0.0  # type: ignore[misc]


@pytest.mark.parametrize("bad", [[], [1.0, -1.0], [0.0, 0.0], [np.nan, 1.0], [[1.0, 2.0]]])
def test_bad_weights_are_rejected(bad: list[float]) -> None:
    with pytest.raises(ValueError):
        hhi(bad)


def test_concentration_of_tape() -> None:
    tape = _three_loan_tape()
    c = concentration(tape, "state")
    assert c.names == ("CA", "TX")
    assert c.hhi == pytest.approx(0.7**2 + 0.3**2)
    with pytest.raises(ValueError, match="by="):
        concentration(tape)


# ---------------------------------------------------------------- strat tables


def test_strat_by_state_by_hand() -> None:
    t = strat_table(_three_loan_tape(), "state")
    assert list(t.columns) == list(STRAT_COLUMNS)
    assert list(t["bucket"]) == ["CA", "TX", TOTAL]
    ca = t.iloc[0]
    assert ca["count"] == 2 and ca["balance"] == 70.0
    assert ca["share_of_balance"] == pytest.approx(0.7)
    assert ca["share_of_count"] == pytest.approx(2 / 3)
    assert ca["wa_rate"] == pytest.approx((50 * 0.10 + 20 * 0.05) / 70)
    assert ca["wa_fico"] == pytest.approx(700.0)  # loan c has no FICO: ignored, not zero
    assert ca["wa_remaining_term"] == pytest.approx((50 * 50 + 20 * 30) / 70)
    total = t.iloc[-1]
    assert total["wa_fico"] == pytest.approx((50 * 700 + 30 * 600) / 80)
    assert t.attrs["note"] == NAN_NOTE


def test_strat_fico_bands_with_unknown() -> None:
    t = strat_table(_three_loan_tape(), "fico")
    assert list(t["bucket"]) == ["580-619", "700-739", "unknown", TOTAL]
    assert np.isnan(t.loc[t["bucket"] == "unknown", "wa_fico"].iloc[0])


def test_strat_new_used_and_model_year() -> None:
    tape = _three_loan_tape()
    assert list(strat_table(tape, "new_used")["bucket"]) == ["new", "used", TOTAL]
    assert list(strat_table(tape, "vehicle_year")["bucket"]) == ["2019", "2024", "unknown", TOTAL]


def test_categorical_groups_from_codes_and_missing_values() -> None:
    """Flags and payment types are grouped from their codes, a missing text (None) is a group
    of its own (pandas names it nan): the groups grouping their labels gives, by balance."""
    tape = tape_from_columns(
        {
            "loan_id": np.array(["a", "b", "c", "d"]),
            "balance": np.array([10.0, 40.0, 30.0, 20.0]),
            "rate": np.full(4, 0.05),
            "original_term": np.full(4, 60),
            "remaining_term": np.full(4, 50),
            "vehicle_new": np.array([False, True, False, False]),
            "payment_type": np.array(["lease", "level", "lease", "level"]),
            "balloon_amount": np.array([5.0, 0.0, 5.0, 0.0]),
            "vehicle_make": np.array(["Ford", None, "", "Ford"], dtype=object),
        }
    )
    by_new = strat_table(tape, "new_used")
    assert list(by_new["bucket"]) == ["used", "new", TOTAL]
    assert list(by_new["balance"]) == [60.0, 40.0, 100.0]
    by_type = strat_table(tape, "payment_type")
    assert list(by_type["bucket"]) == ["level", "lease", TOTAL]
    assert list(by_type["count"]) == [2, 2, 4]
    by_make = strat_table(tape, "make")
    assert list(by_make["bucket"]) == ["nan", "Ford", "unknown", TOTAL]  # None: its own group
    assert list(by_make["balance"]) == [40.0, 30.0, 30.0, 100.0]
    assert concentration(tape, "make").names == ("nan", "Ford", "unknown")


def test_strat_custom_buckets() -> None:
    t = strat_table(_three_loan_tape(), "rate", buckets=[0.08, 0.15])
    assert list(t["bucket"]) == ["<0.08", "0.08 to <0.15", "0.15+", TOTAL]
    assert list(t["count"]) == [1, 1, 1, 3]
    with pytest.raises(ValueError, match="categorical"):
        strat_table(_three_loan_tape(), "state", buckets=[1.0])
    with pytest.raises(ValueError, match="increasing"):
        strat_table(_three_loan_tape(), "rate", buckets=[0.2, 0.1])


def test_unknown_column() -> None:
    with pytest.raises(ValueError, match="unknown strat column 'colour'"):
        strat_table(_three_loan_tape(), "colour")


BY = ["state", "vehicle_make", "fico", "apr", "original_term", "remaining_term", "ltv", "pti",
      "new_used", "vehicle_year", "balance", "age", "dealer_id", "vehicle_type",
      "days_past_due", "origination_date", "segment", "payment_type"]


@pytest.fixture(scope="module")
def pool() -> LoanTape:
    return synthetic_pool("subprime", 5_000, seed=3)


@pytest.mark.parametrize("by", BY)
def test_strat_totals_equal_the_pool(pool: LoanTape, by: str) -> None:
    t = strat_table(pool, by)
    body, total = t.iloc[:-1], t.iloc[-1]
    assert total["bucket"] == TOTAL
    assert body["count"].sum() == len(pool) == total["count"]
    assert body["balance"].sum() == pytest.approx(pool.total_balance, rel=1e-12)
    assert body["share_of_balance"].sum() == pytest.approx(1.0)
    assert body["share_of_count"].sum() == pytest.approx(1.0)
    assert (body["count"] > 0).all()
    summary = pool.summary()
    assert total["wa_rate"] == pytest.approx(summary["wa_rate"])
    assert total["wa_fico"] == pytest.approx(summary["wa_fico"])
    # bucket WA recombine to the pool WA (weights = known balance per bucket)
    assert np.nansum(body["wa_rate"] * body["balance"]) / body["balance"].sum() == pytest.approx(
        total["wa_rate"]
    )


def test_categorical_rows_sorted_by_balance(pool: LoanTape) -> None:
    body = strat_table(pool, "state").iloc[:-1]
    assert body["balance"].is_monotonic_decreasing


def test_concentration_matches_strat(pool: LoanTape) -> None:
    c = concentration(pool, "state")
    body = strat_table(pool, "state").iloc[:-1]
    np.testing.assert_allclose(np.sort(c.shares), np.sort(body["share_of_balance"].to_numpy()))
    assert c.hhi == pytest.approx(float(np.sum(body["share_of_balance"] ** 2)))


# ---------------------------------------------------------------- properties

weights_st = arrays(
    np.float64,
    st.integers(1, 60),
    elements=st.one_of(st.just(0.0), st.floats(1e-6, 1e9)),  # no denormals: scaling underflows
).filter(lambda w: w.sum() > 0)


@settings(max_examples=200, deadline=None)
@given(weights_st)
def test_hhi_bounds(w: np.ndarray) -> None:
    n = w.size
    h = hhi(w)
    assert 1.0 / n - 1e-12 <= h <= 1.0 + 1e-12
    assert 1.0 - 1e-9 <= effective_number(w) <= n + 1e-9
    assert 0.0 <= gini(w) <= 1.0 - 1.0 / n + 1e-9


@settings(max_examples=200, deadline=None)
@given(weights_st, st.randoms(use_true_random=False), st.floats(1e-3, 1e3))
def test_measures_invariant_to_permutation_and_scaling(
    w: np.ndarray, rnd: object, scale: float
) -> None:
    perm = w.copy()
    rnd.shuffle(perm)  # type: ignore[attr-defined]
    for f in (hhi, gini):
        assert f(perm) == pytest.approx(f(w), rel=1e-9, abs=1e-12)
        assert f(w * scale) == pytest.approx(f(w), rel=1e-9, abs=1e-12)
    for k in (1, 5, 10):
        assert top_share(w * scale, k) == pytest.approx(top_share(perm, k), rel=1e-9, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(weights_st)
def test_gini_matches_pairwise_definition(w: np.ndarray) -> None:
    n = w.size
    pairwise = np.abs(w[:, None] - w[None, :]).sum() / (2 * n * n * w.mean())
    assert gini(w) == pytest.approx(pairwise, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize(("x", "decimals", "text"), [
    (0.012345, 4, "1.2345%"),
    (0.0, 4, "0.0000%"),
    (2.6e-8, 4, "< 0.0001%"),      # a senior class's EL: not "0.0000%", not 2.60e-06%
    (4.9e-7, 4, "< 0.0001%"),      # would round to 0.0000%
    (6e-7, 4, "0.0001%"),          # rounds to the last place shown: as is
    (1.11e-263, 2, "< 0.01%"),     # never 1.11e-261%
    (-3e-9, 3, "> -0.001%"),
    (-0.0, 2, "0.00%"),            # no negative zero
    (-4e-5, 2, "> -0.01%"),
])
def test_percent_text_never_prints_a_nonzero_value_as_zero(x, decimals, text):
    assert percent_text(x, decimals) == text


@pytest.mark.parametrize(("x", "spec", "text"), [
    (-0.001, ".2f", "0.00"), (-0.0, ",.0f", "0"), (-1.5, ".2f", "-1.50"),
    (-0.4, ",.0f", "0"), (1234.5, ",.1f", "1,234.5"),
])
def test_number_text_has_no_negative_zero(x, spec, text):
    assert number_text(x, spec) == text


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
       st.integers(min_value=0, max_value=6))
@settings(max_examples=300, deadline=None)
def test_percent_text_has_no_scientific_notation_or_negative_zero(x, decimals):
    shown = percent_text(x, decimals)
    assert "e" not in shown.lower()
    assert not re.fullmatch(r"-[0.,]*%", shown)
    assert (shown == f"{0.0:.{decimals}%}") == (x == 0.0)  # zero only for zero
