"""The report PDF: Chromium, else WeasyPrint, else none (HTML only, one line saying why).

Each renderer's test skips with a reason only when that renderer cannot run on this machine
(Debian ``chromium``; pip ``weasyprint`` with Debian's Pango, see docs/reports.md); reading the
PDF needs ``pdftotext`` / ``pdftoppm`` (Debian ``poppler-utils``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from autoabs.cli import main
from portfolio._format import percent_text
from portfolio.errors import InputError
from reports import build_report, find_chromium
from reports.pdf import (
    PDF_RENDERER_ENV,
    WEASYPRINT_SYSTEM_PACKAGES,
    WeasyPrintMissing,
    find_printers,
    print_with_weasyprint,
    requested_renderer,
    weasyprint_version,
)

ROOT = Path(__file__).resolve().parents[2]
DEAL = ROOT / "examples" / "prorata_trigger_deal.yaml"
"""A deal with triggers, so every section is printed (and paydown.csv, structuring default)."""
SECTION_TITLES = (
    "Executive summary", "Pool: strats and concentration", "Diversification",
    "Loss distribution", "Classes", "Cash-flow fan charts", "Triggers and reserve", "Scenarios",
    "Methodology, assumptions and run manifest",
)
PAGE_MARGIN_MM = 12
"""Left and right margin of the print stylesheet's ``@page`` (``14mm 12mm``)."""

NO_PANGO_MODULE = '''
print("-----\\n\\nWeasyPrint could not import some external libraries. Please carefully "
      "follow the installation steps before reporting an issue:\\nhttps://doc.courtbouillon.org")
raise OSError("cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open shared "
              "object file: No such file or directory")
'''
"""What ``import weasyprint`` does without Pango (weasyprint/text/ffi.py): print a notice on
stdout, then raise the OSError of cffi's ``dlopen``."""


def _weasyprint_or_skip() -> str:
    try:
        return weasyprint_version()
    except WeasyPrintMissing as exc:
        pytest.skip(f"WeasyPrint cannot run here ({exc})")


def _renderer_or_skip(renderer: str) -> None:
    if renderer == "chromium" and find_chromium() is None:
        pytest.skip("no Chromium binary (Debian package chromium) found: cannot print to PDF")
    if renderer == "weasyprint":
        _weasyprint_or_skip()


