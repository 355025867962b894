"""The one place that decides how numba is used across autoabs.

- ``jit``: ``cache=True``, no parallelism, no fastmath, ``nogil=True``; for kernels and helpers.
  Releasing the GIL changes no arithmetic; it lets independent serial kernel calls (the
  calibration's expected projections at each default multiplier) run on Python threads at once.
- ``jit_inline``: scalar helpers inlined into the loops that call them.
- ``jit_parallel``: the outer path loop only (``prange``); fast-math only where a kernel's hot
  arithmetic has been verified against its Python twin, never on waterfall or trigger comparisons.
  Fast-math here is :data:`FASTMATH_FLAGS`, LLVM's fast-math set *without* ``reassoc``: with
  reassociation allowed, the machine code numba loads from its on-disk cache and the code it
  compiles fresh gave different last bits for the same inputs (measured: 11 of 120 paths'
  interest differed between a cold and a warm cache), which broke "same seed, same answer" between
  a process that compiled the kernel and a Dask worker that loaded it. Without ``reassoc`` the two
  agree bit for bit and the kernel is as fast (benchmarks/collateral_speed.py).

Setting the environment variable ``AUTOABS_DISABLE_JIT=1`` makes every decorator return the
plain-Python twin of each kernel (``NUMBA_DISABLE_JIT`` does the same globally), run with NumPy's
overflow warnings off: the random-number keys wrap around 64 bits on purpose, as numba's integers
do silently.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np

F = TypeVar("F", bound=Callable[..., Any])

DISABLED = os.environ.get("AUTOABS_DISABLE_JIT", "") == "1"

prange = range if DISABLED else numba.prange

#: LLVM fast-math flags the parallel kernels may use: no NaN/Inf, no signed zeros, reciprocals,
#: FMA contraction and approximate functions, but never reassociation (see the module docstring).
FASTMATH_FLAGS = frozenset({"nnan", "ninf", "nsz", "arcp", "contract", "afn"})


def _python(func: F) -> F:
    """The plain-Python twin, with integer wrap-around as quiet as numba's."""

    @functools.wraps(func)
    def twin(*args: Any, **kwargs: Any) -> Any:
        with np.errstate(over="ignore"):
            return func(*args, **kwargs)

    return cast(F, twin)


def jit(func: F) -> F:
    """Compile ``func`` in nopython mode with on-disk caching, releasing the GIL."""
    return _python(func) if DISABLED else cast(F, numba.njit(cache=True, nogil=True)(func))


def jit_inline(func: F) -> F:
    """Compile a small scalar helper that numba inlines into its callers."""
    return _python(func) if DISABLED else cast(F, numba.njit(cache=True, inline="always")(func))


@jit_inline
def unsigned(index: int) -> np.uint64:
    """A non-negative array index as an unsigned integer, for kernels' hot loops.

    Numba wraps a signed index that might be negative (``a[-1]`` is the last element) with a
    compare and select on every access, which LLVM cannot remove when the index is a loop
    variable it cannot prove non-negative; an unsigned index has no such fix-up. In the
    competing-risk kernel's performing-month loop this was 30% of the run time (measured with
    benchmarks/collateral_speed.py). Never mix the result with signed arithmetic: numba
    promotes ``uint64 + int64`` to float.
    """
    return np.uint64(index)


def jit_parallel(fastmath: bool = False) -> Callable[[F], F]:
    """Compile an outer path loop with ``prange`` (``fastmath=True``: :data:`FASTMATH_FLAGS`)."""
    if DISABLED:
        return _python
    flags: bool | set[str] = set(FASTMATH_FLAGS) if fastmath else False
    return cast(Callable[[F], F], numba.njit(cache=True, parallel=True, fastmath=flags))


def python_twin(kernel: Any) -> Callable[..., Any]:
    """Return the plain-Python body of a jitted kernel (for parity tests)."""
    return getattr(kernel, "py_func", kernel)
