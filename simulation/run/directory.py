"""The run directory: its one schema, its writer :func:`write_run` and its reader :func:`read_run`.

A run directory holds one run's results. A deal run writes :data:`DEAL_RUN_FILES` (and
:data:`OPTIONAL_FRAMES` when given), a pool run :data:`POOL_RUN_FILES`; the application layer
adds ``manifest.json`` (:func:`write_manifest`) and, on request, the structuring tables
(:func:`write_structuring`) and the report (:data:`REPORT_HTML`, :data:`REPORT_PDF`). A
*stress directory* (``autoabs stress --out``) holds one deal run per scenario under
``scenarios/<name>/`` and, at its top, the stress table (:func:`write_stress_table`), the
sensitivity grid (:func:`write_sensitivity_grid`) and the report.

Every file is written atomically (:func:`portfolio._io.atomic_write`). Every reader of a run
(the Python API, the CLI, the committee report) goes through :func:`read_run`, which names the
file in an :class:`~portfolio.errors.InputError` when one is missing or malformed. Layout and
contents: ``docs/runstore.md``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from portfolio._io import atomic_write, json_text, sha256_file, write_json, write_parquet
from portfolio.errors import InputError, Problem
from portfolio.tape import COLUMN_BY_NAME, LoanTape, tape_from_columns
from simulation.run.results import DealSimulationResult, PoolSimulationResult

__all__ = [
    "BREAKEVEN_CSV",
    "BREAKEVEN_JSON",
    "CLASS_FLOWS",
    "DEAL_RUN_FILES",
    "GRID_COLUMNS",
    "MANIFEST",
    "OPTIONAL_FILES",
    "OPTIONAL_FRAMES",
    "PAYDOWN",
    "POOL_RUN_FILES",
    "REPORT_HTML",
    "REPORT_PDF",
    "RUN_FILES",
    "SCENARIOS",
    "SENSITIVITY_GRID_CSV",
    "SENSITIVITY_GRID_PARQUET",
    "STRESS_COLUMNS",
    "STRESS_CSV",
    "STRESS_JSON",
    "SUMMARY",
    "TAPE",
    "RunRecord",
    "read_run",
    "run_frames",
    "stored_summary",
    "write_manifest",
    "write_run",
    "write_sensitivity_grid",
    "write_stress_table",
    "write_structuring",
]

SimulationResult = DealSimulationResult | PoolSimulationResult

SUMMARY = "summary.json"
MANIFEST = "manifest.json"
TAPE = "tape.parquet"
CLASS_FLOWS = "class_flows.parquet"
PAYDOWN = "paydown.csv"
BREAKEVEN_CSV = "breakeven.csv"
BREAKEVEN_JSON = "breakeven.json"
STRESS_CSV = "stress.csv"
STRESS_JSON = "stress.json"
SENSITIVITY_GRID_PARQUET = "sensitivity_grid.parquet"
SENSITIVITY_GRID_CSV = "sensitivity_grid.csv"
REPORT_HTML = "report.html"
REPORT_PDF = "report.pdf"
SCENARIOS = "scenarios"
"""Folder of a stress directory holding one run per scenario (a run store of its own)."""

_PARQUET = ".parquet"

DEAL_RUN_FILES: Mapping[str, str] = MappingProxyType({
    SUMMARY: "classes (EL, se, PD, LGD, WAL, yield, DIRR, hard CE, rating), pool, events",
    "class_paths.parquet": "per path and class: loss, interest shortfall, WAL, yield, DIRR, PV",
    "pool_paths.parquet": "per path: CNL, defaults, recoveries, prepayments, WAL, factor, weight",
    "pool_flows.parquet": "mean PoolFlows by period with standard errors",
    "pool_factor_quantiles.parquet": "pool factor P1..P99 by period",
    "class_balance_quantiles.parquet": "class balance factor P5/P50/P95 by period",
    "triggers.parquet": "probability of each trigger breached in / by each period; reserve draws",
    TAPE: "the pool's loan tape (canonical columns)",
})
"""Files of every deal run directory and what they hold (:func:`read_run` requires them)."""

POOL_RUN_FILES: Mapping[str, str] = MappingProxyType({
    SUMMARY: "pool CNL statistics, expected pool balance and factor quantiles by period",
    "paths.parquet": "per path: CNL, defaults, recoveries, prepayments, WAL, factor, weight",
    "flows.parquet": "mean PoolFlows by period with standard errors",
    "pool_factor_quantiles.parquet": "pool factor P1..P99 by period",
})
"""Files of every pool run directory and what they hold (:func:`read_run` requires them)."""

RUN_FILES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {"deal": DEAL_RUN_FILES, "pool": POOL_RUN_FILES})
"""Required files by run kind (``"deal"``, ``"pool"``)."""

OPTIONAL_FRAMES: Mapping[str, str] = MappingProxyType({
    CLASS_FLOWS: "per class and period: weighted mean interest due and paid, principal paid, "
                 "ending balance and coupon (deal runs, when the class flows are given)",
})
"""Parquet files a run holds when they were written (:attr:`RunRecord.frames` then has them)."""

OPTIONAL_FILES: Mapping[str, str] = MappingProxyType({
    BREAKEVEN_JSON: "break-even CNL multiple per class (any of the shapes of docs/reports.md)",
    BREAKEVEN_CSV: "break-even CNL and multiple per class (autoabs run --structuring)",
    STRESS_CSV: "scenario x class results (autoabs stress, at the top of a stress directory)",
    STRESS_JSON: "the scenario x class results as JSON records",
    PAYDOWN: "prepayment table: WAL and principal window by ABS speed (--structuring)",
    SENSITIVITY_GRID_CSV: "class loss by CNL multiple x ABS speed (autoabs stress, at the top "
                          "of a stress directory)",
    MANIFEST: "inputs (sha256), canonical config, seed, versions, threads, timings",
})
"""Files read when present, in this order: at the top of the directory given, else in the run."""

GRID_COLUMNS = ("cnl_multiple", "abs_speed", "class", "loss", "target_cnl", "pool_cnl", "reached")
"""Columns of the sensitivity grid (:func:`scenarios.stress.sensitivity_grid`)."""

STRESS_COLUMNS = ("el", "el_se", "pd", "wal", "yield", "trigger_breach", "cnl")
"""Numeric columns of the stress table (when present), after the aliases are resolved."""

_STRESS_ALIASES = {
    "tranche": "class", "class_name": "class", "note": "class",
    "expected_loss": "el", "default_probability": "pd", "wal_years": "wal",
    "trigger_breach_probability": "trigger_breach", "trigger_breach_prob": "trigger_breach",
    "trigger": "trigger_breach", "breach_probability": "trigger_breach",
    "pool_cnl": "cnl", "cnl_mean": "cnl", "pool_cnl_mean": "cnl",
}
_MULTIPLE_KEYS = ("multiple", "breakeven_multiple", "cnl_multiple", "value")


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def run_frames(result: SimulationResult, tape: LoanTape | None = None
               ) -> dict[str, pd.DataFrame]:
    """The Parquet frames of ``result``'s run directory by name (the file name without suffix).

    A deal run's frames include its ``class_flows`` and, when given, the ``tape``; a pool run
    has neither.
    """
    if isinstance(result, PoolSimulationResult):
        return {"paths": result.paths, "flows": result.mean_flows,
                "pool_factor_quantiles": result.pool_factor_quantiles}
    balances = pd.concat(result.class_balance_quantiles, names=["class", "period"]).reset_index()
    frames = {"class_paths": result.paths(), "pool_paths": result.pool.paths,
              "pool_flows": result.pool.mean_flows,
              "pool_factor_quantiles": result.pool.pool_factor_quantiles,
              "class_balance_quantiles": balances, "triggers": result.triggers,
              "class_flows": result.class_flows}
    if tape is not None:
        frames["tape"] = tape.to_frame()
    return frames


def stored_summary(result: SimulationResult) -> dict[str, Any]:
    """``result.summary()`` as ``summary.json`` stores it (so a read run equals the result)."""
    data: dict[str, Any] = json.loads(json_text(result.summary()))
    return data


def write_run(run_dir: str | os.PathLike[str], result: SimulationResult,
              tape: LoanTape | None = None) -> None:
    """Write the result files of a run (:data:`RUN_FILES` of its kind) into ``run_dir``.

    Parameters
    ----------
    run_dir : path
        The run directory (created when missing).
    result : DealSimulationResult or PoolSimulationResult
        The assembled result.
    tape : LoanTape, optional
        The pool's loan tape: required for a deal run (the report reads it), refused for a
        pool run.

    Notes
    -----
    Each file is written atomically, ``summary.json`` last; the manifest is the caller's
    (:func:`write_manifest`).
    """
    deal = isinstance(result, DealSimulationResult)
    if deal and tape is None:
        raise ValueError("a deal run directory holds the pool's tape: give tape")
    if not deal and tape is not None:
        raise ValueError("a pool run directory holds no tape")
    target = Path(run_dir)
    target.mkdir(parents=True, exist_ok=True)
    for name, frame in run_frames(result, tape).items():
        write_parquet(target / f"{name}{_PARQUET}", frame)
    write_json(target / SUMMARY, result.summary())


def write_manifest(run_dir: str | os.PathLike[str], manifest: Mapping[str, Any]) -> Path:
    """Write ``manifest.json`` (what the run read, how it ran) atomically."""
    return write_json(Path(run_dir) / MANIFEST, manifest)


def write_structuring(run_dir: str | os.PathLike[str], paydown: pd.DataFrame,
                      breakeven: pd.DataFrame) -> None:
    """Write the deterministic structuring tables: ``paydown.csv`` and ``breakeven.csv``.

    Parameters
    ----------
    paydown : pandas.DataFrame
        :func:`simulation.structuring.prepayment_table`.
    breakeven : pandas.DataFrame
        :func:`simulation.structuring.breakeven_cnl`.
    """
    _write_csv(Path(run_dir) / PAYDOWN, paydown)
    _write_csv(Path(run_dir) / BREAKEVEN_CSV, breakeven)


def write_stress_table(stress_dir: str | os.PathLike[str], table: pd.DataFrame) -> None:
    """Write the scenario x class table at the top of a stress directory (CSV and JSON)."""
    _write_csv(Path(stress_dir) / STRESS_CSV, table)
    write_json(Path(stress_dir) / STRESS_JSON, table.to_dict(orient="records"))


def write_sensitivity_grid(stress_dir: str | os.PathLike[str], grid: pd.DataFrame) -> None:
    """Write the CNL-multiple x ABS-speed grid of a stress directory (Parquet and CSV)."""
    write_parquet(Path(stress_dir) / SENSITIVITY_GRID_PARQUET, grid)
    _write_csv(Path(stress_dir) / SENSITIVITY_GRID_CSV, grid)


def _write_csv(target: Path, frame: pd.DataFrame) -> None:
    atomic_write(target, lambda p: frame.to_csv(p, index=False))


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


class _Frames(Mapping[str, pd.DataFrame]):
    """Parquet frames of a run by name, each read on first access."""

    def __init__(self, files: Mapping[str, Path]) -> None:
        self._files = dict(files)
        self._read: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._read:
            self._read[name] = _read_parquet(self._files[name])
        return self._read[name]

    def __contains__(self, name: object) -> bool:
        return name in self._files

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)


@dataclass(frozen=True, eq=False)
class RunRecord:
    """One run directory, read by :func:`read_run`.

    The summary and the manifest are read at once; the frames and the optional tables when
    first used (an unreadable one raises :class:`~portfolio.errors.InputError` then).

    Attributes
    ----------
    run_dir : Path
        The directory given to :func:`read_run`.
    root : Path
        The run read: ``run_dir``, or in a stress directory its base scenario run.
    kind : {"deal", "pool"}
        The kind of run.
    summary : dict
        ``summary.json``.
    manifest : dict or None
        ``manifest.json`` when present and a JSON object.
    frames : Mapping[str, pandas.DataFrame]
        Parquet frames by name (``"class_paths"``, ``"tape"``, ``"paths"``, ...): the Parquet
        files of :data:`RUN_FILES` of the kind and of :data:`OPTIONAL_FRAMES` present.
    locations : Mapping[str, Path]
        Where each required file of the kind and each optional file present was found, by
        file name, in schema order.
    """

    run_dir: Path
    root: Path
    kind: str
    summary: dict[str, Any]
    manifest: dict[str, Any] | None
    frames: Mapping[str, pd.DataFrame]
    locations: Mapping[str, Path]

    @property
    def base_run(self) -> str | None:
        """In a stress directory, the scenario run read (path relative to ``run_dir``)."""
        return _relative(self.root, self.run_dir) if self.root != self.run_dir else None

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names, most senior first (empty for a pool run)."""
        return tuple(str(c["name"]) for c in self.summary.get("classes", ()))

    @property
    def files(self) -> dict[str, Path]:
        """:attr:`locations` by path relative to ``run_dir``."""
        return {_relative(path, self.run_dir): path for path in self.locations.values()}

    def file_hashes(self) -> dict[str, str]:
        """sha256 of each of :attr:`files`, by relative path."""
        return {rel: sha256_file(path) for rel, path in self.files.items()}

    @cached_property
    def tape(self) -> LoanTape:
        """The pool's loan tape (``tape.parquet``)."""
        if "tape" not in self.frames:
            raise InputError(str(self.root / TAPE), "missing from the run directory (a pool "
                             "run keeps no tape)")
        frame = self.frames["tape"]
        return tape_from_columns({c: frame[c].to_numpy() for c in frame.columns
                                  if c in COLUMN_BY_NAME})

    @cached_property
    def breakeven(self) -> dict[str, float | None] | None:
        """Class -> break-even CNL multiple (``breakeven.json``, else ``breakeven.csv``).

        ``inf`` for a class that loses nothing at any multiple tried, ``None`` where the file
        gives no number.
        """
        for name in (BREAKEVEN_JSON, BREAKEVEN_CSV):
            if name in self.locations:
                return _read_breakeven(self.locations[name])
        return None

    @property
    def stress_file(self) -> str | None:
        """The file the stress table is read from (``stress.csv`` before ``stress.json``)."""
        return next((name for name in (STRESS_CSV, STRESS_JSON) if name in self.locations),
                    None)

    @cached_property
    def stress(self) -> pd.DataFrame | None:
        """Scenario x class rows with ``scenario``, ``class``, ``el`` and :data:`STRESS_COLUMNS`."""
        name = self.stress_file
        return None if name is None else _read_stress(self.locations[name])

    @cached_property
    def sensitivity_grid(self) -> pd.DataFrame | None:
        """The CNL-multiple x ABS-speed grid of class losses (``sensitivity_grid.csv``)."""
        path = self.locations.get(SENSITIVITY_GRID_CSV)
        if path is None:
            return None
        grid = _read_csv(path)
        missing = [c for c in GRID_COLUMNS if c not in grid.columns]
        if missing:
            raise InputError(str(path), Problem(None, ", ".join(missing), "missing column(s) "
                                                "of the sensitivity grid"))
        return grid

    @cached_property
    def paydown(self) -> pd.DataFrame | None:
        """The prepayment table (``paydown.csv``), as written."""
        path = self.locations.get(PAYDOWN)
        return None if path is None else _read_csv(path)


