"""Fault injection on the application layer (issue 16): concurrent runs, interrupted and stale
run directories, bad numbers in input files, output paths the OS refuses (read-only and full
tmpfs mounts where the test may mount them), oversized options, crafted ledgers."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from autoabs import cli, execute
from autoabs.runstore import CHUNK_DIR, LEDGER, LEDGER_HEAD, RUN_LOCK, run_lock, verify
from portfolio._regab_synthetic import write_synthetic_ex102

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


# ---------------------------------------------------------------------------------------------
# 5. output paths the OS refuses: exit 2 naming the path, or exit 1 naming file and errno
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _tmpfs(where: Path, *options: str) -> Iterator[Path]:
    """A small tmpfs mounted at ``where`` (root only), unmounted afterwards; else a skip."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(where)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_a_read_only_output_directory_exits_2_naming_it(
        small_deal: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with _tmpfs(tmp_path / "ro", "ro", "size=1m") as ro:
        assert cli.main(_args(small_deal, ro / "x")) == 2
    err = capsys.readouterr().err
    assert f"{ro / 'x'}: Read-only file system (errno {errno.EROFS} EROFS)" in err
    assert "Traceback" not in err


def test_a_full_disk_exits_1_naming_the_file_and_errno(
        small_deal: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with _tmpfs(tmp_path / "small", "size=300k") as small:
        out = small / "x"
        assert cli.main(_args(small_deal, out, "--paths", "400", "--chunk-size", "50")) == 1
        err = capsys.readouterr().err
        assert f"No space left on device (errno {errno.ENOSPC} ENOSPC)" in err
        assert f"error: {out}" in err and "Traceback" not in err
        assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
        assert not (out / RUN_LOCK).exists()
        # with room again, --resume continues from the checkpoints the full disk left
        subprocess.run(["mount", "-o", "remount,size=20m", str(small)], check=True)
        assert cli.main(_args(small_deal, out, "--paths", "400", "--chunk-size", "50",
                              "--resume")) == 0
        assert verify(out.parent).passed


@pytest.mark.parametrize("where", ["/proc/autoabs-run", "/dev/null/run"])
def test_unwritable_system_paths_exit_2(small_deal: Path, capsys: pytest.CaptureFixture[str],
                                        where: str) -> None:
    assert cli.main(_args(small_deal, Path(where))) == 2
    err = capsys.readouterr().err
    assert where in err and "errno" in err and "Traceback" not in err


def test_a_directory_given_as_an_output_file_exits_2(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    xml = write_synthetic_ex102(tmp_path / "ex102.xml", 20, seed=1).path
    taken = tmp_path / "tape.parquet"
    taken.mkdir()
    assert cli.main(["import-regab", str(xml), "--out", str(taken)]) == 2
    err = capsys.readouterr().err
    assert str(taken) in err and "Is a directory" in err and "Traceback" not in err


def test_a_reject_sidecar_in_a_read_only_directory_exits_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with _tmpfs(tmp_path / "ro", "size=1m") as folder:
        tape = folder / "tape.csv"
        tape.write_text("loan_id,balance,rate,original_term,remaining_term\n"
                        "1,1000,0.05,60,40\n2,-5,0.05,60,40\n")
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        assert cli.main(["strat", str(tape), "--on-error", "reject"]) == 2
    err = capsys.readouterr().err
    assert "tape.rejects.csv" in err or str(folder) in err, err
    assert "Read-only file system" in err and "Traceback" not in err


# ---------------------------------------------------------------------------------------------
# 6. verify: crafted ledgers, the chain of one run, the chain head, leftovers
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def store(small_deal: Path, tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    for name in ("a", "b"):
        assert cli.main(_args(small_deal, root / name)) == 0
    return root


def test_verify_of_one_run_checks_the_chain_it_belongs_to(store: Path) -> None:
    lines = (store / LEDGER).read_text().splitlines()
    (store / LEDGER).write_text(lines[1] + "\n")  # entry "a" removed: b's chain breaks
    (store / LEDGER_HEAD).write_text(f"1 {json.loads(lines[1])['hash']}\n")
    report = verify(store / "b")
    assert not report.passed and "chain broken" in " ".join(report.failed["b"])


def test_a_ledger_entry_outside_the_store_is_refused_unread(store: Path) -> None:
    outside = store.parent / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not part of any run\n")
    entry = {"files": {"secret.txt": "0" * 64}, "hash": "h", "prev": "x", "run": "../outside",
             "seq": 3}
    with open(store / LEDGER, "a") as fh:
        fh.write(json.dumps(entry) + "\n")
    report = verify(store)
    problems = " ".join(report.failed.get("<ledger line 3>", []))
    assert "'../outside' is not a directory of the store" in problems
    assert "../outside" not in report.failed and "../outside" not in report.ok


def test_removing_the_last_run_and_its_ledger_line_is_detected(store: Path) -> None:
    lines = (store / LEDGER).read_text().splitlines()
    (store / LEDGER).write_text(lines[0] + "\n")
    shutil.rmtree(store / "b")
    report = verify(store)
    assert "entries were removed from the end" in " ".join(report.failed["<ledger head>"])
    (store / LEDGER_HEAD).unlink()
    assert "is missing" in " ".join(verify(store).failed["<ledger head>"])


def test_leftover_checkpoints_and_temporaries_in_a_finished_run_are_reported(
        store: Path) -> None:
    (store / "a" / CHUNK_DIR).mkdir()
    (store / "a" / CHUNK_DIR / "chunk-0000000000-20.npz").write_bytes(b"x")
    (store / "b" / ".report.pdf.abc.tmp").write_bytes(b"\0" * 100)
    report = verify(store)
    assert any(".chunks/chunk-0000000000-20.npz left over" in p for p in report.failed["a"])
    assert any(".report.pdf.abc.tmp left over" in p for p in report.failed["b"])


def test_a_binary_ledger_fails_verification_without_a_traceback(
        store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (store / LEDGER).write_bytes(bytes(range(256)) * 4)
    assert cli.main(["verify", str(store)]) == 3
    captured = capsys.readouterr()
    assert "not valid JSON" in captured.out and "Traceback" not in captured.err


# ---------------------------------------------------------------------------------------------
# 9. an all-bad tape: a capped listing, the full list in a file
# ---------------------------------------------------------------------------------------------


def test_an_all_bad_tape_prints_a_capped_listing_and_writes_the_full_list(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tape = tmp_path / "bad.csv"
    tape.write_text("loan_id,balance,rate,original_term,remaining_term\n"
                    + "".join(f"{i},-5,2000,0,0\n" for i in range(5000)))
    assert cli.main(["strat", str(tape)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) < 60
    assert "balance: 4,990 more (5,000 in all)" in err
    full = Path(err.rsplit("problems: ", 1)[1].strip())
    try:
        assert full.read_text().count("\n") == 1 + 4 * 5000  # the header line, every problem
    finally:
        full.unlink()
