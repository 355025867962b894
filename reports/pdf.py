"""PDF rendering of the committee report HTML: headless Chromium, else WeasyPrint.

Both renderers print the same ``report.html`` with its print stylesheet
(``reports/templates/report.css``: A4, each section on a new page, tables that wrap within the
page). Headless Chromium is used when a binary is found; WeasyPrint (a CSS paged-media
renderer on Pango, whose system libraries Debian ships) needs no browser. The report states
which renderer made its PDF (:func:`reports.build.build_report` chooses). Why WeasyPrint:
``docs/reports.md``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import ModuleType

__all__ = [
    "CHROMIUM_CANDIDATES",
    "CHROMIUM_FLAGS",
    "WEASYPRINT_SYSTEM_PACKAGES",
    "PdfError",
    "chromium_command",
    "chromium_version",
    "find_chromium",
    "print_with_chromium",
    "print_with_weasyprint",
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

WEASYPRINT_SYSTEM_PACKAGES = ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0")
"""Debian packages of the system libraries WeasyPrint loads (Pango, HarfBuzz subsetting)."""


class PdfError(RuntimeError):
    """No renderer could print the PDF (Chromium failed, or WeasyPrint is not installed)."""


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


def _weasyprint() -> ModuleType:
    """The ``weasyprint`` module; PdfError naming the missing pip or Debian package."""
    try:
        import weasyprint
    except ImportError as exc:
        raise PdfError(f"WeasyPrint is not installed ({exc}): pip install weasyprint") from exc
    except OSError as exc:  # the Python package is there, Pango/HarfBuzz are not
        raise PdfError(f"WeasyPrint cannot load its system libraries ({exc}): apt-get install "
                       f"{' '.join(WEASYPRINT_SYSTEM_PACKAGES)}") from exc
    return weasyprint


def weasyprint_version() -> str:
    """The installed WeasyPrint version.

    Raises
    ------
    PdfError
        When WeasyPrint or its system libraries are missing.
    """
    return str(_weasyprint().__version__)


def print_with_weasyprint(html_path: Path, pdf_path: Path) -> None:
    """Print ``html_path`` to ``pdf_path`` with WeasyPrint (print media, A4 from the CSS).

    The report is self-contained (inline CSS and SVG): only ``data:`` URLs may be fetched, so
    rendering never touches the network or other files.

    Raises
    ------
    PdfError
        When WeasyPrint or its system libraries are missing.
    """
    weasyprint = _weasyprint()
    fetcher = weasyprint.URLFetcher(allowed_protocols=("data",))
    document = weasyprint.HTML(filename=str(html_path), url_fetcher=fetcher, media_type="print")
    document.write_pdf(str(pdf_path))
