"""No import cycles between the project's modules and no import against the documented
direction (``autoabs -> reports, simulation, scenarios -> portfolio``; ``simulation`` never
imports ``scenarios``), imports inside functions included."""

from __future__ import annotations

from pathlib import Path

from tests._imports import against_direction, cycles, import_graph

ROOT = Path(__file__).resolve().parents[1]


def test_the_project_has_no_import_cycle() -> None:
    found = cycles(import_graph(ROOT))
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_every_import_follows_the_documented_direction() -> None:
    bad = against_direction(import_graph(ROOT))
    assert not bad, "imports against the direction: " + "; ".join(bad)


def test_simulation_never_imports_scenarios() -> None:
    graph = import_graph(ROOT)
    assert not [f"{m} -> {t}" for m, ts in graph.items() if m.startswith("simulation")
                for t in ts if t.startswith("scenarios")]


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_checker_finds_a_cycle_hidden_inside_a_function(tmp_path: Path) -> None:
    _write(tmp_path, {
        "simulation/__init__.py": "",
        "simulation/a.py": "from simulation.b import g\n",
        "simulation/b.py": "def g():\n    from simulation import a\n    return a\n",
        "portfolio/__init__.py": "",
    })
    graph = import_graph(tmp_path, ("simulation", "portfolio"))
    assert cycles(graph) == [["simulation.a", "simulation.b"]]


def test_the_checker_finds_a_relative_and_a_type_checking_cycle(tmp_path: Path) -> None:
    _write(tmp_path, {
        "reports/__init__.py": "",
        "reports/x.py": "from .y import f\n",
        "reports/y.py": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                         "    from reports.x import f\n"),
    })
    assert cycles(import_graph(tmp_path, ("reports",))) == [["reports.x", "reports.y"]]


def test_the_checker_finds_an_import_against_the_direction(tmp_path: Path) -> None:
    _write(tmp_path, {
        "simulation/__init__.py": "",
        "simulation/run.py": "def f():\n    import scenarios.stochastic\n",
        "scenarios/__init__.py": "",
        "scenarios/stochastic.py": "from simulation.run import f\n",
        "portfolio/__init__.py": "",
        "portfolio/tape.py": "import reports\n",
        "reports/__init__.py": "",
    })
    graph = import_graph(tmp_path, ("simulation", "scenarios", "portfolio", "reports"))
    assert against_direction(graph) == ["portfolio.tape -> reports",
                                        "simulation.run -> scenarios.stochastic"]
