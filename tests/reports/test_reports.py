"""Committee report: builds for every example deal, numbers parse back, escaping, formulas, PDF."""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from autoabs.cli import main
from portfolio._format import percent_text
from reports import build_model, build_report, load_run, render_html
from reports.charts import to_svg, trigger_chart
from reports.diversification import (
    basel_retail_capital,
    basel_retail_correlation,
    binomial_diversity_score,
    expected_shortfall,
    fit_vasicek_rho,
    summarize_pool_paths,
    value_at_risk,
    vasicek_cdf,
    vasicek_default_rate_variance,
    vasicek_pdf,
    vasicek_quantile,
)
from reports.model import Report
from simulation.run.directory import DEAL_RUN_FILES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
DEALS = ("prime_deal", "subprime_turbo_deal", "prorata_trigger_deal")
TRIGGERED = ("subprime_turbo_deal", "prorata_trigger_deal")
"""The example deals with performance triggers (the prime deal has none)."""
SECTION_TITLES = (
    "Executive summary", "Pool: strats and concentration", "Diversification",
    "Loss distribution", "Classes", "Cash-flow fan charts", "Triggers and reserve", "Scenarios",
    "Methodology, assumptions and run manifest",
)
CHART_IDS = ("chart-concentration", "chart-vasicek", "chart-cnl", "chart-pool-fan",
             "chart-class-fans", "chart-triggers")
PATHS = "200"


