"""Committee and diversification reports: tables, matplotlib charts, HTML and PDF.

``reports`` reads the files of a run directory (:func:`load_run`, through
``simulation.run.read_run``); it never runs a simulation. :func:`build_model` builds the
report model, :func:`render_html` renders it, and :func:`build_report` writes ``report.html``
and ``report.pdf`` into the run directory.
"""

from reports.build import ReportFiles, build_model, build_report
from reports.html import render_html
from reports.model import Report
from reports.pdf import find_chromium
from reports.reading import load_run

__all__ = [
    "Report",
    "ReportFiles",
    "build_model",
    "build_report",
    "find_chromium",
    "load_run",
    "render_html",
]
