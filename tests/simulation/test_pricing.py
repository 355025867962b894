"""Benchmark curves, spread and discount margin: hand cases, round trips and QuantLib."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from portfolio.errors import InputError
from simulation import metrics as m
from simulation.pricing import (
    load_benchmark_curve,
    parse_tenor,
    spread_to_benchmark,
    yield_from_spread,
)

ql = pytest.importorskip("QuantLib", reason="QuantLib is the declared test oracle (test extra)")


def write_curve(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "curve.csv"
    path.write_text(text)
    return path


def test_tenors():
    assert parse_tenor("3M") == pytest.approx(0.25)
    assert parse_tenor("2y") == 2.0 and parse_tenor("1.5") == 1.5
    assert parse_tenor("13W") == pytest.approx(91 / 365)
    with pytest.raises(ValueError, match="tenor"):
        parse_tenor("two years")


def test_curve_file_errors_name_the_file_row_and_field(tmp_path: Path):
    bad = write_curve(tmp_path, "tenor,rate\n1M,0.05\n6M,abc\n1M,0.051\nxx,0.05\n2Y,7\n")
    with pytest.raises(InputError) as info:
        load_benchmark_curve(bad)
    text = str(info.value)
    assert "curve.csv" in text
    assert "row 2, rate" in text and "row 3, tenor" in text and "row 4, tenor" in text
    assert "row 5, rate" in text
    with pytest.raises(InputError, match="tenor and rate"):
        load_benchmark_curve(write_curve(tmp_path, "maturity,yield\n1,0.05\n"))


def test_i_spread_interpolates_the_curve_like_quantlib(tmp_path: Path):
    path = write_curve(tmp_path, "tenor,rate\n1M,0.0530\n6M,0.0545\n1Y,0.0540\n2Y,0.0480\n"
                                 "3Y,0.0450\n5Y,0.0425\n")
    curve = load_benchmark_curve(path)
    oracle = ql.LinearInterpolation(list(curve.tenor_years), list(curve.rate))
    wal = np.array([0.2, 0.93, 1.17, 2.16, 3.17, 3.69, 4.5])
    expected = np.array([oracle(float(w), True) for w in wal])
    np.testing.assert_allclose(curve.rate_at(wal), expected, rtol=0, atol=1e-15)
    y = np.full(wal.shape, 0.0572)
    spread = spread_to_benchmark(y, wal, curve)
    np.testing.assert_allclose(yield_from_spread(spread, wal, curve), y, rtol=0, atol=1e-15)
    assert curve.rate_at(10.0) == 0.0425 and curve.rate_at(0.01) == 0.0530  # flat ends


def floater(balance: float, index: np.ndarray, margin: float, alpha: np.ndarray,
            principal: np.ndarray) -> np.ndarray:
    start = balance - np.concatenate([[0.0], np.cumsum(principal)[:-1]])
    return start * (index + margin) * alpha + principal


def test_discount_margin_at_par_is_the_spread_and_reprices_like_quantlib():
    days = np.array([20.0, 31, 31, 30, 30, 32, 31, 29, 31, 30, 31, 30])
    alpha = days / 360.0
    index = np.linspace(0.053, 0.045, 12)  # a falling projected SOFR path
    principal = np.full(12, 1000.0 / 12)
    cf = floater(1000.0, index, 0.008, alpha, principal)
    assert m.discount_margin(cf, 1000.0, alpha, index) == pytest.approx(0.008, abs=1e-14)
    dm = m.discount_margin(cf, 998.0, alpha, index)
    assert dm > 0.008
    # QuantLib: simple act/360 discounting over each period at index + DM, chained
    dc = ql.Actual360()
    start = ql.Date(26, ql.July, 2023)
    dates = [start]
    for d in days:
        dates.append(dates[-1] + int(d))
    df, pv_ql = 1.0, 0.0
    for t in range(12):
        rate = ql.InterestRate(float(index[t] + dm), dc, ql.Simple, ql.Once)
        df *= rate.discountFactor(dates[t], dates[t + 1])
        pv_ql += cf[t] * df
    assert pv_ql == pytest.approx(998.0, rel=1e-12)


def test_price_yield_round_trip_to_1e_10():
    rng = np.random.default_rng(5)
    alpha = np.r_[19.0, np.full(35, 30.0)] / 360.0
    principal = rng.dirichlet(np.ones(36), size=200) * 100.0
    start = 100.0 - np.concatenate([np.zeros((200, 1)), np.cumsum(principal, axis=1)[:, :-1]],
                                   axis=1)
    cf = start * 0.0572 * alpha + principal
    price = rng.uniform(95.0, 105.0, size=200)
    y = m.cashflow_yield(cf, price, alpha)
    np.testing.assert_allclose(m.price_from_yield(cf, y, alpha), price, rtol=1e-10, atol=0)
    back = m.cashflow_yield(cf, m.price_from_yield(cf, y, alpha), alpha)
    np.testing.assert_allclose(back, y, rtol=0, atol=1e-10)
