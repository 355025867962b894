"""Tests of the CSV / Parquet loan-tape loaders and the shared frame validation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfolio.errors import InputError
from portfolio.loaders import (
    CAPS,
    LINE_MONEY_MAX,
    TERM_MAX_MONTHS,
    TapeLoad,
    default_reject_path,
    load_tape,
    validate_frame,
)
from portfolio.tape import BALLOON, COLUMNS, LEASE, LEVEL, original_balance_from_current

Row = dict[str, str]

MAPPING = {"LoanNumber": "loan_id", "APR": "rate", "Term": "original_term"}


def clean_row(i: int, **overrides: str) -> Row:
    """One valid loan as CSV text, canonical column names."""
    row = {
        "loan_id": f"L{i:04d}",
        "balance": "10000.00",
        "rate": "0.0725",
        "original_term": "60",
        "remaining_term": "48",
        "age": "12",
        "original_balance": "15000",
        "payment_type": "level",
        "balloon_amount": "",
        "fico": "700",
        "ltv": "0.95",
        "pti": "0.12",
        "vehicle_value": "",
        "vehicle_new": "yes",
        "vehicle_make": "TOYOTA",
        "vehicle_year": "2020",
        "state": "CA",
        "origination_date": "2022-01-15",
        "days_past_due": "0",
        "segment": "prime",
        "loan_count": "1",
        "months_before_cutoff": "0",
    }
    row.update(overrides)
    return row


def write_csv(path: Path, rows: list[Row], rename: dict[str, str] | None = None) -> Path:
    frame = pd.DataFrame(rows, dtype=str)
    if rename:
        frame = frame.rename(columns=rename)
    frame.to_csv(path, index=False)
    return path


def problem_places(exc: InputError) -> set[tuple[int | None, str]]:
    return {(p.row, p.field) for p in exc.problems}


# ---------------------------------------------------------------------------------------------
# Clean tapes
# ---------------------------------------------------------------------------------------------


def test_clean_csv_with_mapping_loads(tmp_path: Path) -> None:
    rows = [clean_row(i) for i in range(1, 6)]
    rows[1].update(payment_type="balloon", balloon_amount="3000")
    rows[2].update(payment_type="Lease", balloon_amount="4000", vehicle_new="USED")
    rows[3].update(origination_date="03/31/2021", fico="", pti="NA")
    rows[4].update(origination_date="07/2020", vehicle_new="0")
    for r in rows:
        r["Notes"] = "free text"
    path = write_csv(
        tmp_path / "tape.csv", rows,
        rename={"loan_id": "LoanNumber", "rate": "APR", "original_term": "Term"},
    )
    load = load_tape(path, columns=MAPPING)

    assert isinstance(load, TapeLoad)
    assert (load.n_rows, load.n_loaded, load.n_rejected) == (5, 5, 0)
    assert load.reject_path is None
    assert load.source == str(path)
    assert load.ignored_columns == ("Notes",)
    tape = load.tape
    assert list(tape.loan_id) == [f"L{i:04d}" for i in range(1, 6)]
    np.testing.assert_allclose(tape.rate, 0.0725)
    np.testing.assert_array_equal(tape.original_term, 60)
    np.testing.assert_array_equal(tape.payment_type, [LEVEL, BALLOON, LEASE, LEVEL, LEVEL])
    np.testing.assert_allclose(tape.balloon_amount, [0, 3000, 4000, 0, 0])
    np.testing.assert_array_equal(tape.vehicle_new, [True, True, False, True, False])
    assert np.isnan(tape.fico[3]) and np.isnan(tape.pti[3])
    np.testing.assert_array_equal(
        tape.origination_date,
        np.array(["2022-01-15", "2022-01-15", "2022-01-15", "2021-03-31", "2020-07-01"],
                 dtype="datetime64[D]"),
    )
    assert tape.segment[0] == "prime" and tape.vehicle_type[0] == "unknown"


def test_clean_parquet_with_mapping_loads(tmp_path: Path) -> None:
    rows = [clean_row(i) for i in range(1, 5)]
    csv_load = load_tape(write_csv(tmp_path / "tape.csv", rows))
    typed = pd.DataFrame(
        {
            "LoanNumber": [r["loan_id"] for r in rows],
            "balance": [10000.0] * 4,
            "APR": [0.0725] * 4,
            "Term": np.full(4, 60, dtype=np.int32),
            "remaining_term": pd.array([48] * 4, dtype="Int64"),
            "age": [12] * 4,
            "original_balance": [15000.0] * 4,
            "payment_type": ["level"] * 4,
            "fico": [700.0] * 4,
            "ltv": [0.95] * 4,
            "pti": [0.12] * 4,
            "vehicle_new": [True] * 4,
            "vehicle_make": ["TOYOTA"] * 4,
            "vehicle_year": [2020] * 4,
            "state": ["CA"] * 4,
            "origination_date": pd.to_datetime(["2022-01-15"] * 4),
            "days_past_due": [0] * 4,
            "segment": ["prime"] * 4,
        }
    )
    for suffix in (".parquet", ".pq"):
        path = tmp_path / f"tape{suffix}"
        typed.to_parquet(path)
        load = load_tape(path, columns=MAPPING)
        assert (load.n_rows, load.n_loaded, load.n_rejected) == (4, 4, 0)
        pd.testing.assert_frame_equal(load.tape.to_frame(), csv_load.tape.to_frame())


def test_parquet_dates_as_date_objects_and_index_column(tmp_path: Path) -> None:
    frame = pd.DataFrame([clean_row(i) for i in range(1, 4)]).set_index("loan_id")
    frame["origination_date"] = [pd.Timestamp("2021-05-02").date()] * 3
    path = tmp_path / "tape.parquet"
    frame.to_parquet(path)
    tape = load_tape(path).tape
    assert list(tape.loan_id) == ["L0001", "L0002", "L0003"]
    assert tape.origination_date[0] == np.datetime64("2021-05-02")


def test_derivations_age_remaining_ltv_vehicle_value(tmp_path: Path) -> None:
    base = [clean_row(i) for i in range(1, 5)]
    for r in base:
        del r["age"]
    base[0].update(ltv="", vehicle_value="20000")  # original_balance given: 15000 / 20000
    base[1].update(ltv="", vehicle_value="20000", original_balance="")  # derived balance
    base[2].update(ltv="1.2", vehicle_value="")  # vehicle value from LTV
    tape = load_tape(write_csv(tmp_path / "no_age.csv", base)).tape
    np.testing.assert_array_equal(tape.age, 12)
    np.testing.assert_array_equal(tape.remaining_term, 48)
    assert tape.ltv[0] == pytest.approx(15000 / 20000)
    derived = original_balance_from_current(
        np.array([10000.0]), np.array([0.0725]), np.array([60]), np.array([12])
    )[0]
    assert tape.original_balance[1] == pytest.approx(derived)
    assert tape.ltv[1] == pytest.approx(derived / 20000)
    assert tape.vehicle_value[2] == pytest.approx(15000 / 1.2)

    rows = [clean_row(i, remaining_term="") for i in range(1, 3)]  # remaining from age
    rows[1].update(remaining_term="40", age="")  # and age from remaining, row by row
    tape = load_tape(write_csv(tmp_path / "mixed.csv", rows)).tape
    np.testing.assert_array_equal(tape.remaining_term, [48, 40])
    np.testing.assert_array_equal(tape.age, [12, 20])


def test_residual_value_is_an_alias_of_balloon_amount(tmp_path: Path) -> None:
    rows = [clean_row(1, payment_type="lease", balloon_amount="5000")]
    path = write_csv(tmp_path / "lease.csv", rows, rename={"balloon_amount": "residual_value"})
    assert load_tape(path).tape.balloon_amount[0] == 5000.0


# ---------------------------------------------------------------------------------------------
# Defects
# ---------------------------------------------------------------------------------------------

# (row overrides, field the problem must name); row k of the tape carries DEFECTS[k - 1].
DEFECTS: list[tuple[dict[str, str], str]] = [
    ({"balance": ""}, "balance"),
    ({"balance": "-250"}, "balance"),
    ({"rate": "7.25"}, "rate"),
    ({"rate": "abc"}, "rate"),
    ({"original_term": "0"}, "original_term"),
    ({"remaining_term": "72"}, "remaining_term"),
    ({"remaining_term": "0"}, "remaining_term"),
    ({"age": "5"}, "age"),
    ({"age": "-1"}, "age"),
    ({"payment_type": "weekly"}, "payment_type"),
    ({"fico": "250"}, "fico"),
    ({"ltv": "0"}, "ltv"),
    ({"pti": "25"}, "pti"),
    ({"payment_type": "balloon", "balloon_amount": ""}, "balloon_amount"),
    ({"payment_type": "lease", "balloon_amount": "15000"}, "balloon_amount"),
    ({"balloon_amount": "500"}, "balloon_amount"),
    ({"days_past_due": "-3"}, "days_past_due"),
    ({"loan_count": "0"}, "loan_count"),
    ({"months_before_cutoff": "-1"}, "months_before_cutoff"),
    ({"months_before_cutoff": "13"}, "months_before_cutoff"),
    ({"months_before_cutoff": "1.5"}, "months_before_cutoff"),
    ({"balance": "16000"}, "balance"),
    ({"vehicle_year": "1975"}, "vehicle_year"),
    ({"vehicle_new": "maybe"}, "vehicle_new"),
    ({"origination_date": "2023-02-30"}, "origination_date"),
    ({"origination_date": "someday"}, "origination_date"),
    ({"original_term": "60.5"}, "original_term"),
    ({"loan_id": ""}, "loan_id"),
]
N_CLEAN_TAIL = 3


def defect_rows() -> list[Row]:
    rows = [clean_row(k, **over) for k, (over, _) in enumerate(DEFECTS, start=1)]
    return rows + [clean_row(100 + i) for i in range(N_CLEAN_TAIL)]


def test_every_defect_is_reported_with_row_and_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", defect_rows())
    with pytest.raises(InputError) as info:
        load_tape(path)
    exc = info.value
    expected = {(k, field) for k, (_, field) in enumerate(DEFECTS, start=1)}
    assert expected <= problem_places(exc)
    assert {p.row for p in exc.problems} == set(range(1, len(DEFECTS) + 1))
    text = str(exc)
    assert text.startswith(str(path))
    for shown in ("'-250'", "'7.25'", "'abc'", "'weekly'", "'2023-02-30'", "'maybe'", "'60.5'"):
        assert shown in text
    assert "row 3, rate:" in text
    assert "level, equal_principal, balloon, lease" in text
    pti = next(p for p in exc.problems if p.field == "pti")
    assert "percent" in pti.message and "0.25" in pti.message
    rows = [p.row or 0 for p in exc.problems]
    assert rows == sorted(rows)  # reported in file order


def test_reject_mode_loads_good_rows_and_writes_sidecar(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", defect_rows())
    load = load_tape(path, on_error="reject")
    n_bad = len(DEFECTS)
    assert (load.n_rows, load.n_loaded, load.n_rejected) == (n_bad + N_CLEAN_TAIL, N_CLEAN_TAIL,
                                                             n_bad)
    assert load.n_loaded + load.n_rejected == load.n_rows
    assert list(load.tape.loan_id) == [f"L{100 + i:04d}" for i in range(N_CLEAN_TAIL)]
    assert load.reject_path == tmp_path / "bad.rejects.csv" == default_reject_path(path)
    assert {p.row for p in load.problems} == set(range(1, n_bad + 1))

    rejects = pd.read_csv(load.reject_path, dtype=str, keep_default_na=False)
    assert list(rejects["row"].astype(int)) == list(range(1, n_bad + 1))
    assert rejects.columns[0] == "row" and rejects.columns[-1] == "reasons"
    original = pd.DataFrame(defect_rows()[:n_bad], dtype=str)
    pd.testing.assert_frame_equal(
        rejects.drop(columns=["row", "reasons"]), original, check_dtype=False
    )
    for k, (_, field) in enumerate(DEFECTS, start=1):
        reasons = str(rejects.loc[k - 1, "reasons"])
        assert reasons.startswith(f"{field}:") or f"; {field}:" in reasons
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "bad.rejects.csv"]


def test_reject_path_override_and_clean_tape_writes_empty_sidecar(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tape.csv", [clean_row(1), clean_row(2, balance="x")])
    target = tmp_path / "out" / "rej.csv"
    load = load_tape(path, on_error="reject", reject_path=target)
    assert load.reject_path == target and load.n_rejected == 1
    assert pd.read_csv(target)["row"].tolist() == [2]

    clean = write_csv(tmp_path / "clean.csv", [clean_row(1)])
    load = load_tape(clean, on_error="reject")
    assert load.n_rejected == 0 and load.reject_path is not None
    rejects = pd.read_csv(load.reject_path)
    assert len(rejects) == 0 and {"row", "reasons"} <= set(rejects.columns)


def test_every_row_rejected_raises(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tape.csv", [clean_row(1, rate="9"), clean_row(2, fico="1")])
    with pytest.raises(InputError, match="all 2 rows were rejected") as info:
        load_tape(path, on_error="reject")
    assert {(1, "rate"), (2, "fico")} <= problem_places(info.value)
    assert (tmp_path / "tape.rejects.csv").exists()


def test_duplicate_ids_name_both_rows(tmp_path: Path) -> None:
    rows = [clean_row(1), clean_row(2), clean_row(1), clean_row(3), clean_row(3), clean_row(3)]
    with pytest.raises(InputError) as info:
        load_tape(write_csv(tmp_path / "dup.csv", rows))
    by_row = {p.row: p.message for p in info.value.problems if p.field == "loan_id"}
    assert set(by_row) == {1, 3, 4, 5, 6}
    assert "'L0001'" in by_row[1] and "row(s) 3" in by_row[1]
    assert "row(s) 1" in by_row[3]
    assert "row(s) 5, 6" in by_row[4]
    load = load_tape(tmp_path / "dup.csv", on_error="reject")
    assert list(load.tape.loan_id) == ["L0002"]


# ---------------------------------------------------------------------------------------------
# File-level problems
# ---------------------------------------------------------------------------------------------


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "tape.xlsx"
    path.write_text("whatever")
    with pytest.raises(InputError, match=r"tape\.xlsx.*unsupported tape format '\.xlsx'"):
        load_tape(path)
    with pytest.raises(InputError, match="no extension"):
        load_tape(tmp_path / "tape")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.csv"
    with pytest.raises(InputError, match="not found") as info:
        load_tape(path)
    assert str(path) in str(info.value)


def test_missing_required_column(tmp_path: Path) -> None:
    rows = [clean_row(1), clean_row(2, fico="5")]
    for r in rows:
        del r["balance"]
    path = write_csv(tmp_path / "tape.csv", rows)
    for policy in ("raise", "reject"):
        with pytest.raises(InputError) as info:
            load_tape(path, on_error=policy)
        places = problem_places(info.value)
        assert (None, "balance") in places
        assert (2, "fico") in places  # row problems are still collected


def test_mapped_required_column_absent_names_the_mapping(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tape.csv", [clean_row(1)], rename={"rate": "Rate"})
    with pytest.raises(InputError, match="'APR'") as info:
        load_tape(path, columns={"APR": "rate"})
    assert (None, "rate") in problem_places(info.value)


def test_bad_mappings_and_conflicts(tmp_path: Path) -> None:
    rows = [clean_row(1, residual_value="1")]
    path = write_csv(tmp_path / "tape.csv", rows)
    with pytest.raises(InputError) as info:
        load_tape(path, columns={"state": "province"})
    places = problem_places(info.value)
    assert (None, "state") in places  # unknown mapping target
    assert (None, "balloon_amount") in places  # residual_value and balloon_amount both given


def test_duplicate_header(tmp_path: Path) -> None:
    path = tmp_path / "tape.csv"
    frame = pd.DataFrame([clean_row(1)])
    path.write_text(",".join([*frame.columns, "fico"]) + "\n" + ",".join([*frame.iloc[0], "7"]))
    with pytest.raises(InputError, match="appears 2 times") as info:
        load_tape(path)
    assert (None, "fico") in problem_places(info.value)


def test_empty_and_header_only_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="no loans"):
        load_tape(empty)
    header = tmp_path / "header.csv"
    header.write_text(",".join(clean_row(1)) + "\n")
    with pytest.raises(InputError, match="no loans"):
        load_tape(header)


def test_ragged_csv_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("loan_id,balance\nA,1,2,3\n")
    with pytest.raises(InputError, match="cannot read the file as CSV"):
        load_tape(path)


def test_bad_on_error_value(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tape.csv", [clean_row(1)])
    with pytest.raises(InputError, match="on_error"):
        load_tape(path, on_error="skip")  # type: ignore[arg-type]


def test_reject_path_cannot_overwrite_tape(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tape.csv", [clean_row(1)])
    with pytest.raises(InputError, match="reject_path"):
        load_tape(path, on_error="reject", reject_path=path)


# ---------------------------------------------------------------------------------------------
# validate_frame
# ---------------------------------------------------------------------------------------------


def test_validate_frame_on_typed_columns() -> None:
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "balance": [1000.0, -1.0, 2000.0],
            "rate": [0.05, 0.05, np.inf],
            "original_term": [36, 36, 36],
            "age": [3, 3, 3],
            "vehicle_new": [True, False, True],
        }
    )
    tape, rejects = validate_frame(frame, "synthetic", columns={"id": "loan_id"},
                                   on_error="reject")
    assert list(tape.loan_id) == ["a"]
    assert tape.remaining_term[0] == 33
    assert rejects["row"].tolist() == [2, 3]
    assert rejects["reasons"].str.startswith(("balance:", "rate:")).all()
    with pytest.raises(InputError, match="synthetic: 2 problems"):
        validate_frame(frame, "synthetic", columns={"id": "loan_id"})


def test_validate_frame_raise_mode_returns_empty_rejects() -> None:
    frame = pd.DataFrame([clean_row(1), clean_row(2)])
    tape, rejects = validate_frame(frame, "frame")
    assert len(tape) == 2 and len(rejects) == 0


# ---------------------------------------------------------------------------------------------
# Property: every row is either loaded or rejected, and exactly the defective rows are rejected
# ---------------------------------------------------------------------------------------------

Mutation = Callable[[Row], None]


def _set(**values: str) -> Mutation:
    def mutate(row: Row) -> None:
        row.update(values)

    return mutate


def _scaled(field: str, source: str, factor: float) -> Mutation:
    def mutate(row: Row) -> None:
        row[field] = repr(float(row[source]) * factor)

    return mutate


def _term_shift(field: str, delta: int) -> Mutation:
    def mutate(row: Row) -> None:
        original = int(row["original_term"])
        if field == "remaining_term":
            row.update(remaining_term=str(original + delta), age="")
            return
        given = row["remaining_term"]
        remaining = int(given) if given else original - int(row["age"])
        row.update(remaining_term=str(remaining), age=str(original - remaining + delta))

    return mutate


def _balloon_at_original(row: Row) -> None:
    row.update(payment_type="balloon", balloon_amount=row["original_balance"])


MUTATIONS: dict[str, Mutation] = {
    "missing_balance": _set(balance=""),
    "zero_balance": _set(balance="0"),
    "text_balance": _set(balance="12,000"),
    "percent_rate": _set(rate="6.9"),
    "negative_rate": _set(rate="-0.01"),
    "zero_term": _set(original_term="0"),
    "remaining_above_original": _term_shift("remaining_term", 1),
    "zero_remaining": _set(remaining_term="0", age=""),
    "age_inconsistent": _term_shift("age", 1),
    "negative_age": _set(age="-2", remaining_term=""),
    "payment_type": _set(payment_type="bi-weekly"),
    "fico": _set(fico="901"),
    "ltv": _set(ltv="3.5"),
    "pti": _set(pti="-0.1"),
    "balloon_missing": _set(payment_type="lease", balloon_amount=""),
    "balloon_too_big": _balloon_at_original,
    "level_balloon": _set(payment_type="level", balloon_amount="10"),
    "dpd": _set(days_past_due="-30"),
    "balance_above_original": _scaled("balance", "original_balance", 1.2),
    "vehicle_year": _set(vehicle_year="2031"),
    "vehicle_new": _set(vehicle_new="nuevo"),
    "impossible_date": _set(origination_date="2021-04-31"),
    "bad_date_format": _set(origination_date="31.01.2021"),
    "missing_id": _set(loan_id=""),
}


@st.composite
def base_rows(draw: st.DrawFn, i: int) -> Row:
    original = draw(st.integers(1, 120))
    remaining = draw(st.integers(1, original))
    balance = draw(st.floats(100, 100_000, allow_nan=False).map(lambda x: round(x, 2)))
    original_balance = round(balance * draw(st.floats(1.0, 1.5)), 2)
    ptype = draw(st.sampled_from(["level", "equal_principal", "balloon", "lease"]))
    terms = draw(st.sampled_from(["both", "remaining", "age"]))
    row = clean_row(
        i,
        balance=repr(balance),
        rate=repr(draw(st.floats(0, 0.99))),
        original_term=str(original),
        remaining_term="" if terms == "age" else str(remaining),
        age="" if terms == "remaining" else str(original - remaining),
        original_balance=repr(original_balance),
        payment_type=ptype,
        balloon_amount=repr(round(balance * 0.3, 2)) if ptype in ("balloon", "lease") else "",
        fico=draw(st.sampled_from(["", "300", "650.5", "900"])),
        ltv=draw(st.sampled_from(["", "0.01", "1.1", "3"])),
        pti=draw(st.sampled_from(["", "0", "0.35", "1"])),
        vehicle_new=draw(st.sampled_from(["", "Yes", "no", "TRUE", "0", "new", "used"])),
        vehicle_year=draw(st.sampled_from(["", "0", "1980", "2030"])),
        origination_date=draw(st.sampled_from(["", "2020-02-29", "12/31/2019", "6/2018"])),
        days_past_due=draw(st.sampled_from(["", "0", "45"])),
    )
    return row


@st.composite
def tapes_with_defects(draw: st.DrawFn) -> tuple[list[Row], set[int]]:
    n = draw(st.integers(1, 25))
    rows = [draw(base_rows(i)) for i in range(n)]
    defective = draw(st.sets(st.integers(0, n - 1), max_size=n))
    expected = set(defective)
    for i in sorted(defective):
        MUTATIONS[draw(st.sampled_from(sorted(MUTATIONS)))](rows[i])
    clean = [i for i in range(n) if i not in defective]
    if clean and len(clean) < n and draw(st.booleans()):
        # a duplicate id: a defective row takes a clean row's id; both must be rejected
        victim = draw(st.sampled_from(sorted(defective)))
        partner = draw(st.sampled_from(clean))
        rows[victim]["loan_id"] = rows[partner]["loan_id"]
        expected.add(partner)
    return rows, expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tapes_with_defects())
def test_property_rows_are_loaded_or_rejected(case: tuple[list[Row], set[int]]) -> None:
    rows, expected = case
    frame = pd.DataFrame(rows, dtype=str)
    n = len(rows)
    if len(expected) == n:
        with pytest.raises(InputError, match=f"all {n} rows were rejected"):
            validate_frame(frame, "prop", on_error="reject")
        return
    tape, rejects = validate_frame(frame, "prop", on_error="reject")
    assert len(tape) + len(rejects) == n
    assert set(rejects["row"] - 1) == expected
    assert (rejects["reasons"].str.len() > 0).all()
    kept = [rows[i]["loan_id"] for i in range(n) if i not in expected]
    assert list(tape.loan_id) == kept
    if expected:
        with pytest.raises(InputError) as info:
            validate_frame(frame, "prop")
        assert {p.row for p in info.value.problems if p.row is not None} == {
            i + 1 for i in expected
        }


# ---------------------------------------------------------------------------------------------
# Scale
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_million_row_tape_loads_and_rejects_exactly(tmp_path: Path) -> None:
    """A 1M-row tape: every bad row rejected, every good row loaded (speed: benchmarks/)."""
    n = 1_000_000
    rng = np.random.default_rng(7)
    original = rng.choice([36, 48, 60, 72], n)
    remaining = np.minimum(original, (original * rng.uniform(0.1, 1.0, n)).astype(int) + 1)
    frame = pd.DataFrame(
        {
            "loan_id": np.char.add("L", np.arange(n).astype(str)),
            "balance": np.round(rng.uniform(1000, 50000, n), 2),
            "rate": np.round(rng.uniform(0.01, 0.25, n), 4),
            "original_term": original,
            "remaining_term": remaining,
            "age": original - remaining,
            "fico": rng.integers(300, 901, n),
            "ltv": np.round(rng.uniform(0.5, 1.4, n), 3),
            "vehicle_new": rng.choice(["true", "false"], n),
            "origination_date": "2021-03-15",
        }
    )
    frame.loc[::1000, "rate"] = 12.5  # 1 000 percent-looking rates to reject
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    load = load_tape(path, on_error="reject")
    assert (load.n_loaded, load.n_rejected) == (n - 1000, 1000)


def test_sidecar_keeps_clashing_file_columns(tmp_path: Path) -> None:
    rows = [clean_row(1, row="r1"), clean_row(2, balance="-1", row="r2")]
    load = load_tape(write_csv(tmp_path / "tape.csv", rows), on_error="reject")
    assert load.ignored_columns == ("row",)
    assert load.reject_path is not None
    rejects = pd.read_csv(load.reject_path, dtype=str)
    assert rejects.loc[0, "row"] == "2" and rejects.loc[0, "row_original"] == "r2"


# ---------------------------------------------------------------------------------------------
# Non-finite and oversized numbers in every numeric column (generated from COLUMNS)
# ---------------------------------------------------------------------------------------------

NUMERIC_COLUMNS = [c.name for c in COLUMNS if c.kind in ("float", "int")]


@pytest.mark.parametrize("column", NUMERIC_COLUMNS)
@pytest.mark.parametrize("text", ["inf", "-inf", "1e308", "-1e308"])
def test_every_numeric_column_refuses_non_finite_and_huge_values(
        tmp_path: Path, column: str, text: str) -> None:
    path = write_csv(tmp_path / "t.csv", [clean_row(1, **{column: text}), clean_row(2)])
    with pytest.raises(InputError) as caught:
        load_tape(path)
    assert (1, column) in problem_places(caught.value), caught.value
    assert all(p.row == 1 for p in caught.value.problems)


@pytest.mark.parametrize("column", [c.name for c in COLUMNS if c.required
                                    and c.kind in ("float", "int")])
def test_nan_in_a_required_numeric_column_is_a_missing_value(tmp_path: Path,
                                                              column: str) -> None:
    path = write_csv(tmp_path / "t.csv", [clean_row(1, **{column: "nan"})])
    with pytest.raises(InputError, match=f"row 1, {column}: required value is missing"):
        load_tape(path)


def test_caps_name_the_limit_and_unit(tmp_path: Path) -> None:
    rows = [clean_row(1, balance="1e308"), clean_row(2, original_term="1000000",
                                                     remaining_term="999988")]
    with pytest.raises(InputError) as caught:
        load_tape(write_csv(tmp_path / "t.csv", rows))
    text = str(caught.value)
    assert f"row 1, balance: must be at most {LINE_MONEY_MAX:,.0f} USD, got '1e308'" in text
    assert f"row 2, original_term: must be at most {TERM_MAX_MONTHS} months" in text
    assert set(CAPS) <= set(NUMERIC_COLUMNS)


# ---------------------------------------------------------------------------------------------
# Parsing strategies give the same tape (they only change the speed)
# ---------------------------------------------------------------------------------------------

TRICKY_CELLS = {
    "balance": ["10000", " 12500.5 ", "", "NA", "nan", "1e4", "abc", "-5", "inf"],
    "fico": ["700", "", " 650 ", "null", "710.5", "x", "900"],
    "vehicle_new": ["yes", " NEW ", "used", "", "maybe", "0", "True"],
    "payment_type": ["level", " Level ", "", "lease", "balloon", "bullet"],
    "origination_date": ["2022-01-15", " 1/15/2021 ", "03/2020", "", "2020-02-30", "None"],
    "state": ["CA", " TX ", "", "unknown", "NaN", "ny"],
}


def _tricky_frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = [clean_row(i) for i in range(n)]
    for name, cells in TRICKY_CELLS.items():
        for row, cell in zip(rows, rng.choice(cells, n), strict=True):
            row[name] = str(cell)
    for row in rows:  # leases need a balloon, level loans none: keep those rules quiet
        row["balloon_amount"] = "3000" if row["payment_type"].strip() in ("lease", "balloon") \
            else ""
    return pd.DataFrame(rows, dtype=str)


def _same_tape_and_rejects(a: tuple, b: tuple) -> None:
    tape_a, rejects_a = a
    tape_b, rejects_b = b
    for spec in COLUMNS:
        x, y = getattr(tape_a, spec.name), getattr(tape_b, spec.name)
        assert x.dtype == y.dtype, spec.name
        if x.dtype.kind in "fM":
            np.testing.assert_array_equal(x, y, err_msg=spec.name)  # NaN/NaT equal, bits equal
        else:
            assert (x == y).all(), spec.name
    pd.testing.assert_frame_equal(rejects_a, rejects_b)


def test_repeated_texts_parse_once_with_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """Factorising a column first (each distinct text parsed once) or parsing every cell as it
    stands gives the same tape and the same rejects, tricky cells included."""
    import portfolio.loaders as loaders

    frame = _tricky_frame(600)
    monkeypatch.setattr(loaders, "DISTINCT_PROBE_ROWS", 0)  # always factorise
    factorised = validate_frame(frame, "f", on_error="reject")
    monkeypatch.setattr(loaders, "DISTINCT_PROBE_ROWS", 1)  # never (one probe row is distinct)
    per_cell = validate_frame(frame, "f", on_error="reject")
    _same_tape_and_rejects(factorised, per_cell)
    assert 0 < len(factorised[1]) < 600  # both good and rejected rows were compared


def test_all_number_column_fast_path_gives_the_text_path_bits() -> None:
    """A column of plain numbers is cast in one pass; one padded cell sends it through the text
    path (strip, NA tokens): the other rows' values are the same bits either way."""
    rng = np.random.default_rng(5)
    n = 2_000
    frame = pd.DataFrame([clean_row(i) for i in range(n)], dtype=str)
    frame["balance"] = [repr(float(v)) for v in np.round(rng.uniform(100, 14_000, n), 2)]
    frame["ltv"] = [repr(float(v)) for v in rng.uniform(0.3, 1.4, n)]  # 17 significant digits
    fast, _ = validate_frame(frame, "f")
    padded = frame.copy()
    padded.loc[n - 1, "balance"] = f" {padded.loc[n - 1, 'balance']} "
    padded.loc[n - 1, "ltv"] = f"{padded.loc[n - 1, 'ltv']}  "
    text, _ = validate_frame(padded, "f")
    np.testing.assert_array_equal(fast.balance, text.balance)
    np.testing.assert_array_equal(fast.ltv, text.ltv)
    np.testing.assert_array_equal(fast.balance, frame["balance"].astype(float).to_numpy())


