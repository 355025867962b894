"""Tests of the SEC Reg AB II EX-102 importer (portfolio.regab) and ``autoabs import-regab``."""

from __future__ import annotations

import gc
import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autoabs import cli
from portfolio._regab_synthetic import write_synthetic_ex102
from portfolio.errors import InputError
from portfolio.regab import (
    AUTOLOAN_NAMESPACE,
    END_BALANCE,
    ZERO_BALANCE_WITHOUT_CODE,
    import_regab,
    iter_assets,
)

DATA = Path(__file__).parents[2].parent / "shared" / "data" / "regab"
SDART = "sdart_2026_1_2026_06_first4.xml"
CARMAX = "carmax_2026_2_2026_06_first4.xml"


@pytest.fixture
def regab_dir() -> Path:
    if not (DATA / SDART).is_file() or not (DATA / CARMAX).is_file():
        pytest.skip(f"real EX-102 files not found in {DATA} (see shared/data/README.md)")
    return DATA


def loan(result, loan_id: str) -> pd.Series:
    frame = result.tape.to_frame().set_index("loan_id")
    return frame.loc[loan_id]


# -- real filings ------------------------------------------------------------------------------


@pytest.mark.data
def test_sdart_counts_zero_balance_loans_and_keeps_the_active_ones(regab_dir: Path) -> None:
    result = import_regab(regab_dir / SDART)
    assert result.n_records == 4
    assert result.n_active == 2
    assert result.zero_balance_counts == {"1": 2}  # 21884987 and 22365316: prepaid or matured
    assert result.rejected == [] and result.n_rejected == 0
    assert list(result.tape.loan_id) == ["21904424", "21919291"]
    assert result.reporting_period_end == date(2026, 6, 30)


@pytest.mark.data
def test_sdart_delinquent_loan_values(regab_dir: Path) -> None:
    row = loan(import_regab(regab_dir / SDART), "21904424")
    assert row.balance == 722.43
    assert row.rate == pytest.approx(0.0596)
    assert row.original_term == 75
    assert row.remaining_term == 1
    assert row.age == 77  # 01/2020 to 06/2026: the loan has run past its original term
    assert row.days_past_due == 21
    assert row.original_balance == 51000.0
    assert row.fico == 632.0
    assert row.pti == pytest.approx(0.05515821)
    assert row.vehicle_value == 63044.0
    assert row.ltv == pytest.approx(51000.0 / 63044.0)
    assert bool(row.vehicle_new) is True
    assert (row.vehicle_make, row.vehicle_model, row.vehicle_year) == ("DODGE", "Ram 2500", 2019)
    assert row.vehicle_type == "truck"
    assert row.state == "CO"
    assert row.origination_date == pd.Timestamp("2020-01-01")
    assert row.payment_type == "level"
    assert row.segment == "all"


@pytest.mark.data
def test_sdart_rate_is_the_current_period_rate(regab_dir: Path) -> None:
    # originalInterestRatePercentage 0.1803, reportingPeriodInterestRatePercentage 0.1766
    row = loan(import_regab(regab_dir / SDART), "21919291")
    assert row.rate == pytest.approx(0.1766)
    assert row.days_past_due == 10
    assert row.vehicle_type == "car"


@pytest.mark.data
def test_carmax_one_line_file_with_fractional_credit_score(regab_dir: Path) -> None:
    result = import_regab(regab_dir / CARMAX)
    assert (result.n_records, result.n_active, result.zero_balance_counts) == (4, 4, {})
    assert result.tape.total_balance == pytest.approx(10513.58 + 18657.66 + 20247.47 + 16805.07)
    scored = loan(result, "Q2eQMl8gwSL37EKbpOP5oQ==")
    assert scored.fico == 800.5
    assert scored.balance == 20247.47
    first = loan(result, "+JvhGfqaCSntQUZDQMFDyw==")
    assert first.balance == 10513.58
    assert first.rate == pytest.approx(0.0534)
    assert (first.original_term, first.remaining_term, first.age) == (67, 61, 6)
    assert first.vehicle_type == "suv"
    assert bool(first.vehicle_new) is False
    assert first.pti == pytest.approx(0.0241)
    assert result.coerced == {}


