"""The report model: value objects for tables, charts and text, and the cell formatting.

A :class:`Report` is numbered :class:`Section` s of blocks (:class:`Table`, :class:`Chart`,
:class:`Text`); the section builders (:mod:`reports.sections`) make them, the renderers
(:mod:`reports.html`, :mod:`reports.pdf`) lay them out. Numbers are rounded for display only:
every numeric :class:`Cell` keeps its full-precision value, which the HTML carries in a
``data-value`` attribute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from portfolio._format import number_text, percent_text

__all__ = [
    "Block",
    "Cell",
    "Chart",
    "Column",
    "Report",
    "Row",
    "Section",
    "Table",
    "Text",
    "finite",
    "money",
    "num",
    "pct",
    "text",
]


@dataclass(frozen=True)
class Cell:
    """One table cell: the text shown and, for numbers, the full-precision value."""

    text: str
    value: float | None = None

    @property
    def value_repr(self) -> str:
        """``repr`` of the value: round-trips to the same float."""
        return repr(float(self.value)) if self.value is not None else ""


@dataclass(frozen=True)
class Column:
    """A table column: a key (``data-field``), a label, and whether it holds numbers."""

    key: str
    label: str
    numeric: bool = True


@dataclass(frozen=True)
class Row:
    """A table row: key (``data-key``), cells, and a kind (``""``, ``"total"``, ``"other"``)."""

    key: str
    cells: tuple[Cell, ...]
    kind: str = ""


@dataclass(frozen=True)
class Table:
    """A table block."""

    id: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    note: str = ""
    kind: str = field(default="table", init=False)


@dataclass(frozen=True)
class Chart:
    """A chart block: the matplotlib figure as inline SVG, with its title and caption."""

    id: str
    title: str
    caption: str
    svg: str
    kind: str = field(default="chart", init=False)


@dataclass(frozen=True)
class Text:
    """Paragraphs of plain text (escaped on output)."""

    paragraphs: tuple[str, ...]
    kind: str = field(default="text", init=False)


Block = Table | Chart | Text


@dataclass(frozen=True)
class Section:
    """A numbered report section."""

    id: str
    number: int
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Report:
    """The whole report: title, sections, PDF renderer, kind of document and its source.

    ``document`` ends the page title; ``source`` is what the footer says it was built from.
    """

    title: str
    subtitle: str
    sections: tuple[Section, ...]
    pdf_renderer: str
    document: str = "risk committee report"
    source: str = "the run directory only"

    def table(self, table_id: str) -> Table:
        """The table with the given id."""
        for section in self.sections:
            for block in section.blocks:
                if isinstance(block, Table) and block.id == table_id:
                    return block
        raise KeyError(table_id)


# --------------------------------------------------------------------------------------------
# Cell formatting (display rounding only; the cell keeps the float)
# --------------------------------------------------------------------------------------------


def finite(x: Any) -> float | None:
    """``x`` as a float, or None when it is None, not a number or not finite."""
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def pct(x: Any, decimals: int = 2) -> Cell:
    """A decimal shown as a percentage (a tiny non-zero value as a bound: ``< 0.0001%``)."""
    v = finite(x)
    return Cell("n/a", None) if v is None else Cell(percent_text(v, decimals), v)


def num(x: Any, spec: str = ",.2f", suffix: str = "") -> Cell:
    """A number with a format spec (never ``-0.00``)."""
    v = finite(x)
    return Cell("n/a", None) if v is None else Cell(number_text(v, spec, suffix), v)


def money(x: Any) -> Cell:
    """USD, whole dollars."""
    v = finite(x)
    return Cell("n/a", None) if v is None else Cell("$" + number_text(v, ",.0f"), v)


def text(s: Any) -> Cell:
    """A text cell."""
    return Cell("" if s is None else str(s))
