"""The Python API for notebooks: ``autoabs.run``, ``autoabs.stress``, ``autoabs.load_run``.

The same jobs as the CLI, returning result objects with pandas views and an HTML summary for
Jupyter. See ``docs/cli.md`` ("Python API") and ``examples/api_example.py``.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from portfolio._format import percent_text
from portfolio.errors import InputError, Problem
from portfolio.tape import LoanTape
from scenarios import DEFAULT_SCENARIO, STRESS_SCENARIOS
from simulation.run.directory import read_run, run_frames, stored_summary
from simulation.run.results import pool_summary_html

if TYPE_CHECKING:
    from autoabs.pipeline import RunInputs
    from simulation.collateral import CollateralInputs
    from simulation.factor import FactorSpec

__all__ = ["RunResult", "StressResult", "load_run", "run", "stress"]

_TABLE_COLUMNS = ("balance", "hard_ce", "group_hard_ce", "el", "el_se", "pd", "lgd", "wal",
                  "yield", "dirr", "implied_rating")


@dataclass(frozen=True, eq=False)
class RunResult:
    """One run's results as pandas views (from memory or from a run directory).

    Attributes
    ----------
    data : dict
        The run's ``summary.json`` content.
    manifest : dict
        The run's manifest (inputs and their sha256, config, seed, versions, timings).
    run_dir : Path or None
        The run directory, when the run was written to one.
    """

    data: dict[str, Any]
    manifest: dict[str, Any]
    run_dir: Path | None
    _frames: Mapping[str, pd.DataFrame] = field(repr=False)
    """The run directory's frames by name (:func:`simulation.run.directory.run_frames`)."""

    @property
    def kind(self) -> str:
        """``"deal"`` or ``"pool"``."""
        return str(self.manifest.get("kind", "deal"))

    @property
    def name(self) -> str:
        """The deal's name (or the run directory's for pool runs)."""
        return str(self.data.get("deal") or self.manifest.get("name") or "pool run")

    @property
    def scenario(self) -> str | None:
        """The macro scenario's name (``None``: flat macro, no scenario)."""
        name = self.data.get("provenance", {}).get("scenario")
        return None if name is None else str(name)

    @property
    def classes(self) -> tuple[str, ...]:
        """Note classes, most senior first."""
        return tuple(row["name"] for row in self.data.get("classes", []))

    def summary(self) -> pd.DataFrame:
        """Per class: balance, hard CE, EL (se), PD, LGD, WAL, yield, DIRR, implied rating.

        Those columns come first, in the order of the ``autoabs run`` table; the remaining
        ``summary.json`` fields (standard errors, promised yield, ...) follow. For a pool run:
        one row of pool CNL statistics.
        """
        if self.kind == "pool":
            return pd.DataFrame([self.data["pool"]])
        table = pd.DataFrame(self.data["classes"]).set_index("name")
        first = [c for c in _TABLE_COLUMNS if c in table.columns]
        return table[first + [c for c in table.columns if c not in first]]

    def pool(self) -> dict[str, Any]:
        """Pool CNL statistics (mean, se, sd, percentiles)."""
        return dict(self.data["pool"])

    def paths(self) -> pd.DataFrame:
        """Per path and class: loss, interest shortfall, WAL, yield, DIRR, PV, weight.

        For a pool run: per path CNL, flows, WAL, factor and weight.
        """
        return self._frame("class_paths", "paths")

    def pool_paths(self) -> pd.DataFrame:
        """Per path: CNL, defaults, recoveries, prepayments, WAL, factor draw, weight."""
        return self._frame("pool_paths", "paths")

    def pool_flows(self) -> pd.DataFrame:
        """Mean pool flows by period with standard errors."""
        return self._frame("pool_flows", "flows")

    def _frame(self, deal: str, pool: str) -> pd.DataFrame:
        return self._frames[deal if self.kind == "deal" else pool]

    def triggers(self) -> pd.DataFrame:
        """Probability that each trigger is breached in, and by, each period."""
        return self._frames.get("triggers", pd.DataFrame())

    def cashflows(self, cls: str) -> pd.DataFrame:
        """Mean cash flows of one class by period: interest due and paid, principal, balance.

        Raises
        ------
        KeyError
            Naming the classes when ``cls`` is not one of them.
        """
        flows = self._frames.get("class_flows")
        if flows is None or cls not in self.classes:
            raise KeyError(f"no class {cls!r}; classes: {', '.join(self.classes) or 'none'}")
        return flows[flows["class"] == cls].drop(columns="class").set_index("period")

    def _repr_html_(self) -> str:
        prov = self.data.get("provenance", {})
        head = (f"<b>{html.escape(self.name)}</b>: {prov.get('n_paths', '?'):,} paths, seed "
                f"{prov.get('seed', '?')}" if isinstance(prov.get("n_paths"), int)
                else f"<b>{html.escape(self.name)}</b>")
        if prov.get("scenario"):
            head += f", scenario {html.escape(str(prov['scenario']))}"
        if self.run_dir is not None:
            head += f"<br><small>{html.escape(str(self.run_dir))}</small>"
        pool = self.data.get("pool", {})
        if self.kind == "pool":
            return f"<div>{head}{pool_summary_html(pool)}</div>"
        se = percent_text(pool.get("cnl_mean_se"), 3)
        pool_line = (f"Pool CNL mean {pool['cnl_mean']:.3%} (se {se}), "
                     f"p99 {pool.get('cnl_p99', float('nan')):.3%}" if "cnl_mean" in pool else "")
        table = self.summary()
        cols = [c for c in _TABLE_COLUMNS if c in table.columns]
        fmt: dict[str, Any] = {c: lambda x: percent_text(x, 4) for c in
                               ("el", "el_se", "pd", "lgd", "hard_ce", "group_hard_ce", "yield")}
        fmt.update({"balance": "{:,.0f}".format, "wal": "{:.2f}".format,
                    "dirr": "{:.2f}".format})
        body = table[cols].to_html(formatters={k: v for k, v in fmt.items() if k in cols},
                                   na_rep="-", border=0)
        return f"<div>{head}<br>{pool_line}{body}</div>"

    def __repr__(self) -> str:
        where = f" in {self.run_dir}" if self.run_dir is not None else ""
        return f"<RunResult {self.name!r}: {len(self.classes)} classes{where}>"