# -- hand-written records ------------------------------------------------------------------------

BASE = {
    "assetTypeNumber": "TEST",
    "assetNumber": "L1",
    "reportingPeriodEndingDate": "06-30-2026",
    "originationDate": "01/2024",
    "originalLoanAmount": "20000.00",
    "originalLoanTerm": "60",
    "originalInterestRatePercentage": "0.0700",
    "paymentTypeCode": "2",
    "vehicleNewUsedCode": "2",
    "vehicleTypeCode": "1",
    "vehicleValueAmount": "22000.00",
    "obligorCreditScore": "700",
    "paymentToIncomePercentage": "0.08",
    "obligorGeographicLocation": "TX",
    "remainingTermToMaturityNumber": "30",
    "reportingPeriodInterestRatePercentage": "0.0700",
    "reportingPeriodActualEndBalanceAmount": "11000.00",
    "currentDelinquencyStatus": "0",
}


def record(drop: tuple[str, ...] = (), **values: str) -> dict[str, str]:
    out = {k: v for k, v in BASE.items() if k not in drop}
    out.update(values)
    return out


def write_ex102(tmp_path: Path, *records: dict[str, str], namespace: bool = True) -> Path:
    xmlns = f' xmlns="{AUTOLOAN_NAMESPACE}"' if namespace else ""
    body = "".join(
        "<assets>" + "".join(f"<{k}>{v}</{k}>" for k, v in rec.items()) + "</assets>"
        for rec in records
    )
    path = tmp_path / "ex102.xml"
    path.write_text(f'<?xml version="1.0" encoding="utf-8"?><assetData{xmlns}>{body}</assetData>')
    return path


def test_omitted_optional_elements_take_documented_defaults(tmp_path: Path) -> None:
    keep = {"assetTypeNumber", "assetNumber", "originalLoanTerm",
            "reportingPeriodInterestRatePercentage", "reportingPeriodActualEndBalanceAmount",
            "remainingTermToMaturityNumber"}
    path = write_ex102(tmp_path, record(drop=tuple(set(BASE) - keep)))
    result = import_regab(path)
    row = loan(result, "L1")
    assert (row.balance, row.rate, row.original_term, row.remaining_term) == (11000.0, 0.07, 60, 30)
    assert row.age == 30
    assert math.isnan(row.fico) and math.isnan(row.pti) and math.isnan(row.ltv)
    assert row.vehicle_type == "unknown" and bool(row.vehicle_new) is False
    assert row.payment_type == "level" and row.days_past_due == 0 and row.state == ""
    assert pd.isna(row.origination_date)
    # original balance reversed from the level-pay schedule, as tape_from_columns documents
    assert row.original_balance > row.balance
    assert result.reporting_period_end is None


def test_file_without_namespace_and_rate_fallback(tmp_path: Path) -> None:
    rec = record(
        drop=("reportingPeriodInterestRatePercentage",), originalInterestRatePercentage="0.05"
    )
    result = import_regab(write_ex102(tmp_path, rec, namespace=False))
    assert loan(result, "L1").rate == pytest.approx(0.05)


def test_remaining_term_derived_from_dates_when_absent(tmp_path: Path) -> None:
    result = import_regab(write_ex102(tmp_path, record(drop=("remainingTermToMaturityNumber",))))
    row = loan(result, "L1")
    assert row.age == 29  # 01/2024 -> 06/2026
    assert row.remaining_term == 60 - 29


