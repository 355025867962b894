"""The autoabs Python API, as in a notebook: run a deal, read its results, stress it.

Run it from anywhere: ``python examples/api_example.py [OUT_DIR]`` (default: a temporary
directory). The tests execute this script.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import autoabs

EXAMPLES = Path(__file__).resolve().parent
DEAL = EXAMPLES / "prime_deal.yaml"  # names its pool (synthetic prime) and assumptions


def main(out: Path) -> None:
    """Run, reopen and stress the prime example deal, writing runs under ``out``."""
    # 1. One run, written to a run directory (manifest, Parquet, ledger entry in out/).
    result = autoabs.run(DEAL, paths=300, seed=1, out=out / "prime")
    print(result)
    print(result.summary()[["el", "pd", "wal", "yield", "implied_rating"]])
    print(result.cashflows("A-3").head(3))
    print(result.pool())  # pool CNL mean, se, sd, percentiles
    paths = result.paths()  # per path and class; importance-sampled: weight the means
    print((paths["loss"] * paths["weight"]).groupby(paths["class"], sort=False).mean())

    # 2. Open it again later (e.g. in another notebook).
    again = autoabs.load_run(out / "prime")
    assert again.summary().equals(result.summary())

    # 3. Stress with common random numbers: same seed and paths in every scenario.
    stressed = autoabs.stress(DEAL, ["baseline", "severely_adverse"], paths=200, seed=1)
    print(stressed.table()[["el", "pd", "wal", "trigger_breach"]])

    # In Jupyter, `result` and `stressed` render as HTML tables (_repr_html_).
    assert "<table" in result._repr_html_()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