# ---------------------------------------------------------------------------------------------
# The rejection path: messages and sidecar built column-wise, as the row-by-row code wrote them
# ---------------------------------------------------------------------------------------------

ODD_CELLS = ["1,5", "it's", 'say "x"', "back\\slash", "ünï", "tab\there", "12 %", "\u00a0"]


def test_messages_quote_each_cell_as_repr_does() -> None:
    """Plain cells are quoted in one vectorised pass, odd ones (quotes, backslashes, non-ASCII,
    control characters) by ``repr``: every message shows the cell exactly as ``repr`` would."""
    rows = [clean_row(i, balance=cell) for i, cell in enumerate(ODD_CELLS)] + [clean_row(99)]
    frame = pd.DataFrame(rows, dtype=str)
    _, rejects = validate_frame(frame, "f", on_error="reject")
    expected = [f"balance: expected a number, got {cell!r}" if cell.strip()
                else "balance: required value is missing" for cell in ODD_CELLS]
    assert rejects["reasons"].tolist() == expected


def test_sidecar_bytes_equal_pandas_to_csv(tmp_path: Path) -> None:
    """The column-wise sidecar writer gives pandas' ``to_csv`` bytes: commas and quotes quoted,
    quotes doubled, nulls empty; frames it does not take (line breaks, floats) go to pandas."""
    from portfolio.loaders import _write_csv

    frames = {
        "text": pd.DataFrame({"row": [1, 2, 3], "a, b": ['x,y', 'say "hi"', "ünï"],
                              "c": pd.Series(["", None, "z"], dtype=object),
                              "reasons": ["balance: must be in [0, 1)", "q", "r"]}),
        "line_break": pd.DataFrame({"row": [1], "a": ["x\ny"]}),
        "float": pd.DataFrame({"row": [1], "a": [1.5]}),
        "empty": pd.DataFrame({"row": pd.Series([], dtype=np.int64),
                               "a": pd.Series([], dtype=str)}),
    }
    for name, frame in frames.items():
        ours, theirs = tmp_path / f"{name}.csv", tmp_path / f"{name}.pandas.csv"
        _write_csv(frame, ours)
        frame.to_csv(theirs, index=False, encoding="utf-8")
        assert ours.read_bytes() == theirs.read_bytes(), name


def test_all_rejected_tape_keeps_every_reason_in_order(tmp_path: Path) -> None:
    """Every row bad, some twice: problems sorted by row then column, the sidecar's reasons
    joined in that order, its cells the file's text."""
    rows = [clean_row(i, rate="7.25") for i in range(300)]
    for i in range(0, 300, 7):
        rows[i]["balance"] = "-1"
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(InputError) as info:
        load_tape(path, on_error="reject")
    problems = info.value.problems[1:]
    assert [(p.row, p.field) for p in problems] == sorted(
        [(i + 1, "rate") for i in range(300)] + [(i + 1, "balance") for i in range(0, 300, 7)],
        key=lambda rf: (rf[0], rf[1] != "balance"))
    sidecar = pd.read_csv(default_reject_path(path), dtype=str, keep_default_na=False)
    assert sidecar["row"].tolist() == [str(i + 1) for i in range(300)]
    assert sidecar["reasons"].iloc[0] == (
        "balance: must be > 0, got '-1'; rate: must be an annual decimal in [0, 1) "
        "(0.0725 = 7.25%), got '7.25' (looks like a percent: write 0.0725)")
    assert sidecar["rate"].eq("7.25").all()
