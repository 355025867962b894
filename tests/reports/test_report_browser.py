"""The committee report in a real browser: headless Chromium, no console errors, charts drawn.

Pure subprocess: a copy of the report gets a small probe script (errors, CSP violations and
``console.error`` calls are recorded; on load, every ``<svg>``'s rendered size and drawable
children are written into attributes of ``<html>``), Chromium dumps the DOM after load, and the
test reads the attributes back. A screenshot of the original page is saved too (into
``$AUTOABS_TEST_ARTIFACTS`` as well when that is set). Skips only when no browser is found.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from autoabs.cli import main
from reports import build_report, find_chromium
from reports.pdf import chromium_command

ROOT = Path(__file__).resolve().parents[2]

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium/Chrome binary found (Debian: apt-get install chromium); .ci/run "
    "installs it",
)

PROBE = """<script>
(function () {
  var errors = [];
  window.addEventListener('error', function (e) {
    errors.push('error: ' + (e.message || (e.target && e.target.outerHTML) || e.type));
  }, true);
  window.addEventListener('unhandledrejection', function (e) {
    errors.push('rejection: ' + e.reason);
  });
  document.addEventListener('securitypolicyviolation', function (e) {
    errors.push('csp: ' + e.violatedDirective + ' ' + e.blockedURI);
  });
  var consoleError = console.error;
  console.error = function () {
    errors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
    consoleError.apply(console, arguments);
  };
  window.addEventListener('load', function () {
    var svgs = Array.prototype.map.call(document.querySelectorAll('svg'), function (s) {
      var r = s.getBoundingClientRect();
      return {width: r.width, height: r.height,
              paths: s.querySelectorAll('path').length,
              texts: s.querySelectorAll('text').length,
              chart: s.closest('figure') ? s.closest('figure').id : null};
    });
    var root = document.documentElement;
    root.setAttribute('data-probe-errors', JSON.stringify(errors));
    root.setAttribute('data-probe-svgs', JSON.stringify(svgs));
    var charts = document.querySelectorAll('figure.chart').length;
    root.setAttribute('data-probe-charts', String(charts));
    root.setAttribute('data-probe-text', JSON.stringify(document.body.innerText));
    var ids = Array.prototype.map.call(document.querySelectorAll('figure[id]'),
                                       function (f) { return f.id; });
    root.setAttribute('data-probe-ids', JSON.stringify(ids));
    root.setAttribute('data-probe-loaded', '1');
  });
})();
</script>"""

_CONSOLE_ERROR = re.compile(r"CONSOLE.*(Uncaught|Refused|Error|error)")


def _chromium(profile: str, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    assert CHROMIUM is not None
    cmd = chromium_command(CHROMIUM, profile, "--enable-logging=stderr", "--v=0", *args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


SCIENTIFIC = re.compile(r"(?<![\w.])\d+(?:\.\d*)?[eE][+-]?\d+(?!\w)")
"""A number in scientific notation (1.11e-261, 4.6E+05)."""
NEGATIVE_ZERO = re.compile(r"(?<![\w.])-0(?:[.,]0*)?(?![\d.,]*[1-9])")
"""A negative zero as displayed: -0, -0.00, -0.0000%."""


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


def _probe_copy(html_path: Path, target: Path) -> Path:
    html = html_path.read_text(encoding="utf-8")
    csp = "script-src 'none'"
    assert csp in html  # the report itself forbids scripts
    html = html.replace(csp, "script-src 'unsafe-inline'", 1)
    html = html.replace("<head>", "<head>\n" + PROBE, 1)
    target.write_text(html, encoding="utf-8")
    return target


def test_report_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    probe = _probe_copy(report, tmp_path / "probe.html")
    with tempfile.TemporaryDirectory(prefix="autoabs-test-chromium-") as profile:
        done = _chromium(profile, "--virtual-time-budget=10000", "--dump-dom", probe.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    html_tag = re.search(r"<html[^>]*>", dom)
    assert html_tag is not None, dom[:500]
    attrs = dict(re.findall(r'(data-probe-[a-z]+)="([^"]*)"', html_tag.group(0)))
    assert attrs.get("data-probe-loaded") == "1", "the page did not finish loading"

    def decode(value: str) -> object:
        return json.loads(html.unescape(value))

    errors = decode(attrs["data-probe-errors"])
    assert errors == [], errors
    console = [line for line in done.stderr.splitlines() if _CONSOLE_ERROR.search(line)]
    assert console == [], console

    shown = decode(attrs["data-probe-text"])
    assert isinstance(shown, str) and len(shown) > 10_000
    assert SCIENTIFIC.findall(shown) == [], "numbers in scientific notation are displayed"
    assert NEGATIVE_ZERO.findall(shown) == [], "negative zeros are displayed"
    ids = decode(attrs["data-probe-ids"])
    assert isinstance(ids, list)
    for block in ("headline", "memo-assumptions", "scenario-comparison", "scenarios",
                  "scenario-ranking", "triggers"):
        assert block in ids, block
    assert any(i.startswith("grid-") for i in ids), ids
    for phrase in ("Key risks:", "Dates: cut-off", "Δ EL severely_adverse vs baseline",
                   "Sensitivity grid, class"):
        assert phrase in shown, phrase

    svgs = decode(attrs["data-probe-svgs"])
    assert isinstance(svgs, list)
    n_charts = int(attrs["data-probe-charts"])
    assert n_charts >= 6 and len(svgs) == n_charts
    for svg in svgs:
        assert svg["width"] > 100 and svg["height"] > 50, svg
        assert svg["paths"] > 5 and svg["texts"] > 3, svg
        assert svg["chart"], svg


def test_report_screenshot(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    with tempfile.TemporaryDirectory(prefix="autoabs-test-chromium-") as profile:
        done = _chromium(profile, "--window-size=1280,6000", "--hide-scrollbars",
                         f"--screenshot={shot}", report.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
    artifacts = os.environ.get("AUTOABS_TEST_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(artifacts) / "report-screenshot.png")
