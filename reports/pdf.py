"""PDF rendering of the committee report: headless Chromium, else a matplotlib fallback.

The PDF is the HTML report printed by headless Chromium when a Chromium binary is available
(the print stylesheet starts each section on a new A4 page). Without a browser, a fallback
renderer lays out the same sections with matplotlib's ``PdfPages``: headings, tables as
monospaced text, the same charts. The report states which renderer made its PDF
(:func:`reports.build.build_report` chooses).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from reports.model import Chart, Report, Table, Text

__all__ = [
    "CHROMIUM_CANDIDATES",
    "CHROMIUM_FLAGS",
    "FALLBACK_RENDERER",
    "PdfError",
    "chromium_command",
    "chromium_version",
    "find_chromium",
    "print_with_chromium",
    "render_fallback_pdf",
]

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable",
                       "/usr/bin/chromium")
"""Browser binaries looked for (after ``$AUTOABS_CHROMIUM``)."""

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--no-pdf-header-footer",
)
"""Flags of every headless Chromium call (plus a fresh ``--user-data-dir``)."""

FALLBACK_RENDERER = "matplotlib PdfPages fallback renderer"

_A4 = (8.27, 11.69)
_MARGIN = 0.6  # inches
_LINE = 0.125  # inches per monospaced line
_MAX_CHARS = 118
_MAX_CELL = 30


class PdfError(RuntimeError):
    """Chromium could not print the PDF."""


def find_chromium() -> str | None:
    """Path of a Chromium / Chrome binary, or None (``$AUTOABS_CHROMIUM`` first; "" disables)."""
    env = os.environ.get("AUTOABS_CHROMIUM")
    if env is not None:
        return shutil.which(env) or (env if env and Path(env).is_file() else None)
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_version(binary: str) -> str:
    """``chromium --version`` output (the binary's name when it cannot say)."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30,
                             check=False)
        return out.stdout.strip() or Path(binary).name
    except (OSError, subprocess.SubprocessError):
        return Path(binary).name


def chromium_command(binary: str, profile: str, *extra: str) -> list[str]:
    """A headless Chromium command line with :data:`CHROMIUM_FLAGS` and a fresh profile."""
    return [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra]


def print_with_chromium(binary: str, html_path: Path, pdf_path: Path,
                        timeout: float = 180.0) -> None:
    """Print ``html_path`` to ``pdf_path`` with headless Chromium.

    Raises
    ------
    PdfError
        When Chromium fails, times out or writes no PDF.
    """
    with tempfile.TemporaryDirectory(prefix="autoabs-chromium-") as profile:
        cmd = chromium_command(binary, profile, f"--print-to-pdf={pdf_path}",
                               Path(html_path).resolve().as_uri())
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            raise PdfError(f"{binary}: {exc}") from exc
    head = pdf_path.read_bytes()[:5] if pdf_path.is_file() else b""
    if done.returncode != 0 or head != b"%PDF-":
        tail = (done.stderr or "").strip().splitlines()[-3:]
        raise PdfError(f"{binary} exited {done.returncode}, no PDF written: {' | '.join(tail)}")


# --------------------------------------------------------------------------------------------
# Fallback renderer
# --------------------------------------------------------------------------------------------


