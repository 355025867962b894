"""HTML rendering of the report model: Jinja2 templates (``reports/templates``), autoescaped.

One self-contained page: the stylesheet inline, charts as inline SVG, no scripts and no
external resources. Every numeric cell carries its full-precision value in ``data-value``.
"""

from __future__ import annotations

from importlib import resources

import jinja2
from markupsafe import Markup

from reports.model import Report

__all__ = ["render_html"]

_TEMPLATES = "templates"


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("reports", _TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(report: Report) -> str:
    """Render the report as one self-contained HTML page (CSS inline, charts inline SVG)."""
    # The stylesheet is the package's own file, inserted unescaped: inside <style> an entity
    # such as &#34; is not decoded, so an escaped quote would void every quoted font family.
    css = Markup(resources.files("reports").joinpath(_TEMPLATES, "report.css").read_text("utf-8"))
    return str(_environment().get_template("report.html.j2").render(report=report, css=css))
