"""The surveillance report: built by ``autoabs surveil``, in headless Chromium, as a PDF.

The deal's status at month 12 and its performance to date come from a deterministic run of
the deal on assumption vectors (``autoabs status`` / ``autoabs vector``); the browser test is
the committee report's probe (tests/reports/_browser.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from autoabs.cli import main
from reports import find_chromium
from tests.reports._browser import check_charts, check_display, needs_chromium, probe_report

ROOT = Path(__file__).resolve().parents[2]
DEAL = ROOT / "examples" / "prorata_trigger_deal.yaml"
VECTORS = ["--cdr", "1.2", "--abs", "1.5", "--severity", "50", "--lag", "2",
           "--chargeoff-months", "4", "--annual"]
SECTIONS = ("Summary at the reporting date", "Performance to date against the closing "
            "expectation", "Triggers: headroom and projected breach", "Coverage: enhancement "
            "against the remaining loss", "Lifetime CNL", "Projection and sources")


def _performance_csv(vector_csv: Path, out: Path) -> Path:
    """Monthly indicators (the autoabs performance columns used) of the vector run."""
    v = pd.read_csv(vector_csv)
    prior = np.concatenate([[v["ending_balance"].iloc[0] + v[
        ["scheduled_principal", "prepaid_principal", "defaulted_principal"]].iloc[0].sum()],
        v["ending_balance"].to_numpy()[:-1]])
    smm = v["prepaid_principal"] / (prior - v["scheduled_principal"] - v["defaulted_principal"])
    frame = pd.DataFrame({"month": v["period"], "cnl": v["cnl"],
                          "delinquent_60": v["delinquent_60"] / v["ending_balance"],
                          "delinquent_90": v["delinquent_90p"] / v["ending_balance"],
                          "cpr": 1.0 - (1.0 - smm) ** 12})
    frame.head(12).to_csv(out, index=False)
    return out


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("surveil")
    assert main(["status", str(DEAL), "--month", "12", *VECTORS,
                 "--out", str(root / "status.yaml")]) == 0
    assert main(["vector", str(DEAL), *VECTORS, "--csv", str(root / "v.csv")]) == 0
    _performance_csv(root / "v.csv", root / "performance.csv")
    return root


def _surveil(inputs: Path, out: Path, *extra: str) -> int:
    return main(["surveil", str(DEAL), "--status", str(inputs / "status.yaml"),
                 "--performance", str(inputs / "performance.csv"), "--paths", "64",
                 "--seed", "3", "--out", str(out), *extra])


@pytest.fixture(scope="module")
def report(inputs: Path) -> Path:
    out = inputs / "out"
    assert _surveil(inputs, out, "--renderer", "none") == 0
    return out / "surveillance.html"


def test_surveil_writes_the_report_and_a_verified_projection_run(report: Path) -> None:
    out = report.parent
    html = report.read_text(encoding="utf-8")
    for title in SECTIONS:
        assert title in html, title
    for block in ('id="headline"', 'id="performance"', 'id="trigger-headroom"',
                  'id="coverage"', 'id="lifetime-cnl"', 'id="chart-headroom-cnl"'):
        assert block in html, block
    assert (out / "projection" / "manifest.json").is_file()
    assert (out / "ledger.jsonl").is_file()
    assert main(["verify", str(out / "projection")]) == 0


@needs_chromium
def test_surveillance_report_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    probed = probe_report(report, tmp_path)
    shown = probed["text"]
    check_display(shown)
    for title in SECTIONS:
        assert title in shown, title
    for block in ("chart-cnl", "chart-delinquency", "chart-prepayment", "chart-headroom-cnl"):
        assert block in probed["ids"], block
    # The headroom of the CNL trigger: the step of period 12 (1.0%) against the CNL to date.
    status = yaml.safe_load((report.parent.parent / "status.yaml").read_text(encoding="utf-8"))
    cnl = status["cumulative_net_loss"] / status["original_pool_balance"]
    assert f"{(0.010 - cnl) * 100:.3f}%" in shown
    check_charts(probed, 4)


def test_surveillance_report_pdf_holds_the_sections(inputs: Path, tmp_path: Path) -> None:
    if find_chromium() is None:
        pytest.skip("no Chromium binary (Debian package chromium) found: cannot print to PDF")
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.skip("pdftotext (Debian poppler-utils) is not installed: cannot read the PDF")
    assert _surveil(inputs, tmp_path / "pdf", "--renderer", "chromium") == 0
    pdf = tmp_path / "pdf" / "surveillance.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    done = subprocess.run([pdftotext, "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True, timeout=120)
    flat = " ".join(done.stdout.split())
    for title in SECTIONS:
        assert " ".join(title.split()) in flat, title
    assert "coverage multiple = hard CE x pool balance" in flat
    assert "PDF renderer: headless Chromium" in flat


def test_bad_status_exits_2_naming_the_field(inputs: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    raw = yaml.safe_load((inputs / "status.yaml").read_text(encoding="utf-8"))
    raw["reserve_balance"] = -5.0
    bad = tmp_path / "bad_status.yaml"
    bad.write_text(yaml.safe_dump(raw), encoding="utf-8")
    code = main(["surveil", str(DEAL), "--status", str(bad), "--paths", "8",
                 "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert "bad_status.yaml" in err and "reserve_balance" in err
    assert "Traceback" not in err


def test_bad_performance_file_exits_2_naming_the_row(inputs: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    lines = (inputs / "performance.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = lines[4].split(",")  # line 5 of the file: month 4
    row[header.index("cnl")] = "lots"
    lines[4] = ",".join(row)
    bad = tmp_path / "perf.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code = main(["surveil", str(DEAL), "--status", str(inputs / "status.yaml"),
                 "--performance", str(bad), "--paths", "8", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "perf.csv" in err and "cnl" in err and "'lots'" in err, err
    assert "5" in err and "Traceback" not in err


def _current_tape(status_file: Path, out: Path) -> Path:
    """The deal's pool a year on: every loan 12 months older, scaled to the status's pool."""
    from autoabs.pipeline import resolve_inputs

    status = yaml.safe_load(status_file.read_text(encoding="utf-8"))
    frame = resolve_inputs(DEAL).tape.to_frame()
    frame = frame[frame["remaining_term"] > 12].copy()
    frame["balance"] *= status["pool_balance"] / frame["balance"].sum()
    frame["remaining_term"] -= 12
    frame["age"] += 12
    frame.to_csv(out, index=False)
    return out


def test_surveil_with_the_current_tape_projects_from_the_status(inputs: Path,
                                                               tmp_path: Path) -> None:
    tape = _current_tape(inputs / "status.yaml", tmp_path / "current.csv")
    out = tmp_path / "asof"
    assert _surveil(inputs, out, "--renderer", "none", "--tape", str(tape)) == 0
    html = (out / "surveillance.html").read_text(encoding="utf-8")
    assert "projection from period 12" in html
    summary = json.loads((out / "projection" / "summary.json").read_text())
    assert summary["provenance"]["as_of"]["period"] == 12
    status = yaml.safe_load((inputs / "status.yaml").read_text(encoding="utf-8"))
    for row in summary["classes"]:
        assert row["balance"] == pytest.approx(status["classes"][row["name"]]["balance"])
    assert summary["pool"]["cnl_mean"] > (status["cumulative_net_loss"]
                                          / status["original_pool_balance"])
    assert (out / "closing" / "manifest.json").is_file()
    assert main(["verify", str(out / "projection")]) == 0