def read_run(run_dir: str | os.PathLike[str], *, finished: bool = False) -> RunRecord:
    """Read a run directory (a deal or pool run, or a stress directory).

    Parameters
    ----------
    run_dir : path
        A run directory, or a stress directory (``stress.csv`` beside ``scenarios/<name>/``
        runs): then the ``baseline`` scenario run is read (else the first one listed in
        ``stress.csv``, else the first by name) and the optional files at the top come first.
    finished : bool
        Require ``manifest.json`` in ``run_dir`` (a run that finished writing).

    Returns
    -------
    RunRecord

    Raises
    ------
    InputError
        Naming the directory or file: a directory that is missing or not a (finished) run, a
        required file missing, ``summary.json`` or ``manifest.json`` unreadable.
    """
    top = Path(run_dir)
    if not top.is_dir():
        raise InputError(str(top), Problem(None, "", "run directory not found"))
    if finished and not (top / MANIFEST).is_file():
        raise InputError(str(top), Problem(None, "DIR", "not a finished run directory "
                                                        f"(no {MANIFEST})"))
    root = _base_run(top)
    if not (root / SUMMARY).is_file():
        raise InputError(str(root), Problem(None, SUMMARY, "missing from the run directory "
                                                           "(write it with `autoabs run`)"))
    summary = _read_json(root / SUMMARY)
    if not isinstance(summary, dict) or "pool" not in summary:
        raise InputError(str(root / SUMMARY), "not a run summary (no pool statistics)")
    kind = "deal" if "classes" in summary else "pool"
    required = RUN_FILES[kind]
    missing = [name for name in required if not (root / name).is_file()]
    if missing:
        command = "autoabs run" if kind == "deal" else "autoabs pool"
        raise InputError(str(root), [Problem(None, name, "missing from the run directory "
                                             f"(write it with `{command}`)") for name in missing])
    locations = {name: root / name for name in required}
    for name in OPTIONAL_FILES:
        found = next((folder / name for folder in (top, root) if (folder / name).is_file()), None)
        if found is not None:
            locations[name] = found
    frames = {name.removesuffix(_PARQUET): root / name
              for name in (*required, *OPTIONAL_FRAMES) if name.endswith(_PARQUET)
              and (root / name).is_file()}
    manifest = _read_json(locations[MANIFEST]) if MANIFEST in locations else None
    return RunRecord(run_dir=top, root=root, kind=kind, summary=summary,
                     manifest=manifest if isinstance(manifest, dict) else None,
                     frames=_Frames(frames), locations=MappingProxyType(locations))


