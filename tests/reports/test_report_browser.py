"""The committee report in a real browser: headless Chromium, no console errors, charts drawn.

The probe (tests/reports/_browser.py) loads a copy of the report with a small script that
records errors and the rendered charts. A screenshot of the original page is saved too (into
``$AUTOABS_TEST_ARTIFACTS`` as well when that is set). Skips only when no browser is found.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from autoabs.cli import main
from reports import build_report
from tests.reports._browser import (
    NEGATIVE_ZERO,
    SCIENTIFIC,
    check_charts,
    check_display,
    chromium,
    needs_chromium,
    probe_report,
)

ROOT = Path(__file__).resolve().parents[2]

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of a two-scenario stress directory with its sensitivity grid (a deal with
    triggers), so the memo, the side-by-side comparison and the grid are all shown."""
    stress_dir = tmp_path_factory.mktemp("browser") / "prorata-stress"
    deal = ROOT / "examples" / "prorata_trigger_deal.yaml"
    assert main(["stress", str(deal), "--scenarios", "baseline,severely_adverse", "--paths",
                 "128", "--seed", "5", "--no-report", "--out", str(stress_dir)]) == 0
    return build_report(stress_dir, renderer="none").html


def test_number_patterns_catch_what_they_should() -> None:
    for shown in ("1.11e-261%", "4.63e-12", "2E+05"):
        assert SCIENTIFIC.search(shown), shown
    for shown in ("-0.00%", "-0", "x -0.0000 y"):
        assert NEGATIVE_ZERO.search(shown), shown
    for shown in ("-0.01%", "< 0.0001%", "2023-07-26", "-0.50", "A-2b", "10.0", "prime",
                  "sha 06e91ab3", "ab6e9f"):
        assert not SCIENTIFIC.search(shown) and not NEGATIVE_ZERO.search(shown), shown


def test_report_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    probed = probe_report(report, tmp_path)
    shown = probed["text"]
    assert isinstance(shown, str) and len(shown) > 10_000
    check_display(shown)
    ids = probed["ids"]
    for block in ("headline", "memo-assumptions", "scenario-comparison", "scenarios",
                  "scenario-ranking", "triggers"):
        assert block in ids, block
    assert any(i.startswith("grid-") for i in ids), ids
    for phrase in ("Key risks:", "Dates: cut-off", "Δ EL severely_adverse vs baseline",
                   "Sensitivity grid, class"):
        assert phrase in shown, phrase
    check_charts(probed, 6)


def test_report_screenshot(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    with tempfile.TemporaryDirectory(prefix="autoabs-test-chromium-") as profile:
        done = chromium(profile, "--window-size=1280,6000", "--hide-scrollbars",
                         f"--screenshot={shot}", report.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
    artifacts = os.environ.get("AUTOABS_TEST_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(artifacts) / "report-screenshot.png")
