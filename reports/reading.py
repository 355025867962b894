"""The run a committee report describes: a deal run directory, read with ``read_run``.

The report reads nothing else: :func:`simulation.run.directory.read_run` names the files,
reads them and names the file of any that is missing or malformed (see ``docs/reports.md``).
"""

from __future__ import annotations

import os

from portfolio.errors import InputError
from simulation.run.directory import SUMMARY, RunRecord, read_run

__all__ = ["load_run"]


def load_run(run_dir: str | os.PathLike[str]) -> RunRecord:
    """Read a deal run directory, or a stress directory (its ``baseline`` scenario run).

    Raises
    ------
    InputError
        When the directory, a required file or a deal run's summary is missing or unreadable.
    """
    record = read_run(run_dir)
    if record.kind != "deal":
        raise InputError(str(record.root / SUMMARY), "a pool run summary (no classes): the "
                         "committee report describes a deal run")
    return record
