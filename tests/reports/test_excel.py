"""Excel workbook: sheets, number formats, frozen headers, and values equal to the run's files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from autoabs.cli import main
from reports.excel import CLASS_SUMMARY_COLUMNS, NUMBER_FORMATS, SHEET_NAMES, write_run_workbook
from simulation.run.directory import read_run

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def _small_deal(tmp_path: Path, loans: int = 500) -> Path:
    """The prime example deal on a smaller synthetic pool, assumptions by absolute path."""
    text = (EXAMPLES / "prime_deal.yaml").read_text()
    small = text.replace("pool: {synthetic: prime, loans: 20000, seed: 42}",
                         f"pool: {{synthetic: prime, loans: {loans}, seed: 42}}")
    small = small.replace("assumptions: prime_assumptions.yaml",
                          f"assumptions: {EXAMPLES / 'prime_assumptions.yaml'}")
    assert small != text
    path = tmp_path / "deal.yaml"
    path.write_text(small)
    return path


@pytest.fixture(scope="module")
def deal_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small structuring run written with ``run --xlsx``: (run directory, workbook)."""
    base = tmp_path_factory.mktemp("excel")
    deal = _small_deal(base)
    book = base / "run.xlsx"
    assert main(["run", str(deal), "--paths", "64", "--seed", "2", "--out",
                 str(base / "runs" / "a"), "--no-report",
                 "--xlsx", str(book)]) == 0
    return base / "runs" / "a", book


def _rows(ws: openpyxl.worksheet.worksheet.Worksheet) -> list[tuple[object, ...]]:
    return list(ws.iter_rows(values_only=True))


def test_run_workbook_sheets_formats_and_frozen_headers(deal_run: tuple[Path, Path]) -> None:
    _, book = deal_run
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == [s for s in SHEET_NAMES if s != "Scenarios"]
    for ws in wb.worksheets:
        assert ws.freeze_panes in ("A2", "B2"), ws.title
        assert ws.max_row > 1, f"{ws.title} has no rows"
        assert all(ws.column_dimensions[c].width >= 8 for c in ws.column_dimensions), ws.title
    summary = wb["Class summary"]
    header = [c.value for c in summary[1]]
    assert header[:len(CLASS_SUMMARY_COLUMNS)] == [label for _, label, _ in
                                                    CLASS_SUMMARY_COLUMNS]
    fmt = {label: summary.cell(row=2, column=j + 1).number_format
           for j, label in enumerate(header)}
    assert fmt["Balance"] == NUMBER_FORMATS["currency"]
    assert fmt["Hard CE"] == NUMBER_FORMATS["percent"] == "0.00%"
    assert fmt["EL"] == NUMBER_FORMATS["small_percent"]
    assert fmt["WAL (y)"] == "0.00"
    multiples = [row[-1] for row in summary.iter_rows(min_row=2)]
    numbers = [c for c in multiples if isinstance(c.value, float)]
    assert numbers and all(c.number_format == NUMBER_FORMATS["multiple"] for c in numbers)
    assert all(c.value == "inf" for c in multiples if c not in numbers)  # never loses
    paydown = wb["Paydown"]
    speed_col = [c.value for c in paydown[1]].index("ABS speed") + 1
    speed = paydown.cell(row=2, column=speed_col)
    assert speed.number_format == "0.00%" and 0 < speed.value < 0.05  # 0.005 shown as 0.50%
    flows = wb["Pool cash flows"]
    assert flows.cell(row=2, column=2).number_format == NUMBER_FORMATS["currency"]


def test_class_summary_equals_summary_json(deal_run: tuple[Path, Path]) -> None:
    run_dir, book = deal_run
    classes = json.loads((run_dir / "summary.json").read_text())["classes"]
    rows = _rows(openpyxl.load_workbook(book)["Class summary"])[1:]
    assert len(rows) == len(classes)
    for row, stored in zip(rows, classes, strict=True):
        for (key, _, _), value in zip(CLASS_SUMMARY_COLUMNS, row, strict=False):
            want = stored.get(key)
            if want is None or (isinstance(want, float) and math.isnan(want)):
                assert value is None, (stored["name"], key, value)
            elif isinstance(want, str):
                assert value == want
            else:
                assert value == pytest.approx(want, rel=1e-15, abs=0.0), (stored["name"], key)


def test_cash_flow_sheets_equal_the_run_frames(deal_run: tuple[Path, Path]) -> None:
    run_dir, book = deal_run
    record = read_run(run_dir)
    wb = openpyxl.load_workbook(book)
    class_flows = pd.DataFrame(_rows(wb["Class cash flows"])[1:])
    stored = record.frames["class_flows"]
    assert class_flows.shape == stored.shape
    assert class_flows[4].to_numpy() == pytest.approx(stored["principal_paid"].to_numpy())
    pool = pd.DataFrame(_rows(wb["Pool cash flows"])[1:])
    means = record.frames["pool_flows"]
    assert pool[0].tolist() == means.index.tolist()
    assert pool[1].to_numpy() == pytest.approx(means["interest"].to_numpy())
    strats = pd.DataFrame(_rows(wb["Strats"])[1:])
    totals = strats.loc[strats[1] == "Total"]
    assert totals[3].to_numpy() == pytest.approx(record.tape.total_balance)  # one per dimension


def test_export_of_a_stress_directory_has_the_scenario_comparison(tmp_path: Path) -> None:
    deal = _small_deal(tmp_path, loans=300)
    out = tmp_path / "stress"
    book = tmp_path / "stress.xlsx"
    assert main(["stress", str(deal), "--scenarios", "baseline,severely_adverse", "--paths",
                 "32", "--out", str(out), "--no-grid", "--no-report", "--xlsx",
                 str(book)]) == 0
    again = tmp_path / "export.xlsx"
    assert main(["export", str(out), "--xlsx", str(again)]) == 0
    for path in (book, again):
        wb = openpyxl.load_workbook(path)
        assert wb.sheetnames[-1] == "Scenarios"
        rows = _rows(wb["Scenarios"])
        stress = pd.read_csv(out / "stress.csv")
        assert len(rows) == len(stress) + 1
        assert {r[0] for r in rows[1:]} == {"baseline", "severely_adverse"}


def test_paydown_xlsx_writes_the_prepayment_table(tmp_path: Path) -> None:
    book = tmp_path / "paydown.xlsx"
    assert main(["paydown", str(_small_deal(tmp_path)), "--abs", "0.5,1.5",
                 "--xlsx", str(book)]) == 0
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["Paydown"]
    rows = _rows(wb["Paydown"])
    speeds = sorted({r[list(rows[0]).index("ABS speed")] for r in rows[1:]})
    assert speeds == pytest.approx([0.005, 0.015])


def test_export_bad_input_exits_2_naming_the_problem(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(tmp_path), "--xlsx", str(tmp_path / "book.csv")]) == 2
    assert "must end in .xlsx" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "nowhere"), "--xlsx", str(tmp_path / "b.xlsx")]) == 2
    assert "run directory not found" in capsys.readouterr().err
    assert not (tmp_path / "b.xlsx").exists()


def test_workbook_of_a_written_run_equals_its_rewrite(deal_run: tuple[Path, Path],
                                                      tmp_path: Path) -> None:
    run_dir, book = deal_run
    again = write_run_workbook(run_dir, tmp_path / "again.xlsx")
    first, second = openpyxl.load_workbook(book), openpyxl.load_workbook(again)
    assert first.sheetnames == second.sheetnames
    for name in first.sheetnames:
        assert _rows(first[name]) == _rows(second[name]), name