def _poppler(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.skip(f"{tool} (Debian poppler-utils) is not installed: cannot read the PDF")
    return found


def _pdf_text(pdf: Path) -> str:
    done = subprocess.run([_poppler("pdftotext"), "-layout", str(pdf), "-"],
                          capture_output=True, text=True, check=True, timeout=120)
    return done.stdout


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 200-path run of the trigger deal, its report.html only."""
    out = tmp_path_factory.mktemp("pdf-runs") / "run"
    with pytest.MonkeyPatch.context() as env:
        env.setenv(PDF_RENDERER_ENV, "none")
        assert main(["run", str(DEAL), "--paths", "200", "--seed", "3", "--out", str(out)]) == 0
    assert (out / "paydown.csv").is_file() and not (out / "report.pdf").exists()
    return out


@pytest.fixture()
def stress_dir(run_dir: Path, tmp_path: Path) -> Path:
    """A two-scenario stress directory of copies of the run: every table of the report."""
    root = tmp_path / "stress"
    for name in ("baseline", "severely_adverse"):
        shutil.copytree(run_dir, root / "scenarios" / name)
    summary = json.loads((run_dir / "summary.json").read_text())
    pd.DataFrame([{"scenario": s, "class": c["name"], "el": c["el"] * k, "el_se": c["el_se"],
                   "pd": c["pd"], "wal": c["wal"], "yield": c["yield"], "trigger_breach": 0.1,
                   "pool_cnl_mean": 0.02 * k}
                  for k, s in ((1, "baseline"), (3, "severely_adverse"))
                  for c in summary["classes"]]).to_csv(root / "stress.csv", index=False)
    return root


# --------------------------------------------------------------------------------------------
# the PDF text, on both paths


@pytest.mark.parametrize(("renderer", "label"), [("chromium", "headless Chromium"),
                                                 ("weasyprint", "WeasyPrint")])
def test_pdf_has_every_section_and_the_class_table(run_dir: Path, tmp_path: Path,
                                                   renderer: str, label: str) -> None:
    _renderer_or_skip(renderer)
    target = tmp_path / renderer
    shutil.copytree(run_dir, target)
    files = build_report(target, renderer=renderer)
    assert files.pdf == target / "report.pdf" and files.pdf.read_bytes()[:5] == b"%PDF-"
    assert files.pdf_renderer.startswith(label) and files.pdf_skipped is None
    text = _pdf_text(files.pdf)
    flat = " ".join(text.split())
    for title in SECTION_TITLES:
        assert title in flat, title
    assert f"PDF renderer: {label}" in flat  # methodology section and footer
    assert f"PDF renderer: {files.pdf_renderer}" in files.html.read_text(encoding="utf-8")
    summary = json.loads((target / "summary.json").read_text())
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "Classes: credit" in line)
    for c in summary["classes"]:
        row = next((line for line in lines[start:start + 40]
                    if line.split() and line.split()[0] == c["name"]), None)
        assert row is not None, c["name"]
        assert f"${c['balance']:,.0f}" in row and percent_text(c["el"], 4) in row
        assert c["implied_rating"] in row


def test_environment_variable_forces_the_renderer(monkeypatch: pytest.MonkeyPatch) -> None:
    """$AUTOABS_PDF_RENDERER=weasyprint leaves a Chromium on the machine out; an explicit
    renderer wins over the variable; an unknown name is an input error naming the variable."""
    version = _weasyprint_or_skip()
    monkeypatch.setenv("AUTOABS_CHROMIUM", sys.executable)  # "a browser is installed"
    monkeypatch.setenv(PDF_RENDERER_ENV, "weasyprint")
    assert requested_renderer() == "weasyprint"
    printers, missing = find_printers(requested_renderer())
    assert [(p.name, p.label) for p in printers] == [("weasyprint", f"WeasyPrint {version}")]
    assert missing == []
    assert requested_renderer("none") == "none"
    monkeypatch.setenv(PDF_RENDERER_ENV, "pdfkit")
    with pytest.raises(InputError, match=f"{PDF_RENDERER_ENV}: must be one of auto, chromium, "
                                         "weasyprint, none; got 'pdfkit'"):
        requested_renderer()
    monkeypatch.delenv(PDF_RENDERER_ENV)
    assert requested_renderer() == "auto"
    assert [p.name for p in find_printers("auto")[0]] == ["chromium", "weasyprint"]


# --------------------------------------------------------------------------------------------
# page geometry of the WeasyPrint path


def _word_boxes(pdf: Path) -> list[tuple[int, float, float, float, str]]:
    """(page, page width, xMin, xMax, word) of every word, from ``pdftotext -bbox``."""
    done = subprocess.run([_poppler("pdftotext"), "-bbox", str(pdf), "-"], capture_output=True,
                          text=True, check=True, timeout=120)
    boxes = []
    for number, page in enumerate(re.findall(r"<page (.*?)</page>", done.stdout, re.S), 1):
        width = float(re.search(r'width="([\d.]+)"', page).group(1))  # type: ignore[union-attr]
        for x0, x1, word in re.findall(r'<word xMin="([-\d.]+)" yMin="[-\d.]+" '
                                       r'xMax="([-\d.]+)" yMax="[-\d.]+">([^<]*)</word>', page):
            boxes.append((number, width, float(x0), float(x1), word))
    return boxes


def _page_images(pdf: Path, out: Path, dpi: int) -> list[tuple[int, int, bytes]]:
    """(width, height, 8-bit grey pixels) of every page, from ``pdftoppm -gray`` (PGM)."""
    subprocess.run([_poppler("pdftoppm"), "-gray", "-r", str(dpi), str(pdf), str(out / "page")],
                   check=True, timeout=300)
    images = []
    for path in sorted(out.glob("page-*.pgm")):
        data = path.read_bytes()
        magic, width, height, depth, pixels = re.match(  # type: ignore[union-attr]
            rb"(P5)\s+(\d+)\s+(\d+)\s+(\d+)\s(.*)", data, re.S).groups()
        assert magic == b"P5" and int(depth) == 255
        images.append((int(width), int(height), pixels))
    return images


def test_weasyprint_pdf_keeps_everything_inside_the_page(
        stress_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When Chromium fails, auto prints with WeasyPrint, and nothing runs past the margins.

    Every word box of ``pdftotext -bbox`` lies within the printable width (the 12 mm side
    margins of the print stylesheet, 1 pt of tolerance), so no table, paydown window or
    manifest value is cut; and the page images of ``pdftoppm`` are blank in the side margins
    (no table border or chart drawn past them either).
    """
    version = _weasyprint_or_skip()
    browser = tmp_path / "chromium"
    browser.write_text("#!/bin/sh\necho 'crashed: no display' >&2\nexit 3\n")
    browser.chmod(0o755)
    monkeypatch.setenv("AUTOABS_CHROMIUM", str(browser))
    files = build_report(stress_dir, renderer="auto")
    assert files.pdf is not None and files.pdf_skipped is None
    assert files.pdf_renderer.startswith(f"WeasyPrint {version} (chromium failed: ")
    assert "exited 3" in files.pdf_renderer and "crashed: no display" in files.pdf_renderer
    text = " ".join(_pdf_text(files.pdf).split())
    assert "Scenarios side by side (baseline, severely_adverse)" in text
    assert "Weighted average life and principal window by ABS speed" in text

    boxes = _word_boxes(files.pdf)
    assert len(boxes) > 2000 and len({b[0] for b in boxes}) > 10
    margin = PAGE_MARGIN_MM / 25.4 * 72
    outside = [b for b in boxes if b[2] < margin - 1 or b[3] > b[1] - margin + 1]
    assert not outside, outside[:10]

    dpi = 36
    edge = int((PAGE_MARGIN_MM - 2) / 25.4 * dpi)  # the outer 10 mm of each side
    for number, (width, height, pixels) in enumerate(_page_images(files.pdf, tmp_path, dpi), 1):
        rows = [pixels[y * width:(y + 1) * width] for y in range(height)]
        inked = [y for y, row in enumerate(rows) if min(row[:edge] + row[width - edge:]) < 200]
        assert not inked, f"page {number}: ink in a side margin on pixel rows {inked[:5]}"


# --------------------------------------------------------------------------------------------
# no renderer: the HTML and a one-line reason, never a traceback


def _no_pango(path: Path) -> Path:
    """A directory whose ``weasyprint`` package fails to import as it does without Pango."""
    (path / "weasyprint").mkdir(parents=True)
    (path / "weasyprint" / "__init__.py").write_text(NO_PANGO_MODULE)
    return path


def test_missing_pango_is_caught_and_its_notice_swallowed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delitem(sys.modules, "weasyprint", raising=False)
    monkeypatch.syspath_prepend(str(_no_pango(tmp_path / "site")))
    monkeypatch.setenv("AUTOABS_CHROMIUM", "")
    printers, missing = find_printers("auto")
    assert printers == []
    assert [m.reason.split(" (")[0] for m in missing] == ["no Chromium found",
                                                          "WeasyPrint cannot load Pango"]
    assert missing[1].remedy == "apt-get install " + " ".join(WEASYPRINT_SYSTEM_PACKAGES)
    with pytest.raises(InputError, match="PDF renderer weasyprint: WeasyPrint cannot load "
                                         "Pango .*libpango-1.0-0.*: apt-get install libpango"):
        find_printers("weasyprint")
    assert capsys.readouterr().out == ""  # WeasyPrint's multi-line notice is not shown


def test_missing_weasyprint_package_names_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import fails with ImportError
    monkeypatch.setenv("AUTOABS_CHROMIUM", "")
    _, missing = find_printers("auto")
    assert missing[1].reason.startswith("WeasyPrint not installed")
    assert missing[1].remedy == "pip install weasyprint"


def test_without_any_renderer_run_succeeds_with_the_html_and_one_line(tmp_path: Path) -> None:
    """A machine with neither Chromium nor Pango: ``autoabs run`` exits 0, writes report.html
    and the rest of the run, removes no result, and prints one line saying what to install."""
    out = tmp_path / "runs" / "deal"
    env = {**os.environ, "AUTOABS_CHROMIUM": "",
           "PYTHONPATH": os.pathsep.join([str(_no_pango(tmp_path / "site")), str(ROOT),
                                          os.environ.get("PYTHONPATH", "")])}
    env.pop(PDF_RENDERER_ENV, None)
    done = subprocess.run([sys.executable, "-m", "autoabs.cli", "run", str(DEAL), "--paths",
                           "32", "--seed", "4", "--no-structuring", "--out", str(out)],
                          capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "WeasyPrint could not import" not in done.stdout  # its notice is swallowed
    said = [line for line in done.stdout.splitlines() if "PDF" in line]
    assert said == [
        f"Report: {out / 'report.html'} (no PDF)",
        "PDF skipped (no Chromium found; WeasyPrint cannot load Pango (cannot load library "
        "'libpango-1.0-0': libpango-1.0-0: cannot open shared object file: No such file or "
        "directory)); report.html holds the whole report. For a PDF: apt-get install chromium "
        "(or set AUTOABS_CHROMIUM to a Chrome binary) or apt-get install "
        + " ".join(WEASYPRINT_SYSTEM_PACKAGES) + "."], said
    assert (out / "report.html").is_file() and not (out / "report.pdf").exists()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "PDF renderer: none (no Chromium found; WeasyPrint cannot load Pango" in html
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["report"]["html"] == "report.html" and manifest["report"]["pdf"] is None
    assert manifest["report"]["pdf_renderer"].startswith("none (no Chromium found")
    assert main(["verify", str(out.parent)]) == 0  # the run is recorded as written


def test_no_pdf_removes_an_older_pdf(run_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "stale"
    shutil.copytree(run_dir, target)
    (target / "report.pdf").write_bytes(b"%PDF- of an earlier report")
    files = build_report(target, renderer="none")
    assert files.pdf is None and not (target / "report.pdf").exists()
    assert files.pdf_skipped is not None and files.pdf_skipped.startswith(
        "PDF skipped (PDF renderer 'none' requested)")


def test_weasyprint_prints_a_self_contained_page_and_fetches_nothing(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An <img> pointing at a local file is not read: only data: URLs may be fetched."""
    _weasyprint_or_skip()
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not an image")
    html = tmp_path / "report.html"
    html.write_text(f'<html><body><p>Class A-1</p><img src="{secret.as_uri()}"></body></html>',
                    encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    print_with_weasyprint(html, pdf)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    refused = [r.getMessage() for r in caplog.records if r.name == "weasyprint"]
    assert any("disallowed protocol" in m and secret.name in m for m in refused), refused
