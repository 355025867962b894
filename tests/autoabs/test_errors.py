"""Bad input exits 2 with one message naming the file, the row or field and the problem.

One test enumerates malformed tapes, deals, assumption and scenario files and options; each
must exit with code 2, print exactly one ``error:`` message with the expected text, and no
traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from autoabs import cli
from portfolio.synthetic import synthetic_pool

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "examples"


def malformed_inputs(tmp: Path) -> list[tuple[str, list[str], str]]:
    """(name, argv, expected message substring) for every malformed input."""
    tape = tmp / "tape.csv"
    frame = synthetic_pool("prime", 50, 1).to_frame()
    frame.to_csv(tape, index=False)

    def tape_variant(name: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> str:
        path = tmp / f"{name}.csv"
        change(frame.copy()).to_csv(path, index=False)
        return str(path)

    def text(name: str, body: str) -> str:
        path = tmp / name
        path.write_text(body)
        return str(path)

    deal_text = (
        (EX / "prime_deal.yaml")
        .read_text()
        .replace(
            "assumptions: prime_assumptions.yaml", f"assumptions: {EX / 'prime_assumptions.yaml'}"
        )
    )

    def deal_variant(name: str, old: str, new: str) -> str:
        assert old in deal_text, old
        return text(name + ".yaml", deal_text.replace(old, new, 1))

    model_text = (EX / "prime_assumptions.yaml").read_text()
    deal = str(EX / "prime_deal.yaml")
    cases = [
        # tapes
        ("tape missing", ["strat", str(tmp / "nope.csv")], "nope.csv: TAPE: file not found"),
        (
            "tape no column",
            ["strat", tape_variant("nocol", lambda f: f.drop(columns=["balance"]))],
            "nocol.csv: balance: required column is missing",
        ),
        (
            "tape text balance",
            [
                "strat",
                tape_variant(
                    "txt",
                    lambda f: f.assign(balance=f.balance.astype(object).where(f.index != 3, "abc")),
                ),
            ],
            "txt.csv: row 4, balance: expected a number, got 'abc'",
        ),
        (
            "tape negative balance",
            [
                "strat",
                tape_variant(
                    "neg", lambda f: f.assign(balance=f.balance.where(f.index != 4, -5.0))
                ),
            ],
            "neg.csv: row 5, balance: must be > 0",
        ),
        (
            "tape fico range",
            [
                "strat",
                tape_variant("fico", lambda f: f.assign(fico=f.fico.where(f.index != 5, 9000))),
            ],
            "fico.csv: row 6, fico: must be in [300, 900]",
        ),
        ("tape empty", ["strat", text("empty.csv", "")], "empty.csv: the tape holds no loans"),
        (
            "tape dup id",
            [
                "strat",
                tape_variant(
                    "dup", lambda f: f.assign(loan_id=f.loan_id.where(f.index != 1, f.loan_id[0]))
                ),
            ],
            "row 2, loan_id: duplicate loan_id",
        ),
        (
            "tape unknown ext",
            ["strat", text("tape.txt", "a,b\n1,2\n")],
            "tape.txt: unsupported tape format '.txt'",
        ),
        (
            "columns map yaml",
            ["strat", str(tape), "--columns-map", text("map.yaml", "a: [\n")],
            "map.yaml: --columns-map: not valid YAML",
        ),
        (
            "run tape override bad",
            [
                "run",
                deal,
                "--tape",
                tape_variant("rate", lambda f: f.assign(rate=f.rate.where(f.index != 2, -0.5))),
                "--out",
                str(tmp / "r1"),
            ],
            "rate.csv: row 3, rate: must be an annual decimal",
        ),
        # deals
        (
            "deal missing",
            ["run", str(tmp / "nodeal.yaml"), "--out", str(tmp / "r2")],
            "nodeal.yaml: DEAL: file not found",
        ),
        (
            "deal bad yaml",
            ["run", text("bad.yaml", "name: [\n"), "--out", str(tmp / "r3")],
            "bad.yaml: not valid YAML",
        ),
        (
            "deal not mapping",
            ["run", text("list.yaml", "- 1\n- 2\n"), "--out", str(tmp / "r4")],
            "list.yaml: expected a mapping with name, notes, waterfall",
        ),
        (
            "deal unknown field",
            [
                "run",
                deal_variant("unk", "index_rate: 0.053", "index_rate: 0.053\ncolour: red"),
                "--out",
                str(tmp / "r5"),
            ],
            "unk.yaml: colour: unknown field",
        ),
        (
            "deal negative balance",
            [
                "run",
                deal_variant("negbal", "balance: 0.120", "balance: -0.120"),
                "--out",
                str(tmp / "r7"),
            ],
            "negbal.yaml: notes.0.balance: Input should be greater than 0",
        ),
        (
            "deal unknown class in waterfall",
            [
                "run",
                deal_variant("wf", "priority_principal: A-4", "priority_principal: A-9"),
                "--out",
                str(tmp / "r8"),
            ],
            "wf.yaml: waterfall.3.priority_principal: unknown class 'A-9'",
        ),
        (
            "deal unknown waterfall step",
            [
                "run",
                deal_variant("step", "  - reserve_deposit\n", "  - pay_everyone\n"),
                "--out",
                str(tmp / "r9"),
            ],
            "step.yaml: waterfall.10: unknown step 'pay_everyone'",
        ),
        (
            "deal pro rata unknown",
            [
                "run",
                deal_variant("prg", "{classes: [A-2a, A-2b]}", "{classes: [A-2a, Z]}"),
                "--out",
                str(tmp / "r10"),
            ],
            "prg.yaml: pro_rata_groups.0.classes: unknown class 'Z'",
        ),
        (
            "deal missing assumptions",
            [
                "run",
                deal_variant(
                    "noass",
                    f"assumptions: {EX / 'prime_assumptions.yaml'}",
                    "assumptions: missing.yaml",
                ),
                "--out",
                str(tmp / "r11"),
            ],
            "missing.yaml: file not found",
        ),
        (
            "deal no notes",
            [
                "run",
                text(
                    "nonotes.yaml",
                    "name: x\nclosing_date: 2023-01-01\nfirst_payment_date: 2023-02-15\n"
                    "notes: []\nwaterfall: [residual]\n",
                ),
                "--out",
                str(tmp / "r12"),
            ],
            "nonotes.yaml: notes: List should have at least 1 item",
        ),
        (
            "deal tape missing",
            [
                "run",
                deal_variant(
                    "notape",
                    "pool: {synthetic: prime, loans: 20000, seed: 42}",
                    "pool: {tape: nowhere.csv}",
                ),
                "--out",
                str(tmp / "r13"),
            ],
            "nowhere.csv: TAPE: file not found",
        ),
        (
            "deal reserve > 1",
            [
                "run",
                deal_variant("res", "initial: 0.0025", "initial: 1.5"),
                "--out",
                str(tmp / "r14"),
            ],
            "res.yaml: reserve.initial: Input should be less than or equal to 1",
        ),
        # assumptions
        (
            "model missing",
            [
                "pool",
                "--synthetic",
                "prime",
                "--model",
                str(tmp / "nomodel.yaml"),
                "--out",
                str(tmp / "o0"),
            ],
            "nomodel.yaml: --model: file not found",
        ),
        (
            "model bad yaml",
            [
                "pool",
                "--synthetic",
                "prime",
                "--model",
                text("m.yaml", "default: [\n"),
                "--out",
                str(tmp / "o1"),
            ],
            "m.yaml: not valid YAML",
        ),
        (
            "model unknown field",
            [
                "pool",
                "--synthetic",
                "prime",
                "--model",
                text("m2.yaml", model_text + "\nweather: sunny\n"),
                "--out",
                str(tmp / "o2"),
            ],
            "m2.yaml: weather: unknown field",
        ),
        (
            "model not mapping",
            [
                "pool",
                "--synthetic",
                "prime",
                "--model",
                text("m3.yaml", "- a\n"),
                "--out",
                str(tmp / "o3"),
            ],
            "m3.yaml: expected a mapping of assumption sections",
        ),
        (
            "run model override bad",
            [
                "run",
                deal,
                "--model",
                text("m4.yaml", "prepayment: {}\n"),
                "--out",
                str(tmp / "r15"),
            ],
            "prepayment: give exactly one of abs_speed, cpr or smm_curve",
        ),
        # scenarios
        (
            "scenario unknown name",
            ["run", deal, "--scenario", "armageddon", "--out", str(tmp / "r16")],
            "armageddon: scenario: unknown library scenario 'armageddon'; available: adverse",
        ),
        (
            "scenario file missing",
            ["run", deal, "--scenario", str(tmp / "sc.yaml"), "--out", str(tmp / "r17")],
            "sc.yaml: file not found",
        ),
        (
            "scenario bad yaml",
            ["run", deal, "--scenario", text("sc1.yaml", "name: [\n"), "--out", str(tmp / "r18")],
            "sc1.yaml: not valid YAML",
        ),
        (
            "scenario unknown field",
            [
                "run",
                deal,
                "--scenario",
                text("sc2.yaml", "name: x\nbase: baseline\nflavour: spicy\n"),
                "--out",
                str(tmp / "r19"),
            ],
            "sc2.yaml: flavour: unknown field",
        ),
        (
            "scenario base cycle",
            [
                "run",
                deal,
                "--scenario",
                text("cyc.yaml", "name: cyc\nbase: cyc.yaml\n"),
                "--out",
                str(tmp / "r20"),
            ],
            "base: scenarios form a cycle",
        ),
        (
            "stress unknown scenario",
            ["stress", deal, "--scenarios", "baseline,nope", "--out", str(tmp / "s")],
            "nope: scenario: unknown library scenario 'nope'",
        ),
        # options
        (
            "paths zero",
            ["run", deal, "--paths", "0", "--out", str(tmp / "r21")],
            "--paths: must be between 1 and 100,000,000, got 0",
        ),
        (
            "paths not int",
            ["run", deal, "--paths", "many", "--out", str(tmp / "r22")],
            "argument --paths: invalid int value: 'many'",
        ),
        (
            "chunk zero",
            ["run", deal, "--chunk-size", "0", "--out", str(tmp / "r23")],
            "--chunk-size: must be at least 1, got 0",
        ),
        (
            "threads zero",
            ["run", deal, "--threads", "0", "--out", str(tmp / "r24")],
            "--threads: must be between 1 and",
        ),
        (
            "threads huge",
            ["run", deal, "--threads", "100000", "--out", str(tmp / "r25")],
            "got 100000",
        ),
        (
            "seed negative",
            ["run", deal, "--seed", "-1", "--out", str(tmp / "r26")],
            "--seed: must be between 0 and 2**63 - 1, got -1",
        ),
        (
            "workers zero",
            ["run", deal, "--workers", "0", "--out", str(tmp / "r27")],
            "--workers: must be between 1 and 512, got 0",
        ),
        (
            "scheduler bad",
            ["run", deal, "--scheduler", "my-cluster", "--out", str(tmp / "r28")],
            "--scheduler: expected an address like tcp://HOST:8786, got 'my-cluster'",
        ),
        (
            "workers and scheduler",
            [
                "run",
                deal,
                "--workers",
                "2",
                "--scheduler",
                "tcp://127.0.0.1:1",
                "--out",
                str(tmp / "r29"),
            ],
            "not both",
        ),
        (
            "unknown option",
            ["run", deal, "--colour", "red", "--out", str(tmp / "r30")],
            "unrecognized arguments: --colour red",
        ),
        ("out missing", ["run", deal], "the following arguments are required: --out"),
        (
            "out is a file",
            ["run", deal, "--out", str(tape)],
            "--out: exists and is not a directory",
        ),
        (
            "resume nothing",
            ["run", deal, "--resume", "--out", str(tmp)],
            "--resume: nothing to resume",
        ),
        (
            "pool loans zero",
            [
                "pool",
                "--synthetic",
                "prime",
                "--loans",
                "0",
                "--model",
                str(EX / "prime_assumptions.yaml"),
                "--out",
                str(tmp / "o4"),
            ],
            "--loans: must be between 1 and 5,000,000",
        ),
        (
            "pool tape and synthetic",
            [
                "pool",
                str(tape),
                "--synthetic",
                "prime",
                "--model",
                str(EX / "prime_assumptions.yaml"),
                "--out",
                str(tmp / "o5"),
            ],
            "give either a TAPE file or --synthetic, not both",
        ),
        ("verify not a store", ["verify", str(tmp / "o4")], "DIR: not a run store"),
        (
            "demo paths zero",
            ["demo", "--paths", "0", "--out", str(tmp / "d")],
            "--paths: must be between 1 and 100,000,000, got 0",
        ),
        ("unknown command", ["simulate-everything"], "invalid choice: 'simulate-everything'"),
    ]
    return cases


def test_every_malformed_input_exits_2_with_its_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = malformed_inputs(tmp_path)
    assert len(cases) >= 30
    failures = []
    for name, argv, expected in cases:
        capsys.readouterr()
        code = cli.main(argv)
        err = capsys.readouterr().err.replace(str(tmp_path) + "/", "")
        ok = (
            code == 2
            and expected in err
            and err.startswith("error: ")
            and "Traceback" not in err
            and sum(line.startswith("error: ") for line in err.splitlines()) == 1
        )
        if not ok:
            failures.append(f"{name}: exit {code}, stderr {err.strip()[:300]!r}")
    assert not failures, "\n".join(failures)


def test_internal_errors_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import autoabs.commands.verify as verify_cmd

    def boom(args: object) -> int:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(verify_cmd, "run", boom)
    assert cli.main(["verify", "x"]) == 1
    assert "internal error: RuntimeError: kaboom" in capsys.readouterr().err


def test_bad_date_in_deal_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        (EX / "prime_deal.yaml")
        .read_text()
        .replace("closing_date: 2023-07-26", "closing_date: 2023-13-40")
    )
    (tmp_path / "date.yaml").write_text(text)
    assert cli.main(["run", str(tmp_path / "date.yaml"), "--out", str(tmp_path / "r")]) == 2
    assert "closing_date" in capsys.readouterr().err
