"""Fault injection on the application layer: concurrent runs, interrupted and stale run
directories, output paths the OS refuses, oversized options (issue 16)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autoabs import cli, execute
from autoabs.runstore import CHUNK_DIR, RUN_LOCK, run_lock, verify

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
AUTOABS = [sys.executable, "-m", "autoabs.cli"]
RESULT_FILES = ("summary.json", "class_paths.parquet", "pool_paths.parquet", "pool_flows.parquet",
                "triggers.parquet", "class_flows.parquet", "tape.parquet")


@pytest.fixture(scope="module")
def small_deal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pro-rata trigger example deal on a 600-loan synthetic pool (fast)."""
    text = (EXAMPLES / "prorata_trigger_deal.yaml").read_text()
    lines = []
    for line in text.splitlines():
        if line.startswith("pool:"):
            line = "pool: {synthetic: prime, loans: 600, seed: 7}"
        elif line.startswith("assumptions:"):
            line = f"assumptions: {EXAMPLES / line.split(':', 1)[1].strip()}"
        lines.append(line)
    out = tmp_path_factory.mktemp("deal") / "deal.yaml"
    out.write_text("\n".join(lines) + "\n")
    return out


def _args(deal: Path, out: Path, *extra: str, seed: int = 3) -> list[str]:
    return ["run", str(deal), "--paths", "60", "--seed", str(seed), "--chunk-size", "20",
            "--out", str(out), "--no-report", *extra]


def _same_results(a: Path, b: Path) -> None:
    for name in RESULT_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


class _Interrupt(Exception):
    """Raised by a patched step to stop a run after its chunks are checkpointed."""


