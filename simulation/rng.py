"""Counter-based random numbers keyed by (seed, stream, path, loan, draw).

Each uniform is a pure function of its key: SplitMix64's finaliser (Steele, Lea & Flood 2014,
"Fast splittable pseudorandom number generators", OOPSLA) applied to a Weyl-style combination of
the key. No state, no global seeding: the same key gives the same number on any thread, chunk
or machine, which is what makes results bit-identical across thread counts, chunk sizes and Dask
partitions.

Kernels compute ``path_key(seed, stream, path)`` once per path and then ``uniform(key, loan,
draw)`` per draw.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from portfolio._jit import jit_inline

# Stream identifiers: one per independent use of randomness.
STREAM_EVENT = 1  # exponential event-time draws, one per loan per path (more after a cure)
STREAM_SPLIT = 2  # which competing event (default vs prepayment) fired
STREAM_CURE = 3  # cure decision and cure length after a missed payment
STREAM_ARREARS = 4  # cure-or-roll and cure length of loans delinquent at the cut-off
STREAM_ROLL = 5  # roll-rate model: target state of a delinquent loan, one per loan and period
STREAM_FACTOR = 10  # per-path systematic credit factor
STREAM_MACRO = 11  # per-path macro shocks (scenario layer)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_K_PATH = np.uint64(0xD1B54A32D192ED03)
_K_LOAN = np.uint64(0xABC98388FB8FAC03)
_K_DRAW = np.uint64(0x8CB92BA72F3D8DD7)
_K_STREAM = np.uint64(0xDB4F0B9175AE2165)


@jit_inline
def mix64(z: np.uint64) -> np.uint64:
    """SplitMix64 finaliser: a bijective avalanche mix of a 64-bit word."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@jit_inline
def path_key(seed: int, stream: int, path: int) -> np.uint64:
    """Key of one (seed, stream, path); computed once per path in kernels."""
    z = mix64(np.uint64(seed) * _GOLDEN + np.uint64(stream) * _K_STREAM)
    return mix64(z + np.uint64(path) * _K_PATH)


@jit_inline
def uniform(key: np.uint64, loan: int, draw: int) -> float:
    """Uniform on the open interval (0, 1) for (key, loan, draw); 53-bit resolution."""
    z = mix64(key + np.uint64(loan) * _K_LOAN + np.uint64(draw) * _K_DRAW)
    return float((z >> np.uint64(11)) + np.uint64(1)) * (1.0 / 9007199254740994.0)


def uniforms(seed: int, stream: int, paths: np.ndarray, n_draws: int = 1) -> np.ndarray:
    """Uniforms for whole paths (vectorised, outside kernels), shape ``(len(paths), n_draws)``.

    Uses the same key function as the kernels, so draw ``j`` of path ``p`` is the uniform of
    (seed, stream, p, loan=0, draw=j) whatever the chunking.
    """
    paths = np.asarray(paths, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = _mix64_np(np.uint64(seed) * _GOLDEN + np.uint64(stream) * _K_STREAM)
        keys = _mix64_np(z + paths * _K_PATH)
        draws = np.arange(n_draws, dtype=np.uint64) * _K_DRAW
        words = _mix64_np(keys[:, None] + draws[None, :])
    return ((words >> np.uint64(11)) + np.uint64(1)).astype(np.float64) * (1.0 / 9007199254740994.0)


def normals(seed: int, stream: int, paths: np.ndarray, n_draws: int = 1) -> np.ndarray:
    """Standard normals by inversion of :func:`uniforms`, shape ``(len(paths), n_draws)``."""
    return np.asarray(ndtri(uniforms(seed, stream, paths, n_draws)))


def _mix64_np(z: np.ndarray | np.uint64) -> np.ndarray:
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return np.asarray(z ^ (z >> np.uint64(31)))
