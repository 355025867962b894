"""Speed and memory of the EX-102 importer on synthetic filings of 20,000 and 100,000 loans.

Run with ``pytest benchmarks/test_regab_speed.py -s`` (or ``make bench``). The files are about
3.7 KB per record, like a real pretty-printed filing (100,000 records = about 370 MB on disk).

Criteria
--------
- Throughput: the best of three imports of the 100,000-record file reaches at least
  ``MIN_RECORDS_PER_S`` records per second (whole import: parse, validation, tape).
- Streaming memory is flat: the tracemalloc peak of the parse-only path (:func:`iter_assets`,
  reading every element's text) for 100,000 records is below ``FLAT_RATIO`` times the peak for
  20,000 records.
- The full import retains no XML: its peak grows by at most ``MAX_BYTES_PER_LOAN`` per extra
  active loan between the two files (the tape's arrays and ids, not the 3.7 KB of XML).
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import pytest

from portfolio._regab_synthetic import SyntheticSummary, write_synthetic_ex102
from portfolio.regab import import_regab, iter_assets

SMALL, LARGE = 20_000, 100_000
MIN_RECORDS_PER_S = 20_000
FLAT_RATIO = 1.5
MAX_BYTES_PER_LOAN = 1_000

T = TypeVar("T")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[int, SyntheticSummary]:
    folder = tmp_path_factory.mktemp("regab")
    return {n: write_synthetic_ex102(folder / f"ex102_{n}.xml", n, seed=1) for n in (SMALL, LARGE)}


def _peak_bytes(fn: Callable[[], T]) -> tuple[int, T]:
    gc.collect()
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result


def _stream_only(path: Path) -> int:
    n_chars = 0
    for _, elem in iter_assets(path):
        for child in elem:
            n_chars += len(child.text or "")
    return n_chars


def test_import_throughput(benchmark, files: dict[int, SyntheticSummary]) -> None:
    summary = files[LARGE]
    result = benchmark.pedantic(import_regab, args=(summary.path,), rounds=3, iterations=1)
    assert result.n_records == LARGE and result.n_active == summary.n_active
    best = benchmark.stats.stats.min
    rate = LARGE / best
    size_mb = summary.path.stat().st_size / 1e6
    print(
        f"\nEX-102 import: {LARGE:,} records, {size_mb:,.0f} MB: best {best:.2f} s = "
        f"{rate:,.0f} records/s ({size_mb / best:,.0f} MB/s); "
        f"mean {benchmark.stats.stats.mean:.2f} s"
    )
    assert rate >= MIN_RECORDS_PER_S, f"{rate:,.0f} records/s < {MIN_RECORDS_PER_S:,}"


def test_streaming_memory_is_flat(benchmark, files: dict[int, SyntheticSummary]) -> None:
    # Timed once for the report; the assertions are on tracemalloc peaks.
    benchmark.pedantic(_stream_only, args=(files[SMALL].path,), rounds=1, iterations=1)
    stream_peak = {n: _peak_bytes(partial(_stream_only, files[n].path))[0] for n in files}
    import_peak: dict[int, int] = {}
    active: dict[int, int] = {}
    for n, summary in files.items():
        peak, result = _peak_bytes(partial(import_regab, summary.path))
        import_peak[n] = peak
        active[n] = result.n_active
    per_loan = (import_peak[LARGE] - import_peak[SMALL]) / (active[LARGE] - active[SMALL])
    print(
        f"\nstreaming parse peak: {stream_peak[SMALL] / 1e6:.2f} MB ({SMALL:,} records), "
        f"{stream_peak[LARGE] / 1e6:.2f} MB ({LARGE:,} records)"
        f"\nfull import peak:     {import_peak[SMALL] / 1e6:.1f} MB, "
        f"{import_peak[LARGE] / 1e6:.1f} MB -> {per_loan:.0f} bytes per extra active loan "
        f"(XML: {files[LARGE].path.stat().st_size / LARGE:,.0f} bytes per record)"
    )
    assert stream_peak[LARGE] < FLAT_RATIO * stream_peak[SMALL]
    assert per_loan < MAX_BYTES_PER_LOAN