def _relative(path: Path, top: Path) -> str:
    return path.relative_to(top).as_posix()


def _base_run(top: Path) -> Path:
    """The run of ``top``: ``top`` itself, or the base scenario run of a stress directory."""
    if (top / SUMMARY).is_file() or not (top / SCENARIOS).is_dir():
        return top
    names: list[str] = []
    if (top / STRESS_CSV).is_file():
        try:
            names = [str(n) for n in pd.read_csv(top / STRESS_CSV)["scenario"].unique()]
        except Exception:  # noqa: BLE001 - fall back to the directory listing
            names = []
    names += sorted(p.name for p in (top / SCENARIOS).iterdir() if p.is_dir())
    runs = [n for n in names if (top / SCENARIOS / n / SUMMARY).is_file()]
    if not runs:
        return top
    return top / SCENARIOS / ("baseline" if "baseline" in runs else runs[0])


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(str(path), f"unreadable JSON: {exc}") from None


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input file
        raise InputError(str(path), f"unreadable CSV: {exc}") from None


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input file
        raise InputError(str(path), f"unreadable Parquet file: {exc}") from None


def _read_breakeven(path: Path) -> dict[str, float | None]:
    """Class -> break-even CNL multiple from the accepted ``breakeven.json`` / ``.csv`` shapes.

    CSV: columns ``class`` and ``breakeven_multiple`` (``autoabs breakeven --csv``). JSON:
    ``{"A": 3.1}``, ``{"classes": {"A": 3.1}}``, ``{"classes": {"A": {"multiple": 3.1}}}``,
    ``{"classes": [{"name": "A", "multiple": 3.1}]}`` or a list of such records.
    """
    data = _read_csv(path).to_dict(orient="records") if path.suffix == ".csv" \
        else _read_json(path)
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


def _read_stress(path: Path) -> pd.DataFrame:
    """The stress table of ``stress.csv`` or ``stress.json``: scenario x class rows."""
    if path.name.endswith(".csv"):
        frame = _read_csv(path)
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
    return frame.reset_index(drop=True)
