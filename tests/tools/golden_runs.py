"""Golden outputs of the CLI for refactors: record them, then compare a later tree's.

``python tests/tools/golden_runs.py record DIR`` runs ``autoabs`` on the three example deals, a
stress run, a pool run and a stochastic run with fixed seeds into ``DIR``;
``python tests/tools/golden_runs.py compare OLD NEW`` lists every file and every number that
differs (summary.json without its timings, Parquet files cell by cell), so a refactor can show
that only the numbers its bug fixes name have moved.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

RUNS = {
    "prime": ["run", "examples/prime_deal.yaml", "--paths", "300", "--seed", "11"],
    "subprime": ["run", "examples/subprime_turbo_deal.yaml", "--paths", "300", "--seed", "12"],
    "prorata": ["run", "examples/prorata_trigger_deal.yaml", "--paths", "300", "--seed", "13"],
    "stress": ["stress", "examples/prime_deal.yaml", "--scenarios", "baseline,severely_adverse",
               "--paths", "200", "--seed", "14"],
    "pool": ["pool", "--synthetic", "prime", "--loans", "2000", "--model",
             "examples/prime_assumptions.yaml", "--paths", "300", "--seed", "15"],
    "stochastic": ["run", "examples/prime_deal.yaml", "--scenario", "severely_adverse",
                   "--stochastic", "--paths", "300", "--seed", "16"],
}
VOLATILE = {"timings", "threads", "started", "finished"}


def record(out: Path) -> None:
    """Run every golden job into ``out/<name>`` (reports off: they embed dates)."""
    for name, args in RUNS.items():
        cmd = ["autoabs", *args, "--out", str(out / name), "--no-report", "--overwrite"]
        if args[0] == "pool":
            cmd.remove("--no-report")
        subprocess.run(cmd, check=True)


def _strip(obj: object) -> object:
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _flat(obj: object, prefix: str = "") -> dict[str, object]:
    if isinstance(obj, dict):
        out: dict[str, object] = {}
        for k, v in obj.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    if isinstance(obj, list):
        out = {}
        for i, v in enumerate(obj):
            out.update(_flat(v, f"{prefix}{i}."))
        return out
    return {prefix.rstrip("."): obj}


def compare(old: Path, new: Path) -> int:
    """Print every difference between two recorded trees; return the number of differences."""
    diffs = 0
    names = sorted({p.relative_to(old) for p in old.rglob("*") if p.is_file()}
                   | {p.relative_to(new) for p in new.rglob("*") if p.is_file()})
    for rel in names:
        if rel.name in ("manifest.json", "ledger.jsonl") or rel.suffix in (".html", ".pdf"):
            continue
        a, b = old / rel, new / rel
        if not a.is_file() or not b.is_file():
            print(f"{rel}: only in {'new' if b.is_file() else 'old'}")
            diffs += 1
            continue
        if a.read_bytes() == b.read_bytes():
            continue
        if rel.suffix == ".json":
            fa = _flat(_strip(json.loads(a.read_text())))
            fb = _flat(_strip(json.loads(b.read_text())))
            for key in sorted(set(fa) | set(fb)):
                if fa.get(key, "<absent>") != fb.get(key, "<absent>"):
                    print(f"{rel}: {key}: {fa.get(key, '<absent>')} -> {fb.get(key, '<absent>')}")
                    diffs += 1
        elif rel.suffix == ".parquet":
            da, db = pd.read_parquet(a), pd.read_parquet(b)
            if list(da.columns) != list(db.columns) or da.shape != db.shape:
                print(f"{rel}: columns/shape {list(da.columns)} {da.shape} -> "
                      f"{list(db.columns)} {db.shape}")
                diffs += 1
                continue
            for col in da.columns:
                x, y = da[col].to_numpy(), db[col].to_numpy()
                same = (x == y) | (pd.isna(x) & pd.isna(y)) if x.dtype.kind in "fc" else x == y
                if not np.all(same):
                    k = int(np.flatnonzero(~same)[0])
                    print(f"{rel}: {col}: {int((~same).sum())} cells differ, first row {k}: "
                          f"{x[k]!r} -> {y[k]!r}")
                    diffs += 1
        else:
            print(f"{rel}: bytes differ")
            diffs += 1
    print(f"{diffs} differences")
    return diffs


if __name__ == "__main__":
    if sys.argv[1] == "record":
        record(Path(sys.argv[2]))
    else:
        sys.exit(1 if compare(Path(sys.argv[2]), Path(sys.argv[3])) else 0)
