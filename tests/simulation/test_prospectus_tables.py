"""Tie-out of :mod:`simulation.structuring` against published prospectus tables.

Each ``examples/deals/<deal>/`` holds the deal file, the issuer's own rep lines as a tape and
``expected.yaml`` with the published decrement tables and WALs and their source (see
docs/tieout.md). The tables follow the stated assumptions: rep lines amortising as level-pay
loans, every loan prepaying at the ABS speed, no losses, the clean-up call exercised or not.
Every published cell must tie out within 1 percentage point and every WAL within 0.02 years.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autoabs.pipeline import resolve_inputs
from portfolio._yaml import read_yaml_file
from simulation.structuring import decrement_table, prepayment_table

DEALS_DIR = Path(__file__).resolve().parents[2] / "examples" / "deals"
CELL_TOLERANCE_PP = 1.0
WAL_TOLERANCE_YEARS = 0.02
MODES = {"to_call": True, "to_maturity": False}


@dataclass(frozen=True)
class Published:
    """One deal's published tables, as read from its ``expected.yaml``."""

    deal_dir: Path
    abs_speeds: tuple[float, ...]  # decimals, 0.013 = 1.3% ABS
    decrement: dict[str, dict[str, np.ndarray]]  # mode -> class -> (rows, speeds) percent
    wal: dict[str, dict[str, dict[float, float]]]  # mode -> class -> speed -> years


LESS_THAN_HALF = "*"
"""The prospectus mark for a percentage above 0.00% and below 0.50% (whole-percent tables)."""


def _cell(value: float | str) -> float:
    """A printed table cell in percent; ``*`` (between 0 and 0.5) reads as its midpoint."""
    return 0.25 if value == LESS_THAN_HALF else float(value)


def _published(deal_dir: Path) -> Published:
    path = deal_dir / "expected.yaml"
    raw: dict[str, Any] = read_yaml_file(path)
    for key in ("source", "abs_speeds", "decrement", "wal"):
        assert key in raw, f"{path}: missing '{key}'"
    speeds = tuple(float(s) / 100.0 for s in raw["abs_speeds"])
    decrement: dict[str, dict[str, np.ndarray]] = {}
    for mode, classes in raw["decrement"].items():
        assert mode in MODES, f"{path}: decrement.{mode}: expected one of {sorted(MODES)}"
        decrement[mode] = {}
        for name, rows in classes.items():
            for i, row in enumerate(rows):
                assert len(row) == len(speeds) + 1, (
                    f"{path}: decrement.{mode}.{name} row {i + 1}: expected a date label and "
                    f"{len(speeds)} percentages, got {len(row)} values")
            decrement[mode][name] = np.array([[_cell(v) for v in row[1:]] for row in rows])
    wal = {mode: {name: {float(s) / 100.0: float(y) for s, y in by_speed.items()}
                  for name, by_speed in classes.items()}
           for mode, classes in raw["wal"].items()}
    return Published(deal_dir, speeds, decrement, wal)


@cache
def _model(deal_dir: Path) -> tuple[Any, Any]:
    inputs = resolve_inputs(str(deal_dir / "deal.yaml"), tape=None, require_model=False)
    return inputs.deal, inputs.tape


DEAL_DIRS = sorted(p.parent for p in DEALS_DIR.glob("*/expected.yaml"))


OPEN_DIFFERENCES: dict[tuple[str, str], str] = {}
"""(deal, class) tables that miss by a named, explained convention the engine lacks: strict
xfails, which fail loudly once the convention lands so the entry is removed."""


def _table_cases() -> list[Any]:
    cases = []
    for deal_dir in DEAL_DIRS:
        classes = sorted({name for by_class in read_yaml_file(
            deal_dir / "expected.yaml")["decrement"].values() for name in by_class})
        for name in classes:
            reason = OPEN_DIFFERENCES.get((deal_dir.name, name))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            cases.append(pytest.param(deal_dir, name, marks=marks, id=f"{deal_dir.name}-{name}"))
    return cases


@pytest.mark.parametrize(("deal_dir", "name"), _table_cases())
def test_decrement_table_cells_tie_out(deal_dir: Path, name: str) -> None:
    published = _published(deal_dir)
    deal, tape = _model(deal_dir)
    for mode, classes in published.decrement.items():
        if name not in classes:
            continue
        table = classes[name]
        model = _decrement(deal_dir, MODES[mode])
        assert name in model.columns, f"{deal_dir.name}: no class {name} in the deal"
        ours = np.zeros_like(table)
        for j, speed in enumerate(published.abs_speeds):
            column = model.loc[model.abs_speed == speed, name].to_numpy()
            n = min(len(column), len(table))
            ours[:n, j] = column[:n]  # past the model's last row every class is paid off
        worst = np.unravel_index(np.argmax(np.abs(ours - table)), table.shape)
        assert np.abs(ours - table).max() <= CELL_TOLERANCE_PP, (
            f"{deal_dir.name} {name} {mode}: row {worst[0]} at "
            f"{100 * published.abs_speeds[worst[1]]:g}% ABS: model {ours[worst]:.2f}, "
            f"published {table[worst]:.2f}")


@cache
def _decrement(deal_dir: Path, to_call: bool) -> Any:
    """The model's decrement table of a deal at its published speeds (one run per mode)."""
    deal, tape = _model(deal_dir)
    return decrement_table(deal, tape, _published(deal_dir).abs_speeds, to_call=to_call)


@pytest.mark.parametrize("deal_dir", DEAL_DIRS, ids=lambda p: p.name)
def test_published_wals_tie_out(deal_dir: Path) -> None:
    published = _published(deal_dir)
    deal, tape = _model(deal_dir)
    misses = []
    for mode, classes in published.wal.items():
        speeds = tuple(sorted({s for by_speed in classes.values() for s in by_speed}))
        model = prepayment_table(deal, tape, speeds, to_call=MODES[mode]).pivot(
            index="class", columns="abs_speed", values="wal_years")
        for name, by_speed in classes.items():
            for speed, years in by_speed.items():
                ours = float(model.loc[name, speed])
                if abs(ours - years) > WAL_TOLERANCE_YEARS:
                    misses.append(f"{name} {mode} {100 * speed:g}% ABS: model {ours:.3f}, "
                                  f"published {years:.2f}")
    assert not misses, f"{deal_dir.name}: " + "; ".join(misses)


def test_every_deal_directory_is_complete() -> None:
    """Each tie-out deal ships its deal file, its rep-line tape and a named source."""
    assert DEAL_DIRS, f"no examples/deals/*/expected.yaml under {DEALS_DIR}"
    for deal_dir in DEAL_DIRS:
        raw = read_yaml_file(deal_dir / "expected.yaml")
        for key in ("document", "filer", "url", "section"):
            assert raw["source"].get(key), f"{deal_dir.name}/expected.yaml: source.{key} missing"
        deal, tape = _model(deal_dir)
        assert deal.pool is not None and deal.pool.tape is not None, deal_dir.name
        assert deal.pool.tape.is_file(), f"{deal_dir.name}: tape {deal.pool.tape} missing"
        assert len(tape) > 0
