"""Scale-out: chunks on a Dask LocalCluster give bit-identical results to local threads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autoabs.execute import RunJob, RunOptions, execute
from portfolio.errors import InputError
from portfolio.synthetic import synthetic_pool
from scenarios import load_scenario
from simulation.deal import load_deal
from simulation.model import load_model

pytest.importorskip("distributed")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _job(scenario: str | None = None) -> RunJob:
    deal = load_deal(EXAMPLES / "prorata_trigger_deal.yaml")
    assert deal.assumptions is not None
    return RunJob(tape=synthetic_pool("prime", 400, 3), tape_source="synthetic", deal=deal,
                  model=load_model(deal.assumptions), files={"deal": EXAMPLES /
                                                             "prorata_trigger_deal.yaml"},
                  scenario=load_scenario(scenario) if scenario else None)


@pytest.mark.slow
@pytest.mark.parametrize("stochastic", [False, True])
def test_local_cluster_is_bit_identical_to_threads(tmp_path: Path, stochastic: bool) -> None:
    """Deterministic scenario, and stochastic (scenario rows and the importance-sampled
    credit residual drawn in the workers)."""
    job = _job("severely_adverse")
    base = RunOptions(n_paths=120, seed=8, chunk_size=16, stochastic=stochastic)
    local = execute(job, base).result
    dask = execute(job, RunOptions(n_paths=120, seed=8, chunk_size=16, workers=2, threads=1,
                                   stochastic=stochastic),
                   out=tmp_path / "runs" / "dask", report=False)
    assert dask.manifest["execution"]["executor"] == "LocalCluster(2 workers)"
    got = dask.result
    np.testing.assert_array_equal(got.class_paths, local.class_paths)  # type: ignore[union-attr]
    assert got.pool.paths.equals(local.pool.paths)  # type: ignore[union-attr]
    assert got.pool.mean_flows.equals(local.pool.mean_flows)  # type: ignore[union-attr]
    assert got.triggers.equals(local.triggers)  # type: ignore[union-attr]
    # and the Parquet of a local run into the store is byte-identical
    execute(job, base, out=tmp_path / "runs" / "local", report=False)
    for f in sorted((tmp_path / "runs" / "local").glob("*.parquet")):
        assert f.read_bytes() == (tmp_path / "runs" / "dask" / f.name).read_bytes(), f.name


@pytest.mark.parametrize(("options", "message"), [
    ({"workers": 2, "scheduler": "tcp://127.0.0.1:8786"}, "not both"),
    ({"workers": 0}, "--workers: must be between 1 and 512"),
    ({"scheduler": "localhost"}, "--scheduler: expected an address like tcp://HOST:8786"),
])
def test_bad_scale_options(options: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        RunOptions(**options).check()  # type: ignore[arg-type]
