"""The wheel is a complete install: built, installed in a fresh venv, it runs a deal.

The fresh venv gets only the wheel (``--no-deps``); its third-party dependencies come from the
running interpreter's site-packages through a plain ``.pth`` path line, appended after the
venv's own site-packages. A ``.pth`` line is a path, not a site directory, so the editable
install's import hook that lives there is never run: the test fails if the wheel misses a
module or a data file, and it checks that ``autoabs`` was imported from the venv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

DATA_FILES = (
    "simulation/data/idealized_el.csv",
    "scenarios/library/baseline.yaml",
    "autoabs/data/prime_deal.yaml",
    "reports/templates/report.html.j2",
    "reports/templates/report.css",
)
SUBPACKAGES = ("simulation/run/__init__.py", "reports/sections/__init__.py",
               "autoabs/commands/__init__.py")


def _run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` without ``PYTHONPATH`` (a source tree on it would hide a broken wheel)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, timeout=900,
                          check=False)
    assert done.returncode == 0, f"{cmd[:4]} exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The project's wheel, built from the source tree, and the build's log."""
    out = tmp_path_factory.mktemp("wheel")
    done = _run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-w", str(out),
                 "-v"])
    (path,) = out.glob("autoabs-*.whl")
    return path, done.stdout + done.stderr


@pytest.mark.slow
def test_wheel_carries_every_module_and_data_file_and_builds_without_warnings(
        wheel: tuple[Path, str]) -> None:
    path, log = wheel
    names = set(zipfile.ZipFile(path).namelist())
    missing = [n for n in (*DATA_FILES, *SUBPACKAGES) if n not in names]
    assert not missing, f"the wheel leaves out {missing}"
    shipped = {str(p.relative_to(ROOT)) for pkg in ("portfolio", "simulation", "scenarios",
                                                     "reports", "autoabs")
               for p in (ROOT / pkg).rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert not shipped - names, f"source files not in the wheel: {sorted(shipped - names)}"
    warnings = [line for line in log.splitlines() if "BuildBackendWarning" in line
                or "SetuptoolsDeprecationWarning" in line]
    assert not warnings, "setuptools warns:\n" + "\n".join(warnings)


@pytest.mark.slow
def test_wheel_installed_in_a_fresh_venv_runs_a_deal(wheel: tuple[Path, str],
                                                     tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--quiet", str(wheel[0])])
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                      "['purelib'])"]).stdout.strip())
    (site / "_autoabs_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    where = _run([str(python), "-c", "import autoabs, simulation; print(autoabs.__file__); "
                  "print(simulation.__file__)"], cwd=tmp_path).stdout.split()
    assert all(Path(w).is_relative_to(venv) for w in where), where

    deal = (EXAMPLES / "prime_deal.yaml").read_text()
    deal = deal.replace("pool: {synthetic: prime, loans: 20000, seed: 42}",
                        "pool: {synthetic: prime, loans: 300, seed: 42}")
    deal = deal.replace("assumptions: prime_assumptions.yaml",
                        f"assumptions: {EXAMPLES / 'prime_assumptions.yaml'}")
    assert "loans: 300" in deal
    (tmp_path / "deal.yaml").write_text(deal)
    _run([str(venv / "bin" / "autoabs"), "run", "deal.yaml", "--paths", "64", "--seed", "1",
          "--out", "runs/prime", "--no-report"], cwd=tmp_path)
    summary = json.loads((tmp_path / "runs" / "prime" / "summary.json").read_text())
    assert summary["classes"], "the installed autoabs wrote a summary without classes"