def _interrupted_run(deal: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run into ``out`` and stop before assembling: plan.json and every chunk are kept."""
    def stop(*args: object, **kwargs: object) -> None:
        raise _Interrupt

    with monkeypatch.context() as patch:
        patch.setattr(execute, "assemble", stop)
        args = cli.build_parser().parse_args(_args(deal, out))
        with pytest.raises(_Interrupt):  # without cli.main's wrapper, so it propagates
            args.func(args)


# ---------------------------------------------------------------------------------------------
# 1. concurrent runs into one --out
# ---------------------------------------------------------------------------------------------


def test_a_held_run_directory_refuses_a_second_run_naming_the_holder(
        small_deal: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "runs" / "x"
    with run_lock(out):
        assert cli.main(_args(small_deal, out)) == 2
        err = capsys.readouterr().err
        assert f"another autoabs run (pid {os.getpid()} on " in err and str(out) in err
        assert "Traceback" not in err
        assert not (out / CHUNK_DIR).exists()  # refused before touching anything
    assert not (out / RUN_LOCK).exists()  # the holder removes its lock file
    assert cli.main(_args(small_deal, out)) == 0  # free again once released


def test_two_runs_started_together_one_wins_and_its_result_is_a_single_run(
        small_deal: Path, tmp_path: Path) -> None:
    shared = tmp_path / "runs" / "shared"
    big = ("--paths", "3000", "--chunk-size", "50")  # seconds of simulation: the runs overlap
    procs = [subprocess.Popen([*AUTOABS, *_args(small_deal, shared, *big, seed=seed)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for seed in (7, 8)]
    outcomes = [(p.wait(timeout=600), p.stderr.read() if p.stderr else "") for p in procs]
    for p in procs:
        if p.stderr:
            p.stderr.close()
    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 2], outcomes
    loser = next(err for code, err in outcomes if code == 2)
    assert ("another autoabs run" in loser or "already holds a finished run" in loser), loser
    assert "Traceback" not in loser
    seed = json.loads((shared / "manifest.json").read_text())["seed"]
    single = tmp_path / "single" / "run"
    assert cli.main(_args(small_deal, single, *big, seed=seed)) == 0
    _same_results(shared, single)
    assert verify(shared.parent).passed


# ---------------------------------------------------------------------------------------------
# 7. interrupted and stale run directories
# ---------------------------------------------------------------------------------------------


def test_resume_refuses_checkpoints_that_are_not_the_plans_chunks(
        small_deal: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "runs" / "x"
    _interrupted_run(small_deal, out, monkeypatch)
    chunks = out / CHUNK_DIR
    assert (chunks / "plan.json").is_file() and len(list(chunks.glob("chunk-*.npz"))) == 3
    stray = chunks / "chunk-0000000000-30.npz"  # a chunk of another chunk size
    stray.write_bytes((chunks / "chunk-0000000000-20.npz").read_bytes())
    assert cli.main(_args(small_deal, out, "--resume")) == 2
    err = capsys.readouterr().err
    assert "not chunks of this run's plan" in err and stray.name in err
    stray.unlink()
    (chunks / "chunk-0000000020-20.npz").write_bytes(b"not a checkpoint")
    assert cli.main(_args(small_deal, out, "--resume")) == 2
    err = capsys.readouterr().err
    assert "chunk-0000000020-20.npz" in err and "unreadable checkpoint" in err
    assert "Traceback" not in err


def test_resume_removes_stale_temporaries_and_matches_a_fresh_run(
        small_deal: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "runs" / "x"
    _interrupted_run(small_deal, out, monkeypatch)
    stale = [out / ".report.pdf.k2j3.tmp", out / CHUNK_DIR / ".chunk-0000000040-20.npz.x.tmp"]
    for path in stale:
        path.write_bytes(b"\0" * 1000)
    assert cli.main(_args(small_deal, out, "--resume")) == 0
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert not (out / CHUNK_DIR).exists() and not (out / RUN_LOCK).exists()
    fresh = tmp_path / "runs" / "fresh"
    assert cli.main(_args(small_deal, fresh)) == 0
    _same_results(out, fresh)
    assert verify(out.parent).passed


def test_a_checkpoint_directory_without_a_plan_is_started_afresh(
        small_deal: Path, tmp_path: Path) -> None:
    """A run that failed before its plan was written (e.g. on a full disk) kept no chunk."""
    out = tmp_path / "runs" / "x"
    (out / CHUNK_DIR).mkdir(parents=True)
    (out / CHUNK_DIR / ".plan.json.abc.tmp").write_bytes(b"{")
    assert cli.main(_args(small_deal, out)) == 0
    assert verify(out.parent).passed
    (tmp_path / "runs" / "y" / CHUNK_DIR).mkdir(parents=True)
    assert cli.main(_args(small_deal, tmp_path / "runs" / "y", "--resume")) == 0


# ---------------------------------------------------------------------------------------------
# 2-3. non-finite, oversized and duplicated values in input files, through the CLI
# ---------------------------------------------------------------------------------------------


def _edited(source: Path, target: Path, old: str, new: str) -> Path:
    text = source.read_text()
    assert old in text, old
    target.write_text(text.replace(old, new, 1))
    return target


@pytest.mark.parametrize(("edit", "field"), [
    (("index_rate: 0.043", "index_rate: .inf"), "index_rate"),
    (("notes:", "initial_pool_balance: 1.0e+308\nnotes:"), "initial_pool_balance"),
    (("usd_per_month: 2000", "usd_per_month: .inf"), "fees.1.usd_per_month"),
    (("pool: {synthetic: prime, loans: 600, seed: 7}",
      "pool: {synthetic: prime, loans: 600, seed: -1}"), "pool.seed"),
    (("index_rate: 0.043", "index_rate: 0.043\nindex_rate: 0.05"), "duplicate key 'index_rate'"),
])
def test_bad_numbers_in_a_deal_file_exit_2_naming_the_field(
        small_deal: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        edit: tuple[str, str], field: str) -> None:
    deal = _edited(small_deal, tmp_path / "deal.yaml", *edit)
    assert cli.main(_args(deal, tmp_path / "runs" / "x")) == 2
    err = capsys.readouterr().err
    assert str(deal) in err and field in err and "Traceback" not in err
    assert not (tmp_path / "runs" / "x" / CHUNK_DIR).exists()


@pytest.mark.parametrize(("old", "new", "field"), [
    ("fico: -1.0", "fico: .nan", "default.scorecard.fico"),
    ("unemployment_elasticity: 12.0", "unemployment_elasticity: 1.0e+308",
     "default.unemployment_elasticity"),
])
def test_bad_numbers_in_an_assumptions_file_exit_2_naming_the_field(
        small_deal: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        old: str, new: str, field: str) -> None:
    model = _edited(EXAMPLES / "prime_assumptions.yaml", tmp_path / "model.yaml", old, new)
    assert cli.main(_args(small_deal, tmp_path / "runs" / "x", "--model", str(model))) == 2
    err = capsys.readouterr().err
    assert str(model) in err and field in err and "Traceback" not in err


def test_a_bad_number_in_a_scenario_file_exits_2_naming_the_field(
        small_deal: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("name: broken\nbase: baseline\nstresses: {cnl_multiple: .inf}\n")
    assert cli.main(_args(small_deal, tmp_path / "runs" / "x", "--scenario",
                          str(scenario))) == 2
    err = capsys.readouterr().err
    assert str(scenario) in err and "stresses.cnl_multiple" in err


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--loans", "10000000000", "must be between 1 and 5,000,000"),
    ("--pool-seed", "-1", "must be between 0 and 2**63 - 1"),
])
def test_synthetic_pool_sizes_and_seeds_are_checked_before_allocating(
        capsys: pytest.CaptureFixture[str], option: str, value: str, message: str) -> None:
    assert cli.main(["strat", "--synthetic", "prime", option, value]) == 2
    err = capsys.readouterr().err
    assert option in err and message in err and "Traceback" not in err