@dataclass(frozen=True, eq=False)
class StressResult:
    """A deal under several scenarios with common random numbers (the same seed and paths).

    Attributes
    ----------
    runs : dict
        Scenario name -> :class:`RunResult`.
    inputs : RunInputs or None
        The resolved deal, pool and assumptions every scenario ran on.
    prepared : (CollateralInputs, FactorSpec) or None
        The prepared and calibrated collateral every scenario ran on (what does not change
        between scenarios), for further deterministic work on the same pool (the sensitivity
        grid of ``autoabs stress``).
    """

    runs: dict[str, RunResult]
    inputs: RunInputs | None = field(default=None, repr=False)
    prepared: tuple[CollateralInputs, FactorSpec] | None = field(default=None, repr=False)

    def table(self) -> pd.DataFrame:
        """Per scenario and class: EL (se), PD, WAL, yield, implied rating, trigger breach.

        ``trigger_breach`` is the probability that any trigger of the deal is breached by the
        end of the horizon; ``pool_cnl_mean`` repeats the scenario's mean pool CNL.
        """
        rows = []
        for scenario, result in self.runs.items():
            trig = result.triggers()
            by_end = [float(trig[c].iloc[-1]) for c in trig.columns if c.endswith(" by period")]
            breach = max(by_end) if by_end else 0.0
            for cls, row in result.summary().iterrows():
                rows.append({"scenario": scenario, "class": cls, "el": row["el"],
                             "el_se": row["el_se"], "pd": row["pd"], "wal": row["wal"],
                             "yield": row["yield"], "implied_rating": row["implied_rating"],
                             "trigger_breach": breach,
                             "pool_cnl_mean": result.pool()["cnl_mean"]})
        return pd.DataFrame(rows).set_index(["scenario", "class"])

    def _repr_html_(self) -> str:
        fmt: dict[str, Any] = {c: "{:.4%}".format for c in (
            "el", "el_se", "pd", "yield", "trigger_breach", "pool_cnl_mean")}
        fmt["wal"] = "{:.2f}".format
        names = ", ".join(html.escape(n) for n in self.runs)
        table = self.table().to_html(formatters=fmt, border=0)
        return f"<div><b>Stress</b>: {names}{table}</div>"