@pytest.mark.parametrize(
    ("score", "expected", "kind"),
    [("None", math.nan, "fico_unknown"), ("0", math.nan, "fico_unknown"),
     ("800.5", 800.5, None), (" 712 ", 712.0, None), ("n/a", math.nan, "fico_unknown"),
     ("9999", math.nan, "fico_unknown"), ("thin file", math.nan, "fico_unparseable")],
)
def test_credit_score_strings(
    tmp_path: Path, score: str, expected: float, kind: str | None
) -> None:
    result = import_regab(write_ex102(tmp_path, record(obligorCreditScore=score)))
    assert result.n_active == 1  # a credit score never rejects a record
    np.testing.assert_equal(loan(result, "L1").fico, expected)
    assert result.coerced == ({kind: 1} if kind else {})


@pytest.mark.parametrize(
    ("text", "expected", "coerced"),
    [("0.065", 0.065, {}), ("6.5", 0.065, {"pti_percent": 1}), ("1", 1.0, {}),
     ("0", math.nan, {"pti_unknown": 1}), ("-0.1", math.nan, {"pti_unknown": 1}),
     ("250", math.nan, {"pti_unknown": 1})],
)
def test_pti_percent_versus_fraction(tmp_path: Path, text: str, expected: float, coerced) -> None:
    result = import_regab(write_ex102(tmp_path, record(paymentToIncomePercentage=text)))
    np.testing.assert_allclose(loan(result, "L1").pti, expected)
    assert result.coerced == coerced


def test_rate_in_percent_is_scaled(tmp_path: Path) -> None:
    rec = record(reportingPeriodInterestRatePercentage="5.34")
    result = import_regab(write_ex102(tmp_path, rec))
    assert loan(result, "L1").rate == pytest.approx(0.0534)
    assert result.coerced == {"rate_percent": 1}


def test_code_lists(tmp_path: Path) -> None:
    recs = [
        record(assetNumber="A", vehicleTypeCode="3", vehicleNewUsedCode="1", paymentTypeCode="4"),
        record(assetNumber="B", vehicleTypeCode="4", paymentTypeCode="1"),
        record(assetNumber="C", vehicleTypeCode="98"),
        record(assetNumber="D", vehicleTypeCode="2"),
    ]
    frame = import_regab(write_ex102(tmp_path, *recs)).tape.to_frame().set_index("loan_id")
    assert list(frame.vehicle_type) == ["suv", "motorcycle", "other", "truck"]
    assert list(frame.vehicle_new) == [True, False, False, False]
    assert list(frame.payment_type) == ["balloon", "level", "level", "level"]


def test_malformed_number_raises_naming_record_and_element(tmp_path: Path) -> None:
    path = write_ex102(tmp_path, record(assetNumber="OK"),
                       record(assetNumber="BAD", reportingPeriodActualEndBalanceAmount="12,345.00"))
    with pytest.raises(InputError) as info:
        import_regab(path)
    message = str(info.value)
    assert str(path) in message
    assert "row 2" in message and END_BALANCE in message and "'12,345.00'" in message
    assert "assetNumber BAD" in message


def test_reject_mode_lists_every_problem_of_every_bad_record(tmp_path: Path) -> None:
    path = write_ex102(
        tmp_path,
        record(assetNumber="OK1"),
        record(assetNumber="BAD1", reportingPeriodActualEndBalanceAmount="abc",
               originalLoanTerm="sixty"),
        record(assetNumber="BAD2", drop=("reportingPeriodActualEndBalanceAmount",)),
        record(assetNumber="BAD3", paymentTypeCode="7", currentDelinquencyStatus="-3"),
        record(assetNumber="BAD4", vehicleValueAmount="NaN"),
        record(assetNumber="OK1"),  # duplicate
        record(assetNumber="OK2"),
    )
    result = import_regab(path, on_error="reject")
    assert result.n_records == 7 and result.n_active == 2 and result.n_rejected == 5
    assert list(result.tape.loan_id) == ["OK1", "OK2"]
    found = {(p.row, p.field) for p in result.rejected}
    assert found == {
        (2, END_BALANCE), (2, "originalLoanTerm"), (3, END_BALANCE),
        (4, "paymentTypeCode"), (4, "currentDelinquencyStatus"), (5, "vehicleValueAmount"),
        (6, "assetNumber"),
    }
    frame = result.rejected_frame()
    assert list(frame.columns) == ["record", "element", "message"] and len(frame) == 7
    missing = next(p for p in result.rejected if p.row == 3)
    assert "missing" in missing.message


