"""autoabs: loan-level Monte Carlo for auto-loan ABS — CLI, run store and Python API.

The notebook API (see ``docs/cli.md``)::

    import autoabs
    result = autoabs.run("examples/prime_deal.yaml", paths=2000, seed=1)
    result.summary()            # per class EL, PD, LGD, WAL, yield, rating
    result.cashflows("A-3")     # mean class cash flows by period
    autoabs.stress("examples/prime_deal.yaml", ["baseline", "severely_adverse"]).table()
    autoabs.load_run("runs/prime")

Imports are lazy so that ``autoabs --help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autoabs.api import RunResult, StressResult, load_run, run, stress

__all__ = ["RunResult", "StressResult", "load_run", "run", "stress"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from autoabs import api

        return getattr(api, name)
    raise AttributeError(f"module 'autoabs' has no attribute {name!r}")
