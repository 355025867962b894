"""The committee report of a run directory: read the run, build the model, write HTML and PDF.

:func:`build_model` turns a read run (:func:`reports.reading.load_run`) into the
:class:`~reports.model.Report` of nine sections; :func:`build_report` writes it as
``report.html`` (:func:`reports.html.render_html`) and ``report.pdf`` (:mod:`reports.pdf`)
into the run directory. Layout and formats: ``docs/reports.md``.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from portfolio._io import atomic_write
from reports.html import render_html
from reports.model import Report
from reports.pdf import (
    FALLBACK_RENDERER,
    PdfError,
    chromium_version,
    find_chromium,
    print_with_chromium,
    render_fallback_pdf,
)
from reports.reading import load_run
from reports.sections import (
    cashflow_section,
    class_section,
    diversification_section,
    executive_summary,
    loss_section,
    methodology_section,
    pool_section,
    scenario_section,
    trigger_section,
)
from simulation.run.directory import REPORT_HTML, REPORT_PDF, RunRecord

__all__ = ["build_model", "build_report"]


def build_model(data: RunRecord, *, pdf_renderer: str = "not rendered") -> Report:
    """Build the report model from a read run directory, its sections numbered in order.

    The trigger section is left out for a deal without performance triggers.

    Parameters
    ----------
    data : RunRecord
        From :func:`reports.reading.load_run`.
    pdf_renderer : str
        Which renderer makes the PDF (stated in the report).
    """
    deal = str(data.summary.get("deal") or "Deal")
    prov = data.summary.get("provenance", {})
    n_paths = prov.get("n_paths", len(data.frames["pool_paths"]))
    subtitle = f"Risk committee report - {n_paths:,} paths, seed {prov.get('seed', 'n/a')}"
    built = (
        executive_summary(data),
        pool_section(data),
        diversification_section(data),
        loss_section(data),
        class_section(data),
        cashflow_section(data),
        trigger_section(data),
        scenario_section(data),
        methodology_section(data, pdf_renderer),
    )
    sections = tuple(replace(section, number=number) for number, section
                     in enumerate((s for s in built if s is not None), start=1))
    return Report(deal, subtitle, sections, pdf_renderer)


def build_report(run_dir: str | os.PathLike[str], *, renderer: str = "auto",
                 html_name: str = REPORT_HTML,
                 pdf_name: str = REPORT_PDF) -> tuple[Path, Path]:
    """Write the committee report of a run directory as HTML and PDF, each atomically.

    Parameters
    ----------
    run_dir : path
        A deal run directory (``autoabs run --out``) or a stress directory; only its files are
        read.
    renderer : {"auto", "chromium", "fallback"}
        ``auto``: headless Chromium when found, else the matplotlib fallback; ``chromium``
        fails (PdfError) when no browser can print; ``fallback`` never starts a browser.

    Returns
    -------
    (Path, Path)
        The HTML and PDF paths (``run_dir/report.html``, ``run_dir/report.pdf``).
    """
    if renderer not in ("auto", "chromium", "fallback"):
        raise ValueError(f"renderer must be auto, chromium or fallback, got {renderer!r}")
    root = Path(run_dir)
    data = load_run(root)
    html_path, pdf_path = root / html_name, root / pdf_name
    binary = find_chromium() if renderer != "fallback" else None
    if binary is None and renderer == "chromium":
        raise PdfError("no Chromium binary found (install Debian's chromium or set "
                       "AUTOABS_CHROMIUM)")
    reason = "no Chromium found" if renderer == "auto" else "requested"
    if binary is not None:
        label = f"headless Chromium ({chromium_version(binary)}, print to PDF of {html_name})"
        report = build_model(data, pdf_renderer=label)
        _write_text(html_path, render_html(report))
        try:
            atomic_write(pdf_path, lambda tmp: print_with_chromium(binary, html_path, tmp))
            return html_path, pdf_path
        except PdfError as exc:
            if renderer == "chromium":
                raise
            reason = f"Chromium failed: {exc}"
    report = build_model(data, pdf_renderer=f"{FALLBACK_RENDERER} ({reason})")
    _write_text(html_path, render_html(report))
    atomic_write(pdf_path, lambda tmp: render_fallback_pdf(report, tmp))
    return html_path, pdf_path


def _write_text(path: Path, content: str) -> None:
    def write(tmp: Path) -> None:
        tmp.write_text(content, encoding="utf-8")

    atomic_write(path, write)
