"""The one place that decides how numba is used across autoabs.

- ``jit``: ``cache=True``, no parallelism, no fastmath; for kernels and helpers.
- ``jit_inline``: scalar helpers inlined into the loops that call them.
- ``jit_parallel``: the outer path loop only (``prange``); fastmath only where a kernel's hot
  arithmetic has been verified against its Python twin, never on waterfall or trigger comparisons.

Setting the environment variable ``AUTOABS_DISABLE_JIT=1`` turns every decorator into the identity
so that the plain-Python twin of each kernel runs (``NUMBA_DISABLE_JIT`` does the same globally).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

F = TypeVar("F", bound=Callable[..., Any])

DISABLED = os.environ.get("AUTOABS_DISABLE_JIT", "") == "1"

prange = range if DISABLED else numba.prange


def _identity(func: F) -> F:
    return func


def jit(func: F) -> F:
    """Compile ``func`` in nopython mode with on-disk caching."""
    return func if DISABLED else cast(F, numba.njit(cache=True)(func))


def jit_inline(func: F) -> F:
    """Compile a small scalar helper that numba inlines into its callers."""
    return func if DISABLED else cast(F, numba.njit(cache=True, inline="always")(func))


def jit_parallel(fastmath: bool = False) -> Callable[[F], F]:
    """Compile an outer path loop with ``prange`` parallelism."""
    if DISABLED:
        return _identity
    return cast(Callable[[F], F], numba.njit(cache=True, parallel=True, fastmath=fastmath))


def python_twin(kernel: Any) -> Callable[..., Any]:
    """Return the plain-Python body of a jitted kernel (for parity tests)."""
    return getattr(kernel, "py_func", kernel)