def test_zero_balance_codes_are_counted_and_excluded(tmp_path: Path) -> None:
    path = write_ex102(
        tmp_path,
        record(assetNumber="P", zeroBalanceCode="1", reportingPeriodActualEndBalanceAmount="0"),
        record(assetNumber="C", zeroBalanceCode="4", reportingPeriodActualEndBalanceAmount="0"),
        record(assetNumber="R", zeroBalanceCode="3"),
        record(assetNumber="C2", zeroBalanceCode="4", reportingPeriodActualEndBalanceAmount="x"),
        record(assetNumber="Z", reportingPeriodActualEndBalanceAmount="0.00"),
        record(assetNumber="U", zeroBalanceCode="6"),
        record(assetNumber="A"),
    )
    result = import_regab(path, on_error="reject")
    assert result.zero_balance_counts == {"1": 1, "3": 1, "4": 2, ZERO_BALANCE_WITHOUT_CODE: 1}
    assert result.n_zero_balance == 5
    assert [(p.row, p.field) for p in result.rejected] == [(6, "zeroBalanceCode")]
    assert list(result.tape.loan_id) == ["A"]


def test_repeated_zero_balance_codes_are_joined(tmp_path: Path) -> None:
    path = tmp_path / "two_codes.xml"
    path.write_text(
        f'<assetData xmlns="{AUTOLOAN_NAMESPACE}"><assets><assetNumber>X</assetNumber>'
        "<zeroBalanceCode>4</zeroBalanceCode><zeroBalanceCode>1</zeroBalanceCode></assets>"
        "</assetData>"
    )
    assert import_regab(path).zero_balance_counts == {"1+4": 1}


def test_empty_pool_gives_an_empty_tape(tmp_path: Path) -> None:
    result = import_regab(write_ex102(tmp_path))
    assert result.n_records == 0 and len(result.tape) == 0


