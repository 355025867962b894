"""Committee and diversification reports: tables, matplotlib charts, HTML and PDF.

``reports`` reads the files of a run directory; it never runs a simulation.
:func:`build_report` writes ``report.html`` and ``report.pdf`` into the run directory.
"""

from reports.committee import Report, RunData, build_model, load_run, render_html
from reports.pdf import build_report, find_chromium

__all__ = [
    "Report",
    "RunData",
    "build_model",
    "build_report",
    "find_chromium",
    "load_run",
    "render_html",
]
