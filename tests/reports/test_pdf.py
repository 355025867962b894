"""PDF renderers: a missing WeasyPrint or Pango is a PdfError that says what to install."""

from __future__ import annotations

import builtins
import sys
from pathlib import Path
from typing import Any

import pytest

from reports.pdf import WEASYPRINT_SYSTEM_PACKAGES, PdfError, print_with_weasyprint


def test_missing_weasyprint_names_the_pip_package(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import fails with ImportError
    with pytest.raises(PdfError, match="pip install weasyprint"):
        print_with_weasyprint(tmp_path / "report.html", tmp_path / "report.pdf")


def test_missing_pango_names_the_debian_packages(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    real_import = builtins.__import__

    def no_pango(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "weasyprint":  # what WeasyPrint raises when cffi cannot dlopen Pango
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "weasyprint", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_pango)
    with pytest.raises(PdfError, match="apt-get install " + " ".join(WEASYPRINT_SYSTEM_PACKAGES)):
        print_with_weasyprint(tmp_path / "report.html", tmp_path / "report.pdf")


def test_weasyprint_prints_a_self_contained_page_and_fetches_nothing(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An <img> pointing at a local file is not read: only data: URLs may be fetched."""
    pytest.importorskip("weasyprint", reason="WeasyPrint (pip weasyprint + Pango) not installed")
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
