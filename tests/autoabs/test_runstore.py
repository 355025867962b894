"""Run store: chunk function parity with simulate(), manifest, ledger, verify, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from autoabs import cli
from autoabs.runstore import CHUNK_DIR, LEDGER, verify
from portfolio.synthetic import synthetic_pool
from scenarios import ScenarioMacro, load_scenario
from simulation.deal import load_deal
from simulation.model import load_model
from simulation.run import ChunkResult, assemble, plan_run, run_chunk, simulate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
AUTOABS = [sys.executable, "-m", "autoabs.cli"]


@pytest.fixture(scope="module")
def small_deal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pro-rata trigger example deal on a 600-loan synthetic pool (fast)."""
    d = tmp_path_factory.mktemp("deal")
    text = (EXAMPLES / "prorata_trigger_deal.yaml").read_text()
    deal = load_deal(EXAMPLES / "prorata_trigger_deal.yaml")
    text = text.replace(f"assumptions: {deal.assumptions.name}",  # type: ignore[union-attr]
                        f"assumptions: {deal.assumptions}")
    out = d / "deal.yaml"
    out.write_text(_set_pool(text, "{synthetic: prime, loans: 600, seed: 7}"))
    return out


def _set_pool(text: str, pool: str) -> str:
    lines = [f"pool: {pool}" if line.startswith("pool:") else line for line in text.splitlines()]
    if not any(line.startswith("pool:") for line in text.splitlines()):
        lines.insert(1, f"pool: {pool}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("scenario", [None, "severely_adverse"])
def test_chunks_match_simulate_bit_for_bit(scenario: str | None) -> None:
    deal = load_deal(EXAMPLES / "prorata_trigger_deal.yaml")
    model = load_model(deal.assumptions)  # type: ignore[arg-type]
    tape = synthetic_pool("prime", 500, 11)
    sc = ScenarioMacro(load_scenario(scenario)) if scenario else None
    ref = simulate(tape, deal, model, macro=sc, n_paths=150, seed=5, chunk_size=40)
    plan = plan_run(tape, model, deal, macro=sc, n_paths=150, seed=5, chunk_size=40)
    chunks = {f: run_chunk(plan, f, n) for f, n in reversed(plan.chunks)}
    # round trip through the checkpoint format
    chunks = {f: ChunkResult.from_arrays(c.to_arrays()) for f, c in chunks.items()}
    got = assemble(plan, (chunks[f] for f, _ in plan.chunks), deal=deal)
    # equal_nan: the WAL of a class paid no principal (wiped out on a tail path) is NaN
    assert np.array_equal(got.class_paths, ref.class_paths, equal_nan=True)
    assert got.pool.paths.equals(ref.pool.paths)
    assert got.pool.mean_flows.equals(ref.pool.mean_flows)
    assert got.triggers.equals(ref.triggers)
    assert got.class_flows.equals(ref.class_flows)
    for name, frame in ref.class_balance_quantiles.items():
        assert got.class_balance_quantiles[name].equals(frame)
    a, b = got.summary(), ref.summary()
    b["provenance"].pop("timings")
    assert a == b


def test_assemble_rejects_missing_or_misordered_chunks() -> None:
    deal = load_deal(EXAMPLES / "prorata_trigger_deal.yaml")
    model = load_model(deal.assumptions)  # type: ignore[arg-type]
    plan = plan_run(synthetic_pool("prime", 200, 1), model, deal, n_paths=20, seed=1,
                    chunk_size=10)
    c0, c1 = (run_chunk(plan, f, n) for f, n in plan.chunks)
    with pytest.raises(ValueError, match="out of order or not in the plan"):
        assemble(plan, [c1, c0], deal=deal)
    with pytest.raises(ValueError, match="cover 10 of 20"):
        assemble(plan, [c0], deal=deal)


def _run(deal: Path, out: Path, *extra: str) -> int:
    return cli.main(["run", str(deal), "--paths", "60", "--seed", "3", "--chunk-size", "20",
                     "--out", str(out), "--no-report", *extra])


def test_manifest_ledger_and_verify(small_deal: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "runs"
    assert _run(small_deal, root / "one") == 0
    assert _run(small_deal, root / "two", "--scenario", "adverse") == 0
    manifest = json.loads((root / "one" / "manifest.json").read_text())
    assert manifest["inputs"]["deal"]["sha256"] == __import__("hashlib").sha256(
        small_deal.read_bytes()).hexdigest()
    assert set(manifest["inputs"]) >= {"deal", "assumptions", "pool"}
    assert manifest["seed"] == 3 and manifest["n_paths"] == 60
    assert manifest["config"]["deal"]["name"] and manifest["config"]["assumptions"]
    assert manifest["versions"]["numpy"] and manifest["execution"]["threads"] >= 1
    assert {"prepare_s", "simulate_s", "total_s"} <= set(manifest["timings"])
    assert not (root / "one" / CHUNK_DIR).exists()
    lines = (root / LEDGER).read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["run"] for e in entries] == ["one", "two"]
    assert entries[1]["prev"] == entries[0]["hash"]
    assert "manifest.json" in entries[0]["files"] and "class_paths.parquet" in entries[0]["files"]
    capsys.readouterr()
    assert cli.main(["verify", str(root)]) == 0
    assert "verified 2 run(s)" in capsys.readouterr().out

    # one changed byte in a past run's results: verify fails and names that run only
    target = root / "one" / "class_paths.parquet"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    assert cli.main(["verify", str(root)]) == 3
    out = capsys.readouterr().out
    assert "FAILED  one: class_paths.parquet edited" in out
    assert "FAILED  two" not in out
    assert cli.main(["verify", str(root / "two")]) == 0
    assert cli.main(["verify", str(root / "one")]) == 3


def test_verify_finds_the_scenario_runs_of_a_stress_directory(
        small_deal: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`autoabs stress --out runs/stress` keeps its runs in the store runs/stress/scenarios:
    `verify runs/` and `verify runs/stress` check them too (the stress directory itself is not
    a run, so it is no "run without a ledger entry")."""
    root = tmp_path / "runs"
    assert _run(small_deal, root / "base") == 0
    assert cli.main(["stress", str(small_deal), "--scenarios", "baseline,parallel_up_200",
                     "--paths", "32", "--no-report", "--out", str(root / "stress")]) == 0
    capsys.readouterr()
    assert cli.main(["verify", str(root)]) == 0
    out = capsys.readouterr().out
    assert "ok      stress/scenarios/parallel_up_200" in out and "verified 3 run(s)" in out
    assert cli.main(["verify", str(root / "stress")]) == 0
    assert "verified 2 run(s)" in capsys.readouterr().out
    (root / "stress" / "scenarios" / "baseline" / "summary.json").write_text("{}")
    assert cli.main(["verify", str(root)]) == 3
    out = capsys.readouterr().out
    assert "FAILED  stress/scenarios/baseline: summary.json edited" in out
    assert "FAILED  base" not in out


def test_verify_names_removed_added_and_unrecorded_runs(small_deal: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    root = tmp_path / "runs"
    for name in ("a", "b", "c"):
        assert _run(small_deal, root / name) == 0
    (root / "a" / "summary.json").unlink()
    (root / "b" / "extra.csv").write_text("x\n")
    import shutil

    shutil.copytree(root / "c", root / "d")  # a run that never went through the ledger
    shutil.rmtree(root / "c")
    capsys.readouterr()
    assert cli.main(["verify", str(root)]) == 3
    out = capsys.readouterr().out
    assert "a: summary.json removed" in out
    assert "b: extra.csv added" in out
    assert "c: run directory removed" in out
    assert "d: has a manifest but no ledger entry" in out
    # one run at a time: the unrecorded run fails; a directory that is no run is bad input
    assert cli.main(["verify", str(root / "d")]) == 3
    assert "d: has a manifest but no ledger entry" in capsys.readouterr().out
    (root / "notes").mkdir()
    assert cli.main(["verify", str(root / "notes")]) == 2
    assert "not a run: no manifest.json and no entry for 'notes'" in capsys.readouterr().err


def test_verify_detects_edited_ledger(small_deal: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "runs"
    for name in ("a", "b"):
        assert _run(small_deal, root / name) == 0
    ledger = root / LEDGER
    lines = ledger.read_text().splitlines()
    first = json.loads(lines[0])
    first["recorded"] = "2000-01-01T00:00:00+00:00"
    lines[0] = json.dumps(first, sort_keys=True, separators=(",", ":"))
    ledger.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert cli.main(["verify", str(root)]) == 3
    assert "a: ledger entry 1 was edited" in capsys.readouterr().out
    del lines[0]  # removing an entry breaks the chain at the next one
    ledger.write_text("\n".join(lines) + "\n")
    assert not verify(root).passed
    assert "chain broken" in " ".join(verify(root).failed["b"])


def test_run_directory_guards(small_deal: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "runs" / "x"
    assert _run(small_deal, out) == 0
    capsys.readouterr()
    assert _run(small_deal, out) == 2
    assert "already holds a finished run" in capsys.readouterr().err
    assert _run(small_deal, out, "--overwrite") == 0
    assert verify(out.parent).passed  # the latest entry of a run name is the one checked


def test_parquet_is_deterministic(small_deal: Path, tmp_path: Path) -> None:
    assert _run(small_deal, tmp_path / "a") == 0
    assert _run(small_deal, tmp_path / "b", "--chunk-size", "20", "--threads", "1") == 0
    for f in sorted((tmp_path / "a").glob("*.parquet")):
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes(), f.name
    assert (tmp_path / "a" / "summary.json").read_bytes() != b""


def _kill_midway(cmd: list[str], chunks: Path, min_chunks: int, timeout: float = 300) -> None:
    """Start ``cmd``, SIGKILL it once ``min_chunks`` checkpoints exist; watch for partials."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            done = list(chunks.glob("chunk-*.npz")) if chunks.is_dir() else []
            for f in done:  # every file under a final name is complete
                with np.load(f) as data:
                    assert "pool_paths" in data.files
            if len(done) >= min_chunks:
                break
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.02)
        else:
            pytest.fail("the run made no checkpoints in time")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stderr:
            proc.stderr.close()


@pytest.mark.slow
def test_sigkill_then_resume_is_byte_identical(tmp_path: Path) -> None:
    deal = tmp_path / "deal.yaml"
    text = (EXAMPLES / "prime_deal.yaml").read_text()
    text = text.replace("assumptions: prime_assumptions.yaml",
                        f"assumptions: {EXAMPLES / 'prime_assumptions.yaml'}")
    deal.write_text(_set_pool(text, "{synthetic: prime, loans: 4000, seed: 42}"))
    args = [str(deal), "--paths", "2400", "--chunk-size", "50", "--seed", "9", "--no-report"]
    interrupted = tmp_path / "runs" / "interrupted"
    _kill_midway([*AUTOABS, "run", *args, "--out", str(interrupted)],
                 interrupted / CHUNK_DIR, min_chunks=4)
    # killed mid-way: checkpoints, no results under their final names
    n_done = len(list((interrupted / CHUNK_DIR).glob("chunk-*.npz")))
    assert 4 <= n_done < 48
    assert not list(interrupted.glob("*.parquet")) and not (interrupted / "manifest.json").exists()
    # a plain rerun refuses to clobber it; a resume with other options is refused
    bad = subprocess.run([*AUTOABS, "run", *args, "--out", str(interrupted)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--resume" in bad.stderr
    other = [a if a != "9" else "10" for a in args]
    bad = subprocess.run([*AUTOABS, "run", *other, "--out", str(interrupted), "--resume"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "options.seed" in bad.stderr
    done = subprocess.run([*AUTOABS, "run", *args, "--out", str(interrupted), "--resume"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Resumed:" in done.stdout
    manifest = json.loads((interrupted / "manifest.json").read_text())
    assert manifest["execution"]["chunks_resumed"] >= n_done

    fresh = tmp_path / "runs" / "fresh"
    assert subprocess.run([*AUTOABS, "run", *args, "--out", str(fresh)],
                          capture_output=True).returncode == 0
    parquet = sorted(p.name for p in fresh.glob("*.parquet"))
    assert parquet == sorted(p.name for p in interrupted.glob("*.parquet"))
    for name in parquet:
        assert (interrupted / name).read_bytes() == (fresh / name).read_bytes(), name
    assert not (interrupted / CHUNK_DIR).exists()
    assert not [p for p in interrupted.rglob("*") if p.name.endswith(".tmp")]
    assert verify(tmp_path / "runs").passed