def run(
    deal: str | Path,
    *,
    tape: str | Path | LoanTape | None = None,
    model: str | Path | None = None,
    scenario: str | Path | None = DEFAULT_SCENARIO,
    paths: int = 1000,
    seed: int = 1,
    chunk_size: int = 256,
    threads: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    stochastic: bool = False,
    el_table: str | Path | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    report: bool = False,
    structuring: bool = True,
) -> RunResult:
    """Simulate a deal, as ``autoabs run``; in memory unless ``out`` names a run directory.

    Parameters
    ----------
    deal : path
        Deal YAML file (it may name its pool and assumptions file).
    tape, model : optional
        Loan tape (file or :class:`~portfolio.tape.LoanTape`) and assumptions file overriding
        the deal's.
    scenario : str or path or None, default ``"baseline"``
        Library scenario name (``"baseline"``, ``"severely_adverse"``, ...) or scenario file;
        the default is the one of ``autoabs run``, ``stress`` and ``demo``
        (:data:`scenarios.DEFAULT_SCENARIO`), so the same deal, seed and paths give the same
        numbers here and there. ``None``: flat macro at the cut-off levels (no scenario).
    paths, seed, chunk_size, threads, workers, scheduler, stochastic
        As the CLI options of the same names (``workers`` starts a local Dask cluster).
    el_table : path, optional
        Idealized expected-loss table for implied ratings.
    out : path, optional
        Run directory (manifest, Parquet, ledger entry in its parent).
    resume, overwrite, report : bool
        Continue an interrupted run in ``out``; replace it; build ``report.html``/``.pdf``.
    structuring : bool, default True
        With ``out``, write the prepayment table and break-even CNL multiples
        (``paydown.csv``, ``breakeven.csv``) the report shows, as ``autoabs run`` does.

    Returns
    -------
    RunResult

    Raises
    ------
    portfolio.errors.InputError
        On any bad input, naming the file, field and problem.
    """
    from autoabs.execute import RunJob, RunOptions, execute
    from autoabs.pipeline import resolve_inputs, resolve_scenario

    options = RunOptions(n_paths=paths, seed=seed, chunk_size=chunk_size, threads=threads,
                         workers=workers, scheduler=scheduler, stochastic=stochastic)
    options.check()
    inputs = resolve_inputs(deal, tape=tape, model=model, el_table=el_table)
    assert inputs.model is not None
    sc, sc_file = resolve_scenario(scenario)
    files = dict(inputs.files)
    if sc_file is not None:
        files["scenario"] = sc_file
    job = RunJob(tape=inputs.tape, tape_source=inputs.tape_source, model=inputs.model,
                 files=files, deal=inputs.deal, scenario=sc,
                 scenario_source=None if scenario is None else str(scenario),
                 el_table=inputs.el_table, structuring=structuring, warnings=inputs.warnings)
    outcome = execute(job, options, out=out, resume=resume, overwrite=overwrite, report=report)
    return _from_outcome(outcome)


