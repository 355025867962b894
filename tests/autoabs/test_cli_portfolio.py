"""CLI: ``autoabs demo`` and ``autoabs strat``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from autoabs import cli
from portfolio.synthetic import synthetic_pool


@pytest.fixture(autouse=True)
def _available_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    # Subcommands are written concurrently; register only the ones whose module exists so that
    # these tests exercise demo/strat regardless of the state of the others.
    available = {k: v for k, v in cli.COMMANDS.items() if importlib.util.find_spec(v)}
    monkeypatch.setattr(cli, "COMMANDS", available)


@pytest.fixture(scope="module")
def tape_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tapes") / "prime.csv"
    synthetic_pool("prime", 2_000, seed=5).to_frame().to_csv(path, index=False)
    return path


def test_synthetic_strat_prints_summary_and_strats(capsys: pytest.CaptureFixture[str]) -> None:
    # (``autoabs demo`` is now the full deal demo: tests/autoabs/test_cli_e2e.py)
    assert cli.main(["strat", "--synthetic", "prime", "--loans", "10000", "--pool-seed", "42"]) == 0
    out = capsys.readouterr().out
    assert "WA FICO" in out
    assert "10,000" in out
    for title in ("Pool summary", "Strat by State", "Strat by FICO band", "Concentration"):
        assert title in out
    assert "coming" not in out.lower()


def test_strat_on_csv_tape(tape_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["strat", str(tape_csv)]) == 0
    out = capsys.readouterr().out
    for dimension in ("State", "Make", "FICO band", "APR band", "Original term", "LTV band",
                      "New / used", "Model year"):
        assert f"Strat by {dimension}" in out
    assert "Concentration" in out and "HHI" in out and "Dealer" in out
    assert "2,000" in out


def test_strat_selected_dimensions(tape_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["strat", str(tape_csv), "--by", "state,apr", "--by", "vehicle_type"]) == 0
    out = capsys.readouterr().out
    assert "Strat by State" in out and "Strat by APR band" in out
    assert "Strat by Vehicle type" in out
    assert "Strat by FICO band" not in out


def test_strat_parquet_and_columns_map(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = synthetic_pool("subprime", 500, seed=2).to_frame().rename(columns={"rate": "APR"})
    tape = tmp_path / "sub.parquet"
    frame.to_parquet(tape)
    mapping = tmp_path / "columns.yaml"
    mapping.write_text("APR: rate\n")
    assert cli.main(["strat", str(tape), "--columns-map", str(mapping), "--by", "fico"]) == 0
    assert "Strat by FICO band" in capsys.readouterr().out


def test_strat_synthetic(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["strat", "--synthetic", "subprime", "--loans", "800", "--pool-seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "Synthetic subprime pool" in out and "Strat by State" in out


def test_strat_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no_such_tape.csv"
    assert cli.main(["strat", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "no_such_tape.csv" in err and "file not found" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["strat"], "TAPE"),
        (["strat", "--synthetic", "prime", "--by", "colour"], "colour"),
        (["strat", "--synthetic", "prime", "--loans", "0"], "--loans"),
        (["strat", "x.csv", "--synthetic", "prime"], "not both"),
    ],
)
def test_strat_bad_input(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == 2
    assert needle in capsys.readouterr().err


def test_bad_columns_map(
    tape_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = tmp_path / "bad.yaml"
    mapping.write_text("- just\n- a list\n")
    assert cli.main(["strat", str(tape_csv), "--columns-map", str(mapping)]) == 2
    assert "bad.yaml" in capsys.readouterr().err


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("strat", "demo"):
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        assert f"autoabs {command}" in capsys.readouterr().out
