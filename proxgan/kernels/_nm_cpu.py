"""The numba loop of the N:M projection on the CPU (imported at the first call: numba loads in about a second).

One block of ``m`` entries per ``prange`` iteration: entry ``i`` is kept when fewer than
``n`` entries of its block beat it (a larger score, or an equal score at a lower index).
The score is :math:`|x|`, or :math:`x^2/s` with a per-entry step (``inf`` where ``s = 0``
and ``x != 0``; ``inf`` for a NaN, which is then kept). ``y`` must not alias ``x``.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["nm_project_numba"]


@njit(inline="always")
def _score(x, s, has_step):
    if not has_step:
        q = abs(x)
    elif s > 0:
        q = x * x / s
    else:
        q = np.inf if x != 0 else 0.0
    return q if q == q else np.inf  # a NaN is kept, as a sort keeps it


@njit(parallel=True, cache=True)
def nm_project_numba(x, s, y, n, m, has_step):
    for b in prange(x.size // m):
        base = b * m
        for i in range(m):
            si = _score(x[base + i], s[base + i] if has_step else 1.0, has_step)
            rank = 0
            for j in range(m):
                sj = _score(x[base + j], s[base + j] if has_step else 1.0, has_step)
                if sj > si or (sj == si and j < i):
                    rank += 1
            y[base + i] = x[base + i] if rank < n else 0.0