def stress(
    deal: str | Path,
    scenarios: Sequence[str | Path] = STRESS_SCENARIOS,
    *,
    tape: str | Path | LoanTape | None = None,
    model: str | Path | None = None,
    paths: int = 1000,
    seed: int = 1,
    chunk_size: int = 256,
    threads: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    stochastic: bool = False,
    out: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    report: bool = False,
    structuring: bool = True,
    progress: Callable[[int], None] | None = None,
    as_of: str | Path | None = None,
) -> StressResult:
    """Run a deal under several scenarios with common random numbers.

    Every scenario uses the same seed, paths and prepared collateral, so differences between
    scenarios are not Monte Carlo noise. With ``out``, each scenario's run is written to
    ``out/<scenario>`` (one ledger, ``out/ledger.jsonl``); ``report`` builds each run's
    report, ``structuring`` (default, as ``autoabs run`` and ``stress``) writes each run's
    prepayment table and break-even multiples. The default scenarios are
    :data:`scenarios.STRESS_SCENARIOS` (baseline, the default scenario, first).
    What does not depend on the scenario is computed once for all of them: the prepared and
    calibrated collateral and the (flat-macro, deterministic) structuring tables. ``as_of``
    (a status file; ``tape`` the current loans) stresses the deal from that reporting date;
    the structuring tables, which describe the deal at closing, are then not written.

    Returns
    -------
    StressResult
        ``.runs[name]`` per scenario and ``.table()`` (EL, PD, WAL, yield, trigger breach).
    """
    from autoabs.execute import RunJob, RunOptions, execute
    from autoabs.pipeline import resolve_inputs, resolve_scenario
    from simulation.collateral import prepare_collateral
    from simulation.factor import calibrate
    from simulation.structuring import structuring_tables

    if not scenarios:
        raise InputError("--scenarios", "give at least one scenario")
    options = RunOptions(n_paths=paths, seed=seed, chunk_size=chunk_size, threads=threads,
                         workers=workers, scheduler=scheduler, stochastic=stochastic)
    options.check()
    inputs = resolve_inputs(deal, tape=tape, model=model, as_of=as_of)
    assert inputs.model is not None
    prepared = calibrate(prepare_collateral(inputs.tape, inputs.model))
    # the tables are files of the run directory, and describe the deal at closing
    structuring = structuring and out is not None and inputs.status is None
    tables = (structuring_tables(inputs.deal, inputs.tape, prepared[0]) if structuring
              else None)
    runs: dict[str, RunResult] = {}
    for name in scenarios:
        sc, sc_file = resolve_scenario(name)
        if sc.name in runs:
            raise InputError(str(name), Problem(None, "scenarios", f"{sc.name!r} given twice"))
        files = dict(inputs.files)
        if sc_file is not None:
            files["scenario"] = sc_file
        job = RunJob(tape=inputs.tape, tape_source=inputs.tape_source, model=inputs.model,
                     files=files, deal=inputs.deal, scenario=sc, scenario_source=str(name),
                     prepared=prepared, structuring=structuring,
                     structuring_tables=tables, status=inputs.status)
        run_dir = Path(out) / sc.name if out is not None else None
        runs[sc.name] = _from_outcome(execute(job, options, out=run_dir, resume=resume,
                                              overwrite=overwrite, report=report,
                                              progress=progress))
    return StressResult(runs, inputs, prepared)


def _from_outcome(outcome: Any) -> RunResult:
    """The in-memory result in the form :func:`load_run` reads it back."""
    result = outcome.result
    return RunResult(stored_summary(result), outcome.manifest, outcome.run_dir,
                     run_frames(result))


def load_run(path: str | Path) -> RunResult:
    """Open a run directory written by ``autoabs run``/``pool``/``demo`` or :func:`run`.

    Frames are read when first asked for (:func:`simulation.run.directory.read_run`).

    Raises
    ------
    portfolio.errors.InputError
        When ``path`` is not a finished run directory (no ``manifest.json``) or a file of it
        is missing or unreadable, naming the file.
    """
    record = read_run(path, finished=True)
    return RunResult(record.summary, record.manifest or {}, record.run_dir, record.frames)
