"""The --target-rse stopping rule of ``autoabs run`` (run-store path)."""

import json

import pandas as pd

from autoabs import cli
from portfolio.synthetic import synthetic_pool


def _tape(tmp_path):
    path = tmp_path / "pool.parquet"
    synthetic_pool("prime", 800, seed=3).to_frame().to_parquet(path)
    return str(path)


def _run(tmp_path, name, *extra):
    out = tmp_path / name
    args = ["run", "examples/prime_deal.yaml", "--tape", _tape(tmp_path), "--paths", "256",
            "--seed", "5", "--no-report", "--out", str(out), "--target-rse", "0.02", *extra]
    assert cli.main(args) == 0
    return out


def test_target_rse_adds_paths_until_met_or_budget(tmp_path):
    out = _run(tmp_path, "a", "--max-paths", "1024", "--chunk-size", "128")
    manifest = json.loads((out / "manifest.json").read_text())
    rule = manifest["stopping_rule"]
    assert rule["target_rse"] == 0.02 and rule["max_paths"] == 1024
    checks = rule["checks"]
    assert [c["paths"] for c in checks] == [256, 384, 512, 640, 768, 896, 1024][: len(checks)]
    assert checks[-1]["met"] or checks[-1]["paths"] == 1024
    assert all(not c["met"] for c in checks[:-1])
    paths = pd.read_parquet(out / "class_paths.parquet")
    assert paths["path"].max() + 1 == manifest["n_paths"] == checks[-1]["paths"]


def test_stopping_rule_result_does_not_depend_on_chunk_size(tmp_path):
    a = _run(tmp_path, "a", "--max-paths", "768", "--chunk-size", "128")
    b = _run(tmp_path, "b", "--max-paths", "768", "--chunk-size", "100")
    pa = pd.read_parquet(a / "class_paths.parquet")
    pb = pd.read_parquet(b / "class_paths.parquet")
    pd.testing.assert_frame_equal(pa, pb)


def test_bad_convergence_options_exit_2(tmp_path, capsys):
    base = ["run", "examples/prime_deal.yaml", "--paths", "64", "--out", str(tmp_path / "x")]
    assert cli.main([*base, "--target-rse", "2"]) == 2
    assert "--target-rse" in capsys.readouterr().err
    assert cli.main([*base, "--max-paths", "100"]) == 2
    assert "--max-paths" in capsys.readouterr().err
