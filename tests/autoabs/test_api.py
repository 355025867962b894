"""Python API: autoabs.run / stress / load_run, result views, and the example script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autoabs
from autoabs.api import RunResult
from portfolio.errors import InputError
from portfolio.synthetic import synthetic_pool
from simulation.run.results import pool_summary_html

ROOT = Path(__file__).resolve().parents[2]
DEAL = ROOT / "examples" / "prorata_trigger_deal.yaml"


@pytest.fixture(scope="module")
def tape() -> object:
    return synthetic_pool("prime", 500, 4)


def test_run_views_and_load_run(tape: object, tmp_path: Path) -> None:
    result = autoabs.run(DEAL, tape=tape, paths=80, seed=2, chunk_size=32,  # type: ignore[arg-type]
                         out=tmp_path / "runs" / "r")
    summary = result.summary()
    assert list(summary.index) == list(result.classes) == ["A", "B", "C"]
    assert list(summary.columns[:11]) == ["balance", "hard_ce", "group_hard_ce", "el", "el_se",
                                          "pd", "lgd", "wal", "yield", "dirr",
                                          "implied_rating"]  # CLI order
    assert len(result.paths()) == 80 * 3 and {"loss", "weight"} <= set(result.paths().columns)
    flows = result.cashflows("A")
    assert flows.index.name == "period" and (flows["interest_paid"] <= flows["interest_due"]
                                             + 1e-6).all()
    with pytest.raises(KeyError, match="classes: A, B, C"):
        result.cashflows("Z")
    html = result._repr_html_()
    assert "<table" in html and "80 paths" in html
    again = autoabs.load_run(tmp_path / "runs" / "r")
    assert again.summary().equals(summary)
    assert again.paths().equals(result.paths())
    assert again.cashflows("B").equals(result.cashflows("B"))
    assert again.manifest["seed"] == 2
    with pytest.raises(InputError, match="not a finished run directory"):
        autoabs.load_run(tmp_path)


def test_stress_uses_common_random_numbers(tape: object, tmp_path: Path) -> None:
    stressed = autoabs.stress(DEAL, ["baseline", "severely_adverse"], tape=tape,  # type: ignore[arg-type]
                              paths=64, seed=5, chunk_size=32, out=tmp_path / "stress")
    table = stressed.table()
    assert set(table.index.get_level_values("scenario")) == {"baseline", "severely_adverse"}
    base = stressed.runs["baseline"].pool()["cnl_mean"]
    severe = stressed.runs["severely_adverse"].pool()["cnl_mean"]
    assert severe > base
    single = autoabs.run(DEAL, tape=tape, scenario="baseline", paths=64, seed=5,  # type: ignore[arg-type]
                         chunk_size=32)
    assert np.array_equal(single.paths()["loss"], stressed.runs["baseline"].paths()["loss"])
    assert "<table" in stressed._repr_html_()
    assert autoabs.load_run(tmp_path / "stress" / "baseline").summary().equals(
        stressed.runs["baseline"].summary())


def test_api_run_and_the_cli_run_share_the_default_scenario(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Same deal, seed and paths, no scenario given: ``autoabs.run`` and ``autoabs run`` both
    run the one default scenario (baseline), name it, and give the same numbers."""
    from autoabs import cli
    from scenarios import DEFAULT_SCENARIO, library_names

    assert DEFAULT_SCENARIO == "baseline" and DEFAULT_SCENARIO in library_names()
    text = DEAL.read_text().replace("pool: {synthetic: prime, loans: 20000, seed: 42}",
                                    "pool: {synthetic: prime, loans: 600, seed: 42}")
    text = text.replace("assumptions: prime_assumptions.yaml",
                        f"assumptions: {ROOT / 'examples' / 'prime_assumptions.yaml'}")
    deal = tmp_path / "deal.yaml"
    deal.write_text(text)
    api_result = autoabs.run(deal, paths=48, seed=7, chunk_size=32)
    assert cli.main(["run", str(deal), "--paths", "48", "--seed", "7", "--chunk-size", "32",
                     "--no-report", "--no-structuring", "--out", str(tmp_path / "cli")]) == 0
    printed = " ".join(capsys.readouterr().out.split())  # the console wraps long lines
    assert "scenario: baseline (the default of run, stress and demo)" in printed
    cli_result = autoabs.load_run(tmp_path / "cli")
    assert api_result.scenario == cli_result.scenario == DEFAULT_SCENARIO
    assert api_result.summary().equals(cli_result.summary())
    assert np.array_equal(api_result.paths()["loss"], cli_result.paths()["loss"])
    assert "scenario baseline" in api_result._repr_html_()
    flat = autoabs.run(deal, scenario=None, paths=48, seed=7, chunk_size=32)
    assert flat.scenario is None  # flat macro only when asked for
    assert not flat.summary()["yield"].equals(api_result.summary()["yield"])