# -- bad files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"loan_id,balance\n1,100\n", "not a well-formed XML file"),
        (b"", "file is empty"),
        (b"\x1f\x8b\x08\x00binary", "not a well-formed XML file"),
        (b"<loans><loan/></loans>", "root element is <loans>"),
        (b'<assetData xmlns="http://www.sec.gov/edgar/document/absee/autolease/assetdata"/>',
         "not the EX-102 auto-loan namespace"),
        (b"<assetData><assets><assetNumber>1</assetNumber><zeroBalanceCode>1</zeroBalanceCode>"
         b"</assets><note/></assetData>", "row 2, note: unexpected element <note>"),
    ],
)
def test_bad_files_raise_input_error_naming_the_file(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "bad.xml"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        import_regab(path)
    assert str(path) in str(info.value) and expected in str(info.value)


def test_truncated_file_names_the_record_and_last_element(tmp_path: Path) -> None:
    recs = [record(assetNumber=f"L{i}") for i in range(1, 4)]
    full = write_ex102(tmp_path, *recs).read_text()
    cut = full.index("<remainingTermToMaturityNumber>", full.index("<assetNumber>L3"))
    path = tmp_path / "truncated.xml"
    path.write_text(full[:cut])
    with pytest.raises(InputError) as info:
        import_regab(path)
    message = str(info.value)
    assert "row 3" in message and "assetNumber L3" in message and "truncated" in message
    assert "after <obligorGeographicLocation>" in message


def test_missing_file_and_bad_option(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        import_regab(tmp_path / "nope.xml")
    with pytest.raises(InputError, match="on_error"):
        import_regab(tmp_path / "nope.xml", on_error="skip")  # type: ignore[arg-type]


def test_garbage_collector_state_is_restored(tmp_path: Path) -> None:
    assert gc.isenabled()
    import_regab(write_ex102(tmp_path, record()))
    assert gc.isenabled()
    with pytest.raises(InputError):
        import_regab(write_ex102(tmp_path, record(originalLoanTerm="x")))
    assert gc.isenabled()


# -- synthetic file (correctness only; speed and memory live in benchmarks/) -------------------


def test_synthetic_file_imports_to_its_summary(tmp_path: Path) -> None:
    summary = write_synthetic_ex102(tmp_path / "synthetic.xml", 2_000, seed=7)
    result = import_regab(summary.path)
    assert result.n_records == summary.n_records == 2_000
    assert result.n_active == summary.n_active
    assert result.zero_balance_counts == summary.zero_balance_counts
    assert result.n_rejected == 0
    assert result.tape.total_balance == pytest.approx(summary.active_balance, rel=1e-12)
    assert result.coerced["pti_percent"] > 0 and result.coerced["fico_unknown"] > 0
    tape = result.tape
    assert np.all((tape.pti > 0) & (tape.pti <= 1))
    assert np.all(np.isnan(tape.fico) | ((tape.fico >= 520) & (tape.fico <= 851)))
    assert np.all(tape.age + tape.remaining_term == tape.original_term)
    assert set(tape.vehicle_type) <= {"car", "truck", "suv", "motorcycle", "other"}
    # the streaming iterator hands out each record once and never grows the tree
    assert sum(1 for _ in iter_assets(summary.path)) == 2_000


def test_synthetic_generator_is_deterministic(tmp_path: Path) -> None:
    a = write_synthetic_ex102(tmp_path / "a.xml", 50, seed=3)
    b = write_synthetic_ex102(tmp_path / "b.xml", 50, seed=3)
    assert a.path.read_bytes() == b.path.read_bytes()


# -- CLI ---------------------------------------------------------------------------------------


@pytest.fixture
def only_import_regab(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register only this subcommand, so the test does not depend on the other commands."""
    monkeypatch.setattr(cli, "COMMANDS", {"import-regab": "autoabs.commands.import_regab"})


@pytest.mark.data
def test_cli_writes_the_tape_and_prints_counts(
    regab_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], only_import_regab: None
) -> None:
    out = tmp_path / "tape.parquet"
    assert cli.main(["import-regab", str(regab_dir / SDART), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "records:                  4" in printed
    assert "active loans:             2" in printed
    assert "excluded (zero balance):  2 (code 1: 2)" in printed
    assert "rejected:                 0" in printed
    frame = pd.read_parquet(out)
    assert list(frame.loan_id) == ["21904424", "21919291"]
    assert frame.balance.tolist() == [722.43, 206.51]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tape.parquet"]  # no temp file left


def test_cli_bad_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], only_import_regab: None
) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text("not xml at all")
    out = tmp_path / "tape.parquet"
    assert cli.main(["import-regab", str(bad), "--out", str(out)]) == 2
    assert str(bad) in capsys.readouterr().err
    assert not out.exists()
    assert cli.main(["import-regab", str(tmp_path / "missing.xml"), "--out", str(out)]) == 2
    assert cli.main(["import-regab", str(bad), "--out", str(tmp_path / "no" / "t.parquet")]) == 2
    assert cli.main(["import-regab", str(bad)]) == 2  # --out is required


def test_cli_on_error_reject(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], only_import_regab: None
) -> None:
    path = write_ex102(tmp_path, record(assetNumber="A"),
                       record(assetNumber="B", originalLoanTerm="x"))
    out = tmp_path / "tape.parquet"
    assert cli.main(["import-regab", str(path), "--out", str(out)]) == 2
    assert "row 2, originalLoanTerm" in capsys.readouterr().err
    assert cli.main(["import-regab", str(path), "--out", str(out), "--on-error", "reject"]) == 0
    printed = capsys.readouterr().out
    assert "rejected:                 1" in printed and "row 2, originalLoanTerm" in printed
    assert pd.read_parquet(out).loan_id.tolist() == ["A"]
