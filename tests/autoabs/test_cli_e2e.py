"""End to end: every subcommand's help has an example, and every subcommand runs on the examples."""

from __future__ import annotations

import filecmp
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autoabs import cli
from autoabs.commands._common import progress
from autoabs.runstore import verify

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def _small_deal(tmp_path: Path, loans: int = 800) -> Path:
    """The prime example deal on a smaller synthetic pool, assumptions by absolute path."""
    text = (EXAMPLES / "prime_deal.yaml").read_text()
    text = text.replace("pool: {synthetic: prime, loans: 20000, seed: 42}",
                        f"pool: {{synthetic: prime, loans: {loans}, seed: 42}}")
    text = text.replace("assumptions: prime_assumptions.yaml",
                        f"assumptions: {EXAMPLES / 'prime_assumptions.yaml'}")
    path = tmp_path / "deal.yaml"
    path.write_text(text)
    return path


def _long_panel(path: Path, n_loans: int = 400, n_months: int = 24, seed: int = 3) -> Path:
    """A long-format performance panel: amortising loans that prepay or stop paying."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_loans):
        balance, rate, term = 10_000.0, 0.08, 60
        pmt = balance * (rate / 12) / (1 - (1 + rate / 12) ** -term)
        stopped = False
        for t in range(1, n_months + 1):
            if balance <= 0:
                break
            u = rng.random()
            if stopped or u < 0.006:
                stopped = True
                principal, paid = 0.0, 0.0
            elif u < 0.03:
                principal, paid = balance, balance * (1 + rate / 12)
            else:
                principal = pmt - balance * rate / 12
                paid = pmt
            balance = max(balance - principal, 0.0)
            rows.append({"loan_id": f"L{i}", "period": t, "balance": round(balance, 2),
                         "principal_paid": round(principal, 2), "total_paid": round(paid, 2),
                         "rate": rate, "original_term": term, "age": 3 + t,
                         "scheduled_payment": round(pmt, 2), "fico": 620 + (i % 200)})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_every_subcommand_has_help_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    for name in cli.COMMANDS:
        with pytest.raises(SystemExit) as exit_:
            cli.main([name, "--help"])
        assert exit_.value.code == 0
        out = capsys.readouterr().out
        assert "example:" in out and f"autoabs {name}" in out, name
    for name in ("run", "pool"):
        with pytest.raises(SystemExit):
            cli.main([name, "--help"])
        out = capsys.readouterr().out
        for option in ("--paths", "--seed", "--threads", "--chunk-size", "--scheduler",
                       "--workers", "--resume"):
            assert option in out, (name, option)


def test_progress_bar_shows_paths_throughput_and_eta() -> None:
    import io

    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120)
    with progress(console, 1000) as advance:
        for _ in range(4):
            advance(250)
    text = buffer.getvalue()
    assert "1000/1000" in text and "paths" in text and "paths/s" in text


def test_run_pool_verify_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deal = _small_deal(tmp_path)
    runs = tmp_path / "runs"
    assert cli.main(["run", str(deal), "--paths", "64", "--chunk-size", "32", "--seed", "2",
                     "--scenario", "severely_adverse", "--out", str(runs / "deal")]) == 0
    out = capsys.readouterr().out
    assert "Results in" in out and "Report:" in out
    assert (runs / "deal" / "report.html").is_file() and (runs / "deal" / "report.pdf").is_file()
    assert cli.main(["pool", "--synthetic", "prime", "--loans", "500", "--model",
                     str(EXAMPLES / "prime_assumptions.yaml"), "--paths", "40",
                     "--out", str(runs / "pool")]) == 0
    assert {"paths.parquet", "flows.parquet", "summary.json", "manifest.json"} <= {
        p.name for p in (runs / "pool").iterdir()}
    assert cli.main(["verify", str(runs)]) == 0
    assert "verified 2 run(s)" in capsys.readouterr().out
    assert cli.main(["report", str(runs / "deal")]) == 0


def test_portfolio_and_structuring_commands(tmp_path: Path) -> None:
    from portfolio._regab_synthetic import write_synthetic_ex102

    deal = _small_deal(tmp_path)
    xml = write_synthetic_ex102(tmp_path / "ex102.xml", 60, seed=1).path
    tape = tmp_path / "tape.parquet"
    assert cli.main(["import-regab", str(xml), "--out", str(tape)]) == 0
    assert cli.main(["strat", str(tape), "--by", "fico"]) == 0
    assert cli.main(["paydown", str(deal), "--abs", "1.3,1.8"]) == 0
    assert cli.main(["breakeven", str(deal)]) == 0
    assert cli.main(["stress", str(deal), "--scenarios", "baseline,severely_adverse",
                     "--paths", "32", "--no-grid", "--out", str(tmp_path / "stress")]) == 0


def test_stress_writes_a_report_per_scenario_and_one_comparing_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each scenario run of ``autoabs stress`` keeps its own report (built from its run
    directory, naming its scenario, with the break-even multiples computed once for all),
    beside the top-level report that compares the scenarios."""
    deal = _small_deal(tmp_path, loans=400)
    stress = tmp_path / "stress"
    assert cli.main(["stress", str(deal), "--scenarios", "baseline,severely_adverse",
                     "--paths", "32", "--no-grid", "--out", str(stress)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    top = (stress / "report.html").read_text(encoding="utf-8")
    assert "Δ EL severely_adverse vs baseline" in top
    for name in ("baseline", "severely_adverse"):
        run_dir = stress / "scenarios" / name
        page = (run_dir / "report.html").read_text(encoding="utf-8")
        assert (run_dir / "report.pdf").is_file() and (run_dir / "breakeven.csv").is_file()
        assert f"Scenario: {name}." in page
        assert "not computed" not in page  # break-even multiples by default
        assert f"Report ({name}): {run_dir / 'report.html'} and report.pdf" in printed
        built = json.loads((run_dir / "manifest.json").read_text())["report"]
        assert (built["html"], built["pdf"]) == ("report.html", "report.pdf")
    assert cli.main(["stress", str(deal), "--scenarios", "baseline", "--paths", "16",
                     "--no-grid", "--no-report", "--no-structuring", "--overwrite",
                     "--out", str(tmp_path / "bare")]) == 0
    bare = tmp_path / "bare" / "scenarios" / "baseline"
    assert not (bare / "report.html").exists() and not (bare / "breakeven.csv").exists()


def test_calibrate_then_backtest(tmp_path: Path) -> None:
    panel = _long_panel(tmp_path / "panel.csv")
    model = tmp_path / "calibrated.yaml"
    assert cli.main(["calibrate", str(panel), "--through-month", "12", "--segments", "none",
                     "--out", str(model)]) == 0
    assert cli.main(["backtest", str(panel), "--model", str(model), "--from-month", "12",
                     "--out", str(tmp_path / "backtest")]) == 0


def test_packaged_demo_files_equal_the_examples() -> None:
    data = ROOT / "autoabs" / "data"
    for name in ("prime_deal.yaml", "prime_assumptions.yaml"):
        assert filecmp.cmp(data / name, EXAMPLES / name, shallow=False), name


def _report_cell(html: str, table: str, row: str, field: str) -> tuple[str, float]:
    """(text shown, data-value) of one cell of a report table."""
    body = html[html.index(f'data-table="{table}"'):]
    body = body[:body.index("</table>")]
    tr = body[body.index(f'<tr data-key="{row}"'):]
    tr = tr[:tr.index("</tr>")]
    cell = re.search(rf'data-field="{re.escape(field)}"[^>]*data-value="([^"]+)">([^<]*)<', tr)
    assert cell is not None, (table, row, field)
    return cell.group(2), float(cell.group(1))


@pytest.mark.slow
def test_demo_writes_one_report_with_both_scenarios_and_deltas(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "autoabs.cli", "demo", "--paths", "64",
                           "--out", str(tmp_path / "demo")], capture_output=True, text=True,
                          timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "baseline is the default scenario" in done.stdout
    assert "Report (all scenarios side by side):" in done.stdout
    demo = tmp_path / "demo"
    html = (demo / "report.html").read_text(encoding="utf-8")
    assert (demo / "report.pdf").is_file()
    stress = pd.read_csv(demo / "stress.csv").set_index(["scenario", "class"])
    assert set(stress.index.get_level_values("scenario")) == {"baseline", "severely_adverse"}
    assert "EL baseline" in html and "EL severely_adverse" in html
    assert "Δ EL severely_adverse vs baseline" in html
    for cls in stress.loc["baseline"].index:
        base, severe = stress.loc[("baseline", cls)], stress.loc[("severely_adverse", cls)]
        assert _report_cell(html, "scenario-comparison", cls, "el|baseline")[1] == base["el"]
        delta = _report_cell(html, "scenario-comparison", cls, "el_delta|severely_adverse")[1]
        assert delta == pytest.approx(severe["el"] - base["el"], abs=1e-15)
    cnl = _report_cell(html, "scenario-comparison", "pool-cnl", "el_delta|severely_adverse")[1]
    assert cnl == pytest.approx(stress.loc["severely_adverse", "pool_cnl_mean"].iloc[0]
                                - stress.loc["baseline", "pool_cnl_mean"].iloc[0], abs=1e-15)
    assert cnl > 0.0  # the severely adverse scenario loses more
    assert "Worst of 2 scenarios: severely_adverse" in html
    assert "not computed" not in html  # break-even multiples by default
    for name in ("baseline", "severely_adverse"):
        assert (demo / "scenarios" / name / "manifest.json").is_file()
        assert (demo / "scenarios" / name / "breakeven.csv").is_file()
        own = (demo / "scenarios" / name / "report.html").read_text(encoding="utf-8")
        assert f"Scenario: {name}." in own  # each scenario keeps its own report
    # the small CNL-multiple x ABS-speed grid the demo computes, shown per class
    grid = pd.read_csv(demo / "sensitivity_grid.csv")
    assert sorted(grid["cnl_multiple"].unique()) == [1.0, 2.0, 4.0]
    assert sorted(grid["abs_speed"].unique()) == [0.013, 0.020]
    for cls in stress.loc["baseline"].index:
        assert f"Sensitivity grid, class {cls}: principal loss" in html
    assert verify(demo / "scenarios").passed