def test_api_errors_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--paths"):
        autoabs.run(DEAL, paths=0)
    with pytest.raises(InputError, match="unknown library scenario 'nope'"):
        autoabs.stress(DEAL, ["nope"], paths=10)


@pytest.mark.slow
def test_api_example_script_runs(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "api_example.py"),
                           str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "RunResult 'Prime 2023" in done.stdout and "severely_adverse" in done.stdout
    assert (tmp_path / "prime" / "manifest.json").is_file()
    assert (tmp_path / "ledger.jsonl").is_file()


def test_stress_computes_what_no_scenario_changes_once(
        tape: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two scenarios: the collateral kernel runs once per chunk of each scenario, the
    structuring tables are computed once for both, and each scenario's ``breakeven.csv`` and
    ``paydown.csv`` are those of a standalone run."""
    import autoabs.execute as execute
    import simulation.run.chunk as chunk
    import simulation.structuring as structuring

    kernel, tables = chunk.simulate_chunk, structuring.structuring_tables
    calls = {"kernel": 0, "tables": 0}

    def counted_kernel(*args: object) -> np.ndarray:
        calls["kernel"] += 1
        return kernel(*args)  # type: ignore[arg-type]

    def counted_tables(*args: object) -> structuring.StructuringTables:
        calls["tables"] += 1
        return tables(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(chunk, "simulate_chunk", counted_kernel)
    monkeypatch.setattr(structuring, "structuring_tables", counted_tables)
    monkeypatch.setattr(execute, "structuring_tables", counted_tables)
    autoabs.stress(DEAL, ["baseline", "adverse"], tape=tape,  # type: ignore[arg-type]
                   paths=64, seed=5, chunk_size=32, out=tmp_path / "stress", structuring=True)
    assert calls == {"kernel": 2 * 2, "tables": 1}
    from autoabs.pipeline import resolve_inputs
    from simulation.collateral import prepare_collateral
    from simulation.factor import calibrate
    from simulation.run.directory import BREAKEVEN_CSV, PAYDOWN, write_structuring

    inputs = resolve_inputs(DEAL, tape=tape)  # type: ignore[arg-type]
    assert inputs.model is not None
    alone = tables(inputs.deal, inputs.tape,
                   calibrate(prepare_collateral(inputs.tape, inputs.model))[0])
    write_structuring(tmp_path / "alone", alone.paydown, alone.breakeven)
    for scenario in ("baseline", "adverse"):
        for name in (BREAKEVEN_CSV, PAYDOWN):
            assert (tmp_path / "stress" / scenario / name).read_bytes() == (
                tmp_path / "alone" / name).read_bytes()


def test_pool_run_result_shows_the_pool_summary_table() -> None:
    """A pool run loaded back (kind "pool") renders the same table as PoolSimulationResult."""
    pool = {"initial_balance": 2e6, "cnl_mean": 0.025, "cnl_sd": 0.01, "cnl_p99": 0.05}
    result = RunResult({"pool": pool, "provenance": {"n_paths": 40, "seed": 3}},
                       {"kind": "pool", "name": "tape"}, None, {})
    page = result._repr_html_()
    assert page == f"<div><b>tape</b>: 40 paths, seed 3{pool_summary_html(pool)}</div>"
    assert "<th>Pool CNL, 99th percentile</th><td>5.0000%</td>" in page
