"""The committee report of a run directory: read the run, build the model, write HTML and PDF.

:func:`build_model` turns a read run (:func:`reports.reading.load_run`) into the
:class:`~reports.model.Report` of nine sections; :func:`build_report` writes it as
``report.html`` (:func:`reports.html.render_html`) and ``report.pdf`` (:mod:`reports.pdf`)
into the run directory. Layout and formats: ``docs/reports.md``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from portfolio._io import atomic_write
from reports.html import render_html
from reports.model import Report
from reports.pdf import PdfError, Unavailable, find_printers, no_pdf_message, requested_renderer
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

__all__ = ["ReportFiles", "build_model", "build_report", "write_report"]


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


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`build_report` wrote.

    Attributes
    ----------
    html : Path
        ``report.html``, always written.
    pdf : Path or None
        ``report.pdf``; None when no renderer could run (then no ``report.pdf`` is left in the
        directory, not even an older one).
    pdf_renderer : str
        The renderer stated in the report (``headless Chromium (...)``, ``WeasyPrint 70.0
        (no Chromium found)``, or ``none (...)``).
    pdf_skipped : str or None
        With no PDF, the one line saying why and what to install (the CLI prints it).
    """

    html: Path
    pdf: Path | None
    pdf_renderer: str
    pdf_skipped: str | None = None

    def __str__(self) -> str:
        return f"{self.html} and {self.pdf}" if self.pdf is not None else f"{self.html} (no PDF)"


def build_report(run_dir: str | os.PathLike[str], *, renderer: str | None = None,
                 html_name: str = REPORT_HTML, pdf_name: str = REPORT_PDF) -> ReportFiles:
    """Write the committee report of a run directory as HTML and PDF, each atomically.

    Parameters
    ----------
    run_dir : path
        A deal run directory (``autoabs run --out``) or a stress directory; only its files are
        read.
    renderer : {"auto", "chromium", "weasyprint", "none"}, optional
        Default ``$AUTOABS_PDF_RENDERER``, else ``auto``: headless Chromium when found, else
        (or when it fails) WeasyPrint, else no PDF. ``chromium`` / ``weasyprint`` use that
        renderer only; ``none`` writes the HTML only. Both renderers print the same
        ``report.html``, which states the renderer.

    Returns
    -------
    ReportFiles
        The HTML path, the PDF path (None when no renderer could run) and the renderer.

    Raises
    ------
    InputError
        When ``renderer`` is unknown, or a forced renderer cannot run here.
    PdfError
        When the forced renderer fails to print.
    """
    root = Path(run_dir)
    data = load_run(root)
    return write_report(lambda label: build_model(data, pdf_renderer=label),
                        root / html_name, root / pdf_name, renderer=renderer)


def write_report(model: Callable[[str], Report], html_path: Path, pdf_path: Path, *,
                 renderer: str | None = None) -> ReportFiles:
    """Write a report as HTML and PDF through the renderer chain, each file atomically.

    ``model(label)`` builds the report stating the PDF renderer ``label``; the chain and the
    ``renderer`` choice are :func:`build_report`'s (Chromium, else WeasyPrint, else no PDF).
    """
    choice = requested_renderer(renderer)
    printers, missing = find_printers(choice)
    failed: list[Unavailable] = []
    for printer in printers:
        why = "; ".join(m.reason for m in (*missing, *failed))
        label = printer.label + (f" ({why})" if why else "")
        _write_text(html_path, render_html(model(label)))
        try:
            atomic_write(pdf_path, lambda tmp: printer.print_pdf(html_path, tmp))  # noqa: B023
            return ReportFiles(html_path, pdf_path, label)
        except PdfError as exc:
            if choice != "auto":
                raise
            failed.append(Unavailable(f"{printer.name} failed: {exc}",
                                      f"repair {printer.name} (its error is quoted)"))
    skipped = no_pdf_message([*missing, *failed])
    label = "none (" + "; ".join(m.reason for m in (*missing, *failed)) + ")"
    _write_text(html_path, render_html(model(label)))
    pdf_path.unlink(missing_ok=True)  # an older PDF would not match this report.html
    return ReportFiles(html_path, None, label, skipped)


def _write_text(path: Path, content: str) -> None:
    def write(tmp: Path) -> None:
        tmp.write_text(content, encoding="utf-8")

    atomic_write(path, write)