def _run(deal: Path, out: Path) -> Path:
    assert main(["run", str(deal), "--paths", PATHS, "--seed", "3", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One 200-path run per example deal, each with its report.html (no PDF: the PDF has its
    tests in test_pdf.py)."""
    base = tmp_path_factory.mktemp("report-runs")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AUTOABS_PDF_RENDERER", "none")
        return {deal: _run(EXAMPLES / f"{deal}.yaml", base / deal) for deal in DEALS}


# --------------------------------------------------------------------------------------------
# HTML parsing helpers


class _Page(HTMLParser):
    """Tables as {table_id: {row_key: {field: (text, value)}}}, plus the page text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, dict[str, dict[str, tuple[str, float | None]]]] = {}
        self.table: str | None = None
        self.row: str | None = None
        self.cell: tuple[str, float | None] | None = None
        self.cell_text: list[str] = []
        self.text: list[str] = []
        self.section_ids: list[str] = []
        self.svg_count = 0
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "section":
            self.section_ids.append(str(a.get("id")))
        elif tag == "svg":
            self.svg_count += 1
        elif tag == "table":
            self.table = str(a["data-table"])
            self.tables[self.table] = {}
        elif tag == "tr" and "data-key" in a and self.table is not None:
            self.row = str(a["data-key"])
            self.tables[self.table][self.row] = {}
        elif tag == "td" and self.row is not None:
            value = a.get("data-value")
            self.cell = (str(a["data-field"]), None if value is None else float(value))
            self.cell_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self.cell is not None:
            assert self.table is not None and self.row is not None
            field, value = self.cell
            self.tables[self.table][self.row][field] = ("".join(self.cell_text), value)
            self.cell = None
        elif tag == "tr":
            self.row = None
        elif tag == "table":
            self.table = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.cell is not None:
            self.cell_text.append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _value(page: _Page, table: str, row: str, field: str) -> float | None:
    return page.tables[table][row][field][1]


# --------------------------------------------------------------------------------------------
# (a) builds for every example deal


@pytest.mark.parametrize("deal", DEALS)
def test_report_builds_for_every_example_deal(runs: dict[str, Path], deal: str) -> None:
    run_dir = runs[deal]
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert not (run_dir / "report.pdf").exists()  # AUTOABS_PDF_RENDERER=none
    page = _parse(html)
    triggered = deal in TRIGGERED
    assert page.section_ids == ["summary", "pool", "diversification", "loss", "classes",
                                "cashflows", *(["triggers"] if triggered else []), "scenarios",
                                "methodology"]
    charts = [c for c in CHART_IDS if triggered or c != "chart-triggers"]
    for chart_id in CHART_IDS:
        assert (f'id="{chart_id}"' in html) == (chart_id in charts), chart_id
    assert page.svg_count == len(charts)
    for table in ("headline", "memo-assumptions", "key-figures", "strat-state",
                  "strat-vehicle_make", "strat-fico",
                  "strat-rate", "strat-original_term", "strat-ltv", "strat-vehicle_new",
                  "strat-vehicle_year", "concentration", "hhi", "diversification",
                  "vasicek-quantiles", "tail", "classes", "classes-cashflow", "paydown",
                  "paydown-file", "methodology", "manifest", "manifest-config",
                  "report-inputs"):
        assert table in page.tables, table
    assert ("triggers" in page.tables) == triggered and ("events" in page.tables) == triggered
    assert ("Trigger breach" in html) == triggered
    # self-contained: no scripts, no external resources
    assert "<script" not in html.lower()
    for tag, attrs in page.tags:
        assert tag not in ("script", "link", "img", "iframe")
        for name in ("src", "href"):
            value = attrs.get(name)
            assert value is None or value.startswith("#"), (tag, name, value)
    # break-even multiples by default (run without --no-structuring); one scenario, no deltas
    assert "not computed" not in html
    assert all(_value(page, "headline", c, "breakeven_multiple") is not None
               or "no loss at any multiple" in page.tables["headline"][c]["breakeven_multiple"][0]
               for c in page.tables["headline"])
    assert "scenario-comparison" not in page.tables


@pytest.mark.parametrize("deal", DEALS)
def test_run_report_states_assumptions_and_dates_of_the_manifest(runs: dict[str, Path],
                                                                  deal: str) -> None:
    run_dir = runs[deal]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    page = _parse((run_dir / "report.html").read_text(encoding="utf-8"))
    text = " ".join(page.text)
    assert "no manifest.json" not in text
    model, spec = manifest["config"]["assumptions"], manifest["config"]["deal"]
    rows = page.tables["memo-assumptions"]
    assert rows["expected_cnl"]["value"][0] == percent_text(model["default"]["expected_cnl"], 2)
    assert rows["prepayment"]["value"][0] == (
        f"{percent_text(model['prepayment']['abs_speed'], 2)} ABS")
    assert rows["recovery_lag"]["value"][0] == f"{model['recovery']['lag_months']} months"
    assert rows["scenario"]["value"][0] == "baseline"  # the one default scenario
    for fee in spec["fees"]:
        assert fee["name"] in rows["fees"]["value"][0]
    assert f"closing {spec['closing_date']}" in text
    assert f"first payment {spec['first_payment_date']}" in text
    assert f"run {manifest['started'][:10]}" in text
    assert "cut-off not given" in text or "cut-off 2" in text
    assert "Scenario: baseline." in text


def test_templates_are_package_data() -> None:
    templates = resources.files("reports").joinpath("templates")
    for name in ("report.html.j2", "_blocks.html.j2", "report.css"):
        assert templates.joinpath(name).is_file()
    assert '"reports.templates" = ["*.j2", "*.css"]' in (ROOT / "pyproject.toml").read_text()


def test_stylesheet_is_inlined_verbatim() -> None:
    """Inside <style> entities are not decoded: an escaped quote would void the font families."""
    css = resources.files("reports").joinpath("templates", "report.css").read_text("utf-8")
    page = render_html(Report("Deal <&>", "subtitle", (), "renderer"))
    inlined = page.split("<style>\n", 1)[1].split("</style>", 1)[0]
    assert inlined.strip() == css.strip()
    assert "&#34;" not in inlined and '"DejaVu Sans"' in inlined


# --------------------------------------------------------------------------------------------
# (b) numbers shown equal the numbers of the run


def _display_matches(text: str, value: float) -> bool:
    """A rounded display string agrees with the full value to its last shown digit."""
    t = text.replace(",", "").replace("$", "").rstrip("x").strip()
    scale = 1.0
    if t.endswith("%"):
        t, scale = t[:-1], 100.0
    if t.startswith(("< ", "> -")):  # a tiny non-zero value shown as the bound of its last place
        bound = float(t[2:])
        return value != 0.0 and abs(value * scale) < 0.5 * abs(bound) and (bound > 0) == (value > 0)
    decimals = len(t.split(".")[1]) if "." in t else 0
    return abs(float(t) - value * scale) <= 0.5 * 10.0 ** -decimals * (1 + 1e-9) + 1e-12


@pytest.mark.parametrize("deal", DEALS)
def test_numbers_shown_equal_the_run(runs: dict[str, Path], deal: str) -> None:
    run_dir = runs[deal]
    page = _parse((run_dir / "report.html").read_text(encoding="utf-8"))
    summary = json.loads((run_dir / "summary.json").read_text())

    # every displayed number agrees with its data-value
    n_checked = 0
    for table, rows in page.tables.items():
        for key, cells in rows.items():
            for field, (text, value) in cells.items():
                if value is not None and not table.startswith("manifest"):
                    assert _display_matches(text, value), (table, key, field, text, value)
                    n_checked += 1
    assert n_checked > 500

    # classes: exactly the summary's floats
    breakeven = load_run(run_dir).breakeven
    assert breakeven is not None
    classes = page.tables["classes"]
    cash = page.tables["classes-cashflow"]
    assert list(classes) == [c["name"] for c in summary["classes"]]
    for c in summary["classes"]:
        name = c["name"]
        for field in ("balance", "hard_ce", "el", "el_se", "pd", "pd_se", "lgd"):
            assert classes[name][field][1] == c[field], (name, field)
        for field in ("wal", "wal_se", "yield", "yield_se", "dirr", "dirr_se", "promised_yield"):
            assert cash[name][field][1] == c[field], (name, field)
        assert classes[name]["implied_rating"][0] == c["implied_rating"]
        assert page.tables["headline"][name]["el"][1] == c["el"]
        assert page.tables["headline"][name]["wal"][1] == c["wal"]
        multiple = breakeven[name]  # breakeven.csv, written by default
        shown, value = page.tables["headline"][name]["breakeven_multiple"]
        assert (shown == "no loss at any multiple") if multiple == np.inf else value == multiple
    for key in ("cnl_mean", "cnl_mean_se", "cnl_sd", "cnl_p99", "cnl_p99_9", "initial_balance"):
        assert _value(page, "key-figures", key, "value") == summary["pool"][key]
    # how the factor was sampled, and what that leaves of the paths
    prov = summary["provenance"]
    sampling = page.tables["assumptions"]["sampling"]["value"][0]
    assert sampling.startswith(prov["variance_reduction"]["importance"])
    assert _value(page, "assumptions", "effective_sample_size", "value") == \
        prov["effective_sample_size"]
    events = "events" if deal in TRIGGERED else "key-figures"  # no trigger section: key figures
    for key, value in summary["events"].items():
        assert _value(page, events, key, "value") == value

    # loss distribution and diversification: recomputed independently
    pool = pd.read_parquet(run_dir / "pool_paths.parquet")
    w = pool["weight"].to_numpy() / pool["weight"].sum()  # importance weights, self-normalised
    order = np.argsort(pool["cnl"].to_numpy(), kind="stable")
    cnl, ws = pool["cnl"].to_numpy()[order], w[order]
    cdf = np.cumsum(ws)
    for level in (0.95, 0.99, 0.999):
        var = cnl[np.searchsorted(cdf, level * (1 - 1e-12))]  # inverted CDF
        above = cnl > var
        es = (np.sum(ws[above] * cnl[above]) + var * (1 - level - ws[above].sum())) / (1 - level)
        row = f"{level:g}"
        assert _value(page, "tail", row, "var") == var
        assert _value(page, "tail", row, "es") == pytest.approx(es, rel=1e-12)
    dr = pool["defaulted_principal"].to_numpy()
    pd_mean = float(np.sum(w * dr))
    assert _value(page, "diversification", "pd", "value") == pytest.approx(pd_mean, rel=1e-12)
    lgd = float(np.sum(w * pool["cnl"].to_numpy())) / pd_mean
    assert _value(page, "diversification", "lgd", "value") == pytest.approx(lgd, rel=1e-12)
    assert _value(page, "diversification", "basel_r", "value") == pytest.approx(
        basel_retail_correlation(pd_mean), rel=1e-12)
    assert _value(page, "diversification", "basel_k", "value") == pytest.approx(
        basel_retail_capital(pd_mean, lgd), rel=1e-12)
    # weighted variance with the reliability-weight correction (ddof 1 for equal weights)
    var_dr = float(np.sum(w * (dr - pd_mean) ** 2) / (1.0 - np.sum(w**2)))
    assert _value(page, "diversification", "diversity_score", "value") == pytest.approx(
        pd_mean * (1 - pd_mean) / var_dr, rel=1e-9)

    # pool strats: totals equal the tape
    tape = pd.read_parquet(run_dir / "tape.parquet")
    for dim in ("state", "fico", "vehicle_year"):
        total = page.tables[f"strat-{dim}"]["Total"]
        assert total["balance"][1] == pytest.approx(tape["balance"].sum(), rel=1e-12)
        assert total["count"][1] == len(tape)
    state_share = tape.groupby("state")["balance"].sum() / tape["balance"].sum()
    top_state = state_share.idxmax()
    assert page.tables["strat-state"][top_state]["share_of_balance"][1] == pytest.approx(
        state_share.max(), rel=1e-12)
    assert _value(page, "hhi", "state", "hhi") == pytest.approx(
        float((state_share**2).sum()), rel=1e-12)

    # triggers: the run's probabilities by month (deals with triggers only)
    if deal not in TRIGGERED:
        assert "triggers" not in page.tables
        return
    trig = pd.read_parquet(run_dir / "triggers.parquet")
    rows = page.tables["triggers"]
    for month in ("12", "24"):
        for column in trig.columns:
            assert rows[month][column][1] == trig[column].loc[int(month)]


def test_html_is_deterministic(runs: dict[str, Path]) -> None:
    data = load_run(runs["prime_deal"])
    first = render_html(build_model(data, pdf_renderer="x"))
    second = render_html(build_model(load_run(runs["prime_deal"]), pdf_renderer="x"))
    assert first == second
    frame = pd.DataFrame({"t": [0.0, 0.1, 0.2]}, index=[1, 2, 3])
    assert to_svg(trigger_chart(frame, None), "a") == to_svg(trigger_chart(frame, None), "a")


# --------------------------------------------------------------------------------------------
# (c) class names are text


def _hostile_deal(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    deal = yaml.safe_load((EXAMPLES / "prime_deal.yaml").read_text())
    rename = {"A-1": "A-1 <script>alert('x')</script>", "D": "D&<b>co</b>",
              "B": 'B "&amp;" </td>'}

    def new(name: str) -> str:
        return rename.get(name, name)

    for note in deal["notes"]:
        note["name"] = new(note["name"])
    for group in deal.get("pro_rata_groups", []):
        group["classes"] = [new(c) for c in group["classes"]]
    for step in deal["waterfall"]:
        if isinstance(step, dict):
            for key, value in step.items():
                if isinstance(value, list):
                    step[key] = [new(v) for v in value]
                elif key in ("priority_principal",):
                    step[key] = new(value)
    deal["assumptions"] = str(EXAMPLES / deal["assumptions"])
    path = tmp_path / "hostile_deal.yaml"
    path.write_text(yaml.safe_dump(deal, sort_keys=False))
    return path, rename


def test_class_names_with_markup_render_as_text(tmp_path: Path) -> None:
    deal, rename = _hostile_deal(tmp_path)
    run_dir = _run(deal, tmp_path / "run")
    html_path = build_report(run_dir, renderer="none").html
    html = html_path.read_text(encoding="utf-8")
    assert "<script" not in html
    assert "<b>co" not in html
    page = _parse(html)
    names = [c["name"] for c in json.loads((run_dir / "summary.json").read_text())["classes"]]
    for raw in rename.values():
        assert raw in names
        assert page.tables["classes"][raw]["class"][0] == raw
        assert page.tables["headline"][raw]["class"][0] == raw
    text = "".join(page.text)
    assert "A-1 <script>alert('x')</script>" in text  # chart titles and tables show the text
    assert not any(tag in ("script", "b") for tag, _ in page.tags)


# --------------------------------------------------------------------------------------------
# (d) formulas against published values


def test_basel_other_retail_published_values() -> None:
    assert basel_retail_correlation(0.01) == pytest.approx(0.121609, abs=5e-7)
    assert basel_retail_capital(0.01, 0.5) == pytest.approx(0.040687, abs=5e-7)
    # the correlation runs from 0.16 (PD -> 0) to 0.03 (PD -> 1)
    assert basel_retail_correlation(1e-9) == pytest.approx(0.16, abs=1e-6)
    assert basel_retail_correlation(0.999) == pytest.approx(0.03, abs=1e-6)


def test_vasicek_quantile_published_value_and_consistency() -> None:
    assert vasicek_quantile(0.02, 0.10, 0.99) == pytest.approx(0.082357, abs=5e-7)
    x = vasicek_quantile(0.02, 0.10, 0.99)
    assert float(vasicek_cdf(x, 0.02, 0.10)) == pytest.approx(0.99, abs=1e-12)
    grid = np.linspace(1e-7, 1 - 1e-7, 400_001)
    density = vasicek_pdf(grid, 0.02, 0.10)
    assert float(np.sum(density) * (grid[1] - grid[0])) == pytest.approx(1.0, abs=1e-4)
    mean = float(np.sum(grid * density) * (grid[1] - grid[0]))
    assert mean == pytest.approx(0.02, abs=1e-5)
    variance = vasicek_default_rate_variance(0.02, 0.10)
    assert float(np.sum((grid - 0.02) ** 2 * density) * (grid[1] - grid[0])) == pytest.approx(
        variance, rel=1e-3)
    assert fit_vasicek_rho(0.02, variance) == pytest.approx(0.10, abs=1e-8)
    assert binomial_diversity_score(0.02, 0.02 * 0.98 / 50) == pytest.approx(50.0)


def test_var_and_expected_shortfall() -> None:
    losses = np.arange(1.0, 101.0)
    assert value_at_risk(losses, 0.95) == 95.0
    assert expected_shortfall(losses, 0.95) == pytest.approx(98.0)
    # weight 2 on a path is the same as the path twice
    w = np.where(losses > 50, 2.0, 1.0)
    twice = np.concatenate([losses, losses[losses > 50]])
    for level in (0.9, 0.95, 0.99):
        assert value_at_risk(losses, level, w) == value_at_risk(twice, level)
        assert expected_shortfall(losses, level, w) == pytest.approx(
            expected_shortfall(twice, level))
    # split atom: ES of a two-point distribution
    assert expected_shortfall(np.array([0.0, 1.0]), 0.25, np.array([0.5, 0.5])) == pytest.approx(
        (0.5 * 1.0 + 0.25 * 0.0) / 0.75)


def test_summarize_pool_paths_weighted() -> None:
    d = np.array([0.02, 0.04, 0.06])
    s = summarize_pool_paths(d, d * 0.5, np.array([2.0, 2.0, 2.0]), np.array([1.0, 2.0, 1.0]))
    assert s.pd == pytest.approx(0.04)
    assert s.lgd == pytest.approx(0.5)
    assert s.pd_annual == pytest.approx(1 - 0.96**0.5)
    # reliability weights: sum w (d - m)^2 / (sum w - sum w^2 / sum w) = 0.0008 / (4 - 6 / 4)
    assert s.default_rate_variance == pytest.approx((0.02**2 + 0.02**2) / 2.5)


# --------------------------------------------------------------------------------------------
# optional files, stress directories, CLI


def test_optional_files_are_shown(runs: dict[str, Path], tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(runs["prorata_trigger_deal"], run_dir)
    classes = ["A", "B", "C"]
    breakeven = [{"class": c, "breakeven_multiple": 5.0 - i, "breakeven_cnl": 0.1,
                  "base_cnl": 0.02, "bracketed": True} for i, c in enumerate(classes)]
    (run_dir / "breakeven.json").write_text(json.dumps(breakeven))
    stress = pd.DataFrame([
        {"scenario": s, "class": c, "el": el * (i + 1), "el_se": 1e-4, "pd": 0.01, "wal": 2.0,
         "yield": 0.05, "trigger_breach": 0.1 * k, "pool_cnl_mean": 0.02 * k}
        for k, (s, el) in enumerate((("baseline", 1e-4), ("severely_adverse", 5e-3),
                                     ("adverse", 1e-3)), start=1)
        for i, c in enumerate(classes)])
    stress.to_csv(run_dir / "stress.csv", index=False)
    pd.DataFrame({"class": ["A"], "abs_speed": [1.3], "wal_years": [1.9]}).to_csv(
        run_dir / "paydown.csv", index=False)  # columns of its own: shown as they are
    (run_dir / "manifest.json").write_text(json.dumps(
        {"seed": 77, "inputs": {"deal": {"sha256": "ab" * 32}}, "versions": {"numpy": "x"}}))
    html_path = build_report(run_dir, renderer="none").html
    page = _parse(html_path.read_text(encoding="utf-8"))
    for i, c in enumerate(classes):
        assert _value(page, "classes", c, "breakeven_multiple") == 5.0 - i
        assert _value(page, "headline", c, "breakeven_multiple") == 5.0 - i
    text = " ".join(page.text)
    assert "Worst of 3 scenarios: severely_adverse" in text
    rows = page.tables["scenarios"]
    assert len(rows) == 9
    assert rows["adverse|C"]["el"][1] == pytest.approx(3e-3)
    assert rows["adverse|C"]["cnl"][1] == pytest.approx(0.06)
    # deltas against baseline, by hand: adverse C 1e-3 x 3 - 1e-4 x 3; CNL 0.06 - 0.02
    assert rows["adverse|C"]["el_delta"][1] == pytest.approx(3e-3 - 3e-4)
    assert rows["adverse|C"]["cnl_delta"][1] == pytest.approx(0.04)
    assert rows["baseline|A"]["el_delta"][1] == 0.0
    side = page.tables["scenario-comparison"]
    assert side["B"]["el_delta|severely_adverse"][1] == pytest.approx(1e-2 - 2e-4)
    assert side["pool-cnl"]["el|adverse"][1] == pytest.approx(0.06)
    assert "trigger_breach" in rows["adverse|C"]  # the prorata deal has triggers
    assert list(page.tables["scenario-ranking"]) == ["severely_adverse", "adverse", "baseline"]
    assert "chart-scenarios" in html_path.read_text(encoding="utf-8")
    assert page.tables["paydown-file"]["0"]["wal_years"][1] == 1.9
    assert _value(page, "manifest", "seed", "value") == 77
    assert page.tables["manifest-inputs"]["inputs.deal.sha256"]["value"][0] == "ab" * 32
    assert "stress.csv" in page.tables["report-inputs"]


def test_stress_directory_reports_on_baseline(runs: dict[str, Path], tmp_path: Path) -> None:
    root = tmp_path / "stress"
    for name in ("adverse", "baseline"):
        shutil.copytree(runs["prime_deal"], root / "scenarios" / name)
    summary = json.loads((root / "scenarios" / "baseline" / "summary.json").read_text())
    pd.DataFrame([{"scenario": s, "class": c["name"], "el": c["el"], "pd": c["pd"],
                   "wal": c["wal"], "yield": c["yield"], "trigger_breach": 0.0}
                  for s in ("baseline", "adverse") for c in summary["classes"]]).to_csv(
        root / "stress.csv", index=False)
    files = build_report(root, renderer="none")
    html_path = files.html
    assert html_path == root / "report.html" and files.pdf is None
    html = html_path.read_text(encoding="utf-8")
    assert "scenario run scenarios/baseline" in html
    assert "Scenarios side by side (baseline, adverse)" in html
    files = _parse(html).tables["report-inputs"]
    assert "stress.csv" in files and "scenarios/baseline/manifest.json" in files
    assert ("Absent optional files: breakeven.json, stress.json, sensitivity_grid.csv."
            in html)


def test_missing_run_files_are_input_errors(runs: dict[str, Path], tmp_path: Path) -> None:
    run_dir = tmp_path / "partial"
    shutil.copytree(runs["prime_deal"], run_dir)
    (run_dir / "triggers.parquet").unlink()
    assert main(["report", str(run_dir)]) == 2
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "triggers.parquet" in DEAL_RUN_FILES


def test_cli_report_writes_the_html(runs: dict[str, Path], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = tmp_path / "cli"
    shutil.copytree(runs["subprime_turbo_deal"], run_dir)
    (run_dir / "report.html").unlink()
    assert main(["report", str(run_dir), "--pdf", "none"]) == 0
    out = capsys.readouterr().out
    assert f"Report: {run_dir / 'report.html'} (no PDF)" in out
    assert "PDF skipped (PDF renderer 'none' requested)" in out
    assert (run_dir / "report.html").is_file() and not (run_dir / "report.pdf").exists()
    assert not list(run_dir.glob(".report*"))  # atomic writes left no temporary files
    assert main(["report", str(run_dir), "--pdf", "pdfkit"]) == 2
    assert "PDF renderer: must be one of auto, chromium, weasyprint, none; got 'pdfkit'" in (
        capsys.readouterr().err)
