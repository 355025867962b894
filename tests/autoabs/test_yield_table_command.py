"""``autoabs yield-table``: the printed and written figures are the library's, with clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autoabs import cli
from autoabs.pipeline import resolve_inputs
from simulation.pricing import load_benchmark_curve
from simulation.structuring import yield_table

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PRICES = (99.5, 100.0, 100.5)
SPEEDS = (0.005, 0.013)


def small_deal(tmp_path: Path) -> Path:
    text = (EXAMPLES / "prime_deal.yaml").read_text().replace("loans: 20000", "loans: 400")
    path = tmp_path / "deal.yaml"
    path.write_text(text)
    (tmp_path / "prime_assumptions.yaml").write_text(
        (EXAMPLES / "prime_assumptions.yaml").read_text())
    return path


def write_curve(tmp_path: Path, text: str = "tenor,rate\n1M,0.045\n1Y,0.042\n3Y,0.039\n") -> Path:
    path = tmp_path / "curve.csv"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def cli_table(tmp_path_factory) -> tuple[pd.DataFrame, Path, Path, str]:
    tmp = tmp_path_factory.mktemp("yield_table")
    deal, curve = small_deal(tmp), write_curve(tmp)
    out = tmp / "table.csv"
    xlsx = tmp / "table.xlsx"
    argv = ["yield-table", str(deal), "--prices", "99.5,100,100.5", "--abs", "0.5,1.3",
            "--curve", str(curve), "--csv", str(out), "--xlsx", str(xlsx)]
    assert cli.main(argv) == 0
    return pd.read_csv(out), deal, curve, str(xlsx)


def test_the_cli_figures_are_the_library_yield_table(cli_table, capsys) -> None:
    table, deal, curve, _ = cli_table
    inputs = resolve_inputs(str(deal), require_model=False)
    library = yield_table(inputs.deal, inputs.tape, PRICES, SPEEDS,
                          curve=load_benchmark_curve(curve))
    assert list(table.columns) == list(library.columns)
    pd.testing.assert_frame_equal(table, library, check_exact=False, rtol=1e-12, atol=1e-15)


def test_at_par_without_losses_the_yield_is_the_coupon_and_the_margin_the_spread(cli_table):
    table, deal, curve, _ = cli_table
    inputs = resolve_inputs(str(deal), require_model=False)
    notes = {n.name: n for n in inputs.deal.notes}
    par = table[table.price == 100.0]
    for rec in par.to_dict(orient="records"):
        note = notes[rec["class"]]
        if note.type == "floating":
            assert rec["yield"] == pytest.approx(inputs.deal.index_rate + note.spread, abs=1e-12)
            assert rec["spread_kind"] == "discount_margin"
            assert rec["spread"] == pytest.approx(note.spread, abs=1e-12)
        else:
            assert rec["yield"] == pytest.approx(note.coupon, abs=1e-12)
            # I-spread: yield minus the curve linearly interpolated at the WAL (flat outside)
            bench = np.interp(rec["wal_years"], [1 / 12, 1.0, 3.0], [0.045, 0.042, 0.039])
            assert rec["spread"] == pytest.approx(note.coupon - bench, abs=1e-12)


def test_the_workbook_holds_the_csv_rows(cli_table) -> None:
    openpyxl = pytest.importorskip("openpyxl", reason="openpyxl reads the workbook (test extra)")
    table, _, _, xlsx = cli_table
    book = openpyxl.load_workbook(xlsx, read_only=True)
    assert book.sheetnames == ["Yield table"]
    rows = list(book["Yield table"].iter_rows(values_only=True))
    assert len(rows) - 1 == len(table)
    assert rows[1][table.columns.get_loc("yield")] == pytest.approx(table["yield"].iloc[0])


def test_the_printed_table_shows_each_class(tmp_path: Path, capsys) -> None:
    assert cli.main(["yield-table", str(small_deal(tmp_path)), "--prices", "100",
                     "--abs", "1.3"]) == 0
    out = capsys.readouterr().out
    assert "Class A-1" in out and "Class D" in out and "5.600" in out  # A-1 coupon at par
    assert "discount margin (bp)" in out and "80.0" in out  # A-2b: SOFR + 80 bp at par


@pytest.mark.parametrize("prices", ["abc", "100,-1", "", "nan", "250"])
def test_bad_prices_exit_2_naming_the_option(tmp_path: Path, capsys, prices: str) -> None:
    assert cli.main(["yield-table", str(small_deal(tmp_path)), "--prices", prices]) == 2
    err = capsys.readouterr().err
    assert "--prices" in err and "Traceback" not in err


@pytest.mark.parametrize(("text", "field"), [
    ("tenor,rate\n1M,0.045\n1Y,abc\n", "row 2"),
    ("tenor,yield\n1M,0.045\n", "tenor, rate"),
    ("tenor,rate\n1Y,0.04\n6M,0.03\n", "strictly increasing"),
])
def test_bad_curve_exits_2_naming_the_option(tmp_path: Path, capsys, text: str,
                                             field: str) -> None:
    argv = ["yield-table", str(small_deal(tmp_path)), "--prices", "100",
            "--curve", str(write_curve(tmp_path, text))]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "--curve" in err and field in err and "Traceback" not in err


def test_a_missing_curve_file_exits_2_naming_the_option(tmp_path: Path, capsys) -> None:
    argv = ["yield-table", str(small_deal(tmp_path)), "--prices", "100",
            "--curve", str(tmp_path / "none.csv")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "--curve" in err and "none.csv" in err
