"""Idealized EL table, implied rating, EL targets, CSV validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from portfolio.errors import InputError
from simulation import ratings as r

HEADER = "rating,1,2,3,4,5,6,7,8,9,10"


def table_lines() -> list[str]:
    """A valid table: built-in values as text, header first."""
    t = r.builtin_el_table()
    rows = [
        ",".join([name] + [f"{v * 100:.6f}" for v in row])
        for name, row in zip(t.ratings, t.expected_loss, strict=True)
    ]
    return [HEADER, *rows]


def write(tmp_path: Path, lines: list[str], name: str = "el_table.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_builtin_table_is_labelled_approximate_and_complete() -> None:
    t = r.builtin_el_table()
    assert t.approximate
    assert "APPROXIMATE" in t.source
    assert t.ratings == r.RATING_SCALE and len(t.ratings) == 20
    np.testing.assert_array_equal(t.wal_years, np.arange(1.0, 11.0))
    assert t.expected_loss.shape == (20, 10)
    assert not t.expected_loss.flags.writeable
    assert "APPROXIMATE" in (r.__doc__ or "")


def test_builtin_table_is_monotone() -> None:
    el = r.builtin_el_table().expected_loss
    assert np.all(el >= 0.0) and np.all(el <= 1.0)
    assert np.all(np.diff(el, axis=1) >= 0.0)  # longer WAL, more loss allowed
    assert np.all(np.diff(el, axis=0) > 0.0)  # worse rating, more loss allowed


def test_implied_rating_of_zero_el_is_aaa() -> None:
    for wal in (0.25, 1.0, 3.3, 10.0, 30.0):
        assert r.implied_rating(0.0, wal) == "Aaa"


def test_implied_rating_hand_example() -> None:
    # built-in 3-year column: Baa2 0.4675%, Baa3 0.99%  ->  EL 0.5% is Baa3
    assert r.implied_rating(0.005, 3.0) == "Baa3"
    # interpolation: at WAL 4.5, Baa2 = (0.6765% + 0.88%) / 2 = 0.77825%
    assert r.el_target("Baa2", 4.5) == pytest.approx(0.0077825, rel=1e-12)
    assert r.implied_rating(0.0077825, 4.5) == "Baa2"  # equal to the target keeps the rating
    assert r.implied_rating(0.0077826, 4.5) == "Baa3"
    # clamping outside 1..10 years
    assert r.el_target("A2", 0.5) == r.el_target("A2", 1.0)
    assert r.el_target("A2", 14.0) == pytest.approx(0.0055)
    # beyond every entry: the bottom bucket
    assert r.implied_rating(0.9, 2.0) == "Ca/C"


def test_implied_rating_index_vectorises() -> None:
    idx = r.implied_rating_index(np.array([0.0, 0.005, 0.9]), 3.0)
    assert [r.RATING_SCALE[i] for i in idx] == ["Aaa", "Baa3", "Ca/C"]
    with pytest.raises(ValueError):
        r.implied_rating_index(-0.1, 3.0)


def test_el_target_is_consistent_with_implied_rating() -> None:
    for rating in r.RATING_SCALE:
        for wal in (1.0, 2.7, 6.0):
            assert r.implied_rating(r.el_target(rating, wal), wal) == rating


def test_el_target_unknown_rating() -> None:
    with pytest.raises(InputError, match="unknown rating 'AAA-'"):
        r.el_target("AAA-", 3.0)
    assert r.el_target("baa2", 3.0) == r.el_target("Baa2", 3.0)
    assert r.el_target("Ca-C", 3.0) == r.el_target("Ca/C", 3.0)


def test_user_table_round_trip_and_decimal_unit(tmp_path: Path) -> None:
    t = r.load_el_table(write(tmp_path, table_lines()))
    assert not t.approximate
    np.testing.assert_allclose(t.expected_loss, r.builtin_el_table().expected_loss, rtol=1e-6)
    lines = table_lines()
    dec = [lines[0]] + [
        ",".join([row.split(",")[0]] + [repr(float(v) / 100) for v in row.split(",")[1:]])
        for row in lines[1:]
    ]
    t_dec = r.load_el_table(write(tmp_path, dec, "dec.csv"), unit="decimal")
    np.testing.assert_allclose(t_dec.expected_loss, t.expected_loss, rtol=1e-12)
    assert r.implied_rating(0.005, 3.0, t) == "Baa3"


def test_user_table_with_other_wal_grid(tmp_path: Path) -> None:
    lines = ["rating,0.5,2,5"] + [
        f"{name},{k * 0.1:.2f},{k * 0.2:.2f},{k * 0.5:.2f}"
        for k, name in enumerate(r.RATING_SCALE, start=1)
    ]
    t = r.load_el_table(write(tmp_path, lines))
    # at WAL 3.5: halfway between the 2-y and 5-y columns: k * 0.35 %
    assert r.el_target("A1", 3.5, t) == pytest.approx(5 * 0.35 / 100)
    assert r.implied_rating(5 * 0.35 / 100 + 1e-9, 3.5, t) == "A2"


def _error(tmp_path: Path, lines: list[str]) -> str:
    path = write(tmp_path, lines)
    with pytest.raises(InputError) as info:
        r.load_el_table(path)
    msg = str(info.value)
    assert str(path) in msg
    return msg


def test_bad_csv_non_monotone_in_wal(tmp_path: Path) -> None:
    lines = table_lines()
    cells = lines[8].split(",")  # row 8 = Baa1
    cells[4] = "0.1"  # WAL 4 below WAL 3
    lines[8] = ",".join(cells)
    msg = _error(tmp_path, lines)
    assert "row 8, 4: non-monotone" in msg and "Baa1" in msg


def test_bad_csv_non_monotone_across_ratings(tmp_path: Path) -> None:
    lines = table_lines()
    lines[3] = ",".join(["Aa2"] + ["0.00001"] * 10)  # row 3 = Aa2, below Aa1 everywhere
    msg = _error(tmp_path, lines)
    assert "row 3, 1: non-monotone: EL for Aa2 is below the EL for the better rating Aa1" in msg


def test_bad_csv_negative_value(tmp_path: Path) -> None:
    lines = table_lines()
    cells = lines[12].split(",")  # row 12 = Ba2
    cells[6] = "-1.5"
    lines[12] = ",".join(cells)
    msg = _error(tmp_path, lines)
    assert "row 12, 6: EL for Ba2 must lie in [0, 100] percent; received -1.5" in msg


def test_bad_csv_non_numeric_and_empty_value(tmp_path: Path) -> None:
    lines = table_lines()
    cells = lines[5].split(",")  # row 5 = A1
    cells[2], cells[10] = "n/a", ""
    lines[5] = ",".join(cells)
    msg = _error(tmp_path, lines)
    assert "row 5, 2: expected an EL in percent for A1, received 'n/a'" in msg
    assert "row 5, 10: expected an EL in percent for A1, received ''" in msg


def test_bad_csv_missing_ratings(tmp_path: Path) -> None:
    lines = [line for line in table_lines() if not line.startswith(("Caa2", "B1,"))]
    msg = _error(tmp_path, lines)
    assert "rating: missing ratings: B1, Caa2" in msg


def test_bad_csv_unknown_duplicate_and_blank_rating(tmp_path: Path) -> None:
    lines = table_lines()
    lines.insert(3, lines[2])  # Aa1 twice: the copy is row 3
    lines[10] = "BBB" + lines[10][lines[10].index(",") :]
    lines[15] = lines[15][lines[15].index(",") :]
    msg = _error(tmp_path, lines)
    assert "row 3, rating: duplicate rating Aa1" in msg
    assert "row 10, rating: unknown rating 'BBB'" in msg
    assert "row 15, rating: missing rating" in msg


def test_bad_csv_out_of_order(tmp_path: Path) -> None:
    lines = table_lines()
    lines[1], lines[2] = lines[2], lines[1]  # Aa1 before Aaa
    msg = _error(tmp_path, lines)
    assert "row 2, rating: Aaa listed after Aa1" in msg


def test_bad_csv_header_and_missing_file(tmp_path: Path) -> None:
    lines = table_lines()
    lines[0] = "grade,1,2,3,4,5,6,7,8,9,10"
    assert "first column must be 'rating'" in _error(tmp_path, lines)
    lines[0] = "rating,1,2,3,x,5,6,7,8,9,10"
    assert "x: column header must be a WAL in years" in _error(tmp_path, lines)
    lines[0] = "rating,1,2,3,4,5,5,7,8,9,10"
    assert "WAL columns must be positive years in increasing order" in _error(tmp_path, lines)
    missing = tmp_path / "nope.csv"
    with pytest.raises(InputError, match="nope.csv: cannot read"):
        r.load_el_table(missing)


def test_bad_csv_wrong_field_count(tmp_path: Path) -> None:
    lines = table_lines()
    lines[4] = lines[4] + ",1.0"
    assert "row 4, rating: expected 11 fields, received 12" in _error(tmp_path, lines)
