"""InputError: every problem kept, the printed listing capped per field with counts."""

from __future__ import annotations

from portfolio.errors import SHOWN_PER_FIELD, InputError, Problem


def _error(n_rows: int) -> InputError:
    return InputError("tape.csv", [Problem(r, field, "must be > 0, got '-5'")
                                   for r in range(1, n_rows + 1) for field in ("balance", "rate")])


def test_a_short_listing_is_printed_whole() -> None:
    exc = _error(SHOWN_PER_FIELD)
    assert not exc.capped and exc.summary() == str(exc)
    assert str(exc).count("\n") == 2 * SHOWN_PER_FIELD


def test_a_long_listing_shows_the_first_problems_per_field_and_counts_the_rest() -> None:
    exc = _error(500_000)
    assert exc.capped and len(exc.problems) == 1_000_000
    lines = exc.summary().splitlines()
    assert lines[0] == "tape.csv: 1,000,000 problems"
    assert sum(line.startswith("  row ") for line in lines) == 2 * SHOWN_PER_FIELD
    assert "  row 10, rate: must be > 0, got '-5'" in lines
    assert "  row 11, balance: must be > 0, got '-5'" not in lines
    assert lines[-2:] == ["  balance: 499,990 more (500,000 in all)",
                          "  rate: 499,990 more (500,000 in all)"]
