"""The risk-committee report: read a run directory, build the report model, render HTML.

The report reads only the files of a deal run directory (:data:`autoabs.pipeline.RUN_FILES`,
plus the optional ``breakeven.json``, ``stress.csv`` / ``stress.json``, ``paydown.csv`` and
``manifest.json``); it never runs a simulation. :func:`build_model` turns them into a
:class:`Report` of sections made of tables, charts and text; :func:`render_html` renders it
with Jinja2 (autoescaped) into one self-contained HTML page, charts as inline SVG. Every
numeric cell carries its full-precision value in a ``data-value`` attribute, so each number
shown can be traced back to the run (the tests parse them back).

Layout and formats: ``docs/reports.md``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from portfolio._format import percent_text
from portfolio.errors import InputError, Problem
from portfolio.strats import NAN_NOTE, TOTAL, strat_table
from portfolio.tape import COLUMN_BY_NAME, LoanTape, tape_from_columns
from reports import charts
from reports.diversification import (
    concentration_by_dimension,
    expected_shortfall,
    summarize_pool_paths,
    value_at_risk,
    vasicek_quantile,
)
from simulation.estimators import conditional_mean
from simulation.run.results import DEFAULT_THRESHOLD

__all__ = [
    "OPTIONAL_FILES",
    "REQUIRED_FILES",
    "Cell",
    "Chart",
    "Column",
    "Report",
    "Row",
    "RunData",
    "Section",
    "Table",
    "Text",
    "build_model",
    "load_run",
    "render_html",
]

REQUIRED_FILES = (
    "summary.json", "class_paths.parquet", "pool_paths.parquet", "pool_flows.parquet",
    "pool_factor_quantiles.parquet", "class_balance_quantiles.parquet", "triggers.parquet",
    "tape.parquet",
)
"""Files of a deal run directory the report needs (``autoabs.pipeline.RUN_FILES``)."""

OPTIONAL_FILES = ("breakeven.json", "breakeven.csv", "stress.csv", "stress.json", "paydown.csv",
                  "manifest.json")
"""Files the report shows when present and names as absent otherwise."""

STRAT_DIMENSIONS: tuple[tuple[str, str], ...] = (
    ("state", "State"),
    ("vehicle_make", "Make"),
    ("fico", "FICO band"),
    ("rate", "APR band"),
    ("original_term", "Original term (months)"),
    ("ltv", "LTV band"),
    ("vehicle_new", "New / used"),
    ("vehicle_year", "Model year"),
)
"""Strat dimensions of the pool section, with their labels."""

CONCENTRATION_EXTRA: tuple[tuple[str, str], ...] = (
    ("vehicle_model", "Model"), ("dealer_id", "Dealer"),
)

TAIL_LEVELS = (0.95, 0.99, 0.999)
"""Confidence levels of VaR and expected shortfall."""

MAX_STRAT_ROWS = 15
"""Categorical strat rows shown before the rest is summed into one line."""

TIMELINE_MONTHS = (1, 3, 6, 12, 18, 24, 30, 36, 48, 60, 72, 84)
"""Months shown in the paydown and trigger tables (plus the last month)."""

NOT_COMPUTED = "not computed"

_TEMPLATES = "templates"


# --------------------------------------------------------------------------------------------
# Report model
# --------------------------------------------------------------------------------------------


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
    """A chart block: inline SVG and the function that draws it again (fallback PDF)."""

    id: str
    title: str
    caption: str
    svg: str
    draw: Callable[[], Figure] = field(repr=False, compare=False)
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
    """The whole report: title, sections, and the renderer of its PDF."""

    title: str
    subtitle: str
    sections: tuple[Section, ...]
    pdf_renderer: str

    def table(self, table_id: str) -> Table:
        """The table with the given id."""
        for section in self.sections:
            for block in section.blocks:
                if isinstance(block, Table) and block.id == table_id:
                    return block
        raise KeyError(table_id)


# --------------------------------------------------------------------------------------------
# Reading the run directory
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunData:
    """The files of a run directory, read (optional ones ``None`` when absent)."""

    run_dir: Path
    base_run: str | None
    """In a stress directory, the scenario run (relative path) that sections 1-7 describe."""
    summary: dict[str, Any]
    class_paths: pd.DataFrame
    pool_paths: pd.DataFrame
    pool_flows: pd.DataFrame
    pool_factor_quantiles: pd.DataFrame
    class_balance_quantiles: pd.DataFrame
    triggers: pd.DataFrame
    tape: LoanTape
    breakeven: dict[str, float | None] | None
    stress: pd.DataFrame | None
    stress_file: str | None
    paydown: pd.DataFrame | None
    manifest: dict[str, Any] | None
    file_hashes: dict[str, str]

    @property
    def classes(self) -> list[str]:
        """Class names, most senior first."""
        return [str(c["name"]) for c in self.summary["classes"]]


def load_run(run_dir: str | Path) -> RunData:
    """Read a deal run directory.

    Raises
    ------
    InputError
        When the directory or a required file is missing or unreadable.
    """
    top = Path(run_dir)
    if not top.is_dir():
        raise InputError(str(top), Problem(None, "", "run directory not found"))
    root = _base_run(top)
    missing = [name for name in REQUIRED_FILES if not (root / name).is_file()]
    if missing:
        raise InputError(str(root), [Problem(None, name, "missing from the run directory "
                                             "(write it with `autoabs run`)") for name in missing])
    hashes = {}
    for name in REQUIRED_FILES:
        hashes[_relative(root / name, top)] = _sha256(root / name)

    def optional(name: str) -> Path | None:
        for folder in (top, root):
            if (folder / name).is_file():
                hashes[_relative(folder / name, top)] = _sha256(folder / name)
                return folder / name
        return None

    paths = {name: optional(name) for name in OPTIONAL_FILES}

    def parquet(name: str) -> pd.DataFrame:
        try:
            return pd.read_parquet(root / name)
        except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input file
            raise InputError(str(root / name), f"unreadable Parquet file: {exc}") from None

    summary = _read_json(root / "summary.json")
    if not isinstance(summary, dict) or "classes" not in summary or "pool" not in summary:
        raise InputError(str(root / "summary.json"), "not a deal run summary (no classes/pool)")
    tape_frame = parquet("tape.parquet")
    tape = tape_from_columns({c: tape_frame[c].to_numpy() for c in tape_frame.columns
                              if c in COLUMN_BY_NAME})
    stress, stress_file = _read_stress(paths["stress.csv"], paths["stress.json"])
    breakeven = None
    if paths["breakeven.json"] is not None:
        breakeven = _read_breakeven(paths["breakeven.json"])
    elif paths["breakeven.csv"] is not None:
        breakeven = _read_breakeven(paths["breakeven.csv"])
    paydown = None
    if paths["paydown.csv"] is not None:
        try:
            paydown = pd.read_csv(paths["paydown.csv"])
        except Exception as exc:  # noqa: BLE001
            raise InputError(str(paths["paydown.csv"]), f"unreadable CSV: {exc}") from None
    manifest = _read_json(paths["manifest.json"]) if paths["manifest.json"] else None
    return RunData(
        run_dir=top,
        base_run=_relative(root, top) if root != top else None,
        summary=summary,
        class_paths=parquet("class_paths.parquet"),
        pool_paths=parquet("pool_paths.parquet"),
        pool_flows=parquet("pool_flows.parquet"),
        pool_factor_quantiles=parquet("pool_factor_quantiles.parquet"),
        class_balance_quantiles=parquet("class_balance_quantiles.parquet"),
        triggers=parquet("triggers.parquet"),
        tape=tape,
        breakeven=breakeven,
        stress=stress,
        stress_file=stress_file,
        paydown=paydown,
        manifest=manifest if isinstance(manifest, dict) else None,
        file_hashes=hashes,
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _relative(path: Path, top: Path) -> str:
    return path.relative_to(top).as_posix()


def _base_run(top: Path) -> Path:
    """The deal run the report describes: ``top`` itself, or a scenario of a stress directory.

    A stress directory holds ``stress.csv`` and ``scenarios/<name>/`` runs: the report then
    describes ``baseline`` (else the first scenario listed) and compares all of them.
    """
    if (top / "summary.json").is_file() or not (top / "scenarios").is_dir():
        return top
    names: list[str] = []
    if (top / "stress.csv").is_file():
        try:
            names = [str(n) for n in pd.read_csv(top / "stress.csv")["scenario"].unique()]
        except Exception:  # noqa: BLE001 - fall back to the directory listing
            names = []
    names += sorted(p.name for p in (top / "scenarios").iterdir() if p.is_dir())
    runs = [n for n in names if (top / "scenarios" / n / "summary.json").is_file()]
    if not runs:
        return top
    return top / "scenarios" / ("baseline" if "baseline" in runs else runs[0])


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(str(path), f"unreadable JSON: {exc}") from None


_MULTIPLE_KEYS = ("multiple", "breakeven_multiple", "cnl_multiple", "value")


def _read_breakeven(path: Path) -> dict[str, float | None]:
    """Class -> break-even CNL multiple from the accepted ``breakeven.json`` / ``.csv`` shapes.

    CSV: columns ``class`` and ``breakeven_multiple`` (``autoabs breakeven --csv``). JSON:
    ``{"A": 3.1}``, ``{"classes": {"A": 3.1}}``, ``{"classes": {"A": {"multiple": 3.1}}}``,
    ``{"classes": [{"name": "A", "multiple": 3.1}]}`` or a list of such records.
    """
    if path.suffix == ".csv":
        try:
            data = pd.read_csv(path).to_dict(orient="records")
        except Exception as exc:  # noqa: BLE001
            raise InputError(str(path), f"unreadable CSV: {exc}") from None
    else:
        data = _read_json(path)
    if isinstance(data, dict) and "classes" in data:
        data = data["classes"]
    out: dict[str, float | None] = {}
    if isinstance(data, dict):
        items: Iterable[tuple[Any, Any]] = data.items()
    elif isinstance(data, list):
        items = [(r.get("name", r.get("class")), r) for r in data if isinstance(r, dict)]
    else:
        raise InputError(str(path), "expected an object or a list of class records")
    for name, value in items:
        if isinstance(value, dict):
            if str(value.get("bracketed", True)).lower() == "false":
                out[str(name)] = math.inf  # no loss even at the most severe stress tried
                continue
            value = next((value[k] for k in _MULTIPLE_KEYS if k in value), None)
        out[str(name)] = None if value is None else _float_or_none(value)
    return out


def _float_or_none(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


_STRESS_ALIASES = {
    "tranche": "class", "class_name": "class", "note": "class",
    "expected_loss": "el", "default_probability": "pd", "wal_years": "wal",
    "trigger_breach_probability": "trigger_breach", "trigger_breach_prob": "trigger_breach",
    "trigger": "trigger_breach", "breach_probability": "trigger_breach",
    "pool_cnl": "cnl", "cnl_mean": "cnl", "pool_cnl_mean": "cnl",
}
STRESS_COLUMNS = ("el", "el_se", "pd", "wal", "yield", "trigger_breach", "cnl")
"""Numeric columns of the stress table the report shows (when present)."""


def _read_stress(csv_path: Path | None,
                 json_path: Path | None) -> tuple[pd.DataFrame | None, str | None]:
    """The stress table (``stress.csv`` preferred over ``stress.json``): scenario x class rows."""
    for path in (csv_path, json_path):
        if path is None:
            continue
        name = path.name
        if name.endswith(".csv"):
            try:
                frame = pd.read_csv(path)
            except Exception as exc:  # noqa: BLE001
                raise InputError(str(path), f"unreadable CSV: {exc}") from None
        else:
            data = _read_json(path)
            if isinstance(data, dict):
                data = data.get("rows", data.get("results", data.get("scenarios")))
            if not isinstance(data, list):
                raise InputError(str(path), "expected a list of scenario x class records "
                                 "(or {'rows': [...]})")
            frame = pd.DataFrame.from_records(data)
        frame = frame.rename(columns=lambda c: _STRESS_ALIASES.get(str(c).strip().lower(),
                                                                   str(c).strip().lower()))
        needed = [c for c in ("scenario", "class", "el") if c not in frame.columns]
        if needed:
            raise InputError(str(path), Problem(None, ", ".join(needed),
                                                "missing column(s); expected scenario, class, el "
                                                "and optionally pd, wal, yield, trigger_breach"))
        frame["scenario"] = frame["scenario"].astype(str)
        frame["class"] = frame["class"].astype(str)
        for col in STRESS_COLUMNS:
            if col in frame.columns:
                frame[col] = pd.to_numeric(frame[col], errors="coerce")
        return frame.reset_index(drop=True), name
    return None, None


# --------------------------------------------------------------------------------------------
# Cell formatting (display rounding only; data-value keeps the float)
# --------------------------------------------------------------------------------------------


def _finite(x: Any) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def pct(x: Any, decimals: int = 2) -> Cell:
    """A decimal shown as a percentage (tiny non-zero values in scientific notation)."""
    v = _finite(x)
    return Cell("n/a", None) if v is None else Cell(percent_text(v, decimals), v)


def num(x: Any, spec: str = ",.2f", suffix: str = "") -> Cell:
    """A number with a format spec."""
    v = _finite(x)
    return Cell("n/a", None) if v is None else Cell(f"{v:{spec}}{suffix}", v)


def money(x: Any) -> Cell:
    """USD, whole dollars."""
    v = _finite(x)
    return Cell("n/a", None) if v is None else Cell(f"${v:,.0f}", v)


def text(s: Any) -> Cell:
    """A text cell."""
    return Cell("" if s is None else str(s))


def _kv_table(table_id: str, title: str, rows: Sequence[tuple[str, str, Cell]],
              note: str = "") -> Table:
    """Two-column table of (key, label, value) rows."""
    return Table(table_id, title, (Column("item", "Item", False), Column("value", "Value")),
                 tuple(Row(key, (text(label), cell)) for key, label, cell in rows), note)


def _chart(chart_id: str, title: str, caption: str, draw: Callable[[], Figure]) -> Chart:
    return Chart(chart_id, title, caption, charts.to_svg(draw(), chart_id), draw)


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


def _weights(data: RunData) -> np.ndarray:
    if "weight" in data.pool_paths.columns:
        return np.asarray(data.pool_paths["weight"].to_numpy(dtype=float))
    return np.ones(len(data.pool_paths))


def _class_frame(data: RunData) -> pd.DataFrame:
    return pd.DataFrame(data.summary["classes"]).set_index("name", drop=False)


def _breakeven_cell(data: RunData, name: str) -> Cell:
    if data.breakeven is None:
        return Cell(NOT_COMPUTED)
    value = data.breakeven.get(name)
    if value is not None and math.isinf(value):
        return Cell("no loss at any multiple")
    return Cell(NOT_COMPUTED) if value is None else num(value, ".2f", "x")


def _stress_by_scenario(data: RunData) -> pd.DataFrame | None:
    """Per scenario: note loss (EL x class balance, USD), largest class EL, worst first."""
    if data.stress is None or data.stress.empty:
        return None
    balance = {str(c["name"]): float(c.get("balance") or 0.0) for c in data.summary["classes"]}
    frame = data.stress.copy()
    frame["note_loss"] = frame["el"] * frame["class"].map(balance).fillna(0.0)
    grouped = frame.groupby("scenario", sort=False).agg(note_loss=("note_loss", "sum"),
                                                        max_el=("el", "max"))
    return grouped.sort_values("note_loss", ascending=False, kind="mergesort")


def _executive_summary(data: RunData) -> Section:
    s = data.summary
    prov = s.get("provenance", {})
    pool = s["pool"]
    tape_summary = data.tape.summary()
    n_paths = prov.get("n_paths", len(data.pool_paths))
    scenario = prov.get("scenario") or "base (flat macro at cut-off levels)"
    intro = (
        f"Deal: {s.get('deal', 'unnamed deal')}. Pool: {len(data.tape):,} loans, "
        f"${data.tape.total_balance:,.0f} current balance. Simulated on {n_paths:,} "
        f"Monte Carlo paths (seed {prov.get('seed', 'n/a')}), scenario: {scenario}"
        f"{', stochastic paths' if prov.get('stochastic') else ''}."
        + (f" Sections 1-7 describe the scenario run {data.base_run} of this stress "
           "directory." if data.base_run else ""),
    )
    key_rows: list[tuple[str, str, Cell]] = [
        ("n_loans", "Loans", num(len(data.tape), ",.0f")),
        ("initial_balance", "Initial pool balance", money(pool.get("initial_balance"))),
        ("wa_rate", "WA APR", pct(tape_summary["wa_rate"])),
        ("wa_fico", "WA FICO", num(tape_summary["wa_fico"], ".0f")),
        ("wa_ltv", "WA LTV", pct(tape_summary["wa_ltv"], 1)),
        ("wa_original_term", "WA original term (months)",
         num(tape_summary["wa_original_term"], ".1f")),
        ("share_new", "New vehicles (share of balance)", pct(tape_summary["share_new"], 1)),
        ("share_30dpd", "30+ days past due at cut-off (share of balance)",
         pct(tape_summary["share_30dpd"], 2)),
        ("cnl_mean", "Pool CNL, mean", pct(pool.get("cnl_mean"), 3)),
        ("cnl_mean_se", "Pool CNL, standard error of the mean", pct(pool.get("cnl_mean_se"), 3)),
        ("cnl_sd", "Pool CNL, standard deviation", pct(pool.get("cnl_sd"), 3)),
        ("cnl_p99", "Pool CNL, 99th percentile", pct(pool.get("cnl_p99"), 3)),
        ("cnl_p99_9", "Pool CNL, 99.9th percentile", pct(pool.get("cnl_p99_9"), 3)),
    ]
    events = s.get("events", {})
    for key, label in (("reserve_draw_probability", "Probability of a reserve draw"),
                       ("event_of_default_probability", "Probability of an event of default"),
                       ("clean_up_call_probability", "Probability of the clean-up call")):
        if key in events:
            key_rows.append((key, label, pct(events[key], 2)))
    key_table = _kv_table("key-figures", "Key figures", key_rows)

    rows = []
    for c in s["classes"]:
        name = str(c["name"])
        rows.append(Row(name, (
            text(name), money(c.get("balance")), pct(c.get("hard_ce")), pct(c.get("el"), 4),
            text(c.get("implied_rating")), num(c.get("wal"), ".2f"),
            _breakeven_cell(data, name),
        )))
    headline = Table(
        "headline", "Headline results by class",
        (Column("class", "Class", False), Column("balance", "Balance"),
         Column("hard_ce", "Hard CE"), Column("el", "EL"),
         Column("implied_rating", "Implied rating*", False), Column("wal", "WAL (years)"),
         Column("breakeven_multiple", "Break-even CNL multiple")),
        tuple(rows),
        f"* Implied from (EL, WAL) with the {s.get('el_table', 'idealized EL table')}. "
        "Hard CE = junior classes + OC + reserve at closing, % of the pool."
        + ("" if data.breakeven is not None else
           " Break-even multiples: not computed (no breakeven.json or breakeven.csv in the run "
           "directory)."),
    )
    worst = _stress_by_scenario(data)
    if worst is None:
        closing = "Worst scenario: not computed (no stress table in the run directory)."
    else:
        name = str(worst.index[0])
        closing = (f"Worst scenario: {name} (largest expected note loss, "
                   f"${float(worst['note_loss'].iloc[0]):,.0f}; largest class EL "
                   f"{float(worst['max_el'].iloc[0]):.4%}), out of {len(worst)} scenarios in "
                   f"{data.stress_file}.")
    return Section("summary", 1, "Executive summary",
                   (Text(intro), headline, key_table, Text((closing,))))


def _strat_block(tape: LoanTape, column: str, label: str) -> Table:
    frame = strat_table(tape, column)
    body, total = frame.iloc[:-1], frame.iloc[-1]
    categorical = COLUMN_BY_NAME[column].kind in ("str", "bool", "ptype")
    shown = body.iloc[:MAX_STRAT_ROWS] if categorical else body

    def cells(row: Any) -> tuple[Cell, ...]:
        return (text(row["bucket"]), num(row["count"], ",.0f"), money(row["balance"]),
                pct(row["share_of_balance"]), pct(row["share_of_count"]),
                pct(row["wa_rate"]), num(row["wa_fico"], ".0f"), pct(row["wa_ltv"], 1),
                num(row["wa_original_term"], ".1f"), num(row["wa_remaining_term"], ".1f"))

    rows = [Row(str(r["bucket"]), cells(r)) for _, r in shown.iterrows()]
    if len(shown) < len(body):
        rest = body.iloc[len(shown):]
        rows.append(Row("others", (
            text(f"{len(rest)} others"), num(rest["count"].sum(), ",.0f"),
            money(rest["balance"].sum()), pct(rest["share_of_balance"].sum()),
            pct(rest["share_of_count"].sum()), *(Cell("") for _ in range(5))), "other"))
    rows.append(Row(TOTAL, cells(total), "total"))
    columns = (Column("bucket", label, False), Column("count", "Loans"),
               Column("balance", "Balance"), Column("share_of_balance", "% balance"),
               Column("share_of_count", "% count"), Column("wa_rate", "WA APR"),
               Column("wa_fico", "WA FICO"), Column("wa_ltv", "WA LTV"),
               Column("wa_original_term", "WA orig. term"),
               Column("wa_remaining_term", "WA rem. term"))
    return Table(f"strat-{column}", f"Strat by {label}", columns, tuple(rows))


def _concentration_table(data: RunData) -> tuple[Table, list[Any]]:
    dims = (*STRAT_DIMENSIONS, *CONCENTRATION_EXTRA)
    labels = dict(dims)
    concs = concentration_by_dimension(data.tape, [d for d, _ in dims])
    rows = []
    for c in concs:
        top = dict(c.top_shares)
        rows.append(Row(c.dimension, (
            text(labels[c.dimension]), num(c.n_groups, ",.0f"), num(c.hhi, ".4f"),
            num(c.effective_number, ",.1f"), pct(top.get(1), 1), pct(top.get(5), 1),
            pct(top.get(10), 1), num(c.gini, ".3f"),
            text(f"{c.largest_name} ({c.largest_share:.1%})"))))
    table = Table(
        "concentration", "Concentration by current balance",
        (Column("dimension", "Dimension", False), Column("groups", "Groups"),
         Column("hhi", "HHI"), Column("effective_number", "Effective number"),
         Column("top1", "Top 1"), Column("top5", "Top 5"), Column("top10", "Top 10"),
         Column("gini", "Gini"), Column("largest", "Largest group", False)),
        tuple(rows),
        "HHI = sum of squared balance shares (decimal scale); effective number = 1 / HHI; "
        "Gini of group balances; see docs/strats.md.",
    )
    return table, concs


def _pool_section(data: RunData) -> Section:
    blocks: list[Block] = [Text((
        "Stratification of the pool's current balance by the dimensions a rating analyst "
        f"reads first; {NAN_NOTE}. Categorical tables show the {MAX_STRAT_ROWS} largest "
        "groups and sum the rest.",))]
    for column, label in STRAT_DIMENSIONS:
        blocks.append(_strat_block(data.tape, column, label))
    table, _ = _concentration_table(data)
    blocks.append(table)
    return Section("pool", 2, "Pool: strats and concentration", tuple(blocks))


def _diversification_section(data: RunData) -> Section:
    pp = data.pool_paths
    w = _weights(data)
    cnl = pp["cnl"].to_numpy(dtype=float)
    div = summarize_pool_paths(pp["defaulted_principal"], cnl, pp["pool_wal_years"], w)
    _, concs = _concentration_table(data)
    balances = data.tape.balance
    shares = balances / balances.sum()
    loan_hhi = float(np.dot(shares, shares))
    labels = dict((*STRAT_DIMENSIONS, *CONCENTRATION_EXTRA))
    conc_rows = [Row("loan", (text("Loan (obligor)"), num(len(balances), ",.0f"),
                              num(loan_hhi, ".6f"), num(1.0 / loan_hhi, ",.1f")))]
    conc_rows += [Row(c.dimension, (text(labels[c.dimension]), num(c.n_groups, ",.0f"),
                                    num(c.hhi, ".6f"), num(c.effective_number, ",.1f")))
                  for c in concs]
    hhi_table = Table(
        "hhi", "HHI and effective number by dimension",
        (Column("dimension", "Dimension", False), Column("groups", "Groups"),
         Column("hhi", "HHI"), Column("effective_number", "Effective number (1/HHI)")),
        tuple(conc_rows),
    )
    conc_chart = _chart(
        "chart-concentration", "Effective number by dimension",
        "Grey: number of groups; blue: the number of equal groups with the same HHI.",
        lambda: charts.concentration_chart([labels[c.dimension] for c in concs],
                                           [c.effective_number for c in concs],
                                           [c.n_groups for c in concs]))
    stats = _kv_table("diversification", "Default statistics, Vasicek and Basel IRB", [
        ("pd", "Mean lifetime default rate (PD)", pct(div.pd, 3)),
        ("default_rate_sd", "Default rate, standard deviation",
         pct(math.sqrt(div.default_rate_variance), 3)),
        ("lgd", "Loss given default (mean CNL / mean default rate)", pct(div.lgd, 2)),
        ("rho_fitted", "Vasicek asset correlation fitted to the simulated default rates",
         num(div.rho_fitted, ".4f")),
        ("basel_r", "Basel other-retail correlation R at PD", num(div.basel_r, ".6f")),
        ("basel_k", "Basel other-retail capital K at PD, LGD (% of exposure)",
         pct(div.basel_k, 3)),
        ("pool_wal_years", "Mean pool WAL (years)", num(div.pool_wal_years, ".3f")),
        ("pd_annual", "One-year PD equivalent 1 - (1 - PD)^(1 / WAL)", pct(div.pd_annual, 3)),
        ("basel_r_annual", "Basel R at the one-year PD", num(div.basel_r_annual, ".6f")),
        ("basel_k_annual", "Basel K at the one-year PD, LGD", pct(div.basel_k_annual, 3)),
        ("diversity_score", "Diversity score (binomial expansion)",
         num(div.diversity_score, ",.1f")),
        ("effective_loans", "Effective number of loans (1 / HHI of loan balances)",
         num(1.0 / loan_hhi, ",.1f")),
    ], "Basel IRB formulas use the run's simulated PD and LGD; Basel defines PD over one year, "
       "so the one-year equivalent is shown too (no maturity adjustment applies to retail).")
    definition = Text((
        "Diversity score: D = PD (1 - PD) / Var(DR), where DR is the per-path lifetime default "
        "rate of the pool (defaulted principal / initial balance) and PD its mean. D is the "
        "number of independent, equally sized loans with default probability PD whose default "
        "rate has the same variance as the pool's: Moody's binomial expansion technique "
        "(Cifuentes and O'Connor, 1996) applied to the simulated default-rate distribution. "
        "It counts granularity and correlation together; the effective number of loans counts "
        "granularity only.",
    ))
    curves = {f"Vasicek, fitted rho = {div.rho_fitted:.4f}": div.rho_fitted,
              f"Vasicek, Basel R = {div.basel_r:.4f}": div.basel_r}
    vas_chart = _chart(
        "chart-vasicek", "Vasicek large-pool loss vs simulated CNL",
        "Loss = LGD x DR with DR Vasicek(PD, rho): the asymptotic single-risk-factor "
        "distribution at the simulated PD and LGD, with the fitted and the Basel correlation.",
        lambda: charts.vasicek_comparison(cnl, w, div.pd, div.lgd, curves))
    q_rows = []
    for q in (0.5, 0.95, 0.99, 0.999):
        sim = value_at_risk(cnl, q, w)
        fitted = (div.lgd * vasicek_quantile(div.pd, div.rho_fitted, q)
                  if 0.0 < div.rho_fitted < 1.0 else div.lgd * div.pd)
        basel = div.lgd * vasicek_quantile(div.pd, div.basel_r, q) \
            if math.isfinite(div.basel_r) else math.nan
        q_rows.append(Row(f"q{q * 100:g}", (text(f"{q:.1%}"), pct(sim, 3), pct(fitted, 3),
                                            pct(basel, 3))))
    q_table = Table(
        "vasicek-quantiles", "Loss quantiles: simulated vs Vasicek",
        (Column("level", "Level", False), Column("simulated", "Simulated CNL"),
         Column("vasicek_fitted", "Vasicek (fitted rho)"),
         Column("vasicek_basel", "Vasicek (Basel R)")),
        tuple(q_rows),
        "Vasicek quantile: LGD x Phi((Phi^-1(PD) + sqrt(rho) Phi^-1(q)) / sqrt(1 - rho)).",
    )
    return Section("diversification", 3, "Diversification",
                   (hhi_table, conc_chart, stats, definition, vas_chart, q_table))


def _loss_section(data: RunData) -> Section:
    w = _weights(data)
    cnl = data.pool_paths["cnl"].to_numpy(dtype=float)
    tail = {lv: (value_at_risk(cnl, lv, w), expected_shortfall(cnl, lv, w)) for lv in TAIL_LEVELS}
    wn = w / w.sum()
    mean = float(np.sum(wn * cnl))
    sd = float(np.sqrt(np.sum(wn * (cnl - mean) ** 2)))
    ess = float(w.sum() ** 2 / np.sum(w * w))
    rows = [Row(f"{lv:g}", (text(f"{lv:.1%}"), pct(var, 3), pct(es, 3)))
            for lv, (var, es) in tail.items()]
    table = Table(
        "tail", "Value at risk and expected shortfall of pool CNL",
        (Column("level", "Confidence", False), Column("var", "VaR"),
         Column("es", "Expected shortfall")),
        tuple(rows),
        "VaR = weighted quantile (inverted empirical CDF); ES = mean of the worst (1 - level) "
        "of the weighted distribution (Acerbi-Tasche). Weights = the paths' likelihood ratios.",
    )
    moments = _kv_table("cnl-moments", "Pool CNL distribution", [
        ("mean", "Mean (weighted)", pct(mean, 3)),
        ("sd", "Standard deviation (weighted)", pct(sd, 3)),
        ("n_paths", "Paths", num(len(cnl), ",.0f")),
        ("ess", "Effective sample size (Kish)", num(ess, ",.1f")),
    ])
    hist = _chart("chart-cnl", "Pool CNL histogram",
                  "Weighted histogram of the per-path CNL; solid lines VaR, dashed lines ES.",
                  lambda: charts.cnl_histogram(cnl, w, tail))
    return Section("loss", 4, "Loss distribution", (hist, table, moments))


def _class_section(data: RunData) -> Section:
    frame = _class_frame(data)
    cp = data.class_paths
    credit_rows, cash_rows = [], []
    for name in data.classes:
        c = frame.loc[name]
        sub = cp[cp["class"].astype(str) == name]
        lgd_se = None
        if len(sub):
            loss = sub["loss"].to_numpy(dtype=float)
            est = conditional_mean(loss, loss > DEFAULT_THRESHOLD,
                                   sub["weight"].to_numpy(dtype=float) if "weight" in sub
                                   else None)
            lgd_se = _finite(est.se)
        credit_rows.append(Row(name, (
            text(name), money(c["balance"]), pct(c["hard_ce"]), pct(c["el"], 4),
            pct(c["el_se"], 4), pct(c["pd"], 3), pct(c["pd_se"], 3), pct(c["lgd"], 2),
            pct(lgd_se, 2), text(c["implied_rating"]), _breakeven_cell(data, name))))
        cash_rows.append(Row(name, (
            text(name), num(c["wal"], ".3f"), num(c["wal_se"], ".4f"), pct(c["yield"], 3),
            pct(c["yield_se"], 4), pct(c.get("promised_yield"), 3), num(c["dirr"], ".2f"),
            num(c["dirr_se"], ".2f"))))
    credit = Table(
        "classes", "Classes: credit",
        (Column("class", "Class", False), Column("balance", "Balance"),
         Column("hard_ce", "Hard CE"), Column("el", "EL"), Column("el_se", "EL se"),
         Column("pd", "PD"), Column("pd_se", "PD se"), Column("lgd", "LGD"),
         Column("lgd_se", "LGD se"), Column("implied_rating", "Implied rating", False),
         Column("breakeven_multiple", "Break-even multiple")),
        tuple(credit_rows),
        "EL = mean principal loss / class balance; PD = probability of any principal loss; "
        "LGD = EL / PD; se = Monte Carlo standard error of the mean. n/a: no path lost "
        "principal.",
    )
    cash = Table(
        "classes-cashflow", "Classes: cash flow",
        (Column("class", "Class", False), Column("wal", "WAL (years)"),
         Column("wal_se", "WAL se"), Column("yield", "Yield"), Column("yield_se", "Yield se"),
         Column("promised_yield", "Promised yield"), Column("dirr", "DIRR (bp)"),
         Column("dirr_se", "DIRR se")),
        tuple(cash_rows),
        "Yield at par, annual, compounded monthly; DIRR = promised yield (no-loss flows) minus "
        "realised yield, in basis points (docs/metrics.md).",
    )
    return Section("classes", 5, "Classes", (credit, cash))


def _timeline(n_periods: int) -> list[int]:
    months = [m for m in TIMELINE_MONTHS if m <= n_periods]
    if n_periods not in months:
        months.append(n_periods)
    return months


def _cashflow_section(data: RunData) -> Section:
    pfq = data.pool_factor_quantiles
    cbq = data.class_balance_quantiles
    balances = {name: cbq[cbq["class"].astype(str) == name].set_index("period")
                [["p5", "p50", "p95"]] for name in data.classes}
    pool_chart = _chart("chart-pool-fan", "Pool balance fan chart",
                        "Pool factor (balance / initial balance) by month: median and bands.",
                        lambda: charts.pool_balance_fan(pfq))
    class_chart = _chart("chart-class-fans", "Class balance fan charts",
                         "Class balance factor by month: P50 line, P5-P95 band.",
                         lambda: charts.class_balance_fans(balances))
    flows = data.pool_flows
    initial = float(data.summary["pool"].get("initial_balance") or np.nan)
    begin = np.concatenate([[initial], flows["ending_balance"].to_numpy(dtype=float)[:-1]])
    sched = flows["scheduled_principal"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        smm = flows["prepaid_principal"].to_numpy(dtype=float) / (begin - sched)
        mdr = flows["defaulted_principal"].to_numpy(dtype=float) / begin
    cpr = 1.0 - (1.0 - smm) ** 12
    cdr = 1.0 - (1.0 - mdr) ** 12
    rows = []
    for m in _timeline(len(flows)):
        i = m - 1
        rows.append(Row(str(m), (
            num(m, ".0f"), pct(flows["ending_balance"].iloc[i] / initial, 2),
            pct(pfq["p5"].iloc[i] if "p5" in pfq else None, 2),
            pct(pfq["p95"].iloc[i] if "p95" in pfq else None, 2),
            pct(cpr[i], 2), pct(cdr[i], 2),
            money(flows["prepaid_principal"].iloc[i]),
            money(flows["defaulted_principal"].iloc[i]),
            money(flows["recoveries"].iloc[i]))))
    paydown = Table(
        "paydown", "Prepayment and default speeds (mean pool flows)",
        (Column("month", "Month"), Column("factor", "Mean pool factor"),
         Column("factor_p5", "Factor P5"), Column("factor_p95", "Factor P95"),
         Column("cpr", "CPR"), Column("cdr", "CDR"), Column("prepaid", "Prepaid principal"),
         Column("defaulted", "Defaulted principal"), Column("recoveries", "Recoveries")),
        tuple(rows),
        "CPR = 1 - (1 - SMM)^12 with SMM = prepaid / (beginning balance - scheduled "
        "principal); CDR likewise from defaulted / beginning balance; from the mean flows.",
    )
    blocks: list[Block] = [pool_chart, class_chart, paydown]
    if data.paydown is not None:
        blocks.append(_generic_table("paydown-file", "Prepayment table (paydown.csv)",
                                     data.paydown))
    else:
        blocks.append(Text(("No paydown.csv in the run directory; the table above is derived "
                            "from the mean pool flows.",)))
    return Section("cashflows", 6, "Cash-flow fan charts", tuple(blocks))


def _generic_table(table_id: str, title: str, frame: pd.DataFrame, max_rows: int = 60) -> Table:
    columns = tuple(Column(str(c), str(c), pd.api.types.is_numeric_dtype(frame[c]))
                    for c in frame.columns)
    rows = []
    for i, (_, r) in enumerate(frame.head(max_rows).iterrows()):
        cells = tuple(num(r[c.key], ",.6g") if c.numeric else text(r[c.key]) for c in columns)
        rows.append(Row(str(i), cells))
    note = f"First {max_rows} of {len(frame)} rows." if len(frame) > max_rows else ""
    return Table(table_id, title, columns, tuple(rows), note)


def _trigger_names(triggers: pd.DataFrame) -> list[str]:
    return [c[: -len(" by period")] for c in triggers.columns if c.endswith(" by period")]


def _trigger_section(data: RunData) -> Section:
    trig = data.triggers
    names = _trigger_names(trig)
    reserve = trig["reserve draw in period"] if "reserve draw in period" in trig else None
    by_period = pd.DataFrame({n: trig[f"{n} by period"] for n in names}, index=trig.index)
    blocks: list[Block] = []
    if not names:
        blocks.append(Text(("The deal has no performance triggers; the chart shows the "
                            "probability of a reserve draw in each month.",)))
    blocks.append(_chart("chart-triggers", "Trigger breach probability by month",
                         "Probability that each trigger has been breached at or before the "
                         "month; dashed: probability of a reserve draw in the month.",
                         lambda: charts.trigger_chart(by_period, reserve)))
    columns = [Column("month", "Month")]
    for n in names:
        columns += [Column(f"{n} in period", f"{n}: in month"),
                    Column(f"{n} by period", f"{n}: by month")]
    if reserve is not None:
        columns.append(Column("reserve draw in period", "Reserve draw in month"))
    rows = []
    for m in _timeline(len(trig)):
        cells = [num(m, ".0f")]
        cells += [pct(trig[c.key].iloc[m - 1], 2) for c in columns[1:]]
        rows.append(Row(str(m), tuple(cells)))
    blocks.append(Table("triggers", "Probability of breach by month", tuple(columns),
                        tuple(rows), "In month: breached in that month; by month: breached "
                        "in that month or before."))
    events = data.summary.get("events", {})
    blocks.append(_kv_table("events", "Events over the life of the deal", [
        ("reserve_draw_probability", "Reserve draw (any month)",
         pct(events.get("reserve_draw_probability"), 2)),
        ("event_of_default_probability", "Event of default",
         pct(events.get("event_of_default_probability"), 2)),
        ("clean_up_call_probability", "Clean-up call exercised",
         pct(events.get("clean_up_call_probability"), 2)),
    ]))
    return Section("triggers", 7, "Triggers and reserve", tuple(blocks))


def _scenario_section(data: RunData) -> Section:
    stress = data.stress
    if stress is None or stress.empty:
        return Section("scenarios", 8, "Scenarios", (Text((
            "No stress table in this run directory (stress.csv or stress.json): the run has "
            "one scenario, shown above. Run `autoabs stress` for the scenario comparison.",)),))
    present = [c for c in STRESS_COLUMNS if c in stress.columns]
    labels = {"el": "EL", "el_se": "EL se", "pd": "PD", "wal": "WAL (years)", "yield": "Yield",
              "trigger_breach": "Trigger breach prob.", "cnl": "Pool CNL"}
    columns = (Column("scenario", "Scenario", False), Column("class", "Class", False),
               *(Column(c, labels[c]) for c in present))
    rows = []
    for _, r in stress.iterrows():
        cells = [text(r["scenario"]), text(r["class"])]
        for c in present:
            cells.append(num(r[c], ".3f") if c == "wal"
                         else pct(r[c], 4 if c in ("el", "el_se") else 2))
        rows.append(Row(f"{r['scenario']}|{r['class']}", tuple(cells)))
    table = Table("scenarios", f"Scenario comparison ({data.stress_file})", columns,
                  tuple(rows))
    el = stress.pivot_table(index="scenario", columns="class", values="el", sort=False)
    order = [c for c in data.classes if c in el.columns]
    el = el[order + [c for c in el.columns if c not in order]]
    chart = _chart("chart-scenarios", "Class EL by scenario",
                   "Expected loss of each class under each stress scenario of the run.",
                   lambda: charts.scenario_chart(el))
    worst = _stress_by_scenario(data)
    assert worst is not None
    ranking = Table(
        "scenario-ranking", "Scenarios ranked by expected note loss",
        (Column("scenario", "Scenario", False), Column("note_loss", "Expected note loss"),
         Column("max_el", "Largest class EL")),
        tuple(Row(str(s), (text(s), money(r["note_loss"]), pct(r["max_el"], 4)))
              for s, r in worst.iterrows()),
        "Expected note loss = sum over classes of EL x class balance.",
    )
    return Section("scenarios", 8, "Scenarios", (table, chart, ranking))


METHODOLOGY: tuple[tuple[str, str, str], ...] = (
    ("CNL", "cumulative (charged-off principal - recoveries) / initial pool balance",
     "docs/metrics.md; DESIGN conventions"),
    ("EL, PD, LGD", "EL = E[w L]; PD = E[w 1{L > 1e-10}]; LGD = EL / PD (ratio estimator)",
     "docs/metrics.md"),
    ("WAL", "sum t P_t / sum P_t / 12 (years), paths with principal paid",
     "Fabozzi; docs/metrics.md"),
    ("Yield, DIRR", "IRR at par, 12 x monthly rate; DIRR = promised - realised yield (bp)",
     "Moody's; docs/metrics.md"),
    ("Implied rating", "best rating whose idealized EL at the class WAL >= class EL",
     "Moody's idealized EL table (built-in: approximate); docs/metrics.md"),
    ("VaR, ES", "VaR_a = inf{x: F_w(x) >= a}; ES_a = (E[L 1{L > VaR}] + VaR (1 - a - "
     "P(L > VaR))) / (1 - a)", "Acerbi and Tasche (2002)"),
    ("Vasicek large pool", "P(DR <= x) = Phi((sqrt(1 - rho) Phi^-1(x) - Phi^-1(PD)) / "
     "sqrt(rho))", "Vasicek (2002), Risk 15(12)"),
    ("Basel other-retail R", "R = 0.03 w + 0.16 (1 - w), w = (1 - e^(-35 PD)) / (1 - e^(-35))",
     "BCBS Basel II para. 330; CRE31.15"),
    ("Basel capital K", "K = LGD [Phi((Phi^-1(PD) + sqrt(R) Phi^-1(0.999)) / sqrt(1 - R)) - PD]",
     "BCBS Basel II para. 328; CRE31.14"),
    ("HHI, effective number", "HHI = sum s_i^2 (balance shares); N_eff = 1 / HHI",
     "Herfindahl (1950); docs/strats.md"),
    ("Diversity score", "D = PD (1 - PD) / Var(DR)",
     "Cifuentes and O'Connor (1996), Moody's binomial expansion"),
    ("Collateral model", "loan-level hazards x systematic factor, competing-risk event times",
     "docs/calibration.md, docs/scenarios.md, docs/waterfall.md"),
)


def _flatten(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key in sorted(data):
        value = data[key]
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out += _flatten(value, f"{name}.")
        else:
            out.append((name, value))
    return out


def _manifest_cell(value: Any) -> Cell:
    if isinstance(value, bool) or value is None:
        return text(value)
    if isinstance(value, int | float):
        v = _finite(value)
        return Cell(f"{value:g}" if isinstance(value, float) else str(value), v)
    if isinstance(value, list):
        return text(", ".join(str(v) for v in value))
    return text(value)


def _sampling_text(prov: Mapping[str, Any]) -> str:
    """How the run drew its factor: plain, importance mixture (and on what), stratified."""
    vr = prov.get("variance_reduction") or {}
    if not vr:
        return "n/a"
    parts = [str(vr.get("importance", "n/a"))]
    if vr.get("stratified"):
        parts.append(f"stratified in blocks of {vr.get('strata')}")
    if vr.get("antithetic"):
        parts.append("antithetic pairs")
    if vr.get("applied_to"):
        parts.append(f"applied to {vr['applied_to']}")
    return "; ".join(parts)


def _methodology_section(data: RunData, pdf_renderer: str) -> Section:
    formulas = Table(
        "methodology", "Formulas and sources",
        (Column("measure", "Measure", False), Column("formula", "Formula", False),
         Column("source", "Source", False)),
        tuple(Row(m, (text(m), text(f), text(s))) for m, f, s in METHODOLOGY),
    )
    prov = data.summary.get("provenance", {})
    assumptions = _kv_table("assumptions", "Assumptions of the run", [
        ("el_table", "Idealized EL table", text(data.summary.get("el_table", "n/a"))),
        ("scenario", "Scenario", text(prov.get("scenario") or "base (no scenario file)")),
        ("stochastic", "Stochastic scenario paths", text(prov.get("stochastic"))),
        ("factor", "Systematic factor", text(_factor_text(prov.get("factor")))),
        ("sampling", "Sampling of the factor", text(_sampling_text(prov))),
        ("effective_sample_size", "Effective sample size (paths)",
         num(prov.get("effective_sample_size"), ",.0f")),
        ("n_periods", "Months simulated", num(prov.get("n_periods"), ",.0f")),
    ])
    if data.manifest is not None:
        source, items = "manifest.json", _flatten(data.manifest)
    else:
        source, items = "summary.json provenance (no manifest.json)", _flatten(prov)
    manifest = Table(
        "manifest", f"Run manifest ({source})",
        (Column("key", "Key", False), Column("value", "Value")),
        tuple(Row(k, (text(k), _manifest_cell(v))) for k, v in items),
    )
    files = Table(
        "report-inputs", "Files read by this report (SHA-256)",
        (Column("file", "File", False), Column("sha256", "SHA-256", False)),
        tuple(Row(n, (text(n), text(h))) for n, h in data.file_hashes.items()),
        "Absent optional files: " + (", ".join(f for f in OPTIONAL_FILES
                                                if f not in data.file_hashes) or "none") + ".",
    )
    note = Text((f"PDF renderer: {pdf_renderer}.",
                 "The report reads the run directory only; it never runs a simulation. "
                 "Display values are rounded; each table cell carries its full-precision value "
                 "in the HTML (data-value)."))
    return Section("methodology", 9, "Methodology, assumptions and run manifest",
                   (formulas, assumptions, manifest, files, note))


def _factor_text(factor: Any) -> str:
    if not isinstance(factor, Mapping):
        return "n/a"
    kind = factor.get("kind", "n/a")
    if kind == "lognormal":
        return f"lognormal pool-loss multiplier, sigma = {factor.get('sigma', float('nan')):.4f}"
    if kind == "vasicek":
        return (f"Gaussian one-factor (Vasicek), rho = {factor.get('rho', float('nan')):.4f}, "
                f"horizon PD = {factor.get('pd_horizon', float('nan')):.4%}")
    return str(kind)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def build_model(data: RunData, *, pdf_renderer: str = "not rendered") -> Report:
    """Build the report model (all nine sections) from a read run directory.

    Parameters
    ----------
    data : RunData
        From :func:`load_run`.
    pdf_renderer : str
        Which renderer makes the PDF (stated in the report).
    """
    deal = str(data.summary.get("deal") or "Deal")
    prov = data.summary.get("provenance", {})
    subtitle = (f"Risk committee report - {prov.get('n_paths', len(data.pool_paths)):,} paths, "
                f"seed {prov.get('seed', 'n/a')}")
    sections = (
        _executive_summary(data),
        _pool_section(data),
        _diversification_section(data),
        _loss_section(data),
        _class_section(data),
        _cashflow_section(data),
        _trigger_section(data),
        _scenario_section(data),
        _methodology_section(data, pdf_renderer),
    )
    return Report(deal, subtitle, sections, pdf_renderer)


def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("reports", _TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


def render_html(report: Report) -> str:
    """Render the report as one self-contained HTML page (CSS inline, charts inline SVG)."""
    css = resources.files("reports").joinpath(_TEMPLATES, "report.css").read_text("utf-8")
    return str(_environment().get_template("report.html.j2").render(report=report, css=css))
