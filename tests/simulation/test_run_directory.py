"""Run directory: write_run / read_run round trips, optional tables, clear errors per file."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from portfolio._io import json_text
from portfolio.errors import InputError
from portfolio.synthetic import synthetic_pool
from portfolio.tape import LoanTape
from simulation.deal import load_deal
from simulation.model import load_model
from simulation.run import (
    DealSimulationResult,
    PoolSimulationResult,
    read_run,
    run_frames,
    simulate,
    simulate_pool,
    stored_summary,
    write_run,
)
from simulation.run.directory import (
    DEAL_RUN_FILES,
    MANIFEST,
    POOL_RUN_FILES,
    SCENARIOS,
    write_manifest,
    write_stress_table,
    write_structuring,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def tape() -> LoanTape:
    return synthetic_pool("prime", 300, 7)


@pytest.fixture(scope="module")
def deal_result(tape: LoanTape) -> DealSimulationResult:
    deal = load_deal(EXAMPLES / "prorata_trigger_deal.yaml")
    assert deal.assumptions is not None
    return simulate(tape, deal, load_model(deal.assumptions), n_paths=48, seed=3,
                    chunk_size=16)


@pytest.fixture(scope="module")
def pool_result(tape: LoanTape) -> PoolSimulationResult:
    return simulate_pool(tape, load_model(EXAMPLES / "prime_assumptions.yaml"), n_paths=40,
                         seed=4, chunk_size=16)


def _deal_run(tmp_path: Path, result: DealSimulationResult, tape: LoanTape) -> Path:
    run_dir = tmp_path / "deal"
    write_run(run_dir, result, tape)
    write_manifest(run_dir, {"kind": "deal", "seed": 3})
    return run_dir


def test_deal_run_round_trip(tmp_path: Path, deal_result: DealSimulationResult,
                             tape: LoanTape) -> None:
    run_dir = _deal_run(tmp_path, deal_result, tape)
    record = read_run(run_dir, finished=True)
    assert record.kind == "deal" and record.root == run_dir and record.base_run is None
    assert record.classes == deal_result.classes
    assert record.summary == json.loads(json_text(deal_result.summary()))
    assert json_text(record.summary) == json_text(stored_summary(deal_result))
    assert record.manifest == {"kind": "deal", "seed": 3}
    written = run_frames(deal_result, tape)
    assert set(record.frames) == set(written)
    for name, frame in written.items():
        if name != "tape":  # Parquet keeps dates at ms resolution: the tape compares as a tape
            assert record.frames[name].equals(frame), name
    pd.testing.assert_frame_equal(record.tape.to_frame(), tape.to_frame())
    assert list(record.files) == [*DEAL_RUN_FILES, MANIFEST]
    assert record.breakeven is None and record.stress is None and record.paydown is None


def test_pool_run_round_trip(tmp_path: Path, pool_result: PoolSimulationResult) -> None:
    write_run(tmp_path / "pool", pool_result)
    record = read_run(tmp_path / "pool")
    assert record.kind == "pool" and record.classes == () and record.manifest is None
    assert json_text(record.summary) == json_text(pool_result.summary())
    written = run_frames(pool_result)
    assert set(record.frames) == set(written) == {"paths", "flows", "pool_factor_quantiles"}
    for name, frame in written.items():
        assert record.frames[name].equals(frame), name
    assert list(record.files) == list(POOL_RUN_FILES)
    with pytest.raises(InputError, match="tape.parquet: missing"):
        _ = record.tape


def test_write_run_refuses_a_deal_without_tape_and_a_pool_with_one(
        tmp_path: Path, deal_result: DealSimulationResult, pool_result: PoolSimulationResult,
        tape: LoanTape) -> None:
    with pytest.raises(ValueError, match="give tape"):
        write_run(tmp_path / "a", deal_result)
    with pytest.raises(ValueError, match="pool run"):
        write_run(tmp_path / "b", pool_result, tape)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_optional_tables_and_stress_directory(tmp_path: Path, deal_result: DealSimulationResult,
                                              tape: LoanTape) -> None:
    stress_dir = tmp_path / "stress"
    for name in ("adverse", "baseline"):
        write_run(stress_dir / SCENARIOS / name, deal_result, tape)
    base = stress_dir / SCENARIOS / "baseline"
    breakeven = pd.DataFrame({"class": ["A", "B", "C"], "breakeven_multiple": [9.5, 4.0, 2.5],
                              "bracketed": [False, True, True]})
    paydown = pd.DataFrame({"class": ["A"], "abs_speed": [0.013], "wal_years": [1.9]})
    write_structuring(base, paydown, breakeven)
    table = pd.DataFrame({"scenario": ["baseline", "adverse"], "class": ["A", "A"],
                          "el": [1e-4, 2e-3], "pool_cnl_mean": [0.02, 0.04]})
    write_stress_table(stress_dir, table)
    record = read_run(stress_dir)
    assert record.root == base and record.base_run == "scenarios/baseline"
    assert record.breakeven == {"A": float("inf"), "B": 4.0, "C": 2.5}
    assert record.paydown is not None and record.paydown.equals(paydown)
    assert record.stress_file == "stress.csv"
    assert record.stress is not None
    assert list(record.stress["cnl"]) == [0.02, 0.04]  # pool_cnl_mean read as cnl
    assert list(record.files)[-3:] == ["stress.csv", "stress.json",
                                       "scenarios/baseline/paydown.csv"]
    assert "scenarios/baseline/breakeven.csv" in record.files
    hashes = record.file_hashes()
    assert list(hashes) == list(record.files) and all(len(h) == 64 for h in hashes.values())


def test_missing_files_are_named(tmp_path: Path, deal_result: DealSimulationResult,
                                 tape: LoanTape) -> None:
    run_dir = _deal_run(tmp_path, deal_result, tape)
    (run_dir / "triggers.parquet").unlink()
    (run_dir / "tape.parquet").unlink()
    with pytest.raises(InputError) as info:
        read_run(run_dir)
    assert [p.field for p in info.value.problems] == ["triggers.parquet", "tape.parquet"]
    assert "missing from the run directory" in str(info.value)
    (run_dir / "summary.json").unlink()
    with pytest.raises(InputError, match="summary.json: missing from the run directory"):
        read_run(run_dir)
    with pytest.raises(InputError, match="run directory not found"):
        read_run(tmp_path / "nowhere")
    (run_dir / MANIFEST).unlink()
    with pytest.raises(InputError, match="not a finished run directory"):
        read_run(run_dir, finished=True)


def test_corrupt_files_are_named(tmp_path: Path, deal_result: DealSimulationResult,
                                 tape: LoanTape) -> None:
    run_dir = _deal_run(tmp_path, deal_result, tape)
    (run_dir / "pool_flows.parquet").write_bytes(b"not parquet")
    record = read_run(run_dir)  # frames are read when used
    with pytest.raises(InputError, match=r"pool_flows\.parquet: unreadable Parquet file"):
        _ = record.frames["pool_flows"]
    (run_dir / "breakeven.json").write_text("[1, 2")
    with pytest.raises(InputError, match=r"breakeven\.json: unreadable JSON"):
        _ = read_run(run_dir).breakeven
    (run_dir / MANIFEST).write_text("{")
    with pytest.raises(InputError, match=r"manifest\.json: unreadable JSON"):
        read_run(run_dir)
    (run_dir / "summary.json").write_text('{"classes": []}')
    with pytest.raises(InputError, match=r"summary\.json: not a run summary"):
        read_run(run_dir)
