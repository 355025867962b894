"""PDF printers of the committee report HTML: headless Chromium, else WeasyPrint, else none.

Both printers print the same ``report.html`` with its print stylesheet
(``reports/templates/report.css``: A4, each section on a new page, tables within the page
width). Headless Chromium is used when a binary is found; WeasyPrint (a CSS paged-media
renderer on Pango, whose system libraries Debian ships) needs no browser. When neither can run,
:func:`find_printers` says why, and :func:`reports.build.build_report` writes the HTML only.
Why WeasyPrint and not a second layout: ``docs/reports.md``.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from portfolio.errors import InputError

__all__ = [
    "CHROMIUM_CANDIDATES",
    "CHROMIUM_FLAGS",
    "PDF_RENDERERS",
    "PDF_RENDERER_ENV",
    "WEASYPRINT_SYSTEM_PACKAGES",
    "PdfError",
    "PdfPrinter",
    "Unavailable",
    "WeasyPrintMissing",
    "chromium_command",
    "chromium_version",
    "find_chromium",
    "find_printers",
    "no_pdf_message",
    "print_with_chromium",
    "print_with_weasyprint",
    "requested_renderer",
    "weasyprint_version",
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

PDF_RENDERERS = ("auto", "chromium", "weasyprint", "none")
"""``auto``: Chromium when found, else WeasyPrint, else no PDF; the others force one (``none``:
write no PDF)."""

PDF_RENDERER_ENV = "AUTOABS_PDF_RENDERER"
"""Environment variable choosing the renderer when the caller does not (default ``auto``)."""

WEASYPRINT_SYSTEM_PACKAGES = ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0",
                              "fonts-dejavu-core")
"""Debian packages WeasyPrint needs: Pango, HarfBuzz subsetting, and a font to embed."""


class PdfError(RuntimeError):
    """A renderer that was found failed to print the PDF."""


@dataclass(frozen=True)
class Unavailable:
    """Why a renderer cannot run here, and what makes it run."""

    reason: str
    remedy: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.remedy}"


@dataclass(frozen=True)
class PdfPrinter:
    """A renderer that can run here: its name, the label the report states, and its print."""

    name: str
    label: str
    print_pdf: Callable[[Path, Path], None]
    """``print_pdf(html_path, pdf_path)``; raises :class:`PdfError` when printing fails."""


def requested_renderer(renderer: str | None = None) -> str:
    """The renderer asked for: ``renderer``, else ``$AUTOABS_PDF_RENDERER``, else ``auto``.

    Raises
    ------
    InputError
        When it is not one of :data:`PDF_RENDERERS` (naming the parameter or the variable).
    """
    source = "PDF renderer"
    if renderer is None:
        renderer = os.environ.get(PDF_RENDERER_ENV) or "auto"
        source = PDF_RENDERER_ENV
    if renderer not in PDF_RENDERERS:
        raise InputError(source, f"must be one of {', '.join(PDF_RENDERERS)}; got {renderer!r}")
    return renderer


def find_printers(renderer: str) -> tuple[list[PdfPrinter], list[Unavailable]]:
    """The printers to try, in order, and why each renderer left out cannot run.

    Parameters
    ----------
    renderer : str
        One of :data:`PDF_RENDERERS` (:func:`requested_renderer`).

    Raises
    ------
    InputError
        When a forced renderer (``chromium`` or ``weasyprint``) cannot run here, saying what to
        install.
    """
    if renderer == "none":
        return [], [Unavailable("PDF renderer 'none' requested",
                                f"--pdf auto, or {PDF_RENDERER_ENV}=auto (or unset)")]
    printers: list[PdfPrinter] = []
    missing: list[Unavailable] = []
    if renderer in ("auto", "chromium"):
        binary = find_chromium()
        if binary is not None:
            printers.append(PdfPrinter(
                "chromium", f"headless Chromium ({chromium_version(binary)})",
                lambda html, pdf: print_with_chromium(binary, html, pdf)))
        else:
            missing.append(Unavailable("no Chromium found", "apt-get install chromium (or set "
                                       "AUTOABS_CHROMIUM to a Chrome binary)"))
    if renderer in ("auto", "weasyprint"):
        try:
            version = weasyprint_version()
        except WeasyPrintMissing as exc:
            missing.append(exc.unavailable)
        else:
            printers.append(PdfPrinter("weasyprint", f"WeasyPrint {version}",
                                       print_with_weasyprint))
    if renderer != "auto" and not printers:
        raise InputError(f"PDF renderer {renderer}", str(missing[0]))
    return printers, missing


def no_pdf_message(missing: list[Unavailable]) -> str:
    """The one line saying why no PDF was written and what to install."""
    return (f"PDF skipped ({'; '.join(m.reason for m in missing)}); report.html holds the "
            f"whole report. For a PDF: {' or '.join(m.remedy for m in missing)}.")


# --------------------------------------------------------------------------------------------
# Chromium


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
# WeasyPrint


class WeasyPrintMissing(Exception):
    """WeasyPrint or its system libraries are not installed (:attr:`unavailable` says which)."""

    def __init__(self, unavailable: Unavailable) -> None:
        super().__init__(str(unavailable))
        self.unavailable = unavailable


def _weasyprint() -> ModuleType:
    """The ``weasyprint`` module, or :class:`WeasyPrintMissing` saying what to install.

    Only the two failures of a missing install are caught: ImportError (no pip package) and
    OSError (cffi cannot open Pango / HarfBuzz). WeasyPrint prints a multi-line install notice
    on stdout before that OSError; it is swallowed so that the caller's one line is all the
    user sees.
    """
    notice = io.StringIO()
    try:
        with contextlib.redirect_stdout(notice):
            import weasyprint
    except ImportError as exc:
        raise WeasyPrintMissing(Unavailable(
            f"WeasyPrint not installed ({exc})", "pip install weasyprint")) from exc
    except OSError as exc:
        raise WeasyPrintMissing(Unavailable(
            f"WeasyPrint cannot load Pango ({exc})",
            f"apt-get install {' '.join(WEASYPRINT_SYSTEM_PACKAGES)}")) from exc
    return weasyprint


def weasyprint_version() -> str:
    """The installed WeasyPrint version (:class:`WeasyPrintMissing` when it cannot run)."""
    return str(_weasyprint().__version__)


def print_with_weasyprint(html_path: Path, pdf_path: Path) -> None:
    """Print ``html_path`` to ``pdf_path`` with WeasyPrint (print media, A4 from the CSS).

    The report is self-contained (inline CSS and SVG): only ``data:`` URLs may be fetched, so
    printing never touches the network or other files.
    """
    weasyprint = _weasyprint()
    fetcher = weasyprint.URLFetcher(allowed_protocols=("data",))
    document = weasyprint.HTML(filename=str(html_path), url_fetcher=fetcher, media_type="print")
    document.write_pdf(str(pdf_path))
