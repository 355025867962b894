"""``autoabs cashflows``: the CSV and the workbook hold the same per-period table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autoabs import cli

openpyxl = pytest.importorskip("openpyxl", reason="openpyxl reads the workbook (test extra)")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def small_deal(tmp_path: Path) -> Path:
    text = (EXAMPLES / "prime_deal.yaml").read_text().replace("loans: 20000", "loans: 400")
    path = tmp_path / "deal.yaml"
    path.write_text(text)
    (tmp_path / "prime_assumptions.yaml").write_text(
        (EXAMPLES / "prime_assumptions.yaml").read_text())
    return path


def test_cashflows_writes_csv_and_xlsx_that_agree(tmp_path: Path, capsys) -> None:
    out = tmp_path / "cf"
    assert cli.main(["cashflows", str(small_deal(tmp_path)), "--abs", "1.3", "--cdr", "2",
                     "--out", str(out)]) == 0
    assert "Written" in capsys.readouterr().out
    csv = pd.read_csv(out / "cashflows.csv")
    book = openpyxl.load_workbook(out / "cashflows.xlsx", read_only=True)
    classes = ["A-1", "A-2a", "A-2b", "A-3", "A-4", "B", "C", "D"]
    assert book.sheetnames == ["deal", *classes]
    a1 = csv[csv["class"] == "A-1"].reset_index(drop=True)
    sheet = list(book["A-1"].iter_rows(values_only=True))
    header = list(sheet[0])
    assert header == [c for c in csv.columns if c != "class"]
    assert len(sheet) - 1 == len(a1)
    for row in (0, 1, 5):
        cells = dict(zip(header, sheet[1 + row], strict=True))
        assert cells["payment_date"] == a1.loc[row, "payment_date"]
        for col in ("beginning_balance", "interest_paid", "principal_paid", "ending_balance"):
            assert cells[col] == pytest.approx(a1.loc[row, col], rel=1e-12, abs=1e-9)
    # the first payment date and the A-1 stub: 20 act/360 days from closing at 5.60%
    assert a1.loc[0, "payment_date"] == "2023-08-15" and a1.loc[0, "accrual_days"] == 20
    assert a1.loc[0, "interest_due"] == pytest.approx(a1.loc[0, "beginning_balance"]
                                                      * 0.056 * 20 / 360)
    deal = list(book["deal"].iter_rows(values_only=True))
    assert deal[0][:4] == ("period", "payment_date", "collection_period_end", "pool_balance")
    assert deal[1][3] == pytest.approx(a1.loc[0, "pool_balance"])
    # balances roll: ending = beginning - principal, for every class and period
    np.testing.assert_allclose(csv.ending_balance, csv.beginning_balance - csv.principal_paid,
                               atol=1e-6)


def test_cashflows_rejects_a_bad_speed(tmp_path: Path, capsys) -> None:
    assert cli.main(["cashflows", str(small_deal(tmp_path)), "--abs", "25"]) == 2
    assert "--abs" in capsys.readouterr().err