def _table_lines(table: Table) -> list[str]:
    """Monospaced lines of a table: header, rule, rows; numbers right-aligned."""
    header = [c.label for c in table.columns]
    body = [[cell.text for cell in row.cells] for row in table.rows]

    def clip(s: str) -> str:
        return s if len(s) <= _MAX_CELL else s[: _MAX_CELL - 1] + "~"

    header = [clip(h) for h in header]
    body = [[clip(s) for s in r] for r in body]
    widths = [max([len(h), *(len(r[i]) for r in body)]) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        parts = [s.rjust(w) if c.numeric else s.ljust(w)
                 for s, w, c in zip(cells, widths, table.columns, strict=True)]
        return "  ".join(parts).rstrip()

    lines = [line(header), "  ".join("-" * w for w in widths)]
    lines += [line(r) for r in body]
    return lines


class _PageWriter:
    """Flows headings, monospaced lines and chart images down A4 pages."""

    def __init__(self, pdf: object) -> None:
        self.pdf = pdf
        self.fig: object | None = None
        self.y = 0.0

    def _new_page(self) -> None:
        from matplotlib.figure import Figure

        self.finish_page()
        self.fig = Figure(figsize=_A4)
        self.y = _A4[1] - _MARGIN

    def finish_page(self) -> None:
        if self.fig is not None:
            self.pdf.savefig(self.fig)  # type: ignore[attr-defined]
            self.fig = None

    def _room(self, height: float) -> None:
        if self.fig is None or self.y - height < _MARGIN:
            self._new_page()

    def _text(self, s: str, size: float, height: float, **kw: object) -> None:
        self._room(height)
        assert self.fig is not None
        self.fig.text(_MARGIN / _A4[0], self.y / _A4[1], s, fontsize=size,  # type: ignore
                      va="top", ha="left", **kw)
        self.y -= height

    def section(self, title: str) -> None:
        self._new_page()
        self._text(title, 15, 0.45, weight="bold", color="#1f4e79")

    def heading(self, title: str) -> None:
        self._room(0.6)
        self.y -= 0.08
        self._text(title, 10, 0.24, weight="bold")

    def paragraph(self, s: str, size: float = 8.0) -> None:
        for part in textwrap.wrap(s, 105) or [""]:
            self._text(part, size, 0.16)
        self.y -= 0.06

    def mono(self, lines: list[str]) -> None:
        for s in lines:
            for part in textwrap.wrap(s, _MAX_CHARS, drop_whitespace=False) or [""]:
                self._text(part, 6.3, _LINE, family="monospace")
        self.y -= 0.08

    def chart(self, chart: Chart) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        fig = chart.draw()
        FigureCanvasAgg(fig)
        fig.set_dpi(150)
        fig.canvas.draw()
        image = np.asarray(fig.canvas.buffer_rgba())  # type: ignore[attr-defined]
        w_in, h_in = fig.get_size_inches()
        width = _A4[0] - 2 * _MARGIN
        height = width * h_in / w_in
        self._room(height + 0.1)
        assert self.fig is not None
        ax = self.fig.add_axes((_MARGIN / _A4[0], (self.y - height) / _A4[1],  # type: ignore
                                width / _A4[0], height / _A4[1]))
        ax.imshow(image, interpolation="lanczos")
        ax.set_axis_off()
        self.y -= height + 0.1


def render_fallback_pdf(report: Report, target: Path) -> None:
    """Write the report's sections to ``target`` with matplotlib's PdfPages."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_pdf import PdfPages

    with PdfPages(target, metadata={"Title": f"{report.title} - risk committee report",
                                    "Creator": "autoabs reports", "CreationDate": None}) as pdf:
        writer = _PageWriter(pdf)
        writer._new_page()
        writer._text(report.title, 20, 0.5, weight="bold", color="#1f4e79")
        writer.paragraph(report.subtitle, 10)
        writer.paragraph(f"PDF renderer: {report.pdf_renderer}.", 9)
        writer.heading("Contents")
        for s in report.sections:
            writer.paragraph(f"{s.number}  {s.title}", 9)
        for section in report.sections:
            writer.section(f"{section.number}  {section.title}")
            for block in _blocks(section.blocks):
                if isinstance(block, Table):
                    writer.heading(block.title)
                    writer.mono(_table_lines(block))
                    if block.note:
                        writer.paragraph(block.note, 7)
                elif isinstance(block, Chart):
                    writer.heading(block.title)
                    writer.chart(block)
                    writer.paragraph(block.caption, 7)
                else:
                    for p in block.paragraphs:
                        writer.paragraph(p)
        writer.finish_page()


def _blocks(blocks: tuple[Table | Chart | Text, ...]) -> Iterator[Table | Chart | Text]:
    yield from blocks
