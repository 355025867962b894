"""``autoabs run`` on the deal path gives the same answer for any thread count, chunk size and
executor: per-path results bit for bit; streamed sums bit for bit for the same chunks, and to
the last bits when the chunks differ (they are summed chunk by chunk)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autoabs import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
PER_PATH = ("class_paths.parquet", "pool_paths.parquet", "tape.parquet")
STREAMED = ("class_flows.parquet", "pool_flows.parquet", "pool_factor_quantiles.parquet",
            "class_balance_quantiles.parquet", "triggers.parquet")
EXECUTION_ONLY = ("threads", "timings")
"""Provenance that says how a run was executed, not what it computed."""


@pytest.fixture(scope="module")
def deal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pro-rata trigger deal (triggers, reserve, call) on a 600-loan synthetic pool."""
    text = (EXAMPLES / "prorata_trigger_deal.yaml").read_text()
    path = tmp_path_factory.mktemp("deal") / "deal.yaml"
    text = text.replace("pool: {synthetic: prime, loans: 20000, seed: 42}",
                        "pool: {synthetic: prime, loans: 600, seed: 42}")
    text = text.replace("assumptions: prime_assumptions.yaml",
                        f"assumptions: {EXAMPLES / 'prime_assumptions.yaml'}")
    path.write_text(text)
    return path


def _run(deal: Path, out: Path, *options: str) -> Path:
    assert cli.main(["run", str(deal), "--paths", "300", "--seed", "9", "--no-report",
                     "--out", str(out), *options]) == 0
    return out


def _summary(run: Path) -> dict:
    data = json.loads((run / "summary.json").read_text())
    for key in EXECUTION_ONLY:
        data["provenance"].pop(key, None)
    return data


def _assert_identical(a: Path, b: Path, names: tuple[str, ...]) -> None:
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def _numbers(obj: object) -> list[float]:
    if isinstance(obj, dict):
        return [x for k in sorted(obj) for x in _numbers(obj[k])]
    if isinstance(obj, list):
        return [x for v in obj for x in _numbers(v)]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return []
    return [float(obj)]  # type: ignore[arg-type]


def test_threads_do_not_change_any_result(deal: Path, tmp_path: Path) -> None:
    one = _run(deal, tmp_path / "one", "--threads", "1")
    two = _run(deal, tmp_path / "two", "--threads", "2")
    _assert_identical(one, two, PER_PATH + STREAMED)
    assert _summary(one) == _summary(two)


def test_chunk_size_keeps_per_path_results_and_streamed_sums_to_the_last_bits(
        deal: Path, tmp_path: Path) -> None:
    small = _run(deal, tmp_path / "c64", "--chunk-size", "64")
    large = _run(deal, tmp_path / "c1000", "--chunk-size", "1000")
    _assert_identical(small, large, PER_PATH)
    for name in STREAMED:
        a, b = pd.read_parquet(small / name), pd.read_parquet(large / name)
        assert list(a.columns) == list(b.columns) and a.shape == b.shape, name
        for col in a.select_dtypes("number").columns:
            # a streamed standard error is sqrt(mean(x^2) - m^2): the cancellation turns
            # last-bit differences of the sums into ~1e-10 relative ones
            rtol = 1e-8 if col.endswith("_se") else 1e-12
            np.testing.assert_allclose(a[col], b[col], rtol=rtol, atol=1e-12,
                                       err_msg=f"{name}: {col}")
    sa, sb = _summary(small), _summary(large)
    sa["provenance"].pop("chunk_size"), sb["provenance"].pop("chunk_size")
    np.testing.assert_allclose(_numbers(sa), _numbers(sb), rtol=1e-12, atol=1e-15)


@pytest.mark.slow
def test_dask_workers_give_the_threads_result(deal: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    local = _run(deal, tmp_path / "local")
    dask = _run(deal, tmp_path / "dask", "--workers", "2")
    _assert_identical(local, dask, PER_PATH + STREAMED)
    assert _summary(local) == _summary(dask)
