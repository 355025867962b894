"""Headless-Chromium probe of a generated report, shared by the browser tests.

Pure subprocess: a copy of the report gets a small probe script (errors, CSP violations and
``console.error`` calls are recorded; on load, every ``<svg>``'s rendered size and drawable
children are written into attributes of ``<html>``), Chromium dumps the DOM after load, and
:func:`probe_report` reads the attributes back, asserting that the page loaded without errors.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from reports import find_chromium
from reports.pdf import chromium_command

CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
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


def chromium(profile: str, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    assert CHROMIUM is not None
    cmd = chromium_command(CHROMIUM, profile, "--enable-logging=stderr", "--v=0", *args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


SCIENTIFIC = re.compile(r"(?<![\w.])\d+(?:\.\d*)?[eE][+-]?\d+(?!\w)")
"""A number in scientific notation (1.11e-261, 4.6E+05)."""
NEGATIVE_ZERO = re.compile(r"(?<![\w.])-0(?:[.,]0*)?(?![\d.,]*[1-9])")
"""A negative zero as displayed: -0, -0.00, -0.0000%."""


def _probe_copy(html_path: Path, target: Path) -> Path:
    html = html_path.read_text(encoding="utf-8")
    csp = "script-src 'none'"
    assert csp in html  # the report itself forbids scripts
    html = html.replace(csp, "script-src 'unsafe-inline'", 1)
    html = html.replace("<head>", "<head>\n" + PROBE, 1)
    target.write_text(html, encoding="utf-8")
    return target


def probe_report(report: Path, tmp_path: Path) -> dict[str, Any]:
    """Load a probed copy of ``report`` in headless Chromium; the decoded probe attributes.

    Asserts that the page loaded with no script error, CSP violation or console error.
    Keys: ``text`` (the rendered body text), ``ids`` (figure ids), ``svgs`` (per SVG: width,
    height, paths, texts, chart), ``charts`` (number of ``figure.chart``).
    """
    probe = _probe_copy(report, tmp_path / "probe.html")
    with tempfile.TemporaryDirectory(prefix="autoabs-test-chromium-") as profile:
        done = chromium(profile, "--virtual-time-budget=10000", "--dump-dom", probe.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    html_tag = re.search(r"<html[^>]*>", dom)
    assert html_tag is not None, dom[:500]
    attrs = dict(re.findall(r'(data-probe-[a-z]+)="([^"]*)"', html_tag.group(0)))
    assert attrs.get("data-probe-loaded") == "1", "the page did not finish loading"

    def decode(value: str) -> Any:
        return json.loads(html.unescape(value))

    errors = decode(attrs["data-probe-errors"])
    assert errors == [], errors
    console = [line for line in done.stderr.splitlines() if _CONSOLE_ERROR.search(line)]
    assert console == [], console
    return {"text": decode(attrs["data-probe-text"]), "ids": decode(attrs["data-probe-ids"]),
            "svgs": decode(attrs["data-probe-svgs"]), "charts": int(attrs["data-probe-charts"])}


def check_display(shown: str) -> None:
    """No number in scientific notation and no negative zero on the page."""
    assert SCIENTIFIC.findall(shown) == [], "numbers in scientific notation are displayed"
    assert NEGATIVE_ZERO.findall(shown) == [], "negative zeros are displayed"


def check_charts(probed: dict[str, Any], at_least: int) -> None:
    """At least ``at_least`` charts, each an SVG drawn at a readable size with content."""
    svgs = probed["svgs"]
    assert probed["charts"] >= at_least and len(svgs) == probed["charts"]
    for svg in svgs:
        assert svg["width"] > 100 and svg["height"] > 50, svg
        assert svg["paths"] > 5 and svg["texts"] > 3, svg
        assert svg["chart"], svg
